/* test_proto.c - unit tests for the line framer and line kinds (src/common/proto.c).
 *
 * The framer's contract from proto.h: lines end at '\n' with one '\r' before it dropped,
 * partial lines wait, whole lines are returned in place, a line past max_line is reported
 * once and skipped to its '\n', and the framer never holds more than max_line + 1 bytes.
 * Every input is also fed split at every byte boundary and byte by byte (STYLE 3.17): the
 * same lines and overlong reports must come out each time. Runs single-threaded.
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
#include "common/proto.h"

#define OVERLONG NULL /* in an expected list: -EMSGSIZE where a line would be */

/* Feeds in[0..len) to f, calling proto_framer_next() until -EAGAIN, and records what comes
 * out in log as "L<len>:<bytes>|" per line and "E|" per overlong report. The line is
 * copied at once: it is valid only until the next call. Checks after every call that the
 * framer holds at most max_line + 1 bytes. */
static void feed_all(struct proto_framer *f, const char *in, size_t len, struct buf *log)
{
    for (;;) {
        const char *line = NULL;
        size_t line_len = 0;
        int r = proto_framer_next(f, &in, &len, &line, &line_len);
        assert_true(f->partial_len <= (size_t)f->max_line + 1);
        if (r == -EAGAIN) {
            break;
        } else if (r == -EMSGSIZE) {
            buf_append_str(log, "E|");
            continue;
        }
        assert_int_equal(r, 0);
        assert_non_null(line);
        assert_true(line_len <= f->max_line);
        assert_null(memchr(line, '\n', line_len));
        buf_appendf(log, "L%zu:", line_len);
        buf_append(log, line, line_len);
        buf_append_char(log, '|');
    }
    assert_int_equal(len, 0); /* -EAGAIN only once the input is used up */
}

/* The log feed_all() would write for these results (OVERLONG for -EMSGSIZE). */
static void expected_log(const char *const *want, size_t n_want, struct buf *log)
{
    for (size_t i = 0; i < n_want; i++) {
        if (want[i] == OVERLONG) {
            buf_append_str(log, "E|");
        } else {
            buf_appendf(log, "L%zu:%s|", strlen(want[i]), want[i]);
        }
    }
}

/* Feeds the input whole and checks what came out. */
static void assert_lines(size_t max_line, const char *in, size_t len, const char *const *want,
                         size_t n_want)
{
    struct buf expect = BUF_INIT, got = BUF_INIT;
    expected_log(want, n_want, &expect);
    struct proto_framer f;
    proto_framer_init(&f, max_line);
    feed_all(&f, in, len, &got);
    assert_string_equal(got.data, expect.data);
    proto_framer_release(&f);
    buf_release(&expect);
    buf_release(&got);
}

/* STYLE 3.17: the input split at every byte boundary, then byte by byte, must give the same
 * lines and overlong reports as expected, and leave the framer equally mid-line. The input
 * lives in a buffer of exactly len bytes so ASan sees any read past its end. */
static void assert_same_results_however_split(size_t max_line, const char *text, size_t len,
                                              const char *const *want, size_t n_want,
                                              bool ends_mid_line)
{
    char *in = malloc(len ? len : 1);
    assert_non_null(in);
    memcpy(in, text, len);
    struct buf expect = BUF_INIT, got = BUF_INIT;
    expected_log(want, n_want, &expect);
    struct proto_framer f;

    for (size_t cut = 0; cut <= len; cut++) {
        proto_framer_init(&f, max_line);
        buf_reset(&got);
        feed_all(&f, in, cut, &got);
        feed_all(&f, in + cut, len - cut, &got);
        if (strcmp(got.data, expect.data) != 0) {
            print_error("input cut at byte %zu of %zu\n", cut, len);
        }
        assert_string_equal(got.data, expect.data);
        assert_int_equal(proto_framer_mid_line(&f), ends_mid_line);
        proto_framer_release(&f);
    }

    proto_framer_init(&f, max_line);
    buf_reset(&got);
    for (size_t i = 0; i < len; i++) {
        feed_all(&f, in + i, 1, &got);
    }
    assert_string_equal(got.data, expect.data);
    assert_int_equal(proto_framer_mid_line(&f), ends_mid_line);
    proto_framer_release(&f);

    buf_release(&expect);
    buf_release(&got);
    free(in);
}

