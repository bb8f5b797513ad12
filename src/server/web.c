/* web.c - the web port's transport: a request in HTTP, then WebSocket; see web.h.
 *
 * Loop thread of the socket, but for web_setup() and web_teardown(). A connection's web
 * layer sits on the socket, or on a TLS layer (tls.h) for HTTPS and WSS, and reads it
 * whole: first a request's head (http.h), which is answered from the page's files
 * (assets.h), refused, or upgraded; after an upgrade, WebSocket frames (ws.h), whose text
 * goes up to the connection as lines. The connection writes lines, as on any transport:
 * each becomes one text frame, a header in its own iovec before the line's shared bytes.
 * The connection's writes before the upgrade wait here (the pseudo prompt, given when the
 * connection opens) and leave right behind the 101 answer.
 */
#include "web.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets.h"
#include "common/addr.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "http.h"
#include "loop.h"
#include "options.h"
#include "tcp.h"
#include "tls.h"
#include "ws.h"

/* Frames built on the stack per try to write: two iovecs each, well under IOV_MAX. */
#define CHUNK_FRAMES 64

enum web_phase {
    WEB_HTTP,     /* reading a request */
    WEB_ANSWERED, /* answered, the connection ends: what comes is read and dropped */
    WEB_WS,       /* upgraded: frames both ways */
};

struct web {
    struct transport_layer base; /* web_ops; base.tls: the TLS layer beneath, or NULL */
    struct transport *t;         /* borrowed: the socket */
    enum web_phase phase;
    bool upper_reading;           /* the connection wants input */
    bool reading;                 /* the layer beneath is being read */
    bool input_over;              /* its end, or the conversation's, has gone up */
    struct http_reader *http;     /* owned, until the upgrade */
    struct ws ws;                 /* from the upgrade */
    struct transport_write *held; /* the connection's write given before the upgrade */
    uv_buf_t *held_bufs;          /* owned copy of its array of buffers */
    unsigned held_n;
    /* Bytes of a frame that try_write() sent only in part: the write() that follows, which
     * carries the rest of the connection's bytes, starts with the rest of that frame. */
    size_t sent_in_frame;
    /* The message read so far ends with '\n': its end adds none (a client may end its
     * messages as lines, or not). */
    bool text_ends_line;
    /* While one socket read is fed to wslay: the text of its messages, handed up in one
     * piece afterwards, as a TCP read would be, so that what the connection does once per
     * read (flood control's one summary of refusals) it does once here too. */
    struct buf *gather;
};

/* A write given to the layer beneath: the connection's lines as frames, an HTTP answer,
 * or control-frame bytes; the iovecs, then the headers or the copied bytes, follow it. */
struct web_write {
    struct transport_write lower;  /* given to the layer beneath */
    struct transport_write *upper; /* the connection's write it carries, or NULL */
    struct web *wb;
    unsigned n;
    uv_buf_t bufs[];
};

/* Set by web_setup() before the loops start, then only read. */
static const struct server_options *opts;
static struct log_limit *refusal_logs; /* one per loop: refused requests, per second */
static unsigned n_loops;

static const struct transport_ops web_ops;

static struct web *of(const struct transport *t)
{
    return (struct web *)t->tcp.data;
}

static bool closing(const struct web *wb)
{
    return uv_is_closing((const uv_handle_t *)&wb->t->tcp);
}

/* ---------------------------------------------------------------- the layer beneath */

static void on_uv_written(uv_write_t *req, int status)
{
    struct transport_write *w = (struct transport_write *)req;
    w->done(w, status);
}

static int lower_try_write(struct web *wb, const uv_buf_t *bufs, unsigned n)
{
    if (wb->base.tls) {
        return tls_try_write(wb->base.tls, bufs, n);
    }
    return uv_try_write((uv_stream_t *)&wb->t->tcp, bufs, n);
}

static int lower_write(struct web *wb, struct transport_write *w, const uv_buf_t *bufs, unsigned n)
{
    if (wb->base.tls) {
        return tls_write(wb->base.tls, w, bufs, n);
    }
    return uv_write(&w->uv, (uv_stream_t *)&wb->t->tcp, bufs, n, on_uv_written);
}

static size_t lower_pending(const struct web *wb)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&wb->t->tcp);
}

