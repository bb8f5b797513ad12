/* msg.h - immutable, reference-counted bytes to write: what an output queue holds.
 *
 * A message is formatted once into its final bytes, whole '\n'-terminated lines, and then
 * shared by every output queue and write that carries it: a broadcast to 100,000 clients
 * queues 100,000 pointers to one message. It is never modified after it is made. The
 * count is atomic because each loop thread drops its references on its own thread. An
 * event's first rendering is a message that lives inside the event (event.h), so the
 * message says how to free itself.
 *
 * The connection layer knows messages only: what they mean is the layers' above.
 */
#ifndef CAUSERIE_MSG_H
#define CAUSERIE_MSG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct msg {
    atomic_uint refs;               /* one per queue, write, event or entry holding it */
    uint32_t len;                   /* bytes in data, the last '\n' included */
    char *data;                     /* the bytes, then a NUL (for logging); not owned */
    void (*release)(struct msg *m); /* frees m (and what holds data) after the last unref */
};

/* Largest message: far past any line (--max-line is at most 1 MiB) or answer; a
 * newcomer's history block, at most half of --max-backlog, is cut to it as well. */
#define MSG_MAX_LEN (UINT32_MAX / 2)

/* Sets up m, which lives inside its owner, with one reference: data[0..len) are its bytes
 * and data[len] must be writable for the NUL. release frees the owner. */
void msg_init(struct msg *m, char *data, size_t len, void (*release)(struct msg *m));

/* A new message "K text\n" with one reference. text must be sanitised already. */
struct msg *msg_new(char kind, const char *text, size_t len);
/* The same, with printf-style text. */
struct msg *msg_newf(char kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct msg *msg_vnewf(char kind, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* A message of len bytes for the caller to write before anyone else sees it: whole
 * '\n'-terminated lines. */
struct msg *msg_new_blank(size_t len);
/* A message of the given bytes, which are whole '\n'-terminated lines (len >= 1). */
struct msg *msg_new_lines(const char *data, size_t len);

/* Adds n references at once: one atomic operation for a whole fan-out. Any thread. */
void msg_ref_many(struct msg *m, unsigned n);
void msg_ref(struct msg *m);
/* Drops n references in one atomic operation; the last one frees the message. Any
 * thread. */
void msg_unref_many(struct msg *m, unsigned n);
void msg_unref(struct msg *m);

/* References to drop later, counted per message: a loop collects what its completed
 * writes held during a turn and drops it before it sleeps, with one atomic operation per
 * message instead of one per recipient, and no cache line bouncing between threads that
 * release the same message. An open-addressing table keyed by the message's address,
 * kept at most half full. One thread. */
struct msg_batch {
    struct msg_batch_slot *slots; /* owned; capacity a power of two */
    uint32_t n, cap;
};

/* Takes over one reference to m. */
void msg_batch_add(struct msg_batch *b, struct msg *m);
/* Drops every reference held, and empties the table (its memory is kept). */
void msg_batch_release(struct msg_batch *b);
/* Drops what is held and frees the table. */
void msg_batch_free(struct msg_batch *b);

#endif
