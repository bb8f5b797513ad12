/* room.c - the rooms; see room.h for the contract, the locks and why moves are ordered.
 *
 * The table and its rooms are allocated by room_init() and freed by room_shutdown(); in
 * between a slot is reset and reused, never freed. Looking a room up by name is a walk of
 * the slots in use under rooms_lock: --max-rooms is at most MAX_ROOMS_CEILING and /join is
 * rare next to messages. Each room's list of people (for /who and the counts) is an array
 * of persons that know their index in it, so entering and leaving cost O(1) under the
 * lock. The events that tell of a change are made and published under the same hold of
 * the lock as the change, so they come in the order of the changes.
 */
#include "room.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast.h"
#include "client.h"
#include "common/addr.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/xalloc.h"
#include "owners.h"
#include "peers.h"
#include "registry.h"

struct room {
    uint16_t slot; /* its place in the table, and its feed's in broadcast.c; immutable */
    /* rooms_lock. name and key are written only while nobody is in the room, so whoever is
     * in it (a client sending to it) may read them without the lock. */
    bool in_use;
    char name[ROOM_NAME_MAX + 1]; /* as its first visitor typed it, without '#' */
    char key[ROOM_NAME_MAX + 1];  /* folded, to compare */
    struct person **who;          /* owned array of borrowed people: who is in the room */
    size_t count, who_cap;        /* people in who, and room for them */
    uint64_t emptied;             /* when the last person left, on a counter: for reuse */
};

/* Guards every room's in_use, name, key, who, count, who_cap and emptied, every person's
 * room and who_index, and empty_clock. */
static pthread_mutex_t rooms_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t empty_clock; /* counts the times a room was emptied */

/* Set by room_init(), immutable until room_shutdown(). */
static struct room *table; /* owned: n_slots rooms, table[0] the default one */
static unsigned n_slots;
static size_t announce_max;

/* ---------------------------------------------------------------- the table */

/* Under rooms_lock, for a room nobody is in. */
static void set_name(struct room *r, const char *name, size_t len, const char *key)
{
    assert(len <= ROOM_NAME_MAX && strlen(key) <= ROOM_NAME_MAX);
    memcpy(r->name, name, len);
    r->name[len] = '\0';
    strcpy(r->key, key);
    r->in_use = true;
}

void room_init(unsigned max_rooms, size_t max_announced)
{
    assert(max_rooms >= 1 && max_rooms < EVENT_NO_ROOM);
    n_slots = max_rooms;
    announce_max = max_announced;
    table = xcalloc(n_slots, sizeof(*table));
    for (unsigned i = 0; i < n_slots; i++) {
        table[i].slot = (uint16_t)i;
    }
    struct buf key = BUF_INIT;
    pseudo_fold(ROOM_DEFAULT_NAME, strlen(ROOM_DEFAULT_NAME), &key);
    set_name(&table[0], ROOM_DEFAULT_NAME, strlen(ROOM_DEFAULT_NAME), key.data);
    buf_release(&key);
}

void room_shutdown(void)
{
    for (unsigned i = 0; i < n_slots; i++) {
        free(table[i].who);
    }
    free(table);
    table = NULL;
    n_slots = 0;
}

unsigned room_count_max(void)
{
    return n_slots;
}

bool room_announced(size_t people)
{
    return announce_max == 0 || people <= announce_max;
}

/* Under rooms_lock: whether a move is told to r when this server holds `here` of its
 * people (the one moving included). The room's size is the cluster's: the other servers'
 * share, from their heartbeats, is asked only when ours alone is under the limit. Counted
 * per server, every server would announce its first thousand, and a server filling first
 * would queue each of the others' notices for all of its people. */
static bool announced_in(const struct room *r, size_t here)
{
    if (announce_max == 0) {
        return true;
    }
    return room_announced(here) && room_announced(here + peers_count_in_room(r->key));
}

uint16_t room_slot(const struct room *r)
{
    return r->slot;
}

const char *room_name(const struct room *r)
{
    return r->name;
}

const char *room_key(const struct room *r)
{
    return r->key;
}

static struct room *room_default(void)
{
    return &table[0];
}

bool room_is_default(const struct room *r)
{
    return r == room_default();
}

const char *room_default_key(void)
{
    return room_default()->key;
}

/* ---------------------------------------------------------------- names */

/* A room name as typed by a user, '#' optional: its name without '#' in *name and *len,
 * and its folded key appended to key. False if no room can be called that. */
