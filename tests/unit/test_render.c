/* test_render.c - unit tests for events and their line-protocol renderings
 * (src/server/event.c, src/server/render.c).
 *
 * Every kind of event, in the plain form that `nc` shows and in the events form
 * (docs/PROTOCOL.md), each read back with the client's parsers (common/proto.h) so the
 * two ends agree; chat lines share one message between the forms, and a rendering is made
 * once; a kept line read back from the history file renders to the same bytes; history
 * lines keep within their budget; and the lines built from views. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/proto.h"
#include "server/event.h"
#include "server/render.h"
#include "server/room.h"

static int setup(void **state)
{
    (void)state;
    render_init();
    return 0;
}

static struct event *make(enum event_kind kind, const char *who, const char *where,
                          const char *text)
{
    struct event_fields f = {.kind = kind,
                             .room = 0,
                             .who = who,
                             .who_len = who ? strlen(who) : 0,
                             .where = where,
                             .where_len = where ? strlen(where) : 0,
                             .text = text,
                             .text_len = text ? strlen(text) : 0};
    return event_new(&f);
}

static void assert_rendering(struct event *e, unsigned form, const char *want)
{
    struct msg *m = event_rendering(e, form);
    assert_int_equal(m->len, strlen(want));
    assert_memory_equal(m->data, want, m->len);
}

/* The fields of an events-form line, as a client reads them. */
static void assert_fields(struct event *e, char kind, const char *f1, const char *f2,
                          const char *sentence)
{
    struct msg *m = event_rendering(e, RENDER_EVENTS);
    char k;
    const char *text;
    size_t len;
    assert_true(proto_split_kind(m->data, m->len - 1, &k, &text, &len));
    assert_int_equal(k, kind);
    struct proto_span f[2], s;
    assert_true(proto_parse_fields(text, len, 2, f, &s));
    assert_int_equal(f[0].len, strlen(f1));
    assert_memory_equal(f[0].p, f1, f[0].len);
    assert_int_equal(f[1].len, strlen(f2));
    assert_memory_equal(f[1].p, f2, f[1].len);
    assert_int_equal(s.len, strlen(sentence));
    assert_memory_equal(s.p, sentence, s.len);
}

/* ---------------------------------------------------------------- lines */

static void test_chat_line_is_one_message_in_both_forms(void **state)
{
    (void)state;
    struct event *e = make(EVENT_CHAT, "alice", "général", "salut: ça va ?");
    assert_rendering(e, RENDER_PLAIN, "> alice: salut: ça va ?\n");
    assert_ptr_equal(event_rendering(e, RENDER_EVENTS), &e->line); /* shared, not copied */
    assert_ptr_equal(event_rendering(e, RENDER_PLAIN), &e->line);
    event_unref(e);
}

static void test_action_and_private_lines(void **state)
{
    (void)state;
    struct event *a = make(EVENT_ACTION, "bob", "jeux", "lance les dés");
    assert_rendering(a, RENDER_PLAIN, "& bob lance les dés\n");
    assert_ptr_equal(event_rendering(a, RENDER_EVENTS), &a->line);
    struct event *p = make(EVENT_PRIVATE, "bob", NULL, "tu viens ?");
    assert_rendering(p, RENDER_PLAIN, "@ bob: tu viens ?\n");
    assert_ptr_equal(event_rendering(p, RENDER_EVENTS), &p->line);
    event_unref(a);
    event_unref(p);
}

static void test_fields_are_kept_with_the_event(void **state)
{
    (void)state;
    struct event *e = make(EVENT_QUIT, "bob", "jeux", "à plus");
    assert_string_equal(e->who, "bob");
    assert_string_equal(e->where, "jeux");
    assert_string_equal(e->text, "à plus");
    assert_int_equal(e->kind, EVENT_QUIT);
    assert_true(e->time > 0);
    event_unref(e);
}

/* ---------------------------------------------------------------- people */

static void test_arrival(void **state)
{
    (void)state;
    struct event *e = make(EVENT_ARRIVE, "bob", "général", NULL);
    assert_rendering(e, RENDER_PLAIN, "* bob a rejoint la discussion\n");
    assert_rendering(e, RENDER_EVENTS, "^ bob #général : bob a rejoint la discussion\n");
    assert_fields(e, PROTO_ENTER, "bob", "#général", "bob a rejoint la discussion");
    event_unref(e);
}

