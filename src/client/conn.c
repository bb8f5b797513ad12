/* conn.c - the client's connection to the server; see conn.h for the contract.
 *
 * Client thread only, on its uv loop; struct conn owns the socket, the timer and the
 * resolved addresses. Each address is tried on a newly initialised c->tcp: a handle that
 * failed to connect must be closed, and may be initialised again only in its close
 * callback. Reads land in read_buf and are framed at once. Each line sent is copied into
 * its own write request, freed once written; unsent counts those bytes so that piped
 * input can wait for them. A connection that is lost (fail()) drops its socket and reports
 * through on_closed, but the struct stays usable: conn_connect() may start again, for the
 * reconnection. conn_close() is the end, and does not report.
 *
 * With TLS (tls_config set), a TCP connection is first an attempt still: the handshake
 * runs on it (tls.c, over memory BIOs: what the socket gives is fed in, what the session
 * produces is written out), and only a verified handshake makes the connection count
 * (connected, on_connected with 0). Ciphertext read goes through the session and the
 * plaintext that comes out is framed in read_buf; each line sent becomes one record,
 * written like a plain line. Plain TCP takes none of these paths.
 */
#include "conn.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/fr.h"
#include "common/wipe.h"
#include "common/xalloc.h"
#include "options.h"

struct write_req {
    uv_write_t req;
    struct conn *c; /* borrowed */
    size_t len;
    bool secret; /* data is a secret answer: wiped before it is freed */
    char data[]; /* the line and its '\n', or ciphertext */
};

static void on_connect(uv_connect_t *req, int status);

void conn_init(struct conn *c, uv_loop_t *loop)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    proto_framer_init(&c->framer, CONN_MAX_LINE);
    buf_init(&c->tls_why);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
}

/* ---------------------------------------------------------------- reading */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    struct conn *c = h->data;
    *b = uv_buf_init(c->read_buf, sizeof(c->read_buf));
}

static void try_next_address(struct conn *c);

/* The socket of a lost connection is closed: a connection waiting for the handle starts. */
static void on_dropped(uv_handle_t *h)
{
    struct conn *c = h->data;
    c->tcp_closing = false;
    if (c->waiting_for_handle && !c->closing) {
        c->waiting_for_handle = false;
        try_next_address(c);
    }
}

/* Drops the socket and what was half read, keeps the rest for a later conn_connect(). */
static void disconnect(struct conn *c)
{
    c->connected = false;
    c->handshaking = false;
    tls_free(c->tls);
    c->tls = NULL;
    uv_timer_stop(&c->timer);
    if (c->tcp_open) {
        uv_close((uv_handle_t *)&c->tcp, on_dropped);
        c->tcp_open = false;
        c->tcp_closing = true;
    }
    if (c->addrs) {
        uv_freeaddrinfo(c->addrs);
        c->addrs = NULL;
    }
    proto_framer_release(&c->framer);
    proto_framer_init(&c->framer, CONN_MAX_LINE);
}

static void fail(struct conn *c, int status)
{
    disconnect(c);
    if (c->on_closed) {
        c->on_closed(c, status);
    }
}

static void abandon_attempt(struct conn *c, int err);
static void handshake_step(struct conn *c);

/* A read or a write failed: during the TLS handshake the address is abandoned, as when
 * its connect fails; afterwards the connection is lost. */
static void lost(struct conn *c, int err)
{
    if (c->handshaking) {
        abandon_attempt(c, err);
    } else {
        fail(c, err);
    }
}

/* Hands every complete line of in to on_line. */
static void frame(struct conn *c, const char *in, size_t in_len)
{
    while (!c->closing && c->connected) { /* a line may have dropped the connection */
        const char *line;
        size_t len;
        int r = proto_framer_next(&c->framer, &in, &in_len, &line, &len);
        if (r == -EAGAIN) {
            break;
        }
        if (r == 0) {
            c->on_line(c, line, len);
        }
        /* -EMSGSIZE: a server line past CONN_MAX_LINE is skipped, not shown in part. */
    }
}

static bool send_tls_output(struct conn *c);

/* With TLS: the plaintext the session has, framed in read_buf (the ciphertext that was
 * there has been copied into the session). A line may drop the connection, and the
 * session with it. */
