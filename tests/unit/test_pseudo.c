/* test_pseudo.c - unit tests for pseudo validation and folding (src/common/pseudo.c).
 *
 * pseudo_check() against the rules of docs/PROTOCOL.md: 1 to 32 characters (not bytes) of
 * valid UTF-8, no white space (no-break spaces included), no control character, no leading
 * '/'. pseudo_verdict_text() gives the refusal sentences the protocol documents, and
 * pseudo_fold() makes pseudos that differ only in case equal. The group setup loads the
 * folding tables with pseudo_init(), as main.c does; runs single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/buf.h"
#include "common/pseudo.h"
#include "common/sanitize.h"

#define LIT(s) s, sizeof(s) - 1

static int setup_tables(void **state)
{
    (void)state;
    pseudo_init();
    return 0;
}

static int teardown_tables(void **state)
{
    (void)state;
    pseudo_shutdown();
    return 0;
}

/* A pseudo of n copies of the character unit. */
static void repeat(struct buf *b, const char *unit, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buf_append_str(b, unit);
    }
}

static void assert_check(const char *s, size_t len, enum pseudo_verdict want)
{
    enum pseudo_verdict got = pseudo_check(s, len);
    if (got != want) {
        print_error("pseudo_check(\"%.*s\") = %d, want %d\n", (int)len, s, got, want);
    }
    assert_int_equal(got, want);
}

static void assert_fold_equal(const char *a, const char *b)
{
    struct buf ka = BUF_INIT, kb = BUF_INIT;
    pseudo_fold(a, strlen(a), &ka);
    pseudo_fold(b, strlen(b), &kb);
    assert_string_equal(ka.data, kb.data);
    buf_release(&ka);
    buf_release(&kb);
}

static void assert_fold_differ(const char *a, const char *b)
{
    struct buf ka = BUF_INIT, kb = BUF_INIT;
    pseudo_fold(a, strlen(a), &ka);
    pseudo_fold(b, strlen(b), &kb);
    assert_string_not_equal(ka.data, kb.data);
    buf_release(&ka);
    buf_release(&kb);
}

/* ---------------------------------------------------------------- pseudo_check */

static void test_check_accepts_plain_pseudo(void **state)
{
    (void)state;
    assert_check(LIT("alice"), PSEUDO_OK);
    assert_check(LIT("Bob_42-x.y"), PSEUDO_OK);
}

static void test_check_refuses_empty(void **state)
{
    (void)state;
    assert_check("", 0, PSEUDO_EMPTY);
}

static void test_check_accepts_32_characters(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    repeat(&b, "a", 32);
    assert_check(b.data, b.len, PSEUDO_OK);
    buf_release(&b);
}

static void test_check_refuses_33_characters(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    repeat(&b, "a", 33);
    assert_check(b.data, b.len, PSEUDO_TOO_LONG);
    buf_release(&b);
}

static void test_check_counts_characters_not_bytes(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    repeat(&b, "\xC3\xA9", 32); /* "é" x 32: 64 bytes */
    assert_int_equal(b.len, 64);
    assert_check(b.data, b.len, PSEUDO_OK);
    buf_reset(&b);
    repeat(&b, "\xF0\x9F\x98\x80", 32); /* "😀" x 32: 128 bytes */
    assert_check(b.data, b.len, PSEUDO_OK);
    buf_release(&b);
}

static void test_check_refuses_33_multibyte_characters(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    repeat(&b, "\xC3\xA9", 33);
    assert_check(b.data, b.len, PSEUDO_TOO_LONG);
    buf_release(&b);
}

static void test_check_accepts_non_latin_scripts(void **state)
{
    (void)state;
    assert_check(LIT("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"), PSEUDO_OK); /* 日本語 */
    assert_check(LIT("\xF0\x9F\x98\x80"), PSEUDO_OK);                     /* 😀 */
    assert_check(LIT("\xC3\x89lodie"), PSEUDO_OK);                        /* Élodie */
}

static void test_check_refuses_space(void **state)
{
    (void)state;
    assert_check(LIT("a b"), PSEUDO_SPACE);
    assert_check(LIT(" alice"), PSEUDO_SPACE);
    assert_check(LIT("alice "), PSEUDO_SPACE);
}

static void test_check_refuses_no_break_spaces(void **state)
{
    (void)state;
    assert_check(LIT("a\xC2\xA0"
                     "b"),
                 PSEUDO_SPACE); /* U+00A0 NO-BREAK SPACE */
    assert_check(LIT("a\xE2\x80\xAF"
                     "b"),
                 PSEUDO_SPACE); /* U+202F NARROW NO-BREAK SPACE */
}

static void test_check_refuses_other_unicode_spaces(void **state)
{
    (void)state;
    assert_check(LIT("a\xE2\x80\x83"
                     "b"),
                 PSEUDO_SPACE); /* U+2003 EM SPACE */
    assert_check(LIT("a\xE3\x80\x80"
                     "b"),
                 PSEUDO_SPACE); /* U+3000 IDEOGRAPHIC SPACE */
}