static void test_entering_and_leaving_a_room(void **state)
{
    (void)state;
    struct event *in = make(EVENT_ENTER, "bob", "jeux", NULL);
    assert_rendering(in, RENDER_PLAIN, "* bob a rejoint #jeux\n");
    assert_fields(in, PROTO_ENTER, "bob", "#jeux", "bob a rejoint #jeux");
    struct event *out = make(EVENT_EXIT, "bob", "général", NULL);
    assert_rendering(out, RENDER_PLAIN, "* bob a quitté #général\n");
    assert_fields(out, PROTO_LEAVE, "bob", "#général", "bob a quitté #général");
    event_unref(in);
    event_unref(out);
}

static void test_leaving_the_server_with_and_without_a_reason(void **state)
{
    (void)state;
    struct event *plain = make(EVENT_QUIT, "bob", "général", "");
    assert_rendering(plain, RENDER_PLAIN, "* bob est déconnecté\n");
    assert_fields(plain, PROTO_LEAVE, "bob", "#général", "bob est déconnecté");
    struct event *why = make(EVENT_QUIT, "bob", "général", "à plus");
    assert_rendering(why, RENDER_PLAIN, "* bob est déconnecté (à plus)\n");
    assert_fields(why, PROTO_LEAVE, "bob", "#général", "bob est déconnecté (à plus)");
    event_unref(plain);
    event_unref(why);
}

static void test_kick(void **state)
{
    (void)state;
    struct event *e = make(EVENT_KICK, "bob", "jeux", "spam");
    assert_rendering(e, RENDER_PLAIN, "* bob a été expulsé (spam)\n");
    assert_fields(e, PROTO_LEAVE, "bob", "#jeux", "bob a été expulsé (spam)");
    struct event *bare = make(EVENT_KICK, "bob", "jeux", NULL);
    assert_rendering(bare, RENDER_PLAIN, "* bob a été expulsé\n");
    event_unref(e);
    event_unref(bare);
}

static void test_sent_out_of_a_room(void **state)
{
    (void)state;
    struct event *e = make(EVENT_SENT_OUT, "bob", "jeux", "alice trop de bruit");
    assert_rendering(e, RENDER_PLAIN, "* bob a été renvoyé de #jeux par alice (trop de bruit)\n");
    assert_fields(e, PROTO_LEAVE, "bob", "#jeux",
                  "bob a été renvoyé de #jeux par alice (trop de bruit)");
    struct event *bare = make(EVENT_SENT_OUT, "bob", "jeux", "alice");
    assert_rendering(bare, RENDER_PLAIN, "* bob a été renvoyé de #jeux par alice\n");
    event_unref(e);
    event_unref(bare);
}

static void test_topic_and_invitation(void **state)
{
    (void)state;
    struct event *t = make(EVENT_TOPIC, "alice", "jeux", "Belote ce soir");
    assert_rendering(t, RENDER_PLAIN, "* alice a changé le sujet de #jeux : Belote ce soir\n");
    assert_ptr_equal(event_rendering(t, RENDER_EVENTS), &t->line); /* a notice in both */
    struct event *i = make(EVENT_INVITE, "alice", "jeux", NULL);
    assert_rendering(i, RENDER_PLAIN, "* alice vous invite dans #jeux : tapez /join #jeux\n");
    event_unref(t);
    event_unref(i);
}

static void test_rename(void **state)
{
    (void)state;
    struct event *e = make(EVENT_RENAME, "bob", NULL, "robert");
    assert_rendering(e, RENDER_PLAIN, "* bob s'appelle maintenant robert\n");
    assert_fields(e, PROTO_RENAME, "bob", "robert", "bob s'appelle maintenant robert");
    event_unref(e);
}

static void test_notices_read_the_same_in_both_forms(void **state)
{
    (void)state;
    struct event *say = make(EVENT_NOTICE, NULL, NULL, "maintenance à midi");
    assert_rendering(say, RENDER_PLAIN, "* serveur : maintenance à midi\n");
    assert_ptr_equal(event_rendering(say, RENDER_EVENTS), &say->line);
    struct event *stop = make(EVENT_SHUTDOWN, NULL, NULL, NULL);
    assert_rendering(stop, RENDER_PLAIN, "* Le serveur s'arrête.\n");
    assert_ptr_equal(event_rendering(stop, RENDER_EVENTS), &stop->line);
    event_unref(say);
    event_unref(stop);
}

