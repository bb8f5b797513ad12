/* conn.h - the client's connection to the server: connect, read and frame, write.
 *
 * Runs on the client's only thread, on its uv loop. It resolves the name, tries each
 * address in turn (each with a timeout), with TLS does the handshake (tls.h), then hands
 * every complete line to on_line. Lines to send are copied into their own write request,
 * so callers keep nothing alive. It knows the framing (proto.h), nothing of what lines
 * mean: chat.c does.
 */
#ifndef CAUSERIE_CONN_H
#define CAUSERIE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "common/buf.h"
#include "common/proto.h"
#include "tls.h"

/* Longest line accepted from the server. Its lines are bounded by the clients' --max-line
 * plus a pseudo; this leaves room for servers configured with larger lines. */
#define CONN_MAX_LINE (64 * 1024)

struct conn;
typedef void (*conn_connected_cb)(struct conn *c, int status);
typedef void (*conn_line_cb)(struct conn *c, const char *line, size_t len);
typedef void (*conn_closed_cb)(struct conn *c, int status);
typedef void (*conn_drained_cb)(struct conn *c);

struct conn {
    uv_loop_t *loop; /* borrowed */
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_getaddrinfo_t resolve_req;
    uv_timer_t timer;        /* connect timeout, then the wait for the server to close */
    struct addrinfo *addrs;  /* owned result of the resolution */
    struct addrinfo *trying; /* borrowed: the address being tried */
    int first_error;         /* the first address's error: the one worth reporting */
    struct proto_framer framer;
    size_t unsent; /* bytes handed to uv_write() and not yet written */
    bool connected, closing, tcp_open;
    bool tcp_closing;              /* the last socket's handle is closing: not reusable yet */
    bool waiting_for_handle;       /* an attempt waits for that close to finish */
    bool handshaking;              /* TCP is up, the TLS handshake is not done: not connected yet */
    char name[128];                /* "host:port" as the user gave it, for messages */
    char *host;                    /* owned: the host as given, which the certificate must name */
    struct tls_config *tls_config; /* borrowed: TLS with these settings; NULL: plain TCP */
    struct tls *tls;               /* owned: this connection's TLS session, if any */
    struct buf tls_why;            /* why the last handshake failed: a French clause */
    char read_buf[65536];          /* what the socket gave; then, with TLS, plaintext */

    conn_connected_cb on_connected; /* status 0 (with TLS, the server verified), the error of
                                     * the first address, or TLS_EREFUSED or TLS_EFAILED
                                     * (tls.h): conn_strerror() says why */
    conn_line_cb on_line;           /* a complete line, unsanitised, without '\n' */
    conn_closed_cb on_closed;       /* the connection is gone (UV_EOF or an error); c may
                                     * conn_connect() again */
    conn_drained_cb on_drained;     /* optional: unsent went back to 0 */
    void *data;
};

/* Sets up c on loop; callbacks and tls_config are read from c afterwards. */
void conn_init(struct conn *c, uv_loop_t *loop);
/* Resolves host and connects; the outcome goes to on_connected. Returns 0 or an error.
 * May be called again after on_closed (a lost connection), to reconnect. With tls_config,
 * a TLS handshake follows the TCP connection; the time to connect (CONNECT_TIMEOUT_S)
 * starts again for it. A socket's error or end during the handshake abandons that
 * address, as a failed connect does; a refused certificate or a failed negotiation ends
 * the attempt at once, without trying the other addresses. */
int conn_connect(struct conn *c, const char *host, int port);
/* The French words for an on_connected or on_closed status: the reason a TLS handshake
 * failed for TLS_EREFUSED and TLS_EFAILED, fr_strerror()'s otherwise. Valid until the
 * next conn_connect(). */
const char *conn_strerror(const struct conn *c, int status);
/* Sends text followed by '\n'. Errors surface as on_closed. */
void conn_send_line(struct conn *c, const char *text, size_t len);
/* The same for a secret (the answer to a '%' prompt): the copy made to send it is wiped
 * once written (with TLS, once encrypted). text stays the caller's to wipe. */
void conn_send_secret(struct conn *c, const char *text, size_t len);
/* Half-closes once everything is written (with TLS, after a close_notify; the server then
 * closes its side), and gives the server timeout_ms to do so before closing anyway. */
void conn_finish(struct conn *c, unsigned timeout_ms);
/* Closes everything; on_closed is not called. Run the loop afterwards to free handles. */
void conn_close(struct conn *c);

#endif