/* What the framer must report for in[0..len), worked out line by line from the contract:
 * each '\n'-terminated line less one trailing '\r' is a line or, past max_line, an
 * overlong report; an unfinished tail is reported once it is known to be overlong: past
 * max_line + 1 bytes, or at max_line + 1 unless that last byte is a '\r' (which the coming
 * '\n' would drop). */
static void model_log(size_t max_line, const char *in, size_t len, struct buf *log)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '\n') {
            continue;
        }
        size_t n = i - start;
        if (n > 0 && in[start + n - 1] == '\r') {
            n--;
        }
        if (n > max_line) {
            buf_append_str(log, "E|");
        } else {
            buf_appendf(log, "L%zu:", n);
            buf_append(log, in + start, n);
            buf_append_char(log, '|');
        }
        start = i + 1;
    }
    size_t tail = len - start;
    if (tail > max_line + 1 || (tail == max_line + 1 && in[len - 1] != '\r')) {
        buf_append_str(log, "E|");
    }
}

/* xorshift64: a fixed seed makes a failure reproducible. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Calls proto_framer_next() once on the whole of in. */
static int next_line(struct proto_framer *f, const char **in, size_t *in_len, const char **line,
                     size_t *line_len)
{
    *line = NULL;
    *line_len = 0;
    return proto_framer_next(f, in, in_len, line, line_len);
}

#define N(a)   (sizeof(a) / sizeof((a)[0]))
#define LIT(s) s, sizeof(s) - 1

/* ---------------------------------------------------------------- framing */

static void test_framer_splits_on_lf(void **state)
{
    (void)state;
    static const char *const want[] = {"a", "bc", "d e"};
    assert_lines(16, LIT("a\nbc\nd e\n"), want, N(want));
}

static void test_framer_drops_cr_before_lf(void **state)
{
    (void)state;
    static const char *const want[] = {"bonjour", "salut"};
    assert_lines(16, LIT("bonjour\r\nsalut\r\n"), want, N(want));
}

static void test_framer_drops_only_one_cr(void **state)
{
    (void)state;
    static const char *const want[] = {"a\r", "\r"};
    assert_lines(16, LIT("a\r\r\n\r\r\n"), want, N(want));
}

static void test_framer_keeps_cr_not_before_lf(void **state)
{
    (void)state;
    static const char *const want[] = {"a\rb", "\rc"};
    assert_lines(16, LIT("a\rb\n\rc\n"), want, N(want));
}

static void test_framer_returns_empty_lines(void **state)
{
    (void)state;
    static const char *const want[] = {"", "", "x", ""};
    assert_lines(16, LIT("\n\r\nx\n\n"), want, N(want));
}

static void test_framer_returns_eagain_on_empty_input(void **state)
{
    (void)state;
    struct proto_framer f;
    proto_framer_init(&f, 16);
    const char *in = "";
    size_t in_len = 0;
    const char *line;
    size_t line_len;
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), -EAGAIN);
    assert_false(proto_framer_mid_line(&f));
    proto_framer_release(&f);
}

static void test_framer_keeps_partial_line_until_its_end(void **state)
{
    (void)state;
    struct proto_framer f;
    proto_framer_init(&f, 16);
    const char *in = "hel";
    size_t in_len = 3;
    const char *line;
    size_t line_len;
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), -EAGAIN);
    assert_int_equal(in_len, 0);

    in = "lo";
    in_len = 2;
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), -EAGAIN);

    in = "\nnext";
    in_len = 5;
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), 0);
    assert_int_equal(line_len, 5);
    assert_memory_equal(line, "hello", 5);
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), -EAGAIN);
    assert_true(proto_framer_mid_line(&f)); /* "next" waits for its '\n' */
    proto_framer_release(&f);
}