static void on_input(struct web *wb, ssize_t nread, const char *data);
static void on_input_full(struct web *wb);

static void on_uv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    transport_handlers()->alloc((struct transport *)h, b);
}

static void on_uv_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    if (nread == 0) {
        return;
    }
    struct web *wb = st->data;
    on_input(wb, nread, b->base);
    if (nread > 0 && (size_t)nread == b->len) {
        on_input_full(wb);
    }
}

static void on_tls_read(void *arg, ssize_t nread, const char *data)
{
    on_input(arg, nread, data);
}

static void on_tls_full(void *arg)
{
    on_input_full(arg);
}

/* Reads the layer beneath while the connection wants input and there is input to have. */
static void sync_reading(struct web *wb)
{
    bool want = wb->upper_reading && !wb->input_over && !closing(wb);
    if (want == wb->reading) {
        return;
    }
    wb->reading = want;
    if (!want) {
        wb->base.tls ? tls_read_stop(wb->base.tls) : (void)uv_read_stop((uv_stream_t *)&wb->t->tcp);
    } else if (wb->base.tls) {
        (void)tls_read_start(wb->base.tls);
    } else {
        (void)uv_read_start((uv_stream_t *)&wb->t->tcp, on_uv_alloc, on_uv_read);
    }
}

/* The end of the input, or of the conversation, goes up: the connection closes. */
static void end_input(struct web *wb, int status)
{
    if (wb->input_over) {
        return;
    }
    wb->input_over = true;
    sync_reading(wb);
    transport_handlers()->on_read(wb->t, status, NULL);
}

/* ---------------------------------------------------------------- writes of our own */

static void on_own_written(struct transport_write *lw, int status);

/* A write request with room for n iovecs and extra bytes after them. */
static struct web_write *new_write(struct web *wb, unsigned n, size_t extra,
                                   struct transport_write *upper)
{
    struct web_write *ww = xmalloc(sizeof(*ww) + n * sizeof(uv_buf_t) + extra);
    ww->lower.done = on_own_written;
    ww->upper = upper;
    ww->wb = wb;
    ww->n = n;
    return ww;
}

static char *extra_bytes(struct web_write *ww)
{
    return (char *)&ww->bufs[ww->n];
}

static int send_write(struct web *wb, struct web_write *ww)
{
    int r = lower_write(wb, &ww->lower, ww->bufs, ww->n);
    if (r < 0) {
        free(ww);
    }
    return r;
}

/* Sends a copy of data[0..len) behind everything already written. */
static int send_copy(struct web *wb, const void *data, size_t len)
{
    struct web_write *ww = new_write(wb, 1, len, NULL);
    memcpy(extra_bytes(ww), data, len);
    ww->bufs[0] = uv_buf_init(extra_bytes(ww), (unsigned)len);
    return send_write(wb, ww);
}

static void on_own_written(struct transport_write *lw, int status)
{
    struct web_write *ww = (struct web_write *)lw;
    struct web *wb = ww->wb;
    struct transport_write *upper = ww->upper;
    free(ww);
    if (upper) {
        upper->done(upper, status);
    }
    if (status == 0 && wb->phase == WEB_WS && !closing(wb)) {
        ws_flush(&wb->ws); /* control frames that waited behind a frame sent in part */
    }
}

/* ---------------------------------------------------------------- frames out */

/* Walks a write's buffers line by line: each line ('\n' ends it, or its buffer's end) is
 * one frame, whose payload is the line without its '\n'. */
struct line_walk {
    const uv_buf_t *bufs;
    unsigned n, i;
    size_t off;
};

/* The next line's payload and the bytes of the buffers it takes; false at the end. */
static bool next_line(struct line_walk *lw, const char **payload, size_t *len, size_t *taken)
{
    while (lw->i < lw->n && lw->off == lw->bufs[lw->i].len) {
        lw->i++;
        lw->off = 0;
    }
    if (lw->i == lw->n) {
        return false;
    }
    const uv_buf_t *b = &lw->bufs[lw->i];
    *payload = b->base + lw->off;
    size_t rest = b->len - lw->off;
    const char *nl = memchr(*payload, '\n', rest);
    *len = nl ? (size_t)(nl - *payload) : rest;
    *taken = nl ? *len + 1 : rest;
    lw->off += *taken;
    return true;
}

