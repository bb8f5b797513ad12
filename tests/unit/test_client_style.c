/* test_client_style.c - unit tests for the terminal's dress (src/client/style.c).
 *
 * Colours are stable for a pseudo whatever its case; a mention is a whole word, found
 * without case; times are local and history keeps its own; without colour not one escape
 * sequence is written, and with colour none but ours (peer text is sanitised); the
 * prompt names the pseudo, server, room, count, TLS link, waiting lines and offline state,
 * with its escapes wrapped for readline; event lines read as the notices they replace, on a
 * terminal and in the plain form for a pipe; colours follow the terminal, NO_COLOR and
 * --no-color.
 * Runs in a C.UTF-8 locale and TZ=UTC, single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/style.h"
#include "common/pseudo.h"

#define NOON 1795608000 /* 2026-11-25 12:00:00 UTC */

static int setup(void **state)
{
    (void)state;
    setlocale(LC_CTYPE, "C.UTF-8");
    pseudo_init();
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

static const struct style plain = {.colour = false, .clock = true, .self = "alice"};
static const struct style coloured = {
    .colour = true, .palette256 = true, .clock = true, .self = "alice"};

static void render(const struct style *st, const char *line, struct buf *out,
                   struct style_marks *marks)
{
    buf_reset(out);
    struct style_marks m = style_server_line(st, line, strlen(line), NOON, out);
    if (marks) {
        *marks = m;
    }
}

static void test_colour_is_the_same_whatever_the_case(void **state)
{
    (void)state;
    char a[16], b[16], c[16];
    style_pseudo_colour("Élodie", strlen("Élodie"), true, a, sizeof(a));
    style_pseudo_colour("élodie", strlen("élodie"), true, b, sizeof(b));
    assert_string_equal(a, b);
    assert_memory_equal(a, "38;5;", 5);
    style_pseudo_colour("élodie", strlen("élodie"), false, c, sizeof(c));
    assert_true(strlen(c) == 2 && c[0] == '3' && c[1] >= '1' && c[1] <= '6');
}

static void test_pseudos_get_different_colours(void **state)
{
    (void)state;
    /* Not a guarantee for any two, but a palette this size must tell most apart. */
    const char *names[] = {"alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi"};
    char first[16], other[16];
    style_pseudo_colour(names[0], strlen(names[0]), true, first, sizeof(first));
    int same = 0;
    for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
        style_pseudo_colour(names[i], strlen(names[i]), true, other, sizeof(other));
        same += strcmp(first, other) == 0;
    }
    assert_true(same < 3);
}

static void test_mention_is_a_whole_word_without_case(void **state)
{
    (void)state;
    size_t at, len;
    assert_true(style_find_mention("salut ALICE !", 13, "alice", 5, &at, &len));
    assert_int_equal(at, 6);
    assert_int_equal(len, 5);
    assert_true(style_find_mention("alice, tu viens ?", 17, "alice", 5, &at, &len));
    assert_int_equal(at, 0);
    assert_false(style_find_mention("malice", 6, "alice", 5, &at, &len));
    assert_false(style_find_mention("alice_b", 7, "alice", 5, &at, &len));
    assert_false(style_find_mention("alice2", 6, "alice", 5, &at, &len));
    const char *t = "coucou Élodie";
    assert_true(style_find_mention(t, strlen(t), "élodie", strlen("élodie"), &at, &len));
    assert_int_equal(at, 7);
    assert_int_equal(len, strlen("Élodie"));
    assert_false(style_find_mention("", 0, "alice", 5, &at, &len));
}

static void test_clock_is_local_time(void **state)
{
    (void)state;
    char hhmm[6];
    style_clock(NOON + 3 * 60, hhmm);
    assert_string_equal(hhmm, "12:03");
    setenv("TZ", "Europe/Paris", 1);
    tzset();
    style_clock(NOON, hhmm);
    assert_string_equal(hhmm, "13:00");
    setenv("TZ", "UTC", 1);
    tzset();
}

static void test_parse_utc_takes_the_protocols_form_only(void **state)
{
    (void)state;
    time_t t;
    assert_int_equal(style_parse_utc("2026-11-25T12:00:00Z", 20, &t), 0);
    assert_true(t == NOON);
    assert_int_equal(style_parse_utc("2024-02-29T00:00:00Z", 20, &t), 0);
    assert_int_equal(style_parse_utc("2026-02-29T00:00:00Z", 20, &t), -EINVAL);
    assert_int_equal(style_parse_utc("2026-11-25 12:00:00Z", 20, &t), -EINVAL);
    assert_int_equal(style_parse_utc("2026-11-25T12:00:00", 19, &t), -EINVAL);
    assert_int_equal(style_parse_utc("2026-13-25T12:00:00Z", 20, &t), -EINVAL);
    assert_int_equal(style_parse_utc("2026-11-25T24:00:00Z", 20, &t), -EINVAL);
}