/* A line fed a byte at a time crosses every growth of the partial buffer (64 bytes, then
 * doubling) and comes out whole; ASan checks each copy stays in bounds. */
static void test_framer_rebuilds_a_line_fed_one_byte_at_a_time(void **state)
{
    (void)state;
    enum { LEN = 5000 };
    static char text[LEN + 1];
    for (size_t i = 0; i < LEN; i++) {
        text[i] = (char)('a' + i % 26);
    }
    text[LEN] = '\n';
    struct proto_framer f;
    proto_framer_init(&f, LEN);
    const char *line = NULL;
    size_t line_len = 0;
    for (size_t i = 0; i <= LEN; i++) {
        const char *in = text + i;
        size_t in_len = 1;
        int r = next_line(&f, &in, &in_len, &line, &line_len);
        assert_int_equal(r, i < LEN ? -EAGAIN : 0);
        assert_int_equal(f.partial_len, i < LEN ? i + 1 : LEN);
    }
    assert_int_equal(line_len, LEN);
    assert_memory_equal(line, text, LEN);
    proto_framer_release(&f);
    assert_null(f.partial);
}

static void test_framer_joins_character_split_across_reads(void **state)
{
    (void)state;
    struct proto_framer f;
    proto_framer_init(&f, 16);
    const char *in = "caf\xC3";
    size_t in_len = 4;
    const char *line;
    size_t line_len;
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), -EAGAIN);
    in = "\xA9\n";
    in_len = 2;
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), 0);
    assert_int_equal(line_len, 5);
    assert_memory_equal(line, "caf\xC3\xA9", 5);
    proto_framer_release(&f);
}

static void test_framer_returns_whole_lines_in_place(void **state)
{
    (void)state;
    struct proto_framer f;
    proto_framer_init(&f, 16);
    static const char input[] = "abc\r\ndef\n";
    const char *in = input;
    size_t in_len = sizeof(input) - 1;
    const char *line;
    size_t line_len;

    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), 0);
    assert_ptr_equal(line, input);
    assert_int_equal(line_len, 3);
    assert_ptr_equal(in, input + 5);
    assert_int_equal(in_len, 4);

    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), 0);
    assert_ptr_equal(line, input + 5);
    assert_int_equal(line_len, 3);
    assert_int_equal(in_len, 0);

    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), -EAGAIN);
    assert_null(f.partial); /* no allocation while lines arrive whole */
    proto_framer_release(&f);
}

static void test_framer_accepts_line_of_max_line_bytes(void **state)
{
    (void)state;
    static const char *const want[] = {"12345678", "ok"};
    assert_lines(8, LIT("12345678\nok\n"), want, N(want));
}

static void test_framer_accepts_line_of_max_line_bytes_with_crlf(void **state)
{
    (void)state;
    static const char *const want[] = {"12345678", "ok"};
    assert_lines(8, LIT("12345678\r\nok\r\n"), want, N(want));
}

static void test_framer_refuses_line_of_max_line_plus_one_bytes(void **state)
{
    (void)state;
    static const char *const want[] = {OVERLONG, "ok"};
    assert_lines(8, LIT("123456789\nok\n"), want, N(want));
}

static void test_framer_refuses_line_of_max_line_plus_one_bytes_with_crlf(void **state)
{
    (void)state;
    static const char *const want[] = {OVERLONG, "ok"};
    assert_lines(8, LIT("123456789\r\nok\n"), want, N(want));
}

/* Only one '\r' is dropped, so max_line bytes and "\r\r\n" is a line of max_line + 1. */
static void test_framer_refuses_max_line_bytes_followed_by_two_crs(void **state)
{
    (void)state;
    static const char *const want[] = {OVERLONG, "ok"};
    assert_lines(8, LIT("12345678\r\r\nok\n"), want, N(want));
}

