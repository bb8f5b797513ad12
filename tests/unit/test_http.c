/* test_http.c - unit tests for reading a request's head (src/server/http.c).
 *
 * The contract of http.h: a verdict once the head is whole (its fields kept), refused when
 * it is not HTTP or passes HTTP_HEAD_MAX, and the same verdict and fields however the
 * bytes are split. Each request is fed whole, split at every byte boundary (or at a few,
 * for heads near the limit) and byte by byte (STYLE 3.17), as web.c feeds it: each piece
 * whole, until a verdict. The cases here are those tests/fuzz/fuzz_http.c found broken: a
 * query split from its path, heads past the limit, a value too long to keep. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/http.h"

/* What feeding a request gave: the verdict, where the head's bytes end, the fields. */
struct result {
    enum http_verdict verdict;
    size_t end;
    struct http_request req;
};

/* Feeds in[0..len) in pieces of at most piece bytes, after a first one of first bytes
 * (0: none), as web.c feeds reads. */
static struct result feed(const char *in, size_t len, size_t first, size_t piece)
{
    struct http_reader *r = malloc(sizeof(*r));
    assert_non_null(r);
    http_reader_init(r);
    struct result out = {HTTP_MORE, 0, {0}};
    while (out.end < len && out.verdict == HTTP_MORE) {
        size_t n = len - out.end;
        size_t want = out.end == 0 && first > 0 ? first : piece;
        n = n < want ? n : want;
        size_t used = 0;
        out.verdict = http_reader_feed(r, in + out.end, n, &used);
        assert_true(used <= n);
        out.end += used;
    }
    out.req = r->req;
    free(r);
    return out;
}

static void assert_same(const struct result *a, const struct result *b)
{
    assert_int_equal(a->verdict, b->verdict);
    if (a->verdict != HTTP_READY) {
        return;
    }
    assert_int_equal(a->end, b->end);
    assert_string_equal(a->req.path, b->req.path);
    assert_string_equal(a->req.host, b->req.host);
    assert_string_equal(a->req.ws_key, b->req.ws_key);
    assert_int_equal(a->req.path_cut, b->req.path_cut);
    assert_int_equal(a->req.websocket, b->req.websocket);
}

/* Feeds the request whole, then split at each boundary in [from, to), then byte by byte;
 * every feeding must give what the whole one gave, which is returned. */
static struct result feed_split(const char *in, size_t from, size_t to)
{
    size_t len = strlen(in);
    struct result whole = feed(in, len, 0, len);
    for (size_t cut = from; cut < to && cut < len; cut++) {
        struct result split = feed(in, len, cut, len);
        assert_same(&whole, &split);
    }
    struct result bytes = feed(in, len, 0, 1);
    assert_same(&whole, &bytes);
    return whole;
}

static struct result feed_every_split(const char *in)
{
    return feed_split(in, 1, strlen(in));
}

/* A request whose X-Pad header makes the head exactly size bytes long. */
static char *padded_head(size_t size)
{
    static const char start[] = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ", end[] = "\r\n\r\n";
    size_t fixed = strlen(start) + strlen(end);
    assert_true(size > fixed);
    char *s = malloc(size + 1);
    assert_non_null(s);
    strcpy(s, start);
    memset(s + strlen(start), 'a', size - fixed);
    strcpy(s + size - strlen(end), end);
    return s;
}

static void test_websocket_upgrade_is_read_with_its_fields(void **state)
{
    (void)state;
    const char *in = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n\x81\x80";
    struct result r = feed_every_split(in);
    assert_int_equal(r.verdict, HTTP_READY);
    assert_int_equal(r.end, strlen(in) - 2); /* the frame after the head is left */
    assert_string_equal(r.req.path, "/ws");
    assert_string_equal(r.req.host, "127.0.0.1:8080");
    assert_string_equal(r.req.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
    assert_true(r.req.get && r.req.upgrade && r.req.websocket);
}

/* The query may come in a piece of its own: it never joins the path. */
static void test_query_split_from_its_path_is_dropped(void **state)
{
    (void)state;
    struct result r = feed_every_split("GET /ws?session=abc&x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(r.verdict, HTTP_READY);
    assert_string_equal(r.req.path, "/ws");
    assert_false(r.req.path_cut);
}

static void test_head_of_exactly_the_limit_is_ready(void **state)
{
    (void)state;
    char *in = padded_head(HTTP_HEAD_MAX);
    struct result r = feed_split(in, HTTP_HEAD_MAX - 8, HTTP_HEAD_MAX);
    assert_int_equal(r.verdict, HTTP_READY);
    assert_int_equal(r.end, HTTP_HEAD_MAX);
    free(in);
}

static void test_head_one_byte_past_the_limit_is_too_large(void **state)
{
    (void)state;
    char *in = padded_head(HTTP_HEAD_MAX + 1);
    struct result r = feed_split(in, HTTP_HEAD_MAX - 8, HTTP_HEAD_MAX + 1);
    assert_int_equal(r.verdict, HTTP_TOO_LARGE);
    free(in);
}

/* Refused as the limit passes, not once the parser's own limit (80 KiB) is reached. */
static void test_endless_head_is_too_large_at_the_limit(void **state)
{
    (void)state;
    char *in = padded_head(40000);
    size_t len = strlen(in);
    struct result whole = feed(in, len, 0, len);
    assert_int_equal(whole.verdict, HTTP_TOO_LARGE);
    assert_true(whole.end <= HTTP_HEAD_MAX);
    struct result pieces = feed(in, len, 0, 1000);
    assert_int_equal(pieces.verdict, HTTP_TOO_LARGE);
    free(in);
}

static void test_blank_lines_before_the_request_count_towards_the_limit(void **state)
{
    (void)state;
    char *in = padded_head(HTTP_HEAD_MAX + 64);
    memset(in, '\n', HTTP_HEAD_MAX + 1);
    struct result r = feed(in, strlen(in), 0, 4096);
    assert_int_equal(r.verdict, HTTP_TOO_LARGE);
    free(in);
}

/* A kept header too long is refused once the head is whole, whatever the split... */
static void test_kept_value_past_its_room_is_too_large(void **state)
{
    (void)state;
    char in[1024];
    snprintf(in, sizeof(in), "GET /ws HTTP/1.1\r\nSec-WebSocket-Key: %0300d\r\nHost: h\r\n\r\n", 7);
    struct result r = feed_every_split(in);
    assert_int_equal(r.verdict, HTTP_TOO_LARGE);
}

/* ...and a head the parser refuses later on is bad, whatever the split. */
static void test_kept_value_past_its_room_then_garbage_is_bad(void **state)
{
    (void)state;
    char in[1024];
    snprintf(in, sizeof(in), "GET /ws HTTP/1.1\r\nHost: %0300d\r\nNo colon\r\n\r\n", 7);
    struct result r = feed_every_split(in);
    assert_int_equal(r.verdict, HTTP_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_websocket_upgrade_is_read_with_its_fields),
        cmocka_unit_test(test_query_split_from_its_path_is_dropped),
        cmocka_unit_test(test_head_of_exactly_the_limit_is_ready),
        cmocka_unit_test(test_head_one_byte_past_the_limit_is_too_large),
        cmocka_unit_test(test_endless_head_is_too_large_at_the_limit),
        cmocka_unit_test(test_blank_lines_before_the_request_count_towards_the_limit),
        cmocka_unit_test(test_kept_value_past_its_room_is_too_large),
        cmocka_unit_test(test_kept_value_past_its_room_then_garbage_is_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
