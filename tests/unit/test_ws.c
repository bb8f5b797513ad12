/* test_ws.c - unit tests for the web port's WebSocket frames (src/server/ws.c).
 *
 * Client frames are built here, masked as a browser's are, and fed whole and one byte at a
 * time: the text handed over, the message ends, and the control frames the server sends
 * back (pongs, closes with their codes) are checked byte for byte, as are the headers of
 * the server's own frames at each length boundary. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "server/ws.h"

/* What the owner saw: text with '|' at each message's end, and the bytes sent. */
struct seen {
    struct buf text;
    struct buf sent;
    size_t send_room; /* bytes the next send may take; SIZE_MAX: all */
};

static void on_text(void *arg, const char *data, size_t len)
{
    struct seen *s = arg;
    assert_true(len > 0);
    buf_append(&s->text, data, len);
}

static void on_text_end(void *arg)
{
    struct seen *s = arg;
    buf_append(&s->text, "|", 1);
}

static ssize_t on_send(void *arg, const uint8_t *data, size_t len)
{
    struct seen *s = arg;
    size_t n = len < s->send_room ? len : s->send_room;
    buf_append(&s->sent, (const char *)data, n);
    if (s->send_room != SIZE_MAX) {
        s->send_room -= n;
    }
    return (ssize_t)n;
}

static const struct ws_handlers handlers = {on_text, on_text_end, on_send};

/* Appends a client frame: fin, opcode, payload, masked with a fixed key unless unmasked. */
static void client_frame(struct buf *out, bool fin, uint8_t opcode, const char *payload, size_t len,
                         bool masked)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t head[14];
    size_t h = 0;
    head[h++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    uint8_t mask_bit = masked ? 0x80 : 0;
    if (len < 126) {
        head[h++] = (uint8_t)(mask_bit | len);
    } else if (len <= 0xFFFF) {
        head[h++] = mask_bit | 126;
        head[h++] = (uint8_t)(len >> 8);
        head[h++] = (uint8_t)len;
    } else {
        head[h++] = mask_bit | 127;
        for (int i = 7; i >= 0; i--) {
            head[h++] = (uint8_t)((uint64_t)len >> (8 * i));
        }
    }
    if (masked) {
        memcpy(head + h, key, 4);
        h += 4;
    }
    buf_append(out, (const char *)head, h);
    for (size_t i = 0; i < len; i++) {
        char c = masked ? (char)(payload[i] ^ key[i % 4]) : payload[i];
        buf_append(out, &c, 1);
    }
}

static void text_frame(struct buf *out, const char *text)
{
    client_frame(out, true, 1, text, strlen(text), true);
}

