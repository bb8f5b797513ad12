/* test_irc_parse.c - unit tests for reading an IRC line (src/server/irc_parse.c).
 *
 * Lines as irssi, WeeChat and the IRC test suites send them: registration, tags, a source,
 * a trailing parameter with spaces or empty, several spaces between words, the fifteenth
 * parameter that takes the rest of the line; then the limits (tag data, the 512 bytes of the
 * line), the shapes that are not a message, and the reading of tags and their escapes. Each
 * line is parsed from a copy put right before an unmapped page, so that a read past its end
 * crashes the test.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, for the guard page */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "server/irc_parse.h"

#define GUARD_PAGE_BYTES (IRC_INPUT_MAX + 16)
#include "guard_page.h"

/* Parses line (len bytes) from a copy that ends at the guard page. */
static enum irc_parse_result parse_n(const char *line, size_t len, struct irc_message *m)
{
    return irc_parse(at_page_end(line, len), len, m);
}

static enum irc_parse_result parse(const char *line, struct irc_message *m)
{
    return parse_n(line, strlen(line), m);
}

static void assert_slice(struct irc_slice s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.p, want, s.len);
}

static void test_registration_lines(void **state)
{
    (void)state;
    struct irc_message m;
    assert_int_equal(parse("NICK alice", &m), IRC_PARSE_OK);
    assert_slice(m.command, "NICK");
    assert_int_equal(m.n_params, 1);
    assert_slice(m.params[0], "alice");
    assert_false(m.trailing);
    assert_int_equal(m.tags.len, 0);
    assert_int_equal(m.source.len, 0);

    assert_int_equal(parse("USER alice 0 * :Alice Martin", &m), IRC_PARSE_OK);
    assert_slice(m.command, "USER");
    assert_int_equal(m.n_params, 4);
    assert_slice(m.params[0], "alice");
    assert_slice(m.params[1], "0");
    assert_slice(m.params[2], "*");
    assert_slice(m.params[3], "Alice Martin");
    assert_true(m.trailing);

    assert_int_equal(parse("CAP LS 302", &m), IRC_PARSE_OK);
    assert_true(irc_slice_is(m.command, "cap"));
    assert_int_equal(m.n_params, 2);
}

static void test_tags_and_source(void **state)
{
    (void)state;
    struct irc_message m;
    assert_int_equal(
        parse("@label=1;+draft/reply=ab :alice!a@h PRIVMSG #g\xC3\xA9n\xC3\xA9ral :salut", &m),
        IRC_PARSE_OK);
    assert_slice(m.tags, "label=1;+draft/reply=ab");
    assert_slice(m.source, "alice!a@h");
    assert_slice(m.command, "PRIVMSG");
    assert_int_equal(m.n_params, 2);
    assert_slice(m.params[0], "#g\xC3\xA9n\xC3\xA9ral");
    assert_slice(m.params[1], "salut");
}

static void test_trailing_keeps_its_spaces_and_may_be_empty(void **state)
{
    (void)state;
    struct irc_message m;
    assert_int_equal(parse("PRIVMSG #a :  deux  espaces  ", &m), IRC_PARSE_OK);
    assert_slice(m.params[1], "  deux  espaces  ");
    assert_int_equal(parse("TOPIC #a :", &m), IRC_PARSE_OK);
    assert_int_equal(m.n_params, 2);
    assert_slice(m.params[1], "");
    assert_true(m.trailing);
    assert_int_equal(parse("PRIVMSG #a ::-)", &m), IRC_PARSE_OK);
    assert_slice(m.params[1], ":-)");
}

static void test_several_spaces_separate_like_one(void **state)
{
    (void)state;
    struct irc_message m;
    assert_int_equal(parse("  JOIN   #a,#b    key  ", &m), IRC_PARSE_OK);
    assert_slice(m.command, "JOIN");
    assert_int_equal(m.n_params, 2);
    assert_slice(m.params[0], "#a,#b");
    assert_slice(m.params[1], "key");
    assert_false(m.trailing);
}

static void test_fifteenth_parameter_takes_the_rest(void **state)
{
    (void)state;
    struct irc_message m;
    assert_int_equal(parse("X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 :17", &m), IRC_PARSE_OK);
    assert_int_equal(m.n_params, IRC_PARAMS_MAX);
    assert_slice(m.params[13], "14");
    assert_slice(m.params[14], "15 16 :17");
    assert_false(m.trailing);
    assert_int_equal(parse("X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :a b", &m), IRC_PARSE_OK);
    assert_int_equal(m.n_params, IRC_PARAMS_MAX);
    assert_slice(m.params[14], "a b");
    assert_true(m.trailing);
}

static void test_numerics_are_commands(void **state)
{
    (void)state;
    struct irc_message m;
    assert_int_equal(parse(":srv 001 alice :Bienvenue", &m), IRC_PARSE_OK);
    assert_slice(m.command, "001");
}

