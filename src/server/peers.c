/* peers.c - the people of the whole cluster; see peers.h.
 *
 * A claim's value in the engine is "NODE\nROOM\nPSEUDO": the node that holds it, the room
 * its person is in (kept current by peers_moved()), and the pseudo as typed. It is what a
 * survivor reads when it announces the departure of a dead node's person.
 */
#include "peers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <pthread.h>
#include <stdlib.h>

#include "broadcast.h"
#include "cluster.h"
#include "common/buf.h"
#include "common/hash.h"
#include "common/pseudo.h"
#include "common/xalloc.h"
#include "event.h"

/* Buckets of the mirror: a few people per bucket at 100,000 across the cluster. */
#define MIRROR_BUCKETS 65536

/* One claim of the cluster, as the mirror has it. */
struct claim {
    struct claim *next; /* peers_lock */
    bool ours;          /* held by this server: its people are listed by room.c */
    char *key;          /* owned: the bucket's key */
    char *room_key;     /* owned: the room's folded name */
    char *pseudo;       /* owned: as typed */
};

static bool clustered;
static pthread_mutex_t peers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct claim **mirror; /* owned: MIRROR_BUCKETS chains; peers_lock */
static uint64_t seed;

void peers_init(void)
{
    clustered = true;
    mirror = xcalloc(MIRROR_BUCKETS, sizeof(*mirror));
    seed = hash_random_seed();
}

static void claim_free(struct claim *c)
{
    free(c->key);
    free(c->room_key);
    free(c->pseudo);
    free(c);
}

/* Under peers_lock: the link that points at key's claim, or at the end of its chain. */
static struct claim **find(const char *key)
{
    struct claim **p = &mirror[hash_bucket(hash_add_str(hash_start(seed), key), MIRROR_BUCKETS)];
    while (*p && strcmp((*p)->key, key) != 0) {
        p = &(*p)->next;
    }
    return p;
}

/* A claim's value read: NULL if it is not "NODE\nROOM\nPSEUDO". */
static struct claim *parse(const char *key, const char *value, size_t len)
{
    const char *room = memchr(value, '\n', len);
    const char *typed = room ? memchr(room + 1, '\n', len - (size_t)(room + 1 - value)) : NULL;
    if (!typed) {
        return NULL;
    }
    struct claim *c = xcalloc(1, sizeof(*c));
    size_t node_len = (size_t)(room - value), node_mine = strlen(cluster_node());
    c->ours = node_len == node_mine && memcmp(value, cluster_node(), node_len) == 0;
    c->key = xstrdup(key);
    struct buf k = BUF_INIT;
    pseudo_fold(room + 1, (size_t)(typed - room - 1), &k);
    c->room_key = buf_detach(&k);
    c->pseudo = xmemdup0(typed + 1, len - (size_t)(typed + 1 - value));
    return c;
}

/* The claim watcher (cluster.h): a claim put or deleted. */
static void on_claim(const char *key, const char *value, size_t len)
{
    struct claim *c = value ? parse(key, value, len) : NULL;
    pthread_mutex_lock(&peers_lock);
    struct claim **p = find(key);
    struct claim *old = *p;
    if (old) {
        *p = old->next;
    }
    if (c) {
        c->next = *p;
        *p = c;
    }
    pthread_mutex_unlock(&peers_lock);
    if (old) {
        claim_free(old);
    }
}

void peers_watch(void)
{
    cluster_watch_claims(on_claim);
}

void peers_shutdown(void)
{
    if (!mirror) {
        return;
    }
    for (size_t i = 0; i < MIRROR_BUCKETS; i++) {
        while (mirror[i]) {
            struct claim *c = mirror[i];
            mirror[i] = c->next;
            claim_free(c);
        }
    }
    free(mirror);
    mirror = NULL;
    clustered = false;
}

uint32_t peers_in_room(const char *room_key, struct buf *names, size_t max)
{
    if (!clustered) {
        return 0;
    }
    uint32_t n = 0;
    pthread_mutex_lock(&peers_lock);
    for (size_t i = 0; i < MIRROR_BUCKETS; i++) {
        for (const struct claim *c = mirror[i]; c; c = c->next) {
            if (c->ours || strcmp(c->room_key, room_key) != 0) {
                continue;
            }
            if (names && (max == 0 || n < max)) {
                buf_append_char(names, ' ');
                buf_append_str(names, c->pseudo);
            }
            n++;
        }
    }
    pthread_mutex_unlock(&peers_lock);
    return n;
}

bool peers_clustered(void)
{
    return clustered;
}

static void value_of(struct buf *v, const char *pseudo, const char *room)
{
    buf_appendf(v, "%s\n%s\n%s", cluster_node(), room, pseudo);
}

int peers_claim(const char *key, const char *pseudo, const char *room)
{
    if (!clustered) {
        return 0;
    }
    struct buf v = BUF_INIT;
    value_of(&v, pseudo, room);
    int r = cluster_claim(key, v.data, v.len);
    buf_release(&v);
    return r;
}

void peers_moved(const char *key, const char *pseudo, const char *room)
{
    if (!clustered) {
        return;
    }
    struct buf v = BUF_INIT;
    value_of(&v, pseudo, room);
    cluster_claim_update(key, v.data, v.len);
    buf_release(&v);
}

void peers_release(const char *key)
{
    if (clustered) {
        cluster_release(key);
    }
}

int peers_find(const char *key, char *pseudo, size_t size)
{
    if (!clustered) {
        return -ENOENT;
    }
    struct buf v = BUF_INIT;
    int r = cluster_lookup(key, &v);
    const char *room = r == 0 ? memchr(v.data, '\n', v.len) : NULL;
    const char *typed = room ? memchr(room + 1, '\n', v.len - (size_t)(room + 1 - v.data)) : NULL;
    if (r == 0 && !typed) {
        r = -ENOENT; /* a claim being reaped */
    }
    if (r == 0) {
        snprintf(pseudo, size, "%.*s", (int)(v.len - (size_t)(typed + 1 - v.data)), typed + 1);
    }
    buf_release(&v);
    return r;
}

void peers_link(bool up)
{
    struct event_fields f = {.kind = up ? EVENT_LINK_BACK : EVENT_LINK_LOST,
                             .room = EVENT_ALL_ROOMS};
    broadcast_publish(event_new(&f)); /* this server's clients only: it never crosses */
}

void peers_reaped(const char *value, size_t len)
{
    const char *room = memchr(value, '\n', len);
    const char *pseudo = room ? memchr(room + 1, '\n', len - (size_t)(room + 1 - value)) : NULL;
    if (!pseudo) {
        return; /* not a claim of ours: nothing to announce */
    }
    room++;
    pseudo++;
    static const char reason[] = "son serveur ne répond plus";
    struct event_fields f = {.kind = EVENT_QUIT,
                             .room = EVENT_NO_ROOM,
                             .who = pseudo,
                             .who_len = len - (size_t)(pseudo - value),
                             .where = room,
                             .where_len = (size_t)(pseudo - 1 - room),
                             .text = reason,
                             .text_len = sizeof(reason) - 1};
    broadcast_publish(event_new(&f)); /* every server places it in the room it names */
}
