/* history.c - a room's ring of recent messages; see history.h for the contract.
 *
 * Called under the order lock (broadcast.c) for push, copy and clear; format and drop run
 * on the loop thread that sends history, without any lock. The ring holds references to
 * the broadcast messages themselves, so keeping a line costs one pointer and one time,
 * not a copy of its text.
 */
#include "history.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"
#include "msg.h"

void history_init(struct history *h, unsigned cap)
{
    *h = (struct history){.cap = cap};
}

struct msg *history_push(struct history *h, struct msg *m, int64_t time)
{
    if (h->cap == 0) {
        return NULL;
    }
    if (!h->ring) {
        h->ring = xcalloc(h->cap, sizeof(*h->ring));
    }
    msg_ref(m);
    struct msg *evicted = NULL;
    if (h->len == h->cap) {
        evicted = h->ring[h->head].m;
        h->ring[h->head] = (struct history_entry){m, time};
        h->head = (h->head + 1) % h->cap;
        return evicted;
    }
    h->ring[(h->head + h->len) % h->cap] = (struct history_entry){m, time};
    h->len++;
    return NULL;
}

size_t history_copy(const struct history *h, struct history_entry *out)
{
    for (uint32_t i = 0; i < h->len; i++) {
        out[i] = h->ring[(h->head + i) % h->cap];
        msg_ref(out[i].m);
    }
    return h->len;
}

void history_clear(struct history *h)
{
    for (uint32_t i = 0; i < h->len; i++) {
        msg_unref(h->ring[(h->head + i) % h->cap].m);
    }
    free(h->ring);
    h->ring = NULL;
    h->head = 0;
    h->len = 0;
}

size_t history_len(const struct history *h)
{
    return h->len;
}

void history_format(const struct history_entry *e, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        struct tm tm;
        time_t t = (time_t)e[i].time;
        char stamp[32];
        if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
            strcpy(stamp, "1970-01-01T00:00:00Z"); /* a time no calendar holds: from a file */
        }
        buf_grow(out, 2 + strlen(stamp) + 1 + e[i].m->len);
        buf_append_str(out, "~ ");
        buf_append_str(out, stamp);
        buf_append_char(out, ' ');
        buf_append(out, e[i].m->data, e[i].m->len);
    }
}

void history_drop(struct history_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        msg_unref(e[i].m);
    }
}
