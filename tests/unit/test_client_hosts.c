/* test_client_hosts.c - unit tests for the client's address list (src/client/hosts.c).
 *
 * hosts_parse() reads one address or several, separated by commas, in every form the
 * address prompt and --host take, refuses empty addresses, bad ports and bad forms in
 * French (a host with a blank, a control character or a bracket among them), leaves the
 * old list when it refuses, and reads nothing past the text's NUL (the text ends right
 * before an unmapped page); a list formatted reads back as itself. The round goes through every
 * address once, from the first or from the one after the current, wrapping around. Single-threaded.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, for the guard page */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "client/hosts.h"
#include "common/buf.h"

#define GUARD_PAGE_BYTES 4096
#include "guard_page.h"

static struct hosts h;
static struct buf err;

/* Parses text, with 1234 for the addresses that give no port. */
static int parse(const char *text)
{
    buf_reset(&err);
    return hosts_parse(&h, text, 1234, &err);
}

static void assert_entry(size_t i, const char *host, int port)
{
    assert_true(i < h.count);
    assert_string_equal(h.list[i].host, host);
    assert_int_equal(h.list[i].port, port);
}

static int teardown_all(void **state)
{
    hosts_release(&h);
    buf_release(&err);
    return unmap_guard_page(state);
}

static void test_a_host_alone_takes_the_default_port(void **state)
{
    (void)state;
    assert_int_equal(parse("127.0.0.1"), 0);
    assert_int_equal(h.count, 1);
    assert_entry(0, "127.0.0.1", 1234);
}

static void test_a_host_may_give_its_port(void **state)
{
    (void)state;
    assert_int_equal(parse("exemple.org:4000"), 0);
    assert_int_equal(h.count, 1);
    assert_entry(0, "exemple.org", 4000);
}

static void test_ipv6_takes_a_port_only_in_brackets(void **state)
{
    (void)state;
    assert_int_equal(parse("[::1]:5000,[fe80::1],::1,2001:db8::7"), 0);
    assert_int_equal(h.count, 4);
    assert_entry(0, "::1", 5000);
    assert_entry(1, "fe80::1", 1234);
    assert_entry(2, "::1", 1234);
    assert_entry(3, "2001:db8::7", 1234); /* a bare address: its last group is no port */
}

static void test_a_list_keeps_its_order_and_each_port(void **state)
{
    (void)state;
    assert_int_equal(parse("a:1,b,[::1]:3"), 0);
    assert_int_equal(h.count, 3);
    assert_entry(0, "a", 1);
    assert_entry(1, "b", 1234);
    assert_entry(2, "::1", 3);
    assert_int_equal(h.current, 0);
}

static void test_blanks_around_each_address_are_ignored(void **state)
{
    (void)state;
    assert_int_equal(parse(" a:1 ,\tb \r\n"), 0);
    assert_int_equal(h.count, 2);
    assert_entry(0, "a", 1);
    assert_entry(1, "b", 1234);
}

static void test_an_empty_address_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"a,,b", ",a", "a,", "a, ,b", ","};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i]), -EINVAL);
        assert_non_null(strstr(err.data, "Adresse vide dans la liste"));
        assert_non_null(strstr(err.data, bad[i]));
    }
}

static void test_nothing_at_all_is_refused(void **state)
{
    (void)state;
    assert_int_equal(parse(""), -EINVAL);
    assert_string_equal(err.data, "Aucune adresse donnée.");
    assert_int_equal(parse(" \t"), -EINVAL);
    assert_string_equal(err.data, "Aucune adresse donnée.");
}

static void test_a_bad_port_is_refused_naming_its_address(void **state)
{
    (void)state;
    const char *bad[] = {"a:0",  "a:65536", "a:99999", "a:+80",   "a: 80",
                         "a:8o", "a:",      "[::1]:",  "[::1]:x", "a:123456"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i]), -EINVAL);
        assert_non_null(strstr(err.data, "Port invalide"));
        assert_non_null(strstr(err.data, bad[i]));
    }
    assert_int_equal(parse("ok,b:0"), -EINVAL);
    assert_string_equal(err.data, "Port invalide dans « b:0 » (attendu : un nombre de 1 à 65535).");
}

static void test_the_port_bounds_are_taken(void **state)
{
    (void)state;
    assert_int_equal(parse("a:1,b:65535,c:00080"), 0);
    assert_entry(0, "a", 1);
    assert_entry(1, "b", 65535);
    assert_entry(2, "c", 80);
}

static void test_an_address_of_no_known_form_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"[::1",   "[]",    "[]:80",       "[::1]x",  "[::1]80",
                         ":80",    "a b",   "exemple org", "a\tb:80", "[[::1]",
                         "[a]]:1", "a]:80", "[ ::1]",      "a\x1b[2J"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i]), -EINVAL);
        assert_non_null(strstr(err.data, "Adresse invalide"));
        assert_non_null(strstr(err.data, bad[i]));
    }
}

static void test_a_refused_list_leaves_the_old_one(void **state)
{
    (void)state;
    assert_int_equal(parse("a:1,b:2"), 0);
    assert_int_equal(parse("c:3,d:0"), -EINVAL);
    assert_int_equal(h.count, 2);
    assert_entry(0, "a", 1);
    assert_entry(1, "b", 2);
}

static void test_a_new_list_replaces_the_old_and_starts_again(void **state)
{
    (void)state;
    assert_int_equal(parse("a,b,c"), 0);
    hosts_start_round(&h, false);
    assert_true(hosts_next(&h));
    assert_int_equal(parse("d"), 0);
    assert_int_equal(h.count, 1);
    assert_int_equal(h.current, 0);
    assert_entry(0, "d", 1234);
}

