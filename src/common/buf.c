/* buf.c - a growable byte buffer; see buf.h for the invariants callers rely on.
 *
 * Linked into both programs, no I/O. A buffer is used by one thread at a time (its
 * owner's), so there is no lock. Capacity starts at 16 bytes and doubles, so appending is
 * amortised O(1); a size that would overflow aborts through xmalloc(SIZE_MAX), which logs
 * it. buf_empty_string is shared by every empty buffer on every thread, so nothing here
 * ever writes to it, not even a NUL: only a buffer with alloc > 0 is written.
 */
#include "buf.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Shared by every empty buffer, on every thread; never written. */
char buf_empty_string[1];

void buf_init(struct buf *b)
{
    b->data = buf_empty_string;
    b->len = 0;
    b->alloc = 0;
}

void buf_release(struct buf *b)
{
    if (b->alloc) {
        free(b->data);
    }
    buf_init(b);
}

char *buf_detach(struct buf *b)
{
    char *data = b->alloc ? b->data : xmemdup0("", 0);
    buf_init(b);
    return data;
}

void buf_grow(struct buf *b, size_t extra)
{
    if (extra >= SIZE_MAX - b->len - 1) {
        xmalloc(SIZE_MAX); /* aborts with the size logged */
    }
    size_t need = b->len + extra + 1;
    if (need <= b->alloc) {
        return;
    }
    size_t alloc = b->alloc ? b->alloc : 16;
    while (alloc < need) {
        alloc = alloc < SIZE_MAX / 2 ? alloc * 2 : need;
    }
    if (b->alloc) {
        b->data = xrealloc(b->data, alloc);
    } else {
        b->data = xmalloc(alloc);
        b->data[0] = '\0';
    }
    b->alloc = alloc;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
    if (len == 0) {
        return;
    }
    buf_grow(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void buf_append_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_append_char(struct buf *b, char c)
{
    buf_append(b, &c, 1);
}

void buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(b->data + b->len, b->alloc ? b->alloc - b->len : 0, fmt, ap2);
    va_end(ap2);
    assert(n >= 0);
    if ((size_t)n >= (b->alloc ? b->alloc - b->len : 0)) {
        buf_grow(b, (size_t)n);
        n = vsnprintf(b->data + b->len, b->alloc - b->len, fmt, ap);
        assert(n >= 0);
    }
    b->len += (size_t)n;
}

void buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(b, fmt, ap);
    va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
    assert(n <= b->len);
    if (n == 0) {
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->alloc) {
        b->data[0] = '\0'; /* never write the shared empty string: other threads read it */
    }
}
