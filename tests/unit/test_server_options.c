/* test_server_options.c - unit tests for the server's command line (src/server/options.c).
 *
 * options_parse() is pure: it returns OPTIONS_RUN, OPTIONS_EXIT with --help or --version
 * text, or -EINVAL with a French message naming the culprit, all in a buffer. Checks the
 * defaults, each option's accepted range and its edges, the error paths, and that parsing
 * twice in one process starts afresh (getopt keeps global state). Each test gets fresh
 * options and output, released in its teardown; runs single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "server/options.h"

struct fixture {
    struct server_options o;
    struct buf out;
};

static int setup_fixture(void **state)
{
    static struct fixture fx;
    memset(&fx.o, 0, sizeof(fx.o));
    buf_init(&fx.out);
    *state = &fx;
    return 0;
}

static int teardown_fixture(void **state)
{
    struct fixture *fx = *state;
    options_release(&fx->o);
    buf_release(&fx->out);
    return 0;
}

/* Parses a NULL-terminated argv whose argv[0] is the program name; getopt_long() may
 * permute the array, so it must be writable (the compound literals below are). */
static int parse_argv(struct fixture *fx, char **argv)
{
    int argc = 0;
    while (argv[argc]) {
        argc++;
    }
    options_release(&fx->o);
    buf_reset(&fx->out);
    return options_parse(&fx->o, argc, argv, &fx->out);
}

#define PARSE(fx, ...) parse_argv(fx, (char *[]){"causerie-server", __VA_ARGS__, NULL})

/* A refusal: -EINVAL and a message that names what was wrong. */
static void assert_refused(struct fixture *fx, int r, const char *mention)
{
    assert_int_equal(r, -EINVAL);
    if (!strstr(fx->out.data, mention)) {
        print_error("message \"%s\" does not mention \"%s\"\n", fx->out.data, mention);
        fail();
    }
}

/* ---------------------------------------------------------------- defaults */

static void test_no_arguments_gives_defaults(void **state)
{
    struct fixture *fx = *state;
    int r = parse_argv(fx, (char *[]){"causerie-server", NULL});
    assert_int_equal(r, OPTIONS_RUN);
    assert_null(fx->o.host);
    assert_int_equal(fx->o.port, 1234);
    assert_int_equal(fx->o.threads, 0);
    assert_int_equal(fx->o.max_line, 4096);
    assert_int_equal(fx->o.max_backlog, 1048576);
    assert_int_equal(fx->o.announce_max, 1000);
    assert_int_equal(fx->o.max_clients, 10000);
    assert_int_equal(fx->o.max_per_ip, 16);
    assert_int_equal(fx->o.handshake_timeout, 30);
    assert_int_equal(fx->o.idle_timeout, 0);
    assert_int_equal(fx->o.flood_burst, 10);
    assert_int_equal(fx->o.flood_rate, 5);
    assert_int_equal(fx->o.history, 50);
    assert_int_equal(fx->o.max_rooms, 256);
    assert_int_equal(fx->o.history_days, 30);
    assert_non_null(fx->o.db);
    assert_int_equal(fx->out.len, 0);
}

static void test_all_options_together(void **state)
{
    struct fixture *fx = *state;
    int r = PARSE(fx, "--host", "::1", "--port", "8080", "--threads", "4", "--max-line", "512",
                  "--max-backlog", "65536");
    assert_int_equal(r, OPTIONS_RUN);
    assert_string_equal(fx->o.host, "::1");
    assert_int_equal(fx->o.port, 8080);
    assert_int_equal(fx->o.threads, 4);
    assert_int_equal(fx->o.max_line, 512);
    assert_int_equal(fx->o.max_backlog, 65536);
}

/* ---------------------------------------------------------------- --host */

static void test_host_long_option(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--host", "0.0.0.0"), OPTIONS_RUN);
    assert_string_equal(fx->o.host, "0.0.0.0");
}

static void test_host_short_option(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "-H", "localhost"), OPTIONS_RUN);
    assert_string_equal(fx->o.host, "localhost");
}

static void test_host_with_equals_sign(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--host=127.0.0.2"), OPTIONS_RUN);
    assert_string_equal(fx->o.host, "127.0.0.2");
}