static void test_plain_lines_hold_no_escape_sequence(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    const char *lines[] = {"> bob: salut alice",
                           "& bob danse",
                           "@ bob: psst",
                           "* bob est là",
                           "! Non.",
                           "+ Oui.",
                           "= #jeux 2 : a b",
                           "~ 2026-11-25T11:00:00Z > b: x",
                           "% Mot de passe :",
                           "; inconnu"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        render(&plain, lines[i], &out, NULL);
        assert_null(strchr(out.data, '\033'));
    }
    render(&plain, "> bob: salut", &out, NULL);
    assert_string_equal(out.data, "12:00 bob: salut");
    render(&plain, "& bob danse", &out, NULL);
    assert_string_equal(out.data, "12:00 * bob danse");
    render(&plain, "@ bob: psst", &out, NULL);
    assert_string_equal(out.data, "12:00 [privé] bob: psst");
    render(&plain, "! Non.", &out, NULL);
    assert_string_equal(out.data, "12:00 ! Non.");
    render(&plain, "* bob est déconnecté", &out, NULL);
    assert_string_equal(out.data, "12:00 * bob est déconnecté");
    buf_release(&out);
}

static void test_who_lines_read_as_a_sentence(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    render(&plain, "= #jeux 3 : alice bob carol", &out, NULL);
    assert_string_equal(out.data, "12:00 * #jeux, 3 personnes : alice, bob, carol");
    render(&plain, "= #jeux 1 : alice", &out, NULL);
    assert_string_equal(out.data, "12:00 * #jeux, 1 personne : alice");
    render(&plain, "= #jeux 0 :", &out, NULL);
    assert_string_equal(out.data, "12:00 * #jeux, 0 personne");
    render(&plain, "= #général 1000 : a b", &out, NULL);
    assert_string_equal(out.data, "12:00 * #général, 1000 personnes : a, b et 998 autres");
    render(&plain, "= n'importe quoi", &out, NULL);
    assert_string_equal(out.data, "12:00 * n'importe quoi");
    buf_release(&out);
}

static void test_history_lines_keep_their_own_time(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    struct style_marks m;
    render(&plain, "~ 2026-11-25T09:41:00Z > bob: hier alice", &out, &m);
    assert_string_equal(out.data, "09:41 bob: hier alice");
    assert_false(m.mention); /* an old line does not ring */
    render(&plain, "~ pas une date > bob: x", &out, NULL);
    assert_string_equal(out.data, "12:00 * pas une date > bob: x");
    buf_release(&out);
}

static void test_colours_only_ours_reach_the_terminal(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    render(&coloured, "> bob: \033[2Jsalut\033[31m", &out, NULL);
    assert_non_null(strstr(out.data, "\033[38;5;")); /* bob's colour */
    assert_null(strstr(out.data, "\033[2J"));
    assert_null(strstr(out.data, "\033[31m"));
    assert_non_null(strstr(out.data, "[2Jsalut[31m"));
    buf_release(&out);
}

static void test_notices_and_errors_are_dim(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    render(&coloured, "* bob est déconnecté", &out, NULL);
    assert_non_null(strstr(out.data, "\033[2m* bob est déconnecté\033[0m"));
    render(&coloured, "! Non.", &out, NULL);
    assert_non_null(strstr(out.data, "\033[2;31m! Non.\033[0m"));
    render(&coloured, "+ Vous êtes maintenant dans #jeux.", &out, NULL);
    assert_non_null(strstr(out.data, "\033[2m* Vous êtes maintenant dans #jeux."));
    buf_release(&out);
}

static void test_a_mention_is_marked_and_highlighted(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    struct style_marks m;
    render(&coloured, "> bob: salut Alice !", &out, &m);
    assert_true(m.mention);
    assert_non_null(strstr(out.data, "\033[7mAlice"));
    render(&coloured, "> bob: salut malice", &out, &m);
    assert_false(m.mention);
    render(&coloured, "& bob salue alice", &out, &m);
    assert_true(m.mention);
    render(&coloured, "> alice: moi, alice", &out, &m);
    assert_false(m.mention); /* our own line, come back from a history or a bouncer */
    render(&coloured, "@ bob: psst", &out, &m);
    assert_true(m.private_msg);
    buf_release(&out);
}

