/* broadcast.c - the order and the fan-out to loops; see broadcast.h.
 *
 * Everything here is short under the order lock: a counter, one append per loop inbox,
 * for a kept event a ring slot and a copy into the history file's queue, for a move a copy
 * of the room's history. Whatever may take longer (dropping the event that falls out of a
 * ring, ringing the loops) waits until the lock is released. The fan-out runs on each loop
 * without any lock: the members it walks are that loop's own.
 */
#include "broadcast.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "event.h"
#include "history.h"
#include "loop.h"
#include "options.h"
#include "store.h"
#include "wire.h"

/* A room as the order knows it: its history, and its members on each loop. */
struct feed {
    struct history history; /* the order lock */
    struct set members[];   /* members[i]: of struct member, on loop i; loop i's */
};

/* A move on its way to its member's loop. */
struct move {
    struct member *m; /* borrowed: held (client_hold()) until run or dropped */
    uint16_t to;
    void *note; /* owned, through free_note */
    void (*free_note)(void *note);
    size_t n;            /* events in hist */
    struct event **hist; /* owned, refs held: the room's history at the move */
    uint64_t seq;        /* the move's place in the order: every event before it is below */
    uint64_t mark;       /* with a cluster: its number, which its mark in the stream carries */
    struct move *next;   /* in the list of moves waiting for their mark; marks_lock */
};

/* With a cluster, a move gets its place in the stream too, as a mark (EVENT_MARK) this
 * server publishes and runs the move when it comes back, so that a newcomer on this server
 * receives exactly what follows its move in the stream. Guards marked and next_mark. */
static pthread_mutex_t marks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct move *marked; /* moves whose mark is on its way, newest first */
static uint64_t next_mark = 1;

/* The order lock. Guards next_seq, the order in which entries are appended to the loops'
 * inboxes (holding it across all the appends is what makes every loop see one order), and
 * every feed's history. */
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_seq = 1;

/* Set by broadcast_init() and broadcast_start(), then only read until shutdown. */
static struct feed **feeds; /* owned: n_feeds feeds */
static unsigned n_feeds;
static unsigned n_loops;
static struct loop *loops;  /* borrowed */
static struct store *store; /* borrowed; NULL: lines are kept in memory only */
static const struct broadcast_handlers *handlers;
/* Set by broadcast_use_cluster(): the order is the engine's, and max_text bounds what a
 * node may send. */
static bool clustered;
static size_t max_text;

static uint32_t *member_index(void *m)
{
    return &((struct member *)m)->index;
}

void member_init(struct member *m)
{
    m->index = SET_NO_INDEX;
    m->room = EVENT_NO_ROOM;
    m->rendering = 0;
    m->gone = 0;
    m->sees_own_topic = 0;
    m->sees_own_lines = 0;
}

static void place_move(struct move *mv, uint64_t seq);
static struct move *take_marked(uint64_t mark);

/* ---------------------------------------------------------------- fan-out */

/* The renderings one loop queues for one event, and how many queues took each. */
struct fan {
    struct msg *m[EVENT_RENDERINGS]; /* borrowed from the event; NULL until needed */
    unsigned n[EVENT_RENDERINGS];
};

/* Whether m, e's origin, asked to be sent e all the same. Read only for the origin. */
static bool sees_own(const struct member *m, const struct event *e)
{
    return (m->sees_own_topic && e->kind == EVENT_TOPIC) ||
           (m->sees_own_lines && (e->kind == EVENT_CHAT || e->kind == EVENT_ACTION));
}

/* Queues e, in the rendering each reads, for every member of set but e's origin (unless it
 * asked for its own echo, sees_own()). No
 * reference is taken here: see deliver(). */
static void fan_out(const struct set *set, struct event *e, struct fan *f)
{
    for (uint32_t i = 0; i < set->len; i++) {
        struct member *m = set->items[i];
        if (m->conn.id == e->origin && !sees_own(m, e)) {
            continue;
        }
        unsigned r = m->rendering;
        if (!f->m[r]) {
            f->m[r] = event_rendering(e, r);
        }
        if (client_queue(&m->conn, f->m[r])) {
            f->n[r]++;
        }
    }
}

/* An event reached loop l: queued for its members there, then all their references taken
 * in one atomic addition per rendering, and the entry's dropped. An event to N members on
 * T loops costs one allocation, T entries and T atomic additions. */
