/* session.h - what a connection says: the handshake, then chat lines and commands.
 *
 * Loop thread only, called by client.c with each framed line. Protocol logic never touches
 * a socket: replies go through client_send(), broadcasts through broadcast_publish().
 * The texts users read are here, in French, each sentence whole.
 */
#ifndef CAUSERIE_SESSION_H
#define CAUSERIE_SESSION_H

#include <stdbool.h>
#include <stddef.h>

struct client;
struct msg;
struct person;

/* Process-wide set-up of the shared lines (the pseudo prompt); main thread. */
void session_init(void);
void session_shutdown(void);

/* A connection was accepted: ask for the pseudo, and start its --handshake-timeout. */
void session_start(struct client *c);
/* One complete line from c, unsanitised, without its '\n'. May close c. */
void session_on_line(struct client *c, const char *line, size_t len);
/* c sent a line longer than --max-line; it was dropped. */
void session_on_overlong(struct client *c);
/* The lines of one read from c have all been handled (c may be closing). */
void session_on_read_done(struct client *c);
/* The deadline session.c set for c passed: its handshake took too long, or it was idle
 * past --idle-timeout. Closes c. */
void session_on_deadline(struct client *c);
/* c is closing (called once, by client_close()). A joined client's pseudo is released and,
 * unless reason is NULL (server shutdown), the leave is logged and told to the others. */
void session_leave(struct client *c, const char *reason);

/* /quit REASON (len bytes, sanitised; len 0 for none): c leaves, its room is told the
 * reason, and it is closed once what was queued for it is written. */
void session_quit(struct client *c, const char *reason, size_t len);

/* An INBOX_PRIVATE or INBOX_KICK entry reached p's loop: m goes to p's client, or with
 * kick, the client is disconnected with m (or NULL) as the reason; nothing happens if p's
 * client left or changed pseudo meanwhile. Drops the entry's references to p and m. */
void session_on_person_item(struct person *p, struct msg *m, bool kick);

/* The operator's commands (console.c), any thread. session_kick() disconnects the client
 * whose pseudo is pseudo (len bytes, compared as pseudos are, without case), telling it and
 * its room, with reason (NUL-terminated, sanitised, may be NULL). Returns 0, or -ENOENT if
 * nobody has that pseudo. session_say() sends "* serveur : text" to everyone. */
int session_kick(const char *pseudo, size_t len, const char *reason);
void session_say(const char *text, size_t len);

/* Sends a one-line reply of the given kind to c alone; text must be sanitised. */
void session_reply(struct client *c, char kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
