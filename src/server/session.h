/* session.h - what a connection says in the line protocol: the pseudo, then chat lines
 * and commands.
 *
 * The protocol layer, with commands.c (the sanctioned pair: the command table calls back
 * into the session it runs for, as Redis's server.c and its command files) and render.c.
 * A session is a connection (client.h) as the order knows it (a member, broadcast.h) with
 * what the line protocol adds: its person once the pseudo is accepted, its flood
 * allowance, its admission ticket. It is one allocation, made when a connection is adopted
 * and freed when the connection layer says so. Sessions act only through the layers below
 * (replies queued with client_send(), events published with broadcast_publish(), rooms and
 * people through room.h and registry.h) and never touch a socket.
 *
 * Loop thread of the session's connection, but for session_kick() and session_say(),
 * which the operator's console calls on the main thread and which only look up and post.
 */
#ifndef CAUSERIE_SESSION_H
#define CAUSERIE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broadcast.h"
#include "client.h"
#include "room.h"

struct event;
struct loop;
struct person;
struct server_options;
struct store;

struct session {
    struct member member;  /* first: the connection, as the order knows it */
    struct person *person; /* NULL until the pseudo is accepted; then who it is (registry.h),
                            * until it leaves */
    uint64_t flood_tat;    /* flood control: when, in µs of loop time, its allowance is whole
                            * again */
    uint32_t admission;    /* its place in admission.c's count, released when it is freed */
    /* The people counted when its pseudo was given, at most SESSION_WELCOME_COUNT_MAX, and
     * three flags in the same word: 24 bytes after the member rather than 32, so that a
     * session is a 352-byte malloc chunk, not 368 (docs/PERFORMANCE.md). */
    uint32_t welcome_count : 29;
    uint32_t unlinked : 1;    /* its last claim failed for the cluster's link, not a holder */
    uint32_t welcome_due : 1; /* with a cluster: welcomed once its arrival has its place */
    uint32_t line_paid : 1;   /* the line being handled was counted by session_flood_charge() */
};

/* What a welcome can count: half a billion people, far past what any server holds. */
#define SESSION_WELCOME_COUNT_MAX ((1u << 29) - 1)

/* How long a client that leaves may take to read what was queued for it before. */
#define SESSION_LINGER_MS 2000
/* How long a stopping server lets its clients read what is queued for them, the notice
 * that it stops included, before it closes them anyway: the same grace as /quit. A client
 * that reads at all takes its whole --max-backlog (1 MiB) in that time over any link faster
 * than 4 Mbit/s; one that does not read is not worth keeping a restart waiting for, and an
 * init system's stop timeout (systemd's 90 s) stays far away. */
#define SESSION_STOP_FLUSH_MS 2000
/* A client that left just before the stop must close within the stop's bound too. */
_Static_assert(SESSION_LINGER_MS <= SESSION_STOP_FLUSH_MS, "a leaving client outlasts a stop");

/* Why a pseudo cannot be given while the link to the rest of the cluster is down. */
#define SESSION_UNLINKED_PSEUDO                                                                    \
    "Ce pseudo ne peut être vérifié : la liaison avec le reste de la discussion est coupée. "  \
    "Réessayez dans un instant."

/* The handlers the layers below call: main.c installs them at start. */
extern const struct client_handlers session_client_handlers;
extern const struct broadcast_handlers session_broadcast_handlers;

/* Main thread, before the loops start: the options and the loops (borrowed for the
 * process's life). */
void session_init(const struct server_options *o, struct loop *loops, unsigned n_loops);
/* Main thread, before the loops start: the store that /history and /search read (borrowed
 * until session_shutdown(); NULL for none). */
void session_start(struct store *store);
/* Main thread, after the loops have been joined. */
void session_shutdown(void);

/* The protocol a connection speaks, chosen by the listener it came through. */
enum session_protocol {
    SESSION_LINE, /* the line protocol (docs/PROTOCOL.md) */
    SESSION_IRC,  /* IRC's client protocol (irc.h, docs/IRC.md) */
};

/* Serves the accepted socket fd on loop l over the transport open sets up, in protocol,
 * counted under admission ticket ticket: asks for the pseudo (the line protocol) or waits
 * for the client's registration (IRC). Takes fd and ticket over; on failure they are
 * released. Loop thread of l. */
