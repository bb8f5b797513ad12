/* loop.h - one event loop per thread, its inbox, and the flush before it sleeps.
 *
 * Each loop thread owns a uv_loop_t and every handle on it; no other thread touches them.
 * Other threads reach a loop only through its inbox: a list under a mutex plus a
 * uv_async_t that wakes the loop (the only libuv call made from another thread). The loop
 * swaps the whole list out under the lock and runs it unlocked: messages to fan out to the
 * clients of a room on this loop (room.h), sockets to adopt, moves between rooms, private
 * messages, kicks and the order to stop. Before each sleep a
 * uv_prepare_t (Redis's beforeSleep) writes out every client that has output pending, so
 * all the messages a turn queued for one client leave in one write.
 */
#ifndef CAUSERIE_LOOP_H
#define CAUSERIE_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "client_set.h"
#include "common/buf.h"
#include "common/log.h"
#include "options.h"

struct client;
struct msg;
struct person;
struct room_move;

/* Bytes read from a socket at once. One buffer per loop, not per connection: an idle
 * connection then costs no read buffer at all (only an unfinished line is kept, by the
 * framer). 64 KiB is what libuv itself asks for per read. */
#define LOOP_READ_BUF_SIZE 65536

/* How often deadlines are checked: they are for seconds-long limits, not for precision. */
#define LOOP_SWEEP_MS 250

/* How long a stopping loop lets its clients read what is queued for them, the notice that
 * the server stops included, before it closes them anyway: the same grace as a client's
 * /quit (CLIENT_LINGER_MS). A client that reads at all takes its whole --max-backlog
 * (1 MiB) in that time over any link faster than 4 Mbit/s; one that does not read is not
 * worth keeping a restart waiting for, and an init system's stop timeout (systemd's 90 s)
 * stays far away. Checked by the sweep, so the wait is at most this plus LOOP_SWEEP_MS. */
#define SHUTDOWN_FLUSH_MS 2000

enum inbox_kind {
    INBOX_DELIVER, /* fan m out to the clients of its room on this loop (all rooms if none) */
    INBOX_ADOPT,   /* serve the accepted socket fd on this loop */
    INBOX_STOP,    /* send m to every client, stop reading, flush, close; then return */
    INBOX_MOVE,    /* a client of this loop enters another room (room.h) */
    INBOX_PRIVATE, /* send m to person p's client, if it is still here */
    INBOX_KICK,    /* the operator disconnects person p's client; m is the reason or NULL */
};

struct inbox_item {
    enum inbox_kind kind;
    union {
        struct msg *m; /* ref held, for INBOX_DELIVER, and INBOX_STOP's notice (or NULL) */
        struct {
            int fd;             /* owned */
            uint32_t ticket;    /* owned: its admission (admission.h) */
        } adopt;                /* for INBOX_ADOPT */
        struct room_move *move; /* owned, for INBOX_MOVE */
        struct {
            struct person *p; /* ref held */
            struct msg *m;    /* ref held */
        } person;             /* for INBOX_PRIVATE and INBOX_KICK */
    } u;
};

/* The input a client sent after a line whose effect is still on its way (a move between
 * rooms): kept by its loop, not in every client, since it is rare and short-lived. */
struct parked_input {
    struct client *c; /* borrowed */
    struct buf in;    /* owned: the bytes, unread by the framer */
};

/* References to drop at the end of the turn, counted per message: an open-addressing
 * table keyed by the message's address. */
struct release_slot {
    struct msg *m; /* ref(s) held; NULL: free slot */
    unsigned n;    /* references held on m */
};

struct loop {
    uv_loop_t uv;
    unsigned index;
    pthread_t thread;
    const struct server_options *opts; /* borrowed; immutable once the threads run */

    uv_async_t wake;    /* rung by loop_wake() from any thread */
    uv_prepare_t flush; /* runs before each sleep: writes out pending clients */

    /* Guards inbox, inbox_len and inbox_cap: what other threads share with this loop. */
    pthread_mutex_t inbox_lock;
    struct inbox_item *inbox; /* owned */
    size_t inbox_len, inbox_cap;
    struct inbox_item *spare; /* owned by the loop thread: swapped with inbox to drain */
    size_t spare_cap;

    bool stopping;               /* INBOX_STOP ran: later items are dropped, not run */
    size_t shutdown_told;        /* clients sent INBOX_STOP's notice; read after join */
    size_t shutdown_cut;         /* clients closed at their deadline while stopping */
    struct client_set pending;   /* clients with output to write this turn */
    struct client_set timed;     /* clients with a deadline; swept by `sweep` */
    uv_timer_t sweep;            /* runs while `timed` is not empty */
    struct buf scratch;          /* loop thread's scratch space for sanitised text */
    size_t flood_refused;        /* lines refused by flood control in the read being handled */
    struct log_limit flood_log;  /* flood control's log lines, per second */
    struct parked_input *parked; /* owned array: input of clients whose move is pending */
    uint32_t n_parked, parked_cap;
    struct release_slot *releases; /* owned table, capacity a power of two */
    uint32_t n_releases, releases_cap;
    char read_buf[LOOP_READ_BUF_SIZE];
};

/* Sets up l on the calling thread; returns 0 or a negative libuv error. */
int loop_init(struct loop *l, unsigned index, const struct server_options *opts);
/* Starts the loop's thread. */
int loop_start(struct loop *l);
/* Waits for the thread to return after INBOX_STOP: once its last client is closed, within
 * SHUTDOWN_FLUSH_MS (plus a sweep) of the STOP entry. */
void loop_join(struct loop *l);
/* Frees what is left: the wake handle, unrun inbox items, the loop. Main thread, and only
 * once every loop has been joined, since any loop may still wake any other. */
void loop_release(struct loop *l);

/* Appends an item to l's inbox; any thread. Returns true if the inbox was empty, in which
 * case the caller must call loop_wake(l), preferably after releasing its own locks. */
bool loop_post(struct loop *l, struct inbox_item item);
void loop_wake(struct loop *l);

/* Loop thread only. A client is in each set at most once. */
void loop_mark_pending(struct loop *l, struct client *c);
void loop_unmark_pending(struct loop *l, struct client *c);
/* Calls client_on_deadline(c) once, ms milliseconds from now (give or take the sweep's
 * LOOP_SWEEP_MS), unless cleared first. Setting it again moves it. One sweep timer per
 * loop checks every timed client: no timer handle per client. */
void loop_set_deadline(struct loop *l, struct client *c, uint64_t ms);
void loop_clear_deadline(struct loop *l, struct client *c);

/* Parks len bytes of c's input after what is parked already; returns the bytes parked for
 * c now. loop_take_parked() moves them into out (empty) and forgets them, returning false
 * if there were none; loop_drop_parked() frees them (c is closing). Loop thread only. */
size_t loop_park_input(struct loop *l, struct client *c, const char *data, size_t len);
bool loop_take_parked(struct loop *l, struct client *c, struct buf *out);
void loop_drop_parked(struct loop *l, struct client *c);

/* Takes over one reference to m and drops it before the loop sleeps, together with every
 * other reference to m this loop dropped in the turn: one atomic operation per message
 * and loop instead of one per recipient, and no cache line bouncing between threads that
 * release the same message. Loop thread only. */
void loop_release_later(struct loop *l, struct msg *m);

#endif
