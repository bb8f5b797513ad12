/* test_wipe.c - unit tests for clearing secrets (src/common/wipe.c).
 *
 * What is cleared reads as zeros afterwards, and nothing around it changes; the empty and
 * NULL cases do nothing. Whether freed memory was cleared cannot be read back without
 * undefined behaviour, so wipe_free_str() is only run (under ASan in `make test`).
 * Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/wipe.h"
#include "common/xalloc.h"

static void test_wiped_bytes_read_as_zeros(void **state)
{
    (void)state;
    char b[16] = "xxmot de passexx";
    wipe_bytes(b + 2, 12);
    assert_memory_equal(b, "xx\0\0\0\0\0\0\0\0\0\0\0\0xx", sizeof(b));
}

static void test_nothing_to_wipe_does_nothing(void **state)
{
    (void)state;
    char b[2] = "ab";
    wipe_bytes(b, 0);
    wipe_bytes(NULL, 0);
    assert_memory_equal(b, "ab", 2);
    wipe_free_str(NULL);
}

static void test_a_string_is_wiped_and_freed(void **state)
{
    (void)state;
    wipe_free_str(xstrdup("secret"));
    wipe_free_str(xstrdup(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wiped_bytes_read_as_zeros),
        cmocka_unit_test(test_nothing_to_wipe_does_nothing),
        cmocka_unit_test(test_a_string_is_wiped_and_freed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
