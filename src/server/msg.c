/* msg.c - reference-counted bytes and the batch that drops them; see msg.h.
 *
 * Any thread for references; a batch belongs to the one thread that fills it.
 */
#include "msg.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"

static void free_standalone(struct msg *m)
{
    free(m); /* data lives in the same allocation, after the header */
}

void msg_init(struct msg *m, char *data, size_t len, void (*release)(struct msg *m))
{
    assert(len <= MSG_MAX_LEN);
    atomic_init(&m->refs, 1);
    m->len = (uint32_t)len;
    m->data = data;
    m->data[len] = '\0';
    m->release = release;
}

/* A message with room for len bytes after its header. */
static struct msg *alloc_standalone(size_t len)
{
    if (len > MSG_MAX_LEN) {
        xmalloc(SIZE_MAX); /* aborts, with the size logged: no message is that long */
    }
    struct msg *m = xmalloc(sizeof(*m) + len + 1);
    msg_init(m, (char *)(m + 1), len, free_standalone);
    return m;
}

struct msg *msg_new_blank(size_t len)
{
    return alloc_standalone(len);
}

struct msg *msg_new(char kind, const char *text, size_t len)
{
    struct msg *m = alloc_standalone(len + 3);
    m->data[0] = kind;
    m->data[1] = ' ';
    memcpy(m->data + 2, text, len);
    m->data[len + 2] = '\n';
    return m;
}

struct msg *msg_vnewf(char kind, const char *fmt, va_list ap)
{
    struct buf text = BUF_INIT;
    buf_vappendf(&text, fmt, ap);
    struct msg *m = msg_new(kind, text.data, text.len);
    buf_release(&text);
    return m;
}

struct msg *msg_newf(char kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct msg *m = msg_vnewf(kind, fmt, ap);
    va_end(ap);
    return m;
}

struct msg *msg_new_lines(const char *data, size_t len)
{
    assert(len >= 1 && data[len - 1] == '\n');
    struct msg *m = alloc_standalone(len);
    memcpy(m->data, data, len);
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
        m->release(m);
    }
}

void msg_unref(struct msg *m)
{
    msg_unref_many(m, 1);
}

/* ---------------------------------------------------------------- batch */

struct msg_batch_slot {
    struct msg *m; /* ref(s) held; NULL: a free slot */
    unsigned n;    /* references held on m */
};

static uint32_t slot_of(const struct msg *m, uint32_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)m >> 4; /* allocations are 16-byte aligned */
    return (uint32_t)((x * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

/* The slot that holds m, or the free one where it goes. */
static struct msg_batch_slot *find_slot(struct msg_batch_slot *slots, uint32_t cap,
                                        const struct msg *m)
{
    uint32_t i = slot_of(m, cap);
    while (slots[i].m && slots[i].m != m) {
        i = (i + 1) & (cap - 1);
    }
    return &slots[i];
}

static void grow(struct msg_batch *b)
{
    uint32_t cap = (uint32_t)grow_capacity(b->cap, (size_t)b->cap + 1, 256); /* double */
    struct msg_batch_slot *slots = xcalloc(cap, sizeof(*slots));
    for (uint32_t i = 0; i < b->cap; i++) {
        if (b->slots[i].m) {
            *find_slot(slots, cap, b->slots[i].m) = b->slots[i];
        }
    }
    free(b->slots);
    b->slots = slots;
    b->cap = cap;
}

void msg_batch_add(struct msg_batch *b, struct msg *m)
{
    if ((b->n + 1) * 2 > b->cap) {
        grow(b); /* kept at most half full, so probes stay short */
    }
    struct msg_batch_slot *s = find_slot(b->slots, b->cap, m);
    if (!s->m) {
        s->m = m;
        b->n++;
    }
    s->n++;
}

void msg_batch_release(struct msg_batch *b)
{
    if (b->n == 0) {
        return;
    }
    for (uint32_t i = 0; i < b->cap; i++) {
        if (b->slots[i].m) {
            msg_unref_many(b->slots[i].m, b->slots[i].n);
            b->slots[i] = (struct msg_batch_slot){NULL, 0};
        }
    }
    b->n = 0;
}

void msg_batch_free(struct msg_batch *b)
{
    msg_batch_release(b);
    free(b->slots);
    *b = (struct msg_batch){0};
}
