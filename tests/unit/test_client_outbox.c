/* test_client_outbox.c - unit tests for the paced queue of lines (src/client/outbox.c).
 *
 * Runs a real uv loop: lines leave in order, at most a burst at once and then at the rate,
 * none while stopped, the front push goes first, a free ride costs no allowance but keeps
 * its place, the waiting count is reported on every change, and closing leaves no handle
 * behind (uv_loop_close() returns 0). The outbox paces by a clock the tests move, so what
 * goes when depends on that clock alone, never on how fast the machine runs the loop; its
 * timer still waits for real. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "client/outbox.h"
#include "common/xalloc.h"

static char sent[64][32];
static int tags[64];
static size_t n_sent;
static size_t last_waiting = SIZE_MAX;
static uint64_t now_us; /* the outbox's clock, moved by the tests */

static uint64_t test_clock(void)
{
    return now_us;
}

static void on_send(const char *line, int tag)
{
    snprintf(sent[n_sent], sizeof(sent[0]), "%s", line);
    tags[n_sent] = tag;
    n_sent++;
}

static void on_change(size_t waiting)
{
    last_waiting = waiting;
}

static int setup(void **state)
{
    (void)state;
    n_sent = 0;
    last_waiting = SIZE_MAX;
    now_us = 1000000;
    return 0;
}

static void new_outbox(uv_loop_t *loop, struct outbox *o, unsigned burst, unsigned rate)
{
    assert_int_equal(uv_loop_init(loop), 0);
    outbox_init(o, loop, burst, rate);
    o->on_send = on_send;
    o->on_change = on_change;
    o->now_us = test_clock;
}

/* Moves the clock by us, then runs the loop until the outbox's timer has come at least once
 * (UV_RUN_ONCE returns after a callback, and the timer is the loop's only handle). */
static void tick(uv_loop_t *loop, uint64_t us)
{
    now_us += us;
    uv_run(loop, UV_RUN_ONCE);
}

static void close_outbox(uv_loop_t *loop, struct outbox *o)
{
    outbox_close(o);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_lines_wait_until_started_then_leave_in_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct outbox o;
    new_outbox(&loop, &o, 0, 0); /* no pacing */
    outbox_push(&o, xstrdup("un"), 1, false);
    outbox_push(&o, xstrdup("deux"), 2, false);
    assert_int_equal(n_sent, 0);
    assert_int_equal(last_waiting, 2);
    outbox_start(&o);
    assert_int_equal(n_sent, 2);
    assert_string_equal(sent[0], "un");
    assert_string_equal(sent[1], "deux");
    assert_int_equal(tags[1], 2);
    assert_int_equal(last_waiting, 0);
    close_outbox(&loop, &o);
}

static void test_a_burst_goes_at_once_then_the_rest_at_the_rate(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct outbox o;
    new_outbox(&loop, &o, 4, 50); /* 4 at once, then one every 20 ms, one kept in reserve */
    outbox_start(&o);
    for (int i = 0; i < 8; i++) {
        char line[16];
        snprintf(line, sizeof(line), "%d", i);
        outbox_push(&o, xstrdup(line), 0, false);
    }
    assert_int_equal(n_sent, 3);
    assert_int_equal(last_waiting, 5);
    /* The timer sends the rest, each 20 ms after the one before and not a microsecond
     * sooner, then nothing is left. */
    for (size_t i = 3; i < 8; i++) {
        tick(&loop, 20000 - 1);
        assert_int_equal(n_sent, i);
        tick(&loop, 1);
        assert_int_equal(n_sent, i + 1);
    }
    assert_false(uv_is_active((uv_handle_t *)&o.timer)); /* nothing left to wait for */
    for (int i = 0; i < 8; i++) {
        char want[16];
        snprintf(want, sizeof(want), "%d", i);
        assert_string_equal(sent[i], want);
    }
    assert_int_equal(last_waiting, 0);
    close_outbox(&loop, &o);
}

static void test_stopped_lines_wait_for_the_next_start(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct outbox o;
    new_outbox(&loop, &o, 0, 0);
    outbox_start(&o);
    outbox_stop(&o);
    outbox_push(&o, xstrdup("hors ligne"), 0, false);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(n_sent, 0);
    outbox_push_front(&o, xstrdup("/join jeux"), 0);
    outbox_start(&o);
    assert_int_equal(n_sent, 2);
    assert_string_equal(sent[0], "/join jeux"); /* the front push went first */
    assert_string_equal(sent[1], "hors ligne");
    close_outbox(&loop, &o);
}

static void test_a_free_ride_keeps_its_place_but_costs_nothing(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct outbox o;
    new_outbox(&loop, &o, 3, 10); /* 2 at once, then one every 100 ms */
    outbox_start(&o);
    outbox_push(&o, xstrdup("a"), 0, false);
    outbox_push(&o, xstrdup("b"), 0, false);
    outbox_push(&o, xstrdup("c"), 0, false);
    outbox_push(&o, xstrdup("/quit"), 0, true);
    assert_int_equal(n_sent, 2); /* "c" waits for its turn, "/quit" behind it */
    tick(&loop, 100000);         /* "c"'s turn, and not a microsecond more */
    assert_int_equal(n_sent, 4);
    assert_string_equal(sent[2], "c");
    assert_string_equal(sent[3], "/quit"); /* right after "c", no wait of its own */
    outbox_push(&o, xstrdup("d"), 0, false);
    tick(&loop, 100000 - 1);
    assert_int_equal(n_sent, 4);
    tick(&loop, 1); /* one interval after "c": "/quit" took no allowance */
    assert_int_equal(n_sent, 5);
    assert_string_equal(sent[4], "d");
    close_outbox(&loop, &o);
}

static void test_close_drops_what_is_waiting(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct outbox o;
    new_outbox(&loop, &o, 0, 0);
    for (int i = 0; i < 40; i++) {
        outbox_push(&o, xstrdup("jamais envoyée"), 0, false); /* the ring grows past 16 */
    }
    assert_int_equal(outbox_waiting(&o), 40);
    close_outbox(&loop, &o); /* ASan reports any line not freed */
    assert_int_equal(n_sent, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_lines_wait_until_started_then_leave_in_order, setup),
        cmocka_unit_test_setup(test_a_burst_goes_at_once_then_the_rest_at_the_rate, setup),
        cmocka_unit_test_setup(test_stopped_lines_wait_for_the_next_start, setup),
        cmocka_unit_test_setup(test_a_free_ride_keeps_its_place_but_costs_nothing, setup),
        cmocka_unit_test_setup(test_close_drops_what_is_waiting, setup),
    };
    return cmocka_run_group_tests_name("client_outbox", tests, NULL, NULL);
}
