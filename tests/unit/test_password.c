/* test_password.c - Argon2id hashes made and checked on libuv's thread pool (password.c),
 * through a real loop run until the answer comes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>
#include <uv.h>

#include "server/password.h"

struct answer {
    bool done, ok;
    int status;
    char hash[PASSWORD_HASH_SIZE];
};

static void on_hashed(void *arg, int status, const char *hash)
{
    struct answer *a = arg;
    a->done = true;
    a->status = status;
    strcpy(a->hash, hash);
}

static void on_checked(void *arg, bool ok)
{
    struct answer *a = arg;
    a->done = true;
    a->ok = ok;
}

static void run_until(uv_loop_t *loop, struct answer *a)
{
    while (!a->done) {
        uv_run(loop, UV_RUN_ONCE);
    }
}

static bool check(uv_loop_t *loop, const char *hash, const char *pw)
{
    struct answer a = {0};
    assert_int_equal(password_check(loop, hash, pw, strlen(pw), on_checked, &a), 0);
    run_until(loop, &a);
    return a.ok;
}

static void test_a_hash_checks_its_password_only(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(password_init(), 0);
    struct answer a = {0};
    assert_int_equal(password_hash(&loop, "tournesol42", 11, on_hashed, &a), 0);
    run_until(&loop, &a);
    assert_int_equal(a.status, 0);
    /* Argon2id at libsodium's interactive limits, its salt in the string. */
    assert_memory_equal(a.hash, "$argon2id$v=19$m=65536,t=2,p=1$", 31);
    assert_null(strstr(a.hash, "tournesol"));
    assert_true(check(&loop, a.hash, "tournesol42"));
    assert_false(check(&loop, a.hash, "tournesol43"));
    assert_false(check(&loop, a.hash, ""));
    assert_false(check(&loop, "pas une empreinte", "tournesol42"));
    struct answer b = {0}; /* the same password again: another salt, another string */
    assert_int_equal(password_hash(&loop, "tournesol42", 11, on_hashed, &b), 0);
    run_until(&loop, &b);
    assert_string_not_equal(a.hash, b.hash);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_hash_checks_its_password_only),
    };
    return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
