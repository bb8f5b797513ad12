/* xalloc.c - allocation wrappers that abort on failure; see xalloc.h. */
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
        die_oom(n * size);
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
