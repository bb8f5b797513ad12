/* msg.h - an immutable, reference-counted wire message.
 *
 * A message is formatted once into its final bytes ("> alice: salut\n") and then shared by
 * every output queue and write that carries it: a broadcast to 100,000 clients is one
 * allocation. It is never modified after msg_new*() returns, except for seq and room,
 * which broadcast.c sets before publishing it. The count is atomic because each loop thread
 * drops its references on its own thread.
 */
#ifndef CAUSERIE_MSG_H
#define CAUSERIE_MSG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct room;

struct msg {
    atomic_uint refs;  /* one per queue, write or inbox entry holding it */
    uint64_t seq;      /* place in the total order; 0 for a line meant for one client */
    uint64_t origin;   /* id of the client it comes from, who does not receive it; 0: none */
    struct room *room; /* the room it is broadcast to, NULL for everyone (broadcast.c) */
    size_t len;        /* bytes in data, '\n' included */
    char data[];       /* the whole line, '\n'-terminated (and NUL after it, for logging);
                        * or several lines, for one client (history) */
};

/* A new message "K text\n" with one reference. text must be sanitised already. */
struct msg *msg_new(uint64_t origin, char kind, const char *text, size_t len);
/* Same, with printf-style text. */
struct msg *msg_newf(uint64_t origin, char kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A message of the given bytes, which are whole '\n'-terminated lines (len >= 1). */
struct msg *msg_new_lines(const char *data, size_t len);
/* A message of the line text (len bytes, no '\n'), '\n' added. */
struct msg *msg_new_line(const char *text, size_t len);
/* A chat message "> pseudo: text\n" with one reference. */
struct msg *msg_new_chat(uint64_t origin, const char *pseudo, const char *text, size_t len);

/* Adds n references at once: one atomic operation for a whole fan-out. */
void msg_ref_many(struct msg *m, unsigned n);
void msg_ref(struct msg *m);
/* Drops one reference; frees the message when it was the last. Any thread. */
void msg_unref(struct msg *m);
/* Drops n references in one atomic operation (see loop_release_later()). Any thread. */
void msg_unref_many(struct msg *m, unsigned n);

#endif
