/* broadcast.c - the total order and the fan-out to loops; see broadcast.h.
 *
 * Everything here is short under the order lock: a counter, one append per loop inbox,
 * for a kept line a ring slot and a copy into the history file's queue. Whatever may take
 * longer (freeing the line that falls out of a room's history, ringing the loops) waits
 * until the lock is released.
 */
#include "broadcast.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "common/xalloc.h"
#include "history_file.h"
#include "loop.h"
#include "msg.h"
#include "registry.h"
#include "room.h"

/* The order lock. Guards next_seq, the order in which entries are appended to the loops'
 * inboxes (holding it across all the appends is what makes every loop see one order), and
 * every room's history. */
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_seq = 1;

static struct loop *loops; /* borrowed; set before the loop threads start */
static unsigned n_loops;
static struct history_file *file; /* borrowed; NULL without --history-file */

void broadcast_init(struct loop *l, unsigned n, struct history_file *f)
{
    loops = l;
    n_loops = n;
    file = f;
}

void broadcast_shutdown(void)
{
    loops = NULL;
    n_loops = 0;
    file = NULL;
}

/* A line that goes into its room's history: a chat message or an action. */
static bool kept(const struct msg *m)
{
    return m->len > 0 && (m->data[0] == '>' || m->data[0] == '&');
}

/* Under the order lock: m joins its room's history, and the history file's queue. Returns
 * what fell out of the ring, to be dropped once the lock is released. */
static struct msg *keep(struct msg *m, struct room *r, int64_t now)
{
    if (file) {
        /* The publisher is in the room, so the room's name cannot change under us. */
        struct history_record rec = {now, r->name, strlen(r->name), m->data, m->len - 1};
        history_file_append(file, &rec); /* a full queue counts and logs the drop itself */
    }
    return history_push(&r->history, m, now);
}

void broadcast_publish(struct msg *m, struct room *to)
{
    bool wake[MAX_THREADS];
    m->room = to;
    bool keeping = to && kept(m) && to->history.cap > 0;
    int64_t now = keeping ? (int64_t)time(NULL) : 0;
    if (n_loops > 1) {
        msg_ref_many(m, n_loops - 1); /* one per inbox entry; the caller's is the last */
    }
    pthread_mutex_lock(&order_lock);
    m->seq = next_seq++;
    struct msg *evicted = keeping ? keep(m, to, now) : NULL;
    for (unsigned i = 0; i < n_loops; i++) {
        wake[i] = loop_post(&loops[i], (struct inbox_item){.kind = INBOX_DELIVER, .u.m = m});
    }
    pthread_mutex_unlock(&order_lock);

    if (evicted) {
        msg_unref(evicted);
    }
    for (unsigned i = 0; i < n_loops; i++) {
        if (wake[i]) {
            loop_wake(&loops[i]);
        }
    }
}

void broadcast_move(struct room_move *mv)
{
    struct loop *l = client_loop(mv->c);
    /* Posted under the lock: after every message already posted, before any later one. */
    pthread_mutex_lock(&order_lock);
    /* Allocated here, its size known only under the lock: a move is rare next to a
     * message, and most rooms' history is short or empty. */
    size_t n = history_len(&mv->to->history);
    mv->hist = n > 0 ? xcalloc(n, sizeof(*mv->hist)) : NULL;
    mv->n = history_copy(&mv->to->history, mv->hist);
    bool wake = loop_post(l, (struct inbox_item){.kind = INBOX_MOVE, .u.move = mv});
    pthread_mutex_unlock(&order_lock);
    if (wake) {
        loop_wake(l);
    }
}

void broadcast_to_person(struct person *p, struct msg *m, int kick)
{
    struct loop *l = &loops[p->loop];
    struct inbox_item item = {.kind = kick ? INBOX_KICK : INBOX_PRIVATE,
                              .u.person = {.p = p, .m = m}};
    if (loop_post(l, item)) {
        loop_wake(l);
    }
}

size_t broadcast_history_len(struct room *r)
{
    pthread_mutex_lock(&order_lock);
    size_t n = history_len(&r->history);
    pthread_mutex_unlock(&order_lock);
    return n;
}

void broadcast_forget(struct room *r)
{
    pthread_mutex_lock(&order_lock);
    history_clear(&r->history);
    pthread_mutex_unlock(&order_lock);
}

void broadcast_restore(struct room *r, struct msg *m, int64_t time)
{
    pthread_mutex_lock(&order_lock);
    struct msg *evicted = history_push(&r->history, m, time);
    pthread_mutex_unlock(&order_lock);
    if (evicted) {
        msg_unref(evicted);
    }
    msg_unref(m); /* the history holds its own */
}
