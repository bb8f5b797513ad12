/* xalloc.c - allocation wrappers that abort on failure; see xalloc.h for why.
 *
 * Linked into both programs; any thread may call it, since it keeps no state. A request
 * for zero bytes asks for one, so that success never returns NULL. On failure die_oom()
 * writes the size to stderr with one write(2), not stdio, because the heap may be unable
 * to serve a FILE buffer, then aborts. An n * size that overflows is reported as SIZE_MAX,
 * never as the wrapped-around product: xreallocarray() checks before realloc(), and
 * xcalloc(), whose calloc() checks for itself, works it out only after a failure.
 */
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die_oom(size_t size)
{
    char line[96];
    int n = snprintf(line, sizeof(line), "causerie: out of memory (%zu bytes)\n", size);
    /* write(2), not stdio: the heap may be in no state to serve a FILE buffer. */
    if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* Nothing else to try: we are about to abort anyway. */
    }
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) {
        die_oom(size);
    }
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        /* calloc() also fails when n * size overflows: report SIZE_MAX, not the wrapped
         * product, which could look like a small request. */
        die_oom(size && n > SIZE_MAX / size ? SIZE_MAX : n * size);
    }
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p) {
        die_oom(size);
    }
    return p;
}

void *xreallocarray(void *ptr, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        die_oom(SIZE_MAX);
    }
    return xrealloc(ptr, n * size);
}

size_t grow_capacity(size_t cap, size_t need, size_t first)
{
    if (need <= cap) {
        return cap;
    }
    size_t n = cap ? cap : (first ? first : 1);
    while (n < need) {
        if (n > SIZE_MAX / 2) {
            die_oom(SIZE_MAX);
        }
        n *= 2;
    }
    return n;
}

void *xgrow(void *p, size_t *cap, size_t need, size_t size, size_t first)
{
    size_t n = grow_capacity(*cap, need, first);
    if (n == *cap) {
        return p;
    }
    p = xreallocarray(p, n, size);
    *cap = n;
    return p;
}

void *xaligned_calloc(size_t n, size_t size, size_t align)
{
    if (size && n > SIZE_MAX / size) {
        die_oom(SIZE_MAX);
    }
    size_t bytes = n * size;
    void *p = NULL;
    if (posix_memalign(&p, align, bytes > 0 ? bytes : 1) != 0) {
        die_oom(bytes);
    }
    memset(p, 0, bytes);
    return p;
}

char *xstrdup(const char *s)
{
    return xmemdup0(s, strlen(s));
}

char *xmemdup0(const void *data, size_t len)
{
    if (len == SIZE_MAX) {
        die_oom(len);
    }
    char *p = xmalloc(len + 1);
    memcpy(p, data, len);
    p[len] = '\0';
    return p;
}