static void test_own_lines_are_set_apart(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    style_own_line(&plain, "bonjour", 7, false, NOON, &out);
    assert_string_equal(out.data, "12:00 alice: bonjour");
    buf_reset(&out);
    style_own_line(&plain, "danse", 5, true, NOON, &out);
    assert_string_equal(out.data, "12:00 * alice danse");
    buf_reset(&out);
    style_own_line(&coloured, "bonjour", 7, false, NOON, &out);
    assert_non_null(strstr(out.data, "\033[1;38;5;"));     /* our pseudo, bold */
    assert_non_null(strstr(out.data, "\033[1m: bonjour")); /* and our text */
    buf_release(&out);
}

static void test_prompt_is_the_status(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    struct style_status s = {
        .pseudo = "alice", .server = "127.0.0.1:1234", .room = "général", .count = 3};
    style_prompt(&plain, &s, &out);
    assert_string_equal(out.data, "[alice@127.0.0.1:1234 #général 3] ");
    buf_reset(&out);
    s.waiting = 7;
    style_prompt(&plain, &s, &out);
    assert_string_equal(out.data, "[alice@127.0.0.1:1234 #général 3 · 7 en attente] ");
    buf_reset(&out);
    s.offline = true;
    s.retry_s = 4;
    style_prompt(&plain, &s, &out);
    assert_string_equal(out.data,
                        "[alice@127.0.0.1:1234 #général hors ligne, nouvel essai dans 4 s · 7 en "
                        "attente] ");
    buf_reset(&out);
    style_prompt(&coloured, &s, &out);
    /* Every escape sequence is inside readline's \001 ... \002. */
    for (const char *p = out.data; (p = strchr(p, '\033')) != NULL; p++) {
        assert_true(p > out.data && p[-1] == '\001');
        assert_non_null(strchr(p, '\002'));
    }
    buf_release(&out);
}

static void test_prompt_marks_a_tls_link(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    struct style_status s = {
        .pseudo = "alice", .server = "127.0.0.1:1235", .room = "général", .count = 3, .tls = true};
    style_prompt(&plain, &s, &out);
    assert_string_equal(out.data, "[alice@127.0.0.1:1235 #général 3 · tls] ");
    buf_reset(&out);
    s.waiting = 2;
    style_prompt(&plain, &s, &out);
    assert_string_equal(out.data, "[alice@127.0.0.1:1235 #général 3 · tls · 2 en attente] ");
    buf_reset(&out);
    s.waiting = 0;
    s.offline = true;
    s.retry_s = 4;
    style_prompt(&plain, &s, &out); /* offline, the next attempt is TLS too */
    assert_string_equal(out.data,
                        "[alice@127.0.0.1:1235 #général hors ligne, nouvel essai dans 4 s · tls] ");
    buf_reset(&out);
    s.offline = false;
    style_prompt(&coloured, &s, &out);
    assert_non_null(strstr(out.data, "\001\033[32m\002 · tls\001\033[0m\002")); /* green */
    buf_release(&out);
}

static void test_prompt_marks_an_unverified_tls_link_apart(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    struct style_status s = {.pseudo = "alice",
                             .server = "127.0.0.1:1235",
                             .room = "général",
                             .count = 3,
                             .tls = true,
                             .tls_unverified = true};
    style_prompt(&plain, &s, &out);
    assert_string_equal(out.data, "[alice@127.0.0.1:1235 #général 3 · tls non vérifié] ");
    buf_reset(&out);
    style_prompt(&coloured, &s, &out);
    assert_non_null(strstr(out.data, "\001\033[31m\002 · tls non vérifié\001\033[0m\002"));
    buf_release(&out);
}

/* ---------------------------------------------------------------- event lines */

static void test_event_lines_read_as_the_notices_they_replace(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    render(&plain, "^ bob #jeux : bob a rejoint #jeux", &out, NULL);
    assert_string_equal(out.data, "12:00 * bob a rejoint #jeux");
    render(&plain, "- bob #général : bob est déconnecté (à plus)", &out, NULL);
    assert_string_equal(out.data, "12:00 * bob est déconnecté (à plus)");
    render(&plain, "| bob Robert : bob s'appelle maintenant Robert", &out, NULL);
    assert_string_equal(out.data, "12:00 * bob s'appelle maintenant Robert");
    render(&plain, "| alice Alicia : Vous vous appelez maintenant Alicia.", &out, NULL);
    assert_string_equal(out.data, "12:00 * Vous vous appelez maintenant Alicia.");
    render(&plain, "# #jeux : Vous êtes maintenant dans #jeux.", &out, NULL);
    assert_string_equal(out.data, "12:00 * Vous êtes maintenant dans #jeux.");
    buf_release(&out);
}