/* A tab is white space, but in a pseudo it counts as the control character it is. */
static void test_check_refuses_tab_as_control(void **state)
{
    (void)state;
    assert_check(LIT("a\tb"), PSEUDO_CONTROL);
}

static void test_check_refuses_c0_controls_and_del(void **state)
{
    (void)state;
    assert_check(LIT("a\x1b[31m"), PSEUDO_CONTROL);
    assert_check(LIT("a\0b"), PSEUDO_CONTROL);
    assert_check(LIT("a\x7F"
                     "b"),
                 PSEUDO_CONTROL);
    assert_check(LIT("a\rb"), PSEUDO_CONTROL);
}

static void test_check_refuses_c1_controls(void **state)
{
    (void)state;
    assert_check(LIT("a\xC2\x85"
                     "b"),
                 PSEUDO_CONTROL); /* U+0085 NEXT LINE, white space and control */
    assert_check(LIT("a\xC2\x9B"
                     "b"),
                 PSEUDO_CONTROL); /* U+009B CSI */
}

static void test_check_refuses_invisible_characters(void **state)
{
    (void)state;
    static const char *const invisible[] = {
        "ali\u200Bce",  /* ZERO WIDTH SPACE */
        "ali\u200Dce",  /* ZERO WIDTH JOINER */
        "ali\u200Fce",  /* RIGHT-TO-LEFT MARK */
        "\u202Eecila",  /* RIGHT-TO-LEFT OVERRIDE */
        "ali\u2066ce",  /* LEFT-TO-RIGHT ISOLATE */
        "ali\u2060ce",  /* WORD JOINER */
        "\uFEFFalice",  /* BYTE ORDER MARK */
        "ali\u00ADce",  /* SOFT HYPHEN */
        "\u3164",       /* HANGUL FILLER, which renders as a blank */
        "a\U000E0041b", /* TAG LATIN CAPITAL LETTER A */
    };
    for (size_t i = 0; i < sizeof(invisible) / sizeof(invisible[0]); i++) {
        assert_check(invisible[i], strlen(invisible[i]), PSEUDO_INVISIBLE);
    }
}

static void test_check_accepts_emoji_with_variation_selector(void **state)
{
    (void)state;
    assert_check(LIT("c\u0153ur\u2764\uFE0F"), PSEUDO_OK); /* coeur + HEAVY BLACK HEART + VS16 */
}

static void test_check_control_wins_over_invisible(void **state)
{
    (void)state;
    assert_check(LIT("a\u200B\x1b"), PSEUDO_CONTROL);
    assert_check(LIT("a\x1b\u200B"), PSEUDO_CONTROL);
    assert_check(LIT("a \u200B"), PSEUDO_INVISIBLE);
}

static void test_check_refuses_invalid_utf8(void **state)
{
    (void)state;
    assert_check(LIT("a\xFF"), PSEUDO_BAD_UTF8);
    assert_check(LIT("\xC3"), PSEUDO_BAD_UTF8);         /* truncated */
    assert_check(LIT("\xC0\xAF"), PSEUDO_BAD_UTF8);     /* overlong */
    assert_check(LIT("\xED\xA0\x80"), PSEUDO_BAD_UTF8); /* surrogate */
    assert_check(LIT("\x80"), PSEUDO_BAD_UTF8);         /* lone continuation */
}

static void test_check_refuses_leading_slash(void **state)
{
    (void)state;
    assert_check(LIT("/alice"), PSEUDO_SLASH);
    assert_check(LIT("/"), PSEUDO_SLASH);
}

static void test_check_refuses_leading_at_but_not_inner(void **state)
{
    (void)state;
    assert_check(LIT("@alice"), PSEUDO_AT); /* it would read as an operator in a "=" line */
    assert_check(LIT("@"), PSEUDO_AT);
    assert_check(LIT("alice@home"), PSEUDO_OK);
}

static void test_check_accepts_inner_slash(void **state)
{
    (void)state;
    assert_check(LIT("a/b"), PSEUDO_OK);
    assert_check(LIT("a/"), PSEUDO_OK);
}

/* ---------------------------------------------------------------- pseudo_verdict_text */

static void test_verdict_texts_are_the_documented_sentences(void **state)
{
    (void)state;
    /* docs/PROTOCOL.md, "Conversation", the refusal table. */
    assert_string_equal(pseudo_verdict_text(PSEUDO_EMPTY), "Le pseudo ne peut pas être vide.");
    assert_string_equal(pseudo_verdict_text(PSEUDO_TOO_LONG),
                        "Le pseudo ne doit pas dépasser 32 caractères.");
    assert_string_equal(pseudo_verdict_text(PSEUDO_SPACE),
                        "Le pseudo ne doit pas contenir d'espace.");
    assert_string_equal(pseudo_verdict_text(PSEUDO_CONTROL),
                        "Le pseudo ne doit pas contenir de caractère de contrôle.");
    assert_string_equal(pseudo_verdict_text(PSEUDO_INVISIBLE),
                        "Le pseudo ne doit pas contenir de caractère invisible.");
    assert_string_equal(pseudo_verdict_text(PSEUDO_BAD_UTF8),
                        "Le pseudo doit être écrit en UTF-8 valide.");
    assert_string_equal(pseudo_verdict_text(PSEUDO_SLASH),
                        "Le pseudo ne peut pas commencer par « / ».");
    assert_string_equal(pseudo_verdict_text(PSEUDO_AT),
                        "Le pseudo ne peut pas commencer par « @ ».");
}

