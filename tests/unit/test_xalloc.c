/* test_xalloc.c - unit tests for the growth rule (src/common/xalloc.c).
 *
 * grow_capacity() keeps a capacity that suffices, doubles from the first size otherwise,
 * and reserves past several doublings in one step; xgrow() moves the elements along. An
 * overflow aborts, which is not tested here: it ends the process. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "common/xalloc.h"

static void test_enough_capacity_is_kept(void **state)
{
    (void)state;
    assert_int_equal(grow_capacity(16, 16, 8), 16);
    assert_int_equal(grow_capacity(16, 3, 8), 16);
    assert_int_equal(grow_capacity(0, 0, 8), 0);
}

static void test_empty_array_starts_at_first(void **state)
{
    (void)state;
    assert_int_equal(grow_capacity(0, 1, 8), 8);
    assert_int_equal(grow_capacity(0, 1, 0), 1); /* no first size: one element */
}

static void test_full_array_doubles(void **state)
{
    (void)state;
    assert_int_equal(grow_capacity(8, 9, 8), 16);
    assert_int_equal(grow_capacity(24, 25, 8), 48);
}

static void test_large_need_doubles_until_it_fits(void **state)
{
    (void)state;
    assert_int_equal(grow_capacity(8, 1000, 8), 1024);
    assert_int_equal(grow_capacity(0, 1000, 16), 1024);
}

static void test_xgrow_keeps_elements_and_updates_capacity(void **state)
{
    (void)state;
    int *a = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < 100; i++) {
        if (len == cap) {
            a = xgrow(a, &cap, len + 1, sizeof(*a), 4);
        }
        a[len++] = i;
    }
    assert_int_equal(cap, 128);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(a[i], i);
    }
    int *same = xgrow(a, &cap, 50, sizeof(*a), 4);
    assert_ptr_equal(same, a); /* room enough: nothing moves */
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enough_capacity_is_kept),
        cmocka_unit_test(test_empty_array_starts_at_first),
        cmocka_unit_test(test_full_array_doubles),
        cmocka_unit_test(test_large_need_doubles_until_it_fits),
        cmocka_unit_test(test_xgrow_keeps_elements_and_updates_capacity),
    };
    return cmocka_run_group_tests_name("xalloc", tests, NULL, NULL);
}
