/* test_client_secret.c - unit tests for the answer to a secret prompt (src/client/secret.c).
 *
 * Keys go in as a terminal sends them; the answer that comes out is what was typed, less
 * what was erased, with no escape sequence in it; a paste is taken to its first line
 * break; Ctrl-D ends the input only on an empty answer; clearing leaves no byte behind.
 * Pure; single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "client/secret.h"

/* Feeds keys; returns the step of the last key, having checked that every key before it
 * asked for more. */
static enum secret_step feed(struct secret *s, const char *keys)
{
    size_t n = strlen(keys);
    for (size_t i = 0; i + 1 < n; i++) {
        assert_int_equal(secret_feed(s, (unsigned char)keys[i]), SECRET_MORE);
    }
    return n > 0 ? secret_feed(s, (unsigned char)keys[n - 1]) : SECRET_MORE;
}

static void assert_answer(const char *keys, const char *expected)
{
    struct secret s;
    secret_init(&s);
    assert_int_equal(feed(&s, keys), SECRET_DONE);
    assert_string_equal(s.text, expected);
    assert_int_equal(s.len, strlen(expected));
    secret_clear(&s);
}

static void test_typed_keys_are_the_answer_sent_by_enter(void **state)
{
    (void)state;
    assert_answer("hunter2\r", "hunter2");
    assert_answer("mot de passe\n", "mot de passe");
    assert_answer("\r", "");
    assert_answer("çà😀\r", "çà😀");
}

static void test_backspace_erases_one_character_whole(void **state)
{
    (void)state;
    assert_answer("abc\x7f\r", "ab");
    assert_answer("ab\b\r", "a");
    assert_answer("é😀\x7f\r", "é");
    assert_answer("é\x7f\x7f\x7fx\r", "x");
}

static void test_ctrl_u_and_ctrl_w_erase_everything(void **state)
{
    (void)state;
    assert_answer("faux\x15vrai\r", "vrai");
    assert_answer("deux mots\x17un\r", "un");
}

static void test_escape_sequences_are_skipped(void **state)
{
    (void)state;
    assert_answer("a\x1b[Ab\x1b[1;5Cc\x1b[3~\r", "abc"); /* Up, Ctrl-Right, Delete */
    assert_answer("a\x1bOPb\r", "ab");                   /* F1, SS3 form */
    assert_answer("a\x1b"
                  "xb\r",
                  "ab");                   /* Alt-x */
    assert_answer("a\x1b\x1b[Bb\r", "ab"); /* ESC, then Down */
}

static void test_other_control_keys_are_ignored(void **state)
{
    (void)state;
    assert_answer("a\tb\x01\x05\x0b\x0c"
                  "c\r",
                  "abc");
}

static void test_a_paste_is_taken_as_typed(void **state)
{
    (void)state;
    assert_answer("x\x1b[200~collé\x1b[201~y\r", "xcolléy");
    assert_answer("\x1b[200~a\tb\x7f\x1b[201~\r", "ab"); /* a paste's controls are not keys */
}

static void test_a_paste_ends_at_its_first_line_break(void **state)
{
    (void)state;
    struct secret s;
    secret_init(&s);
    assert_int_equal(feed(&s, "\x1b[200~premier\nsecond\r\n"), SECRET_MORE);
    assert_int_equal(feed(&s, "\x1b[201~"), SECRET_DONE);
    assert_string_equal(s.text, "premier");
    secret_clear(&s);
}

static void test_ctrl_d_ends_the_input_only_when_nothing_is_typed(void **state)
{
    (void)state;
    struct secret s;
    secret_init(&s);
    assert_int_equal(secret_feed(&s, 0x04), SECRET_END);
    secret_clear(&s);
    assert_int_equal(feed(&s, "a\x04"), SECRET_MORE);
    assert_int_equal(feed(&s, "\x7f\x04"), SECRET_END);
    secret_clear(&s);
}

static void test_an_answer_stops_growing_at_its_bound(void **state)
{
    (void)state;
    struct secret s;
    secret_init(&s);
    for (size_t i = 0; i < SECRET_MAX + 10; i++) {
        assert_int_equal(secret_feed(&s, 'x'), SECRET_MORE);
    }
    assert_int_equal(secret_feed(&s, '\r'), SECRET_DONE);
    assert_int_equal(s.len, SECRET_MAX);
    assert_int_equal(strlen(s.text), SECRET_MAX);
    secret_clear(&s);
}

static void test_clearing_leaves_no_byte_behind(void **state)
{
    (void)state;
    struct secret s;
    secret_init(&s);
    feed(&s, "hunter2\x7f\x7f");
    secret_clear(&s);
    static const struct secret zero;
    assert_memory_equal(&s, &zero, sizeof(s));
    assert_answer("\r", "");
}

static void test_erased_bytes_are_wiped_at_once(void **state)
{
    (void)state;
    struct secret s;
    secret_init(&s);
    feed(&s, "abcdef\x7f\x7f\x7f");
    assert_memory_equal(s.text, "abc\0\0\0\0", 7);
    feed(&s, "\x15");
    assert_memory_equal(s.text, "\0\0\0\0\0\0\0", 7);
    secret_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_keys_are_the_answer_sent_by_enter),
        cmocka_unit_test(test_backspace_erases_one_character_whole),
        cmocka_unit_test(test_ctrl_u_and_ctrl_w_erase_everything),
        cmocka_unit_test(test_escape_sequences_are_skipped),
        cmocka_unit_test(test_other_control_keys_are_ignored),
        cmocka_unit_test(test_a_paste_is_taken_as_typed),
        cmocka_unit_test(test_a_paste_ends_at_its_first_line_break),
        cmocka_unit_test(test_ctrl_d_ends_the_input_only_when_nothing_is_typed),
        cmocka_unit_test(test_an_answer_stops_growing_at_its_bound),
        cmocka_unit_test(test_clearing_leaves_no_byte_behind),
        cmocka_unit_test(test_erased_bytes_are_wiped_at_once),
    };
    return cmocka_run_group_tests_name("client_secret", tests, NULL, NULL);
}
