/* tls.h - TLS for the client's connection, over memory buffers: no socket, no thread.
 *
 * The only client file that calls OpenSSL. A struct tls is one connection's TLS session
 * between two memory BIOs: conn.c feeds it the ciphertext it reads from the socket, writes
 * out the ciphertext it produces, and drives the handshake; plaintext goes in and comes out
 * here. Whom to trust (the system's store, --tls-ca) is a struct tls_config, made once at
 * start. Verification is OpenSSL's; this file turns its verdict into French. Nothing here
 * blocks or touches a descriptor but the --tls-ca file and the store, read at start.
 * Client thread only; unit tests drive it in-process, without a network.
 */
#ifndef CAUSERIE_TLS_H
#define CAUSERIE_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* A handshake's own failures, besides -EAGAIN (more input needed). They lie outside the
 * ranges of errno and of libuv's codes, so they pass through int results untouched. */
#define TLS_EREFUSED (-6001) /* the server's certificate was refused */
#define TLS_EFAILED                                                                                \
    (-6002) /* the handshake failed otherwise: the peer does not speak TLS,                        \
             * or not a version or cipher we accept */

/* Names of a refused certificate quoted in the reason, and bytes kept of each: a
 * certificate may carry thousands of names, and the reason is one line on a terminal. */
#define TLS_NAMES_SHOWN    4
#define TLS_NAME_SHOWN_MAX 64

struct tls_config;
struct tls;

/* Makes the settings every connection shares: TLS 1.2 and 1.3 only, OpenSSL's default
 * ciphers, no compression, no renegotiation. With verify, the server's chain must lead to
 * an authority of the system's store or of ca_file (PEM, may be NULL), and its certificate
 * must name the host; without, anything is accepted. Returns 0 with *out set, or a negative
 * errno with a French line (ending in '\n') in *err: ca_file cannot be read, or holds no
 * PEM certificate. */
int tls_config_new(const char *ca_file, bool verify, struct tls_config **out, struct buf *err);
void tls_config_free(struct tls_config *cfg);

/* One connection's session, as a client of host (a name, sent as SNI and checked against
 * the certificate, or an IP address, checked as such). cfg is borrowed and must outlive
 * it. Never NULL: allocation failures abort, as xmalloc's do. */
struct tls *tls_new(struct tls_config *cfg, const char *host);
void tls_free(struct tls *t);

/* Ciphertext read from the socket; copied, so the caller may reuse data at once. */
void tls_feed(struct tls *t, const void *data, size_t len);
/* Bytes of ciphertext waiting to be written to the socket. */
size_t tls_pending(const struct tls *t);
/* Moves up to cap bytes of that ciphertext into out; returns how many. */
size_t tls_take(struct tls *t, void *out, size_t cap);

/* Advances the handshake with what was fed. Returns 0 once it is done (the server
 * verified, when cfg verifies), -EAGAIN while it needs more input, TLS_EREFUSED or
 * TLS_EFAILED with a French clause appended to why ("autorité inconnue (…)"), to be put
 * in a sentence. Either way, send what tls_pending() counts: a flight, or an alert. */
int tls_handshake(struct tls *t, struct buf *why);

/* Plaintext out, after the handshake: returns the bytes put in out (at most cap), 0 when
 * the server has ended the session (close_notify), -EAGAIN when more input is needed, or
 * -EPROTO when the stream is broken. */
int tls_read(struct tls *t, void *out, size_t cap);
/* Plaintext in, after the handshake: all of it becomes ciphertext for tls_take().
 * Returns 0, or -EPROTO. */
int tls_write(struct tls *t, const void *data, size_t len);
/* Ends the session on our side (close_notify, for tls_take()); reading may go on. */
void tls_close_notify(struct tls *t);

#endif