static void test_a_rendering_is_made_once(void **state)
{
    (void)state;
    struct event *e = make(EVENT_ENTER, "bob", "jeux", NULL);
    struct msg *first = event_rendering(e, RENDER_EVENTS);
    assert_ptr_not_equal(first, &e->line);
    assert_ptr_equal(event_rendering(e, RENDER_EVENTS), first);
    msg_ref(first); /* a queue holding it keeps it past the event */
    event_unref(e);
    assert_int_equal(first->data[0], PROTO_ENTER);
    msg_unref(first);
}

/* ---------------------------------------------------------------- history */

static void assert_kept_round_trip(const char *line)
{
    struct event_fields f = {.room = 0, .where = "jeux", .where_len = 4, .dated = true, .time = 1};
    assert_true(render_parse_kept(line, strlen(line), &f));
    struct event *e = event_new(&f);
    assert_int_equal(e->line.len, strlen(line) + 1);
    assert_memory_equal(e->line.data, line, strlen(line));
    assert_int_equal(e->line.data[e->line.len - 1], '\n');
    event_unref(e);
}

static void test_kept_lines_read_back_to_the_same_bytes(void **state)
{
    (void)state;
    assert_kept_round_trip("> bob: salut");
    assert_kept_round_trip("> x:: deux points: partout");
    assert_kept_round_trip("& bob range son bureau");
    assert_kept_round_trip("> bob: ");
}

static void test_only_chat_lines_and_actions_are_kept_lines(void **state)
{
    (void)state;
    struct event_fields f = {0};
    static const char *const refused[] = {"* bob a rejoint #jeux", "> bob",   "& bob", "& bob ",
                                          "@ bob: psst",           ">bob: x", "",      "> : x"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_false(render_parse_kept(refused[i], strlen(refused[i]), &f));
    }
}

/* A record no server could have written, its checksum right all the same: refused, so that
 * it is skipped as damaged rather than trusted (a 70,000-byte pseudo stopped the server). */
static void test_kept_line_with_an_impossible_pseudo_is_refused(void **state)
{
    (void)state;
    struct event_fields f = {0};
    struct buf line = BUF_INIT;
    buf_append_str(&line, "> ");
    for (int i = 0; i < 70000; i++) {
        buf_append_char(&line, 'a');
    }
    buf_append_str(&line, ": x");
    assert_false(render_parse_kept(line.data, line.len, &f));
    assert_false(render_parse_kept("> a\tb: x", 9, &f));      /* a control character */
    assert_false(render_parse_kept("& /nick range", 13, &f)); /* a leading slash */
    buf_release(&line);
}

static void test_a_time_read_back_is_kept_even_the_epoch(void **state)
{
    (void)state;
    struct event_fields f = {.kind = EVENT_CHAT, .who = "a", .who_len = 1, .dated = true};
    struct event *e = event_new(&f); /* time 0: 1970, not now */
    assert_int_equal(e->time, 0);
    event_unref(e);
    f.dated = false;
    e = event_new(&f);
    assert_true(e->time > 1700000000); /* now */
    event_unref(e);
}

static void test_history_times_no_calendar_holds_are_the_epoch(void **state)
{
    (void)state;
    int64_t extremes[] = {INT64_MIN, INT64_MIN + 86399, INT64_MAX};
    for (size_t i = 0; i < 3; i++) {
        struct event_fields f = {
            .kind = EVENT_CHAT, .who = "a", .who_len = 1, .dated = true, .time = extremes[i]};
        struct event *e = event_new(&f);
        struct buf out = BUF_INIT;
        render_history(&e, 1, 1000, &out); /* under UBSan, an overflow here fails the test */
        assert_string_equal(out.data, "~ 1970-01-01T00:00:00Z > a: \n");
        buf_release(&out);
        event_unref(e);
    }
}

static void test_history_keeps_the_newest_lines_that_fit(void **state)
{
    (void)state;
    struct event_fields f = {
        .kind = EVENT_CHAT, .who = "a", .who_len = 1, .dated = true, .time = 1795608000};
    struct event *h[3];
    const char *texts[] = {"un", "deux", "trois"};
    for (int i = 0; i < 3; i++) {
        f.text = texts[i];
        f.text_len = strlen(texts[i]);
        h[i] = event_new(&f);
    }
    struct buf out = BUF_INIT;
    render_history(h, 3, 1000, &out);
    assert_string_equal(out.data, "~ 2026-11-25T12:00:00Z > a: un\n"
                                  "~ 2026-11-25T12:00:00Z > a: deux\n"
                                  "~ 2026-11-25T12:00:00Z > a: trois\n");
    buf_reset(&out);
    size_t two = 2 * RENDER_HISTORY_OVERHEAD + h[1]->line.len + h[2]->line.len;
    render_history(h, 3, two, &out); /* room for the two newest only */
    assert_string_equal(out.data, "~ 2026-11-25T12:00:00Z > a: deux\n"
                                  "~ 2026-11-25T12:00:00Z > a: trois\n");
    assert_int_equal(out.len, two);
    buf_reset(&out);
    render_history(h, 3, two - 1, &out);
    assert_string_equal(out.data, "~ 2026-11-25T12:00:00Z > a: trois\n");
    buf_release(&out);
    for (int i = 0; i < 3; i++) {
        event_unref(h[i]);
    }
}

