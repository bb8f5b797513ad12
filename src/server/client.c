/* client.c - one connection, from accept to free; see client.h.
 *
 * Loop thread only, but for client_setup() and client_teardown(), which the main thread
 * calls while no loop runs. Each loop has a state of its own here: its clients, those to
 * flush this turn, the references its writes are done with, the input parked behind
 * holds, and the read buffer all of its clients share, so an idle client holds no read
 * buffer. Writes are batched: everything queued in a turn goes out in one write from the
 * before-sleep hook, and the next batch waits for the transport's callback.
 */
#include "client.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/buf.h"
#include "common/fr.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "msg.h"

/* The input a client sent after an entry that holds it was posted: kept by its loop, not
 * in every client, since it is rare and short-lived. */
struct parked_input {
    struct client *c; /* borrowed */
    struct buf in;    /* owned: the bytes, unread by the framer */
};

/* What this file keeps per loop; that loop's thread only. */
struct client_loop {
    struct set all;              /* of struct client: every client from open to closed */
    struct set pending;          /* of struct client: output to write this turn */
    struct msg_batch releases;   /* references this turn's writes are done with */
    struct parked_input *parked; /* owned array */
    size_t n_parked, parked_cap;
    size_t cut; /* clients closed at their linger deadline while stopping */
    char read_buf[CLIENT_READ_BUF_SIZE];
};

struct write_req {
    struct transport_write w;
    struct client *c; /* borrowed: stays allocated until this request is done */
    size_t bytes;     /* bytes in this batch, counted in c->backlog */
    unsigned n;
    struct msg *msgs[]; /* refs held until the write is done or cancelled */
};

/* Set by client_setup() before the loops start, then only read. */
static const struct client_handlers *handlers;
static struct client_loop *loops;
static unsigned n_loops;
static size_t max_line, max_backlog;

static atomic_uint_fast64_t next_client_id = 1;

static struct client_loop *state_of(const struct loop *l)
{
    assert(l->index < n_loops);
    return &loops[l->index];
}

static struct client_loop *state(const struct client *c)
{
    return state_of(client_loop(c));
}

static struct client *of_transport(struct transport *t)
{
    return (struct client *)t; /* the transport is the client's first member */
}

static uint32_t *pending_index(void *c)
{
    return &((struct client *)c)->pending_index;
}

static uint32_t *all_index(void *c)
{
    return &((struct client *)c)->all_index;
}

static void mark_pending(struct client *c)
{
    if (c->pending_index == SET_NO_INDEX) {
        set_add(&state(c)->pending, c, &c->pending_index);
    }
}

static void unmark_pending(struct client *c)
{
    if (c->pending_index != SET_NO_INDEX) {
        set_remove(&state(c)->pending, &c->pending_index, pending_index);
    }
}

/* ---------------------------------------------------------------- output queue */

/* The i-th queued message, 0 being the oldest. */
static struct msg *queue_at(const struct client *c, uint32_t i)
{
    assert(i < c->q_len);
    if (!c->q_ring) {
        return c->queue.one;
    }
    const struct client_ring *r = c->queue.ring;
    return r->slot[(r->head + i) & (r->cap - 1)];
}

/* Moves the queue into a ring of twice the room (8 slots at first). */
static void grow_ring(struct client *c)
{
    size_t cap = grow_capacity(c->q_ring ? c->queue.ring->cap : 0, (size_t)c->q_len + 1, 8);
    struct client_ring *r = xmalloc(sizeof(*r) + cap * sizeof(r->slot[0]));
    for (uint32_t i = 0; i < c->q_len; i++) {
        r->slot[i] = queue_at(c, i);
    }
    r->head = 0;
    r->cap = (uint32_t)cap;
    if (c->q_ring) {
        free(c->queue.ring);
    }
    c->queue.ring = r;
    c->q_ring = true;
}

static void queue_push(struct client *c, struct msg *m)
{
    if (c->q_len == 0 && !c->q_ring) {
        c->queue.one = m;
        c->q_len = 1;
        return;
    }
    if (!c->q_ring || c->q_len == c->queue.ring->cap) {
        grow_ring(c);
    }
    struct client_ring *r = c->queue.ring;
    r->slot[(r->head + c->q_len) & (r->cap - 1)] = m;
    c->q_len++;
}

