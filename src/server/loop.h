/* loop.h - one event loop per thread: its inbox, the hook before it sleeps, deadlines.
 *
 * Each loop thread owns a uv_loop_t and every handle on it; no other thread touches them.
 * Other threads reach a loop only through its inbox: a list of entries under a mutex plus a
 * uv_async_t that wakes the loop (the only libuv call made from another thread). Each entry
 * carries its handler, a function and its argument (h2o's multithread messages), so the
 * loop runs them in the order they were posted without knowing what they are: deliveries,
 * moves, adoptions, the order to stop all look alike here. Before each sleep a uv_prepare_t
 * (Redis's beforeSleep) calls the hook the layer above installed (client.c writes out its
 * connections there), and one sweep timer checks the coarse deadlines embedded in whatever
 * needs one. The loop knows no client: it is the bottom of the server's layers.
 */
#ifndef CAUSERIE_LOOP_H
#define CAUSERIE_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "set.h"

struct loop;

/* How often deadlines are checked: they are for seconds-long limits, not for precision. */
#define LOOP_SWEEP_MS 250

/* What an inbox entry does. run is called on the loop's thread, in the order entries were
 * posted, with no lock held. drop releases what arg holds instead, for an entry that will
 * never run because the loop stopped first: on the loop's thread while it stops, or on the
 * main thread once the loop has been joined. Tasks are static constants. */
struct loop_task {
    void (*run)(struct loop *l, void *arg);
    void (*drop)(void *arg);
};

struct loop_entry {
    const struct loop_task *task;
    void *arg;
};

/* A coarse deadline, embedded in what has one: one sweep timer per loop checks them all,
 * rather than a uv_timer_t (152 bytes) per connection. `due` counts sweeps since the loop
 * started; the 32 bits last 34 years of sweeps. */
struct loop_deadline {
    uint32_t due;
    uint32_t index; /* place in the loop's set of deadlines, or SET_NO_INDEX */
};

/* What the layer above is called for; installed at loop_init(), called on the loop's
 * thread. */
struct loop_hooks {
    void (*before_sleep)(struct loop *l);
    /* d's time has come; it is no longer set. */
    void (*on_deadline)(struct loop *l, struct loop_deadline *d);
};

struct loop {
    uv_loop_t uv;
    unsigned index; /* 0 .. loops - 1; loop 0 also watches the listeners */
    pthread_t thread;
    const struct loop_hooks *hooks; /* borrowed; static */

    uv_async_t wake;      /* rung by loop_wake() from any thread */
    uv_prepare_t prepare; /* runs hooks->before_sleep before each sleep */
    uv_timer_t sweep;     /* runs while deadlines are set */
    uint64_t start_ms;    /* uv_now() when the loop was set up: sweep 0 */

    /* Guards inbox, inbox_len and inbox_cap: what other threads share with this loop. */
    pthread_mutex_t inbox_lock;
    struct loop_entry *inbox; /* owned */
    size_t inbox_len, inbox_cap;
    struct loop_entry *spare; /* owned by the loop thread: swapped with inbox to drain it */
    size_t spare_cap;

    bool stopping;        /* loop_stop() ran: entries are dropped, not run */
    struct set deadlines; /* of struct loop_deadline; loop thread */
};

/* Sets l up on the calling thread; returns 0 or a negative libuv error. */
int loop_init(struct loop *l, unsigned index, const struct loop_hooks *hooks);
/* Starts the loop's thread, which runs loop_run(). Returns 0 or a negative errno. */
int loop_start(struct loop *l);
/* Runs the loop on the calling thread until loop_stop() has run and no handle of the
 * layers above is left, then closes the loop's own handles but the wake handle. */
void loop_run(struct loop *l);
/* Waits for the thread to return: once loop_stop() has run and the loop has no other
 * handle left. */
void loop_join(struct loop *l);
/* Drops the entries l's inbox holds, on the main thread once every loop has been joined.
 * A drop may post to another loop (a login handed back to its connection's loop), so the
 * caller repeats over all loops until none drops anything, and only then releases them.
 * Returns how many entries it dropped. */
size_t loop_drop_pending(struct loop *l);
/* Frees what is left: the wake handle, and the entries never run, which must have been
 * dropped already (loop_drop_pending()). Main thread, and only once every loop has been
 * joined, since any loop may still wake any other. Returns
 * uv_loop_close()'s result: 0, or UV_EBUSY if a handle was left open (a leak, also
 * reported in the log). */
int loop_release(struct loop *l);

/* Appends an entry to l's inbox; any thread. Returns true if the inbox was empty, in which
 * case the caller must call loop_wake(l), preferably after releasing its own locks. */
bool loop_post(struct loop *l, const struct loop_task *task, void *arg);
void loop_wake(struct loop *l);
/* loop_post() and loop_wake() for a caller that holds no lock that matters. */
void loop_send(struct loop *l, const struct loop_task *task, void *arg);

/* On the loop's thread: the entries not yet run are dropped, and so are those posted
 * from now on; the loop's thread returns once the layers above have closed their handles.
 * Called by the task that stops the loop, after it has begun closing them. */
void loop_stop(struct loop *l);
static inline bool loop_stopping(const struct loop *l)
{
    return l->stopping;
}

/* The loop's time, in milliseconds (uv_now()): read once per iteration, so cheap. */
static inline uint64_t loop_now(const struct loop *l)
{
    return uv_now(&l->uv);
}

/* Calls hooks->on_deadline(l, d) once, ms milliseconds from now or later: rounded up to a
 * whole sweep and seen at the sweep after that, so up to two sweeps (500 ms) late, never
 * early; unless cleared first. Setting it again moves it. Loop thread. */
void loop_set_deadline(struct loop *l, struct loop_deadline *d, uint64_t ms);
void loop_clear_deadline(struct loop *l, struct loop_deadline *d);
static inline void loop_deadline_init(struct loop_deadline *d)
{
    *d = (struct loop_deadline){0, SET_NO_INDEX};
}

#endif
