/* room.c - the rooms; see room.h for the contract, the locks and why moves are ordered.
 *
 * The table and its rooms are allocated by room_init() and freed by room_shutdown(); in
 * between a slot is reset and reused, never freed. Looking a room up by name is a walk of
 * the slots in use under rooms_lock: --max-rooms is at most MAX_ROOMS_CEILING and /join is
 * rare next to messages. Each room's list of people (for /who and the counts) is an array
 * of persons that know their index in it, so entering and leaving cost O(1) under the lock.
 * The French texts of moves, /who and /rooms are here.
 */
#include "room.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast.h"
#include "client.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/xalloc.h"
#include "history_record.h"
#include "loop.h"
#include "msg.h"
#include "registry.h"
#include "session.h"

/* Guards every room's in_use, name, key, who, count, who_cap and emptied, and empty_clock. */
static pthread_mutex_t rooms_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t empty_clock; /* rooms_lock: counts the times a room was emptied */

/* Set by room_init(), immutable until room_shutdown(). */
static struct room **table; /* owned: max_rooms rooms, table[0] the default one */
static unsigned n_slots;
static unsigned n_loops;
static unsigned history_size;
static size_t announce_max;

/* ---------------------------------------------------------------- the table */

static struct room *new_room(unsigned slot)
{
    struct room *r = xcalloc(1, sizeof(*r) + n_loops * sizeof(r->members[0]));
    r->slot = (uint16_t)slot;
    history_init(&r->history, history_size);
    return r;
}

/* Under rooms_lock, for a room nobody is in. */
static void set_name(struct room *r, const char *name, size_t len, const char *key)
{
    assert(len <= ROOM_NAME_MAX && strlen(key) <= ROOM_NAME_MAX);
    memcpy(r->name, name, len);
    r->name[len] = '\0';
    strcpy(r->key, key);
    r->in_use = true;
}

void room_init(unsigned max_rooms, unsigned loops, unsigned history, size_t max_announced)
{
    assert(max_rooms >= 1 && max_rooms < ROOM_NONE && loops >= 1);
    n_slots = max_rooms;
    n_loops = loops;
    history_size = history;
    announce_max = max_announced;
    table = xcalloc(n_slots, sizeof(*table));
    for (unsigned i = 0; i < n_slots; i++) {
        table[i] = new_room(i);
    }
    struct buf key = BUF_INIT;
    pseudo_fold(ROOM_DEFAULT_NAME, strlen(ROOM_DEFAULT_NAME), &key);
    set_name(table[0], ROOM_DEFAULT_NAME, strlen(ROOM_DEFAULT_NAME), key.data);
    buf_release(&key);
}

void room_shutdown(void)
{
    for (unsigned i = 0; i < n_slots; i++) {
        struct room *r = table[i];
        history_clear(&r->history);
        free(r->who);
        for (unsigned l = 0; l < n_loops; l++) {
            client_set_release(&r->members[l]);
        }
        free(r);
    }
    free(table);
    table = NULL;
    n_slots = 0;
}

unsigned room_slot_count(void)
{
    return n_slots;
}

struct room *room_at(unsigned slot)
{
    assert(slot < n_slots);
    return table[slot];
}

struct room *room_default(void)
{
    return table[0];
}

bool room_announced(size_t people)
{
    return announce_max == 0 || people <= announce_max;
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
        if (table[i]->in_use && strcmp(table[i]->key, key) == 0) {
            return table[i];
        }
    }
    return NULL;
}

/* Under rooms_lock: a slot for a new room. A free one if any; else the empty room emptied
 * the longest ago, whose history is forgotten; NULL if every room has people. The default
 * room is never given up. */
static struct room *free_slot(void)
{
    struct room *oldest = NULL;
    for (unsigned i = 1; i < n_slots; i++) {
        struct room *r = table[i];
        if (!r->in_use) {
            return r;
        }
        if (r->count == 0 && (!oldest || r->emptied < oldest->emptied)) {
            oldest = r;
        }
    }
    if (oldest) {
        broadcast_forget(oldest); /* its history and name, under the order lock */
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
        r->who_cap = r->who_cap ? r->who_cap * 2 : 8;
        r->who = xreallocarray(r->who, r->who_cap, sizeof(*r->who));
    }
    p->who_index = r->count;
    r->who[r->count++] = p;
    p->room = r;
}

/* Under rooms_lock. An emptied room without history is given up at once; with history, it
 * is kept for later, until its slot is needed. */
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
    if (broadcast_history_len(r) == 0) {
        r->in_use = false;
    }
}

/* Under rooms_lock: appends the "= #ROOM COUNT : PSEUDO ..." line, '\n' included. */
static void who_line(const struct room *r, struct buf *out)
{
    buf_appendf(out, "= #%s %u :", r->name, r->count);
    uint32_t n = r->count < ROOM_WHO_MAX ? r->count : ROOM_WHO_MAX;
    for (uint32_t i = 0; i < n; i++) {
        buf_append_char(out, ' ');
        buf_append_str(out, person_pseudo(r->who[i]));
    }
    buf_append_char(out, '\n');
}