static void deliver(struct loop *l, void *arg)
{
    struct event *e = arg;
    struct fan f = {0};
    if (e->room == EVENT_ALL_ROOMS) {
        for (unsigned i = 0; i < n_feeds; i++) {
            fan_out(&feeds[i]->members[l->index], e, &f);
        }
    } else if (e->room < n_feeds) {
        fan_out(&feeds[e->room]->members[l->index], e, &f);
    }
    for (unsigned r = 0; r < EVENT_RENDERINGS; r++) {
        if (f.n[r]) {
            msg_ref_many(f.m[r], f.n[r]);
        }
    }
    event_unref(e);
}

static void drop_event(void *arg)
{
    event_unref(arg);
}

static const struct loop_task deliver_task = {deliver, drop_event};

/* ---------------------------------------------------------------- publishing */

/* Kept in a room's history: chat lines and actions. */
static bool kept(const struct event *e)
{
    return e->kind == EVENT_CHAT || e->kind == EVENT_ACTION;
}

/* Under the order lock, once e has its place: e joins the store's queue (in the order's
 * order, so ids rise in the database as they do here) and its room's history. Returns what
 * fell out of the ring, to be dropped once the lock is released. */
static void keep_line(struct event *e)
{
    {
        struct store_line line = store_line_of(e);
        store_append_line(store, &line); /* a full queue counts and logs the drop itself */
    }
}

static struct event *keep(struct event *e)
{
    if (store) {
        keep_line(e);
    }
    return history_push(&feeds[e->room]->history, e);
}

/* An event of the stream this server could not read still used its place. */
static void order_skip(uint64_t seq)
{
    pthread_mutex_lock(&order_lock);
    if (seq >= next_seq) {
        next_seq = seq + 1;
    }
    pthread_mutex_unlock(&order_lock);
}

/* Gives e the place seq in the order (the next one if seq is 0) and, unless it is only
 * history (replay), posts it to every loop. Takes over the caller's reference. */
static void order(struct event *e, uint64_t seq, bool replay)
{
    bool wake[MAX_THREADS] = {false};
    bool keeping = e->room < n_feeds && kept(e);
    assert(!keeping || e->where_len > 0);
    unsigned posts = replay ? 0 : n_loops;
    if (posts > 1) {
        event_ref_many(e, posts - 1); /* one per inbox entry; the caller's is the last */
    }
    pthread_mutex_lock(&order_lock);
    if (seq == 0) {
        seq = next_seq++;
    } else if (seq >= next_seq) {
        next_seq = seq + 1;
    }
    e->seq = seq;
    struct event *evicted = NULL;
    if (keeping) {
        evicted = keep(e);
    } else if (store && kept(e) && e->where_len > 0) {
        keep_line(e); /* a room this server has no slot for: the database alone keeps it */
    }
    for (unsigned i = 0; i < posts; i++) {
        wake[i] = loop_post(&loops[i], &deliver_task, e);
    }
    pthread_mutex_unlock(&order_lock);

    if (evicted) {
        event_unref(evicted);
    }
    if (posts == 0) {
        event_unref(e);
    }
    for (unsigned i = 0; i < posts; i++) {
        if (wake[i]) {
            loop_wake(&loops[i]);
        }
    }
}

/* Whether e is told beyond this server: all but what only its own clients hear. */
static bool crosses(const struct event *e)
{
    return e->kind < EVENT_SHUTDOWN;
}

/* Publishes e to the engine, for `to` (a pseudo) or for its room; see broadcast.h. */
static int publish_to_cluster(struct event *e, const char *to)
{
    /* The engine gives it its place, and it comes back to this server, as to every other,
     * through the stream (broadcast_from_cluster()): the copy here is not delivered. */
    struct buf wire = BUF_INIT;
    wire_encode(e, cluster_node(), to, &wire);
    int r = cluster_publish(wire.data, wire.len);
    buf_release(&wire);
    if (r < 0) {
        log_warn("grappe : file d'attente pleine, un événement est refusé");
    }
    event_unref(e);
    return r;
}

int broadcast_publish(struct event *e)
{
    if (!clustered || !crosses(e)) {
        order(e, 0, false);
        return 0;
    }
    return publish_to_cluster(e, NULL);
}

int broadcast_publish_to(struct event *e, const char *to)
{
    assert(clustered);
    return publish_to_cluster(e, to);
}

/* ---------------------------------------------------------------- the cluster */

void broadcast_use_cluster(size_t max_text_bytes)
{
    clustered = true;
    max_text = max_text_bytes;
}

/* Places an event that crossed the engine in its room (under the presence layer's lock,
 * so that the slot cannot change hands before the event has its place). */
struct arrival {
    struct event *e;
    uint64_t seq;
    bool replay;
};

