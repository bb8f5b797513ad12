/* owners.c - the owned rooms and their lists; see owners.h.
 *
 * An array of rooms sorted by key, found by binary search: rooms are founded rarely and
 * looked up on /join and /who, and a few thousand fit in a few pages. A room's lists are
 * small arrays searched in order, bounded by --max-room-list. Every change is made under
 * owners_lock and the room's whole state is queued to the store before the lock is
 * released, so the store receives the changes in the order they were made.
 */
#include "owners.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "common/xalloc.h"
#include "store.h"

struct ban {
    char *key, *name, *host; /* owned */
};

/* A list of owned strings: operators' accounts, or invited pseudos' keys. */
struct keys {
    char **items;
    size_t n, cap;
};

struct owned {
    char *key, *name, *founder, *topic; /* owned */
    bool invite_only;
    int64_t created;
    struct keys operators; /* the founder is not among them */
    struct keys invited;   /* not kept across restarts */
    struct ban *bans;      /* owned array */
    size_t n_bans, bans_cap;
};

/* Guards everything below but the limits and the store, set before the loops start. */
static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;
static struct owned **rooms; /* owned array of owned rooms, sorted by key */
static size_t n_rooms, rooms_cap;
static struct owners_limits limits;
static struct store *store;

/* ---------------------------------------------------------------- keys */

static ssize_t keys_find(const struct keys *k, const char *key)
{
    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(k->items[i], key) == 0) {
            return (ssize_t)i;
        }
    }
    return -1;
}

static void keys_add(struct keys *k, const char *key)
{
    if (k->n == k->cap) {
        k->items = xgrow(k->items, &k->cap, k->n + 1, sizeof(*k->items), 4);
    }
    k->items[k->n++] = xstrdup(key);
}

static void keys_remove(struct keys *k, size_t i)
{
    free(k->items[i]);
    k->items[i] = k->items[--k->n];
}

static void keys_release(struct keys *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->items[i]);
    }
    free(k->items);
    *k = (struct keys){0};
}

/* ---------------------------------------------------------------- rooms */