static void test_verdict_texts_are_distinct_clean_text(void **state)
{
    (void)state;
    const enum pseudo_verdict all[] = {PSEUDO_OK,    PSEUDO_EMPTY,    PSEUDO_TOO_LONG,
                                       PSEUDO_SPACE, PSEUDO_CONTROL,  PSEUDO_INVISIBLE,
                                       PSEUDO_AT,    PSEUDO_BAD_UTF8, PSEUDO_SLASH};
    const size_t n = sizeof(all) / sizeof(all[0]);
    for (size_t i = 0; i < n; i++) {
        const char *t = pseudo_verdict_text(all[i]);
        assert_non_null(t);
        assert_true(strlen(t) > 0);
        assert_true(sanitize_is_clean(t, strlen(t)));
        assert_null(strchr(t, '\n'));
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(t, pseudo_verdict_text(all[j]));
        }
    }
}

/* ---------------------------------------------------------------- pseudo_fold */

static void test_fold_ignores_ascii_case(void **state)
{
    (void)state;
    assert_fold_equal("Alice", "alice");
    assert_fold_equal("ALICE", "alice");
    assert_fold_equal("aLiCe", "AlIcE");
}

static void test_fold_ignores_accented_case(void **state)
{
    (void)state;
    assert_fold_equal("\xC3\x89lodie", "\xC3\xA9lodie"); /* Élodie, élodie */
    assert_fold_equal("\xC3\x89LODIE", "\xC3\xA9lodie"); /* ÉLODIE */
}

static void test_fold_ignores_case_in_other_scripts(void **state)
{
    (void)state;
    assert_fold_equal("\xD0\x94\xD0\xA0\xD0\xA3\xD0\x93",
                      "\xD0\xB4\xD1\x80\xD1\x83\xD0\xB3");     /* ДРУГ, друг */
    assert_fold_equal("\xCE\x91\xCE\x92", "\xCE\xB1\xCE\xB2"); /* ΑΒ, αβ */
}

static void test_fold_keeps_accents_apart(void **state)
{
    (void)state;
    assert_fold_differ("bob", "b\xC3\xB3"
                              "b"); /* bób */
    assert_fold_differ("alice", "alicia");
}

static void test_fold_appends_to_existing_content(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_str(&b, "k:");
    pseudo_fold(LIT("BoB"), &b);
    assert_string_equal(b.data, "k:bob");
    buf_release(&b);
}

static void test_fold_is_idempotent(void **state)
{
    (void)state;
    struct buf once = BUF_INIT, twice = BUF_INIT;
    pseudo_fold(LIT("\xC3\x89lodie-ALICE-\xD0\x94"), &once);
    pseudo_fold(once.data, once.len, &twice);
    assert_string_equal(once.data, twice.data);
    buf_release(&once);
    buf_release(&twice);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accepts_plain_pseudo),
        cmocka_unit_test(test_check_refuses_empty),
        cmocka_unit_test(test_check_accepts_32_characters),
        cmocka_unit_test(test_check_refuses_33_characters),
        cmocka_unit_test(test_check_counts_characters_not_bytes),
        cmocka_unit_test(test_check_refuses_33_multibyte_characters),
        cmocka_unit_test(test_check_accepts_non_latin_scripts),
        cmocka_unit_test(test_check_refuses_space),
        cmocka_unit_test(test_check_refuses_no_break_spaces),
        cmocka_unit_test(test_check_refuses_other_unicode_spaces),
        cmocka_unit_test(test_check_refuses_tab_as_control),
        cmocka_unit_test(test_check_refuses_c0_controls_and_del),
        cmocka_unit_test(test_check_refuses_c1_controls),
        cmocka_unit_test(test_check_refuses_invisible_characters),
        cmocka_unit_test(test_check_accepts_emoji_with_variation_selector),
        cmocka_unit_test(test_check_control_wins_over_invisible),
        cmocka_unit_test(test_check_refuses_invalid_utf8),
        cmocka_unit_test(test_check_refuses_leading_slash),
        cmocka_unit_test(test_check_refuses_leading_at_but_not_inner),
        cmocka_unit_test(test_check_accepts_inner_slash),
        cmocka_unit_test(test_verdict_texts_are_the_documented_sentences),
        cmocka_unit_test(test_verdict_texts_are_distinct_clean_text),
        cmocka_unit_test(test_fold_ignores_ascii_case),
        cmocka_unit_test(test_fold_ignores_accented_case),
        cmocka_unit_test(test_fold_ignores_case_in_other_scripts),
        cmocka_unit_test(test_fold_keeps_accents_apart),
        cmocka_unit_test(test_fold_appends_to_existing_content),
        cmocka_unit_test(test_fold_is_idempotent),
    };
    return cmocka_run_group_tests_name("pseudo", tests, setup_tables, teardown_tables);
}