static void test_host_given_twice_keeps_the_last(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--host", "first", "-H", "second"), OPTIONS_RUN);
    assert_string_equal(fx->o.host, "second"); /* ASan reports "first" if it leaked */
}

static void test_empty_host_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--host", ""), "--host");
}

/* ---------------------------------------------------------------- --port */

static void test_port_long_and_short_options(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--port", "4000"), OPTIONS_RUN);
    assert_int_equal(fx->o.port, 4000);
    assert_int_equal(PARSE(fx, "-p", "4001"), OPTIONS_RUN);
    assert_int_equal(fx->o.port, 4001);
}

static void test_port_zero_accepted(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--port", "0"), OPTIONS_RUN);
    assert_int_equal(fx->o.port, 0);
}

static void test_port_65535_accepted(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--port", "65535"), OPTIONS_RUN);
    assert_int_equal(fx->o.port, 65535);
}

static void test_port_65536_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--port", "65536"), "--port");
}

static void test_negative_port_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--port", "-1"), "--port");
}

static void test_port_with_trailing_garbage_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--port", "12a"), "--port");
}

static void test_empty_port_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--port", ""), "--port");
}

static void test_huge_port_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--port", "99999999999999999999999"), "--port");
}

/* ---------------------------------------------------------------- --threads */

static void test_threads_option(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--threads", "1"), OPTIONS_RUN);
    assert_int_equal(fx->o.threads, 1);
    assert_int_equal(PARSE(fx, "-t", "64"), OPTIONS_RUN);
    assert_int_equal(fx->o.threads, 64);
}

static void test_zero_threads_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--threads", "0"), "--threads");
}

static void test_65_threads_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--threads", "65"), "--threads");
}

/* ---------------------------------------------------------------- --max-line */

static void test_max_line_option(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--max-line", "1"), OPTIONS_RUN);
    assert_int_equal(fx->o.max_line, 1);
    assert_int_equal(PARSE(fx, "--max-line", "1048576"), OPTIONS_RUN);
    assert_int_equal(fx->o.max_line, MAX_LINE_CEILING);
}

static void test_zero_max_line_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--max-line", "0"), "--max-line");
}

static void test_max_line_above_ceiling_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--max-line", "1048577"), "--max-line");
}

/* ---------------------------------------------------------------- --max-backlog */

static void test_max_backlog_option(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--max-backlog", "1024"), OPTIONS_RUN);
    assert_int_equal(fx->o.max_backlog, MIN_MAX_BACKLOG);
    assert_int_equal(PARSE(fx, "--max-backlog=268435456"), OPTIONS_RUN);
    assert_int_equal(fx->o.max_backlog, 268435456);
}

static void test_max_backlog_below_floor_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--max-backlog", "1023"), "--max-backlog");
}

/* ---------------------------------------------------------------- --announce-max */

static void test_announce_max_option(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--announce-max", "2"), OPTIONS_RUN);
    assert_int_equal(fx->o.announce_max, 2);
    assert_int_equal(PARSE(fx, "--announce-max=0"), OPTIONS_RUN);
    assert_int_equal(fx->o.announce_max, 0); /* 0: always announce */
}

static void test_announce_max_not_a_number_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--announce-max", "-1"), "--announce-max");
    assert_refused(fx, PARSE(fx, "--announce-max", "beaucoup"), "--announce-max");
}

/* ---------------------------------------------------------------- hostile-client limits */

