/* login.h - passwords in the line protocol: the '%' prompt, /register, /password,
 * /unregister, and the move of a person who logs in from somewhere else.
 *
 * The protocol layer, beside session.c, with which it is a sanctioned pair (as commands.c
 * is): session.c hands it the pseudo a handshake gives and the lines that follow while a
 * password is awaited, and it answers through session.c. The accounts are accounts.c's,
 * the hashing password.c's, on libuv's thread pool: while a password is being checked the
 * connection is held (client_hold()), so what it sends meanwhile waits, in order, and its
 * memory outlives the check. The slowing of guesses is guard.c's. A password never reaches
 * the log, and every copy this file makes is wiped once used.
 *
 * Loop thread of the session, but for login_init() and login_shutdown().
 */
#ifndef CAUSERIE_LOGIN_H
#define CAUSERIE_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

struct loop;
struct server_options;
struct session;

/* Main thread, before the loops start; options and loops are borrowed for the process's
 * life. */
void login_init(const struct server_options *o, struct loop *loops, unsigned n_loops);
/* Main thread, after the loops have been joined. */
void login_shutdown(void);

/* A handshake gave pseudo (len bytes, a valid pseudo): if it is registered, login takes
 * it from here (it asks for the password, or says why it cannot) and returns true; false:
 * the session joins as it would without accounts. */
bool login_pseudo(struct session *s, const char *pseudo, size_t len);
/* A line from s before it joined: if a password is awaited from s, the line is it (or
 * /quit), login takes it and returns true. */
bool login_line(struct session *s, const char *line, size_t len);
/* For a client that proves who it is before it names itself (IRC's SASL): checks
 * password (wiped) for the account pseudo (len bytes, valid) without joining. Returns 0
 * when it is being checked: the verdict comes as session_password_checked(s) if right,
 * else as a refusal and session_ask_pseudo(s), as at the prompt; -ENOENT if no account
 * has that pseudo; -EACCES if it cannot be checked here or now (in clear text off
 * loopback, too many tries), s told why and session_ask_pseudo() called. */
int login_check(struct session *s, const char *pseudo, size_t len, char *password,
                size_t password_len);
/* s, whose password for pseudo (len bytes) login_check() found right, joins as its owner,
 * or takes it over from the connection that holds it; if the account was forgotten
 * meanwhile, s is told so and session_ask_pseudo() called. (A password changed meanwhile
 * is not checked again: the proof is seconds old.) */
void login_enter(struct session *s, const char *pseudo, size_t len);
/* Whether a password is awaited from s, or being checked. */
bool login_awaits(struct session *s);
/* s is being freed: any login of its own is forgotten. */
void login_forget(struct session *s);

/* The commands, for commands.c; the words are as typed, and wiped after use. */
void login_register(struct session *s, char *password, size_t len);
void login_change(struct session *s, char *old, size_t old_len, char *new_pw, size_t new_len);
void login_unregister(struct session *s, char *password, size_t len);

#endif
