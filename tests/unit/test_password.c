/* test_password.c - Argon2id hashes made and checked on libuv's thread pool (password.c),
 * through real loops run until the answers come: right and wrong passwords, requests
 * answered one at a time in the order asked, each on the loop that asked.
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
    assert_int_equal(password_init(1), 0);
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
    uv_run(&loop, UV_RUN_DEFAULT); /* the answers' handles close */
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* The loop being run, and the answers' order, seen from the callbacks. */
static uv_loop_t *running_loop;
static unsigned answered[4], n_answered;

struct asked {
    struct answer a;
    uv_loop_t *loop; /* the loop that asked */
    unsigned index;
};

static void on_asked(void *arg, bool ok)
{
    struct asked *q = arg;
    assert_ptr_equal(running_loop, q->loop);
    q->a.done = true;
    q->a.ok = ok;
    answered[n_answered++] = q->index;
}

static void test_requests_are_answered_in_the_order_asked(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(password_init(1), 0);
    struct answer h = {0};
    assert_int_equal(password_hash(&loop, "tournesol42", 11, on_hashed, &h), 0);
    running_loop = &loop;
    run_until(&loop, &h);
    struct asked q[4];
    n_answered = 0;
    for (unsigned i = 0; i < 4; i++) {
        q[i] = (struct asked){.loop = &loop, .index = i};
        const char *pw = i % 2 ? "tournesol42" : "tournesol43";
        assert_int_equal(password_check(&loop, h.hash, pw, strlen(pw), on_asked, &q[i]), 0);
    }
    run_until(&loop, &q[3].a);
    /* password_init(1): one at a time, so answers come in the order asked. */
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(answered[i], i);
        assert_int_equal(q[i].a.ok, i % 2 == 1);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_each_loop_gets_its_own_answers(void **state)
{
    (void)state;
    uv_loop_t a, b;
    assert_int_equal(uv_loop_init(&a), 0);
    assert_int_equal(uv_loop_init(&b), 0);
    assert_int_equal(password_init(1), 0);
    struct answer h = {0};
    assert_int_equal(password_hash(&a, "tournesol42", 11, on_hashed, &h), 0);
    running_loop = &a;
    run_until(&a, &h);
    struct asked qa = {.loop = &a, .index = 0}, qb = {.loop = &b, .index = 1};
    n_answered = 0;
    /* b's request waits behind a's, whose runner is a's: b's answer must still come on b. */
    assert_int_equal(password_check(&a, h.hash, "tournesol42", 11, on_asked, &qa), 0);
    assert_int_equal(password_check(&b, h.hash, "tournesol42", 11, on_asked, &qb), 0);
    while (!qa.a.done || !qb.a.done) {
        running_loop = &a;
        uv_run(&a, UV_RUN_NOWAIT);
        running_loop = &b;
        uv_run(&b, UV_RUN_NOWAIT);
    }
    assert_true(qa.a.ok && qb.a.ok);
    running_loop = &a;
    uv_run(&a, UV_RUN_DEFAULT); /* the runner's end, and the handles' close callbacks */
    running_loop = &b;
    uv_run(&b, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&a), 0);
    assert_int_equal(uv_loop_close(&b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_hash_checks_its_password_only),
        cmocka_unit_test(test_requests_are_answered_in_the_order_asked),
        cmocka_unit_test(test_each_loop_gets_its_own_answers),
    };
    return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
