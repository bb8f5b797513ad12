/* test_registry.c - unit tests for the people on the server (src/server/registry.c).
 *
 * A key is claimed once until released, the count follows claims and releases, a rename
 * moves a person to a free key or its own (a change of case) and never to another's, a
 * reference keeps a released person readable, the table survives growth to 10,000 keys
 * and drains back to empty, and threads racing for the same keys are each granted a key
 * exactly once. Every test starts from registry_init() and ends with registry_shutdown(),
 * which drops what is still claimed (ASan checks that nothing leaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "server/registry.h"

#define MANY_KEYS    10000 /* far past the initial table: forces several growths */
#define RACE_THREADS 4
#define RACE_KEYS    2000
#define KEY_SIZE     32

static int setup_registry(void **state)
{
    (void)state;
    registry_init();
    return 0;
}

static int teardown_registry(void **state)
{
    (void)state;
    registry_shutdown();
    return 0;
}

static void make_key(char key[KEY_SIZE], size_t i)
{
    snprintf(key, KEY_SIZE, "user%zu", i);
}

/* Claims key with the key itself as the pseudo; the pseudo-as-typed case has its own test. */
static struct person *claim(const char *key, size_t *count)
{
    return registry_claim(key, key, strlen(key), "192.0.2.1", 0, NULL, count);
}

static void test_registry_starts_empty(void **state)
{
    (void)state;
    assert_int_equal(registry_count(), 0);
}

static void test_claim_free_key_succeeds(void **state)
{
    (void)state;
    size_t count = 0;
    assert_non_null(claim("alice", &count));
    assert_int_equal(count, 1);
    assert_int_equal(registry_count(), 1);
}

static void test_claim_taken_key_fails(void **state)
{
    (void)state;
    size_t count = 0;
    assert_non_null(claim("alice", &count));
    assert_null(claim("alice", &count));
    assert_int_equal(registry_count(), 1);
}

static void test_claim_reports_count_after_claim(void **state)
{
    (void)state;
    size_t count = 0;
    assert_non_null(claim("alice", &count));
    assert_int_equal(count, 1);
    assert_non_null(claim("bob", &count));
    assert_int_equal(count, 2);
    assert_non_null(claim("carol", &count));
    assert_int_equal(count, 3);
}

/* Keys arrive folded (pseudo_fold()); the registry itself compares bytes exactly. */
static void test_keys_are_compared_exactly(void **state)
{
    (void)state;
    size_t count = 0;
    assert_non_null(claim("alice", &count));
    assert_non_null(claim("alicE", &count));
    assert_non_null(claim("alice2", &count));
    assert_non_null(claim("alic", &count));
    assert_non_null(claim("\xC3\xA9lodie", &count));
    assert_non_null(claim("elodie", &count));
    assert_int_equal(registry_count(), 6);
}

/* The claim keeps the pseudo as typed, apart from its folded key: the client's pseudo is
 * this copy for as long as it is joined. */
static void test_claim_keeps_pseudo_as_typed(void **state)
{
    (void)state;
    size_t count = 0;
    const char *typed = "\xC3\x89lodie!"; /* "Élodie" and a byte past the length given */
    struct person *p = registry_claim("\xC3\xA9lodie", typed, strlen(typed) - 1, "192.0.2.1", 1,
                                      (struct member *)&count, &count);
    assert_non_null(p);
    assert_string_equal(person_pseudo(p), "\xC3\x89lodie");
    assert_ptr_not_equal(person_pseudo(p), typed);
    assert_int_equal(p->loop, 1);
    assert_ptr_equal(p->member, (struct member *)&count);
    assert_null(registry_claim("\xC3\xA9lodie", "\xC3\xA9LODIE", 8, "192.0.2.1", 0, NULL, &count));
    /* a refused claim leaves the holder's copy */
    assert_string_equal(person_pseudo(p), "\xC3\x89lodie");
    registry_release(p);
    assert_int_equal(registry_count(), 0);
}

/* A pseudo typed as it folds is stored once: its key is the pseudo's own bytes, and the
 * host after it reads the same as after a key stored apart; both are found by key. */
