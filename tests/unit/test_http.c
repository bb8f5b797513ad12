/* test_http.c - unit tests for the web port's request reader (src/server/http.c).
 *
 * Each request is fed whole, then split at every byte, then one byte at a time: the verdict
 * and the fields kept must not depend on where the bytes were cut. The head's limit is
 * checked at its edge, and so are what is kept of headers, paths and bodies, and what comes
 * after an upgrade's head. Inputs sit right before an unmapped page (guard_page.h), so a
 * read past them crashes. Single-threaded.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, for the guard page */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_PAGE_BYTES (HTTP_HEAD_MAX + 64)
#include "server/http.h"

#include "guard_page.h"

/* Feeds in[0..len) in pieces of at most step bytes (0: whole) until a verdict other than
 * HTTP_MORE; *used is the bytes of in used up to the end of the head. */
static enum http_verdict feed(struct http_reader *r, const char *in, size_t len, size_t step,
                              size_t *used)
{
    http_reader_init(r);
    size_t off = 0;
    enum http_verdict v = HTTP_MORE;
    while (off < len && v == HTTP_MORE) {
        size_t n = step == 0 || len - off < step ? len - off : step;
        const char *piece = at_page_end(in + off, n);
        size_t u = 0;
        v = http_reader_feed(r, piece, n, &u);
        assert_true(u <= n);
        *used = off + u;
        off += n;
    }
    return v;
}

/* The verdict of in, the same whole and split at every point; with the reader of the
 * whole feed in *whole. */
static enum http_verdict verdict(const char *in, struct http_reader *whole, size_t *used)
{
    size_t len = strlen(in);
    enum http_verdict v = feed(whole, in, len, 0, used);
    struct http_reader r;
    for (size_t step = 1; step < 4; step++) {
        size_t u = 0;
        assert_int_equal(feed(&r, in, len, step, &u), v);
        if (v == HTTP_READY) {
            assert_int_equal(u, *used);
            assert_memory_equal(&r.req, &whole->req, sizeof(r.req));
        }
    }
    for (size_t cut = 1; cut < len; cut++) { /* two pieces, cut anywhere */
        http_reader_init(&r);
        size_t u = 0;
        enum http_verdict first = http_reader_feed(&r, in, cut, &u);
        enum http_verdict second = first;
        if (first == HTTP_MORE) {
            second = http_reader_feed(&r, in + cut, len - cut, &u);
        }
        assert_int_equal(second, v);
    }
    return v;
}

static void test_a_page_request_keeps_its_method_path_and_host(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    const char *in = "GET /app.js?v=2 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: */*\r\n"
                     "User-Agent: test\r\n\r\n";
    assert_int_equal(verdict(in, &r, &used), HTTP_READY);
    assert_int_equal(used, strlen(in));
    assert_true(r.req.get);
    assert_false(r.req.head);
    assert_string_equal(r.req.path, "/app.js"); /* the query names nothing */
    assert_string_equal(r.req.host, "127.0.0.1:8080");
    assert_string_equal(r.req.origin, "");
    assert_false(r.req.upgrade);
    assert_false(r.req.body);
}

static void test_head_is_read_as_head(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    assert_int_equal(verdict("HEAD / HTTP/1.0\r\n\r\n", &r, &used), HTTP_READY);
    assert_true(r.req.head);
    assert_false(r.req.get);
    assert_string_equal(r.req.path, "/");
}

