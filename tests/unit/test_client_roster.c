/* test_client_roster.c - unit tests for who is in our room (src/client/roster.c).
 *
 * The roster follows the room we enter (welcome, "+ Vous êtes maintenant dans"), takes the
 * whole list from a "=" line of that room only, and the arrivals, departures and changes of
 * pseudo from the notices' stable forms, without case; lines that only look like notices
 * change nothing. Runs single-threaded, in a C.UTF-8 locale for case folding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <string.h>

#include "client/roster.h"
#include "common/pseudo.h"

static int setup(void **state)
{
    static struct roster r;
    setlocale(LC_CTYPE, "C.UTF-8");
    pseudo_init();
    roster_init(&r);
    *state = &r;
    return 0;
}

static int teardown(void **state)
{
    roster_release(*state);
    return 0;
}

static bool feed(struct roster *r, const char *line)
{
    return roster_on_line(r, line, strlen(line), "alice");
}

static void test_welcome_puts_us_in_general(void **state)
{
    struct roster *r = *state;
    assert_true(feed(r, "+ Bienvenue, alice ! 3 personnes connectées."));
    assert_string_equal(r->room, "général");
    assert_int_equal(r->n, 0);
    assert_false(r->listed);
}

static void test_list_line_of_our_room_replaces_the_names(void **state)
{
    struct roster *r = *state;
    feed(r, "+ Bienvenue, alice ! 3 personnes connectées.");
    assert_true(feed(r, "= #Général 3 : alice bob Élodie"));
    assert_int_equal(r->n, 3);
    assert_int_equal(r->count, 3);
    assert_true(r->listed);
    assert_true(roster_has(r, "BOB", 3));
    assert_true(roster_has(r, "élodie", strlen("élodie")));
    assert_false(roster_has(r, "bo", 2));
    assert_true(feed(r, "= #général 1 : alice"));
    assert_int_equal(r->n, 1);
    assert_false(roster_has(r, "bob", 3));
}

static void test_list_line_of_another_room_is_ignored(void **state)
{
    struct roster *r = *state;
    feed(r, "+ Bienvenue, alice ! 3 personnes connectées.");
    feed(r, "= #général 2 : alice bob");
    assert_false(feed(r, "= #jeux 2 : carol dave"));
    assert_true(roster_has(r, "bob", 3));
    assert_false(roster_has(r, "carol", 5));
}

static void test_empty_room_line_has_no_names(void **state)
{
    struct roster *r = *state;
    roster_enter(r, "jeux");
    assert_true(feed(r, "= #jeux 0 :"));
    assert_int_equal(r->n, 0);
    assert_int_equal(r->count, 0);
}

static void test_long_room_keeps_the_whole_count(void **state)
{
    struct roster *r = *state;
    roster_enter(r, "général");
    feed(r, "= #général 1000 : alice bob");
    assert_int_equal(r->count, 1000);
    assert_int_equal(r->n, 2);
    assert_true(feed(r, "* zoe est déconnecté")); /* one of the 998 not named */
    assert_int_equal(r->count, 999);
}

static void test_arrivals_and_departures_follow_the_notices(void **state)
{
    struct roster *r = *state;
    roster_enter(r, "jeux");
    feed(r, "= #jeux 1 : alice");
    assert_true(feed(r, "* bob a rejoint #jeux"));
    assert_true(feed(r, "* carol a rejoint la discussion"));
    assert_true(feed(r, "* dave a rejoint #jeux"));
    assert_int_equal(r->count, 4);
    assert_true(feed(r, "* BOB a quitté #jeux"));
    assert_true(feed(r, "* carol est déconnecté (à demain)"));
    assert_true(feed(r, "* dave a été expulsé"));
    assert_int_equal(r->count, 1);
    assert_false(roster_has(r, "bob", 3));
    assert_false(roster_has(r, "carol", 5));
    assert_false(roster_has(r, "dave", 4));
}

static void test_an_arrival_already_listed_is_not_counted_twice(void **state)
{
    struct roster *r = *state;
    roster_enter(r, "jeux");
    feed(r, "= #jeux 2 : alice bob");
    assert_false(feed(r, "* bob a rejoint #jeux"));
    assert_int_equal(r->count, 2);
}

static void test_changes_of_pseudo_rename(void **state)
{
    struct roster *r = *state;
    roster_enter(r, "général");
    feed(r, "= #général 2 : alice bob");
    assert_true(feed(r, "* bob s'appelle maintenant Robert"));
    assert_true(roster_has(r, "robert", 6));
    assert_false(roster_has(r, "bob", 3));
    assert_false(feed(r, "* zoe s'appelle maintenant Zoé")); /* not in our room */
    assert_true(feed(r, "+ Vous vous appelez maintenant Alicia."));
    assert_true(roster_has(r, "alicia", 6));
    assert_int_equal(r->count, 2);
}

static void test_moving_clears_the_list_until_the_next(void **state)
{
    struct roster *r = *state;
    roster_enter(r, "général");
    feed(r, "= #général 2 : alice bob");
    assert_true(feed(r, "+ Vous êtes maintenant dans #jeux."));
    assert_string_equal(r->room, "jeux");
    assert_int_equal(r->n, 0);
    assert_true(feed(r, "= #jeux 2 : carol alice"));
    assert_true(roster_has(r, "carol", 5));
}

static void test_lines_that_only_look_like_notices_change_nothing(void **state)
{
    struct roster *r = *state;
    roster_enter(r, "général");
    feed(r, "= #général 1 : alice");
    assert_false(feed(r, "* serveur : bob a rejoint #général"));
    assert_false(feed(r, "> bob: a rejoint la discussion"));
    assert_false(feed(r, "* bob a rejoint la discussion en courant"));
    assert_false(feed(r, "* bob est déconnecté mais revient"));
    assert_false(feed(r, "*"));
    assert_false(feed(r, ""));
    assert_int_equal(r->count, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_welcome_puts_us_in_general),
        T(test_list_line_of_our_room_replaces_the_names),
        T(test_list_line_of_another_room_is_ignored),
        T(test_empty_room_line_has_no_names),
        T(test_long_room_keeps_the_whole_count),
        T(test_arrivals_and_departures_follow_the_notices),
        T(test_an_arrival_already_listed_is_not_counted_twice),
        T(test_changes_of_pseudo_rename),
        T(test_moving_clears_the_list_until_the_next),
        T(test_lines_that_only_look_like_notices_change_nothing),
    };
#undef T
    return cmocka_run_group_tests_name("client_roster", tests, NULL, NULL);
}