static bool parse_name(const char **name, size_t *len, struct buf *key)
{
    if (*len > 0 && (*name)[0] == '#') {
        (*name)++;
        (*len)--;
    }
    if (pseudo_check(*name, *len) != PSEUDO_OK) {
        return false;
    }
    pseudo_fold(*name, *len, key);
    return key->len <= ROOM_NAME_MAX;
}

/* Under rooms_lock: the room in use whose key is key, or NULL. */
static struct room *find_room(const char *key)
{
    for (unsigned i = 0; i < n_slots; i++) {
        if (table[i].in_use && strcmp(table[i].key, key) == 0) {
            return &table[i];
        }
    }
    return NULL;
}

/* Under rooms_lock: a slot for a new room. A free one if any; else the empty room emptied
 * the longest ago, one nobody owns first, whose history is forgotten (an owned room's
 * lasting state is owners.c's, and stays); NULL if every room has people. The default room
 * is never given up. */
static struct room *free_slot(void)
{
    struct room *oldest = NULL;
    bool oldest_owned = false;
    for (unsigned i = 1; i < n_slots; i++) {
        struct room *r = &table[i];
        if (!r->in_use) {
            return r;
        }
        if (r->count > 0) {
            continue;
        }
        /* An owned room's slot goes last: its state is kept apart, but /rooms lists it. */
        bool owned = owners_is_owned(r->key);
        if (!oldest || (oldest_owned && !owned) ||
            (owned == oldest_owned && r->emptied < oldest->emptied)) {
            oldest = r;
            oldest_owned = owned;
        }
    }
    if (oldest) {
        broadcast_forget(oldest->slot); /* its history, under the order lock */
        log_info("salon #%s oublié pour faire de la place (%u salons au plus)", oldest->name,
                 n_slots);
    }
    return oldest;
}

/* Under rooms_lock: the room for key, created with name if new. NULL: the table is full. */
static struct room *find_or_create(const char *name, size_t len, const char *key)
{
    struct room *r = find_room(key);
    if (r) {
        return r;
    }
    r = free_slot();
    if (r) {
        set_name(r, name, len, key);
    }
    return r;
}

/* ---------------------------------------------------------------- lists of people */

/* Under rooms_lock. */
static void who_add(struct room *r, struct person *p)
{
    if (r->count == r->who_cap) {
        r->who = xgrow(r->who, &r->who_cap, r->count + 1, sizeof(*r->who), 8);
    }
    p->who_index = (uint32_t)r->count;
    r->who[r->count++] = p;
    p->room = r;
}

/* Under rooms_lock. An emptied room without history or owner is given up at once; with
 * either, it is kept for later, until its slot is needed. */
static void who_remove(struct room *r, struct person *p)
{
    assert(p->room == r && p->who_index < r->count && r->who[p->who_index] == p);
    struct person *last = r->who[--r->count];
    r->who[p->who_index] = last;
    last->who_index = p->who_index;
    p->room = NULL;
    if (r->count > 0 || r == room_default()) {
        return;
    }
    r->emptied = ++empty_clock;
    if (r->who_cap > 64) {
        free(r->who); /* a crowd's list is not kept for an empty room */
        r->who = NULL;
        r->who_cap = 0;
    }
    if (broadcast_history_len(r->slot) == 0 && !owners_is_owned(r->key)) {
        r->in_use = false; /* an owned room stays listed, empty */
    }
}

/* Under rooms_lock: r's topic, "" for none, in a new string. */
static char *topic_of(const struct room *r)
{
    struct buf topic = BUF_INIT;
    owners_topic(r->key, &topic);
    return buf_detach(&topic); /* "" when empty */
}

/* Under rooms_lock: appends the pseudos of the first n people of r to names, one space
 * between each, an operator's after its mark. A person whose pseudo is an operator's
 * account is that account's owner, logged in: a registered pseudo is given only with its
 * password. */
static void names_of(const struct room *r, size_t n, struct buf *names)
{
    bool owned = owners_is_owned(r->key);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            buf_append_char(names, ' ');
        }
        if (owned && owners_role(r->key, person_key(r->who[i])) != OWNERS_NOBODY) {
            buf_append_char(names, PROTO_OPERATOR_MARK);
        }
        buf_append_str(names, person_pseudo(r->who[i]));
    }
}

/* Under rooms_lock: r as it stands, naming at most max people (0: all) of this server, its
 * operators marked; in a cluster, the count has the other servers' people too, as their
 * heartbeats last said (their names cost a question: room_view_of(), session_who()). */
