/* test_client_pace.c - unit tests for the client's side of flood control (src/client/pace.c).
 *
 * The client must never be refused by a server with the same burst and rate: checked by
 * running the server's own rule (GCRA: a line is refused when the time its allowance is
 * whole again is more than burst - 1 intervals away) against every line the client lets
 * go, over long runs. Also: the first burst goes at once but for one line kept in reserve,
 * the wait is exact, a reset gives a whole allowance, and 0 turns pacing off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/pace.h"

/* The server's flood_allows() (src/server/session.c), in microseconds. */
struct server_bucket {
    uint64_t tat, interval, burst;
};

static bool server_allows(struct server_bucket *b, uint64_t now)
{
    uint64_t tat = b->tat > now ? b->tat : now;
    if (tat - now > (b->burst - 1) * b->interval) {
        return false;
    }
    b->tat = tat + b->interval;
    return true;
}

static void test_first_lines_go_at_once_but_one_kept_in_reserve(void **state)
{
    (void)state;
    struct pace p;
    pace_init(&p, 10, 5);
    for (int i = 0; i < 9; i++) {
        assert_true(pace_take(&p, 1000));
    }
    assert_false(pace_take(&p, 1000));
    assert_int_equal(pace_wait_us(&p, 1000), 200000);
    assert_false(pace_take(&p, 1000 + 199999));
    assert_true(pace_take(&p, 1000 + 200000));
}

static void test_a_paced_client_is_never_refused(void **state)
{
    (void)state;
    const unsigned bursts[] = {1, 2, 3, 10, 50};
    const unsigned rates[] = {1, 5, 7, 1000};
    for (size_t b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++) {
        for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
            struct pace p;
            pace_init(&p, bursts[b], rates[r]);
            struct server_bucket s = {0, 1000000 / rates[r], bursts[b]};
            uint64_t start = 5000000, now = start, arrived = 0;
            /* Each line reaches the server after a delay of its own, up to 0.9 interval
             * (a tenth of it with a burst of 1, whose interval is stretched by a tenth),
             * in order, since TCP keeps order; every 37 lines the client falls silent for
             * a while, so that a delayed line can find the server's allowance whole and
             * start it later than the client's. Never refused. */
            uint64_t max_delay = bursts[b] > 1 ? s.interval * 9 / 10 : s.interval / 11;
            for (int i = 0; i < 2000; i++) {
                if (i % 37 == 0) {
                    now += 3 * (uint64_t)bursts[b] * s.interval;
                }
                now += pace_wait_us(&p, now);
                assert_true(pace_take(&p, now));
                uint64_t delay = max_delay ? (uint64_t)i * 7919 % max_delay : 0;
                arrived = now + delay > arrived ? now + delay : arrived;
                if (!server_allows(&s, arrived)) {
                    print_error("burst %u, rate %u: line %d refused\n", bursts[b], rates[r], i);
                    fail();
                }
            }
            now -= 2000 / 37 * 3 * (uint64_t)bursts[b] * s.interval; /* the silences */
            /* And not much slower than the server allows: within 11 % of its rate. */
            uint64_t fastest = (2000 - bursts[b]) * s.interval;
            assert_true(now - start <= fastest + fastest / 9 + 60 * s.interval);
        }
    }
}

static void test_wait_is_zero_when_a_line_may_go(void **state)
{
    (void)state;
    struct pace p;
    pace_init(&p, 10, 5);
    assert_int_equal(pace_wait_us(&p, 0), 0);
    assert_true(pace_take(&p, 0));
}

static void test_reset_gives_a_whole_allowance(void **state)
{
    (void)state;
    struct pace p;
    pace_init(&p, 3, 1);
    assert_true(pace_take(&p, 10));
    assert_false(pace_take(&p, 10) && pace_take(&p, 10));
    pace_reset(&p);
    assert_true(pace_take(&p, 10));
}

static void test_zero_turns_pacing_off(void **state)
{
    (void)state;
    struct pace p;
    pace_init(&p, 0, 5);
    for (int i = 0; i < 100000; i++) {
        assert_true(pace_take(&p, 0));
    }
    pace_init(&p, 10, 0);
    assert_int_equal(pace_wait_us(&p, 0), 0);
    assert_true(pace_take(&p, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_lines_go_at_once_but_one_kept_in_reserve),
        cmocka_unit_test(test_a_paced_client_is_never_refused),
        cmocka_unit_test(test_wait_is_zero_when_a_line_may_go),
        cmocka_unit_test(test_reset_gives_a_whole_allowance),
        cmocka_unit_test(test_zero_turns_pacing_off),
    };
    return cmocka_run_group_tests_name("client_pace", tests, NULL, NULL);
}
