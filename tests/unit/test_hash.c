/* test_hash.c - seeded FNV-1a (common/hash.c): the published vectors with seed 0, a seed
 * that changes every hash, pieces that hash as the whole, buckets within range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/hash.h"

static void test_seed_zero_is_plain_fnv1a(void **state)
{
    (void)state;
    /* The FNV-1a 64-bit test vectors of the reference implementation. */
    assert_true(hash_add_str(hash_start(0), "") == 0xcbf29ce484222325ULL);
    assert_true(hash_add_str(hash_start(0), "a") == 0xaf63dc4c8601ec8cULL);
    assert_true(hash_add_str(hash_start(0), "foobar") == 0x85944171f73967e8ULL);
}

static void test_pieces_hash_as_the_whole(void **state)
{
    (void)state;
    uint64_t whole = hash_add_str(hash_start(42), "alice@192.0.2.1");
    uint64_t pieces = hash_add_str(hash_add(hash_start(42), "alice@", 6), "192.0.2.1");
    assert_true(whole == pieces);
}

static void test_a_seed_changes_the_hash(void **state)
{
    (void)state;
    uint64_t a = hash_random_seed(), b = a + 1;
    assert_true(hash_add_str(hash_start(a), "bob") != hash_add_str(hash_start(b), "bob"));
}

static void test_buckets_stay_in_range(void **state)
{
    (void)state;
    unsigned seen[8] = {0};
    char key[16];
    for (unsigned i = 0; i < 800; i++) {
        key[0] = (char)('a' + i % 26);
        key[1] = (char)('a' + i / 26 % 26);
        key[2] = (char)('0' + i / 676);
        key[3] = '\0';
        size_t b = hash_bucket(hash_add_str(hash_start(7), key), 8);
        assert_true(b < 8);
        seen[b]++;
    }
    for (unsigned i = 0; i < 8; i++) {
        assert_true(seen[i] > 50); /* 100 each on average: every bucket is used */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_zero_is_plain_fnv1a),
        cmocka_unit_test(test_pieces_hash_as_the_whole),
        cmocka_unit_test(test_a_seed_changes_the_hash),
        cmocka_unit_test(test_buckets_stay_in_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
