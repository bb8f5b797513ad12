/* fuzz_render.c - libFuzzer harness for events and their line-protocol renderings
 * (src/server/render.c, event.c), and for reading kept lines back from the history file.
 *
 * The first byte picks an event kind; the rest is split at its first two NUL bytes into
 * who, where and text, sanitised as the server sanitises what peers send. After each input
 * it checks: every rendering is one line, its kind first and '\n' last and nowhere else;
 * the events form of an arrival, departure or rename gives back who and where (or the new
 * pseudo) through the client's parser, proto_parse_fields(), whenever they are a pseudo and
 * a room name that the server would accept; and the whole input, read as a line of the
 * history file, is either refused or renders back to exactly the same bytes.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/proto.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "server/event.h"
#include "server/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next NUL-terminated piece of in, sanitised into out. */
static void piece(const char **in, size_t *len, struct buf *out)
{
    const char *end = memchr(*in, '\0', *len);
    size_t n = end ? (size_t)(end - *in) : *len;
    sanitize_append(out, *in, n);
    *in += n + (end ? 1 : 0);
    *len -= n + (end ? 1 : 0);
}

static void check_line(const struct msg *m)
{
    assert(m->len >= 3 && m->data[1] == ' ' && m->data[m->len - 1] == '\n');
    assert(!memchr(m->data, '\n', m->len - 1));
}

static bool span_is(struct proto_span sp, const char *s)
{
    return sp.len == strlen(s) && memcmp(sp.p, s, sp.len) == 0;
}

static void check_fields(struct event *e)
{
    struct msg *m = event_rendering(e, RENDER_EVENTS);
    check_line(m);
    if (m == &e->line || pseudo_check(e->who, e->who_len) != PSEUDO_OK) {
        return;
    }
    bool rename = e->kind == EVENT_RENAME;
    const char *second = rename ? e->text : e->where;
    if ((rename ? pseudo_check(e->text, e->text_len) : pseudo_check(e->where, e->where_len)) !=
        PSEUDO_OK) {
        return;
    }
    char kind;
    const char *text;
    size_t len;
    struct proto_span f[2], sentence, room;
    assert(proto_split_kind(m->data, m->len - 1, &kind, &text, &len));
    assert(proto_parse_fields(text, len, 2, f, &sentence));
    assert(span_is(f[0], e->who));
    if (rename) {
        assert(span_is(f[1], second));
    } else {
        assert(proto_room_field(f[1], &room) && room.len == e->where_len &&
               memcmp(room.p, e->where, room.len) == 0);
    }
}

static void check_kept(const char *line, size_t len)
{
    struct event_fields f = {.where = "r", .where_len = 1, .dated = true, .time = 1};
    if (memchr(line, '\n', len) || !render_parse_kept(line, len, &f)) {
        return;
    }
    struct event *e = event_new(&f);
    assert(e->line.len == len + 1 && memcmp(e->line.data, line, len) == 0);
    event_unref(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        pseudo_init();
        render_init();
        ready = true;
    }
    if (size < 1) {
        return 0;
    }
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    struct buf who = BUF_INIT, where = BUF_INIT, text = BUF_INIT;
    piece(&in, &len, &who);
    piece(&in, &len, &where);
    piece(&in, &len, &text);
    if (who.len <= UINT16_MAX && where.len <= UINT16_MAX) {
        struct event_fields f = {.kind = (enum event_kind)(data[0] % (EVENT_SHUTDOWN + 1)),
                                 .who = who.data,
                                 .who_len = who.len,
                                 .where = where.data,
                                 .where_len = where.len,
                                 .text = text.data,
                                 .text_len = text.len};
        struct event *e = event_new(&f);
        check_line(&e->line);
        check_fields(e);
        event_unref(e);
    }
    check_kept((const char *)data, size);
    buf_release(&who);
    buf_release(&where);
    buf_release(&text);
    return 0;
}
