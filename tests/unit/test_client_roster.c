/* test_client_roster.c - unit tests for who is in our room (src/client/roster.c).
 *
 * The roster is fed the event lines only (docs/PROTOCOL.md, "Events"): '#' sets the room
 * and clears the list, '=' of that room replaces the list, '^' and '-' of that room bring
 * and take one person, '|' renames anyone and tells our own change of pseudo apart; lines
 * of another room, notices in French and malformed lines change nothing. Runs
 * single-threaded, in a C.UTF-8 locale for case folding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
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
    return roster_on_line(r, line, strlen(line), "alice").changed;
}

/* In room, with the list names (a "=" line's sentence). */
static void in_room(struct roster *r, const char *room, unsigned count, const char *names)
{
    char line[256];
    snprintf(line, sizeof(line), "# #%s : Vous êtes maintenant dans #%s.", room, room);
    assert_true(feed(r, line));
    snprintf(line, sizeof(line), "= #%s %u : %s", room, count, names);
    assert_true(feed(r, line));
}

static void test_room_line_sets_the_room_and_clears_the_list(void **state)
{
    struct roster *r = *state;
    in_room(r, "général", 2, "alice bob");
    assert_true(feed(r, "# #jeux : Vous êtes maintenant dans #jeux."));
    assert_string_equal(r->room, "jeux");
    assert_int_equal(r->n, 0);
    assert_int_equal(r->count, 0);
    assert_false(r->listed);
}

static void test_nothing_is_known_before_a_room_line(void **state)
{
    struct roster *r = *state;
    assert_false(feed(r, "+ Bienvenue, alice ! 3 personnes connectées."));
    assert_null(r->room);
    assert_false(feed(r, "= #général 2 : alice bob"));
    assert_false(feed(r, "^ bob #général : bob a rejoint la discussion"));
    assert_int_equal(r->n, 0);
}

static void test_list_line_of_our_room_replaces_the_names(void **state)
{
    struct roster *r = *state;
    in_room(r, "Général", 3, "alice bob Élodie");
    assert_int_equal(r->n, 3);
    assert_int_equal(r->count, 3);
    assert_true(r->listed);
    assert_true(roster_has(r, "BOB", 3));
    assert_true(roster_has(r, "élodie", strlen("élodie")));
    assert_false(roster_has(r, "bo", 2));
    assert_true(feed(r, "= #général 1 : alice")); /* the room compared without case */
    assert_int_equal(r->n, 1);
    assert_false(roster_has(r, "bob", 3));
}

static void test_operators_marks_are_not_part_of_the_names(void **state)
{
    struct roster *r = *state;
    in_room(r, "jeux", 3, "@alice bob @carol");
    assert_int_equal(r->n, 3);
    assert_true(roster_has(r, "alice", 5));
    assert_true(roster_has(r, "carol", 5));
    assert_false(roster_has(r, "@alice", 6));
}

static void test_list_line_of_another_room_is_ignored(void **state)
{
    struct roster *r = *state;
    in_room(r, "général", 2, "alice bob");
    assert_false(feed(r, "= #jeux 2 : carol dave"));
    assert_true(roster_has(r, "bob", 3));
    assert_false(roster_has(r, "carol", 5));
}

static void test_empty_room_line_has_no_names(void **state)
{
    struct roster *r = *state;
    feed(r, "# #jeux : Vous êtes maintenant dans #jeux.");
    assert_true(feed(r, "= #jeux 0 :"));
    assert_int_equal(r->n, 0);
    assert_int_equal(r->count, 0);
    assert_true(r->listed);
}

static void test_long_room_keeps_the_whole_count(void **state)
{
    struct roster *r = *state;
    in_room(r, "général", 1000, "alice bob");
    assert_int_equal(r->count, 1000);
    assert_int_equal(r->n, 2);
    assert_true(feed(r, "- zoe #général : zoe est déconnecté")); /* one of the 998 not named */
    assert_int_equal(r->count, 999);
}

static void test_a_count_below_the_names_counts_the_names(void **state)
{
    struct roster *r = *state;
    in_room(r, "jeux", 1, "alice bob carol");
    assert_int_equal(r->count, 3);
}

static void test_enter_line_of_our_room_adds_a_name(void **state)
{
    struct roster *r = *state;
    in_room(r, "jeux", 1, "alice");
    assert_true(feed(r, "^ bob #jeux : bob a rejoint #jeux"));
    assert_true(feed(r, "^ carol #Jeux : carol a rejoint #jeux"));
    assert_int_equal(r->count, 3);
    assert_true(roster_has(r, "bob", 3));
    assert_true(roster_has(r, "CAROL", 5));
}

