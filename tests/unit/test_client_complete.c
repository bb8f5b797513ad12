/* test_client_complete.c - unit tests for Tab's candidates (src/client/complete.c).
 *
 * At the start of a line a pseudo completes as "pseudo:", a '/' word as a command; after
 * it a pseudo alone; matching ignores case, keeps the server's spelling, leaves ourselves
 * out and sorts. Runs in a C.UTF-8 locale, single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <string.h>

#include "client/complete.h"
#include "client/roster.h"
#include "common/pseudo.h"

static struct roster room;

static int setup(void **state)
{
    (void)state;
    setlocale(LC_CTYPE, "C.UTF-8");
    pseudo_init();
    roster_init(&room);
    const char *lines[] = {
        "# #général : Vous êtes maintenant dans #général.",
        "= #général 5 : alice Bob bérénice Élodie bernard",
    };
    for (size_t i = 0; i < 2; i++) {
        roster_on_line(&room, lines[i], strlen(lines[i]), "alice");
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    roster_release(&room);
    return 0;
}

/* The candidates for the word ending at the end of line, joined by "|". */
static void assert_candidates(const char *line, size_t start, const char *want)
{
    struct complete_list l = {0};
    complete_candidates(line, start, strlen(line), &room, "alice", &l);
    char got[512] = "";
    for (size_t i = 0; i < l.n; i++) {
        if (i) {
            strcat(got, "|");
        }
        strcat(got, l.items[i]);
    }
    complete_list_release(&l);
    assert_string_equal(got, want);
}

static void test_first_word_completes_a_pseudo_with_a_colon(void **state)
{
    (void)state;
    assert_candidates("bo", 0, "Bob:");
    assert_candidates("B", 0, "bernard:|Bob:|bérénice:"); /* code point order */
    assert_candidates("él", 0, "Élodie:");
    assert_candidates("  bo", 2, "Bob:");
}

static void test_ourselves_are_never_offered(void **state)
{
    (void)state;
    assert_candidates("al", 0, "");
    assert_candidates("salut al", 6, "");
}

static void test_a_slash_word_completes_a_command(void **state)
{
    (void)state;
    assert_candidates("/j", 0, "/join");
    assert_candidates("/m", 0, "/me|/mode|/msg");
    assert_candidates("/pa", 0, "/part|/password");
    assert_candidates("/un", 0, "/unban|/unregister");
    assert_candidates("/", 0,
                      "/ban|/clear|/deop|/help|/history|/invite|/join|/kick|/me|/mode|/msg|/nick|"
                      "/op|/part|/password|/quit|/register|/rooms|/say|/search|/topic|/unban|"
                      "/unregister|/who");
    assert_candidates("/zz", 0, "");
}

static void test_later_words_complete_a_pseudo_alone(void **state)
{
    (void)state;
    assert_candidates("/msg bo", 5, "Bob");
    assert_candidates("salut ber", 6, "bernard"); /* "é" is not "e" */
    assert_candidates("salut b", 6, "bernard|Bob|bérénice");
    assert_candidates("salut BÉ", 6, "bérénice");
    assert_candidates("salut x", 6, "");
}

static void test_an_empty_word_offers_everyone(void **state)
{
    (void)state;
    assert_candidates("", 0, "bernard:|Bob:|bérénice:|Élodie:");
    assert_candidates("/msg ", 5, "bernard|Bob|bérénice|Élodie");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_word_completes_a_pseudo_with_a_colon),
        cmocka_unit_test(test_ourselves_are_never_offered),
        cmocka_unit_test(test_a_slash_word_completes_a_command),
        cmocka_unit_test(test_later_words_complete_a_pseudo_alone),
        cmocka_unit_test(test_an_empty_word_offers_everyone),
    };
    return cmocka_run_group_tests_name("client_complete", tests, setup, teardown);
}