static struct msg *queue_pop(struct client *c)
{
    struct msg *m = queue_at(c, 0);
    if (c->q_ring) {
        c->queue.ring->head = (c->queue.ring->head + 1) & (c->queue.ring->cap - 1);
    }
    if (--c->q_len == 0) {
        /* Freed, not kept: most clients are idle most of the time (docs/PERFORMANCE.md). */
        if (c->q_ring) {
            free(c->queue.ring);
        }
        c->queue.ring = NULL;
        c->q_ring = false;
    }
    return m;
}

static void queue_drop_all(struct client *c)
{
    while (c->q_len > 0) {
        struct msg *m = queue_pop(c);
        c->backlog -= m->len;
        msg_batch_add(&state(c)->releases, m);
    }
}

/* True when the transport refused part of our last write: the peer is not reading. Bytes
 * queued while its socket still takes everything are the server's own burst, written at
 * the next flush, and no reason to drop anyone. */
static bool socket_full(const struct client *c)
{
    return c->writing && transport_pending(&c->t) > 0;
}

bool client_is_open(const struct client *c)
{
    return !c->closing && !c->finishing;
}

bool client_is_closing(const struct client *c)
{
    return c->closing;
}

bool client_queue(struct client *c, struct msg *m)
{
    if (c->closing || c->shutting || c->overflow) {
        return false;
    }
    if (c->backlog + m->len > max_backlog && socket_full(c)) {
        /* Not closed here: we may be in the middle of a fan-out over a room's members.
         * The flush closes it, at a point where that is safe. */
        c->overflow = true;
        mark_pending(c);
        return false;
    }
    queue_push(c, m);
    c->backlog += m->len;
    mark_pending(c);
    return true;
}

bool client_send(struct client *c, struct msg *m)
{
    if (!client_queue(c, m)) {
        return false;
    }
    msg_ref(m);
    return true;
}

/* ---------------------------------------------------------------- writing */

static void shut_down(struct client *c);

static void on_write_done(struct transport_write *tw, int status)
{
    struct write_req *w = (struct write_req *)tw;
    struct client *c = w->c;
    for (unsigned i = 0; i < w->n; i++) {
        msg_batch_add(&state(c)->releases, w->msgs[i]);
    }
    c->backlog -= w->bytes;
    c->writing = false;
    free(w);

    if (status == UV_ECANCELED || c->closing) {
        /* The transport is being closed (on_closed() follows), or was shut down before it
         * could send this (the shutdown's end closes). */
        return;
    }
    if (status < 0) {
        client_close(c, fr_strerror(status));
    } else if (c->q_len > 0 || c->overflow) {
        mark_pending(c);
    } else if (c->finishing) {
        shut_down(c); /* it has read everything: its goodbyes were said already */
    }
}

/* A client that stopped reading is told why it is dropped if that costs no wait and cuts
 * into no message: only with no write in flight, which is seldom the case here, since a
 * client is dropped when part of its last write is still waiting for room. */
static void drop_slow_client(struct client *c)
{
    static const char notice[] = "! Vous ne lisez pas les messages assez vite : déconnexion.\n";
    uv_buf_t b = uv_buf_init((char *)notice, sizeof(notice) - 1);
    if (!c->writing) {
        (void)transport_try_write(&c->t, &b, 1);
    }
    char reason[96];
    snprintf(reason, sizeof(reason), "trop de retard : plus de %zu octets en attente", max_backlog);
    client_close(c, reason);
}

/* Hands the n oldest queued messages, whose iovec is bufs (its first entry already
 * advanced past what was written at once), to a transport write, which finishes them when
 * the socket has room. The request holds their references until it is done. */
static void write_rest(struct client *c, const uv_buf_t *bufs, unsigned n)
{
    struct write_req *w = xmalloc(sizeof(*w) + n * sizeof(w->msgs[0]));
    w->w.done = on_write_done;
    w->c = c;
    w->n = n;
    w->bytes = 0;
    for (unsigned i = 0; i < n; i++) {
        w->msgs[i] = queue_pop(c);
        w->bytes += w->msgs[i]->len;
    }
    int r = transport_write(&c->t, &w->w, bufs, n);
    if (r < 0) {
        for (unsigned i = 0; i < n; i++) {
            msg_batch_add(&state(c)->releases, w->msgs[i]);
        }
        c->backlog -= w->bytes;
        free(w);
        client_close(c, fr_strerror(r));
        return;
    }
    c->writing = true;
}

/* Offers up to a batch of queued messages to the socket at once. Most of the time it takes
 * them all: then no request is allocated, no callback runs, and the references go back in
 * this very turn. Returns the number left in the batch (0: all written), after handing
 * them, if any, to write_rest(); negative if c was closed. */