static void test_an_arrival_already_listed_is_not_counted_twice(void **state)
{
    struct roster *r = *state;
    in_room(r, "jeux", 2, "alice bob");
    assert_false(feed(r, "^ Bob #jeux : Bob a rejoint #jeux"));
    assert_int_equal(r->count, 2);
    assert_int_equal(r->n, 2);
}

static void test_leave_line_of_our_room_takes_a_name(void **state)
{
    struct roster *r = *state;
    in_room(r, "jeux", 4, "alice bob carol dave");
    assert_true(feed(r, "- BOB #jeux : bob a quitté #jeux"));
    assert_true(feed(r, "- carol #jeux : carol est déconnecté (à demain)"));
    assert_true(feed(r, "- dave #jeux : dave a été expulsé"));
    assert_int_equal(r->count, 1);
    assert_false(roster_has(r, "bob", 3));
    assert_false(roster_has(r, "carol", 5));
    assert_false(roster_has(r, "dave", 4));
    assert_true(roster_has(r, "alice", 5));
}

static void test_events_of_another_room_are_ignored(void **state)
{
    struct roster *r = *state;
    in_room(r, "général", 2, "alice bob");
    assert_false(feed(r, "^ carol #jeux : carol a rejoint #jeux"));
    assert_false(feed(r, "- bob #jeux : bob a quitté #jeux"));
    assert_int_equal(r->count, 2);
    assert_true(roster_has(r, "bob", 3));
    assert_false(roster_has(r, "carol", 5));
}

static void test_rename_of_someone_else_renames_them(void **state)
{
    struct roster *r = *state;
    in_room(r, "général", 2, "alice bob");
    struct roster_update u;
    const char *line = "| bob Robert : bob s'appelle maintenant Robert";
    u = roster_on_line(r, line, strlen(line), "alice");
    assert_true(u.changed);
    assert_false(u.renamed_self);
    assert_true(roster_has(r, "robert", 6));
    assert_false(roster_has(r, "bob", 3));
    assert_int_equal(r->count, 2);
    assert_false(feed(r, "| zoe Zoé : zoe s'appelle maintenant Zoé")); /* not in our room */
    assert_int_equal(r->n, 2);
}

static void test_our_own_rename_is_told_apart(void **state)
{
    struct roster *r = *state;
    in_room(r, "général", 2, "alice bob");
    const char *line = "| ALICE Alicia : Vous vous appelez maintenant Alicia.";
    struct roster_update u = roster_on_line(r, line, strlen(line), "alice");
    assert_true(u.renamed_self);
    assert_int_equal(u.new_self.len, 6);
    assert_memory_equal(u.new_self.p, "Alicia", 6);
    assert_true(u.changed);
    assert_true(roster_has(r, "alicia", 6));
    assert_false(roster_has(r, "alice", 5));
}

static void test_our_own_rename_is_told_even_before_a_room(void **state)
{
    struct roster *r = *state;
    const char *line = "| alice alicia : Vous vous appelez maintenant alicia.";
    struct roster_update u = roster_on_line(r, line, strlen(line), "alice");
    assert_true(u.renamed_self);
    assert_false(u.changed);
    u = roster_on_line(r, line, strlen(line), NULL); /* no pseudo of ours yet */
    assert_false(u.renamed_self);
}

static void test_french_notices_change_nothing(void **state)
{
    struct roster *r = *state;
    in_room(r, "général", 1, "alice");
    assert_false(feed(r, "* bob a rejoint la discussion"));
    assert_false(feed(r, "* bob a rejoint #général"));
    assert_false(feed(r, "+ Vous êtes maintenant dans #jeux."));
    assert_false(feed(r, "+ Vous vous appelez maintenant Alicia."));
    assert_false(feed(r, "$ #jeux 3 : 3 personnes"));
    assert_string_equal(r->room, "général");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->n, 1);
}