static void test_client_limits_take_values_and_0(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--max-clients", "100000", "--max-per-ip", "3",
                           "--handshake-timeout", "5", "--idle-timeout", "600", "--flood-burst",
                           "20", "--flood-rate", "1"),
                     OPTIONS_RUN);
    assert_int_equal(fx->o.max_clients, 100000);
    assert_int_equal(fx->o.max_per_ip, 3);
    assert_int_equal(fx->o.handshake_timeout, 5);
    assert_int_equal(fx->o.idle_timeout, 600);
    assert_int_equal(fx->o.flood_burst, 20);
    assert_int_equal(fx->o.flood_rate, 1);
    /* 0 turns each of them off */
    assert_int_equal(PARSE(fx, "--max-clients=0", "--max-per-ip=0", "--handshake-timeout=0",
                           "--idle-timeout=0", "--flood-burst=0", "--flood-rate=0"),
                     OPTIONS_RUN);
    assert_int_equal(fx->o.max_clients, 0);
    assert_int_equal(fx->o.max_per_ip, 0);
    assert_int_equal(fx->o.handshake_timeout, 0);
    assert_int_equal(fx->o.idle_timeout, 0);
    assert_int_equal(fx->o.flood_burst, 0);
    assert_int_equal(fx->o.flood_rate, 0);
}

static void test_client_limits_refuse_bad_values(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--max-clients", "-1"), "--max-clients");
    assert_refused(fx, PARSE(fx, "--max-clients", "4294967296"), "--max-clients");
    assert_refused(fx, PARSE(fx, "--max-per-ip", "seize"), "--max-per-ip");
    assert_refused(fx, PARSE(fx, "--handshake-timeout", "2678401"), "--handshake-timeout");
    assert_refused(fx, PARSE(fx, "--idle-timeout", "1.5"), "--idle-timeout");
    assert_refused(fx, PARSE(fx, "--flood-burst", "1000001"), "--flood-burst");
    assert_refused(fx, PARSE(fx, "--flood-rate", ""), "--flood-rate");
}

/* ---------------------------------------------------------------- rooms and history */

static void test_room_options_take_their_range(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--history", "0", "--max-rooms", "1"), OPTIONS_RUN);
    assert_int_equal(fx->o.history, 0);
    assert_int_equal(fx->o.max_rooms, 1);
    assert_int_equal(PARSE(fx, "--history", "10000", "--max-rooms", "4096"), OPTIONS_RUN);
    assert_int_equal(fx->o.history, 10000);
    assert_int_equal(fx->o.max_rooms, 4096);
    assert_refused(fx, PARSE(fx, "--history", "10001"), "--history");
    assert_refused(fx, PARSE(fx, "--history", "-1"), "--history");
    assert_refused(fx, PARSE(fx, "--max-rooms", "0"), "--max-rooms");
    assert_refused(fx, PARSE(fx, "--max-rooms", "4097"), "--max-rooms");
}

static void test_owned_room_limits_take_their_range(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--port", "1234"), OPTIONS_RUN);
    assert_int_equal(fx->o.max_topic, DEFAULT_MAX_TOPIC);
    assert_int_equal(fx->o.max_room_list, DEFAULT_MAX_ROOM_LIST);
    assert_int_equal(fx->o.max_owned_rooms, DEFAULT_MAX_OWNED_ROOMS);
    assert_int_equal(fx->o.hash_threads, 0); /* main.c picks half the CPUs */
    assert_int_equal(PARSE(fx, "--max-topic", "1", "--max-room-list", "10000", "--max-owned-rooms",
                           "0", "--hash-threads", "64"),
                     OPTIONS_RUN);
    assert_int_equal(fx->o.max_topic, 1);
    assert_int_equal(fx->o.max_room_list, 10000);
    assert_int_equal(fx->o.max_owned_rooms, 0);
    assert_int_equal(fx->o.hash_threads, 64);
    assert_refused(fx, PARSE(fx, "--max-topic", "0"), "--max-topic");
    assert_refused(fx, PARSE(fx, "--max-room-list", "0"), "--max-room-list");
    assert_refused(fx, PARSE(fx, "--max-room-list", "10001"), "--max-room-list");
    assert_refused(fx, PARSE(fx, "--max-owned-rooms", "4097"), "--max-owned-rooms");
    assert_refused(fx, PARSE(fx, "--hash-threads", "0"), "--hash-threads");
    assert_refused(fx, PARSE(fx, "--hash-threads", "65"), "--hash-threads");
}

static void test_db_takes_a_path_or_memory(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--db", "/tmp/a.db", "--db", "b.db"), OPTIONS_RUN);
    assert_string_equal(fx->o.db, "b.db");
    assert_int_equal(PARSE(fx, "--db", ":memory:"), OPTIONS_RUN);
    assert_string_equal(fx->o.db, ":memory:");
    assert_refused(fx, PARSE(fx, "--db", ""), "--db");
}