static int write_batch(struct client *c)
{
    uv_buf_t bufs[WRITE_BATCH_MAX];
    unsigned n = c->q_len < WRITE_BATCH_MAX ? c->q_len : WRITE_BATCH_MAX;
    if (n == 0) {
        return 0;
    }
    for (unsigned i = 0; i < n; i++) {
        struct msg *m = queue_at(c, i);
        bufs[i] = uv_buf_init(m->data, m->len);
    }
    int r = transport_try_write(&c->t, bufs, n);
    if (r < 0 && r != UV_EAGAIN) {
        client_close(c, fr_strerror(r));
        return -1;
    }
    size_t written = r > 0 ? (size_t)r : 0;
    unsigned done = 0;
    while (done < n && written >= bufs[done].len) {
        struct msg *m = queue_pop(c);
        written -= m->len;
        c->backlog -= m->len;
        msg_batch_add(&state(c)->releases, m);
        done++;
    }
    if (done < n) {
        bufs[done].base += written;
        bufs[done].len -= written;
        write_rest(c, bufs + done, n - done);
    }
    return (int)(n - done);
}

static void on_alloc(struct transport *t, uv_buf_t *b);
static void on_read(struct transport *t, ssize_t nread, const char *data);

/* Writes out what is queued for c: called once per turn for each client marked pending. */
static void flush(struct client *c)
{
    if (c->closing) {
        return;
    }
    if (c->overflow) {
        drop_slow_client(c);
        return;
    }
    if (c->read_paused && !c->finishing && c->holds == 0 && !c->eof_held) {
        /* What it sent last turn has been fanned out and is being written: read more. */
        c->read_paused = false;
        transport_read_start(&c->t);
    }
    /* Past a batch (IOV_MAX messages), the next one goes at once while the socket takes
     * everything: a client that keeps up gets all of its turn's output. While a write is
     * in flight, on_write_done() marks c pending again if more is queued. */
    while (!c->writing && c->q_len > 0) {
        if (write_batch(c) < 0) {
            return; /* closed */
        }
    }
    if (c->finishing && c->q_len == 0) {
        shut_down(c); /* everything it was owed is written or in flight */
    }
}

/* Before the loop sleeps: drop what this turn's completed writes held, then one write for
 * each client that got output this turn. */
static void before_sleep(struct loop *l)
{
    struct client_loop *s = state_of(l);
    msg_batch_release(&s->releases);
    /* flush() may close a client, which never adds to nor reorders this set, so walking it
     * by index while clearing it is safe. */
    for (uint32_t i = 0; i < s->pending.len; i++) {
        struct client *c = s->pending.items[i];
        c->pending_index = SET_NO_INDEX;
        flush(c);
    }
    s->pending.len = 0;
}

/* ---------------------------------------------------------------- reading */

static void on_alloc(struct transport *t, uv_buf_t *b)
{
    struct client_loop *s = state(of_transport(t));
    *b = uv_buf_init(s->read_buf, sizeof(s->read_buf));
}

/* The parked input of c, or NULL. A walk: a loop parks for a handful of clients at most,
 * each for the time its own loop takes to run one entry. */
static struct parked_input *find_parked(struct client_loop *s, const struct client *c)
{
    for (size_t i = 0; i < s->n_parked; i++) {
        if (s->parked[i].c == c) {
            return &s->parked[i];
        }
    }
    return NULL;
}

/* Parks len bytes of c's input after what is parked already; returns the bytes parked. */
static size_t park(struct client *c, const char *data, size_t len)
{
    struct client_loop *s = state(c);
    struct parked_input *p = find_parked(s, c);
    if (!p) {
        if (s->n_parked == s->parked_cap) {
            s->parked = xgrow(s->parked, &s->parked_cap, s->n_parked + 1, sizeof(*s->parked), 4);
        }
        p = &s->parked[s->n_parked++];
        p->c = c;
        buf_init(&p->in);
    }
    buf_append(&p->in, data, len);
    return p->in.len;
}

/* Takes c's parked input into out (empty), or returns false if there is none. */
static bool unpark(struct client *c, struct buf *out)
{
    struct client_loop *s = state(c);
    struct parked_input *p = find_parked(s, c);
    if (!p) {
        return false;
    }
    *out = p->in;
    *p = s->parked[--s->n_parked];
    return true;
}

/* Handles the lines of in[0..len) one by one. While c is held, the rest is parked,
 * unread, until the last hold goes (client_unhold()); parked input past one read buffer
 * stops the reading. */