static void test_pseudo_typed_as_it_folds_is_its_own_key(void **state)
{
    (void)state;
    size_t count = 0;
    struct person *same = registry_claim("bob", "bob", 3, "192.0.2.1", 0, NULL, &count);
    struct person *apart = registry_claim("alice", "Alice", 5, "2001:db8::/64", 0, NULL, &count);
    assert_non_null(same);
    assert_non_null(apart);
    assert_false(same->key_apart);
    assert_ptr_equal(person_key(same), person_pseudo(same));
    assert_string_equal(person_host(same), "192.0.2.1");
    assert_true(apart->key_apart);
    assert_string_equal(person_pseudo(apart), "Alice");
    assert_string_equal(person_key(apart), "alice");
    assert_string_equal(person_host(apart), "2001:db8::/64");
    struct person *found = registry_find("bob");
    assert_ptr_equal(found, same);
    person_unref(found);
    found = registry_find("alice");
    assert_ptr_equal(found, apart);
    person_unref(found);
    assert_null(registry_claim("bob", "BOB", 3, "192.0.2.2", 0, NULL, &count));
    registry_release(same);
    registry_release(apart);
    assert_int_equal(registry_count(), 0);
}

static void test_release_then_claim_again(void **state)
{
    (void)state;
    size_t count = 0;
    struct person *alice = claim("alice", &count);
    assert_non_null(alice);
    registry_release(alice);
    assert_int_equal(registry_count(), 0);
    assert_non_null(claim("alice", &count));
    assert_int_equal(count, 1);
}

static void test_release_leaves_other_keys_claimed(void **state)
{
    (void)state;
    size_t count = 0;
    struct person *alice = claim("alice", &count);
    assert_non_null(alice);
    assert_non_null(claim("bob", &count));
    registry_release(alice);
    assert_int_equal(registry_count(), 1);
    assert_null(claim("bob", &count));
    assert_non_null(claim("alice", &count));
    assert_int_equal(count, 2);
}

static void test_find_gives_a_reference_to_the_holder(void **state)
{
    (void)state;
    size_t count = 0;
    struct person *alice = claim("alice", &count);
    struct person *found = registry_find("alice");
    assert_ptr_equal(found, alice);
    assert_null(registry_find("bob"));
    registry_release(alice);
    assert_null(registry_find("alice"));
    /* The reference keeps the released person readable, its member cleared. */
    assert_string_equal(person_pseudo(found), "alice");
    assert_null(found->member);
    person_unref(found); /* the last reference: ASan reports a leak or a double free */
}

static void test_rename_to_a_free_key_moves_the_person(void **state)
{
    (void)state;
    size_t count = 0;
    struct person *alice =
        registry_claim("alice", "alice", 5, "2001:db8::/64", 1, (struct member *)&count, &count);
    struct person *bob = registry_rename(alice, "bob", "Bob", 3);
    assert_non_null(bob);
    assert_string_equal(person_pseudo(bob), "Bob");
    assert_ptr_equal(bob->member, (struct member *)&count);
    assert_int_equal(bob->loop, 1);
    assert_string_equal(person_host(bob), "2001:db8::/64"); /* the connection's, kept */
    assert_string_equal(person_key(bob), "bob");
    assert_null(bob->room); /* room.c's to copy, under its lock */
    assert_true(alice->renamed);
    assert_ptr_equal(person_current(alice), bob); /* what was on its way to alice */
    assert_null(registry_find("alice"));
    struct person *found = registry_find("bob");
    assert_ptr_equal(found, bob);
    person_unref(found);
    assert_int_equal(registry_count(), 1);
    person_unref(alice); /* the registry's reference passed to us */
    assert_non_null(claim("alice", &count));
    assert_int_equal(count, 2);
}

static void test_rename_to_its_own_key_changes_the_case(void **state)
{
    (void)state;
    size_t count = 0;
    struct person *alice = claim("alice", &count);
    struct person *renamed = registry_rename(alice, "alice", "ALICE", 5);
    assert_non_null(renamed);
    assert_string_equal(person_pseudo(renamed), "ALICE");
    struct person *found = registry_find("alice");
    assert_ptr_equal(found, renamed);
    person_unref(found);
    person_unref(alice);
    assert_int_equal(registry_count(), 1);
    assert_null(claim("alice", &count));
}

static void test_rename_to_a_taken_key_changes_nothing(void **state)
{
    (void)state;
    size_t count = 0;
    struct person *alice = claim("alice", &count);
    struct person *bob = claim("bob", &count);
    assert_null(registry_rename(alice, "bob", "Bob", 3));
    struct person *found = registry_find("alice");
    assert_ptr_equal(found, alice);
    person_unref(found);
    found = registry_find("bob");
    assert_ptr_equal(found, bob);
    person_unref(found);
    assert_int_equal(registry_count(), 2);
}

