/* client.c - one TCP connection, from accept to free; see client.h.
 *
 * Loop thread only. Reads land in the loop's shared buffer and are framed at once, so an
 * idle client holds no read buffer. Writes are batched: everything queued in a turn goes
 * out in one uv_write() from the loop's flush, and the next batch waits for its callback.
 */
#include "client.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "common/fr.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "loop.h"
#include "msg.h"
#include "room.h"
#include "session.h"

/* Messages per uv_write(), which is one writev(): Linux's IOV_MAX. A turn can queue
 * hundreds of messages for a client (one 64 KiB read from a sender is ~600 chat lines),
 * and a client that reads keeps up only if one write per turn can carry them all. */
#define WRITE_BATCH_MAX 1024

struct write_req {
    uv_write_t req;
    struct client *c; /* borrowed: stays allocated until this request's callback */
    size_t bytes;     /* bytes in this batch, counted in c->backlog */
    unsigned n;
    struct msg *msgs[]; /* refs held until the write completes or is cancelled */
};

static atomic_uint_fast64_t next_client_id = 1;

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

static void queue_push(struct client *c, struct msg *m)
{
    if (c->q_len == 0 && !c->q_ring) {
        c->queue.one = m;
        c->q_len = 1;
        return;
    }
    if (!c->q_ring || c->q_len == c->queue.ring->cap) {
        uint32_t cap = c->q_ring ? c->queue.ring->cap * 2 : 8;
        struct client_ring *r = xmalloc(sizeof(*r) + cap * sizeof(r->slot[0]));
        for (uint32_t i = 0; i < c->q_len; i++) {
            r->slot[i] = queue_at(c, i);
        }
        r->head = 0;
        r->cap = cap;
        if (c->q_ring) {
            free(c->queue.ring);
        }
        c->queue.ring = r;
        c->q_ring = true;
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
        loop_release_later(client_loop(c), m);
    }
}

/* True when the kernel refused part of our last write: the client is not reading. Bytes
 * queued while its socket still takes everything are the server's own burst, written at
 * the next flush, and no reason to drop anyone. */
static bool socket_full(struct client *c)
{
    return c->writing && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > 0;
}

bool client_queue(struct client *c, struct msg *m)
{
    if (c->closing || c->overflow) {
        return false;
    }
    if (c->backlog + m->len > client_loop(c)->opts->max_backlog && socket_full(c)) {
        /* Not closed here: we may be in the middle of a fan-out over a room's members.
         * The flush closes it, at a point where that is safe. */
        c->overflow = true;
        loop_mark_pending(client_loop(c), c);
        return false;
    }
    queue_push(c, m);
    c->backlog += m->len;
    loop_mark_pending(client_loop(c), c);
    return true;
}

void client_send(struct client *c, struct msg *m)
{
    if (client_queue(c, m)) {
        msg_ref(m);
    }
}

/* ---------------------------------------------------------------- writing */

static void on_write_done(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct client *c = w->c;
    for (unsigned i = 0; i < w->n; i++) {
        loop_release_later(client_loop(c), w->msgs[i]);
    }
    c->backlog -= w->bytes;
    c->writing = false;
    free(w);

    if (status == UV_ECANCELED || c->closing) {
        return; /* the socket is being closed; on_closed() follows */
    }
    if (status < 0) {
        client_close(c, fr_strerror(status));
    } else if (c->q_len > 0 || c->overflow) {
        loop_mark_pending(client_loop(c), c);
    } else if (c->quitting) {
        client_close(c, NULL); /* it has read everything: the leave was announced already */
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
        (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    }
    char reason[96];
    snprintf(reason, sizeof(reason), "trop de retard : plus de %zu octets en attente",
             client_loop(c)->opts->max_backlog);
    client_close(c, reason);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);
static void resume_input(struct client *c);

/* Hands the n oldest queued messages, whose iovec is bufs (its first entry already
 * advanced past what uv_try_write() sent), to uv_write(), which finishes them when the
 * socket has room. The request holds their references until its callback. */
static void write_rest(struct client *c, const uv_buf_t *bufs, unsigned n)
{
    struct write_req *w = xmalloc(sizeof(*w) + n * sizeof(w->msgs[0]));
    w->c = c;
    w->n = n;
    w->bytes = 0;
    for (unsigned i = 0; i < n; i++) {
        w->msgs[i] = queue_pop(c);
        w->bytes += w->msgs[i]->len;
    }
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_write_done);
    if (r < 0) {
        for (unsigned i = 0; i < n; i++) {
            loop_release_later(client_loop(c), w->msgs[i]);
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
        bufs[i] = uv_buf_init(m->data, (unsigned)m->len);
    }
    int r = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
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
        loop_release_later(client_loop(c), m);
        done++;
    }
    if (done < n) {
        bufs[done].base += written;
        bufs[done].len -= written;
        write_rest(c, bufs + done, n - done);
    }
    return (int)(n - done);
}

