/* tls.h - TLS on a connection's socket: OpenSSL 3 over memory BIOs, driven by the loop.
 *
 * The one server file that calls OpenSSL. A TLS layer reads ciphertext from the socket,
 * feeds it to its SSL object through a memory BIO and hands the plaintext up; what is
 * written goes the other way. No call blocks and no thread is added: the handshake, the
 * records and the close_notify all move as the socket's reads and writes come. As a
 * transport of its own (tls_open(), the TLS listener), it carries the line protocol; under
 * the web layer (tls_attach(), HTTPS and WSS), it carries HTTP and WebSocket frames.
 * TLS 1.2 and 1.3 only, the library's defaults otherwise, no compression, no renegotiation.
 * Loop thread of the socket, but for tls_setup() and tls_teardown() (main thread).
 */
#ifndef CAUSERIE_TLS_H
#define CAUSERIE_TLS_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "common/buf.h"
#include "transport.h"

struct tls;

/* Main thread, before the loops start: loads the certificate chain and the key (PEM) and
 * checks that they match. Returns 0, or -EINVAL with a French sentence in err that names
 * the file and the reason (the server then exits with status 1). n_loops: for the log
 * budget of failed handshakes, one per loop. */
int tls_setup(const char *cert_file, const char *key_file, unsigned n_loops, struct buf *err);
/* Main thread, after the loops stopped. */
void tls_teardown(void);
/* Whether tls_setup() succeeded: TLS is on. */
int tls_enabled(void);

/* The TLS transport (transport_open_fn): the line protocol, encrypted. */
int tls_open(struct transport *t, uv_loop_t *loop, int fd);

/* Who reads the plaintext of a TLS layer under another layer (the web's). */
struct tls_upper {
    void (*on_read)(void *arg, ssize_t nread, const char *data);
    void (*on_full)(void *arg);
    void *arg;
};

/* Opens the socket fd on loop as t with a TLS layer under a layer of the caller's, which
 * upper reads; the caller sets t->tcp.data to its own layer. Returns the TLS layer, or NULL
 * with fd closed and t closing (on_closed follows) on failure. */
struct tls *tls_attach(struct transport *t, uv_loop_t *loop, int fd, const struct tls_upper *upper);
/* The byte stream a TLS layer gives the layer above it: the same contract as
 * transport_ops, for plaintext. */
int tls_read_start(struct tls *s);
void tls_read_stop(struct tls *s);
int tls_try_write(struct tls *s, const uv_buf_t *bufs, unsigned n);
int tls_write(struct tls *s, struct transport_write *w, const uv_buf_t *bufs, unsigned n);
size_t tls_pending(const struct tls *s);
/* Ends our side as transport_ops.shutdown does (a write held for the handshake is cancelled),
 * then calls done(arg, status). */
int tls_shutdown(struct tls *s, void (*done)(void *arg, int status), void *arg);
/* Ends a write given before the handshake was over with UV_ECANCELED, as the socket's own
 * writes are when it closes: call it before closing the socket. */
void tls_cancel(struct tls *s);
/* Frees the layer, in the socket's close callback. */
void tls_free(struct tls *s);

/* SHA-1 of data, in base64 (28 characters and a NUL): what WebSocket's handshake answers
 * with; here because this file is the one that owns OpenSSL. */
void tls_sha1_base64(const void *data, size_t len, char out[29]);

#endif