static void handle_input(struct client *c, const char *in, size_t in_len)
{
    while (!c->closing && !c->finishing) {
        if (c->holds > 0 && in_len > 0) {
            if (park(c, in, in_len) >= CLIENT_READ_BUF_SIZE && !c->read_paused) {
                transport_read_stop(&c->t);
                c->read_paused = true; /* the flush reads on once the holds are gone */
            }
            break;
        }
        const char *line;
        size_t len;
        int r = proto_framer_next(&c->framer, &in, &in_len, &line, &len);
        if (r == -EAGAIN) {
            break;
        } else if (r == -EMSGSIZE) {
            handlers->on_overlong(c);
        } else {
            handlers->on_line(c, line, len);
        }
    }
    handlers->on_read_done(c);
}

static void on_read(struct transport *t, ssize_t nread, const char *data)
{
    struct client *c = of_transport(t);
    if (nread == UV_EOF && c->holds > 0) {
        /* The peer said its last lines and closed, but they wait for a hold: handle them
         * first (client_unhold()), then close. Nothing more can be read anyway. */
        transport_read_stop(t);
        c->eof_held = true;
        return;
    }
    if (nread < 0) {
        client_close(c, fr_strerror((int)nread));
        return;
    }
    handle_input(c, data, (size_t)nread);
}

/* A full read: the sender has more. Take no more from it this turn (libuv would read up to
 * 32 times), so one sender can neither hog the loop nor queue more for the others in one
 * turn than one write can carry. The flush resumes it. */
static void on_full(struct transport *t)
{
    struct client *c = of_transport(t);
    if (c->closing || c->finishing || c->read_paused) {
        return; /* not reading anyway, or paused already */
    }
    transport_read_stop(t);
    c->read_paused = true;
    mark_pending(c);
}

/* ---------------------------------------------------------------- holds */

bool client_can_hold(const struct client *c)
{
    return c->holds < CLIENT_HOLDS_MAX;
}

void client_hold(struct client *c)
{
    assert(client_can_hold(c));
    c->holds++;
}

static void client_free(struct client *c)
{
    assert(c->closing && c->closed && c->holds == 0 && !c->writing && c->q_len == 0);
    proto_framer_release(&c->framer);
    handlers->on_free(c);
}

/* The holds are gone: the parked input, if any, is handled now, as if just read. */
static void resume_input(struct client *c)
{
    struct buf parked = BUF_INIT;
    if (unpark(c, &parked)) {
        handle_input(c, parked.data, parked.len);
        buf_release(&parked);
    }
    if (c->read_paused) {
        mark_pending(c); /* the flush starts reading again */
    }
}

void client_unhold(struct client *c)
{
    assert(c->holds > 0);
    if (--c->holds > 0) {
        return;
    }
    if (c->closed) {
        client_free(c);
        return;
    }
    if (!c->closing) {
        resume_input(c);
    }
    if (c->eof_held && !c->closing && !c->finishing && c->holds == 0) {
        client_close(c, fr_strerror(UV_EOF)); /* its last lines are handled: now it goes */
    }
}

/* ---------------------------------------------------------------- life cycle */

static void on_closed(struct transport *t)
{
    struct client *c = of_transport(t);
    set_remove(&state(c)->all, &c->all_index, all_index);
    c->closed = true;
    if (c->holds == 0) {
        client_free(c); /* otherwise the last client_unhold() does */
    }
}

/* The transport has sent its end (or failed to): nothing more to say, close. */
static void on_shutdown(struct transport *t, int status)
{
    (void)status; /* cancelled when the close came first; an error ends it all the same */
    client_close(of_transport(t), NULL);
}

/* Everything owed is written: end our side, then close. */
static void shut_down(struct client *c)
{
    if (c->shutting || c->closing) {
        return;
    }
    c->shutting = true;
    if (transport_shutdown(&c->t) < 0) {
        client_close(c, NULL);
    }
}

static void on_deadline(struct loop *l, struct loop_deadline *d)
{
    struct client *c = (struct client *)((char *)d - offsetof(struct client, deadline));
    if (c->finishing) {
        if (loop_stopping(l)) {
            state_of(l)->cut++; /* closed before it read everything it was sent */
        }
        client_close(c, NULL); /* did not read what was left for it in time */
    } else if (!c->closing) {
        handlers->on_deadline(c);
    }
}

const struct loop_hooks client_loop_hooks = {
    .before_sleep = before_sleep,
    .on_deadline = on_deadline,
};

