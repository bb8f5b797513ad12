/* test_guard.c - the slowing of password guessing (guard.c), by a clock the test moves.
 *
 * Failures are counted per account and per address; past --login-tries within the window,
 * one try per --login-delay; a right password clears its account only; the window
 * forgets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include "server/guard.h"

static int setup(void **state)
{
    (void)state;
    guard_init(3, 10);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    guard_shutdown();
    return 0;
}

static void test_tries_then_one_per_delay(void **state)
{
    (void)state;
    uint64_t t = 1000;
    assert_int_equal(guard_wait("alice", "192.0.2.1", t), 0);
    assert_false(guard_failed("alice", "192.0.2.1", t));
    assert_false(guard_failed("alice", "192.0.2.1", t + 1));
    assert_int_equal(guard_wait("alice", "192.0.2.1", t + 2), 0); /* two of three */
    assert_true(guard_failed("alice", "192.0.2.1", t + 2));       /* the third starts it */
    assert_int_equal(guard_wait("alice", "192.0.2.1", t + 3), 9);
    assert_int_equal(guard_wait("alice", "192.0.2.1", t + 11), 1);
    assert_int_equal(guard_wait("alice", "192.0.2.1", t + 12), 0); /* one try allowed */
    assert_false(guard_failed("alice", "192.0.2.1", t + 12));
    assert_int_equal(guard_wait("alice", "192.0.2.1", t + 13), 9); /* and the next waits */
}

static void test_the_account_is_slowed_from_anywhere_and_the_address_for_anyone(void **state)
{
    (void)state;
    uint64_t t = 5000;
    for (int i = 0; i < 3; i++) {
        guard_failed("alice", "192.0.2.1", t);
    }
    assert_int_equal(guard_wait("alice", "198.51.100.7", t), 10); /* the account */
    assert_int_equal(guard_wait("bob", "192.0.2.1", t), 10);      /* the address */
    assert_int_equal(guard_wait("bob", "198.51.100.7", t), 0);    /* neither */
}

static void test_a_right_password_clears_its_account_not_its_address(void **state)
{
    (void)state;
    uint64_t t = 9000;
    guard_failed("alice", "192.0.2.1", t);
    guard_failed("bob", "192.0.2.1", t);
    guard_failed("carol", "192.0.2.1", t);
    assert_int_equal(guard_wait("mallory", "192.0.2.1", t), 10);
    guard_succeeded("carol");
    assert_int_equal(guard_wait("mallory", "192.0.2.1", t), 10); /* the address still is */
    for (int i = 0; i < 2; i++) {
        guard_failed("dave", "203.0.113.9", t);
    }
    guard_succeeded("dave");
    assert_false(guard_failed("dave", "203.0.113.10", t)); /* counting starts again */
    assert_int_equal(guard_wait("dave", "203.0.113.11", t), 0);
}

static void test_the_window_forgets(void **state)
{
    (void)state;
    uint64_t t = 20000;
    for (int i = 0; i < 3; i++) {
        guard_failed("alice", "192.0.2.1", t);
    }
    assert_true(guard_wait("alice", "192.0.2.1", t) > 0);
    t += GUARD_WINDOW_S;
    assert_int_equal(guard_wait("alice", "192.0.2.1", t), 0);
    assert_false(guard_failed("alice", "192.0.2.1", t)); /* a new window: one of three */
    assert_int_equal(guard_wait("alice", "192.0.2.1", t), 0);
}

static void test_many_addresses_are_swept_and_bounded(void **state)
{
    (void)state;
    char addr[32];
    for (int i = 0; i < 5000; i++) { /* past the buckets, many times: they grow and sweep */
        snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
        guard_failed("alice", addr, 100 + (uint64_t)i);
    }
    assert_true(guard_wait("alice", "10.9.9.9", 100 + 5000) > 0);
    /* Long after, all forgotten. */
    assert_int_equal(guard_wait("alice", "10.0.0.1", 100 + 5000 + GUARD_WINDOW_S), 0);
}

static void test_zero_tries_never_slows(void **state)
{
    (void)state;
    guard_shutdown();
    guard_init(0, 10);
    for (int i = 0; i < 100; i++) {
        assert_false(guard_failed("alice", "192.0.2.1", 1));
    }
    assert_int_equal(guard_wait("alice", "192.0.2.1", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_tries_then_one_per_delay),
        T(test_the_account_is_slowed_from_anywhere_and_the_address_for_anyone),
        T(test_a_right_password_clears_its_account_not_its_address),
        T(test_the_window_forgets),
        T(test_many_addresses_are_swept_and_bounded),
        T(test_zero_tries_never_slows),
#undef T
    };
    return cmocka_run_group_tests_name("guard", tests, NULL, NULL);
}