static void read_plaintext(struct conn *c)
{
    while (c->tls && c->connected && !c->closing) {
        int n = tls_read(c->tls, c->read_buf, sizeof(c->read_buf));
        if (n == -EAGAIN) {
            send_tls_output(c); /* what reading made the session say, if anything */
            return;
        }
        if (n <= 0) {
            fail(c, n == 0 ? UV_EOF : UV_EPROTO); /* 0: the server's close_notify */
            return;
        }
        frame(c, c->read_buf, (size_t)n);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = s->data;
    if (nread < 0) {
        lost(c, (int)nread);
        return;
    }
    if (!c->tls) {
        frame(c, b->base, (size_t)nread);
        return;
    }
    tls_feed(c->tls, b->base, (size_t)nread);
    if (c->handshaking) {
        handshake_step(c);
    }
    read_plaintext(c); /* nothing while the handshake goes on, or after it failed */
}

/* ---------------------------------------------------------------- connecting */

/* The failed attempt's handle is closed: only now may the next address reuse it. */
static void on_attempt_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    c->tcp_closing = false;
    if (c->closing) {
        return;
    }
    c->trying = c->trying->ai_next;
    try_next_address(c);
}

/* Gives up on the address being tried. A libuv handle being closed cannot be initialised
 * again before its close callback, so the next address is tried from there. */
static void abandon_attempt(struct conn *c, int err)
{
    uv_timer_stop(&c->timer);
    c->handshaking = false;
    tls_free(c->tls);
    c->tls = NULL;
    if (!c->first_error && err != UV_ECANCELED) {
        c->first_error = err;
    }
    c->tcp_open = false;
    c->tcp_closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_attempt_closed);
}

/* The connect, or the TLS handshake after it, took too long. */
static void on_connect_timeout(uv_timer_t *t)
{
    abandon_attempt(t->data, UV_ETIMEDOUT); /* a connect then ends with UV_ECANCELED */
}

/* The connection counts: plain TCP is up, or the TLS handshake is done and verified. */
static void connection_up(struct conn *c)
{
    uv_timer_stop(&c->timer);
    c->connected = true;
    uv_freeaddrinfo(c->addrs);
    c->addrs = NULL;
    c->on_connected(c, 0);
}

/* Runs the handshake as far as what was read allows, and sends what it produced. */
static void handshake_step(struct conn *c)
{
    buf_reset(&c->tls_why);
    int r = tls_handshake(c->tls, &c->tls_why);
    if (!send_tls_output(c)) {
        return; /* the socket failed: the attempt is abandoned */
    }
    if (r == -EAGAIN) {
        return;
    }
    if (r < 0) {
        disconnect(c); /* after the alert, queued above: libuv tries it at once */
        c->on_connected(c, r);
        return;
    }
    c->handshaking = false;
    connection_up(c);
}

/* TCP is up: the TLS handshake starts, with a new CONNECT_TIMEOUT_S to finish. */
static void start_handshake(struct conn *c)
{
    c->tls = tls_new(c->tls_config, c->host);
    c->handshaking = true;
    uv_timer_start(&c->timer, on_connect_timeout, CONNECT_TIMEOUT_S * 1000, 0);
    handshake_step(c); /* the ClientHello */
}

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->closing || !c->tcp_open) {
        return; /* closed by conn_close(), or already abandoned on time-out */
    }
    uv_timer_stop(&c->timer);
    if (status < 0) {
        abandon_attempt(c, status);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (c->tls_config) {
        start_handshake(c);
        return;
    }
    connection_up(c);
}

static void try_next_address(struct conn *c)
{
    if (!c->trying) {
        uv_freeaddrinfo(c->addrs);
        c->addrs = NULL;
        c->on_connected(c, c->first_error ? c->first_error : UV_ECONNREFUSED);
        return;
    }
    if (c->tcp_closing) {
        c->waiting_for_handle = true; /* the last connection's handle: on_dropped() goes on */
        return;
    }
    /* A handle that failed to connect cannot be reused: each address gets a new one. */
    uv_tcp_init(c->loop, &c->tcp);
    c->tcp.data = c;
    c->tcp_open = true;
    c->connect_req.data = c;
    int r = uv_tcp_connect(&c->connect_req, &c->tcp, c->trying->ai_addr, on_connect);
    if (r < 0) {
        on_connect(&c->connect_req, r);
        return;
    }
    uv_timer_start(&c->timer, on_connect_timeout, CONNECT_TIMEOUT_S * 1000, 0);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct conn *c = req->data;
    if (c->closing) {
        uv_freeaddrinfo(res);
        return;
    }
    if (status < 0) {
        c->on_connected(c, status);
        return;
    }
    c->addrs = res;
    c->trying = res;
    try_next_address(c);
}

