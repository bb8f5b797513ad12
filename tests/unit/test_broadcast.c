/* test_broadcast.c - unit tests for the order: moves against deliveries
 * (src/server/broadcast.c, with the real loop and connection layers beneath it).
 *
 * A publisher thread floods two rooms with numbered chat lines while the member being
 * tested is moved back and forth between them by its own loop, which runs on the test
 * thread. What the member's peer reads must show the promise of room.h: after each move,
 * the room's history as it stood at the move, then every later line of that room and of
 * no other, nothing missed at the boundary and nothing twice; before its first move, it
 * is in no room and receives nothing. A second test checks that a departed member's
 * pending moves do nothing and that fan-out skips an event's origin. Waits are bounded.
 */
#define _DEFAULT_SOURCE /* usleep() */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "server/broadcast.h"
#include "server/event.h"
#include "server/loop.h"
#include "server/render.h"
#include "server/tcp.h"

#define ROOMS   2
#define HISTORY 3
#define LINES   20000 /* published in all, alternately to each room */

/* ---------------------------------------------------------------- the fake layers above */

static unsigned moves_run, frees;

static void on_nothing(struct client *c)
{
    (void)c;
}
static void on_line(struct client *c, const char *line, size_t len)
{
    (void)c;
    (void)line;
    (void)len;
}
static void on_close(struct client *c, const char *reason)
{
    (void)reason;
    broadcast_depart((struct member *)c);
}
static void on_free(struct client *c)
{
    frees++;
    free(c);
}

static const struct client_handlers client_side = {
    on_nothing, on_line, on_nothing, on_nothing, on_nothing, on_close, on_free,
};

/* The mover is sent "M ROOM H1 H2 ...": the room it entered and the numbers of the
 * history lines it was given, as the line protocol would send a '#' line and history.
 * The move's place in the order comes after every history line's, in rising order. */
static void moved(struct member *m, void *note, struct event *const *history, size_t n,
                  uint64_t seq)
{
    moves_run++;
    struct buf b = BUF_INIT;
    buf_appendf(&b, "M %u", m->room);
    for (size_t i = 0; i < n; i++) {
        buf_appendf(&b, " %s", history[i]->text);
        assert_true(history[i]->seq < seq);
        assert_true(i == 0 || history[i - 1]->seq < history[i]->seq);
    }
    buf_append_char(&b, '\n');
    struct msg *msg = msg_new_lines(b.data, b.len);
    client_send(&m->conn, msg);
    msg_unref(msg);
    buf_release(&b);
    (void)note; /* broadcast.c frees it after the call */
}

static const struct broadcast_handlers order_side = {.moved = moved};

/* ---------------------------------------------------------------- fixture */

static struct loop L;
static int peer = -1;

static int setup(void **state)
{
    (void)state;
    moves_run = frees = 0;
    render_init();
    broadcast_init(1, ROOMS, HISTORY, &order_side);
    client_setup(&client_side, 1, 4096, 1 << 30);
    assert_int_equal(loop_init(&L, 0, &client_loop_hooks), 0);
    broadcast_start(&L, NULL);
    return 0;
}

static struct member *open_member(void)
{
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    peer = fds[1];
    struct member *m = malloc(sizeof(*m));
    member_init(m);
    client_open(&m->conn, &L, fds[0], tcp_open);
    return m;
}