static void test_event_lines_are_dim_like_notices(void **state)
{
    (void)state;
    struct buf out = BUF_INIT, notice = BUF_INIT;
    render(&coloured, "^ bob #jeux : bob a rejoint #jeux", &out, NULL);
    render(&coloured, "* bob a rejoint #jeux", &notice, NULL);
    assert_string_equal(out.data, notice.data);
    assert_non_null(strstr(out.data, "\033[2m* bob a rejoint #jeux\033[0m"));
    render(&coloured, "# #jeux : Vous êtes maintenant dans #jeux.", &out, NULL);
    render(&coloured, "+ Vous êtes maintenant dans #jeux.", &notice, NULL);
    assert_string_equal(out.data, notice.data);
    buf_release(&notice);
    buf_release(&out);
}

static void test_room_item_lines_name_the_room_then_the_sentence(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    render(&plain, "$ #jeux 3 : 3 personnes", &out, NULL);
    assert_string_equal(out.data, "12:00 * #jeux : 3 personnes");
    render(&plain, "$ #général 1 : 1 personne", &out, NULL);
    assert_string_equal(out.data, "12:00 * #général : 1 personne");
    buf_release(&out);
}

static void test_event_lines_not_of_their_form_are_shown_whole(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    render(&plain, "^ bob #jeux", &out, NULL);
    assert_string_equal(out.data, "12:00 * bob #jeux");
    render(&plain, "^ bob #jeux :", &out, NULL); /* no sentence: the fields, at least */
    assert_string_equal(out.data, "12:00 * bob #jeux :");
    render(&plain, "^ bob jeux : x", &out, NULL);
    assert_string_equal(out.data, "12:00 * bob jeux : x");
    render(&plain, "$ #jeux trois : 3 personnes", &out, NULL);
    assert_string_equal(out.data, "12:00 * #jeux trois : 3 personnes");
    render(&plain, "# jeux : x", &out, NULL);
    assert_string_equal(out.data, "12:00 * jeux : x");
    buf_release(&out);
}

static void test_event_sentences_are_sanitised(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    render(&coloured, "^ bob #jeux : bob \033[2Ja rejoint\a #jeux", &out, NULL);
    assert_null(strstr(out.data, "\033[2J"));
    assert_null(strchr(out.data, '\a'));
    buf_release(&out);
}

static void plain_form(const char *line, struct buf *out)
{
    buf_reset(out);
    style_plain_line(line, strlen(line), out);
}

static void test_plain_form_for_a_pipe_is_the_old_one(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    plain_form("> bob: salut", &out);
    assert_string_equal(out.data, "bob: salut");
    plain_form("! Non.", &out);
    assert_string_equal(out.data, "! Non.");
    plain_form("+ Bienvenue, bob !", &out);
    assert_string_equal(out.data, "* Bienvenue, bob !");
    plain_form("* bob est déconnecté", &out);
    assert_string_equal(out.data, "* bob est déconnecté");
    plain_form("@ bob: psst", &out);
    assert_string_equal(out.data, "* bob: psst");
    plain_form("= #jeux 2 : alice bob", &out);
    assert_string_equal(out.data, "* #jeux 2 : alice bob");
    plain_form("~ 2026-11-25T09:41:00Z > bob: hier", &out);
    assert_string_equal(out.data, "* 2026-11-25T09:41:00Z > bob: hier");
    plain_form("; genre inconnu", &out);
    assert_string_equal(out.data, "* genre inconnu");
    buf_release(&out);
}

static void test_plain_form_of_event_lines_is_their_sentence(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    plain_form("^ bob #général : bob a rejoint la discussion", &out);
    assert_string_equal(out.data, "* bob a rejoint la discussion");
    plain_form("- bob #général : bob est déconnecté", &out);
    assert_string_equal(out.data, "* bob est déconnecté");
    plain_form("| bob rob : bob s'appelle maintenant rob", &out);
    assert_string_equal(out.data, "* bob s'appelle maintenant rob");
    plain_form("# #jeux : Vous êtes maintenant dans #jeux.", &out);
    assert_string_equal(out.data, "* Vous êtes maintenant dans #jeux.");
    plain_form("$ #jeux 2 : 2 personnes", &out);
    assert_string_equal(out.data, "* #jeux : 2 personnes");
    plain_form("^ pas la forme", &out);
    assert_string_equal(out.data, "* pas la forme");
    buf_release(&out);
}