static void view(const struct room *r, size_t max, struct room_view *out)
{
    struct buf names = BUF_INIT;
    size_t n = max && r->count > max ? max : r->count;
    names_of(r, n, &names);
    strcpy(out->name, r->name);
    out->count = (uint32_t)r->count + peers_count_in_room(r->key);
    out->here = (uint32_t)r->count;
    strcpy(out->key, r->key);
    out->named = (uint32_t)n;
    out->names_len = names.len;
    out->names = buf_detach(&names);
    out->topic = topic_of(r);
    out->topic_only = false;
    out->sent_out = false;
}

void room_view_release(struct room_view *v)
{
    free(v->names);
    v->names = NULL;
    free(v->topic);
    v->topic = NULL;
}

static void free_view(void *v)
{
    room_view_release(v);
    free(v);
}

/* ---------------------------------------------------------------- events */

/* Under rooms_lock: publishes an event of kind about p in room r. */
static void tell(enum event_kind kind, const struct person *p, const struct room *r,
                 const char *text, size_t text_len)
{
    const char *who = person_pseudo(p);
    struct event_fields f = {.kind = kind,
                             .room = r->slot,
                             .origin = p->member->conn.id,
                             .who = who,
                             .who_len = strlen(who),
                             .where = r->name,
                             .where_len = strlen(r->name),
                             .text = text,
                             .text_len = text_len};
    broadcast_publish(event_new(&f));
}

/* Under rooms_lock: p's person enters `to` (leaving the room it was in, if any), the
 * others are told (the old room with the event `exit`, if given), and the move is stamped
 * and posted to p's loop. */
static void enter_telling(struct person *p, struct room *to, size_t view_names, struct event *exit)
{
    struct room *from = p->room;
    if (from) {
        who_remove(from, p);
        if (exit) {
            broadcast_publish(exit);
        } else if (announced_in(from, from->count + 1)) {
            tell(EVENT_EXIT, p, from, NULL, 0);
        }
    }
    who_add(to, p);
    if (announced_in(to, to->count)) {
        tell(from ? EVENT_ENTER : EVENT_ARRIVE, p, to, NULL, 0);
    }
    struct room_view *v = NULL;
    if (view_names > 0) {
        v = xmalloc(sizeof(*v));
        view(to, view_names, v);
    } else {
        char *topic = topic_of(to); /* if it has one, the topic is all that is shown */
        if (topic[0]) {
            v = xcalloc(1, sizeof(*v));
            strcpy(v->name, to->name);
            v->topic = topic;
            v->topic_only = true;
        } else {
            free(topic);
        }
    }
    if (v) {
        v->sent_out = exit != NULL;
    }
    broadcast_move(p->member, to->slot, v, v ? free_view : NULL);
}

static void enter(struct person *p, struct room *to, size_t view_names)
{
    enter_telling(p, to, view_names, NULL);
}

/* Whether p may enter the room whose key is key, owned or not: the account it is logged
 * in to, if any, and the host it comes from. An administrator may enter any room. p's loop
 * thread (its logged_in and admin are its own), under rooms_lock. */
static enum owners_entry may_enter(const struct person *p, const char *key)
{
    if (p->admin) {
        return OWNERS_ENTER;
    }
    return owners_enter(key, person_key(p), p->logged_in ? person_key(p) : NULL, person_host(p));
}

void room_arrive(struct person *p, const char *room, size_t view_names)
{
    struct buf key = BUF_INIT;
    size_t len = room ? strlen(room) : 0;
    bool named = room && parse_name(&room, &len, &key);
    pthread_mutex_lock(&rooms_lock);
    struct room *to = named ? find_room(key.data) : NULL;
    if (to && !p->admin &&
        owners_banned(to->key, p->logged_in ? person_key(p) : NULL, person_host(p))) {
        to = NULL; /* banned since: the default room; its invitation it needs no more */
    }
    enter(p, to ? to : room_default(), view_names);
    pthread_mutex_unlock(&rooms_lock);
    buf_release(&key);
}

/* Under rooms_lock, for p's /join into the room whose key is key: whether p may enter,
 * as room_join() answers; checked before the room takes a slot. */
static int admit(struct person *p, const char *key)
{
    switch (may_enter(p, key)) {
    case OWNERS_BANNED:
        return -EACCES;
    case OWNERS_INVITE_ONLY:
        return -EPERM;
    case OWNERS_ENTER:
        break;
    }
    return 0;
}

