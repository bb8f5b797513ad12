/* test_command.c - unit tests for command lines (src/common/command.c).
 *
 * command_split() against the rules of docs/PROTOCOL.md: a line starting with a single '/'
 * is a command, "//x" is the message "/x"; the name runs to the first blank, the arguments
 * start after the blanks that follow it and keep their trailing blanks. command_next_word()
 * takes words one at a time and leaves the rest of the line as typed. Every input is
 * copied to the very end of a readable page followed by an inaccessible one (as
 * picohttpparser's tests do), so a read past the line crashes even without ASan.
 * Runs single-threaded.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, for the guard page */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/command.h"
#include "server/options.h"

#define LIT(s) s, sizeof(s) - 1

/* ------------------------------------------------------------ guard page */

#define GUARD_PAGE_BYTES DEFAULT_MAX_LINE
#include "guard_page.h"

/* Asserts that p[0..len) is the string want, bytes and length. */
static void assert_span(const char *p, size_t len, const char *want)
{
    assert_int_equal(len, strlen(want));
    assert_memory_equal(p, want, len);
}

/* Splits the literal as it would sit at the end of a read buffer; fails if it is no command. */
static struct command_line split(const char *text, size_t len)
{
    struct command_line cmd;
    assert_true(command_split(at_page_end(text, len), len, &cmd));
    return cmd;
}

/* ------------------------------------------------------------ command_split */

static void test_split_command_without_arguments(void **state)
{
    (void)state;
    const char *line = at_page_end(LIT("/help"));
    struct command_line cmd;
    assert_true(command_split(line, 5, &cmd));
    assert_ptr_equal(cmd.name, line + 1);
    assert_span(cmd.name, cmd.name_len, "help");
    assert_ptr_equal(cmd.args, line + 5); /* at the end, never past it */
    assert_int_equal(cmd.args_len, 0);
}

static void test_split_command_with_arguments(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/msg bob salut toi"));
    assert_span(cmd.name, cmd.name_len, "msg");
    assert_span(cmd.args, cmd.args_len, "bob salut toi");
}

static void test_split_skips_many_spaces_before_arguments(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/join      salon"));
    assert_span(cmd.name, cmd.name_len, "join");
    assert_span(cmd.args, cmd.args_len, "salon");
}

static void test_split_keeps_spaces_inside_and_after_arguments(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/msg bob   a  b   "));
    assert_span(cmd.args, cmd.args_len, "bob   a  b   ");
}

static void test_split_trailing_spaces_alone_are_no_arguments(void **state)
{
    (void)state;
    const char *line = at_page_end(LIT("/quit   "));
    struct command_line cmd;
    assert_true(command_split(line, 8, &cmd));
    assert_span(cmd.name, cmd.name_len, "quit");
    assert_ptr_equal(cmd.args, line + 8);
    assert_int_equal(cmd.args_len, 0);
}

static void test_split_tab_separates_name_and_arguments(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/msg\tbob"));
    assert_span(cmd.name, cmd.name_len, "msg");
    assert_span(cmd.args, cmd.args_len, "bob");
}

static void test_split_skips_mixed_spaces_and_tabs(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/kick \t \t bob\tflood"));
    assert_span(cmd.name, cmd.name_len, "kick");
    assert_span(cmd.args, cmd.args_len, "bob\tflood");
}

static void test_split_lone_slash_is_command_with_empty_name(void **state)
{
    (void)state;
    const char *line = at_page_end(LIT("/"));
    struct command_line cmd;
    assert_true(command_split(line, 1, &cmd));
    assert_ptr_equal(cmd.name, line + 1);
    assert_int_equal(cmd.name_len, 0);
    assert_ptr_equal(cmd.args, line + 1);
    assert_int_equal(cmd.args_len, 0);
}

static void test_split_slash_then_space_is_command_with_empty_name(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/ x"));
    assert_int_equal(cmd.name_len, 0);
    assert_span(cmd.args, cmd.args_len, "x");
}

static void test_split_slash_then_blanks_only(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/ \t "));
    assert_int_equal(cmd.name_len, 0);
    assert_int_equal(cmd.args_len, 0);
}