void client_flush(struct client *c)
{
    if (c->closing) {
        return;
    }
    if (c->overflow) {
        drop_slow_client(c);
        return;
    }
    if (c->read_paused && !c->quitting && c->holds == 0 && !c->eof_held) {
        /* What it sent last turn has been fanned out and is being written: read more. */
        c->read_paused = false;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    if (c->writing) {
        return; /* on_write_done() marks c pending again if more is queued */
    }
    /* Past a batch (IOV_MAX messages), the next one goes at once while the socket takes
     * everything: a client that keeps up gets all of its turn's output. */
    while (c->q_len > 0) {
        if (write_batch(c) != 0) {
            return; /* closed, or the rest waits in a write request */
        }
    }
    if (c->quitting) {
        client_close(c, NULL); /* it has been sent everything it was owed */
    }
}

/* ---------------------------------------------------------------- reading */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    struct client *c = h->data;
    b->base = client_loop(c)->read_buf;
    b->len = sizeof(client_loop(c)->read_buf);
}

/* Handles the lines of in[0..len) one by one. A line that moves c to another room has
 * its effect in the order of messages, later (room.h); the lines after it must not be
 * handled before that, or their answers would overtake the move's, so they are parked
 * with the loop, unread, until the move has run (client_unhold()). Parked input past one
 * read buffer stops the reading. */
static void handle_input(struct client *c, const char *in, size_t in_len)
{
    while (!c->closing && !c->quitting) {
        if (c->holds > 0 && in_len > 0) {
            if (loop_park_input(client_loop(c), c, in, in_len) >= LOOP_READ_BUF_SIZE &&
                !c->read_paused) {
                uv_read_stop((uv_stream_t *)&c->tcp);
                c->read_paused = true; /* the flush reads on once the moves are done */
            }
            break;
        }
        const char *line;
        size_t len;
        int r = proto_framer_next(&c->framer, &in, &in_len, &line, &len);
        if (r == -EAGAIN) {
            break;
        } else if (r == -EMSGSIZE) {
            session_on_overlong(c);
        } else {
            session_on_line(c, line, len);
        }
    }
    session_on_read_done(c);
}

