/* fuzz_wire.c - libFuzzer harness for the events' wire form between servers
 * (src/server/wire.c).
 *
 * Whatever a node sends is decoded; what decodes must be an event this server would have
 * accepted from a client (a known kind, clean text within the limit), and encoding it
 * again from the same node, for the same person, must decode to the same fields: the form
 * loses nothing it keeps.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "server/event.h"
#include "server/render.h"
#include "server/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEXT 4096

static void same(const struct event *a, const struct event *b)
{
    assert(a->kind == b->kind && a->origin == b->origin && a->time == b->time);
    assert(a->who_len == b->who_len && memcmp(a->who, b->who, a->who_len) == 0);
    assert(a->where_len == b->where_len && memcmp(a->where, b->where, a->where_len) == 0);
    assert(a->text_len == b->text_len && memcmp(a->text, b->text, a->text_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        pseudo_init();
        render_init();
        ready = 1;
    }
    struct wire_event w;
    if (wire_decode(data, size, MAX_TEXT, &w) != 0) {
        return 0;
    }
    assert(w.e->kind < EVENT_SHUTDOWN && w.e->text_len <= MAX_TEXT);
    assert(sanitize_is_clean(w.e->text, w.e->text_len));
    struct buf again = BUF_INIT;
    wire_encode(w.e, w.node, w.to[0] ? w.to : NULL, &again);
    struct wire_event w2;
    assert(wire_decode(again.data, again.len, MAX_TEXT, &w2) == 0);
    same(w.e, w2.e);
    assert(strcmp(w.node, w2.node) == 0 && strcmp(w.to, w2.to) == 0);
    event_unref(w2.e);
    event_unref(w.e);
    buf_release(&again);
    return 0;
}
