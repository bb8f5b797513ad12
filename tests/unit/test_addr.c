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
        cmocka_unit_test(test_ipv6_is_bracketed),
        cmocka_unit_test(test_longest_ipv6_fits_the_named_size),
        cmocka_unit_test(test_unknown_family_is_question_mark),
        cmocka_unit_test(test_host_name_and_port),
        cmocka_unit_test(test_small_output_is_cut_and_terminated),
    };
    return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