struct fixture {
    struct ws ws;
    struct seen seen;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    buf_init(&f->seen.text);
    buf_init(&f->seen.sent);
    f->seen.send_room = SIZE_MAX;
    assert_int_equal(ws_init(&f->ws, &handlers, &f->seen), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ws_release(&f->ws);
    buf_release(&f->seen.text);
    buf_release(&f->seen.sent);
    free(f);
    return 0;
}

/* Feeds in whole (step 0) or step bytes at a time; returns the last result. */
static int feed(struct fixture *f, const struct buf *in, size_t step)
{
    int r = 0;
    for (size_t off = 0; off < in->len && r == 0;) {
        size_t n = step == 0 || in->len - off < step ? in->len - off : step;
        r = ws_feed(&f->ws, in->data + off, n);
        off += n;
    }
    return r;
}

static void assert_text(const struct fixture *f, const char *want)
{
    assert_int_equal(f->seen.text.len, strlen(want));
    assert_memory_equal(f->seen.text.data, want, f->seen.text.len);
}

/* The server's close frame with code: unmasked, two bytes of payload. */
static void assert_sent_close(const struct fixture *f, size_t at, uint16_t code)
{
    assert_true(f->seen.sent.len >= at + 4);
    const uint8_t *p = (const uint8_t *)f->seen.sent.data + at;
    assert_int_equal(p[0], 0x88);
    assert_int_equal(p[1], 2);
    assert_int_equal((p[2] << 8) | p[3], code);
}

static void test_text_messages_are_handed_over_unmasked(void **state)
{
    for (size_t step = 0; step < 3; step++) {
        setup(state);
        struct fixture *f = *state;
        struct buf in = BUF_INIT;
        text_frame(&in, "bonjour");
        text_frame(&in, "à tous");
        text_frame(&in, "");
        assert_int_equal(feed(f, &in, step), 0);
        assert_text(f, "bonjour|à tous||");
        assert_int_equal(f->seen.sent.len, 0);
        buf_release(&in);
        teardown(state);
    }
}

static void test_a_long_message_with_a_16_and_a_64_bit_length(void **state)
{
    struct fixture *f = *state;
    size_t lens[] = {126, 65535, 70000};
    struct buf want = BUF_INIT;
    struct buf in = BUF_INIT;
    for (size_t i = 0; i < 3; i++) {
        char *text = malloc(lens[i]);
        memset(text, 'a' + (int)i, lens[i]);
        client_frame(&in, true, 1, text, lens[i], true);
        buf_append(&want, text, lens[i]);
        buf_append(&want, "|", 1);
        free(text);
    }
    assert_int_equal(feed(f, &in, 0), 0);
    assert_int_equal(f->seen.text.len, want.len);
    assert_memory_equal(f->seen.text.data, want.data, want.len);
    buf_release(&in);
    buf_release(&want);
}

static void test_fragments_with_a_ping_between_make_one_message_and_a_pong(void **state)
{
    for (size_t step = 0; step < 2; step++) {
        setup(state);
        struct fixture *f = *state;
        struct buf in = BUF_INIT;
        client_frame(&in, false, 1, "bon", 3, true);
        client_frame(&in, true, 9, "tic", 3, true);
        client_frame(&in, false, 0, "jour ", 5, true);
        client_frame(&in, true, 0, "à tous", strlen("à tous"), true);
        assert_int_equal(feed(f, &in, step), 0);
        assert_text(f, "bonjour à tous|");
        static const char pong[] = "\x8a\x03tic";
        assert_int_equal(f->seen.sent.len, 5);
        assert_memory_equal(f->seen.sent.data, pong, 5);
        buf_release(&in);
        teardown(state);
    }
}

static void test_an_unmasked_frame_is_closed_with_1002(void **state)
{
    struct fixture *f = *state;
    struct buf in = BUF_INIT;
    text_frame(&in, "avant");
    client_frame(&in, true, 1, "en clair", 8, false);
    text_frame(&in, "après");
    assert_int_equal(feed(f, &in, 0), -EPROTO);
    assert_text(f, "avant|");
    assert_sent_close(f, 0, 1002);
    assert_true(ws_over(&f->ws));
    buf_release(&in);
}

static void test_a_binary_message_is_closed_with_1003_before_its_payload(void **state)
{
    struct fixture *f = *state;
    struct buf in = BUF_INIT;
    client_frame(&in, true, 2, "\x00\x01\x02", 3, true);
    text_frame(&in, "après");
    assert_int_equal(feed(f, &in, 0), -EPROTO);
    assert_text(f, "");
    assert_sent_close(f, 0, 1003);
    buf_release(&in);
}

static void test_text_that_is_not_utf8_is_closed_with_1007(void **state)
{
    struct fixture *f = *state;
    struct buf in = BUF_INIT;
    client_frame(&in, true, 1, "\xff\xfe", 2, true);
    assert_int_equal(feed(f, &in, 0), -EPROTO);
    assert_sent_close(f, 0, 1007);
    buf_release(&in);
}

static void test_a_close_frame_is_answered_with_its_code(void **state)
{
    struct fixture *f = *state;
    struct buf in = BUF_INIT;
    text_frame(&in, "au revoir");
    client_frame(&in, true, 8, "\x03\xe9", 2, true); /* 1001 */
    assert_int_equal(feed(f, &in, 0), -EPIPE);
    assert_text(f, "au revoir|");
    assert_sent_close(f, 0, 1001);
    buf_release(&in);
}

static void test_control_frames_wait_while_the_socket_is_full(void **state)
{
    struct fixture *f = *state;
    f->seen.send_room = 0; /* the socket takes nothing for now */
    struct buf in = BUF_INIT;
    client_frame(&in, true, 9, "abc", 3, true);
    assert_int_equal(feed(f, &in, 0), 0);
    assert_int_equal(f->seen.sent.len, 0);
    f->seen.send_room = 2; /* then a part */
    ws_flush(&f->ws);
    assert_int_equal(f->seen.sent.len, 2);
    f->seen.send_room = SIZE_MAX; /* then the rest */
    ws_flush(&f->ws);
    assert_int_equal(f->seen.sent.len, 5);
    assert_memory_equal(f->seen.sent.data,
                        "\x8a\x03"
                        "abc",
                        5);
    buf_release(&in);
}

static void test_our_close_ends_the_conversation_once(void **state)
{
    struct fixture *f = *state;
    ws_close(&f->ws, WS_CLOSE_NORMAL);
    ws_close(&f->ws, WS_CLOSE_GOING_AWAY);
    assert_int_equal(f->seen.sent.len, 4);
    assert_sent_close(f, 0, 1000);
    assert_true(ws_over(&f->ws));
}

static void test_a_stopped_reader_hands_nothing_over(void **state)
{
    struct fixture *f = *state;
    struct buf in = BUF_INIT;
    text_frame(&in, "plus rien");
    ws_stop(&f->ws);
    feed(f, &in, 0);
    assert_text(f, "");
    buf_release(&in);
}

static void test_server_frame_headers_at_each_length_boundary(void **state)
{
    (void)state;
    uint8_t h[WS_HEADER_MAX];
    assert_int_equal(ws_text_header(h, 0), 2);
    assert_memory_equal(h, "\x81\x00", 2);
    assert_int_equal(ws_text_header(h, 125), 2);
    assert_memory_equal(h, "\x81\x7d", 2);
    assert_int_equal(ws_text_header(h, 126), 4);
    assert_memory_equal(h, "\x81\x7e\x00\x7e", 4);
    assert_int_equal(ws_text_header(h, 65535), 4);
    assert_memory_equal(h, "\x81\x7e\xff\xff", 4);
    assert_int_equal(ws_text_header(h, 65536), 10);
    assert_memory_equal(h, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_messages_are_handed_over_unmasked),
        cmocka_unit_test_setup_teardown(test_a_long_message_with_a_16_and_a_64_bit_length, setup,
                                        teardown),
        cmocka_unit_test(test_fragments_with_a_ping_between_make_one_message_and_a_pong),
        cmocka_unit_test_setup_teardown(test_an_unmasked_frame_is_closed_with_1002, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_binary_message_is_closed_with_1003_before_its_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_that_is_not_utf8_is_closed_with_1007, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_close_frame_is_answered_with_its_code, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_control_frames_wait_while_the_socket_is_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_our_close_ends_the_conversation_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_stopped_reader_hands_nothing_over, setup, teardown),
        cmocka_unit_test(test_server_frame_headers_at_each_length_boundary),
    };
    return cmocka_run_group_tests_name("ws", tests, NULL, NULL);
}
