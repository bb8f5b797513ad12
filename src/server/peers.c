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

#include <stdint.h>
#include <stdlib.h>

#include "broadcast.h"
#include "cluster.h"
#include "common/buf.h"
#include "common/pseudo.h"
#include "common/xalloc.h"
#include "event.h"

static bool clustered;

void peers_init(void)
{
    clustered = true;
}

void peers_shutdown(void)
{
    clustered = false;
}

/* Calls fn for each "COUNT NAME" line of the other servers' heartbeats: what they hold of
 * each room, a moment ago. */
static void each_room_elsewhere(void (*fn)(const char *name, size_t len, uint32_t count, void *ctx),
                                void *ctx)
{
    struct buf all = BUF_INIT;
    cluster_rooms_elsewhere(&all);
    const char *p = all.data, *end = all.data + all.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        char *after = NULL;
        unsigned long count = strtoul(p, &after, 10);
        if (after && after < line_end && *after == ' ' && after + 1 < line_end &&
            count <= UINT32_MAX) {
            fn(after + 1, (size_t)(line_end - after - 1), (uint32_t)count, ctx);
        }
        p = line_end + 1;
    }
    buf_release(&all);
}

struct count_of {
    const char *key;
    uint32_t count;
};

static void add_if_same_room(const char *name, size_t len, uint32_t count, void *ctx)
{
    struct count_of *c = ctx;
    struct buf k = BUF_INIT;
    pseudo_fold(name, len, &k);
    if (strcmp(k.data, c->key) == 0) {
        c->count += count;
    }
    buf_release(&k);
}

uint32_t peers_count_in_room(const char *room_key)
{
    if (!clustered) {
        return 0;
    }
    struct count_of c = {room_key, 0};
    each_room_elsewhere(add_if_same_room, &c);
    return c.count;
}

uint32_t peers_names_in_room(const char *room_key, struct buf *names, size_t limit)
{
    return clustered ? cluster_ask_names(room_key, limit, names) : 0;
}

void peers_each_room(void (*fn)(const char *name, size_t len, uint32_t count, void *ctx), void *ctx)
{
    if (clustered) {
        each_room_elsewhere(fn, ctx);
    }
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

int peers_find_in(const char *key, const char *room_key, char *pseudo, size_t size, bool *in_room)
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
        if (in_room) {
            struct buf folded = BUF_INIT;
            pseudo_fold(room + 1, (size_t)(typed - room - 1), &folded);
            *in_room = room_key && strcmp(folded.data, room_key) == 0;
            buf_release(&folded);
        }
    }
    buf_release(&v);
    return r;
}

int peers_find(const char *key, char *pseudo, size_t size)
{
    return peers_find_in(key, NULL, pseudo, size, NULL);
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
