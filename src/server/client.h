/* client.h - one connection, from accept to free: read, frame, queue, flush, close.
 *
 * A client belongs to the loop thread that opened it; no other thread touches it. Its bytes
 * travel through its transport (transport.h); its input is framed by proto.c and handed
 * line by line to the handlers installed at start (client_setup()), which are the layer
 * above's: this file knows nothing of what lines mean, and links and runs alone (the unit
 * tests drive it over a socketpair with handlers of their own). Output is a queue of
 * message references (msg.h) written once per loop turn, before the loop sleeps, in one
 * write of up to WRITE_BATCH_MAX messages; queued bytes are checked against the backlog
 * limit here and nowhere else. The memory is the caller's, who embeds struct client first
 * in its own structure and frees it when on_free() says so (libuv's pattern for handles).
 * client_close() is the only way out.
 */
#ifndef CAUSERIE_CLIENT_H
#define CAUSERIE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"
#include "loop.h"
#include "transport.h"

struct msg;

/* From two queued messages on, a client's queue is a ring of cap (a power of two) slots,
 * head the oldest: its bookkeeping lives in its allocation, not in every client. */
struct client_ring {
    uint32_t head, cap;
    struct msg *slot[];
};

/* Kept small, since there is one per connection (docs/PERFORMANCE.md): fields are ordered
 * so that no padding is left between them, and flags are bits. */
struct client {
    struct transport t; /* first: the socket, and how its bytes travel */
    uint64_t id;        /* unique for the process's life: events name their origin by it */
    /* Refs to send, oldest first: a lone message in `one` (no allocation: an idle client
     * receiving a broadcast allocates nothing), from two on in an owned ring. */
    union {
        struct msg *one;          /* q_len == 1 and !q_ring */
        struct client_ring *ring; /* q_ring */
    } queue;
    size_t backlog;                /* bytes queued plus bytes being written */
    struct loop_deadline deadline; /* the one deadline: the layer above's, or the linger's */
    struct proto_framer framer;
    uint32_t q_len;
    uint32_t pending_index;   /* place in its loop's set of clients to flush, or SET_NO_INDEX */
    uint32_t all_index;       /* place in its loop's set of clients */
    unsigned q_ring : 1;      /* the queue is a ring */
    unsigned closing : 1;     /* client_close() ran; the transport is closing */
    unsigned closed : 1;      /* the transport is closed, but holds keep c allocated */
    unsigned finishing : 1;   /* client_finish() ran: closes once its output is written */
    unsigned shutting : 1;    /* finishing, all written: the transport is shutting down */
    unsigned writing : 1;     /* a transport write is in flight */
    unsigned overflow : 1;    /* past the backlog limit with its socket full: closed at flush */
    unsigned read_paused : 1; /* read a full buffer this turn; the flush reads on */
    unsigned eof_held : 1;    /* the peer closed while input was held: close after it */
    unsigned holds : 7;       /* loop entries that point at it (client_hold()) */
};

/* The most entries that may point at one client at once (moves between rooms). */
#define CLIENT_HOLDS_MAX 127

/* Messages per write, which is one writev(): Linux's IOV_MAX. A turn can queue hundreds of
 * messages for a client (one 64 KiB read from a sender is ~600 chat lines), and a client
 * that reads keeps up only if one write per turn can carry them all. */
#define WRITE_BATCH_MAX 1024

/* Bytes read from a socket at once. One buffer per loop, not per connection: an idle
 * connection then costs no read buffer at all (only an unfinished line is kept, by the
 * framer). 64 KiB is what libuv itself asks for per read. */
#define CLIENT_READ_BUF_SIZE 65536

/* The layer above, called on the client's loop thread. Every call may close c. */
struct client_handlers {
    /* The transport is open and reading: the first thing said to the peer goes here. */
    void (*on_open)(struct client *c);
    /* One complete line, unsanitised, without its '\n'. */
    void (*on_line)(struct client *c, const char *line, size_t len);
    /* A line longer than the limit was dropped. */
    void (*on_overlong)(struct client *c);
    /* The lines of one read have all been handled (c may be closing). */
    void (*on_read_done)(struct client *c);
    /* The deadline set with client_set_deadline() has passed. */
    void (*on_deadline)(struct client *c);
    /* client_close() has begun (called once): reason says why, for the log, or is NULL for
     * a close the layer above asked for itself. Nothing can be sent to c any more. */
    void (*on_close)(struct client *c, const char *reason);
    /* c is closed and nothing points at it: free the memory it lives in. */
    void (*on_free)(struct client *c);
};