static void test_split_keeps_utf8_arguments_whole(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/msg Zoé café ☕ — à plus"));
    assert_span(cmd.name, cmd.name_len, "msg");
    assert_span(cmd.args, cmd.args_len, "Zoé café ☕ — à plus");
}

static void test_split_utf8_name_is_bytes_up_to_the_blank(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/café noir"));
    assert_span(cmd.name, cmd.name_len, "café");
    assert_span(cmd.args, cmd.args_len, "noir");
}

/* A no-break space (U+00A0) is not a blank: only ASCII space and tab separate. */
static void test_split_no_break_space_is_part_of_the_name(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/msg\xC2\xA0"
                                        "bob"));
    assert_span(cmd.name, cmd.name_len,
                "msg\xC2\xA0"
                "bob");
    assert_int_equal(cmd.args_len, 0);
}

static void test_split_double_slash_is_a_message(void **state)
{
    (void)state;
    struct command_line cmd = {.name_len = 99, .args_len = 99};
    assert_false(command_split(at_page_end(LIT("//x")), 3, &cmd));
    assert_false(command_split(at_page_end(LIT("//")), 2, &cmd));
    assert_false(command_split(at_page_end(LIT("// help")), 7, &cmd));
    assert_int_equal(cmd.name_len, 99); /* untouched */
    assert_int_equal(cmd.args_len, 99);
}

static void test_split_line_without_leading_slash_is_a_message(void **state)
{
    (void)state;
    struct command_line cmd;
    assert_false(command_split(at_page_end(LIT("salut /help")), 11, &cmd));
    assert_false(command_split(at_page_end(LIT(" /help")), 6, &cmd));
    assert_false(command_split(at_page_end(LIT("\t/help")), 6, &cmd));
}

static void test_split_empty_line_is_a_message(void **state)
{
    (void)state;
    struct command_line cmd;
    assert_false(command_split(at_page_end("", 0), 0, &cmd)); /* points at the guard page */
}

/* "/" then a name of DEFAULT_MAX_LINE - 1 bytes: the longest line the server takes by
 * default, ending on the last readable byte, with no blank to stop the scan early. */
static void test_split_name_filling_a_line_of_default_max_line_bytes(void **state)
{
    (void)state;
    static char text[DEFAULT_MAX_LINE];
    text[0] = '/';
    memset(text + 1, 'n', sizeof(text) - 1);
    struct command_line cmd = split(text, sizeof(text));
    assert_int_equal(cmd.name_len, DEFAULT_MAX_LINE - 1);
    assert_int_equal(cmd.args_len, 0);
}

/* The same length, as blanks after a short name: the gap scan ends on the last byte. */
static void test_split_blanks_filling_a_line_of_default_max_line_bytes(void **state)
{
    (void)state;
    static char text[DEFAULT_MAX_LINE];
    memset(text, ' ', sizeof(text));
    memcpy(text, "/quit", 5);
    struct command_line cmd = split(text, sizeof(text));
    assert_span(cmd.name, cmd.name_len, "quit");
    assert_int_equal(cmd.args_len, 0);
}

/* Every prefix of a line, each ending on the last readable byte: whichever scan the end
 * falls in (name, gap, arguments), nothing is read past it and the lengths add up. */
static void test_split_every_prefix_stays_within_it(void **state)
{
    (void)state;
    static const char text[] = "/msg \t bob  salut é  ";
    for (size_t len = 1; len < sizeof(text); len++) {
        const char *line = at_page_end(text, len);
        struct command_line cmd;
        assert_true(command_split(line, len, &cmd));
        assert_ptr_equal(cmd.name, line + 1);
        assert_int_equal(cmd.name_len, len < 4 ? len - 1 : 3);
        assert_ptr_equal(cmd.args + cmd.args_len, line + len);
        assert_true(cmd.args >= cmd.name + cmd.name_len);
        if (len >= 8) {
            assert_ptr_equal(cmd.args, line + 7); /* "bob..." */
        } else {
            assert_int_equal(cmd.args_len, 0);
        }
    }
}

/* ------------------------------------------------------------ command_next_word */

