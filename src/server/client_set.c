/* client_set.c - arrays of clients with O(1) removal; see client_set.h. */
#include "client_set.h"

#include <assert.h>
#include <stdlib.h>

#include "common/xalloc.h"

void client_set_add(struct client_set *s, struct client *c, uint32_t *index)
{
    assert(*index == CLIENT_NO_INDEX);
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->items = xreallocarray(s->items, s->cap, sizeof(*s->items));
    }
    *index = s->len;
    s->items[s->len++] = c;
}

void client_set_remove(struct client_set *s, uint32_t *index,
                       uint32_t *(*index_of)(struct client *))
{
    uint32_t i = *index;
    assert(i < s->len);
    struct client *last = s->items[--s->len];
    s->items[i] = last;
    *index_of(last) = i;
    *index = CLIENT_NO_INDEX;
}

void client_set_release(struct client_set *s)
{
    free(s->items);
    *s = (struct client_set){0};
}
