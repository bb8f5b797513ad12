/* set.c - arrays of pointers with O(1) removal; see set.h.
 *
 * Pure bookkeeping, run by the one thread that owns each set: a loop for its members,
 * connections and deadlines. Growth follows the tree's one rule (xgrow()); a set never
 * shrinks, since its elements come back.
 */
#include "set.h"

#include <assert.h>
#include <stdlib.h>

#include "common/xalloc.h"

void set_add(struct set *s, void *item, uint32_t *index)
{
    assert(*index == SET_NO_INDEX);
    assert(s->len < SET_NO_INDEX);
    if (s->len == s->cap) {
        s->items = xgrow(s->items, &s->cap, (size_t)s->len + 1, sizeof(*s->items), 16);
    }
    *index = s->len;
    s->items[s->len++] = item;
}

void set_remove(struct set *s, uint32_t *index, set_index_fn index_of)
{
    uint32_t i = *index;
    assert(i < s->len);
    void *last = s->items[--s->len];
    s->items[i] = last;
    *index_of(last) = i;
    *index = SET_NO_INDEX;
}

void set_release(struct set *s)
{
    free(s->items);
    *s = (struct set){0};
}