static void test_malformed_lines_change_nothing(void **state)
{
    struct roster *r = *state;
    in_room(r, "général", 2, "alice bob");
    const char *lines[] = {
        "^ carol #général",              /* no " :" */
        "^ carol général : x",           /* no '#' */
        "^ carol # : x",                 /* an empty room */
        "^  #général : x",               /* an empty pseudo */
        "^ carol #général :x",           /* no space after ':' */
        "^ carol extra #général : x",    /* three fields */
        "- bob #général",                /* no " :" */
        "- #général : x",                /* one field */
        "| bob : x",                     /* one field */
        "| bob robert",                  /* no " :" */
        "# jeux : x",                    /* no '#' */
        "# #jeux #autre : x",            /* two fields */
        "#",                             /* no text at all */
        "= #général : alice",            /* no count */
        "= #général deux : alice",       /* a count that is not one */
        "= #général 1234567890 : alice", /* more digits than a count has */
        "=#général 1 : alice",           /* no space after the kind */
        "",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct roster_update u = roster_on_line(r, lines[i], strlen(lines[i]), "alice");
        assert_false(u.changed);
        assert_false(u.renamed_self);
    }
    assert_string_equal(r->room, "général");
    assert_int_equal(r->count, 2);
    assert_true(roster_has(r, "bob", 3));
    assert_false(roster_has(r, "carol", 5));
}

/* Found by tests/fuzz/fuzz_server_line.c: a NUL in a room's name made an empty room. */
static void test_a_room_that_no_server_could_name_is_refused(void **state)
{
    struct roster *r = *state;
    in_room(r, "général", 2, "alice bob");
    static const char nul_room[] = "# #\0\0général : Vous êtes maintenant dans #général.";
    assert_false(roster_on_line(r, nul_room, sizeof(nul_room) - 1, "alice").changed);
    assert_false(feed(r, "# #a\033[2Jb : x"));
    assert_false(feed(r, "# #abcdefghijklmnopqrstuvwxyz0123456789 : x")); /* 36 characters */
    assert_string_equal(r->room, "général");
    assert_int_equal(r->n, 2);
}

static void test_names_that_no_server_could_give_are_refused(void **state)
{
    struct roster *r = *state;
    in_room(r, "général", 2, "alice bob");
    static const char nul_name[] = "^ \0x #général : x";
    assert_false(roster_on_line(r, nul_name, sizeof(nul_name) - 1, "alice").changed);
    assert_false(feed(r, "^ a\033b #général : x"));
    const char *line = "| alice \033[2J : x";
    struct roster_update u = roster_on_line(r, line, strlen(line), "alice");
    assert_false(u.renamed_self);
    assert_false(u.changed);
    assert_true(feed(r, "= #général 3 : alice \a bob")); /* counted, not named */
    assert_int_equal(r->n, 2);
    assert_int_equal(r->count, 3);
}

static void test_a_list_line_names_at_most_proto_who_max(void **state)
{
    struct roster *r = *state;
    feed(r, "# #grand : Vous êtes maintenant dans #grand.");
    static char line[16 * (PROTO_WHO_MAX + 10)];
    size_t at = (size_t)snprintf(line, sizeof(line), "= #grand %u :", PROTO_WHO_MAX + 10);
    for (unsigned i = 0; i < PROTO_WHO_MAX + 10; i++) {
        at += (size_t)snprintf(line + at, sizeof(line) - at, " p%u", i);
    }
    assert_true(feed(r, line));
    assert_int_equal(r->n, PROTO_WHO_MAX);
    assert_int_equal(r->count, PROTO_WHO_MAX + 10);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_room_line_sets_the_room_and_clears_the_list),
        T(test_nothing_is_known_before_a_room_line),
        T(test_list_line_of_our_room_replaces_the_names),
        T(test_operators_marks_are_not_part_of_the_names),
        T(test_list_line_of_another_room_is_ignored),
        T(test_empty_room_line_has_no_names),
        T(test_long_room_keeps_the_whole_count),
        T(test_a_count_below_the_names_counts_the_names),
        T(test_enter_line_of_our_room_adds_a_name),
        T(test_an_arrival_already_listed_is_not_counted_twice),
        T(test_leave_line_of_our_room_takes_a_name),
        T(test_events_of_another_room_are_ignored),
        T(test_rename_of_someone_else_renames_them),
        T(test_our_own_rename_is_told_apart),
        T(test_our_own_rename_is_told_even_before_a_room),
        T(test_french_notices_change_nothing),
        T(test_malformed_lines_change_nothing),
        T(test_a_room_that_no_server_could_name_is_refused),
        T(test_names_that_no_server_could_give_are_refused),
        T(test_a_list_line_names_at_most_proto_who_max),
    };
#undef T
    return cmocka_run_group_tests_name("client_roster", tests, NULL, NULL);
}