static void test_framer_reports_overlong_line_once_and_skips_rest(void **state)
{
    (void)state;
    struct proto_framer f;
    proto_framer_init(&f, 8);
    const char *in = "0123456789";
    size_t in_len = 10;
    const char *line;
    size_t line_len;
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), -EMSGSIZE);
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), -EAGAIN);

    in = "more of the same line";
    in_len = strlen(in);
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), -EAGAIN);

    in = "end\nnext\n";
    in_len = strlen(in);
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), 0);
    assert_int_equal(line_len, 4);
    assert_memory_equal(line, "next", 4);
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), -EAGAIN);
    proto_framer_release(&f);
}

static void test_framer_accepts_next_line_after_overlong_one(void **state)
{
    (void)state;
    static const char *const want[] = {"a", OVERLONG, "12345678", OVERLONG, ""};
    assert_lines(8, LIT("a\n0123456789abcdef\n12345678\r\nxxxxxxxxxxxxxxxxxxxxxxxxx\n\n"), want,
                 N(want));
}

/* A peer that never sends '\n' costs one report and at most max_line + 1 bytes of memory. */
static void test_framer_holds_bounded_memory_for_endless_line(void **state)
{
    (void)state;
    enum { MAX_LINE = 4096, CHUNK = 4096, TOTAL = 1 << 20 };
    char *chunk = malloc(CHUNK);
    assert_non_null(chunk);
    memset(chunk, 'x', CHUNK);
    struct proto_framer f;
    proto_framer_init(&f, MAX_LINE);
    size_t overlong = 0;

    for (size_t fed = 0; fed < TOTAL; fed += CHUNK) {
        const char *in = chunk;
        size_t in_len = CHUNK;
        for (;;) {
            const char *line;
            size_t line_len;
            int r = next_line(&f, &in, &in_len, &line, &line_len);
            assert_true(f.partial_len <= MAX_LINE + 1);
            if (r == -EAGAIN) {
                break;
            }
            assert_int_equal(r, -EMSGSIZE);
            overlong++;
        }
        assert_true(proto_framer_mid_line(&f));
    }
    assert_int_equal(overlong, 1);

    const char *in = "\nafter\n";
    size_t in_len = 7;
    const char *line;
    size_t line_len;
    assert_int_equal(next_line(&f, &in, &in_len, &line, &line_len), 0);
    assert_int_equal(line_len, 5);
    assert_memory_equal(line, "after", 5);
    proto_framer_release(&f);
    free(chunk);
}

static void test_framer_mid_line_follows_the_peer(void **state)
{
    (void)state;
    struct proto_framer f;
    proto_framer_init(&f, 8);
    struct buf log = BUF_INIT;
    assert_false(proto_framer_mid_line(&f));

    feed_all(&f, LIT("ab"), &log);
    assert_true(proto_framer_mid_line(&f));
    feed_all(&f, LIT("c\n"), &log);
    assert_false(proto_framer_mid_line(&f));

    feed_all(&f, LIT("0123456789"), &log); /* overlong, being skipped */
    assert_true(proto_framer_mid_line(&f));
    feed_all(&f, LIT("xyz"), &log);
    assert_true(proto_framer_mid_line(&f));
    feed_all(&f, LIT("\n"), &log);
    assert_false(proto_framer_mid_line(&f));

    assert_string_equal(log.data, "L3:abc|E|");
    buf_release(&log);
    proto_framer_release(&f);
}

static void test_framer_release_frees_a_pending_line(void **state)
{
    (void)state;
    struct proto_framer f;
    proto_framer_init(&f, 64);
    struct buf log = BUF_INIT;
    feed_all(&f, LIT("unfinished"), &log);
    assert_non_null(f.partial);
    proto_framer_release(&f);
    assert_null(f.partial);
    assert_int_equal(log.len, 0);
    buf_release(&log); /* ASan reports a leak if the partial line was kept */
}

/* ---------------------------------------------------------------- split anywhere */

