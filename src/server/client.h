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

#include "client_set.h"
#include "common/proto.h"

struct loop;
struct msg;
struct person;
struct room;

enum session_state {
    SESSION_HANDSHAKE, /* waiting for a valid pseudo */
    SESSION_JOINED,    /* in the chat: receives broadcasts */
};

/* From two queued messages on, a client's queue is a ring of cap (a power of two) slots,
 * head the oldest: its bookkeeping lives in its allocation, not in every client. */
struct client_ring {
    uint32_t head, cap;
    struct msg *slot[];
};

/* Kept small, since there is one per connection: on x86-64 with libuv 1.44 it is 344
 * bytes, which glibc's malloc serves from a 352-byte chunk (docs/PERFORMANCE.md). Fields
 * are ordered so that no padding is left between them, and flags are bits (32 of them,
 * all used); mind the size when adding one. */
struct client {
    uv_tcp_t tcp;          /* tcp.data points back here; tcp.loop->data is the owning struct loop */
    uint64_t id;           /* unique for the process's life; messages name their origin by it */
    struct person *person; /* NULL until the handshake succeeds; then who it is on the
                            * server (registry.h), until session.c releases it */

    /* Refs to send, oldest first: a lone message in `one` (no allocation: an idle client
     * receiving a broadcast allocates nothing), from two on in an owned ring. */
    union {
        struct msg *one;          /* q_len == 1 and !q_ring */
        struct client_ring *ring; /* q_ring */
    } queue;
    size_t backlog;     /* bytes queued plus bytes being written */
    uint64_t deadline;  /* loop time (ms) when client_on_deadline() runs, if timed */
    uint64_t flood_tat; /* flood control: when, in µs of loop time, its allowance is whole
                         * again (session.c) */
    struct proto_framer framer;
    uint32_t q_len;

    uint32_t member_index;    /* place in its room's members on this loop, or CLIENT_NO_INDEX */
    uint32_t pending_index;   /* place in loop->pending, or CLIENT_NO_INDEX */
    uint32_t timed_index;     /* place in loop->timed, or CLIENT_NO_INDEX */
    uint32_t admission;       /* its place in admission.c's count, released when closed */
    unsigned state : 1;       /* enum session_state */
    unsigned q_ring : 1;      /* the queue is a ring */
    unsigned closing : 1;     /* client_close() ran; on_closed() will free */
    unsigned closed : 1;      /* on_closed() ran, but holds kept it allocated */
    unsigned quitting : 1;    /* left; closes once its output is written, or at its deadline */
    unsigned writing : 1;     /* a uv_write() is in flight */
    unsigned overflow : 1;    /* past --max-backlog with its socket full: closed at next flush */
    unsigned read_paused : 1; /* read a full buffer this turn; the flush reads on */
    unsigned holds : 7;       /* inbox entries of this loop that point at it (moves) */
    unsigned eof_held : 1;    /* the peer closed while input waited for a move: close after */
    unsigned recv_room : 16;  /* slot of the room whose members it is among, or ROOM_NONE */
};

/* The most entries that may point at one client: a client sending /join faster than its
 * own loop runs the moves is told to wait (room.c). */
#define CLIENT_HOLDS_MAX 127

/* The loop that owns c, found through its handle rather than stored again. */
static inline struct loop *client_loop(const struct client *c)
{
    return c->tcp.loop->data;
}

/* Serves the connected socket fd on loop l (loop thread). Takes ownership of fd and of its
 * admission (admission_admit()): on failure both are released and the error logged. */
void client_open(struct loop *l, int fd, uint32_t admission);

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
/* The server stops (loop.c, INBOX_STOP): c leaves quietly (no leave notice, no log line),
 * stops reading, is sent m (the notice; a reference of its own is taken), and closes once
 * everything queued for it has been written, or after ms. Returns true if m was queued;
 * false if c was leaving already (it closes within CLIENT_LINGER_MS) or is being dropped. */
bool client_shutdown(struct client *c, struct msg *m, uint64_t ms);
/* The deadline set with loop_set_deadline() has passed. */
void client_on_deadline(struct client *c);

/* An inbox entry of c's loop points at c: c stays allocated, even once closed, until as
 * many client_unhold() calls. client_can_hold() says if one more is allowed. Loop thread. */
bool client_can_hold(const struct client *c);
void client_hold(struct client *c);
/* Drops a hold; frees c if it was the last and c is closed already. */
void client_unhold(struct client *c);

/* Joined, not leaving: c receives what its room is sent. */
bool client_in_chat(const struct client *c);
/* c becomes one of the members of room r on its loop / stops being one (if it was).
 * Loop thread; room.c calls them, in the order the moves were stamped. */
void client_enter_room(struct client *c, struct room *r);
void client_leave_room(struct client *c);

/* Starts closing c: tells session.c (which tells the others, with reason, unless reason is
 * NULL for a quiet close at shutdown), drops its output, closes the socket. Safe to call
 * twice. c stays allocated until its uv_close() callback. */
void client_close(struct client *c, const char *reason);

#endif