static void close_member(struct member *m)
{
    client_close(&m->conn, "fin");
    for (int i = 0; i < 5000 && frees == 0; i++) {
        uv_run(&L.uv, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_int_equal(frees, 1);
    close(peer);
    loop_stop(&L);
    loop_run(&L);
    assert_int_equal(loop_release(&L), 0);
    client_teardown();
    broadcast_shutdown();
}

/* Reads what the peer has, without waiting. */
static void drain_peer(struct buf *into)
{
    char chunk[65536];
    ssize_t n;
    while ((n = recv(peer, chunk, sizeof(chunk), MSG_DONTWAIT)) > 0) {
        buf_append(into, chunk, (size_t)n);
    }
}

static void publish(uint16_t room, const char *text, uint64_t origin)
{
    char where[8];
    snprintf(where, sizeof(where), "r%u", room);
    struct event_fields f = {.kind = EVENT_CHAT,
                             .room = room,
                             .origin = origin,
                             .who = "p",
                             .who_len = 1,
                             .where = where,
                             .where_len = strlen(where),
                             .text = text,
                             .text_len = strlen(text)};
    broadcast_publish(event_new(&f));
}

/* ---------------------------------------------------------------- the flood */

/* Moves posted so far by the member's loop: the publisher waits for one every MOVE_EVERY
 * lines, so that moves fall among its lines rather than all before or after them. */
#define MOVE_EVERY 100
static atomic_uint moves_posted;

static void *flood(void *arg)
{
    (void)arg;
    unsigned next[ROOMS] = {0};
    for (unsigned i = 0; i < LINES; i++) {
        for (int waited = 0; atomic_load(&moves_posted) <= i / MOVE_EVERY && waited < 5000;
             waited++) {
            usleep(1000);
        }
        uint16_t room = (uint16_t)(i % ROOMS);
        char text[32];
        snprintf(text, sizeof(text), "%u:%u", room, next[room]++);
        publish(room, text, 0);
    }
    publish(EVENT_ALL_ROOMS, "fin", 0); /* reaches the member wherever it is */
    return NULL;
}

/* Checks the peer's transcript against the promise; returns the number of moves seen. */
static unsigned check_transcript(char *text)
{
    int room = -1;    /* no room before the first move */
    long expect = -1; /* the next number due in room, or -1 if any will do */
    unsigned moves = 0;
    bool ended = false;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == 'M') { /* moves posted before "fin" was seen may run after it */
            moves++;
            char *p = line + 2;
            room = (int)strtol(p, &p, 10);
            expect = -1;
            while (*p == ' ') { /* the history: consecutive, of the room entered */
                unsigned r, n;
                assert_int_equal(sscanf(p + 1, "%u:%u", &r, &n), 2);
                assert_int_equal(r, (unsigned)room);
                if (expect >= 0) {
                    assert_int_equal(n, expect);
                }
                expect = n + 1;
                p = strchr(p + 1, ' ') ? strchr(p + 1, ' ') : p + strlen(p);
            }
            continue;
        }
        if (strcmp(line, "> p: fin") == 0) {
            ended = true;
            continue;
        }
        assert_false(ended); /* no line after the last */
        unsigned r, n;
        assert_int_equal(sscanf(line, "> p: %u:%u", &r, &n), 2);
        assert_true(room >= 0);              /* nothing before the first move */
        assert_int_equal(r, (unsigned)room); /* only the room it is in */
        if (expect >= 0) {
            assert_int_equal(n, (unsigned)expect); /* nothing missed, nothing twice */
        }
        expect = n + 1;
    }
    assert_true(ended);
    return moves;
}

static void test_moves_meet_deliveries_exactly(void **state)
{
    (void)state;
    struct member *m = open_member();
    atomic_store(&moves_posted, 0);
    pthread_t publisher;
    assert_int_equal(pthread_create(&publisher, NULL, flood, NULL), 0);
    struct buf transcript = BUF_INIT;
    uint16_t to = 0;
    for (int turn = 0; turn < 200000 && !strstr(transcript.data, "> p: fin\n"); turn++) {
        if (broadcast_can_move(m)) {
            broadcast_move(m, to, malloc(1), free);
            to = (uint16_t)(1 - to);
            atomic_fetch_add(&moves_posted, 1);
        }
        uv_run(&L.uv, UV_RUN_NOWAIT);
        drain_peer(&transcript);
    }
    pthread_join(publisher, NULL);
    assert_non_null(strstr(transcript.data, "> p: fin\n"));
    unsigned seen = check_transcript(transcript.data);
    assert_true(seen >= LINES / MOVE_EVERY); /* moves fell among the lines */
    assert_true(seen <= atomic_load(&moves_posted));
    buf_release(&transcript);
    close_member(m);
}

static void test_departed_member_gets_nothing_and_its_moves_do_nothing(void **state)
{
    (void)state;
    struct member *m = open_member();
    broadcast_move(m, 0, malloc(1), free);
    for (int i = 0; i < 100 && moves_run == 0; i++) {
        uv_run(&L.uv, UV_RUN_NOWAIT);
    }
    assert_int_equal(moves_run, 1);
    publish(0, "mine", m->conn.id); /* its own line: not sent back to it */
    publish(0, "theirs", 0);
    struct buf got = BUF_INIT;
    for (int i = 0; i < 5000 && !strstr(got.data, "theirs"); i++) {
        uv_run(&L.uv, UV_RUN_NOWAIT);
        drain_peer(&got);
        usleep(1000);
    }
    broadcast_move(m, 1, malloc(1), free); /* on its way when the member leaves */
    broadcast_depart(m);
    publish(0, "after", 0);
    for (int i = 0; i < 100; i++) {
        uv_run(&L.uv, UV_RUN_NOWAIT);
    }
    assert_int_equal(moves_run, 1);
    drain_peer(&got);
    assert_string_equal(got.data, "M 0\n> p: theirs\n");
    buf_release(&got);
    close_member(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_moves_meet_deliveries_exactly, setup),
        cmocka_unit_test_setup(test_departed_member_gets_nothing_and_its_moves_do_nothing, setup),
    };
    return cmocka_run_group_tests_name("broadcast", tests, NULL, NULL);
}