/* ---------------------------------------------------------------- the terminal */

static const struct style_terminal xterm = {.interactive = true, .term = "xterm"};

static void test_a_terminal_gets_colours_and_the_clock(void **state)
{
    (void)state;
    struct style st = style_for_terminal(&xterm);
    assert_true(st.colour);
    assert_true(st.clock);
    assert_false(st.palette256);
    assert_null(st.self);
}

static void test_no_colour_and_no_clock_without_a_terminal(void **state)
{
    (void)state;
    struct style_terminal t = xterm;
    t.interactive = false;
    struct style st = style_for_terminal(&t);
    assert_false(st.colour);
    assert_false(st.clock);
}

static void test_no_color_set_and_not_empty_turns_colours_off(void **state)
{
    (void)state;
    struct style_terminal t = xterm;
    t.no_color = "1";
    assert_false(style_for_terminal(&t).colour);
    t.no_color = "";
    assert_true(style_for_terminal(&t).colour); /* no-color.org: an empty value is unset */
}

static void test_no_color_option_turns_colours_off(void **state)
{
    (void)state;
    struct style_terminal t = xterm;
    t.no_color_option = true;
    struct style st = style_for_terminal(&t);
    assert_false(st.colour);
    assert_true(st.clock);
}

static void test_a_dumb_or_unnamed_terminal_gets_no_colour(void **state)
{
    (void)state;
    struct style_terminal t = xterm;
    t.term = "dumb";
    assert_false(style_for_terminal(&t).colour);
    t.term = NULL;
    assert_false(style_for_terminal(&t).colour);
}

static void test_256_colours_from_term_or_colorterm(void **state)
{
    (void)state;
    struct style_terminal t = xterm;
    t.term = "xterm-256color";
    assert_true(style_for_terminal(&t).palette256);
    t.term = "screen";
    t.colorterm = "truecolor";
    assert_true(style_for_terminal(&t).palette256);
    t.colorterm = "";
    assert_false(style_for_terminal(&t).palette256);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colour_is_the_same_whatever_the_case),
        cmocka_unit_test(test_pseudos_get_different_colours),
        cmocka_unit_test(test_mention_is_a_whole_word_without_case),
        cmocka_unit_test(test_clock_is_local_time),
        cmocka_unit_test(test_parse_utc_takes_the_protocols_form_only),
        cmocka_unit_test(test_plain_lines_hold_no_escape_sequence),
        cmocka_unit_test(test_who_lines_read_as_a_sentence),
        cmocka_unit_test(test_history_lines_keep_their_own_time),
        cmocka_unit_test(test_colours_only_ours_reach_the_terminal),
        cmocka_unit_test(test_notices_and_errors_are_dim),
        cmocka_unit_test(test_a_mention_is_marked_and_highlighted),
        cmocka_unit_test(test_own_lines_are_set_apart),
        cmocka_unit_test(test_prompt_is_the_status),
        cmocka_unit_test(test_prompt_marks_a_tls_link),
        cmocka_unit_test(test_prompt_marks_an_unverified_tls_link_apart),
        cmocka_unit_test(test_event_lines_read_as_the_notices_they_replace),
        cmocka_unit_test(test_event_lines_are_dim_like_notices),
        cmocka_unit_test(test_room_item_lines_name_the_room_then_the_sentence),
        cmocka_unit_test(test_event_lines_not_of_their_form_are_shown_whole),
        cmocka_unit_test(test_event_sentences_are_sanitised),
        cmocka_unit_test(test_plain_form_for_a_pipe_is_the_old_one),
        cmocka_unit_test(test_plain_form_of_event_lines_is_their_sentence),
        cmocka_unit_test(test_a_terminal_gets_colours_and_the_clock),
        cmocka_unit_test(test_no_colour_and_no_clock_without_a_terminal),
        cmocka_unit_test(test_no_color_set_and_not_empty_turns_colours_off),
        cmocka_unit_test(test_no_color_option_turns_colours_off),
        cmocka_unit_test(test_a_dumb_or_unnamed_terminal_gets_no_colour),
        cmocka_unit_test(test_256_colours_from_term_or_colorterm),
    };
    return cmocka_run_group_tests_name("client_style", tests, setup, NULL);
}