void client_open(struct client *c, struct loop *l, int fd, transport_open_fn open)
{
    memset(c, 0, sizeof(*c));
    c->id = atomic_fetch_add_explicit(&next_client_id, 1, memory_order_relaxed);
    c->pending_index = SET_NO_INDEX;
    c->all_index = SET_NO_INDEX;
    loop_deadline_init(&c->deadline);
    proto_framer_init(&c->framer, max_line);
    int r = open(&c->t, &l->uv, fd);
    set_add(&state_of(l)->all, c, &c->all_index);
    if (r < 0) {
        log_warn("connexion refusée : %s", fr_strerror(r));
        c->closing = true; /* on_closed() follows, and frees */
        return;
    }
    r = transport_read_start(&c->t);
    if (r < 0) {
        client_close(c, fr_strerror(r));
        return;
    }
    handlers->on_open(c);
}

void client_close(struct client *c, const char *reason)
{
    if (c->closing) {
        return; /* a read error and a failed write may both get here */
    }
    c->closing = true;
    handlers->on_close(c, reason);
    struct buf parked = BUF_INIT;
    if (unpark(c, &parked)) {
        buf_release(&parked); /* never to be read */
    }
    unmark_pending(c);
    loop_clear_deadline(client_loop(c), &c->deadline);
    queue_drop_all(c);
    /* Writes in flight are done with UV_ECANCELED before on_closed() runs. */
    transport_close(&c->t);
}

void client_finish(struct client *c, uint64_t ms)
{
    if (c->closing || c->finishing) {
        return;
    }
    c->finishing = true;
    c->read_paused = false;
    transport_read_stop(&c->t);
    /* The linger bounds the shutdown too, and replaces the layer above's deadline. */
    loop_set_deadline(client_loop(c), &c->deadline, ms);
    if (c->q_len == 0 || transport_holding(&c->t)) {
        /* Nothing queued: the usual case. A write still in flight goes first, the
         * transport's shutdown waits for it. Or the transport holds what was written
         * because nothing can be sent yet (before a TLS handshake, before a WebSocket
         * upgrade): then there is nobody to say the rest to either, and the shutdown
         * cancels it rather than wait the whole linger for a peer that is not there. */
        shut_down(c);
    }
}

void client_set_deadline(struct client *c, uint64_t ms)
{
    if (!c->finishing && !c->closing) {
        loop_set_deadline(client_loop(c), &c->deadline, ms);
    }
}

void client_clear_deadline(struct client *c)
{
    if (!c->finishing) {
        loop_clear_deadline(client_loop(c), &c->deadline);
    }
}

void client_peer_name(const struct client *c, char *out, size_t size)
{
    transport_peer_name(&c->t, out, size);
}

bool client_peer_host(const struct client *c, char *out, size_t size)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->t.tcp, (struct sockaddr *)&ss, &len) < 0) {
        snprintf(out, size, "?");
        return false;
    }
    return addr_host_key((const struct sockaddr *)&ss, out, size);
}

bool client_encrypted(const struct client *c)
{
    return transport_encrypted(&c->t);
}

void client_each(struct loop *l, void (*fn)(struct client *c, void *arg), void *arg)
{
    struct set *all = &state_of(l)->all;
    /* fn may close its client, which leaves the set only in its close callback, later: the
     * set does not change during the walk. */
    for (uint32_t i = 0; i < all->len; i++) {
        struct client *c = all->items[i];
        if (!c->closing) {
            fn(c, arg);
        }
    }
}

size_t client_cut_at_stop(const struct loop *l)
{
    return state_of(l)->cut;
}

/* ---------------------------------------------------------------- set-up */

static const struct transport_handlers transport_side = {
    .alloc = on_alloc,
    .on_read = on_read,
    .on_full = on_full,
    .on_shutdown = on_shutdown,
    .on_closed = on_closed,
};

void client_setup(const struct client_handlers *h, unsigned loops_count, size_t line_max,
                  size_t backlog_max)
{
    handlers = h;
    n_loops = loops_count;
    max_line = line_max;
    max_backlog = backlog_max;
    loops = xcalloc(n_loops, sizeof(*loops));
    transport_set_handlers(&transport_side);
}

void client_teardown(void)
{
    for (unsigned i = 0; i < n_loops; i++) {
        struct client_loop *s = &loops[i];
        assert(s->all.len == 0 && s->n_parked == 0); /* every client closed and freed */
        set_release(&s->all);
        set_release(&s->pending);
        msg_batch_free(&s->releases); /* held by writes cancelled when the clients closed */
        free(s->parked);
    }
    free(loops);
    loops = NULL;
    n_loops = 0;
}