static void test_an_upgrade_keeps_its_headers_and_stops_at_the_end_of_the_head(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    const char *head = "GET /ws HTTP/1.1\r\nHost: chat.example.org\r\n"
                       "Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Origin: https://chat.example.org\r\nsec-websocket-version: 13\r\n\r\n";
    char in[1024];
    snprintf(in, sizeof(in),
             "%s\x81\x85"
             "abcdefghi",
             head); /* a frame follows at once */
    assert_int_equal(verdict(in, &r, &used), HTTP_READY);
    assert_int_equal(used, strlen(head));
    assert_true(r.req.upgrade);
    assert_true(r.req.websocket);
    assert_string_equal(r.req.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
    assert_string_equal(r.req.ws_version, "13");
    assert_string_equal(r.req.origin, "https://chat.example.org");
    assert_string_equal(r.req.upgrade_to, "WebSocket");
}

static void test_an_upgrade_to_another_protocol_is_not_websocket(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    assert_int_equal(verdict("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n"
                             "Connection: Upgrade\r\n\r\n",
                             &r, &used),
                     HTTP_READY);
    assert_true(r.req.upgrade);
    assert_false(r.req.websocket);
}

static void test_a_body_is_announced_and_never_read(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    const char *head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
    char in[256];
    snprintf(in, sizeof(in), "%shello", head);
    assert_int_equal(verdict(in, &r, &used), HTTP_READY);
    assert_int_equal(used, strlen(head));
    assert_true(r.req.body);
    assert_false(r.req.get);
    assert_int_equal(
        verdict("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello", &r, &used),
        HTTP_READY);
    assert_true(r.req.body);
}

static void test_what_is_not_http_1_is_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "HELLO\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET / HTTP/1.1\r\nHost x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        "GET / HTTP/1.1\r\nHo\x01st: x\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_reader r;
        size_t used;
        assert_int_equal(verdict(bad[i], &r, &used), HTTP_BAD);
    }
}

static void test_a_head_is_read_until_it_is_whole(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    assert_int_equal(verdict("GET / HTTP/1.1\r\nHost: x\r\n", &r, &used), HTTP_MORE);
}

/* A request whose head is exactly n bytes long, made of X-Pad headers. */
static char *head_of(size_t n)
{
    char *in = malloc(n + 1);
    const char *start = "GET / HTTP/1.1\r\n";
    size_t off = strlen(start);
    memcpy(in, start, off);
    while (n - off > 2) {
        size_t room = n - off - 2;
        size_t line = room > 200 ? 100 : room;
        if (room > 200 || room >= 9) {
            /* "X-Pad: " + value + "\r\n" = line bytes */
            size_t value = line - 9;
            memcpy(in + off, "X-Pad: ", 7);
            memset(in + off + 7, 'v', value);
            memcpy(in + off + 7 + value, "\r\n", 2);
            off += line;
        } else {
            /* too short for a header: lengthen the previous one */
            memmove(in + off - 2 + room, in + off - 2, 2);
            memset(in + off - 2, 'v', room);
            off += room;
        }
    }
    memcpy(in + off, "\r\n", 2);
    in[n] = '\0';
    return in;
}

static void test_a_head_of_8_kib_is_read_and_one_byte_more_is_too_large(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    char *fits = head_of(HTTP_HEAD_MAX);
    assert_int_equal(strlen(fits), HTTP_HEAD_MAX);
    assert_int_equal(feed(&r, fits, HTTP_HEAD_MAX, 0, &used), HTTP_READY);
    assert_int_equal(feed(&r, fits, HTTP_HEAD_MAX, 7, &used), HTTP_READY);
    char *over = head_of(HTTP_HEAD_MAX + 1);
    assert_int_equal(feed(&r, over, HTTP_HEAD_MAX + 1, 0, &used), HTTP_TOO_LARGE);
    assert_int_equal(feed(&r, over, HTTP_HEAD_MAX + 1, 1, &used), HTTP_TOO_LARGE);
    free(fits);
    free(over);
}

static void test_an_endless_head_is_refused_as_it_passes_the_limit(void **state)
{
    (void)state;
    struct http_reader r;
    http_reader_init(&r);
    char line[] = "X-Pad: vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n";
    size_t used = 0, fed = 0;
    enum http_verdict v = http_reader_feed(&r, "GET / HTTP/1.1\r\n", 16, &used);
    fed += 16;
    while (v == HTTP_MORE && fed < 4 * HTTP_HEAD_MAX) {
        v = http_reader_feed(&r, line, sizeof(line) - 1, &used);
        fed += sizeof(line) - 1;
    }
    assert_int_equal(v, HTTP_TOO_LARGE);
    assert_true(fed <= HTTP_HEAD_MAX + sizeof(line));
}

