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
char *xstrdup(const char *s);
char *xmemdup0(const void *data, size_t len); /* copy of len bytes plus a NUL */

#endif
