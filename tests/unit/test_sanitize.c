/* test_sanitize.c - unit tests for strict UTF-8 (src/common/utf8.c) and the sanitiser
 * (src/common/sanitize.c).
 *
 * Well-formed text passes unchanged; controls go, a tab becomes a space, and ill-formed
 * bytes become U+FFFD one "maximal subpart" at a time (Unicode table 3-7). Exhaustive and
 * seeded pseudo-random inputs check, with a validator written independently of utf8.c,
 * that the output is always valid UTF-8 without controls and that sanitize_is_clean()
 * agrees with sanitize_append(). Runs single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/sanitize.h"
#include "common/utf8.h"

#define FFFD "\xEF\xBF\xBD" /* U+FFFD REPLACEMENT CHARACTER */

/* Sanitises a string literal (embedded NULs included) and compares with another. */
#define assert_sanitizes_to(in, want) assert_sanitized(in, sizeof(in) - 1, want, sizeof(want) - 1)

/* Decodes one well-formed sequence at p, following table 3-7 of the Unicode standard; returns
 * its length, or 0 if the bytes are not well-formed. Independent of utf8.c on purpose. */
static size_t decode_strict(const unsigned char *p, size_t len, uint32_t *cp)
{
    unsigned char b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t need = b >= 0xC2 && b <= 0xDF   ? 2
                  : b >= 0xE0 && b <= 0xEF ? 3
                  : b >= 0xF0 && b <= 0xF4 ? 4
                                           : 0;
    if (need == 0 || len < need) {
        return 0;
    }
    unsigned char lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
    uint32_t v = b & (need == 2 ? 0x1F : need == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < need; i++) {
        if (p[i] < lo || p[i] > hi) {
            return 0;
        }
        v = (v << 6) | (p[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return need;
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

/* True if s[0..len) is well-formed UTF-8 holding no control character (tab included). */
static bool is_safe_text(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = decode_strict(p + i, len - i, &cp);
        if (n == 0 || is_control(cp)) {
            return false;
        }
        i += n;
    }
    return true;
}

/* A heap copy of exactly len bytes, so that ASan reports any read past the input's end. */
static char *exact_copy(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    if (len > 0) {
        memcpy(p, s, len);
    }
    return p;
}

static void assert_sanitized(const char *text, size_t in_len, const char *want, size_t want_len)
{
    char *in = exact_copy(text, in_len);
    struct buf out = BUF_INIT;
    sanitize_append(&out, in, in_len);
    if (out.len != want_len || memcmp(out.data, want, want_len) != 0) {
        print_error("sanitised %zu bytes to \"%s\" (%zu bytes), want \"%s\" (%zu bytes)\n", in_len,
                    out.data, out.len, want, want_len);
        fail();
    }
    bool unchanged = in_len == want_len && memcmp(in, want, in_len) == 0;
    assert_int_equal(sanitize_is_clean(in, in_len), unchanged);
    buf_release(&out);
    free(in);
}

/* Everything a caller relies on, for one input: safe output, at most 3 bytes per input byte,
 * idempotence, and sanitize_is_clean() true exactly when nothing changed. */
static void check_properties(const char *text, size_t len)
{
    char *in = exact_copy(text, len);
    struct buf out = BUF_INIT, again = BUF_INIT;
    sanitize_append(&out, in, len);
    assert_true(is_safe_text(out.data, out.len));
    assert_true(out.len <= 3 * len);
    assert_true(sanitize_is_clean(out.data, out.len));
    sanitize_append(&again, out.data, out.len);
    assert_int_equal(again.len, out.len);
    assert_memory_equal(again.data, out.data, out.len);
    bool unchanged = out.len == len && memcmp(out.data, in, len) == 0;
    assert_int_equal(sanitize_is_clean(in, len), unchanged);
    buf_release(&out);
    buf_release(&again);
    free(in);
}

/* xorshift64: a fixed seed makes a failure reproducible. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---------------------------------------------------------------- well-formed text */

static void test_ascii_passes_unchanged(void **state)
{
    (void)state;
    assert_sanitizes_to("Bonjour, tout le monde ! ~{}[]|", "Bonjour, tout le monde ! ~{}[]|");
}

static void test_two_byte_sequence_passes_unchanged(void **state)
{
    (void)state;
    assert_sanitizes_to("caf\xC3\xA9", "caf\xC3\xA9"); /* café */
}

static void test_three_byte_sequences_pass_unchanged(void **state)
{
    (void)state;
    assert_sanitizes_to("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", /* 日本語 */
                        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
}

static void test_four_byte_sequence_passes_unchanged(void **state)
{
    (void)state;
    assert_sanitizes_to("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"); /* 😀 */
}

/* The first and last values each lead byte's narrowed second-byte range allows. */
static void test_boundary_scalar_values_pass_unchanged(void **state)
{
    (void)state;
    assert_sanitizes_to("\xC2\xA0", "\xC2\xA0");                 /* U+00A0, first after C1 */
    assert_sanitizes_to("\xDF\xBF", "\xDF\xBF");                 /* U+07FF */
    assert_sanitizes_to("\xE0\xA0\x80", "\xE0\xA0\x80");         /* U+0800 */
    assert_sanitizes_to("\xED\x9F\xBF", "\xED\x9F\xBF");         /* U+D7FF */
    assert_sanitizes_to("\xEE\x80\x80", "\xEE\x80\x80");         /* U+E000 */
    assert_sanitizes_to("\xEF\xBF\xBD", "\xEF\xBF\xBD");         /* U+FFFD itself */
    assert_sanitizes_to("\xEF\xBF\xBF", "\xEF\xBF\xBF");         /* U+FFFF */
    assert_sanitizes_to("\xF0\x90\x80\x80", "\xF0\x90\x80\x80"); /* U+10000 */
    assert_sanitizes_to("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"); /* U+10FFFF */
}

static void test_empty_input_appends_nothing(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    buf_append_str(&out, "kept");
    sanitize_append(&out, "", 0);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.data, "kept");
    assert_true(sanitize_is_clean("", 0));
    buf_release(&out);
}

static void test_appends_after_existing_content(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    buf_append_str(&out, "> bob: ");
    sanitize_append(&out, "a\x1b[2Jb", 6);
    assert_string_equal(out.data, "> bob: a[2Jb");
    buf_release(&out);
}

/* ---------------------------------------------------------------- controls */

static void test_escape_is_removed(void **state)
{
    (void)state;
    assert_sanitizes_to("a\x1b[31mrouge\x1b[0m", "a[31mrouge[0m");
}

static void test_bell_is_removed(void **state)
{
    (void)state;
    assert_sanitizes_to("ding\a!", "ding!");
}

static void test_nul_is_removed(void **state)
{
    (void)state;
    assert_sanitizes_to("a\0b", "ab");
}

static void test_del_is_removed(void **state)
{
    (void)state;
    assert_sanitizes_to("a\x7F"
                        "b",
                        "ab");
}

static void test_carriage_return_is_removed(void **state)
{
    (void)state;
    assert_sanitizes_to("faux\rvrai", "fauxvrai");
}

static void test_every_c0_control_but_tab_is_removed(void **state)
{
    (void)state;
    for (int c = 0; c < 0x20; c++) {
        if (c == '\t') {
            continue;
        }
        char in[3] = {'x', (char)c, 'y'};
        assert_sanitized(in, 3, "xy", 2);
    }
}

static void test_every_c1_control_is_removed(void **state)
{
    (void)state;
    for (int c = 0x80; c <= 0x9F; c++) {
        char in[4] = {'x', '\xC2', (char)c, 'y'}; /* U+0080..U+009F */
        assert_sanitized(in, 4, "xy", 2);
    }
}

static void test_tab_becomes_one_space(void **state)
{
    (void)state;
    assert_sanitizes_to("a\tb\t\tc", "a b  c");
}

static void test_bidi_overrides_and_isolates_are_removed(void **state)
{
    (void)state;
    assert_sanitizes_to("a\u202Ab\u202Bc\u202Cd\u202De\u202Ef", "abcdef");
    assert_sanitizes_to("a\u2066b\u2067c\u2068d\u2069e", "abcde");
    const char *rlo = "x\u202Ey";
    assert_false(sanitize_is_clean(rlo, strlen(rlo)));
}

static void test_bidi_marks_and_neighbours_pass_unchanged(void **state)
{
    (void)state;
    /* LRM and RLM reorder nothing; U+2029, U+202F and U+2065 border the removed ranges. */
    assert_sanitizes_to("\u200E\u200F\u2029\u202F\u2065\u206A",
                        "\u200E\u200F\u2029\u202F\u2065\u206A");
    const char *hebrew = "\u05E9\u05DC\u05D5\u05DD \u200F!";
    assert_true(sanitize_is_clean(hebrew, strlen(hebrew)));
}

static void test_is_control_classifies_code_points(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp < 0x20; cp++) {
        assert_int_equal(sanitize_is_control(cp), cp != '\t');
    }
    assert_false(sanitize_is_control(' '));
    assert_false(sanitize_is_control('~'));
    assert_true(sanitize_is_control(0x7F));
    for (uint32_t cp = 0x80; cp <= 0x9F; cp++) {
        assert_true(sanitize_is_control(cp));
    }
    assert_false(sanitize_is_control(0xA0));
    assert_false(sanitize_is_control(0xFFFD));
    assert_false(sanitize_is_control(0x10FFFF));
}

/* ---------------------------------------------------------------- ill-formed UTF-8 */

static void test_truncated_four_byte_sequence_is_one_replacement(void **state)
{
    (void)state;
    assert_sanitizes_to("a\xF0\x9F\x98", "a" FFFD);
}

static void test_truncated_sequence_before_ascii_is_one_replacement(void **state)
{
    (void)state;
    assert_sanitizes_to("\xE6\x97"
                        "a",
                        FFFD "a");
}

static void test_overlong_two_byte_form_is_two_replacements(void **state)
{
    (void)state;
    assert_sanitizes_to("\xC0\xAF", FFFD FFFD); /* C0 never starts a sequence */
}

static void test_overlong_three_byte_form_is_three_replacements(void **state)
{
    (void)state;
    assert_sanitizes_to("\xE0\x80\xAF", FFFD FFFD FFFD); /* E0 needs A0..BF next */
}

static void test_surrogate_is_three_replacements(void **state)
{
    (void)state;
    assert_sanitizes_to("\xED\xA0\x80", FFFD FFFD FFFD); /* ED needs 80..9F next */
}

static void test_value_above_max_is_four_replacements(void **state)
{
    (void)state;
    assert_sanitizes_to("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* F4 needs 80..8F next */
}

static void test_lone_continuation_bytes_are_each_replaced(void **state)
{
    (void)state;
    assert_sanitizes_to("\x80", FFFD);
    assert_sanitizes_to("a\xBF"
                        "b",
                        "a" FFFD "b");
    assert_sanitizes_to("\x80\x80\x80", FFFD FFFD FFFD);
}

static void test_bytes_that_never_start_a_sequence_are_replaced(void **state)
{
    (void)state;
    const unsigned char never[] = {0xC0, 0xC1, 0xF5, 0xF6, 0xF7, 0xF8, 0xFB, 0xFC, 0xFE, 0xFF};
    for (size_t i = 0; i < sizeof(never); i++) {
        char in[2] = {(char)never[i], 'z'};
        assert_sanitized(in, 2, FFFD "z", 4);
    }
}

static void test_bad_lead_then_control_gives_one_replacement(void **state)
{
    (void)state;
    assert_sanitizes_to("\xC3\x1b", FFFD); /* the ESC ends the subpart and is removed */
}

static void test_valid_text_around_bad_bytes_is_kept(void **state)
{
    (void)state;
    assert_sanitizes_to("\xC3\xA9\xFF\xC3\xA9", "\xC3\xA9" FFFD "\xC3\xA9");
}

/* ---------------------------------------------------------------- properties */

static void test_output_is_safe_for_every_one_byte_input(void **state)
{
    (void)state;
    for (int a = 0; a < 256; a++) {
        char in[1] = {(char)a};
        check_properties(in, 1);
    }
}

static void test_output_is_safe_for_every_two_byte_input(void **state)
{
    (void)state;
    for (int a = 0; a < 256; a++) {
        for (int b = 0; b < 256; b++) {
            char in[2] = {(char)a, (char)b};
            check_properties(in, 2);
        }
    }
}

/* Three-byte inputs that start with a lead byte: every path through a 3- or 4-byte lead. */
static void test_output_is_safe_for_three_byte_inputs_after_a_lead(void **state)
{
    (void)state;
    for (int a = 0xC2; a <= 0xF4; a++) {
        for (int b = 0; b < 256; b++) {
            for (int c = 0x70; c < 0xD0; c++) {
                char in[3] = {(char)a, (char)b, (char)c};
                check_properties(in, 3);
            }
        }
    }
}

static void test_output_is_safe_for_random_inputs(void **state)
{
    (void)state;
    static const unsigned char alphabet[] = {0x00, 0x09, 0x0A, 0x0D, 0x1B, 0x20, 'a',  0x7F, 0x80,
                                             0x85, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xC3,
                                             0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    char in[64];
    for (int round = 0; round < 5000; round++) {
        size_t len = (size_t)(next_random(&seed) % (sizeof(in) + 1));
        for (size_t i = 0; i < len; i++) {
            uint64_t r = next_random(&seed);
            /* Half the bytes from the interesting ones, half from anywhere. */
            in[i] = (char)(r & 1 ? alphabet[(r >> 8) % sizeof(alphabet)] : (r >> 8) & 0xFF);
        }
        check_properties(in, len);
    }
}

static void test_is_clean_agrees_with_append_on_random_valid_text(void **state)
{
    (void)state;
    uint64_t seed = 42;
    char in[4 * 16];
    for (int round = 0; round < 5000; round++) {
        size_t len = 0;
        size_t chars = (size_t)(next_random(&seed) % 17);
        for (size_t i = 0; i < chars; i++) {
            uint32_t cp = (uint32_t)(next_random(&seed) % 0x110000);
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            len += utf8_encode(cp, in + len);
        }
        check_properties(in, len);
    }
}

/* ---------------------------------------------------------------- utf8.c */

static void test_utf8_round_trips_every_scalar_value(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            continue;
        }
        char enc[4];
        size_t n = utf8_encode(cp, enc);
        size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        assert_int_equal(n, want);
        uint32_t back = 0, strict = 0;
        assert_int_equal(utf8_decode(enc, n, &back), n);
        assert_int_equal(back, cp);
        assert_int_equal(decode_strict((const unsigned char *)enc, n, &strict), n);
        assert_int_equal(strict, cp);
    }
}

static void test_utf8_decode_reports_maximal_subpart_length(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        size_t want;
    } cases[] = {
        {"\xF0\x9F\x98", 3, 3},     /* truncated: the whole prefix */
        {"\xE6\x97", 2, 2},         /* truncated */
        {"\xC3", 1, 1},             /* truncated */
        {"\xC0\xAF", 2, 1},         /* C0 is never a lead */
        {"\xE0\x80\xAF", 3, 1},     /* overlong: E0 then 80 */
        {"\xED\xA0\x80", 3, 1},     /* surrogate: ED then A0 */
        {"\xF4\x90\x80\x80", 4, 1}, /* above U+10FFFF */
        {"\xF0\x9F\x98"
         "a",
         4, 3}, /* cut by ASCII */
        {"\x80", 1, 1},
        {"\xFF", 1, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t cp = 0;
        assert_int_equal(utf8_decode(cases[i].in, cases[i].len, &cp), cases[i].want);
        assert_int_equal(cp, UTF8_INVALID);
    }
}

/* The continuation bytes are there, past len: decoding must not look at them. */
static void test_utf8_prefix_never_cuts_a_character(void **state)
{
    (void)state;
    const char *t = "aé日😀"; /* 1 + 2 + 3 + 4 bytes */
    size_t len = strlen(t);
    assert_int_equal(utf8_prefix(t, len, 100), len);
    assert_int_equal(utf8_prefix(t, len, 10), 10);
    const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6};
    for (size_t max = 0; max < 10; max++) {
        assert_int_equal(utf8_prefix(t, len, max), want[max]);
    }
}

static void test_utf8_decode_stops_at_len(void **state)
{
    (void)state;
    uint32_t cp = 0;
    assert_int_equal(utf8_decode("\xC3\xA9", 1, &cp), 1); /* é, cut after its first byte */
    assert_int_equal(cp, UTF8_INVALID);
    assert_int_equal(utf8_decode("\xF0\x9F\x98\x80", 3, &cp), 3);
    assert_int_equal(cp, UTF8_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_passes_unchanged),
        cmocka_unit_test(test_two_byte_sequence_passes_unchanged),
        cmocka_unit_test(test_three_byte_sequences_pass_unchanged),
        cmocka_unit_test(test_four_byte_sequence_passes_unchanged),
        cmocka_unit_test(test_boundary_scalar_values_pass_unchanged),
        cmocka_unit_test(test_empty_input_appends_nothing),
        cmocka_unit_test(test_appends_after_existing_content),
        cmocka_unit_test(test_escape_is_removed),
        cmocka_unit_test(test_bell_is_removed),
        cmocka_unit_test(test_nul_is_removed),
        cmocka_unit_test(test_del_is_removed),
        cmocka_unit_test(test_carriage_return_is_removed),
        cmocka_unit_test(test_every_c0_control_but_tab_is_removed),
        cmocka_unit_test(test_every_c1_control_is_removed),
        cmocka_unit_test(test_tab_becomes_one_space),
        cmocka_unit_test(test_bidi_overrides_and_isolates_are_removed),
        cmocka_unit_test(test_bidi_marks_and_neighbours_pass_unchanged),
        cmocka_unit_test(test_is_control_classifies_code_points),
        cmocka_unit_test(test_truncated_four_byte_sequence_is_one_replacement),
        cmocka_unit_test(test_truncated_sequence_before_ascii_is_one_replacement),
        cmocka_unit_test(test_overlong_two_byte_form_is_two_replacements),
        cmocka_unit_test(test_overlong_three_byte_form_is_three_replacements),
        cmocka_unit_test(test_surrogate_is_three_replacements),
        cmocka_unit_test(test_value_above_max_is_four_replacements),
        cmocka_unit_test(test_lone_continuation_bytes_are_each_replaced),
        cmocka_unit_test(test_bytes_that_never_start_a_sequence_are_replaced),
        cmocka_unit_test(test_bad_lead_then_control_gives_one_replacement),
        cmocka_unit_test(test_valid_text_around_bad_bytes_is_kept),
        cmocka_unit_test(test_output_is_safe_for_every_one_byte_input),
        cmocka_unit_test(test_output_is_safe_for_every_two_byte_input),
        cmocka_unit_test(test_output_is_safe_for_three_byte_inputs_after_a_lead),
        cmocka_unit_test(test_output_is_safe_for_random_inputs),
        cmocka_unit_test(test_is_clean_agrees_with_append_on_random_valid_text),
        cmocka_unit_test(test_utf8_round_trips_every_scalar_value),
        cmocka_unit_test(test_utf8_prefix_never_cuts_a_character),
        cmocka_unit_test(test_utf8_decode_reports_maximal_subpart_length),
        cmocka_unit_test(test_utf8_decode_stops_at_len),
    };
    return cmocka_run_group_tests_name("sanitize and utf8", tests, NULL, NULL);
}
