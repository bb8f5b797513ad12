/* fuzz_http.c - libFuzzer harness for reading a request's head (src/server/http.c).
 *
 * The input is fed to http_reader_feed() as web.c feeds a connection's reads: each piece
 * whole, until HTTP_READY or an error verdict, never an empty piece. The first bytes choose
 * where the input is cut and, optionally, a run of one byte inserted somewhere, so that
 * heads near HTTP_HEAD_MAX are cheap to reach. The input is fed three ways: whole, in the
 * fuzzer's pieces, and byte by byte. After each call: *used <= len, all of it used while
 * the head goes on, every kept string NUL-terminated within its array. After each input:
 * the same verdict, end of head and request fields from all three; HTTP_READY only for
 * bytes that hold the end of a head, within HTTP_HEAD_MAX; HTTP_TOO_LARGE only for a head
 * past HTTP_HEAD_MAX or a kept header's value past its room.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CUTS 7
/* The preamble: flags, MAX_CUTS piece lengths, then a run to insert (count, byte, place). */
#define PREAMBLE (1 + 2 * MAX_CUTS + 5)
/* At most this many bytes in an inserted run: enough to pass HTTP_HEAD_MAX. */
#define RUN_MAX (HTTP_HEAD_MAX + 2048)

/* What one way of feeding the input gave. */
struct outcome {
    enum http_verdict verdict;
    size_t end; /* with HTTP_READY: the offset in the input where the head's bytes end */
    struct http_request req;
};

static unsigned u16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Whether needle[0..n) occurs in hay[0..len) (memmem() is not POSIX). */
static bool contains(const char *hay, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static void check_strings(const struct http_request *q)
{
    assert(terminated(q->path, sizeof(q->path)));
    assert(terminated(q->host, sizeof(q->host)));
    assert(terminated(q->origin, sizeof(q->origin)));
    assert(terminated(q->ws_key, sizeof(q->ws_key)));
    assert(terminated(q->ws_version, sizeof(q->ws_version)));
    assert(terminated(q->upgrade_to, sizeof(q->upgrade_to)));
}

/* Feeds in[0..len) as pieces of the given lengths (the last piece takes the rest), as
 * web.c does, and says what came of it. */
static void feed(const char *in, size_t len, const size_t *pieces, size_t n, struct outcome *o)
{
    struct http_reader *r = malloc(sizeof(*r)); /* on the heap, as in web.c: ASan sees it */
    assert(r);
    http_reader_init(r);
    size_t off = 0;
    o->verdict = HTTP_MORE;
    for (size_t i = 0; off < len && o->verdict == HTTP_MORE; i++) {
        size_t n_in = i < n && pieces[i] < len - off ? pieces[i] : len - off;
        if (n_in == 0) {
            continue; /* a read of 0 bytes is no read: web.c never feeds one */
        }
        size_t used = SIZE_MAX;
        o->verdict = http_reader_feed(r, in + off, n_in, &used);
        assert(used <= n_in);
        assert(o->verdict != HTTP_MORE || used == n_in);
        check_strings(&r->req);
        off += used;
    }
    o->end = off;
    o->req = r->req;
    free(r);
}

/* Feeds in[0..len) one byte at a time, as the slowest peer sends it. */
static void feed_bytes(const char *in, size_t len, struct outcome *o)
{
    size_t *ones = malloc((len + 1) * sizeof(*ones));
    assert(ones);
    for (size_t i = 0; i < len; i++) {
        ones[i] = 1;
    }
    feed(in, len, ones, len, o);
    free(ones);
}

static bool same_request(const struct http_request *a, const struct http_request *b)
{
    return a->get == b->get && a->head == b->head && a->path_cut == b->path_cut &&
           a->upgrade == b->upgrade && a->websocket == b->websocket && a->body == b->body &&
           strcmp(a->path, b->path) == 0 && strcmp(a->host, b->host) == 0 &&
           strcmp(a->origin, b->origin) == 0 && strcmp(a->ws_key, b->ws_key) == 0 &&
           strcmp(a->ws_version, b->ws_version) == 0 && strcmp(a->upgrade_to, b->upgrade_to) == 0;
}

static void check_same(const struct outcome *a, const struct outcome *b)
{
    assert(a->verdict == b->verdict);
    if (a->verdict == HTTP_READY) {
        assert(a->end == b->end);
        assert(same_request(&a->req, &b->req));
    }
}

/* The length of the line ending at in[i], or 0 if none is there: a line feed, or a
 * carriage return and the byte after it. Debian's http-parser is built without
 * HTTP_PARSER_STRICT, which takes any byte after a carriage return for the line feed. */
static size_t line_end(const char *in, size_t len, size_t i)
{
    if (i < len && in[i] == '\n') {
        return 1;
    }
    return i + 1 < len && in[i] == '\r' ? 2 : 0;
}

/* Where the first end of a head (two line endings in a row) in in[0..len) ends, or 0 if
 * there is none. Looser than the parser, so that a head it ends has an end here. Empty
 * lines before the request line are skipped, as the parser skips them (they count
 * towards HTTP_HEAD_MAX all the same). */
static size_t head_end(const char *in, size_t len)
{
    for (size_t i = strspn(in, "\r\n"); i < len; i++) {
        size_t a = line_end(in, len, i);
        size_t b = a ? line_end(in, len, i + a) : 0;
        if (b) {
            return i + a + b;
        }
    }
    return 0;
}

/* Whether in[0..len) holds a line that starts with a kept header's name and a colon, and
 * has at least HTTP_VALUE_MAX bytes after it before the end of the header (folded lines,
 * which start with a space or a tab, included): a value too long to keep. */
static bool long_kept_header(const char *in, size_t len)
{
    static const char *const names[] = {
        "host:", "origin:", "sec-websocket-key:", "sec-websocket-version:", "upgrade:"};
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && in[i - 1] != '\n') {
            continue;
        }
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            size_t n = strlen(names[k]);
            if (len - i < n || strncasecmp(in + i, names[k], n) != 0) {
                continue;
            }
            size_t j = i + n;
            while (j < len && (in[j] != '\n' || (j + 1 < len && strchr(" \t", in[j + 1])))) {
                j++;
            }
            if (j - (i + n) >= HTTP_VALUE_MAX) {
                return true;
            }
        }
    }
    return false;
}

