/* test_client_backoff.c - unit tests for the wait before reconnecting (src/client/backoff.c).
 *
 * The wait starts at one second, doubles after each failed attempt, and stops growing at
 * thirty seconds, whatever value it is given. Pure; single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>

#include "client/backoff.h"

static void test_first_wait_is_one_second(void **state)
{
    (void)state;
    assert_int_equal(backoff_next(0), 1);
}

static void test_wait_doubles_up_to_thirty_seconds(void **state)
{
    (void)state;
    const unsigned expected[] = {1, 2, 4, 8, 16, 30, 30, 30};
    unsigned wait = 0;
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        wait = backoff_next(wait);
        assert_int_equal(wait, expected[i]);
    }
}

static void test_wait_never_passes_the_bound_whatever_it_is_given(void **state)
{
    (void)state;
    assert_int_equal(backoff_next(15), 30);
    assert_int_equal(backoff_next(29), 30);
    assert_int_equal(backoff_next(1000), 30);
    assert_int_equal(backoff_next(UINT_MAX), 30);
    assert_int_equal(backoff_next(UINT_MAX / 2 + 1), 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_wait_is_one_second),
        cmocka_unit_test(test_wait_doubles_up_to_thirty_seconds),
        cmocka_unit_test(test_wait_never_passes_the_bound_whatever_it_is_given),
    };
    return cmocka_run_group_tests_name("client_backoff", tests, NULL, NULL);
}