/* Under rooms_lock: p, who just made `to`, founds it if logged in to an account. */
static int found(struct person *p, struct room *to)
{
    if (!p->logged_in) {
        return ROOM_JOINED;
    }
    int r = owners_found(to->key, to->name, person_key(p));
    return r == 0 ? ROOM_FOUNDED : r == -EDQUOT ? ROOM_NOT_FOUNDED : ROOM_JOINED;
}

int room_join(struct person *p, const char *name, size_t len, size_t view_names,
              char name_out[ROOM_NAME_MAX + 1])
{
    struct buf key = BUF_INIT;
    if (!parse_name(&name, &len, &key)) {
        buf_release(&key);
        return -EINVAL;
    }
    if (!broadcast_can_move(p->member)) {
        buf_release(&key);
        return -EAGAIN;
    }
    pthread_mutex_lock(&rooms_lock);
    struct room *to = find_room(key.data);
    bool created = !to && !owners_is_owned(key.data);
    int r = to == p->room ? -EALREADY : admit(p, key.data);
    if (r == 0) {
        to = find_or_create(name, len, key.data);
        r = !to ? -ENOSPC : created ? found(p, to) : ROOM_JOINED;
    }
    if (to) {
        strcpy(name_out, to->name);
    } else {
        memcpy(name_out, name, len); /* refused before a room was made: as typed */
        name_out[len] = '\0';
    }
    if (r >= 0) {
        enter(p, to, view_names);
    }
    pthread_mutex_unlock(&rooms_lock);
    buf_release(&key);
    return r;
}

int room_send_out(struct person *p, const char *room, const char *by, const char *reason,
                  size_t len, bool spare_operators)
{
    pthread_mutex_lock(&rooms_lock);
    struct room *from = p->room;
    if (from == room_default() || strcmp(from->key, room) != 0 ||
        (spare_operators && (p->admin || owners_role(room, person_key(p)) != OWNERS_NOBODY))) {
        pthread_mutex_unlock(&rooms_lock);
        return -ENOENT;
    }
    struct buf text = BUF_INIT; /* the operator's pseudo, which has no space, then the reason */
    buf_append_str(&text, by);
    if (len > 0) {
        buf_append_char(&text, ' ');
        buf_append(&text, reason, len);
    }
    const char *who = person_pseudo(p);
    struct event_fields f = {.kind = EVENT_SENT_OUT,
                             .room = from->slot,
                             .who = who,
                             .who_len = strlen(who),
                             .where = from->name,
                             .where_len = strlen(from->name),
                             .text = text.data,
                             .text_len = text.len};
    enter_telling(p, room_default(), PROTO_WHO_MAX, event_new(&f)); /* p is told too */
    pthread_mutex_unlock(&rooms_lock);
    buf_release(&text);
    return 0;
}

void room_each_from(const char *room, const char *host, void (*fn)(struct person *p, void *ctx),
                    void *ctx)
{
    struct person **found_people = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&rooms_lock);
    struct room *r = find_room(room);
    for (size_t i = 0; r && i < r->count; i++) {
        if (strcmp(person_host(r->who[i]), host) == 0) {
            if (n == cap) {
                found_people = xgrow(found_people, &cap, n + 1, sizeof(*found_people), 8);
            }
            person_ref(r->who[i]);
            found_people[n++] = r->who[i];
        }
    }
    pthread_mutex_unlock(&rooms_lock);
    for (size_t i = 0; i < n; i++) {
        fn(found_people[i], ctx); /* the reference goes with it */
    }
    free(found_people);
}

bool room_holds(const char *room, const struct person *p)
{
    pthread_mutex_lock(&rooms_lock);
    bool in = p->room && strcmp(p->room->key, room) == 0;
    pthread_mutex_unlock(&rooms_lock);
    return in;
}

void room_tell_topic(struct person *p, const char *text, size_t len)
{
    pthread_mutex_lock(&rooms_lock);
    tell(EVENT_TOPIC, p, p->room, text, len);
    pthread_mutex_unlock(&rooms_lock);
}

void room_depart(struct person *p, enum event_kind kind, const char *reason, size_t len,
                 bool announce)
{
    pthread_mutex_lock(&rooms_lock);
    struct room *r = p->room;
    who_remove(r, p);
    if (announce && announced_in(r, r->count + 1)) {
        tell(kind, p, r, reason, len);
    }
    pthread_mutex_unlock(&rooms_lock);
    broadcast_depart(p->member);
}

