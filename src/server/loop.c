/* loop.c - one event loop per thread: inbox, fan-out, per-turn flush; see loop.h.
 *
 * Runs on its loop's thread, except loop_post() and loop_wake(), which any thread calls,
 * and loop_init(), loop_join() and loop_release(), which the main thread calls while the
 * loop's thread is not running.
 */
#include "loop.h"

#include <assert.h>
#include <stdlib.h>
#include <unistd.h>

#include "admission.h"
#include "client.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "msg.h"
#include "registry.h"
#include "room.h"
#include "session.h"

/* ---------------------------------------------------------------- pending clients */

static uint32_t *pending_index_of(struct client *c)
{
    return &c->pending_index;
}

void loop_mark_pending(struct loop *l, struct client *c)
{
    if (c->pending_index == CLIENT_NO_INDEX) {
        client_set_add(&l->pending, c, &c->pending_index);
    }
}

void loop_unmark_pending(struct loop *l, struct client *c)
{
    if (c->pending_index != CLIENT_NO_INDEX) {
        client_set_remove(&l->pending, &c->pending_index, pending_index_of);
    }
}

/* ---------------------------------------------------------------- deadlines */

static uint32_t *timed_index_of(struct client *c)
{
    return &c->timed_index;
}

static void on_sweep(uv_timer_t *h)
{
    struct loop *l = h->data;
    uint64_t now = uv_now(&l->uv);
    /* client_on_deadline() may clear or set deadlines, so walk from the end and re-check
     * the bound each time: a removal only moves an already visited client into place. */
    for (uint32_t i = l->timed.len; i-- > 0;) {
        if (i >= l->timed.len) {
            continue;
        }
        struct client *c = l->timed.items[i];
        if (c->deadline <= now) {
            if (l->stopping && c->quitting) {
                l->shutdown_cut++; /* closed before it read everything it was sent */
            }
            loop_clear_deadline(l, c);
            client_on_deadline(c);
        }
    }
}

void loop_set_deadline(struct loop *l, struct client *c, uint64_t ms)
{
    c->deadline = uv_now(&l->uv) + ms;
    if (c->timed_index == CLIENT_NO_INDEX) {
        client_set_add(&l->timed, c, &c->timed_index);
    }
    if (!uv_is_active((uv_handle_t *)&l->sweep)) {
        uv_timer_start(&l->sweep, on_sweep, LOOP_SWEEP_MS, LOOP_SWEEP_MS);
    }
}

void loop_clear_deadline(struct loop *l, struct client *c)
{
    if (c->timed_index == CLIENT_NO_INDEX) {
        return;
    }
    client_set_remove(&l->timed, &c->timed_index, timed_index_of);
    if (l->timed.len == 0) {
        uv_timer_stop(&l->sweep); /* an idle server wakes for nothing */
    }
}

/* ---------------------------------------------------------------- parked input */

/* The parked input of c, or NULL. A walk: a loop parks for a handful of clients at most,
 * each for the time its own loop takes to run one inbox entry. */
static struct parked_input *find_parked(struct loop *l, const struct client *c)
{
    for (uint32_t i = 0; i < l->n_parked; i++) {
        if (l->parked[i].c == c) {
            return &l->parked[i];
        }
    }
    return NULL;
}

size_t loop_park_input(struct loop *l, struct client *c, const char *data, size_t len)
{
    struct parked_input *p = find_parked(l, c);
    if (!p) {
        if (l->n_parked == l->parked_cap) {
            l->parked_cap = l->parked_cap ? l->parked_cap * 2 : 4;
            l->parked = xreallocarray(l->parked, l->parked_cap, sizeof(*l->parked));
        }
        p = &l->parked[l->n_parked++];
        p->c = c;
        buf_init(&p->in);
    }
    buf_append(&p->in, data, len);
    return p->in.len;
}

/* Removes p from the array, moving the last entry into its place. */
static void remove_parked(struct loop *l, struct parked_input *p)
{
    *p = l->parked[--l->n_parked];
}

bool loop_take_parked(struct loop *l, struct client *c, struct buf *out)
{
    struct parked_input *p = find_parked(l, c);
    if (!p) {
        return false;
    }
    *out = p->in;
    remove_parked(l, p);
    return true;
}

void loop_drop_parked(struct loop *l, struct client *c)
{
    struct parked_input *p = find_parked(l, c);
    if (p) {
        buf_release(&p->in);
        remove_parked(l, p);
    }
}

/* ---------------------------------------------------------------- deferred releases */