/* Under the lock: where key's room is, or would go, in rooms. */
static size_t position(const char *key, bool *found)
{
    size_t lo = 0, hi = n_rooms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(rooms[mid]->key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

/* Under the lock: key's room, or NULL. */
static struct owned *find(const char *key)
{
    bool found;
    size_t at = position(key, &found);
    return found ? rooms[at] : NULL;
}

static struct owned *insert(const char *key, const char *name, const char *founder, int64_t created)
{
    bool found;
    size_t at = position(key, &found);
    if (found) {
        return NULL;
    }
    if (n_rooms == rooms_cap) {
        rooms = xgrow(rooms, &rooms_cap, n_rooms + 1, sizeof(*rooms), 16);
    }
    memmove(&rooms[at + 1], &rooms[at], (n_rooms - at) * sizeof(*rooms));
    struct owned *o = xcalloc(1, sizeof(*o));
    o->key = xstrdup(key);
    o->name = xstrdup(name);
    o->founder = xstrdup(founder);
    o->topic = xstrdup("");
    o->created = created;
    rooms[at] = o;
    n_rooms++;
    return o;
}

static void add_ban(struct owned *o, const char *key, const char *name, const char *host)
{
    if (o->n_bans == o->bans_cap) {
        o->bans = xgrow(o->bans, &o->bans_cap, o->n_bans + 1, sizeof(*o->bans), 4);
    }
    o->bans[o->n_bans++] = (struct ban){xstrdup(key), xstrdup(name), xstrdup(host)};
}

/* The ban of the pseudo key: of its account (by_address false) or of the address it came
 * from (true); -1 if none. A pseudo nobody registered may be banned by address, and the
 * account registered later under it, apart. */
static ssize_t find_ban(const struct owned *o, const char *key, bool by_address)
{
    for (size_t i = 0; i < o->n_bans; i++) {
        if (strcmp(o->bans[i].key, key) == 0 && (o->bans[i].host[0] != '\0') == by_address) {
            return (ssize_t)i;
        }
    }
    return -1;
}

static void remove_ban(struct owned *o, size_t i)
{
    free(o->bans[i].key);
    free(o->bans[i].name);
    free(o->bans[i].host);
    o->bans[i] = o->bans[--o->n_bans];
}

static void free_owned(struct owned *o)
{
    free(o->key);
    free(o->name);
    free(o->founder);
    free(o->topic);
    keys_release(&o->operators);
    keys_release(&o->invited);
    while (o->n_bans > 0) {
        remove_ban(o, o->n_bans - 1);
    }
    free(o->bans);
    free(o);
}

/* Under the lock: queues o's whole state to the store. */
static void save(const struct owned *o)
{
    if (!store) {
        return;
    }
    struct store_ban *bans = xcalloc(o->n_bans + 1, sizeof(*bans));
    for (size_t i = 0; i < o->n_bans; i++) {
        bans[i] = (struct store_ban){o->bans[i].key, o->bans[i].name, o->bans[i].host};
    }
    struct store_room r = {.key = o->key,
                           .name = o->name,
                           .founder = o->founder,
                           .topic = o->topic,
                           .invite_only = o->invite_only,
                           .created = o->created,
                           .operators = (const char *const *)o->operators.items,
                           .n_operators = o->operators.n,
                           .bans = bans,
                           .n_bans = o->n_bans};
    store_put_room(store, &r);
    free(bans);
}

/* ---------------------------------------------------------------- start and stop */

static void loaded(const struct store_room *r, void *ctx)
{
    (void)ctx;
    struct owned *o = insert(r->key, r->name, r->founder, r->created);
    if (!o) {
        return; /* a key twice: the table's primary key forbids it */
    }
    free(o->topic);
    o->topic = xstrdup(r->topic);
    o->invite_only = r->invite_only;
    for (size_t i = 0; i < r->n_operators; i++) {
        keys_add(&o->operators, r->operators[i]);
    }
    for (size_t i = 0; i < r->n_bans; i++) {
        add_ban(o, r->bans[i].key, r->bans[i].name, r->bans[i].host);
    }
}

long owners_init(struct store *s, const struct owners_limits *l, const char *default_key,
                 const char *default_name)
{
    store = s;
    limits = *l;
    if (s && store_load_rooms(s, loaded, NULL) < 0) {
        return -1;
    }
    if (!find(default_key)) {
        save(insert(default_key, default_name, OWNERS_SERVER, (int64_t)time(NULL)));
    }
    return (long)n_rooms;
}

void owners_shutdown(void)
{
    for (size_t i = 0; i < n_rooms; i++) {
        free_owned(rooms[i]);
    }
    free(rooms);
    rooms = NULL;
    n_rooms = rooms_cap = 0;
    store = NULL;
}

void owners_each(void (*fn)(const char *name, void *ctx), void *ctx)
{
    for (size_t i = 0; i < n_rooms; i++) {
        fn(rooms[i]->name, ctx);
    }
}

/* ---------------------------------------------------------------- who */

bool owners_is_owned(const char *room)
{
    pthread_mutex_lock(&owners_lock);
    bool owned = find(room) != NULL;
    pthread_mutex_unlock(&owners_lock);
    return owned;
}

int owners_found(const char *room, const char *name, const char *founder)
{
    pthread_mutex_lock(&owners_lock);
    int r = 0;
    unsigned founded = 0;
    for (size_t i = 0; i < n_rooms && founder[0]; i++) {
        founded += strcmp(rooms[i]->founder, founder) == 0;
    }
    if (find(room)) {
        r = -EEXIST;
    } else if (founder[0] && founded >= limits.max_founded) {
        r = -EDQUOT;
    } else {
        save(insert(room, name, founder, (int64_t)time(NULL)));
    }
    pthread_mutex_unlock(&owners_lock);
    return r;
}

/* Under the lock. */
static enum owners_role role_in(const struct owned *o, const char *account)
{
    if (!o || !account) {
        return OWNERS_NOBODY;
    }
    if (o->founder[0] && strcmp(o->founder, account) == 0) {
        return OWNERS_FOUNDER;
    }
    return keys_find(&o->operators, account) >= 0 ? OWNERS_OPERATOR : OWNERS_NOBODY;
}

enum owners_role owners_role(const char *room, const char *account)
{
    pthread_mutex_lock(&owners_lock);
    enum owners_role r = role_in(find(room), account);
    pthread_mutex_unlock(&owners_lock);
    return r;
}

/* Under the lock: whether a person is banned from o. */
static bool banned(const struct owned *o, const char *account, const char *host)
{
    for (size_t i = 0; i < o->n_bans; i++) {
        const struct ban *b = &o->bans[i];
        if (b->host[0] ? strcmp(b->host, host) == 0 : account && strcmp(b->key, account) == 0) {
            return true;
        }
    }
    return false;
}

bool owners_banned(const char *room, const char *account, const char *host)
{
    pthread_mutex_lock(&owners_lock);
    struct owned *o = find(room);
    bool out = o && role_in(o, account) == OWNERS_NOBODY && banned(o, account, host);
    pthread_mutex_unlock(&owners_lock);
    return out;
}

enum owners_entry owners_enter(const char *room, const char *pseudo, const char *account,
                               const char *host)
{
    pthread_mutex_lock(&owners_lock);
    enum owners_entry verdict = OWNERS_ENTER;
    struct owned *o = find(room);
    if (o && role_in(o, account) == OWNERS_NOBODY) {
        ssize_t invited = keys_find(&o->invited, pseudo);
        if (banned(o, account, host)) {
            verdict = OWNERS_BANNED;
        } else if (o->invite_only && invited < 0) {
            verdict = OWNERS_INVITE_ONLY;
        } else if (o->invite_only) {
            keys_remove(&o->invited, (size_t)invited);
        }
    }
    pthread_mutex_unlock(&owners_lock);
    return verdict;
}

/* ---------------------------------------------------------------- changes */

int owners_set_topic(const char *room, const char *text, size_t len)
{
    if (len > limits.max_topic) {
        return -E2BIG;
    }
    pthread_mutex_lock(&owners_lock);
    int r = -ENOENT;
    struct owned *o = find(room);
    if (o) {
        free(o->topic);
        o->topic = xmalloc(len + 1);
        memcpy(o->topic, text, len);
        o->topic[len] = '\0';
        save(o);
        r = 0;
    }
    pthread_mutex_unlock(&owners_lock);
    return r;
}

size_t owners_max_topic(void)
{
    return limits.max_topic;
}

void owners_topic(const char *room, struct buf *out)
{
    pthread_mutex_lock(&owners_lock);
    struct owned *o = find(room);
    if (o) {
        buf_append_str(out, o->topic);
    }
    pthread_mutex_unlock(&owners_lock);
}

int owners_add_operator(const char *room, const char *account)
{
    pthread_mutex_lock(&owners_lock);
    int r = 0;
    struct owned *o = find(room);
    if (!o) {
        r = -ENOENT;
    } else if (role_in(o, account) != OWNERS_NOBODY) {
        r = -EALREADY;
    } else if (o->operators.n >= limits.max_list) {
        r = -ENOSPC;
    } else {
        keys_add(&o->operators, account);
        ssize_t b = find_ban(o, account, false); /* an operator's account is not banned */
        if (b >= 0) {
            remove_ban(o, (size_t)b);
        }
        save(o);
    }
    pthread_mutex_unlock(&owners_lock);
    return r;
}

int owners_remove_operator(const char *room, const char *account)
{
    pthread_mutex_lock(&owners_lock);
    int r = 0;
    struct owned *o = find(room);
    ssize_t i = o ? keys_find(&o->operators, account) : -1;
    if (!o) {
        r = -ENOENT;
    } else if (role_in(o, account) == OWNERS_FOUNDER) {
        r = -EPERM;
    } else if (i < 0) {
        r = -ESRCH;
    } else {
        keys_remove(&o->operators, (size_t)i);
        save(o);
    }
    pthread_mutex_unlock(&owners_lock);
    return r;
}

/* Under the lock: whether key may be banned from o, as owners_ban() returns. */
static int ban_check(const struct owned *o, const char *key, bool by_address)
{
    if (!o) {
        return -ENOENT;
    }
    if (role_in(o, key) != OWNERS_NOBODY) {
        return -EPERM;
    }
    if (find_ban(o, key, by_address) >= 0) {
        return -EALREADY;
    }
    return o->n_bans >= limits.max_list ? -ENOSPC : 0;
}

int owners_ban(const char *room, const char *key, const char *name, const char *host)
{
    pthread_mutex_lock(&owners_lock);
    struct owned *o = find(room);
    int r = ban_check(o, key, host[0] != '\0');
    if (r == 0) {
        add_ban(o, key, name, host);
        save(o);
    }
    pthread_mutex_unlock(&owners_lock);
    return r;
}

int owners_unban(const char *room, const char *key)
{
    pthread_mutex_lock(&owners_lock);
    int r = -ESRCH;
    struct owned *o = find(room);
    for (int by_address = 0; o && by_address <= 1; by_address++) { /* either kind, or both */
        ssize_t b = find_ban(o, key, by_address);
        if (b >= 0) {
            remove_ban(o, (size_t)b);
            r = 0;
        }
    }
    if (!o) {
        r = -ENOENT;
    } else if (r == 0) {
        save(o);
    }
    pthread_mutex_unlock(&owners_lock);
    return r;
}

size_t owners_bans(const char *room, struct buf *out)
{
    pthread_mutex_lock(&owners_lock);
    struct owned *o = find(room);
    size_t n = o ? o->n_bans : 0;
    for (size_t i = 0; i < n; i++) {
        const struct ban *b = &o->bans[i];
        buf_appendf(out, b->host[0] ? "%s %s\n" : "%s\n", b->name, b->host);
    }
    pthread_mutex_unlock(&owners_lock);
    return n;
}

int owners_invite(const char *room, const char *key)
{
    pthread_mutex_lock(&owners_lock);
    int r = 0;
    struct owned *o = find(room);
    if (!o) {
        r = -ENOENT;
    } else if (!o->invite_only) {
        r = 0; /* an open room needs none: the person is only told */
    } else if (keys_find(&o->invited, key) >= 0) {
        r = -EALREADY;
    } else if (o->invited.n >= limits.max_list) {
        r = -ENOSPC;
    } else {
        keys_add(&o->invited, key);
    }
    pthread_mutex_unlock(&owners_lock);
    return r;
}

int owners_set_invite_only(const char *room, bool on)
{
    pthread_mutex_lock(&owners_lock);
    int r = 0;
    struct owned *o = find(room);
    if (!o) {
        r = -ENOENT;
    } else if (o->invite_only == on) {
        r = -EALREADY;
    } else {
        o->invite_only = on;
        if (!on) {
            keys_release(&o->invited); /* an open room needs none */
        }
        save(o);
    }
    pthread_mutex_unlock(&owners_lock);
    return r;
}

bool owners_invite_only(const char *room)
{
    pthread_mutex_lock(&owners_lock);
    struct owned *o = find(room);
    bool on = o && o->invite_only;
    pthread_mutex_unlock(&owners_lock);
    return on;
}

void owners_forget_account(const char *account)
{
    if (!account[0]) {
        return; /* the server's rooms are no account's */
    }
    pthread_mutex_lock(&owners_lock);
    for (size_t i = 0; i < n_rooms;) {
        struct owned *o = rooms[i];
        if (strcmp(o->founder, account) == 0) {
            if (store) {
                store_delete_room(store, o->key);
            }
            free_owned(o);
            memmove(&rooms[i], &rooms[i + 1], (n_rooms - i - 1) * sizeof(*rooms));
            n_rooms--;
            continue;
        }
        ssize_t op = keys_find(&o->operators, account);
        ssize_t ban = find_ban(o, account, false);
        if (op >= 0) {
            keys_remove(&o->operators, (size_t)op);
        }
        if (ban >= 0) {
            remove_ban(o, (size_t)ban); /* the account's: an address's stays */
        }
        if (op >= 0 || ban >= 0) {
            save(o);
        }
        i++;
    }
    pthread_mutex_unlock(&owners_lock);
}

/* ---------------------------------------------------------------- the other servers' changes */

void owners_followed(const struct store_room *r, struct store_change *c)
{
    if (strlen(r->topic) > limits.max_topic || r->n_operators > limits.max_list ||
        r->n_bans > limits.max_list) {
        return; /* what this server's own options would refuse */
    }
    pthread_mutex_lock(&owners_lock);
    if (store_change_take(c)) {
        bool found;
        size_t at = position(r->key, &found);
        struct keys invited = {0};
        if (found) {
            struct owned *old = rooms[at];
            invited = old->invited; /* this server's own: kept */
            old->invited = (struct keys){0};
            free_owned(old);
            memmove(&rooms[at], &rooms[at + 1], (n_rooms - at - 1) * sizeof(*rooms));
            n_rooms--;
        }
        loaded(r, NULL);
        struct owned *o = find(r->key); /* the key was just taken out: loaded() put it */
        if (r->invite_only) {
            o->invited = invited;
        } else {
            keys_release(&invited); /* as owners_set_invite_only() would */
        }
    }
    pthread_mutex_unlock(&owners_lock);
}

void owners_followed_gone(const char *room, struct store_change *c)
{
    pthread_mutex_lock(&owners_lock);
    if (store_change_take(c)) {
        bool found;
        size_t at = position(room, &found);
        if (found) {
            free_owned(rooms[at]);
            memmove(&rooms[at], &rooms[at + 1], (n_rooms - at - 1) * sizeof(*rooms));
            n_rooms--;
        }
    }
    pthread_mutex_unlock(&owners_lock);
}