static void place(int slot, void *ctx)
{
    struct arrival *a = ctx;
    a->e->room = slot < 0 ? EVENT_NO_ROOM : (uint16_t)slot;
    order(a->e, a->seq, a->replay);
}

/* Whether an event of this kind is told to one room (the one it names). */
static bool room_bound(const struct event *e)
{
    return e->kind != EVENT_RENAME && e->kind != EVENT_NOTICE && e->kind != EVENT_PRIVATE &&
           e->kind != EVENT_INVITE;
}

void broadcast_from_cluster(const void *data, size_t len, uint64_t seq, bool replay)
{
    static atomic_bool warned;
    struct wire_event w;
    int r = wire_decode(data, len, max_text, &w);
    if (r < 0) {
        if (!atomic_exchange(&warned, true)) {
            log_warn("grappe : événement %s ignoré (n° %llu)",
                     r == -EPROTO ? "d'une version inconnue" : "mal formé",
                     (unsigned long long)seq);
        }
        order_skip(seq);
        return;
    }
    struct event *e = w.e;
    bool ours = strcmp(w.node, cluster_node()) == 0;
    if (e->kind == EVENT_MARK) {
        struct move *mv = ours ? take_marked(e->origin) : NULL;
        event_unref(e);
        if (mv) {
            place_move(mv, seq);
        } else {
            order_skip(seq); /* another server's move: its place is all it takes here */
        }
        return;
    }
    if (!ours) {
        e->origin = 0; /* connection ids are per server: only ours name one of ours */
    }
    struct arrival a = {e, seq, replay};
    if (room_bound(e) && e->where_len > 0 && !w.to[0]) { /* addressed: one person's, below */
        handlers->locate(e->where, e->where_len, place, &a);
    } else if (e->kind == EVENT_RENAME || e->kind == EVENT_NOTICE) {
        e->room = EVENT_ALL_ROOMS;
        order(e, seq, replay);
    } else {
        order_skip(seq); /* one person's: not kept, and never replayed */
        if (!replay && w.to[0]) {
            handlers->to_person(e, w.to);
        } else {
            event_unref(e);
        }
    }
}

/* ---------------------------------------------------------------- moves */

static void leave_members(struct member *m, unsigned loop)
{
    if (m->room != EVENT_NO_ROOM) {
        set_remove(&feeds[m->room]->members[loop], &m->index, member_index);
        m->room = EVENT_NO_ROOM;
    }
}

static void drop_move(void *arg)
{
    struct move *mv = arg;
    if (mv->free_note) {
        mv->free_note(mv->note);
    }
    history_drop(mv->hist, mv->n);
    free(mv->hist);
    struct member *m = mv->m;
    free(mv);
    client_unhold(&m->conn); /* may free m, if it closed meanwhile */
}

static void run_move(struct loop *l, void *arg)
{
    struct move *mv = arg;
    struct member *m = mv->m;
    if (!m->gone && client_is_open(&m->conn)) {
        leave_members(m, l->index);
        set_add(&feeds[mv->to]->members[l->index], m, &m->index);
        m->room = mv->to;
        handlers->moved(m, mv->note, mv->hist, mv->n, mv->seq);
    }
    drop_move(mv);
}

static const struct loop_task move_task = {run_move, drop_move};

bool broadcast_can_move(const struct member *m)
{
    return client_can_hold(&m->conn);
}

/* Gives mv its place (seq, or the next one if 0), copies the room's history as it stands
 * there, and posts it to its member's loop. */
static void place_move(struct move *mv, uint64_t seq)
{
    struct loop *l = client_loop(&mv->m->conn);
    /* Posted under the lock: after every event already posted, before any later one. The
     * history is copied here, its size known only under the lock: a move is rare next to
     * a message, and most rooms' history is short or empty. */
    pthread_mutex_lock(&order_lock);
    if (seq >= next_seq) {
        next_seq = seq + 1;
    }
    size_t n = history_len(&feeds[mv->to]->history);
    mv->hist = n > 0 ? xcalloc(n, sizeof(*mv->hist)) : NULL;
    mv->n = history_copy(&feeds[mv->to]->history, mv->hist);
    mv->seq = seq ? seq : next_seq;
    bool wake = loop_post(l, &move_task, mv);
    pthread_mutex_unlock(&order_lock);
    if (wake) {
        loop_wake(l);
    }
}

/* Publishes mv's mark; false if the engine's backlog is full (the move is then made at
 * once, here: late news beats none). */
