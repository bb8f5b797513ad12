/* test_connection.c - unit tests for one connection (src/server/client.c), alone.
 *
 * The connection layer links and runs without the layers above: these tests install a
 * handler table of their own that counts every upcall, open clients on one end of a Unix
 * socketpair and play the peer on the other end, and run a real loop on the test thread.
 * They cover reading and framing, the output queue and its batching (counted through the
 * transport interface: one write per turn), the backlog limit, closing, finishing, holds
 * and deadlines. Every test ends with the loop stopped and uv_loop_close() returning 0:
 * no handle leaked; every client's memory is freed by its on_free handler, exactly once.
 * Waits are bounded: each spins the loop for at most SPIN_LIMIT_MS.
 */
#define _DEFAULT_SOURCE /* usleep() */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fr.h"
#include "server/client.h"
#include "server/loop.h"
#include "server/msg.h"
#include "server/tcp.h"

#define MAX_LINE      64
#define MAX_BACKLOG   4096
#define SPIN_LIMIT_MS 5000

/* ---------------------------------------------------------------- the fake layer above */

static struct {
    unsigned opened, lines, overlong, read_done, deadlines, closes, frees;
    bool close_reason_null;
    char close_reason[128];
    struct buf got; /* each line, then '|' */
} seen;

static void on_open(struct client *c)
{
    (void)c;
    seen.opened++;
}

static void on_line(struct client *c, const char *line, size_t len)
{
    (void)c;
    seen.lines++;
    buf_append(&seen.got, line, len);
    buf_append_char(&seen.got, '|');
}

static void on_overlong(struct client *c)
{
    (void)c;
    seen.overlong++;
}

static void on_read_done(struct client *c)
{
    (void)c;
    seen.read_done++;
}

static void on_deadline(struct client *c)
{
    (void)c;
    seen.deadlines++;
}

static void on_close(struct client *c, const char *reason)
{
    (void)c;
    seen.closes++;
    seen.close_reason_null = reason == NULL;
    snprintf(seen.close_reason, sizeof(seen.close_reason), "%s", reason ? reason : "");
}

static void on_free(struct client *c)
{
    seen.frees++;
    free(c);
}

static const struct client_handlers handlers = {
    on_open, on_line, on_overlong, on_read_done, on_deadline, on_close, on_free,
};

/* ---------------------------------------------------------------- fixture */

static struct loop L;
static int peer = -1; /* our end of the socketpair: the "remote" side */

static int setup(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof(seen));
    buf_init(&seen.got);
    client_setup(&handlers, 1, MAX_LINE, MAX_BACKLOG);
    return loop_init(&L, 0, &client_loop_hooks);
}

