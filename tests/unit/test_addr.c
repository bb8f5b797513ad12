/* test_addr.c - unit tests for the address formatter (src/common/addr.c).
 *
 * IPv4 and IPv6 socket addresses, a family it does not know, hosts as a user gives them,
 * and an output buffer too small, which is cut and still NUL-terminated. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "common/addr.h"

static void test_ipv4_is_address_colon_port(void **state)
{
    (void)state;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53422)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    char out[ADDR_NAME_MAX];
    addr_format((const struct sockaddr *)&a, out, sizeof(out));
    assert_string_equal(out, "127.0.0.1:53422");
}

static void test_ipv6_is_bracketed(void **state)
{
    (void)state;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(1234)};
    inet_pton(AF_INET6, "::1", &a.sin6_addr);
    char out[ADDR_NAME_MAX];
    addr_format((const struct sockaddr *)&a, out, sizeof(out));
    assert_string_equal(out, "[::1]:1234");
}

static void test_longest_ipv6_fits_the_named_size(void **state)
{
    (void)state;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(65535)};
    inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a.sin6_addr);
    char out[ADDR_NAME_MAX];
    addr_format((const struct sockaddr *)&a, out, sizeof(out));
    assert_string_equal(out, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

static void test_unknown_family_is_question_mark(void **state)
{
    (void)state;
    struct sockaddr_storage ss = {.ss_family = AF_UNSPEC};
    char out[ADDR_NAME_MAX];
    addr_format((const struct sockaddr *)&ss, out, sizeof(out));
    assert_string_equal(out, "?:0");
}

static void test_host_name_and_port(void **state)
{
    (void)state;
    char out[ADDR_NAME_MAX];
    addr_format_host("localhost", 1234, out, sizeof(out));
    assert_string_equal(out, "localhost:1234");
    addr_format_host("::1", 1235, out, sizeof(out));
    assert_string_equal(out, "[::1]:1235");
}

/* The host a connection is counted under, and whether it is this machine: what decides if
 * a password may come in clear (login.c) and what guessing is counted against (guard.c). */
static bool host_key(const char *text, char *out)
{
    if (strchr(text, ':')) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
        assert_int_equal(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
        return addr_host_key((const struct sockaddr *)&a, out, ADDR_NAME_MAX);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
    assert_int_equal(inet_pton(AF_INET, text, &a.sin_addr), 1);
    return addr_host_key((const struct sockaddr *)&a, out, ADDR_NAME_MAX);
}

static void test_host_keys_and_loopback(void **state)
{
    (void)state;
    char out[ADDR_NAME_MAX];
    assert_true(host_key("127.0.0.1", out));
    assert_string_equal(out, "127.0.0.1");
    assert_true(host_key("127.3.2.1", out)); /* all of 127.0.0.0/8 */
    assert_false(host_key("128.0.0.1", out));
    assert_false(host_key("192.0.2.7", out));
    assert_string_equal(out, "192.0.2.7");
    assert_false(host_key("10.0.0.127", out));
    assert_true(host_key("::1", out));
    assert_false(host_key("::2", out));
    assert_false(host_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", out));
    assert_string_equal(out, "2001:db8:1:2::/64");  /* one host owns its /64 */
    assert_true(host_key("::ffff:127.0.0.1", out)); /* IPv4-mapped: the IPv4 address */
    assert_string_equal(out, "127.0.0.1");
    assert_false(host_key("::ffff:192.0.2.7", out));
    assert_string_equal(out, "192.0.2.7");
    struct sockaddr unknown = {.sa_family = AF_UNIX};
    assert_false(addr_host_key(&unknown, out, sizeof(out)));
    assert_string_equal(out, "?");
}

static void test_small_output_is_cut_and_terminated(void **state)
{
    (void)state;
    char out[8];
    memset(out, 'x', sizeof(out));
    addr_format_host("example.org", 1234, out, sizeof(out));
    assert_string_equal(out, "example");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_is_address_colon_port),
        cmocka_unit_test(test_host_keys_and_loopback),
        cmocka_unit_test(test_ipv6_is_bracketed),
        cmocka_unit_test(test_longest_ipv6_fits_the_named_size),
        cmocka_unit_test(test_unknown_family_is_question_mark),
        cmocka_unit_test(test_host_name_and_port),
        cmocka_unit_test(test_small_output_is_cut_and_terminated),
    };
    return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