void session_open(struct loop *l, int fd, uint32_t ticket, transport_open_fn open,
                  enum session_protocol protocol);
/* The server stops: every session of l leaves without a word to the others, is sent
 * notice's line, stops being read, and closes once everything queued for it is written, or
 * after SESSION_STOP_FLUSH_MS. Loop thread of l. */
void session_stop_loop(struct loop *l, struct event *notice);
/* How many clients of l were sent the notice of the stop. Main thread, after the join. */
size_t session_told_at_stop(const struct loop *l);

/* The operator's commands (console.c), any thread. session_kick() disconnects the client
 * whose pseudo is pseudo (len bytes, compared as pseudos are, without case), telling it and
 * its room, with reason (NUL-terminated, sanitised, may be NULL), on whichever server of the
 * cluster it is. Returns 0, or -ENOENT if nobody has that pseudo, or -EAGAIN if the cluster's
 * backlog is full. session_say() tells everyone "serveur : text". */
int session_kick(const char *pseudo, size_t len, const char *reason);
void session_say(const char *text, size_t len);

/* ---------------------------------------------------------------- for commands.c */

/* The session a connection is. */
static inline struct session *session_of(struct client *c)
{
    return (struct session *)c; /* the connection is its member's first member, in turn */
}
static inline struct client *session_client(struct session *s)
{
    return &s->member.conn;
}
/* The person s is, once joined; NULL before. */
static inline struct person *session_person(struct session *s)
{
    return s->person;
}
/* Asks s for its pseudo (again). */
void session_ask_pseudo(struct session *s);
/* How a pseudo is taken: unregistered, or logged in to its account, as an administrator
 * (--admin) or not. */
enum session_login {
    SESSION_GUEST,
    SESSION_LOGGED_IN,
    SESSION_ADMIN,
};
/* s, whose pseudo (len bytes, valid) was accepted, takes it as login says and enters the
 * room named room (NULL, or one that no longer exists or keeps it out: the default room):
 * false if someone holds the pseudo. */
/* Tells s the pseudo (len bytes) it asked for could not be given, after session_join()
 * returned false: taken, or not checkable across the cluster now. */
void session_refuse_pseudo(struct session *s, const char *pseudo, size_t len);
bool session_join(struct session *s, const char *pseudo, size_t len, const char *room,
                  enum session_login login);
/* s, joined, is replaced by a connection that logged in with its pseudo: it is told, its
 * room too, and it goes; room receives the name of the room it was in. */
void session_replaced(struct session *s, char room[ROOM_NAME_MAX + 1]);
/* Whether s speaks the events form of the line protocol (/cap events). */
bool session_events(const struct session *s);
/* Whether s speaks IRC: then what the line protocol's code says to it (session_reply(),
 * session_send_lines()) reaches it as IRC notices, and irc.c says the rest. */
bool session_irc(const struct session *s);
/* Sends bytes that are whole lines in s's own protocol, as they are. */
void session_send_raw(struct session *s, const char *data, size_t len);
/* A line as a joined client of the line protocol sends it, unsanitised: a command
 * ("/join #salon") or a chat line, under flood control. */
void session_command(struct session *s, const char *line, size_t len);
/* A chat line or an action (kind) of s in its room, unsanitised: sanitised, refused by flood
 * control or published; an empty one says nothing. */
void session_chat(struct session *s, int kind, const char *text, size_t len);
/* For a protocol whose every line costs the server work (IRC's queries as much as its
 * chat): counts one line of s's against flood control before it is handled, named by what
 * (len bytes, never the line itself, which may hold a password). Returns true if it is
 * allowed, and then the first flood check of what the line does is already paid for; false
 * if refused, s told. */
bool session_flood_charge(struct session *s, const char *what, size_t len);
/* A pseudo given by a client that cannot be asked again at a prompt (IRC), with the
 * password it gave first (password_len 0: none; wiped once used): checked, then logged in
 * to its account, or joined as a guest if it has none. Returns 0 when it is joined or its
 * password is being checked, -EINVAL when the pseudo is not valid (why: the French
 * reason), -EEXIST when someone holds it, -EACCES when it needs a password that was not
 * given; -EAGAIN when its password cannot be checked here or now (in clear text off
 * loopback, or too many tries), or flood control refused the try: s was told why. */