/* ---------------------------------------------------------------- moves */

static struct room_move *new_move(struct client *c, struct room *to)
{
    struct room_move *mv = xmalloc(sizeof(*mv));
    *mv = (struct room_move){.c = c, .to = to};
    return mv;
}

/* Under rooms_lock: c's person enters `to` (leaving the room it was in, if any), the
 * notices are published, and the move is stamped and posted to c's loop. */
static void enter(struct client *c, struct room *to, struct room_move *mv, bool arriving)
{
    struct person *p = c->person;
    struct room *from = p->room;
    const char *who = person_pseudo(p);
    if (from) {
        who_remove(from, p);
        if (room_announced(from->count + 1)) {
            broadcast_publish(msg_newf(c->id, '*', "%s a quitté #%s", who, from->name), from);
        }
    }
    who_add(to, p);
    if (room_announced(to->count)) {
        struct msg *m = arriving ? msg_newf(c->id, '*', "%s a rejoint la discussion", who)
                                 : msg_newf(c->id, '*', "%s a rejoint #%s", who, to->name);
        broadcast_publish(m, to);
    }
    if (!arriving) {
        struct buf intro = BUF_INIT;
        buf_appendf(&intro, "+ Vous êtes maintenant dans #%s.\n", to->name);
        who_line(to, &intro);
        mv->intro = msg_new_lines(intro.data, intro.len);
        buf_release(&intro);
    }
    broadcast_move(mv);
}

void room_arrive(struct client *c)
{
    struct room_move *mv = new_move(c, room_default());
    client_hold(c);
    pthread_mutex_lock(&rooms_lock);
    enter(c, room_default(), mv, true);
    pthread_mutex_unlock(&rooms_lock);
}

void room_join(struct client *c, const char *name, size_t len)
{
    struct buf key = BUF_INIT;
    if (!parse_name(&name, &len, &key)) {
        session_reply(c, '!', "Nom de salon invalide : 1 à 32 caractères visibles, sans espace.");
        buf_release(&key);
        return;
    }
    if (!client_can_hold(c)) {
        session_reply(c, '!', "Trop de changements de salon à la fois : réessayez.");
        buf_release(&key);
        return;
    }
    struct room_move *mv = new_move(c, NULL);
    char room_name[ROOM_NAME_MAX + 1] = "";
    pthread_mutex_lock(&rooms_lock);
    struct room *to = find_or_create(name, len, key.data);
    bool here = to && to == c->person->room;
    if (to) {
        strcpy(room_name, to->name);
    }
    if (to && !here) {
        mv->to = to;
        client_hold(c);
        enter(c, to, mv, false);
    }
    pthread_mutex_unlock(&rooms_lock);
    buf_release(&key);

    if (!to) {
        session_reply(c, '!', "Trop de salons (%u au plus) : rejoignez un salon existant.",
                      n_slots);
    } else if (here) {
        session_reply(c, '!', "Vous êtes déjà dans #%s.", room_name);
    } else {
        log_info("%s a rejoint #%s", person_pseudo(c->person), room_name);
        return; /* mv is on its way */
    }
    free(mv);
}

void room_depart(struct client *c, struct msg *notice)
{
    struct person *p = c->person;
    pthread_mutex_lock(&rooms_lock);
    struct room *r = p->room;
    who_remove(r, p);
    if (notice && room_announced(r->count + 1)) {
        broadcast_publish(notice, r);
        notice = NULL;
    }
    pthread_mutex_unlock(&rooms_lock);
    if (notice) {
        msg_unref(notice);
    }
    client_leave_room(c);
}

int room_rename(struct client *c, const char *key, const char *pseudo, size_t len)
{
    struct person *old = c->person;
    pthread_mutex_lock(&rooms_lock);
    struct person *p = registry_rename(old, key, pseudo, len);
    if (!p) {
        pthread_mutex_unlock(&rooms_lock);
        return -EEXIST;
    }
    p->room->who[p->who_index] = p;
    c->person = p;
    if (room_announced(registry_count())) {
        broadcast_publish(msg_newf(c->id, '*', "%s s'appelle maintenant %s", person_pseudo(old),
                                   person_pseudo(p)),
                          NULL);
    }
    pthread_mutex_unlock(&rooms_lock);
    log_info("%s s'appelle maintenant %s", person_pseudo(old), person_pseudo(p));
    person_unref(old);
    return 0;
}

/* The newest history lines whose "~" form fits in budget bytes: the index of the oldest
 * one to send. A newcomer's history must not itself take the client past --max-backlog,
 * which would drop it as soon as the room's next message finds its socket full. */
