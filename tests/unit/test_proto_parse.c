/* test_proto_parse.c - unit tests for the parsers of server lines (src/common/proto.c).
 *
 * Each form of docs/PROTOCOL.md that programs read: messages, actions, history lines, and
 * the "FIELD... : SENTENCE" form of the '=' line and of the events. Every input is copied
 * right before an unmapped page (guard_page.h), so a parser that reads one byte past what
 * it was given crashes the test. Single-threaded.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, for the guard page */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/proto.h"

#define GUARD_PAGE_BYTES 4096
#include "guard_page.h"

/* s at the end of the readable region, and its length. */
#define AT_END(s) at_page_end(s, strlen(s)), strlen(s)

static void assert_span(struct proto_span sp, const char *want)
{
    assert_int_equal(sp.len, strlen(want));
    assert_memory_equal(sp.p, want, sp.len);
}

/* ---------------------------------------------------------------- messages and actions */

static void test_message_splits_at_first_colon_space(void **state)
{
    (void)state;
    struct proto_span who, body;
    assert_true(proto_parse_message(AT_END("bob: salut: ça va ?"), &who, &body));
    assert_span(who, "bob");
    assert_span(body, "salut: ça va ?");
}

static void test_message_may_have_empty_body(void **state)
{
    (void)state;
    struct proto_span who, body;
    assert_true(proto_parse_message(AT_END("bob: "), &who, &body));
    assert_span(who, "bob");
    assert_span(body, "");
}

static void test_message_needs_a_pseudo_and_a_colon_space(void **state)
{
    (void)state;
    struct proto_span who, body;
    assert_false(proto_parse_message(AT_END(": salut"), &who, &body));
    assert_false(proto_parse_message(AT_END("bob:salut"), &who, &body));
    assert_false(proto_parse_message(AT_END("bob:"), &who, &body));
    assert_false(proto_parse_message(AT_END(""), &who, &body));
}

static void test_action_is_first_word_then_text(void **state)
{
    (void)state;
    struct proto_span who, body;
    assert_true(proto_parse_action(AT_END("bob range son bureau"), &who, &body));
    assert_span(who, "bob");
    assert_span(body, "range son bureau");
    assert_true(proto_parse_action(AT_END("bob"), &who, &body));
    assert_span(who, "bob");
    assert_span(body, "");
    assert_false(proto_parse_action(AT_END(" range"), &who, &body));
    assert_false(proto_parse_action(AT_END(""), &who, &body));
}

static void test_history_is_time_then_a_whole_line(void **state)
{
    (void)state;
    struct proto_span when, line;
    assert_true(proto_parse_history(AT_END("2026-11-25T14:03:12Z > bob: salut"), &when, &line));
    assert_span(when, "2026-11-25T14:03:12Z");
    assert_span(line, "> bob: salut");
    assert_false(proto_parse_history(AT_END("2026-11-25T14:03:12Z"), &when, &line));
    assert_false(proto_parse_history(AT_END("2026-11-25T14:03:12Z >"), &when, &line));
    assert_false(proto_parse_history(AT_END(" > bob: salut"), &when, &line));
}

/* ---------------------------------------------------------------- fields */

static void test_fields_then_sentence(void **state)
{
    (void)state;
    struct proto_span f[2], sentence;
    assert_true(proto_parse_fields(AT_END("bob #jeux : bob a rejoint #jeux"), 2, f, &sentence));
    assert_span(f[0], "bob");
    assert_span(f[1], "#jeux");
    assert_span(sentence, "bob a rejoint #jeux");
}

static void test_fields_sentence_may_hold_the_separator(void **state)
{
    (void)state;
    struct proto_span f[1], sentence;
    assert_true(proto_parse_fields(AT_END("#jeux : a : b"), 1, f, &sentence));
    assert_span(f[0], "#jeux");
    assert_span(sentence, "a : b");
}

static void test_fields_without_sentence_end_at_the_colon(void **state)
{
    (void)state;
    struct proto_span f[2], sentence;
    assert_true(proto_parse_fields(AT_END("#jeux 0 :"), 2, f, &sentence));
    assert_span(f[1], "0");
    assert_span(sentence, "");
}

static void test_fields_refuse_other_shapes(void **state)
{
    (void)state;
    struct proto_span f[2], sentence;
    assert_false(proto_parse_fields(AT_END("bob : x"), 2, f, &sentence));         /* one field */
    assert_false(proto_parse_fields(AT_END("bob #jeux x : y"), 2, f, &sentence)); /* three */
    assert_false(proto_parse_fields(AT_END("bob  #jeux : y"), 2, f, &sentence));  /* empty */
    assert_false(proto_parse_fields(AT_END("bob #jeux :y"), 2, f, &sentence));
    assert_false(proto_parse_fields(AT_END("bob #jeux"), 2, f, &sentence));
    assert_false(proto_parse_fields(AT_END("bob #jeux "), 2, f, &sentence));
    assert_false(proto_parse_fields(AT_END(""), 2, f, &sentence));
}

static void test_who_line_is_two_fields_and_names(void **state)
{
    (void)state;
    struct proto_span f[2], names, room;
    unsigned count = 0;
    assert_true(proto_parse_fields(AT_END("#général 3 : alice bob carol"), 2, f, &names));
    assert_true(proto_room_field(f[0], &room));
    assert_span(room, "général");
    assert_true(proto_count_field(f[1], &count));
    assert_int_equal(count, 3);
    assert_span(names, "alice bob carol");
}

static void test_room_field_needs_hash_and_a_name(void **state)
{
    (void)state;
    struct proto_span room;
    assert_false(proto_room_field((struct proto_span){"#", 1}, &room));
    assert_false(proto_room_field((struct proto_span){"jeux", 4}, &room));
    assert_false(proto_room_field((struct proto_span){"", 0}, &room));
}

static void test_count_field_is_decimal_and_bounded(void **state)
{
    (void)state;
    unsigned n = 7;
    assert_true(proto_count_field((struct proto_span){"0", 1}, &n));
    assert_int_equal(n, 0);
    assert_true(proto_count_field((struct proto_span){"999999999", 9}, &n));
    assert_int_equal(n, 999999999);
    assert_false(proto_count_field((struct proto_span){"1000000000", 10}, &n));
    assert_false(proto_count_field((struct proto_span){"12a", 3}, &n));
    assert_false(proto_count_field((struct proto_span){"-1", 2}, &n));
    assert_false(proto_count_field((struct proto_span){"", 0}, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_splits_at_first_colon_space),
        cmocka_unit_test(test_message_may_have_empty_body),
        cmocka_unit_test(test_message_needs_a_pseudo_and_a_colon_space),
        cmocka_unit_test(test_action_is_first_word_then_text),
        cmocka_unit_test(test_history_is_time_then_a_whole_line),
        cmocka_unit_test(test_fields_then_sentence),
        cmocka_unit_test(test_fields_sentence_may_hold_the_separator),
        cmocka_unit_test(test_fields_without_sentence_end_at_the_colon),
        cmocka_unit_test(test_fields_refuse_other_shapes),
        cmocka_unit_test(test_who_line_is_two_fields_and_names),
        cmocka_unit_test(test_room_field_needs_hash_and_a_name),
        cmocka_unit_test(test_count_field_is_decimal_and_bounded),
    };
    return cmocka_run_group_tests_name("proto_parse", tests, map_guard_page, unmap_guard_page);
}
