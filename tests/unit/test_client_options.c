/* test_client_options.c - unit tests for the client's command line (src/client/options.c).
 *
 * options_parse() is pure: defaults, each option and its range, refusals in French naming
 * the culprit, the TLS options and the port they imply; --host's list, read with the port
 * whatever the order (the list's syntax is test_client_hosts.c's); and
 * options_history_path() follows the XDG rule for where the history of sent lines goes.
 * Runs single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/options.h"
#include "common/buf.h"

static struct client_options o;
static struct buf out;

static int parse_argv(char **argv)
{
    int argc = 0;
    while (argv[argc]) {
        argc++;
    }
    options_release(&o);
    buf_reset(&out);
    return options_parse(&o, argc, argv, &out);
}

#define PARSE(...) parse_argv((char *[]){"causerie", __VA_ARGS__, NULL})

static int teardown(void **state)
{
    (void)state;
    options_release(&o);
    buf_release(&out);
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(parse_argv((char *[]){"causerie", NULL}), OPTIONS_RUN);
    assert_int_equal(o.hosts.count, 0);
    assert_null(o.nick);
    assert_int_equal(o.port, 1234);
    assert_int_equal(o.flood_burst, 10);
    assert_int_equal(o.flood_rate, 5);
    assert_int_equal(o.history_size, 1000);
    assert_false(o.no_color);
    assert_false(o.no_reconnect);
}

static void test_every_option_takes_its_value(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-H", "::1", "-p", "4000", "-n", "zoé", "--flood-burst", "3",
                           "--flood-rate", "0", "--history-size", "0", "--no-color",
                           "--no-reconnect"),
                     OPTIONS_RUN);
    assert_int_equal(o.hosts.count, 1);
    assert_string_equal(o.hosts.list[0].host, "::1");
    assert_int_equal(o.hosts.list[0].port, 4000);
    assert_int_equal(o.port, 4000);
    assert_string_equal(o.nick, "zoé");
    assert_int_equal(o.flood_burst, 3);
    assert_int_equal(o.flood_rate, 0);
    assert_int_equal(o.history_size, 0);
    assert_true(o.no_color);
    assert_true(o.no_reconnect);
}

static void test_counts_are_whole_numbers_in_range(void **state)
{
    (void)state;
    const char *bad[] = {"-1", "1.5", "", "x", "1000001", "99999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char value[16];
        strcpy(value, bad[i]);
        assert_int_equal(PARSE("--flood-rate", value), -EINVAL);
        assert_non_null(strstr(out.data, "--flood-rate"));
        assert_non_null(strstr(out.data, "valeur invalide"));
    }
    assert_int_equal(PARSE("--history-size", "1000000"), OPTIONS_RUN);
    assert_int_equal(o.history_size, 1000000);
}

static void test_help_lists_every_option(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--help"), OPTIONS_EXIT);
    const char *names[] = {"--host",       "--port",         "--nick",     "--flood-burst",
                           "--flood-rate", "--history-size", "--no-color", "--no-reconnect",
                           "--help",       "--version"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_non_null(strstr(out.data, names[i]));
    }
}

static void test_tls_is_off_by_default(void **state)
{
    (void)state;
    assert_int_equal(parse_argv((char *[]){"causerie", NULL}), OPTIONS_RUN);
    assert_false(o.tls);
    assert_null(o.tls_ca);
    assert_false(o.tls_insecure);
}

static void test_tls_defaults_to_port_1235(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--tls"), OPTIONS_RUN);
    assert_true(o.tls);
    assert_int_equal(o.port, 1235);
}

static void test_tls_keeps_a_port_given_before_or_after_it(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port", "4000", "--tls"), OPTIONS_RUN);
    assert_int_equal(o.port, 4000);
    assert_int_equal(PARSE("--tls", "-p", "1234"), OPTIONS_RUN);
    assert_int_equal(o.port, 1234); /* the plain port, asked for by name: kept */
}

static void test_tls_ca_implies_tls_and_keeps_the_file(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--tls-ca", "/etc/causerie/ca.pem"), OPTIONS_RUN);
    assert_true(o.tls);
    assert_false(o.tls_insecure);
    assert_string_equal(o.tls_ca, "/etc/causerie/ca.pem");
    assert_int_equal(o.port, 1235);
}

static void test_tls_insecure_implies_tls(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--tls-insecure", "--host", "exemple.org"), OPTIONS_RUN);
    assert_true(o.tls);
    assert_true(o.tls_insecure);
    assert_int_equal(o.port, 1235);
}

static void test_tls_ca_and_tls_insecure_refuse_each_other(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--tls-insecure", "--tls-ca", "ca.pem"), -EINVAL);
    assert_non_null(strstr(out.data, "--tls-ca et --tls-insecure s'excluent"));
    assert_non_null(strstr(out.data, "causerie --help"));
}