/* The default follows the XDG Base Directory specification: XDG_STATE_HOME if absolute,
 * else ~/.local/state; with neither, the server cannot guess and says so. */
static void test_db_default_path(void **state)
{
    struct fixture *fx = *state;
    char *state_home = getenv("XDG_STATE_HOME") ? strdup(getenv("XDG_STATE_HOME")) : NULL;
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("XDG_STATE_HOME", "/srv/etat", 1);
    assert_int_equal(PARSE(fx, "--port", "1"), OPTIONS_RUN);
    assert_string_equal(fx->o.db, "/srv/etat/causerie/server.db");
    setenv("XDG_STATE_HOME", "relatif", 1);
    setenv("HOME", "/home/alice", 1);
    assert_int_equal(PARSE(fx, "--port", "1"), OPTIONS_RUN);
    assert_string_equal(fx->o.db, "/home/alice/.local/state/causerie/server.db");
    unsetenv("XDG_STATE_HOME");
    assert_int_equal(PARSE(fx, "--port", "1"), OPTIONS_RUN);
    assert_string_equal(fx->o.db, "/home/alice/.local/state/causerie/server.db");
    unsetenv("HOME");
    assert_refused(fx, PARSE(fx, "--port", "1"), "--db");
    assert_int_equal(PARSE(fx, "--db", ":memory:"), OPTIONS_RUN); /* no guess needed */
    if (state_home) {
        setenv("XDG_STATE_HOME", state_home, 1);
    }
    if (home) {
        setenv("HOME", home, 1);
    }
    free(state_home);
    free(home);
}

static void test_history_days(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--history-days", "0"), OPTIONS_RUN);
    assert_int_equal(fx->o.history_days, 0);
    assert_int_equal(PARSE(fx, "--history-days", "36500"), OPTIONS_RUN);
    assert_int_equal(fx->o.history_days, 36500);
    assert_refused(fx, PARSE(fx, "--history-days", "36501"), "--history-days");
    assert_refused(fx, PARSE(fx, "--history-days", "-1"), "--history-days");
    assert_refused(fx, PARSE(fx, "--history-file", "h"), "history-file");
}

/* ---------------------------------------------------------------- --help, --version */

static void test_help_exits_with_usage(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--help"), OPTIONS_EXIT);
    assert_non_null(strstr(fx->out.data, "Usage"));
    assert_int_equal(PARSE(fx, "-h"), OPTIONS_EXIT);
    assert_non_null(strstr(fx->out.data, "Usage"));
}

/* STYLE 3.9: every limit has a line in --help. */
static void test_help_lists_every_option(void **state)
{
    struct fixture *fx = *state;
    static const char *const names[] = {"--host",
                                        "--port",
                                        "--threads",
                                        "--max-line",
                                        "--max-backlog",
                                        "--announce-max",
                                        "--max-clients",
                                        "--max-per-ip",
                                        "--handshake-timeout",
                                        "--idle-timeout",
                                        "--flood-burst",
                                        "--flood-rate",
                                        "--max-rooms",
                                        "--history",
                                        "--history-days",
                                        "--db",
                                        "--max-topic",
                                        "--max-room-list",
                                        "--max-owned-rooms",
                                        "--admin",
                                        "--login-tries",
                                        "--login-delay",
                                        "--hash-threads",
                                        "--help",
                                        "--version"};
    assert_int_equal(PARSE(fx, "--help"), OPTIONS_EXIT);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strstr(fx->out.data, names[i])) {
            print_error("--help does not mention %s\n", names[i]);
            fail();
        }
    }
}

static void test_version_exits_with_program_name(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--version"), OPTIONS_EXIT);
    assert_non_null(strstr(fx->out.data, "causerie-server"));
    assert_int_equal(PARSE(fx, "-V"), OPTIONS_EXIT);
    assert_non_null(strstr(fx->out.data, "causerie-server"));
}

/* ---------------------------------------------------------------- errors */

