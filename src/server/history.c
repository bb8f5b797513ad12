/* history.c - a room's ring of recent events; see history.h for the contract.
 *
 * Called under the order lock (broadcast.c) for push, copy and clear; drop runs wherever
 * the copies went, without any lock. The ring holds references to the events themselves,
 * so keeping a line costs one pointer, not a copy of its text.
 */
#include "history.h"

#include <stdlib.h>

#include "common/xalloc.h"
#include "event.h"

void history_init(struct history *h, unsigned cap)
{
    *h = (struct history){.cap = cap};
}

struct event *history_push(struct history *h, struct event *e)
{
    if (h->cap == 0) {
        return NULL;
    }
    if (!h->ring) {
        h->ring = xcalloc(h->cap, sizeof(*h->ring));
    }
    event_ref(e);
    if (h->len == h->cap) {
        struct event *evicted = h->ring[h->head];
        h->ring[h->head] = e;
        h->head = (h->head + 1) % h->cap;
        return evicted;
    }
    h->ring[(h->head + h->len) % h->cap] = e;
    h->len++;
    return NULL;
}

size_t history_copy(const struct history *h, struct event **out)
{
    for (uint32_t i = 0; i < h->len; i++) {
        out[i] = h->ring[(h->head + i) % h->cap];
        event_ref(out[i]);
    }
    return h->len;
}

void history_clear(struct history *h)
{
    for (uint32_t i = 0; i < h->len; i++) {
        event_unref(h->ring[(h->head + i) % h->cap]);
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

void history_drop(struct event **e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        event_unref(e[i]);
    }
}
