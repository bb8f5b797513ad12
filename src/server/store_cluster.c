/* store_cluster.c - accounts and owned rooms shared through the engine; see store_cluster.h.
 *
 * Three threads of its own. The writer puts this server's changes into the buckets, one at
 * a time and in the order they were made, each waiting for the engine; while the link is
 * down it waits for it, and a put left unanswered is tried again after a growing pause.
 * Two followers, one per bucket, watch them and hand the other servers' changes up to the
 * layer above (store.h, struct store_follower).
 *
 * Who wins, when two servers change one key at once: the bucket's last value, everywhere.
 * A server applies its own change at once, in memory, then puts it; a change of another's
 * reaches it later through the watch. For each key it changed, this file remembers how
 * many of its puts are still on their way and the revision of the last one kept. Another
 * server's value that comes while a put is on its way is set aside: the put's answer says
 * whether it was older (dropped) or newer (applied then, by the follower: a redo). With
 * none on its way, another's value is taken if its revision is above this server's last
 * put. store_change_take() gives that answer under the lock of the table above, so that no
 * change of this server's comes between the answer and the change.
 *
 * A value is text, one field a line, first a version line, so that servers of two versions
 * can share the buckets; one they cannot read is skipped with a warning:
 *   causerie 1 / A / key / name / hash / created                     an account
 *   causerie 1 / R / key / name / founder / topic / 0|1 / created / n / n operators /
 *                n / n times (key / name / host)                     an owned room
 *   causerie 1 / - / key                                             forgotten
 * A forgotten key keeps its tombstone, so that no server brings it back at start from a
 * database that still has it. Everything read is checked as a client's input would be:
 * the buckets are written by every node that holds the engine's credentials.
 */
#include "store_cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "common/xalloc.h"
#include "password.h"

#define VERSION_LINE "causerie 1"
/* How long the follower waits on one bucket before it looks at the other, and whether the
 * server stops: what a change may wait before it is applied, at worst. */
#define FOLLOW_WAIT_MS 100
/* How long reading a bucket at start may wait for one value before the server gives up. */
#define LOAD_WAIT_MS 10000
/* The writer's pause after the engine did not answer: doubled each time, up to the most. */
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 4000
/* The most operators or bans a value may list: far above --max-room-list's reach, and a
 * bound on what a hostile value can make the server allocate. */
#define MAX_LISTED 10000

static const char *const table_names[N_CLUSTER_TABLES] = {"comptes", "salons"};

/* A change of this server's, waiting for the writer. */
struct write {
    struct write *next;
    enum cluster_table table;
    bool create;  /* only if the bucket never held the key */
    bool counted; /* in its key's struct mine; an import at start is not */
    char *key;    /* owned */
    struct buf value;
};

/* A key this server changed and the bucket has not yet shown back: its puts on their way,
 * the revision of its last one kept, and the newest value of another server's refused
 * meanwhile, which the follower applies after all (redo) if it turns out to be newer. */
struct mine {
    enum cluster_table table;
    char *key; /* owned */
    unsigned queued;
    uint64_t revision;
    uint64_t refused_revision;
    struct buf refused;
    bool redo;
};

struct cluster_store {
    struct store base;
    struct store *local;
    const struct store_follower *follower_handlers;

    pthread_mutex_t lock; /* the queue, mine, stop_writer */
    pthread_cond_t wake;  /* the writer's: a write queued, or the stop (CLOCK_MONOTONIC) */
    struct write *head, **tail;
    struct mine *mine; /* owned array */
    size_t n_mine, mine_cap, n_redo;
    bool stop_writer;
    uint64_t drain_until; /* when the writer gives up at the stop */
    size_t unshared;      /* writes the stop left behind */