static void test_next_word_takes_words_in_order(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/x bob  salut\t!"));
    const char *word = NULL;
    size_t word_len = 0;
    assert_true(command_next_word(&cmd.args, &cmd.args_len, &word, &word_len));
    assert_span(word, word_len, "bob");
    assert_true(command_next_word(&cmd.args, &cmd.args_len, &word, &word_len));
    assert_span(word, word_len, "salut");
    assert_true(command_next_word(&cmd.args, &cmd.args_len, &word, &word_len));
    assert_span(word, word_len, "!");
    assert_int_equal(cmd.args_len, 0);
    assert_false(command_next_word(&cmd.args, &cmd.args_len, &word, &word_len));
}

/* "/msg PSEUDO TEXT": after the pseudo, the rest is the text as typed, inner and trailing
 * blanks included. */
static void test_next_word_leaves_rest_of_line_as_typed(void **state)
{
    (void)state;
    struct command_line cmd = split(LIT("/msg bob   salut  à toi  "));
    const char *word = NULL;
    size_t word_len = 0;
    assert_true(command_next_word(&cmd.args, &cmd.args_len, &word, &word_len));
    assert_span(word, word_len, "bob");
    assert_span(cmd.args, cmd.args_len, "salut  à toi  ");
}

/* "/kick PSEUDO [REASON]" without a reason: the word is there, nothing is left. */
static void test_next_word_last_word_ends_the_line(void **state)
{
    (void)state;
    const char *line = at_page_end(LIT("/kick bob"));
    struct command_line cmd;
    assert_true(command_split(line, 9, &cmd));
    const char *word = NULL;
    size_t word_len = 0;
    assert_true(command_next_word(&cmd.args, &cmd.args_len, &word, &word_len));
    assert_span(word, word_len, "bob");
    assert_ptr_equal(cmd.args, line + 9);
    assert_int_equal(cmd.args_len, 0);
}

static void test_next_word_on_empty_arguments_returns_false(void **state)
{
    (void)state;
    const char *args = at_page_end("", 0);
    size_t args_len = 0;
    const char *word = NULL;
    size_t word_len = 42;
    assert_false(command_next_word(&args, &args_len, &word, &word_len));
    assert_null(word); /* untouched */
    assert_int_equal(word_len, 42);
    assert_int_equal(args_len, 0);
}

static void test_next_word_on_blanks_only_consumes_them(void **state)
{
    (void)state;
    const char *start = at_page_end(LIT(" \t  "));
    const char *args = start;
    size_t args_len = 4;
    const char *word = NULL;
    size_t word_len = 0;
    assert_false(command_next_word(&args, &args_len, &word, &word_len));
    assert_ptr_equal(args, start + 4);
    assert_int_equal(args_len, 0);
    assert_null(word);
}

static void test_next_word_skips_leading_blanks(void **state)
{
    (void)state;
    const char *args = at_page_end(LIT("\t  salon"));
    size_t args_len = 8;
    const char *word = NULL;
    size_t word_len = 0;
    assert_true(command_next_word(&args, &args_len, &word, &word_len));
    assert_span(word, word_len, "salon");
    assert_int_equal(args_len, 0);
}

static void test_next_word_keeps_utf8_words_whole(void **state)
{
    (void)state;
    const char *args = at_page_end(LIT("Zoé ☕"));
    size_t args_len = sizeof("Zoé ☕") - 1;
    const char *word = NULL;
    size_t word_len = 0;
    assert_true(command_next_word(&args, &args_len, &word, &word_len));
    assert_span(word, word_len, "Zoé");
    assert_true(command_next_word(&args, &args_len, &word, &word_len));
    assert_span(word, word_len, "☕");
    assert_false(command_next_word(&args, &args_len, &word, &word_len));
}

/* DEFAULT_MAX_LINE words of one byte: the loop ends, one word per call, all consumed. */
static void test_next_word_loop_consumes_a_line_of_default_max_line_bytes(void **state)
{
    (void)state;
    static char text[DEFAULT_MAX_LINE];
    for (size_t i = 0; i < sizeof(text); i++) {
        text[i] = i % 2 ? ' ' : 'w';
    }
    const char *args = at_page_end(text, sizeof(text));
    size_t args_len = sizeof(text);
    const char *word;
    size_t word_len;
    size_t words = 0;
    while (command_next_word(&args, &args_len, &word, &word_len)) {
        assert_span(word, word_len, "w");
        words++;
    }
    assert_int_equal(words, DEFAULT_MAX_LINE / 2);
    assert_int_equal(args_len, 0);
}