struct person *room_rename(struct person *old, const char *key, const char *pseudo, size_t len)
{
    pthread_mutex_lock(&rooms_lock);
    struct person *p = registry_rename(old, key, pseudo, len);
    if (!p) {
        pthread_mutex_unlock(&rooms_lock);
        return NULL;
    }
    p->room = old->room; /* ours to copy: rooms_lock is held */
    p->who_index = old->who_index;
    p->room->who[p->who_index] = p;
    if (room_announced(registry_count())) {
        const char *was = person_pseudo(old), *now = person_pseudo(p);
        struct event_fields f = {.kind = EVENT_RENAME,
                                 .room = EVENT_ALL_ROOMS,
                                 .origin = p->member->conn.id,
                                 .who = was,
                                 .who_len = strlen(was),
                                 .text = now,
                                 .text_len = strlen(now)};
        broadcast_publish(event_new(&f));
    }
    pthread_mutex_unlock(&rooms_lock);
    return p;
}

/* ---------------------------------------------------------------- /who and /rooms */

int room_view_here(const char *name, size_t len, const struct person *p, size_t max_names,
                   struct room_view *out)
{
    int err = 0;
    struct buf key = BUF_INIT;
    if (len > 0 && !parse_name(&name, &len, &key)) {
        buf_release(&key);
        return -EINVAL;
    }
    pthread_mutex_lock(&rooms_lock);
    struct room *r = len == 0 ? (p ? p->room : room_default()) : find_room(key.data);
    if (r) {
        view(r, max_names, out);
    } else {
        err = -ENOENT;
    }
    pthread_mutex_unlock(&rooms_lock);
    buf_release(&key);
    return err;
}

void room_view_add_others(struct room_view *v, uint32_t count, const char *names, size_t len)
{
    struct buf all = BUF_INIT;
    buf_append(&all, v->names, v->names_len);
    size_t first = all.len == 0 && len > 0; /* no space before the first name */
    buf_append(&all, names + first, len - first);
    for (size_t i = 0; i < len; i++) {
        v->named += names[i] == ' '; /* each name comes after a space */
    }
    v->count = v->here + count;
    free(v->names);
    v->names_len = all.len;
    v->names = buf_detach(&all);
}

int room_view_of(const char *name, size_t len, const struct person *p, size_t max_names,
                 struct room_view *out)
{
    int err = room_view_here(name, len, p, max_names, out);
    if (err == 0 && peers_clustered()) {
        struct buf more = BUF_INIT;
        size_t left = max_names > out->named ? max_names - out->named : 0;
        uint32_t far = peers_names_in_room(out->key, &more, max_names == 0 ? SIZE_MAX : left);
        room_view_add_others(out, far, more.data ? more.data : "", more.len);
        buf_release(&more);
    }
    return err;
}

void room_names_here(const char *room_key, size_t limit, struct buf *out)
{
    pthread_mutex_lock(&rooms_lock);
    const struct room *r = find_room(room_key);
    size_t count = r ? r->count : 0;
    buf_appendf(out, "%zu\n", count);
    if (r) {
        names_of(r, count < limit ? count : limit, out);
    }
    pthread_mutex_unlock(&rooms_lock);
}

void room_summary(struct buf *out)
{
    pthread_mutex_lock(&rooms_lock);
    for (unsigned i = 0; i < n_slots; i++) {
        if (table[i].in_use && table[i].count > 0) {
            buf_appendf(out, "%zu %s\n", table[i].count, table[i].name);
        }
    }
    pthread_mutex_unlock(&rooms_lock);
}

static int by_count_then_name(const void *a, const void *b)
{
    const struct room *x = *(const struct room *const *)a;
    const struct room *y = *(const struct room *const *)b;
    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    return strcmp(x->key, y->key);
}