    pthread_t writer, followers[N_CLUSTER_TABLES];
    bool writer_started, followers_started, shared;
    atomic_bool stop_following;
    struct cluster_watch *watch[N_CLUSTER_TABLES];
    uint64_t seen[N_CLUSTER_TABLES]; /* the highest revision given, per bucket */
};

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void pause_ms(unsigned ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

/* Under the lock: waits on wake for ms at most (a write queued, or the stop, ends it). */
static void wait_ms(struct cluster_store *s, unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->wake, &s->lock, &t);
}

/* ---------------------------------------------------------------- values */

static void encode_account(const struct store_account *a, struct buf *out)
{
    buf_appendf(out, VERSION_LINE "\nA\n%s\n%s\n%s\n%" PRId64 "\n", a->key, a->name, a->hash,
                a->created);
}

static void encode_room(const struct store_room *r, struct buf *out)
{
    buf_appendf(out, VERSION_LINE "\nR\n%s\n%s\n%s\n%s\n%d\n%" PRId64 "\n%zu\n", r->key, r->name,
                r->founder, r->topic, r->invite_only ? 1 : 0, r->created, r->n_operators);
    for (size_t i = 0; i < r->n_operators; i++) {
        buf_appendf(out, "%s\n", r->operators[i]);
    }
    buf_appendf(out, "%zu\n", r->n_bans);
    for (size_t i = 0; i < r->n_bans; i++) {
        buf_appendf(out, "%s\n%s\n%s\n", r->bans[i].key, r->bans[i].name, r->bans[i].host);
    }
}

static void encode_gone(const char *key, struct buf *out)
{
    buf_appendf(out, VERSION_LINE "\n-\n%s\n", key);
}

/* A value cut into its fields, in a copy of its own. */
struct fields {
    char *copy;
    char **at;
    size_t n, next;
};

/* Cuts value into lines; false if it does not end with one, or a field is not clean text. */
static bool fields_cut(struct fields *f, const char *value, size_t len)
{
    *f = (struct fields){0};
    if (len == 0 || value[len - 1] != '\n') {
        return false;
    }
    f->copy = xmalloc(len);
    memcpy(f->copy, value, len);
    size_t cap = 0;
    for (size_t start = 0, i = 0; i < len; i++) {
        if (f->copy[i] != '\n') {
            continue;
        }
        f->copy[i] = '\0';
        if (!sanitize_is_clean(f->copy + start, i - start)) {
            return false;
        }
        if (f->n == cap) {
            f->at = xgrow(f->at, &cap, f->n + 1, sizeof(*f->at), 16);
        }
        f->at[f->n++] = f->copy + start;
        start = i + 1;
    }
    return true;
}

static void fields_release(struct fields *f)
{
    free(f->copy);
    free(f->at);
}

/* The next field, or NULL if there is none left. */
static const char *field(struct fields *f)
{
    return f->next < f->n ? f->at[f->next++] : NULL;
}