static void test_a_kept_header_too_long_to_be_right_is_too_large(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    char in[1024];
    char origin[HTTP_VALUE_MAX + 1];
    memset(origin, 'o', sizeof(origin) - 1);
    origin[sizeof(origin) - 1] = '\0';
    snprintf(in, sizeof(in), "GET /ws HTTP/1.1\r\nOrigin: %s\r\n\r\n", origin);
    assert_int_equal(verdict(in, &r, &used), HTTP_TOO_LARGE);
    origin[HTTP_VALUE_MAX - 1] = '\0'; /* the longest that is kept */
    snprintf(in, sizeof(in), "GET /ws HTTP/1.1\r\nOrigin: %s\r\n\r\n", origin);
    assert_int_equal(verdict(in, &r, &used), HTTP_READY);
    assert_int_equal(strlen(r.req.origin), HTTP_VALUE_MAX - 1);
}

/* A kept header too long, then a line the parser refuses: bad, however it is split (the
 * parser may see the bad line before or after it hands over the long value). */
static void test_a_kept_header_too_long_then_garbage_is_bad(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    char in[1024];
    char host[HTTP_VALUE_MAX + 64];
    memset(host, 'h', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(in, sizeof(in), "GET /ws HTTP/1.1\r\nHost: %s\r\nNo colon\r\n\r\n", host);
    assert_int_equal(verdict(in, &r, &used), HTTP_BAD);
}

/* Blank lines before the request line are part of what the head may hold. */
static void test_blank_lines_before_the_request_count_towards_the_limit(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    static char in[HTTP_HEAD_MAX + 64];
    memset(in, '\n', HTTP_HEAD_MAX + 1);
    strcpy(in + HTTP_HEAD_MAX + 1, "GET / HTTP/1.1\r\n\r\n");
    assert_int_equal(feed(&r, in, strlen(in), 4096, &used), HTTP_TOO_LARGE);
}

static void test_a_long_path_is_cut_and_says_so(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    char in[1024];
    char path[400];
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    snprintf(in, sizeof(in), "GET %s HTTP/1.1\r\n\r\n", path);
    assert_int_equal(verdict(in, &r, &used), HTTP_READY);
    assert_true(r.req.path_cut);
    assert_int_equal(strlen(r.req.path), HTTP_PATH_MAX - 1);
}

static void test_an_unkept_header_of_any_length_is_dropped(void **state)
{
    (void)state;
    struct http_reader r;
    size_t used;
    char in[2048];
    char value[1500];
    memset(value, 'c', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    snprintf(in, sizeof(in),
             "GET / HTTP/1.1\r\nCookie: %s\r\nX-A-Very-Long-Header-Name: 1\r\n"
             "Host: h\r\n\r\n",
             value);
    assert_int_equal(verdict(in, &r, &used), HTTP_READY);
    assert_string_equal(r.req.host, "h");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_page_request_keeps_its_method_path_and_host),
        cmocka_unit_test(test_head_is_read_as_head),
        cmocka_unit_test(test_an_upgrade_keeps_its_headers_and_stops_at_the_end_of_the_head),
        cmocka_unit_test(test_an_upgrade_to_another_protocol_is_not_websocket),
        cmocka_unit_test(test_a_body_is_announced_and_never_read),
        cmocka_unit_test(test_what_is_not_http_1_is_bad),
        cmocka_unit_test(test_a_head_is_read_until_it_is_whole),
        cmocka_unit_test(test_a_head_of_8_kib_is_read_and_one_byte_more_is_too_large),
        cmocka_unit_test(test_an_endless_head_is_refused_as_it_passes_the_limit),
        cmocka_unit_test(test_a_kept_header_too_long_to_be_right_is_too_large),
        cmocka_unit_test(test_a_kept_header_too_long_then_garbage_is_bad),
        cmocka_unit_test(test_blank_lines_before_the_request_count_towards_the_limit),
        cmocka_unit_test(test_a_long_path_is_cut_and_says_so),
        cmocka_unit_test(test_an_unkept_header_of_any_length_is_dropped),
    };
    return cmocka_run_group_tests_name("http", tests, map_guard_page, unmap_guard_page);
}