int conn_connect(struct conn *c, const char *host, int port)
{
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    addr_format_host(host, port, c->name, sizeof(c->name));
    free(c->host);
    c->host = xstrdup(host);
    buf_reset(&c->tls_why);
    c->first_error = 0;
    c->connected = false;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->resolve_req.data = c;
    return uv_getaddrinfo(c->loop, &c->resolve_req, on_resolved, host, service, &hints);
}

const char *conn_strerror(const struct conn *c, int status)
{
    if ((status == TLS_EREFUSED || status == TLS_EFAILED) && c->tls_why.len > 0) {
        return c->tls_why.data;
    }
    return fr_strerror(status);
}

/* ---------------------------------------------------------------- writing and closing */

static void free_write(struct write_req *w)
{
    if (w->secret) {
        wipe_bytes(w->data, w->len);
    }
    free(w);
}

static void on_write_done(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct conn *c = w->c;
    c->unsent -= w->len;
    free_write(w);
    if (status < 0 && status != UV_ECANCELED && !c->closing) {
        lost(c, status);
        return;
    }
    if (c->unsent == 0 && c->on_drained && !c->closing) {
        c->on_drained(c);
    }
}

/* Hands w to libuv; unsent counts it until it is written. Returns false if that failed,
 * which has freed w and lost the connection. */
static bool queue_write(struct conn *c, struct write_req *w)
{
    uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
    c->unsent += w->len;
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write_done);
    if (r < 0) {
        c->unsent -= w->len;
        free_write(w);
        lost(c, r);
        return false;
    }
    return true;
}

/* Writes what the TLS session has to send, in one request. Returns false if that lost the
 * connection (or abandoned the attempt). */
static bool send_tls_output(struct conn *c)
{
    size_t n = tls_pending(c->tls);
    if (n == 0) {
        return true;
    }
    struct write_req *w = xmalloc(sizeof(*w) + n);
    w->c = c;
    w->secret = false; /* ciphertext */
    w->len = tls_take(c->tls, w->data, n);
    assert(w->len == n);
    return queue_write(c, w);
}

static void send_line(struct conn *c, const char *text, size_t len, bool secret)
{
    assert(memchr(text, '\n', len) == NULL); /* one line is one message: callers split */
    if (!c->connected || c->closing) {
        return;
    }
    struct write_req *w = xmalloc(sizeof(*w) + len + 1);
    w->c = c;
    w->len = len + 1;
    w->secret = secret;
    memcpy(w->data, text, len);
    w->data[len] = '\n';
    if (!c->tls) {
        queue_write(c, w);
        return;
    }
    /* The line, '\n' included, as one record, encrypted at once: our copy goes now; how
     * OpenSSL's own buffers are cleared is its business. */
    int r = tls_write(c->tls, w->data, w->len);
    free_write(w);
    if (r < 0) {
        fail(c, UV_EPROTO);
        return;
    }
    send_tls_output(c);
}

void conn_send_line(struct conn *c, const char *text, size_t len)
{
    send_line(c, text, len, false);
}

void conn_send_secret(struct conn *c, const char *text, size_t len)
{
    send_line(c, text, len, true);
}

static void on_finish_timeout(uv_timer_t *t)
{
    fail(t->data, UV_EOF); /* the server did not close in time: close anyway */
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status; /* the server's EOF, or the timer, ends the connection either way */
    free(req);
}

void conn_finish(struct conn *c, unsigned timeout_ms)
{
    if (!c->connected || c->closing) {
        return;
    }
    if (c->tls) {
        tls_close_notify(c->tls);
        if (!send_tls_output(c)) {
            return;
        }
    }
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        free(req);
        fail(c, UV_EOF);
        return;
    }
    uv_timer_start(&c->timer, on_finish_timeout, timeout_ms, 0);
}

void conn_close(struct conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    disconnect(c);
    if (!uv_is_closing((uv_handle_t *)&c->timer)) {
        uv_close((uv_handle_t *)&c->timer, NULL);
    }
    proto_framer_release(&c->framer);
    buf_release(&c->tls_why);
    free(c->host);
    c->host = NULL;
}
