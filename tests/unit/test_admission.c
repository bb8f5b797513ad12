/* test_admission.c - unit tests for who may connect (src/server/admission.c).
 *
 * The total and per-address limits hold and are given back on release; IPv4-mapped IPv6
 * addresses count as their IPv4 address and IPv6 addresses by /64; 0 means no limit; a
 * table of many addresses grows and drains back to empty, and threads admitting and
 * releasing at once keep the count exact. Every test ends with admission_shutdown(), so
 * ASan sees what the table kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "server/admission.h"

static struct sockaddr_storage v4(const char *text)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *text)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
    return ss;
}

static enum admission_verdict admit(struct sockaddr_storage ss, uint32_t *ticket)
{
    return admission_admit((const struct sockaddr *)&ss, ticket);
}

static int teardown(void **state)
{
    (void)state;
    admission_shutdown();
    return 0;
}

static void test_total_limit_refuses_then_gives_back(void **state)
{
    (void)state;
    admission_init(2, 0);
    uint32_t a, b, c;
    assert_int_equal(admit(v4("10.0.0.1"), &a), ADMISSION_OK);
    assert_int_equal(admit(v4("10.0.0.2"), &b), ADMISSION_OK);
    assert_int_equal(admit(v4("10.0.0.3"), &c), ADMISSION_FULL);
    assert_int_equal(admission_count(), 2);
    admission_release(a);
    assert_int_equal(admit(v4("10.0.0.3"), &c), ADMISSION_OK);
    admission_release(b);
    admission_release(c);
    assert_int_equal(admission_count(), 0);
}

static void test_per_address_limit_counts_each_address_apart(void **state)
{
    (void)state;
    admission_init(0, 2);
    uint32_t t[4];
    assert_int_equal(admit(v4("127.0.0.1"), &t[0]), ADMISSION_OK);
    assert_int_equal(admit(v4("127.0.0.1"), &t[1]), ADMISSION_OK);
    assert_int_equal(admit(v4("127.0.0.1"), &t[2]), ADMISSION_ADDRESS_FULL);
    assert_int_equal(admit(v4("127.0.0.2"), &t[2]), ADMISSION_OK);
    assert_int_equal(admission_count(), 3);
    admission_release(t[0]);
    assert_int_equal(admit(v4("127.0.0.1"), &t[3]), ADMISSION_OK);
    admission_release(t[1]);
    admission_release(t[2]);
    admission_release(t[3]);
    assert_int_equal(admission_count(), 0);
}

static void test_v4_mapped_counts_as_v4_and_v6_counts_by_64(void **state)
{
    (void)state;
    admission_init(0, 1);
    uint32_t t[4], refused;
    assert_int_equal(admit(v4("192.0.2.7"), &t[0]), ADMISSION_OK);
    assert_int_equal(admit(v6("::ffff:192.0.2.7"), &refused), ADMISSION_ADDRESS_FULL);
    assert_int_equal(admit(v6("2001:db8:1:2::1"), &t[1]), ADMISSION_OK);
    /* same /64, another host: the same owner as far as the limit goes */
    assert_int_equal(admit(v6("2001:db8:1:2:ffff::9"), &refused), ADMISSION_ADDRESS_FULL);
    assert_int_equal(admit(v6("2001:db8:1:3::1"), &t[2]), ADMISSION_OK);
    /* an IPv4 address whose bytes begin an IPv6 prefix is still another address */
    assert_int_equal(admit(v4("32.1.13.184"), &t[3]), ADMISSION_OK);
    for (int i = 0; i < 4; i++) {
        admission_release(t[i]);
    }
    assert_int_equal(admission_count(), 0);
}

static void test_no_limits_admit_everyone(void **state)
{
    (void)state;
    admission_init(0, 0);
    enum { N = 1000 };
    static uint32_t t[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(admit(v4("127.0.0.1"), &t[i]), ADMISSION_OK);
    }
    assert_int_equal(admission_count(), N);
    for (int i = 0; i < N; i++) {
        admission_release(t[i]);
    }
    assert_int_equal(admission_count(), 0);
}

/* Thousands of addresses force the buckets to grow several times; entries freed are
 * reused, and every address is still found after each growth. */
static void test_many_addresses_grow_and_drain(void **state)
{
    (void)state;
    admission_init(0, 1);
    enum { N = 5000 };
    static uint32_t t[N];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            struct sockaddr_storage ss = v4("10.0.0.0");
            ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(0x0A000000u + (uint32_t)i);
            assert_int_equal(admit(ss, &t[i]), ADMISSION_OK);
        }
        for (int i = 0; i < N; i++) {
            struct sockaddr_storage ss = v4("10.0.0.0");
            ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(0x0A000000u + (uint32_t)i);
            uint32_t refused;
            assert_int_equal(admit(ss, &refused), ADMISSION_ADDRESS_FULL);
        }
        for (int i = 0; i < N; i++) {
            admission_release(t[i]);
        }
        assert_int_equal(admission_count(), 0);
    }
}

#define RACE_THREADS 4
#define RACE_ROUNDS  20000

static void *admit_and_release(void *arg)
{
    (void)arg;
    for (int i = 0; i < RACE_ROUNDS; i++) {
        uint32_t t;
        struct sockaddr_storage ss = v4("127.0.0.1");
        ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(0x7F000001u + (uint32_t)(i % 7));
        if (admit(ss, &t) == ADMISSION_OK) {
            admission_release(t);
        }
    }
    return NULL;
}

static void test_threads_admitting_at_once_keep_the_count_exact(void **state)
{
    (void)state;
    admission_init(3, 2);
    pthread_t th[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, admit_and_release, NULL), 0);
    }
    for (int i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    assert_int_equal(admission_count(), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
    const struct CMUnitTest tests[] = {
        T(test_total_limit_refuses_then_gives_back),
        T(test_per_address_limit_counts_each_address_apart),
        T(test_v4_mapped_counts_as_v4_and_v6_counts_by_64),
        T(test_no_limits_admit_everyone),
        T(test_many_addresses_grow_and_drain),
        T(test_threads_admitting_at_once_keep_the_count_exact),
    };
#undef T
    return cmocka_run_group_tests_name("admission", tests, NULL, NULL);
}
