/* xalloc.h - allocation wrappers that abort on failure.
 *
 * Linked into both programs. Memory stays bounded because every input is bounded
 * (docs/SECURITY.md), not because malloc() fails, so an allocation failure is a bug or
 * an exhausted machine: log the size and abort. Callers never test for NULL.
 */
#ifndef CAUSERIE_XALLOC_H
#define CAUSERIE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
/* Zeroed array of n elements; aborts if n * size overflows. */
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Resizes to n elements of size bytes; aborts if n * size overflows. */
void *xreallocarray(void *ptr, size_t n, size_t size);
/* Zeroed array of n elements aligned to align bytes (a power of two, a multiple of the size
 * of a pointer): per-thread states that must not share a cache line. Freed with free(). */
void *xaligned_calloc(size_t n, size_t size, size_t align);
char *xstrdup(const char *s);

/* The one growth rule of the tree, for every array that grows as it fills: the capacity
 * an array of cap elements needs to hold need of them. cap itself if it is enough;
 * otherwise it doubles, starting from first (cap 0), until it is. Aborts if the count
 * would overflow. Rings use it and then move their elements themselves. */
size_t grow_capacity(size_t cap, size_t need, size_t first);
/* Grows the array p of *cap elements of size bytes to hold at least need elements, by
 * grow_capacity(), and returns it (moved, perhaps); *cap is updated. Elements past the old
 * capacity are not initialised. Call it as `if (len == cap) a = xgrow(a, &cap, len + 1,
 * sizeof(*a), 16);`, or with need larger to reserve in one step. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size, size_t first);
char *xmemdup0(const void *data, size_t len); /* copy of len bytes plus a NUL */

#endif