static void test_unknown_long_option_refused(void **state)
{
    struct fixture *fx = *state;
    int r = PARSE(fx, "--bogus");
    assert_refused(fx, r, "option inconnue");
    assert_refused(fx, r, "--bogus");
}

static void test_unknown_short_option_refused(void **state)
{
    struct fixture *fx = *state;
    int r = PARSE(fx, "-z");
    assert_refused(fx, r, "option inconnue");
    assert_refused(fx, r, "-z");
}

/* Short options may be bundled ("-zV"): the message must still name the unknown one. */
static void test_unknown_bundled_short_option_is_named(void **state)
{
    struct fixture *fx = *state;
    int r = PARSE(fx, "-zV");
    assert_refused(fx, r, "option inconnue");
    assert_refused(fx, r, "-z");
}

static void test_stray_argument_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--port", "5", "extra"), "extra");
}

static void test_stray_argument_before_options_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "extra", "--port", "5"), "extra");
}

static void test_missing_value_of_last_option_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--port"), "--port");
}

static void test_missing_value_of_last_short_option_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "-p"), "-p");
}

/* ---------------------------------------------------------------- state between calls */

static void test_parsing_twice_starts_afresh(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "--port", "5", "--threads", "2"), OPTIONS_RUN);
    assert_int_equal(fx->o.port, 5);
    assert_int_equal(PARSE(fx, "--port", "6"), OPTIONS_RUN);
    assert_int_equal(fx->o.port, 6);
    assert_int_equal(fx->o.threads, 0); /* defaults again, not the first call's value */
}

static void test_parsing_after_an_error_starts_afresh(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(PARSE(fx, "-zt", "3"), -EINVAL); /* stops inside a bundle */
    assert_int_equal(PARSE(fx, "--bogus", "--port", "7"), -EINVAL);
    assert_int_equal(PARSE(fx, "--port", "8"), OPTIONS_RUN);
    assert_int_equal(fx->o.port, 8);
}

/* ---------------------------------------------------------------- the cluster */

static void test_alone_by_default(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(parse_argv(fx, (char *[]){"causerie-server", NULL}), OPTIONS_RUN);
    assert_null(fx->o.cluster);
    assert_null(fx->o.cluster_creds);
    assert_null(fx->o.node);
    assert_int_equal(fx->o.node_ttl, DEFAULT_NODE_TTL);
    assert_int_equal(fx->o.cluster_backlog, DEFAULT_CLUSTER_BACKLOG);
}

static void test_cluster_options_are_kept(void **state)
{
    struct fixture *fx = *state;
    int r = PARSE(fx, "--cluster", "nats://a:4222,tls://u:p@b:4223", "--cluster-creds", "x.creds",
                  "--node", "chat-1.example:1234", "--node-ttl", "3", "--cluster-backlog", "50");
    assert_int_equal(r, OPTIONS_RUN);
    assert_string_equal(fx->o.cluster, "nats://a:4222,tls://u:p@b:4223");
    assert_string_equal(fx->o.cluster_creds, "x.creds");
    assert_string_equal(fx->o.node, "chat-1.example:1234");
    assert_int_equal(fx->o.node_ttl, 3);
    assert_int_equal(fx->o.cluster_backlog, 50);
}

static void test_bad_cluster_urls_refused(void **state)
{
    struct fixture *fx = *state;
    const char *bad[] = {"",
                         "nats://",
                         "http://a:1",
                         "nats://a:1,",
                         ",nats://a:1",
                         "nats://a b:1",
                         "nats://a:1,,nats://b:2",
                         "a:4222"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_refused(fx, PARSE(fx, "--cluster", (char *)bad[i]), "--cluster");
    }
}

static void test_bad_node_names_and_limits_refused(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--cluster", "nats://a:1", "--node", "a b"), "--node");
    assert_refused(fx, PARSE(fx, "--cluster", "nats://a:1", "--node", ""), "--node");
    assert_refused(fx,
                   PARSE(fx, "--cluster", "nats://a:1", "--node",
                         "ab123456789012345678901234567890123456789012345678901234567890123"),
                   "--node");
    assert_refused(fx, PARSE(fx, "--cluster", "nats://a:1", "--node-ttl", "0"), "--node-ttl");
    assert_refused(fx, PARSE(fx, "--cluster", "nats://a:1", "--node-ttl", "3601"), "--node-ttl");
    assert_refused(fx, PARSE(fx, "--cluster", "nats://a:1", "--cluster-backlog", "0"),
                   "--cluster-backlog");
}