static void test_nothing_is_read_past_the_end(void **state)
{
    (void)state;
    const char *texts[] = {"a",     "a:",     "a:1", "a:1,", "[",     "[::1",
                           "[::1]", "[::1]:", "::1", "a,b",  " a , ", ","};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        const char *t = at_page_end(texts[i], strlen(texts[i]) + 1); /* its NUL last */
        buf_reset(&err);
        hosts_parse(&h, t, 1234, &err);
    }
}

static void test_format_writes_every_port_and_brackets_ipv6(void **state)
{
    (void)state;
    assert_int_equal(parse("a,[::1]:2,exemple.org:3"), 0);
    struct buf out = BUF_INIT;
    hosts_format(&h, &out);
    assert_string_equal(out.data, "a:1234,[::1]:2,exemple.org:3");
    buf_release(&out);
}

static void test_a_formatted_list_reads_back_as_itself(void **state)
{
    (void)state;
    assert_int_equal(parse(" a ,[fe80::1%eth0]:2,b:3 , ::1,[c]"), 0);
    struct buf out = BUF_INIT;
    hosts_format(&h, &out);
    assert_string_equal(out.data, "a:1234,[fe80::1%eth0]:2,b:3,[::1]:1234,c:1234");
    assert_int_equal(hosts_parse(&h, out.data, 1, &err), 0);
    struct buf again = BUF_INIT;
    hosts_format(&h, &again);
    assert_string_equal(again.data, out.data);
    buf_release(&again);
    buf_release(&out);
}

static void test_a_round_from_the_first_tries_each_once(void **state)
{
    (void)state;
    assert_int_equal(parse("a,b,c"), 0);
    hosts_start_round(&h, false);
    assert_string_equal(hosts_current(&h)->host, "a");
    assert_true(hosts_next(&h));
    assert_string_equal(hosts_current(&h)->host, "b");
    assert_true(hosts_next(&h));
    assert_string_equal(hosts_current(&h)->host, "c");
    assert_false(hosts_next(&h));
    assert_string_equal(hosts_current(&h)->host, "c"); /* the last one tried */
}

static void test_a_round_after_the_current_wraps_and_ends_with_it(void **state)
{
    (void)state;
    assert_int_equal(parse("a,b,c"), 0);
    hosts_start_round(&h, false);
    assert_true(hosts_next(&h)); /* connected to b, then lost */
    hosts_start_round(&h, true);
    assert_string_equal(hosts_current(&h)->host, "c");
    assert_true(hosts_next(&h));
    assert_string_equal(hosts_current(&h)->host, "a");
    assert_true(hosts_next(&h));
    assert_string_equal(hosts_current(&h)->host, "b");
    assert_false(hosts_next(&h));
    /* Every one failed: the next round starts from the same place. */
    hosts_start_round(&h, true);
    assert_string_equal(hosts_current(&h)->host, "c");
}

static void test_a_round_of_one_is_that_one(void **state)
{
    (void)state;
    assert_int_equal(parse("seul:9"), 0);
    hosts_start_round(&h, true);
    assert_string_equal(hosts_current(&h)->host, "seul");
    assert_int_equal(hosts_current(&h)->port, 9);
    assert_false(hosts_next(&h));
    hosts_start_round(&h, false);
    assert_string_equal(hosts_current(&h)->host, "seul");
    assert_false(hosts_next(&h));
}

static void test_parse_port_takes_digits_only(void **state)
{
    (void)state;
    int port = 7;
    assert_true(hosts_parse_port("80", 2, &port));
    assert_int_equal(port, 80);
    assert_false(hosts_parse_port("", 0, &port));
    assert_false(hosts_parse_port("-1", 2, &port));
    assert_false(hosts_parse_port("0", 1, &port));
    assert_false(hosts_parse_port("65536", 5, &port));
    assert_int_equal(port, 80);                      /* untouched by a refusal */
    assert_true(hosts_parse_port("443x", 3, &port)); /* only len bytes are read */
    assert_int_equal(port, 443);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_host_alone_takes_the_default_port),
        cmocka_unit_test(test_a_host_may_give_its_port),
        cmocka_unit_test(test_ipv6_takes_a_port_only_in_brackets),
        cmocka_unit_test(test_a_list_keeps_its_order_and_each_port),
        cmocka_unit_test(test_blanks_around_each_address_are_ignored),
        cmocka_unit_test(test_an_empty_address_is_refused),
        cmocka_unit_test(test_nothing_at_all_is_refused),
        cmocka_unit_test(test_a_bad_port_is_refused_naming_its_address),
        cmocka_unit_test(test_the_port_bounds_are_taken),
        cmocka_unit_test(test_an_address_of_no_known_form_is_refused),
        cmocka_unit_test(test_a_refused_list_leaves_the_old_one),
        cmocka_unit_test(test_a_new_list_replaces_the_old_and_starts_again),
        cmocka_unit_test(test_nothing_is_read_past_the_end),
        cmocka_unit_test(test_format_writes_every_port_and_brackets_ipv6),
        cmocka_unit_test(test_a_formatted_list_reads_back_as_itself),
        cmocka_unit_test(test_a_round_from_the_first_tries_each_once),
        cmocka_unit_test(test_a_round_after_the_current_wraps_and_ends_with_it),
        cmocka_unit_test(test_a_round_of_one_is_that_one),
        cmocka_unit_test(test_parse_port_takes_digits_only),
    };
    return cmocka_run_group_tests_name("client_hosts", tests, map_guard_page, teardown_all);
}