static size_t count_lines(const uv_buf_t *bufs, unsigned n)
{
    struct line_walk lw = {bufs, n, 0, 0};
    const char *p;
    size_t len, taken, lines = 0;
    while (next_line(&lw, &p, &len, &taken)) {
        lines++;
    }
    return lines;
}

/* Frames on the stack, as many as fit, for one try to write. */
struct chunk {
    uv_buf_t iov[2 * CHUNK_FRAMES];
    uint8_t headers[CHUNK_FRAMES][WS_HEADER_MAX];
    size_t wire[CHUNK_FRAMES];  /* bytes of each frame on the wire */
    size_t taken[CHUNK_FRAMES]; /* bytes of the connection's buffers each frame carries */
    unsigned frames;
    size_t wire_total;
};

static void fill_chunk(struct chunk *ch, struct line_walk *lw)
{
    const char *p;
    size_t len, taken;
    ch->frames = 0;
    ch->wire_total = 0;
    while (ch->frames < CHUNK_FRAMES && next_line(lw, &p, &len, &taken)) {
        unsigned f = ch->frames++;
        size_t h = ws_text_header(ch->headers[f], len);
        ch->iov[2 * f] = uv_buf_init((char *)ch->headers[f], (unsigned)h);
        ch->iov[2 * f + 1] = uv_buf_init((char *)p, (unsigned)len);
        ch->wire[f] = h + len;
        ch->taken[f] = taken;
        ch->wire_total += h + len;
    }
}

/* Of sent bytes of the chunk on the wire, the connection's bytes that whole frames carry;
 * the bytes of a frame sent in part are kept in wb->sent_in_frame. */
static size_t account(struct web *wb, const struct chunk *ch, size_t sent)
{
    size_t taken = 0;
    for (unsigned f = 0; f < ch->frames && sent > 0; f++) {
        if (sent < ch->wire[f]) {
            wb->sent_in_frame = sent;
            break;
        }
        sent -= ch->wire[f];
        taken += ch->taken[f];
    }
    return taken;
}

static int op_try_write(struct transport *t, const uv_buf_t *bufs, unsigned n)
{
    struct web *wb = of(t);
    if (wb->phase != WEB_WS || ws_over(&wb->ws)) {
        return wb->phase == WEB_HTTP ? UV_EAGAIN : UV_EPIPE;
    }
    if (wb->sent_in_frame > 0) {
        return UV_EAGAIN; /* the rest of that frame goes first, by write() */
    }
    struct line_walk lw = {bufs, n, 0, 0};
    struct chunk ch;
    size_t taken = 0;
    for (;;) {
        fill_chunk(&ch, &lw);
        if (ch.frames == 0) {
            break;
        }
        int r = lower_try_write(wb, ch.iov, 2 * ch.frames);
        if (r < 0) {
            return taken > 0 ? (int)taken : r; /* an error shows again at the next write */
        }
        taken += account(wb, &ch, (size_t)r);
        if ((size_t)r < ch.wire_total) {
            break;
        }
    }
    return taken > 0 ? (int)taken : UV_EAGAIN;
}

/* The connection's bufs as frames, in one request, less what try_write() already sent. */
static struct web_write *frame_all(struct web *wb, struct transport_write *w, const uv_buf_t *bufs,
                                   unsigned n)
{
    size_t lines = count_lines(bufs, n);
    struct web_write *ww = new_write(wb, (unsigned)(2 * lines), lines * WS_HEADER_MAX, w);
    uint8_t *headers = (uint8_t *)extra_bytes(ww);
    struct line_walk lw = {bufs, n, 0, 0};
    const char *p;
    size_t len, taken;
    for (size_t f = 0; next_line(&lw, &p, &len, &taken); f++) {
        uint8_t *h = headers + f * WS_HEADER_MAX;
        ww->bufs[2 * f] = uv_buf_init((char *)h, (unsigned)ws_text_header(h, len));
        ww->bufs[2 * f + 1] = uv_buf_init((char *)p, (unsigned)len);
    }
    /* Skip what was sent of the first frame: its header, then its payload. */
    for (unsigned i = 0; i < ww->n && wb->sent_in_frame > 0; i++) {
        size_t k = ww->bufs[i].len < wb->sent_in_frame ? ww->bufs[i].len : wb->sent_in_frame;
        ww->bufs[i].base += k;
        ww->bufs[i].len -= (unsigned)k;
        wb->sent_in_frame -= k;
    }
    return ww;
}