static void test_framer_same_results_at_every_split_point(void **state)
{
    (void)state;
    static const char input[] = "salut\n"
                                "\r\n"
                                "ca va ?\r\n"
                                "\n"
                                "0123456789abcdefghij\r\n" /* overlong */
                                "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\n"
                                "x\ry\r\r\n"
                                "a la fin"; /* no '\n' yet */
    static const char *const want[] = {
        "salut",  "",       "ca va ?",
        "",       OVERLONG, "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80", /* 17 bytes */
        "x\ry\r",
    };
    assert_same_results_however_split(17, LIT(input), want, N(want), true);
}

/* Lines at max_line, max_line + 1 and around the dropped '\r', in one stream. */
static void test_framer_same_results_at_every_split_point_near_the_limit(void **state)
{
    (void)state;
    static const char input[] = "12345678\n"     /* exactly max_line */
                                "12345678\r\n"   /* exactly max_line, CRLF */
                                "123456789\n"    /* one too many */
                                "123456789\r\n"  /* one too many, CRLF */
                                "12345678\r\r\n" /* max_line + '\r' after the drop */
                                "1234567\r\r\n"  /* max_line with its '\r' kept */
                                "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\n"     /* 8 bytes */
                                "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9x\n"    /* 9 bytes */
                                "12345678901234567890123456789012345\n"; /* far over */
    static const char *const want[] = {
        "12345678",
        "12345678",
        OVERLONG,
        OVERLONG,
        OVERLONG,
        "1234567\r",
        "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9",
        OVERLONG,
        OVERLONG,
    };
    assert_same_results_however_split(8, LIT(input), want, N(want), false);
}

/* An overlong line still being skipped when the input ends. */
static void test_framer_same_results_at_every_split_point_ending_in_overlong(void **state)
{
    (void)state;
    static const char *const want[] = {"ok", OVERLONG};
    assert_same_results_however_split(4, LIT("ok\n0123456789"), want, N(want), true);
}

/* Random lines of random lengths around max_line, fed in random chunks, against the model. */
static void test_framer_matches_model_on_random_input(void **state)
{
    (void)state;
    static const char alphabet[] = {'a', 'b', '\r', '\r', '\n', '\n', '\xC3', '\xA9', '\0'};
    uint64_t seed = 0x2545F4914F6CDD1DULL;
    char in[256];
    for (int round = 0; round < 3000; round++) {
        size_t max_line = 1 + next_random(&seed) % 12;
        size_t len = next_random(&seed) % (sizeof(in) + 1);
        for (size_t i = 0; i < len; i++) {
            in[i] = alphabet[next_random(&seed) % sizeof(alphabet)];
        }
        struct buf want = BUF_INIT, got = BUF_INIT;
        model_log(max_line, in, len, &want);
        struct proto_framer f;
        proto_framer_init(&f, max_line);
        for (size_t off = 0; off < len;) {
            size_t n = 1 + next_random(&seed) % 32;
            n = n < len - off ? n : len - off;
            feed_all(&f, in + off, n, &got);
            off += n;
        }
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, want.len);
        proto_framer_release(&f);
        buf_release(&want);
        buf_release(&got);
    }
}

/* ---------------------------------------------------------------- line kinds */

static void test_split_kind_of_chat_message(void **state)
{
    (void)state;
    char kind = 0;
    const char *text = NULL;
    size_t text_len = 0;
    static const char line[] = "> bob: hi";
    assert_true(proto_split_kind(LIT(line), &kind, &text, &text_len));
    assert_int_equal(kind, PROTO_MESSAGE);
    assert_ptr_equal(text, line + 2);
    assert_int_equal(text_len, 7);
    assert_memory_equal(text, "bob: hi", 7);
}

static void test_split_kind_of_ok_line(void **state)
{
    (void)state;
    char kind = 0;
    const char *text = NULL;
    size_t text_len = 0;
    assert_true(proto_split_kind(LIT("+ ok"), &kind, &text, &text_len));
    assert_int_equal(kind, PROTO_OK);
    assert_int_equal(text_len, 2);
    assert_memory_equal(text, "ok", 2);
}