int session_give_pseudo(struct session *s, const char *pseudo, size_t len, char *password,
                        size_t password_len, const char **why);
/* s is still waiting for a verdict on its pseudo or password. */
bool session_logging_in(const struct session *s);
/* For IRC's SASL, which proves who a client is before it names itself: checks password
 * (len bytes, wiped) for the account pseudo, login.h's login_check(), whose return this
 * is; the verdict comes as irc_password_checked(s) if right, else as a refusal and
 * irc_pseudo_refused(s). */
int session_check_password(struct session *s, const char *pseudo, size_t len, char *password,
                           size_t password_len);
/* login.c's: the password session_check_password() was given is right. */
void session_password_checked(struct session *s);
/* s, whose password for pseudo session_check_password() found right, joins as its owner
 * (login.h's login_enter()). */
void session_enter_checked(struct session *s, const char *pseudo, size_t len);
/* Sends a one-line reply of the given kind to s alone; text must be sanitised. */
void session_reply(struct session *s, char kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends lines (whole, '\n'-terminated) to s alone. */
void session_send_lines(struct session *s, const char *data, size_t len);
/* /quit REASON (len bytes, sanitised; len 0 for none): s leaves, its room is told the
 * reason, and it is closed once what was queued for it is written. */
void session_quit(struct session *s, const char *reason, size_t len);
/* s, joined, is dropped by the server: logged with log_reason, its room told reason
 * (sanitised; "" for none), closed once what was queued for it is written. */
void session_drop(struct session *s, const char *log_reason, const char *reason);
/* Publishes a chat line or an action (kind) of s in its room. */
void session_publish(struct session *s, int kind, const char *text, size_t len);
/* /history: sends s the n lines of its room before the oldest it was sent, as "~" lines,
 * once the store has read them; the next /history goes on from there. */
/* /who's answer: sends v (room_view_here()'s, whose contents this takes) to s; in a
 * cluster, first asks the other servers who of theirs is in the room, on libuv's thread
 * pool, and answers on s's loop thread if s is still there, at most max_names in all. */
void session_who(struct session *s, struct room_view *v, size_t max_names);
void session_history(struct session *s, unsigned n);
/* IRC's CHATHISTORY: reads the lines of s's room that range says (store.h), on the thread
 * pool; the answer comes as irc_history_found() on s's loop thread, unless s left
 * meanwhile. Returns 0; -ENOSYS if the server keeps no history, -EBUSY if a read of s's is
 * on its way, or the store's error. */
struct store_range;
int session_read_range(struct session *s, const struct store_range *range);
/* /search: sends s the n most recent lines of its room that contain every word of words
 * (len bytes), as "~" lines, or a notice that none does. */
void session_search(struct session *s, const char *words, size_t len, unsigned n);
/* /register, /password and /unregister: login.c's, which passwords belong to, reached
 * through here so that commands.c and login.c each pair with session.c alone. The words
 * are wiped once used. */
void session_register(struct session *s, char *password, size_t len);
void session_change_password(struct session *s, char *old, size_t old_len, char *new_pw,
                             size_t new_len);
void session_unregister(struct session *s, char *password, size_t len);
/* Sends a private message from s to person p (a reference the call takes over); s is told
 * it was sent, in its protocol's way. */
void session_send_private(struct session *s, struct person *p, const char *text, size_t len);
/* Tells person p (a reference the call takes over) that s invites it into room (its name). */
/* With a cluster: sends s's private message to `to`, a pseudo held on another server; s is
 * told as above. */
void session_send_private_remote(struct session *s, const char *to, const char *text, size_t len);
void session_invite(struct session *s, struct person *p, const char *room);
/* s, an operator of the room whose key is room, sends person p (a reference the call takes
 * over) back to the default room, with reason (sanitised, may be NULL), if p is still in
 * that room when p's loop gets to it and, with spare_operators, is not an operator of it
 * nor an administrator. */
void session_send_out(struct session *s, struct person *p, const char *room, const char *reason,
                      bool spare_operators);
/* With a cluster: as session_send_out() for `to`, a pseudo held on another server, whose
 * server sends it out if it is still in the room. Returns 0, or -EAGAIN if the engine has
 * no room for it (refused: s is told). */
int session_send_out_remote(struct session *s, const char *to, const char *room,
                            const char *reason);

#endif