static void test_node_and_creds_need_a_cluster(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, PARSE(fx, "--node", "a"), "--node demande aussi --cluster");
    assert_refused(fx, PARSE(fx, "--cluster-creds", "x"),
                   "--cluster-creds demande aussi --cluster");
}

/* A node's default name: the listening address, unless every machine would share it. */
static void test_default_node_names(void **state)
{
    (void)state;
    char out[MAX_NODE_NAME + 1];
    options_default_node("127.0.0.1:1234", "chat1", out, sizeof(out));
    assert_string_equal(out, "127.0.0.1:1234");
    options_default_node("0.0.0.0:1234", "chat1", out, sizeof(out));
    assert_string_equal(out, "chat1:1234");
    options_default_node("[::]:1240", "chat2.example.org", out, sizeof(out));
    assert_string_equal(out, "chat2.example.org:1240");
    options_default_node("[::1]:1234", "chat1", out, sizeof(out));
    assert_string_equal(out, "-::1-:1234"); /* brackets are not a key's characters */
    options_default_node("0.0.0.0:1234", "", out, sizeof(out)); /* no hostname: as it is */
    assert_string_equal(out, "0.0.0.0:1234");
    options_default_node("0.0.0.0:1234", "h%te", out, sizeof(out));
    assert_string_equal(out, "h-te:1234");
    char small[8];
    options_default_node("0.0.0.0:1234", "averylonghostname", small, sizeof(small));
    assert_string_equal(small, "averylo"); /* cut, never overflowed */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_fixture, teardown_fixture)
    const struct CMUnitTest tests[] = {
        T(test_no_arguments_gives_defaults),
        T(test_alone_by_default),
        T(test_cluster_options_are_kept),
        T(test_bad_cluster_urls_refused),
        T(test_bad_node_names_and_limits_refused),
        T(test_node_and_creds_need_a_cluster),
        cmocka_unit_test(test_default_node_names),
        T(test_all_options_together),
        T(test_host_long_option),
        T(test_host_short_option),
        T(test_host_with_equals_sign),
        T(test_host_given_twice_keeps_the_last),
        T(test_empty_host_refused),
        T(test_port_long_and_short_options),
        T(test_port_zero_accepted),
        T(test_port_65535_accepted),
        T(test_port_65536_refused),
        T(test_negative_port_refused),
        T(test_port_with_trailing_garbage_refused),
        T(test_empty_port_refused),
        T(test_huge_port_refused),
        T(test_threads_option),
        T(test_zero_threads_refused),
        T(test_65_threads_refused),
        T(test_max_line_option),
        T(test_zero_max_line_refused),
        T(test_max_line_above_ceiling_refused),
        T(test_max_backlog_option),
        T(test_max_backlog_below_floor_refused),
        T(test_announce_max_option),
        T(test_announce_max_not_a_number_refused),
        T(test_help_exits_with_usage),
        T(test_help_lists_every_option),
        T(test_version_exits_with_program_name),
        T(test_unknown_long_option_refused),
        T(test_unknown_short_option_refused),
        T(test_unknown_bundled_short_option_is_named),
        T(test_stray_argument_refused),
        T(test_stray_argument_before_options_refused),
        T(test_missing_value_of_last_option_refused),
        T(test_missing_value_of_last_short_option_refused),
        T(test_parsing_twice_starts_afresh),
        T(test_parsing_after_an_error_starts_afresh),
        T(test_client_limits_take_values_and_0),
        T(test_client_limits_refuse_bad_values),
        T(test_room_options_take_their_range),
        T(test_owned_room_limits_take_their_range),
        T(test_db_takes_a_path_or_memory),
        T(test_db_default_path),
        T(test_history_days),
    };
#undef T
    return cmocka_run_group_tests_name("server options", tests, NULL, NULL);
}