static void test_split_kind_with_empty_text(void **state)
{
    (void)state;
    char kind = 0;
    const char *text = NULL;
    size_t text_len = 99;
    assert_true(proto_split_kind(LIT("* "), &kind, &text, &text_len));
    assert_int_equal(kind, PROTO_NOTICE);
    assert_int_equal(text_len, 0);
}

static void test_split_kind_refuses_lone_kind_character(void **state)
{
    (void)state;
    char kind = 0;
    const char *text = NULL;
    size_t text_len = 0;
    static const char line[] = "*";
    assert_false(proto_split_kind(LIT(line), &kind, &text, &text_len));
    assert_ptr_equal(text, line);
    assert_int_equal(text_len, 1);
}

static void test_split_kind_refuses_empty_line(void **state)
{
    (void)state;
    char kind = 0;
    const char *text = NULL;
    size_t text_len = 99;
    static const char line[] = "";
    assert_false(proto_split_kind(line, 0, &kind, &text, &text_len));
    assert_ptr_equal(text, line);
    assert_int_equal(text_len, 0);
}

static void test_split_kind_refuses_line_without_space_after_kind(void **state)
{
    (void)state;
    char kind = 0;
    const char *text = NULL;
    size_t text_len = 0;
    static const char line[] = "bonjour";
    assert_false(proto_split_kind(LIT(line), &kind, &text, &text_len));
    assert_ptr_equal(text, line);
    assert_int_equal(text_len, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framer_splits_on_lf),
        cmocka_unit_test(test_framer_drops_cr_before_lf),
        cmocka_unit_test(test_framer_drops_only_one_cr),
        cmocka_unit_test(test_framer_keeps_cr_not_before_lf),
        cmocka_unit_test(test_framer_returns_empty_lines),
        cmocka_unit_test(test_framer_returns_eagain_on_empty_input),
        cmocka_unit_test(test_framer_keeps_partial_line_until_its_end),
        cmocka_unit_test(test_framer_rebuilds_a_line_fed_one_byte_at_a_time),
        cmocka_unit_test(test_framer_joins_character_split_across_reads),
        cmocka_unit_test(test_framer_returns_whole_lines_in_place),
        cmocka_unit_test(test_framer_accepts_line_of_max_line_bytes),
        cmocka_unit_test(test_framer_accepts_line_of_max_line_bytes_with_crlf),
        cmocka_unit_test(test_framer_refuses_line_of_max_line_plus_one_bytes),
        cmocka_unit_test(test_framer_refuses_line_of_max_line_plus_one_bytes_with_crlf),
        cmocka_unit_test(test_framer_refuses_max_line_bytes_followed_by_two_crs),
        cmocka_unit_test(test_framer_reports_overlong_line_once_and_skips_rest),
        cmocka_unit_test(test_framer_accepts_next_line_after_overlong_one),
        cmocka_unit_test(test_framer_holds_bounded_memory_for_endless_line),
        cmocka_unit_test(test_framer_mid_line_follows_the_peer),
        cmocka_unit_test(test_framer_release_frees_a_pending_line),
        cmocka_unit_test(test_framer_same_results_at_every_split_point),
        cmocka_unit_test(test_framer_same_results_at_every_split_point_near_the_limit),
        cmocka_unit_test(test_framer_same_results_at_every_split_point_ending_in_overlong),
        cmocka_unit_test(test_framer_matches_model_on_random_input),
        cmocka_unit_test(test_split_kind_of_chat_message),
        cmocka_unit_test(test_split_kind_of_ok_line),
        cmocka_unit_test(test_split_kind_with_empty_text),
        cmocka_unit_test(test_split_kind_refuses_lone_kind_character),
        cmocka_unit_test(test_split_kind_refuses_empty_line),
        cmocka_unit_test(test_split_kind_refuses_line_without_space_after_kind),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
