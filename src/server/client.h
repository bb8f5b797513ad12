/* client.h - one TCP connection, from accept to free.
 *
 * A client belongs to the loop thread that adopted it; no other thread touches it. Input
 * is framed by proto.c and handed to session.c line by line; output is a queue of msg
 * references that loop.c flushes once per turn, one uv_write() in flight at a time.
 * Queued bytes are checked against --max-backlog here and nowhere else: a client is
 * dropped when it is past that limit while its socket is full (it does not read). client_close() is
 * the only way out; the memory is freed in the uv_close() callback.
 */
#ifndef CAUSERIE_CLIENT_H
#define CAUSERIE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/proto.h"

struct loop;
struct msg;

#define CLIENT_NO_INDEX UINT32_MAX

enum session_state {
    SESSION_HANDSHAKE, /* waiting for a valid pseudo */
    SESSION_JOINED,    /* in the chat: receives broadcasts */
};

/* Kept small, since there is one per connection: on x86-64 with libuv 1.44 it is 344
 * bytes, which glibc's malloc serves from a 352-byte chunk (docs/PERFORMANCE.md). Fields
 * are ordered so that no padding is left between them; mind the size when adding one. */
struct client {
    uv_tcp_t tcp;       /* tcp.data points back here; tcp.loop->data is the owning struct loop */
    uint64_t id;        /* unique for the process's life; messages name their origin by it */
    const char *pseudo; /* NULL until the handshake succeeds; then the registry's copy,
                         * valid until session.c releases it */

    /* Refs to send, oldest first. A lone message is kept in `one` (no allocation: an idle
     * client receiving a broadcast allocates nothing); from two on, in an owned ring of
     * q_cap (a power of two) slots. */
    union {
        struct msg *one;   /* q_cap == 0 and q_len == 1 */
        struct msg **ring; /* q_cap > 0 */
    } queue;
    size_t backlog;    /* bytes queued plus bytes being written */
    uint64_t deadline; /* loop time (ms) when client_on_deadline() runs, if timed */
    struct proto_framer framer;
    uint32_t q_head, q_len, q_cap;

    uint32_t member_index;  /* place in loop->members, or CLIENT_NO_INDEX */
    uint32_t pending_index; /* place in loop->pending, or CLIENT_NO_INDEX */
    uint32_t timed_index;   /* place in loop->timed, or CLIENT_NO_INDEX */
    uint8_t state;          /* enum session_state */
    bool closing;           /* client_close() ran; on_closed() will free */
    bool quitting;          /* left; closes once its output is written, or at its deadline */
    bool writing;           /* a uv_write() is in flight */
    bool overflow;          /* past --max-backlog with its socket full: closed at next flush */
    bool read_paused;       /* read a full buffer this turn; the flush reads on */
};

/* The loop that owns c, found through its handle rather than stored again. */
static inline struct loop *client_loop(const struct client *c)
{
    return c->tcp.loop->data;
}

/* Serves the connected socket fd on loop l (loop thread). Takes ownership of fd: on
 * failure it is closed and the error logged. */
void client_open(struct loop *l, int fd);

/* Queues m for c without taking a reference: the caller adds one per true return, in
 * bulk (see loop.c's fan-out). Returns false if c is closing or past its backlog limit;
 * nothing is queued then. Makes no system call. */
bool client_queue(struct client *c, struct msg *m);
/* Queues m for c, taking a reference of its own. */
void client_send(struct client *c, struct msg *m);

/* Writes out what is queued, at most WRITE_BATCH_MAX messages in one uv_write(). Called by
 * loop.c once per turn for each pending client. May close c. */
void client_flush(struct client *c);

/* How long a client that quit may take to read what was queued for it before it. */
#define CLIENT_LINGER_MS 2000

/* Leaves now (session.c tells the others, with reason) and stops reading, but closes only
 * once what is already queued for c has been written, or after CLIENT_LINGER_MS: the
 * answers to what c sent before "/quit" in the same packet still reach it. */
void client_close_after_flush(struct client *c, const char *reason);
/* The deadline set with loop_set_deadline() has passed. */
void client_on_deadline(struct client *c);

/* Starts closing c: tells session.c (which tells the others, with reason, unless reason is
 * NULL for a quiet close at shutdown), drops its output, closes the socket. Safe to call
 * twice. c stays allocated until its uv_close() callback. */
void client_close(struct client *c, const char *reason);

#endif