/* What any verdict must agree with, read from the bytes themselves. */
static void check_verdict(const char *in, size_t len, const struct outcome *o)
{
    size_t end = head_end(in, len);
    if (o->verdict == HTTP_READY) {
        /* The head is whole: its end is within the bytes read (the last line feed is left
         * unread when a body follows), and within the limit. */
        assert(end > 0 && end <= o->end + 1);
        assert(o->end <= HTTP_HEAD_MAX);
        const struct http_request *q = &o->req;
        assert(!q->websocket || q->upgrade);
        assert(q->path_cut || q->path[0] == '\0' || contains(in, o->end, q->path, strlen(q->path)));
        size_t skip = strspn(in, "\r\n");
        assert(!q->get || (len - skip >= 4 && memcmp(in + skip, "GET ", 4) == 0));
        assert(!q->head || (len - skip >= 5 && memcmp(in + skip, "HEAD ", 5) == 0));
    } else if (o->verdict == HTTP_TOO_LARGE) {
        bool past_limit = len > HTTP_HEAD_MAX && (end == 0 || end > HTTP_HEAD_MAX);
        assert(past_limit || long_kept_header(in, len));
    }
}

/* The input proper, with the run the preamble asks for inserted into it; owned by the
 * caller. */
static char *build(const uint8_t *pre, const uint8_t *body, size_t body_len, size_t *len)
{
    size_t run = (pre[0] & 0x08) ? u16(pre + 1 + 2 * MAX_CUTS) % RUN_MAX : 0;
    size_t at = body_len ? u16(pre + 1 + 2 * MAX_CUTS + 3) % (body_len + 1) : 0;
    char *in = malloc(body_len + run + 1);
    assert(in);
    memcpy(in, body, at);
    memset(in + at, pre[1 + 2 * MAX_CUTS + 2], run);
    memcpy(in + at + run, body + at, body_len - at);
    *len = body_len + run;
    in[*len] = '\0'; /* for strspn() only: the reader is given len bytes */
    return in;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t pre[PREAMBLE] = {0};
    memcpy(pre, data, size < PREAMBLE ? size : PREAMBLE);
    size_t body_len = size > PREAMBLE ? size - PREAMBLE : 0;
    size_t len;
    char *in = build(pre, data + PREAMBLE * (size > PREAMBLE), body_len, &len);

    size_t n_cuts = pre[0] & 0x07, pieces[MAX_CUTS];
    for (size_t i = 0; i < n_cuts; i++) {
        pieces[i] = u16(pre + 1 + 2 * i);
    }
    struct outcome whole, cut;
    feed(in, len, NULL, 0, &whole);
    feed(in, len, pieces, n_cuts, &cut);
    check_same(&whole, &cut);
    feed_bytes(in, len, &cut);
    check_same(&whole, &cut);
    check_verdict(in, len, &whole);
    free(in);
    return 0;
}