static int op_write(struct transport *t, struct transport_write *w, const uv_buf_t *bufs,
                    unsigned n)
{
    struct web *wb = of(t);
    if (wb->phase == WEB_HTTP) {
        if (wb->held) {
            return UV_EBUSY; /* one write at a time: the contract */
        }
        wb->held = w;
        wb->held_bufs = xcalloc(n, sizeof(*bufs));
        memcpy(wb->held_bufs, bufs, n * sizeof(*bufs));
        wb->held_n = n;
        return 0;
    }
    if (wb->phase != WEB_WS || ws_over(&wb->ws)) {
        return UV_EPIPE;
    }
    return send_write(wb, frame_all(wb, w, bufs, n));
}

/* The connection's write given before the upgrade leaves now, framed; or is cancelled. */
static void release_held(struct web *wb, bool send)
{
    struct transport_write *w = wb->held;
    if (!w) {
        return;
    }
    wb->held = NULL;
    int r = send ? op_write(wb->t, w, wb->held_bufs, wb->held_n) : UV_ECANCELED;
    free(wb->held_bufs);
    wb->held_bufs = NULL;
    if (r < 0) {
        w->done(w, r);
    }
}

/* ---------------------------------------------------------------- frames in */

static void on_ws_text(void *arg, const char *data, size_t len)
{
    struct web *wb = arg;
    wb->text_ends_line = data[len - 1] == '\n'; /* wslay gives no empty piece */
    buf_append(wb->gather, data, len);
}

static void on_ws_text_end(void *arg)
{
    struct web *wb = arg;
    if (!wb->text_ends_line) {
        buf_append_char(wb->gather, '\n'); /* a message is a line */
    }
    wb->text_ends_line = false;
}

/* wslay's pongs and closes: at once if the socket takes them, else behind what waits. */
static ssize_t on_ws_send(void *arg, const uint8_t *data, size_t len)
{
    struct web *wb = arg;
    if (closing(wb)) {
        return -1;
    }
    if (wb->sent_in_frame > 0) {
        return 0; /* not inside a frame: after the write() that finishes it */
    }
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int r = lower_try_write(wb, &b, 1);
    if (r < 0 && r != UV_EAGAIN) {
        return -1;
    }
    size_t sent = r > 0 ? (size_t)r : 0;
    if (sent < len && send_copy(wb, data + sent, len - sent) < 0) {
        return -1;
    }
    return (ssize_t)len;
}

static const struct ws_handlers ws_side = {on_ws_text, on_ws_text_end, on_ws_send};

static void on_ws_input(struct web *wb, const char *data, size_t len)
{
    struct buf text = BUF_INIT;
    wb->gather = &text;
    int r = ws_feed(&wb->ws, data, len);
    wb->gather = NULL;
    if (text.len > 0 && !closing(wb)) {
        transport_handlers()->on_read(wb->t, (ssize_t)text.len, text.data);
    }
    buf_release(&text);
    if (r < 0 && !closing(wb)) {
        /* The peer closed, or broke the protocol and was told with a close frame. */
        end_input(wb, r == -EPIPE ? UV_EOF : UV_EPROTO);
    }
}

/* ---------------------------------------------------------------- HTTP answers */

static const char security_headers[] =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n";

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Service Unavailable";
    }
}

