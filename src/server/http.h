/* http.h - the head of an HTTP request, read as its bytes come: the web port's first words.
 *
 * The one server file that calls http-parser (Node.js's former parser, from Debian's
 * libhttp-parser). A reader takes the bytes of a connection as they arrive, split
 * anywhere, and says when a request's head is whole: its method, path and the few headers
 * the web port acts on (Host, Origin, and those of a WebSocket upgrade). Everything else
 * is read and dropped; nothing is allocated. A head longer than HTTP_HEAD_MAX is refused
 * as it passes the limit, and so is anything the parser does not accept; reading stops at
 * the end of the head, and a request that announces a body says so (the web port takes
 * none). Pure: no I/O; any thread, one reader each.
 */
#ifndef CAUSERIE_HTTP_H
#define CAUSERIE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <http_parser.h>

/* Bytes of a request's line and headers, past which it is refused (431). */
#define HTTP_HEAD_MAX 8192
/* Bytes kept of the path and of each header the reader keeps; a longer one is marked
 * cut (a path that long names nothing here; a header that long is refused). */
#define HTTP_PATH_MAX  256
#define HTTP_VALUE_MAX 256

enum http_verdict {
    HTTP_MORE = 0,         /* the head is not whole yet: feed more */
    HTTP_READY = 1,        /* a request's head is whole: see the request */
    HTTP_BAD = -400,       /* not HTTP/1.x as the parser reads it */
    HTTP_TOO_LARGE = -431, /* a head past HTTP_HEAD_MAX, or a kept header past its room */
};

/* What the web port needs of a request. Strings are NUL-terminated. */
struct http_request {
    bool get, head;           /* the method, when it is GET or HEAD */
    bool path_cut;            /* the path was longer than HTTP_PATH_MAX - 1 */
    bool upgrade;             /* an upgrade was asked for (Connection: upgrade) */
    bool websocket;           /* ... to WebSocket (Upgrade: websocket) */
    bool body;                /* a body follows the head (Content-Length, chunked) */
    char path[HTTP_PATH_MAX]; /* the target without its query, "/", "/ws", "/app.js" */
    char host[HTTP_VALUE_MAX];
    char origin[HTTP_VALUE_MAX];
    char ws_key[HTTP_VALUE_MAX];     /* Sec-WebSocket-Key */
    char ws_version[HTTP_VALUE_MAX]; /* Sec-WebSocket-Version */
    char upgrade_to[HTTP_VALUE_MAX]; /* Upgrade */
};

struct http_reader {
    http_parser parser;
    struct http_request req;
    int field;     /* the header being read: an index into the kept ones, or -1 */
    char name[24]; /* the name of the header being read, lower case, cut */
    size_t name_len;
    size_t value_len; /* bytes of its value so far */
    bool in_value;    /* the parser gives a value now (a new name ends it) */
    bool in_query;    /* the target's query has begun: the rest of it is not the path */
    bool done;        /* the head is whole */
    bool too_large;   /* a kept header's value was past its room: refused once whole */
};

void http_reader_init(struct http_reader *r);
/* Reads in[0..len) up to the end of a request's head. Returns HTTP_READY (r->req is the
 * request, and *used the bytes up to the end of its head: for an upgrade, what follows is
 * the next protocol's), HTTP_MORE (all of in was used; the head goes on), or an error
 * verdict, after which the reader is done for. The same verdicts come out however the
 * bytes are split. */
enum http_verdict http_reader_feed(struct http_reader *r, const char *in, size_t len, size_t *used);

#endif
