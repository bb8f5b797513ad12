/* wire.c - the events' wire form between servers; see wire.h for the layout.
 *
 * Decoding trusts nothing: a node is a peer, and a peer's bytes are checked as a client's
 * are (lengths first, then each string as the server would check it from a client), so
 * that a buggy or hostile node cannot make this server relay what it would refuse itself.
 */
#include "wire.h"

#include <errno.h>
#include <string.h>

#include "common/pseudo.h"
#include "common/sanitize.h"

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

void wire_encode(const struct event *e, const char *node, const char *to, struct buf *out)
{
    size_t node_len = strlen(node), to_len = to ? strlen(to) : 0;
    unsigned char h[WIRE_HEADER_SIZE];
    h[0] = WIRE_VERSION;
    h[1] = e->kind;
    put16(h + 2, WIRE_HEADER_SIZE);
    put16(h + 4, (uint16_t)node_len);
    put16(h + 6, e->who_len);
    put16(h + 8, e->where_len);
    put16(h + 10, (uint16_t)to_len);
    put32(h + 12, e->text_len);
    put64(h + 16, (uint64_t)e->time);
    put64(h + 24, e->origin);
    buf_append(out, (const char *)h, sizeof(h));
    buf_append(out, node, node_len);
    buf_append(out, e->who, e->who_len);
    buf_append(out, e->where, e->where_len);
    buf_append(out, to ? to : "", to_len);
    buf_append(out, e->text, e->text_len);
}

/* Whether kind is one that crosses servers: what happens in a room or to a person. A
 * server's stop is its own clients' affair. */
static bool crosses(unsigned kind)
{
    return kind < EVENT_SHUTDOWN;
}

/* A pseudo or a room's name: empty where the kind allows none, else as a client's. */
static bool valid_name(const char *s, size_t len)
{
    return len == 0 || pseudo_check(s, len) == PSEUDO_OK;
}

/* A node's name: what --node accepts. */
static bool valid_node(const char *s, size_t len)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789-_.:";
    if (len == 0 || len > sizeof(((struct wire_event *)0)->node) - 1) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!s[i] || !strchr(allowed, s[i])) {
            return false;
        }
    }
    return true;
}

int wire_decode(const void *data, size_t len, size_t max_text, struct wire_event *out)
{
    const unsigned char *p = data;
    if (len < 2) {
        return -EINVAL;
    }
    if (p[0] != WIRE_VERSION) {
        return -EPROTO;
    }
    if (len < WIRE_HEADER_SIZE) {
        return -EINVAL;
    }
    size_t header = get16(p + 2), node_len = get16(p + 4), who_len = get16(p + 6);
    size_t where_len = get16(p + 8), to_len = get16(p + 10), text_len = get32(p + 12);
    if (header < WIRE_HEADER_SIZE || !crosses(p[1]) || text_len > max_text ||
        len - WIRE_HEADER_SIZE < header - WIRE_HEADER_SIZE ||
        len - header != node_len + who_len + where_len + to_len + text_len) {
        return -EINVAL;
    }
    const char *node = (const char *)p + header;
    const char *who = node + node_len, *where = who + who_len, *to = where + where_len;
    const char *text = to + to_len;
    if (!valid_node(node, node_len) || !valid_name(who, who_len) || !valid_name(where, where_len) ||
        !valid_name(to, to_len) || to_len > sizeof(out->to) - 1 ||
        !sanitize_is_clean(text, text_len)) {
        return -EINVAL;
    }
    struct event_fields f = {.kind = p[1],
                             .room = EVENT_NO_ROOM,
                             .origin = get64(p + 24),
                             .dated = true,
                             .time = (int64_t)get64(p + 16),
                             .who = who,
                             .who_len = who_len,
                             .where = where,
                             .where_len = where_len,
                             .text = text,
                             .text_len = text_len};
    memcpy(out->node, node, node_len);
    out->node[node_len] = '\0';
    memcpy(out->to, to, to_len);
    out->to[to_len] = '\0';
    out->e = event_new(&f);
    return 0;
}