static void test_tls_ca_needs_a_file(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--tls-ca", ""), -EINVAL);
    assert_non_null(strstr(out.data, "--tls-ca demande un fichier"));
    assert_int_equal(PARSE("--tls-ca"), -EINVAL);
    assert_non_null(strstr(out.data, "--tls-ca demande une valeur"));
}

static void test_help_lists_the_tls_options(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--help"), OPTIONS_EXIT);
    assert_non_null(strstr(out.data, "--tls "));
    assert_non_null(strstr(out.data, "--tls-ca FICHIER"));
    assert_non_null(strstr(out.data, "--tls-insecure"));
    assert_non_null(strstr(out.data, "1235 avec --tls"));
}

static void test_host_list_takes_the_port_given_before_or_after_it(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--host", "a,b:2,[::1]", "--port", "4000"), OPTIONS_RUN);
    assert_int_equal(o.hosts.count, 3);
    assert_string_equal(o.hosts.list[0].host, "a");
    assert_int_equal(o.hosts.list[0].port, 4000);
    assert_int_equal(o.hosts.list[1].port, 2);
    assert_string_equal(o.hosts.list[2].host, "::1");
    assert_int_equal(o.hosts.list[2].port, 4000);
    assert_int_equal(PARSE("-p", "4000", "-H", "a"), OPTIONS_RUN);
    assert_int_equal(o.hosts.list[0].port, 4000);
}

static void test_host_list_takes_the_tls_port(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--host", "a,b:2", "--tls"), OPTIONS_RUN);
    assert_int_equal(o.hosts.list[0].port, 1235);
    assert_int_equal(o.hosts.list[1].port, 2);
}

static void test_the_last_host_option_wins(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--host", "premier", "--host", "second"), OPTIONS_RUN);
    assert_int_equal(o.hosts.count, 1);
    assert_string_equal(o.hosts.list[0].host, "second"); /* ASan reports a leak otherwise */
}

static void test_a_bad_host_list_is_refused_naming_it(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--host", "a,,b"), -EINVAL);
    assert_non_null(strstr(out.data, "causerie : valeur invalide pour --host."));
    assert_non_null(strstr(out.data, "Adresse vide dans la liste « a,,b »"));
    assert_non_null(strstr(out.data, "causerie --help"));
    assert_int_equal(PARSE("--host", "a:1,b:70000"), -EINVAL);
    assert_non_null(strstr(out.data, "Port invalide dans « b:70000 »"));
    assert_int_equal(PARSE("--host", ""), -EINVAL);
    assert_non_null(strstr(out.data, "--host demande une adresse"));
}

static void test_history_path_follows_xdg(void **state)
{
    (void)state;
    struct buf p = BUF_INIT;
    assert_int_equal(options_history_path("/etat", "/home/a", &p), 0);
    assert_string_equal(p.data, "/etat/causerie/history");
    buf_reset(&p);
    assert_int_equal(options_history_path(NULL, "/home/a", &p), 0);
    assert_string_equal(p.data, "/home/a/.local/state/causerie/history");
    buf_reset(&p);
    /* A relative or empty XDG_STATE_HOME is to be ignored, as the specification says. */
    assert_int_equal(options_history_path("relatif", "/home/a", &p), 0);
    assert_string_equal(p.data, "/home/a/.local/state/causerie/history");
    buf_reset(&p);
    assert_int_equal(options_history_path("", NULL, &p), -ENOENT);
    assert_int_equal(p.len, 0);
    buf_release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_option_takes_its_value),
        cmocka_unit_test(test_counts_are_whole_numbers_in_range),
        cmocka_unit_test(test_help_lists_every_option),
        cmocka_unit_test(test_tls_is_off_by_default),
        cmocka_unit_test(test_tls_defaults_to_port_1235),
        cmocka_unit_test(test_tls_keeps_a_port_given_before_or_after_it),
        cmocka_unit_test(test_tls_ca_implies_tls_and_keeps_the_file),
        cmocka_unit_test(test_tls_insecure_implies_tls),
        cmocka_unit_test(test_tls_ca_and_tls_insecure_refuse_each_other),
        cmocka_unit_test(test_tls_ca_needs_a_file),
        cmocka_unit_test(test_help_lists_the_tls_options),
        cmocka_unit_test(test_host_list_takes_the_port_given_before_or_after_it),
        cmocka_unit_test(test_host_list_takes_the_tls_port),
        cmocka_unit_test(test_the_last_host_option_wins),
        cmocka_unit_test(test_a_bad_host_list_is_refused_naming_it),
        cmocka_unit_test(test_history_path_follows_xdg),
    };
    return cmocka_run_group_tests_name("client_options", tests, NULL, teardown);
}