static size_t history_fitting(const struct room_move *mv, size_t budget)
{
    size_t first = mv->n;
    size_t used = 0;
    while (first > 0) {
        size_t line = HISTORY_LINE_OVERHEAD + mv->hist[first - 1].m->len;
        if (used + line > budget) {
            break;
        }
        used += line;
        first--;
    }
    return first;
}

void room_move_run(struct loop *l, struct room_move *mv)
{
    struct client *c = mv->c;
    if (client_in_chat(c)) {
        client_leave_room(c);
        client_enter_room(c, mv->to);
        struct buf block = BUF_INIT;
        if (mv->intro) {
            buf_append(&block, mv->intro->data, mv->intro->len);
        }
        size_t first = history_fitting(mv, l->opts->max_backlog / 2);
        history_format(mv->hist + first, mv->n - first, &block);
        if (block.len > 0) {
            struct msg *m = msg_new_lines(block.data, block.len);
            client_send(c, m);
            msg_unref(m);
        }
        buf_release(&block);
    }
    room_move_drop(mv);
}

void room_move_drop(struct room_move *mv)
{
    if (mv->intro) {
        msg_unref(mv->intro);
    }
    history_drop(mv->hist, mv->n);
    free(mv->hist);
    struct client *c = mv->c;
    free(mv);
    client_unhold(c); /* may free c */
}

/* ---------------------------------------------------------------- /who and /rooms */

/* Under rooms_lock: the room named name (len 0: fallback), or NULL with *err set. */
static struct room *named_room(const char *name, size_t len, struct room *fallback, int *err)
{
    if (len == 0) {
        return fallback;
    }
    struct buf key = BUF_INIT;
    struct room *r = NULL;
    if (!parse_name(&name, &len, &key)) {
        *err = -EINVAL;
    } else if (!(r = find_room(key.data))) {
        *err = -ENOENT;
    }
    buf_release(&key);
    return r;
}

int room_who_line(const struct client *c, const char *name, size_t len, struct buf *out)
{
    int err = 0;
    pthread_mutex_lock(&rooms_lock);
    struct room *r = named_room(name, len, len == 0 ? c->person->room : NULL, &err);
    if (r) {
        who_line(r, out);
    }
    pthread_mutex_unlock(&rooms_lock);
    return err;
}

static const char *people(uint32_t n)
{
    return n > 1 ? "personnes" : "personne";
}

int room_who_text(const char *name, size_t len, struct buf *out)
{
    int err = 0;
    pthread_mutex_lock(&rooms_lock);
    struct room *r = named_room(name, len, room_default(), &err);
    if (r) {
        buf_appendf(out, "#%s, %u %s%s", r->name, r->count, people(r->count), r->count ? " :" : "");
        for (uint32_t i = 0; i < r->count; i++) {
            buf_append_char(out, ' ');
            buf_append_str(out, person_pseudo(r->who[i]));
        }
        buf_append_char(out, '\n');
    }
    pthread_mutex_unlock(&rooms_lock);
    return err;
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

/* Appends one line per room in use, largest first, each made by prefix, name, count. */
static size_t list_rooms(struct buf *out, const char *prefix)
{
    struct room **rooms = xcalloc(n_slots, sizeof(*rooms));
    pthread_mutex_lock(&rooms_lock);
    size_t n = 0;
    for (unsigned i = 0; i < n_slots; i++) {
        if (table[i]->in_use) {
            rooms[n++] = table[i];
        }
    }
    qsort(rooms, n, sizeof(*rooms), by_count_then_name);
    for (size_t i = 0; i < n; i++) {
        buf_appendf(out, "%s#%s : %u %s\n", prefix, rooms[i]->name, rooms[i]->count,
                    people(rooms[i]->count));
    }
    pthread_mutex_unlock(&rooms_lock);
    free(rooms);
    return n;
}

size_t room_list_lines(struct buf *out)
{
    return list_rooms(out, "* ");
}

size_t room_list_text(struct buf *out)
{
    return list_rooms(out, "");
}

/* ---------------------------------------------------------------- the history file */

bool room_restore(const struct history_record *rec)
{
    const char *name = rec->room;
    size_t len = rec->room_len;
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
        struct msg *m = msg_new_line(rec->line, rec->line_len);
        broadcast_restore(r, m, rec->time);
    }
    return true;
}

void room_each_kept(void (*fn)(const struct room *r, const struct history_entry *e, void *ctx),
                    void *ctx)
{
    struct history_entry *copy = xcalloc(history_size ? history_size : 1, sizeof(*copy));
    for (unsigned i = 0; i < n_slots; i++) {
        struct room *r = table[i];
        if (!r->in_use) {
            continue;
        }
        size_t n = history_copy(&r->history, copy);
        for (size_t j = 0; j < n; j++) {
            fn(r, &copy[j], ctx);
        }
        history_drop(copy, n);
    }
    free(copy);
}