/* ------------------------------------------------------------ command_unescape */

static void test_unescape_drops_the_escaping_slash(void **state)
{
    (void)state;
    const char *line = at_page_end(LIT("//x y"));
    const char *text = line;
    size_t len = 5;
    command_unescape(&text, &len);
    assert_ptr_equal(text, line + 1);
    assert_span(text, len, "/x y");
}

static void test_unescape_double_slash_alone_gives_a_slash(void **state)
{
    (void)state;
    const char *text = at_page_end(LIT("//"));
    size_t len = 2;
    command_unescape(&text, &len);
    assert_span(text, len, "/");
}

static void test_unescape_drops_only_one_slash(void **state)
{
    (void)state;
    const char *text = at_page_end(LIT("///"));
    size_t len = 3;
    command_unescape(&text, &len);
    assert_span(text, len, "//");
}

static void test_unescape_leaves_other_lines_alone(void **state)
{
    (void)state;
    static const char *const lines[] = {"", "/", "/x", "x//", " //x", "salut"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        size_t n = strlen(lines[i]);
        const char *line = at_page_end(lines[i], n);
        const char *text = line;
        size_t len = n;
        command_unescape(&text, &len);
        assert_ptr_equal(text, line);
        assert_int_equal(len, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_command_without_arguments),
        cmocka_unit_test(test_split_command_with_arguments),
        cmocka_unit_test(test_split_skips_many_spaces_before_arguments),
        cmocka_unit_test(test_split_keeps_spaces_inside_and_after_arguments),
        cmocka_unit_test(test_split_trailing_spaces_alone_are_no_arguments),
        cmocka_unit_test(test_split_tab_separates_name_and_arguments),
        cmocka_unit_test(test_split_skips_mixed_spaces_and_tabs),
        cmocka_unit_test(test_split_lone_slash_is_command_with_empty_name),
        cmocka_unit_test(test_split_slash_then_space_is_command_with_empty_name),
        cmocka_unit_test(test_split_slash_then_blanks_only),
        cmocka_unit_test(test_split_keeps_utf8_arguments_whole),
        cmocka_unit_test(test_split_utf8_name_is_bytes_up_to_the_blank),
        cmocka_unit_test(test_split_no_break_space_is_part_of_the_name),
        cmocka_unit_test(test_split_double_slash_is_a_message),
        cmocka_unit_test(test_split_line_without_leading_slash_is_a_message),
        cmocka_unit_test(test_split_empty_line_is_a_message),
        cmocka_unit_test(test_split_name_filling_a_line_of_default_max_line_bytes),
        cmocka_unit_test(test_split_blanks_filling_a_line_of_default_max_line_bytes),
        cmocka_unit_test(test_split_every_prefix_stays_within_it),
        cmocka_unit_test(test_next_word_takes_words_in_order),
        cmocka_unit_test(test_next_word_leaves_rest_of_line_as_typed),
        cmocka_unit_test(test_next_word_last_word_ends_the_line),
        cmocka_unit_test(test_next_word_on_empty_arguments_returns_false),
        cmocka_unit_test(test_next_word_on_blanks_only_consumes_them),
        cmocka_unit_test(test_next_word_skips_leading_blanks),
        cmocka_unit_test(test_next_word_keeps_utf8_words_whole),
        cmocka_unit_test(test_next_word_loop_consumes_a_line_of_default_max_line_bytes),
        cmocka_unit_test(test_unescape_drops_the_escaping_slash),
        cmocka_unit_test(test_unescape_double_slash_alone_gives_a_slash),
        cmocka_unit_test(test_unescape_drops_only_one_slash),
        cmocka_unit_test(test_unescape_leaves_other_lines_alone),
    };
    return cmocka_run_group_tests_name("command", tests, map_guard_page, unmap_guard_page);
}