static uint32_t release_hash(const struct msg *m, uint32_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)m >> 4; /* allocations are 16-byte aligned */
    return (uint32_t)((x * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

static void release_insert(struct release_slot *t, uint32_t cap, struct msg *m, unsigned n)
{
    uint32_t i = release_hash(m, cap);
    while (t[i].m && t[i].m != m) {
        i = (i + 1) & (cap - 1);
    }
    t[i].m = m;
    t[i].n += n;
}

void loop_release_later(struct loop *l, struct msg *m)
{
    if ((l->n_releases + 1) * 2 > l->releases_cap) {
        /* Kept at most half full, so probes stay short. */
        uint32_t cap = l->releases_cap ? l->releases_cap * 2 : 256;
        struct release_slot *t = xcalloc(cap, sizeof(*t));
        for (uint32_t i = 0; i < l->releases_cap; i++) {
            if (l->releases[i].m) {
                release_insert(t, cap, l->releases[i].m, l->releases[i].n);
            }
        }
        free(l->releases);
        l->releases = t;
        l->releases_cap = cap;
    }
    uint32_t i = release_hash(m, l->releases_cap);
    while (l->releases[i].m && l->releases[i].m != m) {
        i = (i + 1) & (l->releases_cap - 1);
    }
    if (!l->releases[i].m) {
        l->releases[i].m = m;
        l->n_releases++;
    }
    l->releases[i].n++;
}

static void release_all(struct loop *l)
{
    if (l->n_releases == 0) {
        return;
    }
    for (uint32_t i = 0; i < l->releases_cap; i++) {
        if (l->releases[i].m) {
            msg_unref_many(l->releases[i].m, l->releases[i].n);
            l->releases[i] = (struct release_slot){NULL, 0};
        }
    }
    l->n_releases = 0;
}

/* ---------------------------------------------------------------- fan-out and flush */

/* Queues m for every client of set but its origin; returns how many took it. No
 * reference is taken here: see fan_out(). */
static unsigned queue_for_set(const struct client_set *set, struct msg *m)
{
    unsigned queued = 0;
    for (uint32_t i = 0; i < set->len; i++) {
        struct client *c = set->items[i];
        if (c->id != m->origin && client_queue(c, m)) {
            queued++;
        }
    }
    return queued;
}

/* Queues m for the clients of its room on this loop (of every room when it has none),
 * then takes all their references in one atomic addition and drops the inbox entry's: a
 * message costs one atomic operation per loop, not one per recipient. */
static void fan_out(struct loop *l, struct msg *m)
{
    unsigned queued = 0;
    if (m->room) {
        queued = queue_for_set(room_members(m->room, l->index), m);
    } else {
        for (unsigned i = 0; i < room_slot_count(); i++) {
            queued += queue_for_set(room_members(room_at(i), l->index), m);
        }
    }
    if (queued) {
        msg_ref_many(m, queued);
    }
    msg_unref(m);
}

/* Before the loop sleeps: one write for each client that got output this turn. */
static void on_flush(uv_prepare_t *h)
{
    struct loop *l = h->data;
    release_all(l); /* what this turn's completed writes were holding */
    /* client_flush() may close a client, which never adds to nor reorders this set, so
     * walking it by index while clearing it is safe. */
    for (uint32_t i = 0; i < l->pending.len; i++) {
        struct client *c = l->pending.items[i];
        c->pending_index = CLIENT_NO_INDEX;
        client_flush(c);
    }
    l->pending.len = 0;
}

/* ---------------------------------------------------------------- inbox */

bool loop_post(struct loop *l, struct inbox_item item)
{
    pthread_mutex_lock(&l->inbox_lock);
    bool was_empty = l->inbox_len == 0;
    if (l->inbox_len == l->inbox_cap) {
        l->inbox_cap = l->inbox_cap ? l->inbox_cap * 2 : 64;
        l->inbox = xreallocarray(l->inbox, l->inbox_cap, sizeof(*l->inbox));
    }
    l->inbox[l->inbox_len++] = item;
    pthread_mutex_unlock(&l->inbox_lock);
    return was_empty;
}

void loop_wake(struct loop *l)
{
    int r = uv_async_send(&l->wake);
    assert(r == 0);
    (void)r;
}

/* A /quit client may linger that long too: it must end within the shutdown's bound. */
_Static_assert(CLIENT_LINGER_MS <= SHUTDOWN_FLUSH_MS, "a leaving client outlasts shutdown");

struct stop_walk {
    struct loop *l;
    struct msg *notice; /* borrowed: the STOP entry holds it; may be NULL */
};

static void stop_any_handle(uv_handle_t *h, void *arg)
{
    struct stop_walk *w = arg;
    struct loop *l = w->l;
    if (uv_is_closing(h) || h == (uv_handle_t *)&l->wake || h == (uv_handle_t *)&l->flush ||
        h == (uv_handle_t *)&l->sweep) {
        return; /* the flush and the sweep serve the clients to the end: see loop_main() */
    }
    if (h->type == UV_TCP && h->data != NULL) {
        if (w->notice && client_shutdown(h->data, w->notice, SHUTDOWN_FLUSH_MS)) {
            l->shutdown_told++;
        } else if (!w->notice) {
            client_close(h->data, NULL);
        }
    } else {
        uv_close(h, NULL); /* the listener's (loop 0): no more connections */
    }
}

/* Every client is sent the notice, stops being read, and closes once its output is
 * written or at SHUTDOWN_FLUSH_MS; the listener closes. The wake handle stops counting:
 * uv_run() returns when the last client is closed and the sweep stops with it. */
static void stop(struct loop *l, struct msg *notice)
{
    l->stopping = true;
    struct stop_walk w = {l, notice};
    uv_walk(&l->uv, stop_any_handle, &w);
    uv_unref((uv_handle_t *)&l->wake);
    if (notice) {
        msg_unref(notice);
    }
}

static void drop_item(struct inbox_item *it);

static void run_item(struct loop *l, struct inbox_item *it)
{
    if (l->stopping) {
        drop_item(it); /* what came in behind INBOX_STOP is never run */
        return;
    }
    switch (it->kind) {
    case INBOX_DELIVER:
        fan_out(l, it->u.m);
        break;
    case INBOX_ADOPT:
        client_open(l, it->u.adopt.fd, it->u.adopt.ticket);
        break;
    case INBOX_STOP:
        stop(l, it->u.m);
        break;
    case INBOX_MOVE:
        room_move_run(l, it->u.move);
        break;
    case INBOX_PRIVATE:
    case INBOX_KICK:
        session_on_person_item(it->u.person.p, it->u.person.m, it->kind == INBOX_KICK);
        break;
    }
}

/* libuv merges wake-ups, so every call drains the whole inbox. */
static void on_wake(uv_async_t *h)
{
    struct loop *l = h->data;
    pthread_mutex_lock(&l->inbox_lock);
    struct inbox_item *items = l->inbox;
    size_t n = l->inbox_len;
    size_t cap = l->inbox_cap;
    l->inbox = l->spare;
    l->inbox_cap = l->spare_cap;
    l->inbox_len = 0;
    pthread_mutex_unlock(&l->inbox_lock);

    for (size_t i = 0; i < n; i++) {
        run_item(l, &items[i]);
    }
    l->spare = items;
    l->spare_cap = cap;
}

/* ---------------------------------------------------------------- life cycle */

int loop_init(struct loop *l, unsigned index, const struct server_options *opts)
{
    *l = (struct loop){.index = index, .opts = opts};
    buf_init(&l->scratch);
    int r = uv_loop_init(&l->uv);
    if (r < 0) {
        return r;
    }
    l->uv.data = l;
    pthread_mutex_init(&l->inbox_lock, NULL);
    uv_async_init(&l->uv, &l->wake, on_wake);
    l->wake.data = l;
    uv_prepare_init(&l->uv, &l->flush);
    l->flush.data = l;
    uv_prepare_start(&l->flush, on_flush);
    uv_timer_init(&l->uv, &l->sweep);
    l->sweep.data = l;
    /* The flush handle alone must not keep the loop running once everything else is gone. */
    uv_unref((uv_handle_t *)&l->flush);
    return 0;
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    uv_run(&l->uv, UV_RUN_DEFAULT); /* returns once stopped and every client is closed */
    assert(l->stopping && l->timed.len == 0);
    uv_close((uv_handle_t *)&l->flush, NULL);
    uv_close((uv_handle_t *)&l->sweep, NULL);
    uv_run(&l->uv, UV_RUN_NOWAIT); /* their close callbacks; wake outlives the thread */
    return NULL;
}

int loop_start(struct loop *l)
{
    return -pthread_create(&l->thread, NULL, loop_main, l);
}

/* Releases what an inbox entry holds without running it. */
static void drop_item(struct inbox_item *it)
{
    switch (it->kind) {
    case INBOX_DELIVER:
    case INBOX_STOP:
        if (it->u.m) {
            msg_unref(it->u.m);
        }
        break;
    case INBOX_ADOPT:
        close(it->u.adopt.fd);
        admission_release(it->u.adopt.ticket);
        break;
    case INBOX_MOVE:
        room_move_drop(it->u.move); /* may free a client that closed meanwhile */
        break;
    case INBOX_PRIVATE:
    case INBOX_KICK:
        person_unref(it->u.person.p);
        if (it->u.person.m) {
            msg_unref(it->u.person.m);
        }
        break;
    }
}

void loop_join(struct loop *l)
{
    pthread_join(l->thread, NULL);
}

void loop_release(struct loop *l)
{
    /* Every loop thread has returned, so nobody can ring the wake handle any more. Items
     * posted after this loop stopped were never run; release what they hold. */
    uv_close((uv_handle_t *)&l->wake, NULL);
    uv_run(&l->uv, UV_RUN_NOWAIT);
    release_all(l); /* held by writes cancelled when the clients closed */
    for (size_t i = 0; i < l->inbox_len; i++) {
        drop_item(&l->inbox[i]);
    }
    int r = uv_loop_close(&l->uv);
    if (r < 0) {
        log_error("boucle %u : des ressources n'ont pas été libérées (%s)", l->index,
                  uv_err_name(r));
    }
    pthread_mutex_destroy(&l->inbox_lock);
    free(l->inbox);
    free(l->spare);
    client_set_release(&l->pending);
    client_set_release(&l->timed);
    assert(l->n_parked == 0); /* every client closed, and client_close() drops its input */
    free(l->parked);
    free(l->releases);
    buf_release(&l->scratch);
}