/* The history line of an event at time t, and what the C library says it should be. */
static void assert_stamp(int64_t t)
{
    struct event_fields f = {
        .kind = EVENT_CHAT, .who = "a", .who_len = 1, .dated = true, .time = t};
    struct event *e = event_new(&f);
    struct buf got = BUF_INIT;
    render_history(&e, 1, 1000, &got);
    char want[64];
    struct tm tm;
    time_t tt = (time_t)t;
    assert_non_null(gmtime_r(&tt, &tm));
    strftime(want, sizeof(want), "~ %Y-%m-%dT%H:%M:%SZ > a: \n", &tm);
    assert_string_equal(got.data, want);
    buf_release(&got);
    event_unref(e);
}

static void test_history_times_are_utc_as_the_c_library_writes_them(void **state)
{
    (void)state;
    static const int64_t times[] = {
        1,
        0 + 86399,
        951782400,
        951868799,  /* 2000-02-29 */
        1709251199, /* 2024-02-29T23:59:59Z */
        -1,
        -86400,
        -62135596800, /* 0001-01-01 */
        253402300799, /* 9999-12-31T23:59:59Z */
        253402300800, /* year 10000: the C library's */
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        assert_stamp(times[i]);
    }
    uint64_t x = 88172645463325252ULL; /* xorshift: the same thousand times every run */
    for (int i = 0; i < 1000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        assert_stamp((int64_t)(x % 253402300800ULL) - 62135596800LL);
    }
}

/* IRCv3's times read back (CHATHISTORY's timestamp=): what render_utc_stamp() writes,
 * with or without a fraction of up to three digits; nothing else. */
static void test_times_are_read_back_as_they_are_written(void **state)
{
    (void)state;
    static const int64_t times[] = {
        0,           86399, 951782400, 951868799, 1709251199, -86400, -30610224000 /* 1000-01-01 */,
        253402300799};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        char stamp[32];
        render_utc_stamp(times[i], stamp);
        int64_t t = -1;
        unsigned ms = 99;
        assert_true(render_parse_utc_stamp(stamp, &t, &ms));
        assert_int_equal(t, times[i]);
        assert_int_equal(ms, 0);
    }
    int64_t t;
    unsigned ms;
    assert_true(render_parse_utc_stamp("2026-12-06T15:30:00.5Z", &t, &ms));
    assert_int_equal(t, 1796571000);
    assert_int_equal(ms, 500);
    assert_true(render_parse_utc_stamp("2026-12-06T15:30:00.045Z", &t, &ms));
    assert_int_equal(ms, 45);
    static const char *const bad[] = {
        "",
        "2026-12-06",
        "2026-12-06T15:30:00",
        "2026-12-06T15:30:00.Z",
        "2026-13-06T15:30:00Z",
        "2026-12-06T24:00:00Z",
        "2026-12-06T15:30:00.1234Z",
        "2026-12-06 15:30:00Z",
        "2026-12-06T15:30:00Zx",
        "hier",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(render_parse_utc_stamp(bad[i], &t, &ms));
    }
}

/* ---------------------------------------------------------------- views */

static struct room_view view(const char *name, uint32_t count, const char *names)
{
    struct room_view v = {
        .count = count, .names = (char *)names, .names_len = strlen(names), .topic = (char *)""};
    strcpy(v.name, name);
    return v;
}

static void test_who_line(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    struct room_view v = view("jeux", 2, "alice bob");
    render_who(&v, &out);
    assert_string_equal(out.data, "= #jeux 2 : alice bob\n");
    buf_reset(&out);
    struct room_view empty = view("vide", 0, "");
    render_who(&empty, &out);
    assert_string_equal(out.data, "= #vide 0 :\n");
    buf_release(&out);
}

