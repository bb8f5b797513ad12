/* test_loop.c - unit tests for the loops' inbox, hooks and deadlines (src/server/loop.c).
 *
 * The inbox is the one place threads meet a loop: several sender threads post numbered
 * entries to a running loop thread, which must run every entry once, each sender's in the
 * order sent (run under TSan by `make test`, which would report a race). Entries that come
 * after the loop stopped are dropped, never run, even when a drop posts to another loop.
 * Deadlines fire once, a sweep later at
 * most, and not at all once cleared or moved away. Every test ends with the loop released
 * and uv_loop_close() returning 0: no handle leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "server/loop.h"

/* ---------------------------------------------------------------- fake layer above */

static unsigned before_sleeps;
static struct loop_deadline *fired[8];
static unsigned n_fired;

static void count_before_sleep(struct loop *l)
{
    (void)l;
    before_sleeps++;
}

static void record_deadline(struct loop *l, struct loop_deadline *d)
{
    (void)l;
    if (n_fired < 8) {
        fired[n_fired] = d;
    }
    n_fired++;
}

static const struct loop_hooks hooks = {count_before_sleep, record_deadline};

static int reset(void **state)
{
    (void)state;
    before_sleeps = 0;
    n_fired = 0;
    return 0;
}

/* ---------------------------------------------------------------- entries */

#define SENDERS    4
#define PER_SENDER 20000

struct item {
    unsigned sender, seq;
};

/* Written by the loop thread only, read after it is joined. */
static unsigned next_seq[SENDERS];
static unsigned ran, dropped, out_of_order;

static void run_item(struct loop *l, void *arg)
{
    (void)l;
    struct item *it = arg;
    if (it->seq != next_seq[it->sender]) {
        out_of_order++;
    }
    next_seq[it->sender] = it->seq + 1;
    ran++;
    free(it);
}

/* The loop thread drops while stopping; the main thread drops what is left at release,
 * once the loop thread is joined: never both at once. */
static void drop_item(void *arg)
{
    dropped++;
    free(arg);
}

static const struct loop_task item_task = {run_item, drop_item};

static void run_stop(struct loop *l, void *arg)
{
    (void)arg;
    loop_stop(l);
}

static void drop_nothing(void *arg)
{
    (void)arg;
}

static const struct loop_task stop_task = {run_stop, drop_nothing};

struct sender {
    struct loop *l;
    unsigned id;
    pthread_t thread;
};

static void *send_items(void *arg)
{
    struct sender *s = arg;
    for (unsigned i = 0; i < PER_SENDER; i++) {
        struct item *it = malloc(sizeof(*it));
        *it = (struct item){s->id, i};
        loop_send(s->l, &item_task, it);
    }
    return NULL;
}

static void test_inbox_runs_every_entry_once_in_each_senders_order(void **state)
{
    (void)state;
    struct loop l;
    assert_int_equal(loop_init(&l, 0, &hooks), 0);
    assert_int_equal(loop_start(&l), 0);
    struct sender senders[SENDERS];
    for (unsigned i = 0; i < SENDERS; i++) {
        senders[i] = (struct sender){&l, i, 0};
        assert_int_equal(pthread_create(&senders[i].thread, NULL, send_items, &senders[i]), 0);
    }
    for (unsigned i = 0; i < SENDERS; i++) {
        pthread_join(senders[i].thread, NULL);
    }
    loop_send(&l, &stop_task, NULL); /* after every item: each sender's last was posted */
    loop_join(&l);
    assert_int_equal(ran, SENDERS * PER_SENDER);
    assert_int_equal(out_of_order, 0);
    assert_int_equal(dropped, 0);
    for (unsigned i = 0; i < SENDERS; i++) {
        assert_int_equal(next_seq[i], PER_SENDER);
    }
    assert_true(before_sleeps > 0); /* the hook ran between turns */
    assert_int_equal(loop_release(&l), 0);
}

static void test_entries_after_the_stop_are_dropped_not_run(void **state)
{
    (void)state;
    ran = dropped = 0;
    struct loop l;
    assert_int_equal(loop_init(&l, 0, &hooks), 0);
    loop_send(&l, &stop_task, NULL);
    for (unsigned i = 0; i < 10; i++) {
        struct item *it = malloc(sizeof(*it));
        *it = (struct item){0, i};
        loop_send(&l, &item_task, it);
    }
    assert_int_equal(loop_start(&l), 0);
    loop_join(&l);
    struct item *late = malloc(sizeof(*late)); /* posted once the thread has returned */
    *late = (struct item){0, 10};
    loop_post(&l, &item_task, late);
    assert_int_equal(loop_drop_pending(&l), 1);
    assert_int_equal(loop_drop_pending(&l), 0);
    assert_int_equal(loop_release(&l), 0);
    assert_int_equal(ran, 0);
    assert_int_equal(dropped, 11);
}