/* Writes an answer's head into out; returns its length (cut to size - 1). */
static size_t format_head(char *out, size_t size, int status, const char *type, size_t body_len,
                          const char *extra)
{
    int n = snprintf(out, size,
                     "HTTP/1.1 %d %s\r\n%sContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-cache\r\nConnection: close\r\n%s\r\n",
                     status, status_text(status), security_headers, type, body_len, extra);
    return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

size_t web_refusal(char *out, size_t size, const char *text)
{
    size_t head = format_head(out, size, 503, "text/plain; charset=utf-8", strlen(text) + 1, "");
    int n = snprintf(out + head, size - head, "%s\n", text);
    return n < 0 ? head : head + (size_t)n >= size ? size - 1 : head + (size_t)n;
}

static void on_answer_fin(void *arg, int status)
{
    (void)arg;
    (void)status; /* the peer closes on its side, or the session's deadline does */
}

static void on_uv_fin(uv_shutdown_t *req, int status)
{
    free(req);
    (void)status;
}

/* Ends our side once the answer is written; what the peer still sends is dropped until it
 * closes too, so that its unread bytes never turn our close into a reset that could cut
 * the answer short. The session's handshake deadline bounds the wait. */
static void finish_answer(struct web *wb)
{
    wb->phase = WEB_ANSWERED;
    if (wb->base.tls) {
        (void)tls_shutdown(wb->base.tls, on_answer_fin, wb);
        return;
    }
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    if (uv_shutdown(req, (uv_stream_t *)&wb->t->tcp, on_uv_fin) < 0) {
        free(req);
    }
}

/* Answers with a head and a body that outlives the connection (static data). */
static void answer(struct web *wb, int status, const char *type, const void *body, size_t len,
                   bool head_only, const char *extra)
{
    char head[1024];
    size_t head_len = format_head(head, sizeof(head), status, type, len, extra);
    struct web_write *ww = new_write(wb, 2, head_len, NULL);
    memcpy(extra_bytes(ww), head, head_len);
    ww->bufs[0] = uv_buf_init(extra_bytes(ww), (unsigned)head_len);
    ww->bufs[1] = uv_buf_init((char *)body, head_only ? 0 : (unsigned)len);
    if (send_write(wb, ww) < 0) {
        end_input(wb, UV_EPIPE);
        return;
    }
    finish_answer(wb);
}

static void log_refusal(struct web *wb, const char *why)
{
    struct loop *l = wb->t->tcp.loop->data;
    size_t skipped;
    if (!log_limit_allow(&refusal_logs[l->index], loop_now(l), &skipped)) {
        return;
    }
    char peer[ADDR_NAME_MAX];
    tcp_peer_name(wb->t, peer, sizeof(peer));
    if (skipped > 0) {
        log_warn("requête web refusée (%s) : %s ; et %zu autres refus non journalisés", peer, why,
                 skipped);
    } else {
        log_warn("requête web refusée (%s) : %s", peer, why);
    }
}

/* A refusal in French: its text is the body, and why it is logged (NULL: not logged). */
static void refuse(struct web *wb, int status, const char *text, const char *extra, const char *why)
{
    if (why) {
        log_refusal(wb, why);
    }
    answer(wb, status, "text/plain; charset=utf-8", text, strlen(text), false, extra);
}

#define BODY_BAD       "Requête HTTP invalide.\n"
#define BODY_TOO_LARGE "En-têtes de requête trop longs : 8 Kio au plus.\n"
#define BODY_NOT_FOUND "Page introuvable.\n"
#define BODY_METHOD    "Méthode non permise : seules GET et HEAD le sont ici.\n"
#define BODY_UPGRADE   "Cette adresse attend une connexion WebSocket (version 13).\n"
#define BODY_ORIGIN    "Origine non autorisée : la page doit venir de ce serveur.\n"

/* ---------------------------------------------------------------- the upgrade */

/* Whether the page that opens the WebSocket may: no Origin (not a browser: there is no
 * other site's page to fear), this server's own (scheme and Host), or one --web-origin
 * names. Browsers send an origin in lower case; the comparison ignores case all the same. */
static bool origin_allowed(const struct web *wb, const struct http_request *q)
{
    if (q->origin[0] == '\0') {
        return true;
    }
    char own[sizeof(q->host) + 16];
    snprintf(own, sizeof(own), "%s://%s", wb->base.tls ? "https" : "http", q->host);
    if (strcasecmp(q->origin, own) == 0) {
        return true;
    }
    for (unsigned i = 0; i < opts->n_web_origins; i++) {
        if (strcasecmp(q->origin, opts->web_origins[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* A Sec-WebSocket-Key: 16 bytes in base64, 24 characters. */
static bool valid_key(const char *key)
{
    size_t n = strlen(key);
    if (n != 24 || strcmp(key + 22, "==") != 0) {
        return false;
    }
    for (size_t i = 0; i < 22; i++) {
        char c = key[i];
        bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '+' || c == '/';
        if (!b64) {
            return false;
        }
    }
    return true;
}

static void accept_upgrade(struct web *wb, const char *rest, size_t rest_len)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char in[HTTP_VALUE_MAX + sizeof(guid)], accept[29], head[1024];
    int in_len = snprintf(in, sizeof(in), "%s%s", wb->http->req.ws_key, guid);
    tls_sha1_base64(in, (size_t)in_len, accept);
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 101 Switching Protocols\r\n%sUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     security_headers, accept);
    free(wb->http);
    wb->http = NULL;
    if (ws_init(&wb->ws, &ws_side, wb) < 0) {
        wb->phase = WEB_ANSWERED; /* nothing more is read or written */
        end_input(wb, UV_ENOMEM);
        return;
    }
    wb->phase = WEB_WS;
    int r = send_copy(wb, head, (size_t)n);
    if (r < 0) {
        end_input(wb, r);
        return;
    }
    release_held(wb, true); /* the prompt, right behind the 101 */
    if (rest_len > 0 && !closing(wb)) {
        on_ws_input(wb, rest, rest_len); /* frames that came with the request */
    }
}

/* A request for /ws: upgraded if it is a valid WebSocket handshake from an allowed page. */
static void route_ws(struct web *wb, const char *rest, size_t rest_len)
{
    const struct http_request *q = &wb->http->req;
    char why[HTTP_VALUE_MAX + 64];
    if (!q->get) {
        refuse(wb, 405, BODY_METHOD, "Allow: GET\r\n", NULL);
    } else if (q->body) {
        refuse(wb, 400, BODY_BAD, "", "requête WebSocket avec un corps");
    } else if (!q->upgrade || !q->websocket || strcmp(q->ws_version, "13") != 0) {
        refuse(wb, 426, BODY_UPGRADE, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n", NULL);
    } else if (!valid_key(q->ws_key) || q->host[0] == '\0') {
        refuse(wb, 400, BODY_BAD, "", "poignée de main WebSocket invalide");
    } else if (!origin_allowed(wb, q)) {
        snprintf(why, sizeof(why), "origine « %s » non autorisée", q->origin);
        refuse(wb, 403, BODY_ORIGIN, "", why);
    } else {
        accept_upgrade(wb, rest, rest_len);
    }
}

static void route(struct web *wb, const char *rest, size_t rest_len)
{
    const struct http_request *q = &wb->http->req;
    if (!q->path_cut && strcmp(q->path, "/ws") == 0) {
        route_ws(wb, rest, rest_len);
        return;
    }
    const struct asset *a = q->path_cut ? NULL : assets_find(q->path);
    if (!a) {
        refuse(wb, 404, BODY_NOT_FOUND, "", NULL);
    } else if (!q->get && !q->head) {
        refuse(wb, 405, BODY_METHOD, "Allow: GET, HEAD\r\n", NULL);
    } else if (q->body) {
        refuse(wb, 400, BODY_BAD, "", "requête GET avec un corps");
    } else {
        answer(wb, 200, a->type, a->data, a->len, q->head, "");
    }
}

static void on_http_input(struct web *wb, const char *data, size_t len)
{
    size_t used = 0;
    enum http_verdict v = http_reader_feed(wb->http, data, len, &used);
    if (v == HTTP_READY) {
        route(wb, data + used, len - used);
    } else if (v == HTTP_TOO_LARGE) {
        refuse(wb, 431, BODY_TOO_LARGE, "", "en-têtes de plus de 8 Kio");
    } else if (v == HTTP_BAD) {
        refuse(wb, 400, BODY_BAD, "", "requête HTTP invalide");
    }
}

/* ---------------------------------------------------------------- input */

static void on_input(struct web *wb, ssize_t nread, const char *data)
{
    if (wb->input_over || closing(wb)) {
        return;
    }
    if (nread < 0) {
        end_input(wb, (int)nread);
    } else if (wb->phase == WEB_HTTP) {
        on_http_input(wb, data, (size_t)nread);
    } else if (wb->phase == WEB_WS) {
        on_ws_input(wb, data, (size_t)nread);
    } /* WEB_ANSWERED: dropped, until the peer closes */
}

/* A full read: in WebSocket, the connection decides, as on any transport; before, the
 * request is small and is read on. */
static void on_input_full(struct web *wb)
{
    if (wb->phase == WEB_WS && !wb->input_over && !closing(wb)) {
        transport_handlers()->on_full(wb->t);
    }
}

/* ---------------------------------------------------------------- the transport */

static int op_read_start(struct transport *t)
{
    struct web *wb = of(t);
    wb->upper_reading = true;
    sync_reading(wb);
    return 0;
}

static void op_read_stop(struct transport *t)
{
    struct web *wb = of(t);
    wb->upper_reading = false;
    sync_reading(wb);
}

static size_t op_pending(const struct transport *t)
{
    return lower_pending(of(t));
}

static bool op_holding(const struct transport *t)
{
    return of(t)->held != NULL;
}

static void on_fin(struct web *wb, int status)
{
    transport_handlers()->on_shutdown(wb->t, status);
}

static void on_tls_fin(void *arg, int status)
{
    on_fin(arg, status);
}

static void on_tcp_fin(uv_shutdown_t *req, int status)
{
    struct web *wb = req->data;
    free(req);
    on_fin(wb, status);
}

/* The connection's end: a close frame (1000) if upgraded, then our side of the socket. */
static int op_shutdown(struct transport *t)
{
    struct web *wb = of(t);
    if (wb->phase == WEB_ANSWERED) {
        return UV_ENOTCONN; /* our side is ending already, after the answer */
    }
    if (wb->phase == WEB_WS) {
        ws_close(&wb->ws, WS_CLOSE_NORMAL);
    }
    release_held(wb, false); /* before the upgrade: nobody to say it to yet */
    if (wb->base.tls) {
        return tls_shutdown(wb->base.tls, on_tls_fin, wb);
    }
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    req->data = wb;
    int r = uv_shutdown(req, (uv_stream_t *)&t->tcp, on_tcp_fin);
    if (r < 0) {
        free(req);
    }
    return r;
}

static void on_closed(uv_handle_t *h)
{
    struct transport *t = (struct transport *)h;
    struct web *wb = of(t);
    if (wb->base.tls) {
        tls_free(wb->base.tls);
    }
    if (wb->phase == WEB_WS) {
        ws_release(&wb->ws);
    }
    free(wb->http);
    free(wb);
    transport_handlers()->on_closed(t);
}

static void op_close(struct transport *t)
{
    struct web *wb = of(t);
    if (wb->phase == WEB_WS) {
        ws_stop(&wb->ws);
    }
    release_held(wb, false);
    if (wb->base.tls) {
        tls_cancel(wb->base.tls);
    }
    uv_close((uv_handle_t *)&t->tcp, on_closed);
}

static const struct transport_ops web_ops = {
    .name = "web",
    .read_start = op_read_start,
    .read_stop = op_read_stop,
    .try_write = op_try_write,
    .write = op_write,
    .pending = op_pending,
    .holding = op_holding,
    .shutdown = op_shutdown,
    .close = op_close,
    .peer_name = tcp_peer_name,
};

/* ---------------------------------------------------------------- opening */

static struct web *new_web(struct transport *t)
{
    struct web *wb = xcalloc(1, sizeof(*wb));
    wb->base.ops = &web_ops;
    wb->t = t;
    wb->phase = WEB_HTTP;
    wb->http = xmalloc(sizeof(*wb->http));
    http_reader_init(wb->http);
    return wb;
}

int web_open(struct transport *t, uv_loop_t *loop, int fd)
{
    int r = tcp_open(t, loop, fd);
    if (r < 0) {
        return r;
    }
    struct web *wb = new_web(t);
    t->tcp.data = wb;
    return 0;
}

int web_tls_open(struct transport *t, uv_loop_t *loop, int fd)
{
    struct web *wb = new_web(t);
    struct tls_upper upper = {on_tls_read, on_tls_full, wb};
    struct tls *s = tls_attach(t, loop, fd, &upper);
    if (!s) {
        free(wb->http);
        free(wb);
        return UV_ENOMEM;
    }
    wb->base.tls = s;
    t->tcp.data = wb;
    return 0;
}

/* ---------------------------------------------------------------- set-up */

void web_setup(const struct server_options *o, unsigned loops)
{
    opts = o;
    n_loops = loops;
    refusal_logs = xcalloc(n_loops, sizeof(*refusal_logs));
}

void web_teardown(void)
{
    free(refusal_logs);
    refusal_logs = NULL;
    n_loops = 0;
    opts = NULL;
}