static void test_moved_in_both_forms(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    struct room_view v = view("jeux", 1, "bob");
    render_moved(RENDER_PLAIN, &v, &out);
    assert_string_equal(out.data, "+ Vous êtes maintenant dans #jeux.\n= #jeux 1 : bob\n");
    buf_reset(&out);
    render_moved(RENDER_EVENTS, &v, &out);
    assert_string_equal(out.data, "# #jeux : Vous êtes maintenant dans #jeux.\n= #jeux 1 : bob\n");
    buf_reset(&out);
    struct room_view t = view("jeux", 2, "@alice bob"); /* an operator, a topic */
    t.topic = "Le sujet";
    render_moved(RENDER_PLAIN, &t, &out);
    assert_string_equal(out.data, "+ Vous êtes maintenant dans #jeux.\n= #jeux 2 : @alice bob\n"
                                  "* Sujet de #jeux : Le sujet\n");
    buf_reset(&out);
    t.topic_only = true; /* an arrival without the events capability */
    render_moved(RENDER_PLAIN, &t, &out);
    assert_string_equal(out.data, "* Sujet de #jeux : Le sujet\n");
    buf_release(&out);
}

static void test_topic_asked_for_or_not(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    render_topic("jeux", "", false, &out);
    assert_string_equal(out.data, "");
    render_topic("jeux", "", true, &out);
    assert_string_equal(out.data, "* #jeux n'a pas de sujet.\n");
    buf_reset(&out);
    render_topic("jeux", "Belote", true, &out);
    assert_string_equal(out.data, "* Sujet de #jeux : Belote\n");
    buf_release(&out);
}

static void test_rooms_in_both_forms(void **state)
{
    (void)state;
    struct room_entry rooms[2] = {{.count = 2, .topic = ""}, {.count = 1, .topic = "Belote"}};
    strcpy(rooms[0].name, "général");
    strcpy(rooms[1].name, "jeux");
    struct buf out = BUF_INIT;
    render_rooms(RENDER_PLAIN, rooms, 2, &out);
    assert_string_equal(out.data,
                        "+ 2 salons :\n* #général : 2 personnes\n* #jeux : 1 personne — Belote\n");
    buf_reset(&out);
    render_rooms(RENDER_EVENTS, rooms, 1, &out);
    assert_string_equal(out.data, "+ 1 salon :\n$ #général 2 : 2 personnes\n");
    buf_release(&out);
}

static void test_renamed_in_both_forms(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    render_renamed(RENDER_PLAIN, "bob", "robert", &out);
    assert_string_equal(out.data, "+ Vous vous appelez maintenant robert.\n");
    buf_reset(&out);
    render_renamed(RENDER_EVENTS, "bob", "robert", &out);
    assert_string_equal(out.data, "| bob robert : Vous vous appelez maintenant robert.\n");
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_line_is_one_message_in_both_forms),
        cmocka_unit_test(test_action_and_private_lines),
        cmocka_unit_test(test_fields_are_kept_with_the_event),
        cmocka_unit_test(test_arrival),
        cmocka_unit_test(test_entering_and_leaving_a_room),
        cmocka_unit_test(test_leaving_the_server_with_and_without_a_reason),
        cmocka_unit_test(test_kick),
        cmocka_unit_test(test_sent_out_of_a_room),
        cmocka_unit_test(test_topic_and_invitation),
        cmocka_unit_test(test_rename),
        cmocka_unit_test(test_notices_read_the_same_in_both_forms),
        cmocka_unit_test(test_a_rendering_is_made_once),
        cmocka_unit_test(test_kept_lines_read_back_to_the_same_bytes),
        cmocka_unit_test(test_only_chat_lines_and_actions_are_kept_lines),
        cmocka_unit_test(test_kept_line_with_an_impossible_pseudo_is_refused),
        cmocka_unit_test(test_a_time_read_back_is_kept_even_the_epoch),
        cmocka_unit_test(test_history_times_no_calendar_holds_are_the_epoch),
        cmocka_unit_test(test_history_keeps_the_newest_lines_that_fit),
        cmocka_unit_test(test_history_times_are_utc_as_the_c_library_writes_them),
        cmocka_unit_test(test_times_are_read_back_as_they_are_written),
        cmocka_unit_test(test_who_line),
        cmocka_unit_test(test_moved_in_both_forms),
        cmocka_unit_test(test_rooms_in_both_forms),
        cmocka_unit_test(test_topic_asked_for_or_not),
        cmocka_unit_test(test_renamed_in_both_forms),
    };
    return cmocka_run_group_tests_name("render", tests, setup, NULL);
}
