/* event.c - events and their renderings; see event.h.
 *
 * An event is one allocation: the header, then who, where and text, each NUL-terminated,
 * then rendering 0. Later renderings are messages of their own, which the event holds and
 * drops with its last reference. Two loops may render the same event at once: both make
 * it, one compare-and-swap keeps the first and the other drops its own, which is rare and
 * cheaper than a lock on every event.
 */
#include "event.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"

/* Set at start, before any event, then only read. */
static struct event_line_renderer line_renderer;
static event_renderer renderers[EVENT_RENDERINGS];

void event_set_line_renderer(const struct event_line_renderer *r)
{
    line_renderer = *r;
}

void event_set_renderer(unsigned n, event_renderer r)
{
    assert(n >= 1 && n < EVENT_RENDERINGS);
    renderers[n] = r;
}

static void event_free(struct msg *m)
{
    struct event *e = (struct event *)m; /* the line is the event's first member */
    for (unsigned i = 0; i < EVENT_RENDERINGS - 1; i++) {
        struct msg *r = atomic_load_explicit(&e->renderings[i], memory_order_acquire);
        if (r && r != &e->line) {
            msg_unref(r);
        }
    }
    free(e);
}

/* Copies s[0..len) and a NUL to *at, advancing it; returns the copy. */
static const char *place(char **at, const char *s, size_t len)
{
    char *copy = *at;
    if (len > 0) {
        memcpy(copy, s, len);
    }
    copy[len] = '\0';
    *at += len + 1;
    return copy;
}

struct event *event_new(const struct event_fields *f)
{
    assert(line_renderer.measure && f->who_len <= UINT16_MAX && f->where_len <= UINT16_MAX);
    size_t strings = f->who_len + f->where_len + f->text_len + 3;
    /* Measured on a header that points at the caller's strings, before they are copied. */
    struct event probe = {.kind = (uint8_t)f->kind,
                          .room = f->room,
                          .who = f->who ? f->who : "",
                          .where = f->where ? f->where : "",
                          .text = f->text ? f->text : "",
                          .who_len = (uint16_t)f->who_len,
                          .where_len = (uint16_t)f->where_len,
                          .text_len = (uint32_t)f->text_len};
    size_t line_len = line_renderer.measure(&probe);
    struct event *e = xmalloc(sizeof(*e) + strings + line_len + 1);
    *e = probe;
    e->origin = f->origin;
    e->time = f->dated ? f->time : (int64_t)time(NULL);
    char *at = (char *)(e + 1);
    e->who = place(&at, probe.who, f->who_len);
    e->where = place(&at, probe.where, f->where_len);
    e->text = place(&at, probe.text, f->text_len);
    for (unsigned i = 0; i < EVENT_RENDERINGS - 1; i++) {
        atomic_init(&e->renderings[i], NULL);
    }
    size_t written = line_renderer.write(e, at);
    assert(written == line_len);
    msg_init(&e->line, at, written, event_free);
    return e;
}

struct msg *event_rendering(struct event *e, unsigned n)
{
    if (n == 0) {
        return &e->line;
    }
    assert(n < EVENT_RENDERINGS && renderers[n]);
    _Atomic(struct msg *) *slot = &e->renderings[n - 1]; /* rendering 0 is e->line */
    struct msg *r = atomic_load_explicit(slot, memory_order_acquire);
    if (r) {
        return r;
    }
    struct msg *made = renderers[n](e);
    if (!made) {
        made = &e->line; /* the same bytes: shared, and no reference of its own */
    }
    struct msg *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(slot, &expected, made, memory_order_acq_rel,
                                                memory_order_acquire)) {
        return made;
    }
    if (made != &e->line) {
        msg_unref(made); /* another loop made it first */
    }
    return expected;
}