static bool field_number(struct fields *f, int64_t min, int64_t max, int64_t *out)
{
    const char *s = field(f);
    if (!s || !*s) {
        return false;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* Whether name is a pseudo whose folded form is key. */
static bool names_key(const char *name, const char *key)
{
    size_t len = strlen(name);
    if (pseudo_check(name, len) != PSEUDO_OK) {
        return false;
    }
    struct buf folded = BUF_INIT;
    pseudo_fold(name, len, &folded);
    bool same = strcmp(folded.data, key) == 0;
    buf_release(&folded);
    return same;
}

/* A value read: what kind, and the account or the room it holds (pointing into fields). */
struct value {
    char kind; /* 'A', 'R', or '-' */
    struct fields fields;
    struct store_account account;
    struct store_room room;
    const char **operators; /* owned array */
    struct store_ban *bans; /* owned array */
};

static void value_release(struct value *v)
{
    fields_release(&v->fields);
    free(v->operators);
    free(v->bans);
}

/* Whether key is a pseudo already folded: an account's key. */
static bool is_key(const char *key)
{
    return names_key(key, key);
}

static bool parse_account(struct value *v, const char *key)
{
    struct fields *f = &v->fields;
    struct store_account *a = &v->account;
    a->key = field(f);
    a->name = field(f);
    a->hash = field(f);
    return a->hash && strcmp(a->key, key) == 0 && names_key(a->name, key) && a->hash[0] &&
           strlen(a->hash) < PASSWORD_HASH_SIZE && field_number(f, 0, INT64_MAX, &a->created);
}

static bool parse_room(struct value *v, const char *key)
{
    struct fields *f = &v->fields;
    struct store_room *r = &v->room;
    int64_t invite, n;
    r->key = field(f);
    r->name = field(f);
    r->founder = field(f);
    r->topic = field(f);
    if (!r->topic || strcmp(r->key, key) != 0 || !names_key(r->name, key) ||
        (r->founder[0] && !is_key(r->founder)) || !field_number(f, 0, 1, &invite) ||
        !field_number(f, 0, INT64_MAX, &r->created) || !field_number(f, 0, MAX_LISTED, &n) ||
        (size_t)n > f->n - f->next) {
        return false;
    }
    r->invite_only = invite == 1;
    r->n_operators = (size_t)n;
    v->operators = xcalloc(r->n_operators + 1, sizeof(*v->operators));
    for (size_t i = 0; i < r->n_operators; i++) {
        v->operators[i] = field(f);
        if (!is_key(v->operators[i])) {
            return false;
        }
    }
    r->operators = v->operators;
    if (!field_number(f, 0, MAX_LISTED, &n) || (size_t)n * 3 > f->n - f->next) {
        return false;
    }
    r->n_bans = (size_t)n;
    v->bans = xcalloc(r->n_bans + 1, sizeof(*v->bans));
    for (size_t i = 0; i < r->n_bans; i++) {
        v->bans[i].key = field(f);
        v->bans[i].name = field(f);
        v->bans[i].host = field(f);
        if (!is_key(v->bans[i].key) || !names_key(v->bans[i].name, v->bans[i].key)) {
            return false;
        }
    }
    r->bans = v->bans;
    return true;
}

/* Reads value, found under key in table's bucket; false (logged) if it cannot be used. */
static bool parse(enum cluster_table table, const char *key, const struct buf *value,
                  struct value *v)
{
    *v = (struct value){0};
    bool ok = fields_cut(&v->fields, value->data, value->len);
    const char *version = ok ? field(&v->fields) : NULL;
    const char *kind = ok ? field(&v->fields) : NULL;
    if (!kind || strcmp(version, VERSION_LINE) != 0) {
        log_warn("grappe : seau des %s : une valeur %s est ignorée", table_names[table],
                 kind ? "d'une version inconnue" : "illisible");
        return false;
    }
    v->kind = kind[0] && !kind[1] ? kind[0] : '?';
    if (v->kind == '-') {
        const char *k = field(&v->fields);
        ok = k && strcmp(k, key) == 0;
    } else if (v->kind == 'A' && table == CLUSTER_ACCOUNTS) {
        ok = parse_account(v, key);
    } else if (v->kind == 'R' && table == CLUSTER_ROOMS) {
        ok = parse_room(v, key);
    } else {
        ok = false;
    }
    if (!ok || v->fields.next != v->fields.n) {
        log_warn("grappe : seau des %s : une valeur invalide est ignorée", table_names[table]);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- this server's changes */

/* Under the lock: the entry of key in table, or NULL. */
static struct mine *mine_find(struct cluster_store *s, enum cluster_table table, const char *key,
                              size_t *at)
{
    for (size_t i = 0; i < s->n_mine; i++) {
        if (s->mine[i].table == table && strcmp(s->mine[i].key, key) == 0) {
            if (at) {
                *at = i;
            }
            return &s->mine[i];
        }
    }
    return NULL;
}

static void mine_remove(struct cluster_store *s, size_t i)
{
    if (s->mine[i].redo) {
        s->n_redo--;
    }
    free(s->mine[i].key);
    buf_release(&s->mine[i].refused);
    s->mine[i] = s->mine[--s->n_mine];
}

/* Queues value (taken) for key in table. create: only if the bucket never held key.
 * counted: a change of this server's, which wins over older ones of others'; an import at
 * start is not, and loses to any value the bucket has. */
static void queue_write(struct cluster_store *s, enum cluster_table table, const char *key,
                        struct buf *value, bool create, bool counted)
{
    struct write *w = xmalloc(sizeof(*w));
    *w = (struct write){
        .table = table, .create = create, .counted = counted, .key = xstrdup(key), .value = *value};
    *value = (struct buf)BUF_INIT;
    pthread_mutex_lock(&s->lock);
    if (counted) {
        struct mine *m = mine_find(s, table, key, NULL);
        if (!m) {
            if (s->n_mine == s->mine_cap) {
                s->mine = xgrow(s->mine, &s->mine_cap, s->n_mine + 1, sizeof(*s->mine), 8);
            }
            m = &s->mine[s->n_mine++];
            *m = (struct mine){.table = table, .key = xstrdup(key), .refused = BUF_INIT};
        }
        m->queued++;
    }
    *s->tail = w;
    s->tail = &w->next;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

static void write_free(struct write *w)
{
    free(w->key);
    buf_release(&w->value);
    free(w);
}

/* Under the lock: the writer is done with w, whose put gave r (and rev, when 0). */
static void written(struct cluster_store *s, struct write *w, int r, uint64_t rev)
{
    size_t at;
    struct mine *m = w->counted ? mine_find(s, w->table, w->key, &at) : NULL;
    if (m) {
        m->queued--;
        if (r == 0) {
            m->revision = rev;
        }
        if (m->queued == 0 && m->refused_revision > m->revision) {
            m->redo = true; /* another's value, refused meanwhile, is the newer after all */
            s->n_redo++;
        } else if (m->queued == 0 && m->revision > 0 && m->refused_revision == m->revision) {
            mine_remove(s, at); /* its echo came before the engine's answer */
        }
    }
    if (r == -EEXIST && w->counted) {
        log_warn("grappe : seau des %s : « %s » existait déjà dans la grappe, qui le garde",
                 table_names[w->table], w->key);
    } else if (r < 0 && r != -EEXIST) {
        log_error("grappe : seau des %s : le moteur refuse le changement de « %s » (%s) : il "
                  "n'est pas partagé",
                  table_names[w->table], w->key, strerror(-r));
    }
}

static void *writer(void *arg)
{
    struct cluster_store *s = arg;
    unsigned pause = RETRY_MIN_MS;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->head && !s->stop_writer) {
            pthread_cond_wait(&s->wake, &s->lock);
        }
        struct write *w = s->head;
        if (!w || (s->stop_writer && now_ms() >= s->drain_until)) {
            break; /* everything is shared, or the stop waited long enough */
        }
        if (!cluster_linked()) {
            wait_ms(s, RETRY_MIN_MS); /* nats.c would buffer each try: wait for the link */
            continue;
        }
        pthread_mutex_unlock(&s->lock); /* the head stays: only this thread takes it */
        uint64_t rev = 0;
        int r = cluster_table_put(w->table, w->key, w->value.data, w->value.len, w->create, &rev);
        pthread_mutex_lock(&s->lock);
        if (r == -EIO) {
            wait_ms(s, pause);
            pause = pause * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : pause * 2;
            continue;
        }
        pause = RETRY_MIN_MS;
        s->head = w->next;
        if (!s->head) {
            s->tail = &s->head;
        }
        written(s, w, r, rev);
        write_free(w);
    }
    for (struct write *w = s->head; w; w = w->next) {
        s->unshared++;
        log_error("grappe : seau des %s : le changement de « %s » n'a pu être partagé avant "
                  "l'arrêt",
                  table_names[w->table], w->key);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---------------------------------------------------------------- the others' changes */

/* A change of another server's, as handed up (struct store_change). */
struct change {
    struct store_change base;
    struct cluster_store *s;
    enum cluster_table table;
    const char *key;
    uint64_t revision;
    const struct value *value;
    const struct buf *raw; /* the value as read, kept if refused */
};

static void keep_locally(struct store *local, enum cluster_table table, const struct value *v,
                         const char *key)
{
    if (table == CLUSTER_ACCOUNTS) {
        if (v->kind == 'A') {
            store_put_account(local, &v->account);
        } else {
            store_delete_account(local, key);
        }
    } else if (v->kind == 'R') {
        store_put_room(local, &v->room);
    } else {
        store_delete_room(local, key);
    }
}

static bool take(struct store_change *base)
{
    struct change *c = (struct change *)base;
    struct cluster_store *s = c->s;
    pthread_mutex_lock(&s->lock);
    size_t at;
    struct mine *m = mine_find(s, c->table, c->key, &at);
    bool newer = true;
    if (m && m->queued > 0) {
        /* Ordered before or after this server's put on its way: the answer tells (written()). */
        newer = false;
        if (c->revision > m->refused_revision) {
            m->refused_revision = c->revision;
            buf_reset(&m->refused);
            buf_append(&m->refused, c->raw->data, c->raw->len);
        }
    } else if (m) {
        newer = c->revision > m->revision;
        if (c->revision >= m->revision) {
            mine_remove(s, at); /* the bucket has caught up with this server's last put */
        }
    }
    if (newer) {
        keep_locally(s->local, c->table, c->value, c->key);
    }
    pthread_mutex_unlock(&s->lock);
    return newer;
}

/* Hands one value of table's bucket up to the follower's handlers. */
static void apply(struct cluster_store *s, enum cluster_table table, const char *key,
                  const struct buf *value, uint64_t revision)
{
    struct value v;
    if (parse(table, key, value, &v)) {
        struct change c = {{take}, s, table, key, revision, &v, value};
        const struct store_follower *f = s->follower_handlers;
        if (table == CLUSTER_ACCOUNTS) {
            if (v.kind == 'A') {
                f->account(&v.account, &c.base);
            } else {
                f->account_gone(key, &c.base);
            }
        } else if (v.kind == 'R') {
            f->room(&v.room, &c.base);
        } else {
            f->room_gone(key, &c.base);
        }
    }
    value_release(&v);
}

/* Applies the values of table's bucket that were refused while a put of this server's
 * was on its way, and turned out newer than it (written()). */
static void redo(struct cluster_store *s, enum cluster_table table, struct buf *key,
                 struct buf *value)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        struct mine *m = NULL;
        for (size_t i = 0; s->n_redo > 0 && i < s->n_mine && !m; i++) {
            if (s->mine[i].redo && s->mine[i].table == table) {
                m = &s->mine[i];
            }
        }
        uint64_t rev = 0;
        if (m) {
            m->redo = false;
            s->n_redo--;
            buf_reset(key);
            buf_append_str(key, m->key);
            buf_reset(value);
            buf_append(value, m->refused.data, m->refused.len);
            rev = m->refused_revision;
        }
        pthread_mutex_unlock(&s->lock);
        if (!m) {
            return;
        }
        apply(s, table, key->data, value, rev); /* this thread alone applies table's */
    }
}

/* One thread per bucket, so that a busy one never waits on a quiet one. */
struct follow_arg {
    struct cluster_store *s;
    enum cluster_table table;
};

static void *follower(void *arg)
{
    struct cluster_store *s = ((struct follow_arg *)arg)->s;
    enum cluster_table t = ((struct follow_arg *)arg)->table;
    free(arg);
    struct buf key = BUF_INIT, value = BUF_INIT;
    while (!atomic_load(&s->stop_following)) {
        redo(s, t, &key, &value);
        /* A watch is an ordered consumer, which nats.c makes again by itself after the
         * engine comes back, from where it stopped: it is made here only if it broke, and
         * then starts from each key's latest value, what was seen already skipped. (One is
         * never destroyed while the link is down: nats.c 3.4 may be remaking it then.) */
        if (!s->watch[t] && cluster_linked()) {
            s->watch[t] = cluster_table_watch(t);
        }
        if (!s->watch[t]) {
            pause_ms(FOLLOW_WAIT_MS);
            continue;
        }
        uint64_t rev = 0;
        int r = cluster_watch_next(s->watch[t], FOLLOW_WAIT_MS, &key, &value, &rev);
        if (r == -EIO && cluster_linked()) {
            cluster_watch_close(s->watch[t]);
            s->watch[t] = NULL;
        } else if (r == -EIO) {
            pause_ms(FOLLOW_WAIT_MS);
        } else if (r == 1 && rev > s->seen[t]) {
            s->seen[t] = rev;
            apply(s, t, key.data, &value, rev);
        }
    }
    buf_release(&key);
    buf_release(&value);
    return NULL;
}

/* ---------------------------------------------------------------- loading */

/* The keys a bucket held at start, values and tombstones alike, sorted. */
struct heard {
    char **keys;
    size_t n, cap;
};

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool heard_of(const struct heard *h, const char *key)
{
    return h->n > 0 && bsearch(&key, h->keys, h->n, sizeof(*h->keys), compare_keys) != NULL;
}

static void heard_release(struct heard *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->keys[i]);
    }
    free(h->keys);
}

/* Loading one bucket, and then the local database's accounts or rooms it never held:
 * those are given to the layer above as the bucket's are, and queued to the bucket. */
struct load {
    struct cluster_store *s;
    enum cluster_table table;
    store_account_fn account_fn; /* the layer above's, for CLUSTER_ACCOUNTS */
    store_room_fn room_fn;       /* for CLUSTER_ROOMS */
    void *ctx;
    struct heard heard;
    size_t imported;
};

/* Reads the bucket to its end: gives the layer above each account or room, keeps each
 * value in the local database, and notes every key. Returns 0, or -EIO (logged). */
static int load_bucket(struct load *l)
{
    struct cluster_store *s = l->s;
    enum cluster_table table = l->table;
    s->watch[table] = cluster_table_watch(table);
    if (!s->watch[table]) {
        log_error("grappe : le seau des %s ne peut être lu", table_names[table]);
        return -EIO;
    }
    struct buf key = BUF_INIT, value = BUF_INIT;
    uint64_t rev = 0;
    int r;
    while ((r = cluster_watch_next(s->watch[table], LOAD_WAIT_MS, &key, &value, &rev)) == 1) {
        s->seen[table] = rev > s->seen[table] ? rev : s->seen[table];
        struct heard *h = &l->heard;
        if (h->n == h->cap) {
            h->keys = xgrow(h->keys, &h->cap, h->n + 1, sizeof(*h->keys), 64);
        }
        h->keys[h->n++] = xstrdup(key.data); /* even unreadable: the bucket has it */
        struct value v;
        if (parse(table, key.data, &value, &v)) {
            keep_locally(s->local, table, &v, key.data);
            if (v.kind == 'A') {
                l->account_fn(&v.account, l->ctx);
            } else if (v.kind == 'R') {
                l->room_fn(&v.room, l->ctx);
            }
        }
        value_release(&v);
    }
    buf_release(&key);
    buf_release(&value);
    if (r != 0) {
        log_error("grappe : le seau des %s n'a pu être lu jusqu'au bout", table_names[table]);
        return -EIO;
    }
    if (l->heard.n > 0) {
        qsort(l->heard.keys, l->heard.n, sizeof(*l->heard.keys), compare_keys);
    }
    return 0;
}

static void import_account(const struct store_account *a, void *arg)
{
    struct load *l = arg;
    if (!heard_of(&l->heard, a->key)) {
        l->account_fn(a, l->ctx);
        struct buf value = BUF_INIT;
        encode_account(a, &value);
        queue_write(l->s, CLUSTER_ACCOUNTS, a->key, &value, true, false);
        l->imported++;
    }
}

static void import_room(const struct store_room *r, void *arg)
{
    struct load *l = arg;
    if (!heard_of(&l->heard, r->key)) {
        l->room_fn(r, l->ctx);
        struct buf value = BUF_INIT;
        encode_room(r, &value);
        queue_write(l->s, CLUSTER_ROOMS, r->key, &value, true, false);
        l->imported++;
    }
}

static int load_done(struct load *l, int r)
{
    if (l->imported > 0) {
        log_info("grappe : %zu %s de la base locale ajouté(s) à la grappe", l->imported,
                 l->table == CLUSTER_ACCOUNTS ? "compte(s)" : "salon(s)");
    }
    heard_release(&l->heard);
    return r;
}

static int cluster_load_accounts(struct store *base, store_account_fn fn, void *ctx)
{
    struct load l = {
        .s = (struct cluster_store *)base, .table = CLUSTER_ACCOUNTS, .account_fn = fn, .ctx = ctx};
    int r = load_bucket(&l);
    return load_done(&l, r == 0 ? store_load_accounts(l.s->local, import_account, &l) : r);
}

static int cluster_load_rooms(struct store *base, store_room_fn fn, void *ctx)
{
    struct load l = {
        .s = (struct cluster_store *)base, .table = CLUSTER_ROOMS, .room_fn = fn, .ctx = ctx};
    int r = load_bucket(&l);
    return load_done(&l, r == 0 ? store_load_rooms(l.s->local, import_room, &l) : r);
}

/* ---------------------------------------------------------------- the store's operations */

static void cluster_put_account(struct store *base, const struct store_account *a)
{
    struct cluster_store *s = (struct cluster_store *)base;
    store_put_account(s->local, a);
    if (s->shared) {
        struct buf value = BUF_INIT;
        encode_account(a, &value);
        queue_write(s, CLUSTER_ACCOUNTS, a->key, &value, a->registering, true);
    }
}

/* Queues the tombstone of key in table, if this server still shares its changes. */
static void share_gone(struct cluster_store *s, enum cluster_table table, const char *key)
{
    if (s->shared) {
        struct buf value = BUF_INIT;
        encode_gone(key, &value);
        queue_write(s, table, key, &value, false, true);
    }
}

static void cluster_delete_account(struct store *base, const char *key)
{
    struct cluster_store *s = (struct cluster_store *)base;
    store_delete_account(s->local, key);
    share_gone(s, CLUSTER_ACCOUNTS, key);
}

static void cluster_put_room(struct store *base, const struct store_room *r)
{
    struct cluster_store *s = (struct cluster_store *)base;
    store_put_room(s->local, r);
    if (s->shared) {
        struct buf value = BUF_INIT;
        encode_room(r, &value);
        queue_write(s, CLUSTER_ROOMS, r->key, &value, false, true);
    }
}

static void cluster_delete_room(struct store *base, const char *key)
{
    struct cluster_store *s = (struct cluster_store *)base;
    store_delete_room(s->local, key);
    share_gone(s, CLUSTER_ROOMS, key);
}

static void cluster_follow(struct store *base, const struct store_follower *f)
{
    struct cluster_store *s = (struct cluster_store *)base;
    s->follower_handlers = f;
    for (int t = 0; t < N_CLUSTER_TABLES; t++) {
        struct follow_arg *arg = xmalloc(sizeof(*arg));
        *arg = (struct follow_arg){s, t};
        if (pthread_create(&s->followers[t], NULL, follower, arg) != 0) {
            /* A server that cannot follow the others would drift apart from them silently. */
            log_error("grappe : les changements des autres serveurs ne peuvent être suivis");
            exit(1);
        }
    }
    s->followers_started = true;
}

/* The lines are this server's own: the local database's. */
static uint64_t cluster_last_id(struct store *base)
{
    return store_last_id(((struct cluster_store *)base)->local);
}

static int cluster_load_recent(struct store *base, unsigned max_rooms, unsigned per_room,
                               store_line_fn fn, void *ctx)
{
    return store_load_recent(((struct cluster_store *)base)->local, max_rooms, per_room, fn, ctx);
}

static void cluster_append_line(struct store *base, const struct store_line *line)
{
    store_append_line(((struct cluster_store *)base)->local, line);
}

static int cluster_lines_before(struct store *base, uv_loop_t *loop, const char *room,
                                size_t room_len, uint64_t before, unsigned n, store_lines_cb cb,
                                void *arg)
{
    return store_lines_before(((struct cluster_store *)base)->local, loop, room, room_len, before,
                              n, cb, arg);
}

static int cluster_lines_range(struct store *base, uv_loop_t *loop, const char *room,
                               size_t room_len, const struct store_range *range, store_lines_cb cb,
                               void *arg)
{
    return store_lines_range(((struct cluster_store *)base)->local, loop, room, room_len, range, cb,
                             arg);
}

static int cluster_search(struct store *base, uv_loop_t *loop, const char *room, size_t room_len,
                          const char *words, size_t words_len, unsigned n, store_lines_cb cb,
                          void *arg)
{
    return store_search(((struct cluster_store *)base)->local, loop, room, room_len, words,
                        words_len, n, cb, arg);
}

void store_cluster_stop_sharing(struct store *base)
{
    struct cluster_store *s = (struct cluster_store *)base;
    if (!s->shared) {
        return;
    }
    atomic_store(&s->stop_following, true);
    if (s->followers_started) {
        for (int t = 0; t < N_CLUSTER_TABLES; t++) {
            pthread_join(s->followers[t], NULL);
        }
        s->followers_started = false;
    }
    for (int t = 0; t < N_CLUSTER_TABLES; t++) {
        cluster_watch_close(s->watch[t]);
        s->watch[t] = NULL;
    }
    pthread_mutex_lock(&s->lock);
    s->stop_writer = true;
    s->drain_until = now_ms() + STORE_CLUSTER_DRAIN_MS;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    if (s->writer_started) {
        pthread_join(s->writer, NULL);
        s->writer_started = false;
    }
    if (s->unshared > 0) {
        log_warn("grappe : %zu changement(s) de comptes ou de salons n'ont pu être partagés ; "
                 "ils restent dans la base locale",
                 s->unshared);
    }
    s->shared = false;
}

static void cluster_store_close(struct store *base)
{
    struct cluster_store *s = (struct cluster_store *)base;
    store_cluster_stop_sharing(base);
    while (s->head) {
        struct write *w = s->head;
        s->head = w->next;
        write_free(w);
    }
    while (s->n_mine > 0) {
        mine_remove(s, s->n_mine - 1);
    }
    free(s->mine);
    store_close(s->local);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
}

static const struct store_ops cluster_ops = {
    .last_id = cluster_last_id,
    .load_recent = cluster_load_recent,
    .append_line = cluster_append_line,
    .lines_before = cluster_lines_before,
    .lines_range = cluster_lines_range,
    .search = cluster_search,
    .load_accounts = cluster_load_accounts,
    .put_account = cluster_put_account,
    .delete_account = cluster_delete_account,
    .load_rooms = cluster_load_rooms,
    .put_room = cluster_put_room,
    .delete_room = cluster_delete_room,
    .follow = cluster_follow,
    .close = cluster_store_close,
};

struct store *store_cluster_open(struct store *local)
{
    struct cluster_store *s = xcalloc(1, sizeof(*s));
    s->base.ops = &cluster_ops;
    s->local = local;
    s->tail = &s->head;
    s->shared = true;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&s->writer, NULL, writer, s) == 0) {
        s->writer_started = true;
    } else {
        log_error("grappe : le fil d'écriture des comptes et des salons ne peut démarrer");
        exit(1);
    }
    return &s->base;
}
