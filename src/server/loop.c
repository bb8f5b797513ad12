/* loop.c - one event loop per thread: inbox, before-sleep hook, deadlines; see loop.h.
 *
 * Runs on its loop's thread, except loop_post(), loop_wake() and loop_send(), which any
 * thread calls, and loop_init(), loop_join() and loop_release(), which the main thread
 * calls while the loop's thread is not running.
 */
#include "loop.h"

#include <assert.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/xalloc.h"

/* ---------------------------------------------------------------- deadlines */

/* The sweep now, counted from the loop's start. */
static uint32_t sweep_now(const struct loop *l)
{
    return (uint32_t)((uv_now(&l->uv) - l->start_ms) / LOOP_SWEEP_MS);
}

static uint32_t *deadline_index(void *item)
{
    return &((struct loop_deadline *)item)->index;
}

/* Whether sweep a comes at or before sweep b, the counter wrapping around. */
static bool not_after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}

static void on_sweep(uv_timer_t *h)
{
    struct loop *l = h->data;
    uint32_t now = sweep_now(l);
    /* on_deadline() may clear or set deadlines, so walk from the end and re-check the bound
     * each time: a removal only moves an already visited deadline into place. */
    for (uint32_t i = l->deadlines.len; i-- > 0;) {
        if (i >= l->deadlines.len) {
            continue;
        }
        struct loop_deadline *d = l->deadlines.items[i];
        if (not_after(d->due, now)) {
            loop_clear_deadline(l, d);
            l->hooks->on_deadline(l, d);
        }
    }
}

void loop_set_deadline(struct loop *l, struct loop_deadline *d, uint64_t ms)
{
    /* Rounded up to a whole sweep: a deadline may come late, never early. */
    uint64_t at = uv_now(&l->uv) - l->start_ms + ms;
    d->due = (uint32_t)((at + LOOP_SWEEP_MS - 1) / LOOP_SWEEP_MS);
    if (d->index == SET_NO_INDEX) {
        set_add(&l->deadlines, d, &d->index);
    }
    if (!uv_is_active((uv_handle_t *)&l->sweep)) {
        uv_timer_start(&l->sweep, on_sweep, LOOP_SWEEP_MS, LOOP_SWEEP_MS);
    }
}

void loop_clear_deadline(struct loop *l, struct loop_deadline *d)
{
    if (d->index == SET_NO_INDEX) {
        return;
    }
    set_remove(&l->deadlines, &d->index, deadline_index);
    if (l->deadlines.len == 0) {
        uv_timer_stop(&l->sweep); /* an idle server wakes for nothing */
    }
}

/* ---------------------------------------------------------------- inbox */

bool loop_post(struct loop *l, const struct loop_task *task, void *arg)
{
    pthread_mutex_lock(&l->inbox_lock);
    bool was_empty = l->inbox_len == 0;
    if (l->inbox_len == l->inbox_cap) {
        l->inbox = xgrow(l->inbox, &l->inbox_cap, l->inbox_len + 1, sizeof(*l->inbox), 64);
    }
    l->inbox[l->inbox_len++] = (struct loop_entry){task, arg};
    pthread_mutex_unlock(&l->inbox_lock);
    return was_empty;
}

void loop_wake(struct loop *l)
{
    int r = uv_async_send(&l->wake);
    assert(r == 0);
    (void)r;
}

void loop_send(struct loop *l, const struct loop_task *task, void *arg)
{
    if (loop_post(l, task, arg)) {
        loop_wake(l);
    }
}

/* The inbox's entries, swapped out under the lock for the spare list, so that they run
 * with the lock released and may post to this loop again. */
struct taken {
    struct loop_entry *entries;
    size_t n, cap;
};

static struct taken take_inbox(struct loop *l)
{
    pthread_mutex_lock(&l->inbox_lock);
    struct taken t = {l->inbox, l->inbox_len, l->inbox_cap};
    l->inbox = l->spare;
    l->inbox_cap = l->spare_cap;
    l->inbox_len = 0;
    pthread_mutex_unlock(&l->inbox_lock);
    return t;
}

