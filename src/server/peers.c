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

#include "broadcast.h"
#include "cluster.h"
#include "common/buf.h"
#include "event.h"

static bool clustered;

void peers_init(void)
{
    clustered = true;
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