/* The moves are done: the parked input, if any, is handled now, as if just read. */
static void resume_input(struct client *c)
{
    struct buf parked = BUF_INIT;
    if (loop_take_parked(client_loop(c), c, &parked)) {
        handle_input(c, parked.data, parked.len);
        buf_release(&parked);
    }
    if (c->read_paused) {
        loop_mark_pending(client_loop(c), c); /* the flush starts reading again */
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct client *c = s->data;
    if (nread == UV_EOF && c->holds > 0) {
        /* The peer said its last lines and closed, but they wait for a move: handle them
         * first (client_unhold()), then close. Nothing more can be read anyway. */
        uv_read_stop(s);
        c->eof_held = true;
        return;
    }
    if (nread < 0) {
        client_close(c, fr_strerror((int)nread));
        return;
    }
    if ((size_t)nread == sizeof(client_loop(c)->read_buf)) {
        /* A full buffer: the sender has more. Take no more from it this turn (libuv would
         * read up to 32 times), so one sender can neither hog the loop nor queue more for
         * the others in one turn than one write can carry. The flush resumes it. */
        uv_read_stop(s);
        c->read_paused = true;
        loop_mark_pending(client_loop(c), c);
    }
    handle_input(c, b->base, (size_t)nread);
}

/* ---------------------------------------------------------------- life cycle */

static void client_free(struct client *c)
{
    assert(c->closing && c->closed && c->holds == 0 && !c->writing && c->q_len == 0);
    assert(!c->person && c->recv_room == ROOM_NONE); /* session_leave() released them */
    proto_framer_release(&c->framer);
    admission_release(c->admission);
    free(c);
}

static void on_closed(uv_handle_t *h)
{
    struct client *c = h->data;
    c->closed = true;
    if (c->holds == 0) {
        client_free(c); /* otherwise the last client_unhold() does */
    }
}

bool client_can_hold(const struct client *c)
{
    return c->holds < CLIENT_HOLDS_MAX;
}

void client_hold(struct client *c)
{
    assert(client_can_hold(c));
    c->holds++;
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
    if (c->eof_held && !c->closing && !c->quitting && c->holds == 0) {
        client_close(c, fr_strerror(UV_EOF)); /* its last lines are handled: now it goes */
    }
}

bool client_in_chat(const struct client *c)
{
    return c->person && !c->closing && !c->quitting;
}

static uint32_t *member_index_of(struct client *c)
{
    return &c->member_index;
}

void client_enter_room(struct client *c, struct room *r)
{
    assert(c->recv_room == ROOM_NONE);
    client_set_add(room_members(r, client_loop(c)->index), c, &c->member_index);
    c->recv_room = r->slot;
}

void client_leave_room(struct client *c)
{
    if (c->recv_room == ROOM_NONE) {
        return;
    }
    struct client_set *set = room_members(room_at(c->recv_room), client_loop(c)->index);
    client_set_remove(set, &c->member_index, member_index_of);
    c->recv_room = ROOM_NONE;
}

void client_open(struct loop *l, int fd, uint32_t admission)
{
    struct client *c = xcalloc(1, sizeof(*c));
    c->id = atomic_fetch_add_explicit(&next_client_id, 1, memory_order_relaxed);
    c->member_index = CLIENT_NO_INDEX;
    c->pending_index = CLIENT_NO_INDEX;
    c->timed_index = CLIENT_NO_INDEX;
    c->recv_room = ROOM_NONE;
    c->admission = admission;
    c->state = SESSION_HANDSHAKE;
    proto_framer_init(&c->framer, l->opts->max_line);
    uv_tcp_init(&l->uv, &c->tcp);
    c->tcp.data = c;

    int r = uv_tcp_open(&c->tcp, fd);
    if (r < 0) {
        log_warn("connexion refusée : %s", fr_strerror(r));
        close(fd);
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    /* We batch writes ourselves; Nagle would only add latency to each batch. */
    uv_tcp_nodelay(&c->tcp, 1);
    r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (r < 0) {
        client_close(c, fr_strerror(r));
        return;
    }
    session_start(c);
}

void client_close(struct client *c, const char *reason)
{
    if (c->closing) {
        return; /* a read error and a failed write may both get here */
    }
    c->closing = true;
    session_leave(c, reason);
    loop_drop_parked(client_loop(c), c);
    loop_unmark_pending(client_loop(c), c);
    loop_clear_deadline(client_loop(c), c);
    queue_drop_all(c);
    /* Writes in flight complete with UV_ECANCELED before on_closed() runs. */
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void client_close_after_flush(struct client *c, const char *reason)
{
    if (c->closing || c->quitting) {
        return;
    }
    if (!c->writing && c->q_len == 0) {
        client_close(c, reason); /* nothing to wait for: the usual case */
        return;
    }
    session_leave(c, reason);
    c->quitting = true;
    c->read_paused = false;
    uv_read_stop((uv_stream_t *)&c->tcp);
    loop_set_deadline(client_loop(c), c, CLIENT_LINGER_MS);
}

bool client_shutdown(struct client *c, struct msg *m, uint64_t ms)
{
    if (c->closing || c->quitting) {
        return false;
    }
    session_leave(c, NULL); /* nobody is left to tell */
    bool queued = client_queue(c, m);
    if (queued) {
        msg_ref(m);
    }
    c->quitting = true; /* on_write_done() and client_flush() close it once all is written */
    c->read_paused = false;
    uv_read_stop((uv_stream_t *)&c->tcp);
    loop_set_deadline(client_loop(c), c, ms);
    return queued;
}

void client_on_deadline(struct client *c)
{
    if (c->quitting) {
        client_close(c, NULL); /* did not read what was left for it in time */
    } else if (!c->closing) {
        session_on_deadline(c);
    }
}