/* The taken list becomes the spare one: no allocation in the steady state. */
static void give_back(struct loop *l, struct taken t)
{
    l->spare = t.entries;
    l->spare_cap = t.cap;
}

/* libuv merges wake-ups, so every call drains the whole inbox. */
static void on_wake(uv_async_t *h)
{
    struct loop *l = h->data;
    struct taken t = take_inbox(l);
    for (size_t i = 0; i < t.n; i++) {
        const struct loop_entry *e = &t.entries[i];
        if (l->stopping) {
            e->task->drop(e->arg); /* what came in behind the order to stop never runs */
        } else {
            e->task->run(l, e->arg);
        }
    }
    give_back(l, t);
}

void loop_stop(struct loop *l)
{
    l->stopping = true;
    uv_unref((uv_handle_t *)&l->wake); /* uv_run() returns once the rest is closed */
}

/* ---------------------------------------------------------------- before sleeping */

static void on_prepare(uv_prepare_t *h)
{
    struct loop *l = h->data;
    l->hooks->before_sleep(l);
}

/* ---------------------------------------------------------------- life cycle */

int loop_init(struct loop *l, unsigned index, const struct loop_hooks *hooks)
{
    *l = (struct loop){.index = index, .hooks = hooks};
    int r = uv_loop_init(&l->uv);
    if (r < 0) {
        return r;
    }
    l->uv.data = l;
    l->start_ms = uv_now(&l->uv);
    pthread_mutex_init(&l->inbox_lock, NULL);
    uv_async_init(&l->uv, &l->wake, on_wake);
    l->wake.data = l;
    uv_prepare_init(&l->uv, &l->prepare);
    l->prepare.data = l;
    uv_prepare_start(&l->prepare, on_prepare);
    /* The prepare handle alone must not keep the loop running once the rest is gone. */
    uv_unref((uv_handle_t *)&l->prepare);
    uv_timer_init(&l->uv, &l->sweep);
    l->sweep.data = l;
    return 0;
}

void loop_run(struct loop *l)
{
    uv_run(&l->uv, UV_RUN_DEFAULT); /* returns once stopped and every handle above closed */
    assert(l->stopping && l->deadlines.len == 0);
    uv_close((uv_handle_t *)&l->prepare, NULL);
    uv_close((uv_handle_t *)&l->sweep, NULL);
    uv_run(&l->uv, UV_RUN_NOWAIT); /* their close callbacks; wake outlives the thread */
}

static void *loop_main(void *arg)
{
    loop_run(arg);
    return NULL;
}

int loop_start(struct loop *l)
{
    return -pthread_create(&l->thread, NULL, loop_main, l);
}

void loop_join(struct loop *l)
{
    pthread_join(l->thread, NULL);
}

size_t loop_drop_pending(struct loop *l)
{
    /* Entries posted after this loop stopped were never run; release what they hold. */
    struct taken t = take_inbox(l);
    for (size_t i = 0; i < t.n; i++) {
        t.entries[i].task->drop(t.entries[i].arg);
    }
    give_back(l, t);
    return t.n;
}

int loop_release(struct loop *l)
{
    /* Every loop thread has returned, so nobody can ring the wake handle any more. */
    assert(l->inbox_len == 0);
    uv_close((uv_handle_t *)&l->wake, NULL);
    uv_run(&l->uv, UV_RUN_NOWAIT);
    int r = uv_loop_close(&l->uv);
    if (r < 0) {
        log_error("boucle %u : des ressources n'ont pas été libérées (%s)", l->index,
                  uv_err_name(r));
    }
    pthread_mutex_destroy(&l->inbox_lock);
    free(l->inbox);
    free(l->spare);
    set_release(&l->deadlines);
    return r;
}
