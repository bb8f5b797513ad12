/* set.h - an array of pointers in which each element knows its own place.
 *
 * The sets a loop walks for every message or every turn: the members of a room on one
 * loop (broadcast.c), a loop's connections and those with output pending (client.c), its
 * deadlines (loop.c). An array, for cache-friendly walks of 100,000 elements; each element
 * keeps its index in a field of its own, so that removal is O(1): the last element moves
 * into the hole. The set borrows its elements. One thread only: whoever owns the set.
 */
#ifndef CAUSERIE_SET_H
#define CAUSERIE_SET_H

#include <stddef.h>
#include <stdint.h>

/* An element's index field when it is in no such set. */
#define SET_NO_INDEX UINT32_MAX

struct set {
    void **items; /* owned array; the elements are borrowed */
    uint32_t len;
    size_t cap;
};

/* Where an element keeps its index in a given set. */
typedef uint32_t *(*set_index_fn)(void *item);

/* Adds item, whose index field is *index (SET_NO_INDEX: in no such set), and stores its
 * place there. */
void set_add(struct set *s, void *item, uint32_t *index);
/* Removes the element whose index field is *index and sets that to SET_NO_INDEX; the last
 * element takes its place, and index_of(that element) says where it keeps its index. */
void set_remove(struct set *s, uint32_t *index, set_index_fn index_of);
void set_release(struct set *s);

#endif
