/* buf.h - a growable byte buffer.
 *
 * Linked into both programs; no I/O. Invariants, as in git's strbuf: data[len] is always
 * '\0' (so text can be passed to C string functions), len < alloc whenever alloc > 0, and
 * an empty buffer that never grew owns no memory (data points at a shared empty string),
 * so a struct buf costs nothing for a connection that has nothing buffered.
 * The buffer owns data; buf_release() frees it and leaves an empty buffer.
 */
#ifndef CAUSERIE_BUF_H
#define CAUSERIE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;   /* owned when alloc > 0; never NULL */
    size_t len;   /* bytes in use, not counting the terminating NUL */
    size_t alloc; /* bytes allocated, 0 when data is the shared empty string */
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        buf_empty_string, 0, 0                                                                     \
    }
extern char buf_empty_string[];

void buf_init(struct buf *b);
void buf_release(struct buf *b);
/* Makes room for at least extra more bytes (plus the NUL) without changing len. */
void buf_grow(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vappendf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drops the first n bytes (n <= len), moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b); /* len = 0, memory kept */
/* Hands the bytes over: returns them, NUL-terminated, as memory the caller frees (a fresh
 * empty string if the buffer owned none), and leaves b empty, owning nothing. */
char *buf_detach(struct buf *b);

#endif