static void test_shapes_that_are_not_messages(void **state)
{
    (void)state;
    struct irc_message m;
    assert_int_equal(parse("", &m), IRC_PARSE_EMPTY);
    assert_int_equal(parse("    ", &m), IRC_PARSE_EMPTY);
    assert_int_equal(parse("@a=b", &m), IRC_PARSE_NO_COMMAND);
    assert_int_equal(parse("@a=b   ", &m), IRC_PARSE_NO_COMMAND);
    assert_int_equal(parse(":source", &m), IRC_PARSE_NO_COMMAND);
    assert_int_equal(parse(":source  ", &m), IRC_PARSE_NO_COMMAND);
    assert_int_equal(parse("PRIV-MSG #a :x", &m), IRC_PARSE_BAD_COMMAND);
    assert_slice(m.command, "PRIV-MSG");
    assert_int_equal(parse("01 x", &m), IRC_PARSE_BAD_COMMAND);
    assert_int_equal(parse("0001 x", &m), IRC_PARSE_BAD_COMMAND);
    assert_int_equal(parse("\xC3\xA9t\xC3\xA9", &m), IRC_PARSE_BAD_COMMAND);
}

static void test_line_limit_leaves_out_the_tags(void **state)
{
    (void)state;
    struct irc_message m;
    char line[IRC_INPUT_MAX + 16];
    /* 510 bytes after the tags: the most a line may hold without its "\r\n" */
    size_t head = (size_t)snprintf(line, sizeof(line), "@%s PRIVMSG #a :", "k=v");
    size_t body = IRC_LINE_MAX - 2 - strlen("PRIVMSG #a :");
    memset(line + head, 'x', body);
    assert_int_equal(parse_n(line, head + body, &m), IRC_PARSE_OK);
    assert_int_equal(m.params[1].len, body);
    line[head + body] = 'x';
    assert_int_equal(parse_n(line, head + body + 1, &m), IRC_PARSE_TOO_LONG);
}

static void test_tag_data_limit(void **state)
{
    (void)state;
    struct irc_message m;
    char line[IRC_INPUT_MAX + 16];
    line[0] = '@';
    line[1] = 'k';
    line[2] = '=';
    memset(line + 3, 'v', IRC_TAGS_MAX - 2);
    memcpy(line + 1 + IRC_TAGS_MAX, " PING x", 7);
    assert_int_equal(parse_n(line, 1 + IRC_TAGS_MAX + 7, &m), IRC_PARSE_OK);
    assert_int_equal(m.tags.len, IRC_TAGS_MAX);
    memset(line + 3, 'v', IRC_TAGS_MAX - 1);
    memcpy(line + 2 + IRC_TAGS_MAX, " PING x", 7);
    assert_int_equal(parse_n(line, 2 + IRC_TAGS_MAX + 7, &m), IRC_PARSE_TAGS_TOO_LONG);
}

static void test_command_compared_without_case(void **state)
{
    (void)state;
    struct irc_slice s = {"PrivMsg", 7};
    assert_true(irc_slice_is(s, "PRIVMSG"));
    assert_true(irc_slice_is(s, "privmsg"));
    assert_false(irc_slice_is(s, "PRIVMS"));
    assert_false(irc_slice_is(s, "PRIVMSGS"));
}

static void test_tags_are_read_one_by_one(void **state)
{
    (void)state;
    const char *tags = "a=1;;+b;vendor.org/c=;d=x\\sy";
    struct irc_slice rest = {tags, strlen(tags)};
    struct irc_slice key, value;
    assert_true(irc_tag_next(&rest, &key, &value));
    assert_slice(key, "a");
    assert_slice(value, "1");
    assert_true(irc_tag_next(&rest, &key, &value));
    assert_slice(key, "+b");
    assert_int_equal(value.len, 0);
    assert_true(irc_tag_next(&rest, &key, &value));
    assert_slice(key, "vendor.org/c");
    assert_int_equal(value.len, 0);
    assert_true(irc_tag_next(&rest, &key, &value));
    assert_slice(key, "d");
    assert_slice(value, "x\\sy");
    assert_false(irc_tag_next(&rest, &key, &value));
}

static void test_tag_values_are_unescaped(void **state)
{
    (void)state;
    char out[32];
    const char *escaped = "a\\:b\\sc\\\\d\\re\\nf\\xg\\";
    struct irc_slice v = {escaped, strlen(escaped)};
    assert_int_equal(irc_tag_unescape(v, out, sizeof(out)), 13);
    assert_string_equal(out, "a;b c\\d\re\nfxg");
    /* too small: cut, NUL-terminated, and the whole length still given */
    assert_int_equal(irc_tag_unescape(v, out, 4), 13);
    assert_string_equal(out, "a;b");
    assert_int_equal(irc_tag_unescape((struct irc_slice){"", 0}, out, sizeof(out)), 0);
    assert_string_equal(out, "");
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_registration_lines),
        T(test_tags_and_source),
        T(test_trailing_keeps_its_spaces_and_may_be_empty),
        T(test_several_spaces_separate_like_one),
        T(test_fifteenth_parameter_takes_the_rest),
        T(test_numerics_are_commands),
        T(test_shapes_that_are_not_messages),
        T(test_line_limit_leaves_out_the_tags),
        T(test_tag_data_limit),
        T(test_command_compared_without_case),
        T(test_tags_are_read_one_by_one),
        T(test_tag_values_are_unescaped),
    };
#undef T
    return cmocka_run_group_tests_name("irc_parse", tests, map_guard_page, unmap_guard_page);
}