/* Main thread, before the loops start: the handlers (static), the number of loops, the
 * longest line a peer may send and the bytes that may wait for one client. */
void client_setup(const struct client_handlers *h, unsigned n_loops, size_t max_line,
                  size_t max_backlog);
/* Main thread, after the loops have been joined: frees what each loop held. */
void client_teardown(void);
/* The loop hooks for every loop (loop_init()): the flush before sleeping, the deadlines. */
extern const struct loop_hooks client_loop_hooks;

/* Serves the connected socket fd on loop l as c (c's memory is the caller's, zeroed or not),
 * over the transport that open sets up. Calls on_open(c) once it reads; on failure closes
 * fd, logs why, and on_free(c) follows (on_close is not called). Loop thread. */
void client_open(struct client *c, struct loop *l, int fd, transport_open_fn open);

/* The loop that owns c, found through its socket rather than stored again. */
static inline struct loop *client_loop(const struct client *c)
{
    return transport_loop(&c->t)->data;
}

/* Queues m for c without taking a reference: the caller adds one per true return, in
 * bulk (fan-out). Returns false if c is closing, has begun to shut down after finishing,
 * or is past its backlog limit; nothing is queued then. A client that is finishing still
 * takes what its layer above says last (the answers to the lines it sent before leaving).
 * Makes no system call. */
bool client_queue(struct client *c, struct msg *m);
/* Queues m for c, taking a reference of its own; returns whether it was queued. */
bool client_send(struct client *c, struct msg *m);

/* Whether c is still in the conversation: not closing, not finishing. */
bool client_is_open(const struct client *c);
/* Whether client_close() has run for c. */
bool client_is_closing(const struct client *c);

/* c is done: it stops reading, and closes once everything queued for it has been written
 * and its transport shut down, or after ms at most, for a peer that does not read; the
 * layer above has said its goodbyes already. Safe to call twice. */
void client_finish(struct client *c, uint64_t ms);

/* Starts closing c: on_close(c, reason), its queue dropped, the transport closed; on_free
 * once that is done and no hold is left. Safe to call twice. */
void client_close(struct client *c, const char *reason);

/* The layer above's deadline for c (the handshake, idleness): on_deadline(c) in ms. */
void client_set_deadline(struct client *c, uint64_t ms);
void client_clear_deadline(struct client *c);

/* An entry of c's loop points at c: c stays allocated, even once closed, until as many
 * client_unhold() calls, and its input waits (unread, parked) until the last, so that
 * nothing it sent after the entry was posted is handled before the entry has run.
 * client_can_hold() says if one more is allowed. Loop thread. */
bool client_can_hold(const struct client *c);
void client_hold(struct client *c);
/* Drops a hold; handles the parked input when it was the last; on_free(c) if c is closed. */
void client_unhold(struct client *c);

/* The peer's address, for the log: "127.0.0.1:53422". */
void client_peer_name(const struct client *c, char *out, size_t size);
/* The peer's host as its connections are counted (addr_host_key()): "127.0.0.1", or an
 * IPv6 /64; "?" once the peer has reset. Returns whether the peer is on loopback. */
bool client_peer_host(const struct client *c, char *out, size_t size);
/* Whether what c sends and receives is encrypted (TLS, or WebSocket over TLS). */
bool client_encrypted(const struct client *c);

/* Calls fn for every client of loop l that is not closing yet. fn may finish or close the
 * client it is given, not others. Loop thread. */
void client_each(struct loop *l, void (*fn)(struct client *c, void *arg), void *arg);
/* How many clients of loop l were closed at the end of their linger time, before reading
 * all that was left for them, while the loop was stopping. Main thread, after the join. */
size_t client_cut_at_stop(const struct loop *l);

#endif