/* Runs the loop without blocking until done() holds, for SPIN_LIMIT_MS at most. */
static bool spin(bool (*done)(void))
{
    for (int i = 0; i < SPIN_LIMIT_MS; i++) {
        uv_run(&L.uv, UV_RUN_NOWAIT);
        if (done()) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

static bool freed(void)
{
    return seen.frees == seen.opened;
}

static int teardown(void **state)
{
    (void)state;
    if (peer >= 0) {
        close(peer);
        peer = -1;
    }
    assert_true(spin(freed)); /* a client the test left open closes at the peer's EOF */
    loop_stop(&L);
    loop_run(&L);
    assert_int_equal(loop_release(&L), 0);
    client_teardown();
    buf_release(&seen.got);
    return 0;
}

/* A client on one end of a new socketpair, the peer on the other. With small, the socket
 * buffers are as small as the kernel allows, so that a peer that does not read fills them
 * soon. */
static struct client *open_client(bool small)
{
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    if (small) {
        int size = 1;
        setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fds[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* every read is bounded */
    peer = fds[1];
    struct client *c = malloc(sizeof(*c));
    client_open(c, &L, fds[0], tcp_open);
    assert_int_equal(seen.opened, 1);
    return c;
}

static void peer_write(const char *s)
{
    assert_int_equal(write(peer, s, strlen(s)), (ssize_t)strlen(s));
}

/* Reads from the peer until want bytes came, and compares them. */
static void peer_expect(const char *want)
{
    size_t len = strlen(want), got = 0;
    char buf[8192];
    assert_true(len < sizeof(buf));
    while (got < len) {
        uv_run(&L.uv, UV_RUN_NOWAIT); /* the loop may still have a write to finish */
        ssize_t n = recv(peer, buf + got, len - got, MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN) {
            usleep(1000);
            continue;
        }
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_memory_equal(buf, want, len);
}

static struct msg *line(const char *text)
{
    return msg_new('>', text, strlen(text));
}

/* A 511-byte line of c's: enough for a few to fill the smallest socket buffers. */
#define BIG_LINE 512
static void big_line(char text[BIG_LINE], char c)
{
    memset(text, c, BIG_LINE - 1);
    text[BIG_LINE - 1] = '\0';
}

/* Sends m to c and drops the caller's reference: c's queue holds the one left. */
static void send_line(struct client *c, const char *text)
{
    struct msg *m = line(text);
    client_send(c, m);
    msg_unref(m);
}

/* ---------------------------------------------------------------- counting writes */

static const struct transport_ops *real_ops;
static struct transport_ops counting_ops;
static struct transport_layer counting_layer;
static unsigned try_writes;

static int count_try_write(struct transport *t, const uv_buf_t *bufs, unsigned n)
{
    try_writes++;
    return real_ops->try_write(t, bufs, n);
}

/* Routes c's writes through a counter: the transport interface is the seam. */
static void count_writes(struct client *c)
{
    real_ops = transport_ops(&c->t);
    counting_ops = *real_ops;
    counting_ops.try_write = count_try_write;
    /* tcp.data is the top layer, so the counter is a layer of its own: the socket's
     * operations with one of them wrapped. */
    counting_layer = *(const struct transport_layer *)c->t.tcp.data;
    counting_layer.ops = &counting_ops;
    c->t.tcp.data = &counting_layer;
    try_writes = 0;
}

/* ---------------------------------------------------------------- reading */

static bool three_lines(void)
{
    return seen.lines >= 3;
}

static void test_lines_reach_the_handler_in_order(void **state)
{
    (void)state;
    open_client(false);
    peer_write("un\nde");
    peer_write("ux\ntrois\n");
    assert_true(spin(three_lines));
    assert_string_equal(seen.got.data, "un|deux|trois|");
    assert_true(seen.read_done >= 1);
}

static bool one_line(void)
{
    return seen.lines >= 1;
}

static void test_overlong_line_is_reported_once_and_skipped(void **state)
{
    (void)state;
    open_client(false);
    char big[MAX_LINE * 3 + 2];
    memset(big, 'x', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    peer_write(big);
    peer_write("ok\n");
    assert_true(spin(one_line));
    assert_int_equal(seen.overlong, 1);
    assert_string_equal(seen.got.data, "ok|");
}

static bool read_once(void)
{
    return seen.read_done >= 1;
}

static void test_hold_parks_input_until_the_last_unhold(void **state)
{
    (void)state;
    struct client *c = open_client(false);
    client_hold(c);
    client_hold(c);
    peer_write("a\nb\n");
    assert_true(spin(read_once));
    assert_int_equal(seen.lines, 0); /* parked, unread */
    client_unhold(c);
    assert_int_equal(seen.lines, 0);
    client_unhold(c);
    assert_string_equal(seen.got.data, "a|b|");
}

static bool closed(void)
{
    return seen.closes >= 1;
}

static void test_peer_eof_closes_with_a_reason(void **state)
{
    (void)state;
    open_client(false);
    close(peer);
    peer = -1;
    assert_true(spin(closed));
    assert_false(seen.close_reason_null);
    assert_string_equal(seen.close_reason, fr_strerror(UV_EOF));
    assert_true(spin(freed));
    assert_int_equal(seen.frees, 1);
}

static void test_eof_while_held_handles_the_last_lines_first(void **state)
{
    (void)state;
    struct client *c = open_client(false);
    client_hold(c);
    peer_write("dernier\n");
    shutdown(peer, SHUT_WR);
    assert_true(spin(read_once));
    for (int i = 0; i < 20; i++) {
        uv_run(&L.uv, UV_RUN_NOWAIT); /* the EOF arrives; nothing may close yet */
    }
    assert_int_equal(seen.closes, 0);
    client_unhold(c);
    assert_string_equal(seen.got.data, "dernier|");
    assert_int_equal(seen.closes, 1);
}

/* ---------------------------------------------------------------- writing */

static void test_a_turns_output_leaves_in_one_write(void **state)
{
    (void)state;
    struct client *c = open_client(false);
    count_writes(c);
    send_line(c, "a");
    send_line(c, "b");
    send_line(c, "c");
    assert_int_equal(try_writes, 0); /* queueing makes no system call */
    uv_run(&L.uv, UV_RUN_NOWAIT);    /* the turn ends: the flush */
    assert_int_equal(try_writes, 1);
    peer_expect("> a\n> b\n> c\n");
}

static void test_past_iov_max_the_next_batch_follows_at_once(void **state)
{
    (void)state;
    struct client *c = open_client(false);
    count_writes(c);
    struct buf want = BUF_INIT;
    for (int i = 0; i < WRITE_BATCH_MAX + 10; i++) {
        char text[8];
        snprintf(text, sizeof(text), "%d", i % 10);
        send_line(c, text);
        buf_appendf(&want, "> %s\n", text);
    }
    uv_run(&L.uv, UV_RUN_NOWAIT);
    assert_int_equal(try_writes, 2);
    peer_expect(want.data);
    buf_release(&want);
}

static void test_a_message_is_shared_not_copied(void **state)
{
    (void)state;
    struct client *c = open_client(false);
    struct msg *m = line("partagé");
    assert_true(client_queue(c, m)); /* the caller adds the reference: the fan-out's way */
    msg_ref(m);
    assert_int_equal(atomic_load(&m->refs), 2);
    uv_run(&L.uv, UV_RUN_NOWAIT); /* written; the reference goes back at the next turn */
    uv_run(&L.uv, UV_RUN_NOWAIT);
    assert_int_equal(atomic_load(&m->refs), 1);
    msg_unref(m);
    peer_expect("> partagé\n");
}

static void test_backlog_limit_drops_a_client_that_does_not_read(void **state)
{
    (void)state;
    struct client *c = open_client(true);
    char text[BIG_LINE];
    big_line(text, 'x');
    for (int turn = 0; turn < 10000 && seen.closes == 0; turn++) {
        send_line(c, text);
        uv_run(&L.uv, UV_RUN_NOWAIT);
    }
    assert_int_equal(seen.closes, 1);
    assert_non_null(strstr(seen.close_reason, "trop de retard"));
    assert_true(spin(freed));
}

static void test_close_drops_the_queue_and_frees_once(void **state)
{
    (void)state;
    struct client *c = open_client(false);
    struct msg *m = line("jamais envoyé");
    client_send(c, m);
    client_send(c, m);
    assert_int_equal(atomic_load(&m->refs), 3);
    client_close(c, "au revoir");
    client_close(c, "deux fois"); /* a second close changes nothing */
    assert_int_equal(seen.closes, 1);
    assert_string_equal(seen.close_reason, "au revoir");
    assert_false(client_send(c, m)); /* closing: nothing more is queued */
    assert_true(spin(freed));
    assert_int_equal(seen.frees, 1);
    assert_int_equal(atomic_load(&m->refs), 1); /* the queue's references were dropped */
    msg_unref(m);
}

static void test_finish_writes_everything_then_closes(void **state)
{
    (void)state;
    struct client *c = open_client(false);
    send_line(c, "dernier mot");
    client_finish(c, 10000);
    assert_false(client_is_open(c));
    assert_true(spin(freed));
    assert_true(seen.close_reason_null); /* the layer above said its goodbyes already */
    peer_expect("> dernier mot\n");
    char b;
    assert_int_equal(recv(peer, &b, 1, 0), 0); /* then the end */
}

static void test_finishing_still_takes_the_last_answers(void **state)
{
    (void)state;
    struct client *c = open_client(false);
    send_line(c, "réponse");
    client_finish(c, 10000);
    struct msg *m = line("et la dernière");
    assert_true(client_send(c, m)); /* queued before the shutdown began: it goes out */
    msg_unref(m);
    assert_true(spin(freed));
    peer_expect("> réponse\n> et la dernière\n");
}

static void test_finish_closes_a_peer_that_does_not_read_at_its_deadline(void **state)
{
    (void)state;
    struct client *c = open_client(true);
    char text[BIG_LINE];
    big_line(text, 'y');
    for (int turn = 0; turn < 1000 && !c->writing; turn++) {
        send_line(c, text); /* until the socket is full and a write waits for room */
        uv_run(&L.uv, UV_RUN_NOWAIT);
    }
    assert_true(c->writing);
    assert_int_equal(seen.closes, 0); /* still within the backlog */
    client_finish(c, 0);
    assert_true(spin(freed)); /* at the next sweep */
    assert_int_equal(seen.closes, 1);
}

/* ---------------------------------------------------------------- deadlines */

static bool deadline_seen(void)
{
    return seen.deadlines >= 1;
}

static void test_deadline_calls_the_handler(void **state)
{
    (void)state;
    struct client *c = open_client(false);
    client_set_deadline(c, 0);
    assert_true(spin(deadline_seen));
    assert_int_equal(seen.deadlines, 1);
    assert_int_equal(seen.closes, 0); /* what to do is the layer above's call */
}

static void test_cleared_deadline_does_not_call_it(void **state)
{
    (void)state;
    struct client *c = open_client(false);
    client_set_deadline(c, 0);
    client_clear_deadline(c);
    client_set_deadline(c, 3600 * 1000);
    peer_write("x\n");
    assert_true(spin(one_line)); /* the loop ran */
    for (int i = 0; i < 300; i++) {
        uv_run(&L.uv, UV_RUN_NOWAIT);
        usleep(1000); /* past a sweep */
    }
    assert_int_equal(seen.deadlines, 0);
    client_clear_deadline(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lines_reach_the_handler_in_order),
        T(test_overlong_line_is_reported_once_and_skipped),
        T(test_hold_parks_input_until_the_last_unhold),
        T(test_peer_eof_closes_with_a_reason),
        T(test_eof_while_held_handles_the_last_lines_first),
        T(test_a_turns_output_leaves_in_one_write),
        T(test_past_iov_max_the_next_batch_follows_at_once),
        T(test_a_message_is_shared_not_copied),
        T(test_backlog_limit_drops_a_client_that_does_not_read),
        T(test_close_drops_the_queue_and_frees_once),
        T(test_finish_writes_everything_then_closes),
        T(test_finishing_still_takes_the_last_answers),
        T(test_finish_closes_a_peer_that_does_not_read_at_its_deadline),
        T(test_deadline_calls_the_handler),
        T(test_cleared_deadline_does_not_call_it),
    };
    return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