/* An entry whose drop hands it on to another loop, as a login dropped on the loop of the
 * connection it replaces goes back to its own connection's loop. */
static struct loop *hand_on_to;

static void drop_handed_on(void *arg)
{
    loop_send(hand_on_to, &item_task, arg);
}

static const struct loop_task handed_on_task = {run_item, drop_handed_on};

static void test_a_drop_that_posts_to_a_drained_loop_is_dropped_before_release(void **state)
{
    (void)state;
    ran = dropped = 0;
    struct loop a, b;
    assert_int_equal(loop_init(&a, 0, &hooks), 0);
    assert_int_equal(loop_init(&b, 1, &hooks), 0);
    struct item *it = malloc(sizeof(*it));
    *it = (struct item){0, 0};
    hand_on_to = &a;
    loop_post(&b, &handed_on_task, it);
    /* The main thread's round, as at the server's teardown: a is drained before b's drop
     * posts to it, so one more round is needed, and then nothing is left. */
    assert_int_equal(loop_drop_pending(&a) + loop_drop_pending(&b), 1);
    assert_int_equal(dropped, 0);
    assert_int_equal(loop_drop_pending(&a) + loop_drop_pending(&b), 1);
    assert_int_equal(dropped, 1);
    assert_int_equal(loop_drop_pending(&a) + loop_drop_pending(&b), 0);
    loop_stop(&a);
    loop_run(&a);
    loop_stop(&b);
    loop_run(&b);
    assert_int_equal(loop_release(&a), 0);
    assert_int_equal(loop_release(&b), 0);
    assert_int_equal(ran, 0);
}

/* ---------------------------------------------------------------- deadlines */

/* Runs l until n deadlines have fired, or for `sweeps` sweeps at most. */
static void run_sweeps(struct loop *l, unsigned sweeps, unsigned n)
{
    for (unsigned i = 0; i < sweeps && n_fired < n; i++) {
        uv_run(&l->uv, UV_RUN_ONCE);
    }
}

static void finish(struct loop *l)
{
    loop_stop(l);
    loop_run(l);
    assert_int_equal(loop_release(l), 0);
}

static void test_deadline_fires_once(void **state)
{
    (void)state;
    struct loop l;
    assert_int_equal(loop_init(&l, 0, &hooks), 0);
    struct loop_deadline d;
    loop_deadline_init(&d);
    loop_set_deadline(&l, &d, 0);
    run_sweeps(&l, 4, 1);
    assert_int_equal(n_fired, 1);
    assert_ptr_equal(fired[0], &d);
    assert_int_equal(d.index, SET_NO_INDEX);             /* no longer set */
    assert_false(uv_is_active((uv_handle_t *)&l.sweep)); /* nothing left to sweep for */
    finish(&l);
}

static void test_cleared_deadline_never_fires(void **state)
{
    (void)state;
    struct loop l;
    assert_int_equal(loop_init(&l, 0, &hooks), 0);
    struct loop_deadline cleared, kept;
    loop_deadline_init(&cleared);
    loop_deadline_init(&kept);
    loop_set_deadline(&l, &cleared, 0);
    loop_set_deadline(&l, &kept, 0);
    loop_clear_deadline(&l, &cleared);
    run_sweeps(&l, 4, 1);
    assert_int_equal(n_fired, 1);
    assert_ptr_equal(fired[0], &kept);
    finish(&l);
}

static void test_deadline_set_again_moves(void **state)
{
    (void)state;
    struct loop l;
    assert_int_equal(loop_init(&l, 0, &hooks), 0);
    struct loop_deadline moved, soon;
    loop_deadline_init(&moved);
    loop_deadline_init(&soon);
    loop_set_deadline(&l, &moved, 0);
    loop_set_deadline(&l, &moved, 3600 * 1000); /* an hour away now */
    loop_set_deadline(&l, &soon, 0);
    run_sweeps(&l, 4, 1);
    assert_int_equal(n_fired, 1);
    assert_ptr_equal(fired[0], &soon);
    loop_clear_deadline(&l, &moved);
    finish(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_inbox_runs_every_entry_once_in_each_senders_order, reset),
        cmocka_unit_test_setup(test_entries_after_the_stop_are_dropped_not_run, reset),
        cmocka_unit_test_setup(test_a_drop_that_posts_to_a_drained_loop_is_dropped_before_release,
                               reset),
        cmocka_unit_test_setup(test_deadline_fires_once, reset),
        cmocka_unit_test_setup(test_cleared_deadline_never_fires, reset),
        cmocka_unit_test_setup(test_deadline_set_again_moves, reset),
    };
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
