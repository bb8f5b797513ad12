/* msg.c - immutable, reference-counted wire messages; see msg.h. */
#include "msg.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"

/* Allocates a message with room for len bytes of line, '\n' included. */
static struct msg *msg_alloc(uint64_t origin, size_t len)
{
    struct msg *m = xmalloc(sizeof(*m) + len + 1);
    atomic_init(&m->refs, 1);
    m->seq = 0;
    m->origin = origin;
    m->room = NULL;
    m->len = len;
    m->data[len] = '\0';
    return m;
}

struct msg *msg_new(uint64_t origin, char kind, const char *text, size_t len)
{
    struct msg *m = msg_alloc(origin, len + 3);
    m->data[0] = kind;
    m->data[1] = ' ';
    memcpy(m->data + 2, text, len);
    m->data[len + 2] = '\n';
    return m;
}

struct msg *msg_newf(uint64_t origin, char kind, const char *fmt, ...)
{
    struct buf text = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&text, fmt, ap);
    va_end(ap);
    struct msg *m = msg_new(origin, kind, text.data, text.len);
    buf_release(&text);
    return m;
}

struct msg *msg_new_lines(const char *data, size_t len)
{
    assert(len >= 1 && data[len - 1] == '\n');
    struct msg *m = msg_alloc(0, len);
    memcpy(m->data, data, len);
    return m;
}

struct msg *msg_new_line(const char *text, size_t len)
{
    struct msg *m = msg_alloc(0, len + 1);
    memcpy(m->data, text, len);
    m->data[len] = '\n';
    return m;
}

struct msg *msg_new_chat(uint64_t origin, const char *pseudo, const char *text, size_t len)
{
    size_t plen = strlen(pseudo);
    struct msg *m = msg_alloc(origin, 2 + plen + 2 + len + 1);
    char *p = m->data;
    *p++ = '>';
    *p++ = ' ';
    memcpy(p, pseudo, plen);
    p += plen;
    *p++ = ':';
    *p++ = ' ';
    memcpy(p, text, len);
    p[len] = '\n';
    return m;
}

void msg_ref_many(struct msg *m, unsigned n)
{
    atomic_fetch_add_explicit(&m->refs, n, memory_order_relaxed);
}

void msg_ref(struct msg *m)
{
    msg_ref_many(m, 1);
}

void msg_unref_many(struct msg *m, unsigned n)
{
    unsigned before = atomic_fetch_sub_explicit(&m->refs, n, memory_order_acq_rel);
    assert(before >= n);
    if (before == n) {
        free(m);
    }
}

void msg_unref(struct msg *m)
{
    msg_unref_many(m, 1);
}
