/* test_client_reclaim.c - unit tests for how long the client insists on its pseudo
 * (src/client/reclaim.c).
 *
 * The first refusal is told and waited out, the next ones waited out silently, until
 * RECLAIM_FOR_S seconds of waits; then the user is asked, and the count starts again.
 * Pure; single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/reclaim.h"

static void test_the_bound_is_thirty_seconds_of_two_second_waits(void **state)
{
    (void)state;
    assert_int_equal(RECLAIM_EVERY_S, 2);
    assert_int_equal(RECLAIM_TRIES * RECLAIM_EVERY_S, 30);
}

static void test_the_first_refusal_is_told_and_waited_out(void **state)
{
    (void)state;
    struct reclaim r;
    reclaim_reset(&r);
    assert_int_equal(reclaim_refused(&r), RECLAIM_WAIT_FIRST);
}

static void test_refusals_are_waited_out_until_the_bound_then_the_user_chooses(void **state)
{
    (void)state;
    struct reclaim r;
    reclaim_reset(&r);
    assert_int_equal(reclaim_refused(&r), RECLAIM_WAIT_FIRST);
    for (unsigned i = 1; i < RECLAIM_TRIES; i++) {
        assert_int_equal(reclaim_refused(&r), RECLAIM_WAIT);
    }
    assert_int_equal(reclaim_refused(&r), RECLAIM_GIVE_UP);
}

static void test_after_giving_up_a_refusal_starts_the_count_again(void **state)
{
    (void)state;
    struct reclaim r;
    reclaim_reset(&r);
    for (unsigned i = 0; i < RECLAIM_TRIES; i++) {
        (void)reclaim_refused(&r);
    }
    assert_int_equal(reclaim_refused(&r), RECLAIM_GIVE_UP);
    assert_int_equal(reclaim_refused(&r), RECLAIM_WAIT_FIRST);
}

static void test_a_reset_starts_the_count_again(void **state)
{
    (void)state;
    struct reclaim r;
    reclaim_reset(&r);
    for (unsigned i = 0; i < RECLAIM_TRIES; i++) {
        (void)reclaim_refused(&r);
    }
    reclaim_reset(&r);
    assert_int_equal(reclaim_refused(&r), RECLAIM_WAIT_FIRST);
    assert_int_equal(reclaim_refused(&r), RECLAIM_WAIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_bound_is_thirty_seconds_of_two_second_waits),
        cmocka_unit_test(test_the_first_refusal_is_told_and_waited_out),
        cmocka_unit_test(test_refusals_are_waited_out_until_the_bound_then_the_user_chooses),
        cmocka_unit_test(test_after_giving_up_a_refusal_starts_the_count_again),
        cmocka_unit_test(test_a_reset_starts_the_count_again),
    };
    return cmocka_run_group_tests_name("client_reclaim", tests, NULL, NULL);
}
