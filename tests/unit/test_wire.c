/* test_wire.c - the events' wire form between servers (src/server/wire.c).
 *
 * What one server encodes, another decodes to the same event; a later minor version's
 * longer header is skipped; an unknown major version, a kind that does not cross, and
 * every string a client could not send are refused, as is any length that does not add up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "common/buf.h"
#include "common/pseudo.h"
#include "server/event.h"
#include "server/render.h"
#include "server/wire.h"

#define MAX_TEXT 4096

static int setup(void **state)
{
    (void)state;
    pseudo_init();
    render_init();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pseudo_shutdown();
    return 0;
}

static struct event *chat(const char *who, const char *where, const char *text)
{
    struct event_fields f = {.kind = EVENT_CHAT,
                             .room = 3,
                             .origin = 42,
                             .dated = true,
                             .time = 1765000000,
                             .who = who,
                             .who_len = strlen(who),
                             .where = where,
                             .where_len = strlen(where),
                             .text = text,
                             .text_len = strlen(text)};
    return event_new(&f);
}

static void encode(struct buf *out, const char *node, const char *to)
{
    struct event *e = chat("Zoé", "général", "bonjour à tous");
    wire_encode(e, node, to, out);
    event_unref(e);
}

static void test_what_is_encoded_decodes_to_the_same_event(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    encode(&b, "s1", "bob");
    struct wire_event w;
    assert_int_equal(wire_decode(b.data, b.len, MAX_TEXT, &w), 0);
    assert_string_equal(w.node, "s1");
    assert_string_equal(w.to, "bob");
    assert_int_equal(w.e->kind, EVENT_CHAT);
    assert_int_equal(w.e->origin, 42);
    assert_int_equal(w.e->time, 1765000000);
    assert_int_equal(w.e->room, EVENT_NO_ROOM); /* the receiver places it by name */
    assert_string_equal(w.e->who, "Zoé");
    assert_string_equal(w.e->where, "général");
    assert_string_equal(w.e->text, "bonjour à tous");
    assert_memory_equal(w.e->line.data, "> Zoé: bonjour à tous\n", w.e->line.len);
    event_unref(w.e);
    buf_release(&b);
}

static void test_a_longer_header_of_a_later_minor_version_is_skipped(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    encode(&b, "s1", NULL);
    struct buf longer = BUF_INIT;
    buf_append(&longer, b.data, WIRE_HEADER_SIZE);
    buf_append(&longer, "\x01\x02\x03\x04", 4); /* a field this version does not know */
    buf_append(&longer, b.data + WIRE_HEADER_SIZE, b.len - WIRE_HEADER_SIZE);
    longer.data[3] = WIRE_HEADER_SIZE + 4;
    struct wire_event w;
    assert_int_equal(wire_decode(longer.data, longer.len, MAX_TEXT, &w), 0);
    assert_string_equal(w.e->text, "bonjour à tous");
    assert_string_equal(w.to, "");
    event_unref(w.e);
    buf_release(&longer);
    buf_release(&b);
}

static void test_an_unknown_major_version_is_refused_as_such(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    encode(&b, "s1", NULL);
    b.data[0] = WIRE_VERSION + 1;
    struct wire_event w;
    assert_int_equal(wire_decode(b.data, b.len, MAX_TEXT, &w), -EPROTO);
    buf_release(&b);
}

static void test_every_truncation_and_extension_is_refused(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    encode(&b, "s1", "bob");
    struct wire_event w;
    for (size_t len = 0; len < b.len; len++) {
        assert_int_equal(wire_decode(b.data, len, MAX_TEXT, &w), -EINVAL);
    }
    buf_append_char(&b, 'x');
    assert_int_equal(wire_decode(b.data, b.len, MAX_TEXT, &w), -EINVAL);
    buf_release(&b);
}

/* Decodes b with byte at..at+n replaced by bytes: the verdict. */
static int altered(const struct buf *b, size_t at, const char *bytes, size_t n)
{
    struct buf c = BUF_INIT;
    buf_append(&c, b->data, b->len);
    memcpy(c.data + at, bytes, n);
    struct wire_event w;
    int r = wire_decode(c.data, c.len, MAX_TEXT, &w);
    if (r == 0) {
        event_unref(w.e);
    }
    buf_release(&c);
    return r;
}

static void test_what_a_client_could_not_send_is_refused(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    encode(&b, "s1", "bob");
    size_t node = WIRE_HEADER_SIZE, who = node + 2, text = b.len - strlen("bonjour à tous");
    char kind = EVENT_SHUTDOWN; /* a server's stop is its own clients' only */
    assert_int_equal(altered(&b, 1, &kind, 1), -EINVAL);
    assert_int_equal(altered(&b, node, " ", 1), -EINVAL); /* a node's name */
    assert_int_equal(altered(&b, who, "@", 1), -EINVAL);  /* an operator's mark */
    assert_int_equal(altered(&b, who, "\n", 1), -EINVAL);
    assert_int_equal(altered(&b, text, "\x07", 1), -EINVAL); /* a control character */
    assert_int_equal(altered(&b, text, "\xff", 1), -EINVAL); /* not UTF-8 */
    assert_int_equal(altered(&b, text, "B", 1), 0);          /* the control case */
    struct wire_event w;
    assert_int_equal(wire_decode(b.data, b.len, 5, &w), -EINVAL); /* text past --max-line */
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_is_encoded_decodes_to_the_same_event),
        cmocka_unit_test(test_a_longer_header_of_a_later_minor_version_is_skipped),
        cmocka_unit_test(test_an_unknown_major_version_is_refused_as_such),
        cmocka_unit_test(test_every_truncation_and_extension_is_refused),
        cmocka_unit_test(test_what_a_client_could_not_send_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
