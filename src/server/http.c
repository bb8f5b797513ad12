/* http.c - reading a request's head with http-parser; see http.h.
 *
 * The parser calls back with pieces of the target, of header names and of values, split
 * wherever the input was: names are gathered (lower case, cut to a short buffer, since only
 * a few are wanted) and a value is appended into its place in the request when its name is
 * one of those. The parser is paused at the end of each message, so that a request is
 * answered before the next one is read. The head's size is the parser's own count of header
 * bytes, which it updates only when it returns (callbacks see the count as it was when the
 * call began): so the parser is never given more than the room left under HTTP_HEAD_MAX,
 * and a head that fills that room without ending is refused. Every verdict is decided at a
 * byte the parser reads, the same however the input is split: a value too long to keep is
 * refused once the head is whole, or as bad if the parser refuses the head first.
 */
#include "http.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

/* The headers kept, by lower-case name, and where their values go. */
static const char *const kept_names[] = {"host", "origin", "sec-websocket-key",
                                         "sec-websocket-version", "upgrade"};
enum { KEPT_HOST, KEPT_ORIGIN, KEPT_KEY, KEPT_VERSION, KEPT_UPGRADE, N_KEPT };

static char *kept_value(struct http_request *q, int field)
{
    switch (field) {
    case KEPT_HOST:
        return q->host;
    case KEPT_ORIGIN:
        return q->origin;
    case KEPT_KEY:
        return q->ws_key;
    case KEPT_VERSION:
        return q->ws_version;
    default:
        return q->upgrade_to;
    }
}

/* Whether the comma-separated list s holds token, without regard to case. */
static bool has_token(const char *s, const char *token)
{
    size_t n = strlen(token);
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        const char *end = s + strcspn(s, ",");
        const char *last = end;
        while (last > s && (last[-1] == ' ' || last[-1] == '\t')) {
            last--;
        }
        if ((size_t)(last - s) == n && strncasecmp(s, token, n) == 0) {
            return true;
        }
        s = end;
    }
    return false;
}

static struct http_reader *of(http_parser *p)
{
    return p->data;
}

static int on_message_begin(http_parser *p)
{
    struct http_reader *r = of(p);
    memset(&r->req, 0, sizeof(r->req));
    r->field = -1;
    r->name_len = 0;
    r->in_value = false;
    r->in_query = false;
    return 0;
}

/* The target comes in pieces, split wherever the input was: the query may have begun in
 * an earlier piece. */
static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_reader *r = of(p);
    struct http_request *q = &r->req;
    if (r->in_query) {
        return 0; /* the query names nothing here */
    }
    const char *query = memchr(at, '?', len);
    if (query) {
        r->in_query = true;
        len = (size_t)(query - at);
    }
    size_t have = strlen(q->path);
    if (have + len >= sizeof(q->path)) {
        q->path_cut = true;
        len = sizeof(q->path) - 1 - have;
    }
    memcpy(q->path + have, at, len);
    q->path[have + len] = '\0';
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_reader *r = of(p);
    if (r->in_value) { /* a new header: the last one is over */
        r->in_value = false;
        r->name_len = 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (r->name_len < sizeof(r->name) - 1) {
            r->name[r->name_len] = (char)tolower((unsigned char)at[i]);
        }
        r->name_len++; /* past the buffer: a name no kept header has */
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_reader *r = of(p);
    if (!r->in_value) {
        r->in_value = true;
        r->value_len = 0;
        r->field = -1;
        for (int i = 0; i < N_KEPT && r->name_len < sizeof(r->name); i++) {
            if (strlen(kept_names[i]) == r->name_len &&
                memcmp(kept_names[i], r->name, r->name_len) == 0) {
                r->field = i;
            }
        }
    }
    if (r->field >= 0 && !r->too_large) {
        char *v = kept_value(&r->req, r->field);
        if (r->value_len + len >= HTTP_VALUE_MAX) {
            r->too_large = true; /* a header we act on, too long to be what we expect */
            return 0;            /* refused once the head is whole: see http_reader_feed() */
        }
        memcpy(v + r->value_len, at, len);
        r->value_len += len;
        v[r->value_len] = '\0';
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http_reader *r = of(p);
    struct http_request *q = &r->req;
    if (p->http_major != 1) {
        return -1; /* HTTP/0.9, 2 and 3 are spoken otherwise, or not at all: malformed */
    }
    q->get = p->method == HTTP_GET;
    q->head = p->method == HTTP_HEAD;
    q->upgrade = p->upgrade;
    q->websocket = p->upgrade && has_token(q->upgrade_to, "websocket");
    q->body = (p->flags & F_CHUNKED) || (p->content_length > 0 && p->content_length != ULLONG_MAX);
    if (q->body || r->too_large) {
        r->done = true; /* the head is what is answered; the body is never read */
        http_parser_pause(p, 1);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    (void)p;
    (void)at;
    (void)len;
    return 1; /* never reached: the parser pauses before a body */
}

static int on_message_complete(http_parser *p)
{
    of(p)->done = true;
    http_parser_pause(p, 1); /* one request at a time: this one is answered first */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_reader_init(struct http_reader *r)
{
    memset(r, 0, sizeof(*r));
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    r->field = -1;
}

enum http_verdict http_reader_feed(struct http_reader *r, const char *in, size_t len, size_t *used)
{
    /* The parser's count of the head's bytes, as it was left by its last return. */
    size_t room = HTTP_HEAD_MAX - r->parser.nread;
    *used = 0;
    if (room == 0) {
        return HTTP_TOO_LARGE; /* the head filled its room and goes on */
    }
    size_t given = len < room ? len : room;
    size_t n = http_parser_execute(&r->parser, &settings, in, given);
    *used = n;
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (r->parser.upgrade && e == HPE_OK) {
        r->done = true;
    }
    if (r->done && (e == HPE_OK || e == HPE_PAUSED)) {
        bool paused_in_head = r->req.body || r->too_large; /* see on_headers_complete() */
        if (e == HPE_PAUSED && paused_in_head && n < given && in[n] == '\n') {
            *used = n + 1; /* paused as the head ended, the parser had not counted its last byte */
        }
        return r->too_large ? HTTP_TOO_LARGE : HTTP_READY;
    }
    if (e != HPE_OK) {
        return HTTP_BAD;
    }
    return n < len ? HTTP_TOO_LARGE : HTTP_MORE; /* n < len: all the room is used */
}