static bool publish_mark(struct move *mv)
{
    pthread_mutex_lock(&marks_lock);
    mv->mark = next_mark++;
    mv->next = marked;
    marked = mv;
    pthread_mutex_unlock(&marks_lock);
    struct event_fields f = {.kind = EVENT_MARK, .room = EVENT_NO_ROOM, .origin = mv->mark};
    if (broadcast_publish(event_new(&f)) == 0) {
        return true;
    }
    pthread_mutex_lock(&marks_lock);
    for (struct move **p = &marked; *p; p = &(*p)->next) {
        if (*p == mv) {
            *p = mv->next;
            break;
        }
    }
    pthread_mutex_unlock(&marks_lock);
    return false;
}

/* The move whose mark is number mark, taken off the list; NULL if none (dropped since, or
 * the mark of an earlier life of this server). */
static struct move *take_marked(uint64_t mark)
{
    pthread_mutex_lock(&marks_lock);
    struct move *mv = NULL;
    for (struct move **p = &marked; *p; p = &(*p)->next) {
        if ((*p)->mark == mark) {
            mv = *p;
            *p = mv->next;
            break;
        }
    }
    pthread_mutex_unlock(&marks_lock);
    return mv;
}

void broadcast_move(struct member *m, uint16_t to, void *note, void (*free_note)(void *note))
{
    assert(to < n_feeds);
    struct move *mv = xmalloc(sizeof(*mv));
    *mv = (struct move){.m = m, .to = to, .note = note, .free_note = free_note};
    client_hold(&m->conn);
    if (!clustered || !publish_mark(mv)) {
        place_move(mv, 0);
    }
}

void broadcast_stop_loop(struct loop *l)
{
    struct move *mine = NULL;
    pthread_mutex_lock(&marks_lock);
    for (struct move **p = &marked; *p;) {
        struct move *mv = *p;
        if (client_loop(&mv->m->conn) == l) {
            *p = mv->next;
            mv->next = mine;
            mine = mv;
        } else {
            p = &mv->next;
        }
    }
    pthread_mutex_unlock(&marks_lock);
    while (mine) {
        struct move *mv = mine;
        mine = mv->next;
        drop_move(mv);
    }
}

void broadcast_depart(struct member *m)
{
    m->gone = 1;
    leave_members(m, client_loop(&m->conn)->index);
}

/* ---------------------------------------------------------------- history */

size_t broadcast_history_len(uint16_t room)
{
    pthread_mutex_lock(&order_lock);
    size_t n = history_len(&feeds[room]->history);
    pthread_mutex_unlock(&order_lock);
    return n;
}

void broadcast_forget(uint16_t room)
{
    pthread_mutex_lock(&order_lock);
    history_clear(&feeds[room]->history);
    pthread_mutex_unlock(&order_lock);
}

void broadcast_restore(uint16_t room, struct event *e, uint64_t seq)
{
    pthread_mutex_lock(&order_lock);
    e->seq = seq;
    if (seq >= next_seq) {
        next_seq = seq + 1;
    }
    struct event *evicted = history_push(&feeds[room]->history, e);
    pthread_mutex_unlock(&order_lock);
    if (evicted) {
        event_unref(evicted);
    }
    event_unref(e); /* the history holds its own */
}

/* ---------------------------------------------------------------- life cycle */

void broadcast_init(unsigned loops_count, unsigned rooms, unsigned history_size,
                    const struct broadcast_handlers *h)
{
    assert(rooms >= 1 && rooms < EVENT_NO_ROOM && loops_count >= 1);
    n_loops = loops_count;
    n_feeds = rooms;
    handlers = h;
    feeds = xcalloc(n_feeds, sizeof(*feeds));
    for (unsigned i = 0; i < n_feeds; i++) {
        feeds[i] = xcalloc(1, sizeof(*feeds[i]) + n_loops * sizeof(feeds[i]->members[0]));
        history_init(&feeds[i]->history, history_size);
    }
}

void broadcast_start(struct loop *l, struct store *s)
{
    loops = l;
    store = s;
    if (s && store_last_id(s) >= next_seq) {
        next_seq = store_last_id(s) + 1; /* the order goes on above what was kept */
    }
}

void broadcast_shutdown(void)
{
    for (unsigned i = 0; i < n_feeds; i++) {
        history_clear(&feeds[i]->history);
        for (unsigned l = 0; l < n_loops; l++) {
            assert(feeds[i]->members[l].len == 0); /* every member departed */
            set_release(&feeds[i]->members[l]);
        }
        free(feeds[i]);
    }
    free(feeds);
    feeds = NULL;
    n_feeds = 0;
    assert(!marked); /* every loop dropped its own (broadcast_stop_loop()) */
    loops = NULL;
    store = NULL;
    next_seq = 1;
    clustered = false;
}