/* Renames back and forth between keys that share a bucket's chain with others. */
static void test_rename_among_many_keys_keeps_every_chain_whole(void **state)
{
    (void)state;
    char key[KEY_SIZE], other[KEY_SIZE];
    size_t count = 0;
    static struct person *people[1000];
    for (size_t i = 0; i < 1000; i++) {
        make_key(key, i);
        people[i] = claim(key, &count);
    }
    for (size_t i = 0; i < 1000; i += 2) {
        snprintf(other, KEY_SIZE, "renamed%zu", i);
        struct person *p = registry_rename(people[i], other, other, strlen(other));
        assert_non_null(p);
        person_unref(people[i]);
        people[i] = p;
    }
    for (size_t i = 0; i < 1000; i++) {
        if (i % 2 == 0) {
            snprintf(key, KEY_SIZE, "renamed%zu", i);
        } else {
            make_key(key, i);
        }
        struct person *found = registry_find(key);
        assert_ptr_equal(found, people[i]);
        person_unref(found);
    }
    assert_int_equal(registry_count(), 1000);
}

static void test_many_keys_grow_and_drain(void **state)
{
    (void)state;
    char key[KEY_SIZE];
    size_t count = 0;
    static struct person *claimed[MANY_KEYS];
    for (size_t i = 0; i < MANY_KEYS; i++) {
        make_key(key, i);
        claimed[i] = claim(key, &count);
        assert_non_null(claimed[i]);
        assert_int_equal(count, i + 1);
    }
    for (size_t i = 0; i < MANY_KEYS; i++) {
        make_key(key, i);
        assert_null(claim(key, &count)); /* still found after every growth */
    }
    assert_int_equal(registry_count(), MANY_KEYS);
    for (size_t i = 0; i < MANY_KEYS; i++) {
        make_key(key, i);
        /* each copy intact after every growth */
        assert_string_equal(person_pseudo(claimed[i]), key);
        registry_release(claimed[i]);
        assert_int_equal(registry_count(), MANY_KEYS - i - 1);
    }
    assert_non_null(claim("user0", &count));
    assert_int_equal(count, 1);
}

static void test_shutdown_frees_claimed_keys(void **state)
{
    (void)state;
    char key[KEY_SIZE];
    size_t count = 0;
    for (size_t i = 0; i < 100; i++) {
        make_key(key, i);
        assert_non_null(claim(key, &count));
    }
    registry_shutdown(); /* ASan reports the entries if they leaked */
    registry_init();
    assert_int_equal(registry_count(), 0);
    assert_non_null(claim("user0", &count));
}

struct racer {
    pthread_t thread;
    size_t won; /* keys this thread was granted */
};

static void *race_for_keys(void *arg)
{
    struct racer *r = arg;
    char key[KEY_SIZE];
    size_t count;
    for (size_t i = 0; i < RACE_KEYS; i++) {
        make_key(key, i);
        if (claim(key, &count)) {
            r->won++;
        }
    }
    return NULL;
}

static void test_racing_threads_get_each_key_once(void **state)
{
    (void)state;
    struct racer racers[RACE_THREADS] = {0};
    for (size_t i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(pthread_create(&racers[i].thread, NULL, race_for_keys, &racers[i]), 0);
    }
    size_t won = 0;
    for (size_t i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(pthread_join(racers[i].thread, NULL), 0);
        won += racers[i].won;
    }
    assert_int_equal(won, RACE_KEYS);
    assert_int_equal(registry_count(), RACE_KEYS);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_registry, teardown_registry)
    const struct CMUnitTest tests[] = {
        T(test_registry_starts_empty),
        T(test_claim_free_key_succeeds),
        T(test_claim_taken_key_fails),
        T(test_claim_reports_count_after_claim),
        T(test_keys_are_compared_exactly),
        T(test_claim_keeps_pseudo_as_typed),
        T(test_pseudo_typed_as_it_folds_is_its_own_key),
        T(test_release_then_claim_again),
        T(test_release_leaves_other_keys_claimed),
        T(test_find_gives_a_reference_to_the_holder),
        T(test_rename_to_a_free_key_moves_the_person),
        T(test_rename_to_its_own_key_changes_the_case),
        T(test_rename_to_a_taken_key_changes_nothing),
        T(test_rename_among_many_keys_keeps_every_chain_whole),
        T(test_many_keys_grow_and_drain),
        T(test_shutdown_frees_claimed_keys),
        T(test_racing_threads_get_each_key_once),
    };
#undef T
    return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