static int entries_by_count_then_name(const void *a, const void *b)
{
    const struct room_entry *x = a, *y = b;
    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* The rooms of /rooms, and their keys, while the other servers' are added to them. */
struct room_list {
    struct room_entry *list;
    char (*keys)[ROOM_NAME_MAX + 1];
    size_t n, cap;
};

/* peers_each_room()'s: a room of another server, with how many people it holds there. */
static void add_room_elsewhere(const char *name, size_t len, uint32_t count, void *ctx)
{
    struct room_list *l = ctx;
    struct buf key = BUF_INIT;
    if (len > ROOM_NAME_MAX || pseudo_check(name, len) != PSEUDO_OK ||
        (pseudo_fold(name, len, &key), key.len > ROOM_NAME_MAX)) {
        buf_release(&key);
        return; /* a name causerie would refuse from its own client: not one it gave */
    }
    size_t i = 0;
    while (i < l->n && strcmp(l->keys[i], key.data) != 0) {
        i++;
    }
    if (i == l->n) {
        if (l->n == l->cap) {
            size_t cap = l->cap;
            l->list = xgrow(l->list, &l->cap, l->n + 1, sizeof(*l->list), 16);
            l->keys = xgrow(l->keys, &cap, l->n + 1, sizeof(*l->keys), 16);
        }
        memset(&l->list[i], 0, sizeof(l->list[i]));
        memcpy(l->list[i].name, name, len);
        l->list[i].name[len] = '\0';
        l->list[i].topic = xstrdup("");
        strcpy(l->keys[i], key.data);
        l->n++;
    }
    l->list[i].count =
        count > UINT32_MAX - l->list[i].count ? UINT32_MAX : l->list[i].count + count;
    buf_release(&key);
}

struct room_entry *room_list(size_t *n_out)
{
    struct room **rooms = xcalloc(n_slots, sizeof(*rooms));
    struct room_entry *list = xcalloc(n_slots, sizeof(*list));
    char(*keys)[ROOM_NAME_MAX + 1] = xcalloc(n_slots, sizeof(*keys));
    pthread_mutex_lock(&rooms_lock);
    size_t n = 0;
    for (unsigned i = 0; i < n_slots; i++) {
        if (table[i].in_use) {
            rooms[n++] = &table[i];
        }
    }
    qsort(rooms, n, sizeof(*rooms), by_count_then_name);
    for (size_t i = 0; i < n; i++) {
        strcpy(list[i].name, rooms[i]->name);
        strcpy(keys[i], rooms[i]->key);
        list[i].count = (uint32_t)rooms[i]->count;
        list[i].topic = topic_of(rooms[i]);
    }
    pthread_mutex_unlock(&rooms_lock);
    free(rooms);
    if (peers_clustered()) { /* the other servers' people, as their heartbeats said */
        struct room_list l = {list, keys, n, n_slots};
        peers_each_room(add_room_elsewhere, &l);
        list = l.list;
        keys = l.keys;
        n = l.n;
        qsort(list, n, sizeof(*list), entries_by_count_then_name);
    }
    free(keys);
    *n_out = n;
    return list;
}

void room_list_free(struct room_entry *rooms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rooms[i].topic);
    }
    free(rooms);
}

/* ---------------------------------------------------------------- at start */

bool room_restore(const char *name, size_t len, struct event_fields *f, uint64_t seq)
{
    struct buf key = BUF_INIT;
    if ((len > 0 && name[0] == '#') || !parse_name(&name, &len, &key)) {
        buf_release(&key);
        return false;
    }
    pthread_mutex_lock(&rooms_lock);
    struct room *r = find_or_create(name, len, key.data);
    if (r && r->count == 0) {
        r->emptied = ++empty_clock; /* the room written to last is the last to be given up */
    }
    pthread_mutex_unlock(&rooms_lock);
    buf_release(&key);
    if (r) {
        f->room = r->slot;
        f->where = r->name;
        f->where_len = strlen(r->name);
        broadcast_restore(r->slot, event_new(f), seq);
    }
    return true;
}

void room_locate(const char *where, size_t len, void (*place)(int slot, void *ctx), void *ctx)
{
    struct buf key = BUF_INIT;
    bool valid = !(len > 0 && where[0] == '#') && parse_name(&where, &len, &key);
    pthread_mutex_lock(&rooms_lock);
    struct room *r = valid ? find_or_create(where, len, key.data) : NULL;
    if (r && r->count == 0) {
        r->emptied = ++empty_clock; /* the room spoken in last is the last to be given up */
    }
    place(r ? r->slot : -1, ctx);
    pthread_mutex_unlock(&rooms_lock);
    buf_release(&key);
}

void room_restore_owned(const char *name)
{
    struct buf key = BUF_INIT;
    size_t len = strlen(name);
    if (parse_name(&name, &len, &key)) {
        pthread_mutex_lock(&rooms_lock);
        struct room *r = find_room(key.data);
        for (unsigned i = 1; !r && i < n_slots; i++) {
            if (!table[i].in_use) { /* a free slot only: an owned room needs none to exist */
                r = &table[i];
                set_name(r, name, len, key.data);
                r->emptied = ++empty_clock;
            }
        }
        pthread_mutex_unlock(&rooms_lock);
    }
    buf_release(&key);
}
