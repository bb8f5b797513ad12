/* tls.c - TLS over memory BIOs on a connection's socket; see tls.h.
 *
 * Loop thread of the socket, but for tls_setup() and tls_teardown(). Ciphertext read from
 * the socket lands in the loop's shared read buffer, is copied into the SSL object's read
 * BIO, and the plaintext is decrypted into the same buffer, which is free again by then:
 * no buffer per connection. What SSL writes goes through a sink of ours into a buffer per
 * loop thread, and from there to the socket at once (uv_try_write()) right after the SSL
 * call that wrote it; what the socket does not take waits in a write request of its own.
 * Plaintext given before the handshake is over waits, unencrypted, until it is.
 */
#include "tls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "common/addr.h"
#include "common/fr.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "loop.h"
#include "tcp.h"

struct tls {
    struct transport_layer base;  /* the TLS transport's operations, when TLS is the top layer */
    struct transport *t;          /* borrowed: the socket */
    SSL *ssl;                     /* owned; owns rbio and wbio */
    BIO *rbio, *wbio;             /* ciphertext in (memory), ciphertext out (the sink) */
    struct tls_upper upper;       /* on_read NULL: the connection (transport_handlers()) */
    struct transport_write *held; /* a write given before the handshake was over, or NULL */
    uv_buf_t *held_bufs;          /* owned copy of its array of buffers */
    unsigned held_n;
    bool established; /* the handshake is over */
    bool failed;      /* it failed, or the peer broke the protocol: no more I/O */
    /* The peer's address, read when the connection opens: a peer that refuses our
     * certificate sends its alert and resets at once, and by the time the alert is read
     * getpeername() fails. 64 bytes per connection, beside the SSL object's kilobytes. */
    char peer[ADDR_NAME_MAX];
    void (*shutdown_done)(void *arg, int status);
    void *shutdown_arg;
};

/* Ciphertext the socket did not take at once. */
struct cipher_write {
    uv_write_t req;
    struct transport_write *w; /* the layer above's write it ends, or NULL */
    size_t len;
    char data[];
};

/* Set by tls_setup() before the loops start, then only read. */
static SSL_CTX *ctx;
static BIO_METHOD *sink_method;
static struct log_limit *refusal_logs; /* one per loop: failed handshakes, per second */
static unsigned n_loops;

static const struct transport_ops tls_ops;

/* ---------------------------------------------------------------- errors */

/* OpenSSL's reason for its last error, or what is given; clears the error queue. */
static const char *ssl_reason(const char *otherwise)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : otherwise;
}

/* A handshake that failed, or bytes that are not TLS: one log line, within the loop's
 * budget, naming the peer and OpenSSL's reason. */
static void log_refusal(struct tls *s, const char *why)
{
    struct loop *l = s->t->tcp.loop->data;
    size_t skipped;
    if (!log_limit_allow(&refusal_logs[l->index], loop_now(l), &skipped)) {
        return;
    }
    if (skipped > 0) {
        log_warn("connexion TLS refusée (%s) : %s ; et %zu autres refus non journalisés", s->peer,
                 why, skipped);
    } else {
        log_warn("connexion TLS refusée (%s) : %s", s->peer, why);
    }
}

/* ---------------------------------------------------------------- the layer above */

static void deliver(struct tls *s, ssize_t nread, const char *data)
{
    if (s->upper.on_read) {
        s->upper.on_read(s->upper.arg, nread, data);
    } else {
        transport_handlers()->on_read(s->t, nread, data);
    }
}

static void deliver_full(struct tls *s)
{
    if (s->upper.on_full) {
        s->upper.on_full(s->upper.arg);
    } else if (!s->upper.on_read) {
        transport_handlers()->on_full(s->t);
    }
}

static bool closing(const struct tls *s)
{
    return uv_is_closing((const uv_handle_t *)&s->t->tcp);
}

/* ---------------------------------------------------------------- ciphertext out */

static void on_cipher_written(uv_write_t *req, int status)
{
    struct cipher_write *cw = (struct cipher_write *)req;
    struct transport_write *w = cw->w;
    free(cw);
    if (w) {
        w->done(w, status);
    }
}

/* What SSL writes, it writes into this loop thread's buffer through the sink below, and
 * flush_cipher() takes it from there right after the SSL call that wrote it. A memory BIO
 * would do the same with a copy more: it clears its whole buffer on every reset and the
 * room it grows into, which cost an eighth of the server's time in the tls preset. The
 * buffer holds one connection's bytes at a time; a sink write that finds another's (a
 * connection that failed or closed between its SSL call and its flush) drops them, since
 * nothing of that connection will be sent any more. */
#define CIPHER_MAX 65536
static _Thread_local char cipher[CIPHER_MAX];
static _Thread_local size_t cipher_len;
static _Thread_local const struct tls *cipher_owner;

static int flush_cipher(struct tls *s, struct transport_write *w);

static int sink_write(BIO *b, const char *data, int len)
{
    struct tls *s = BIO_get_data(b);
    if (cipher_owner != s) {
        cipher_len = 0;
        cipher_owner = s;
    }
    for (size_t done = 0; done < (size_t)len;) {
        if (cipher_len == CIPHER_MAX && flush_cipher(s, NULL) < 0) {
            return -1; /* the socket failed: SSL reports the write failed */
        }
        size_t room = CIPHER_MAX - cipher_len, n = (size_t)len - done;
        n = n < room ? n : room;
        memcpy(cipher + cipher_len, data + done, n);
        cipher_len += n;
        done += n;
    }
    return len;
}

static long sink_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH; /* nothing to flush: flush_cipher() sends */
}

static int sink_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* Sends what SSL wrote for s: at once if the socket takes it, else in a write request,
 * which ends w (if any) when it is done. Returns 0 or a negative error. */
static int flush_cipher(struct tls *s, struct transport_write *w)
{
    size_t len = cipher_owner == s ? cipher_len : 0;
    cipher_len = 0;
    size_t sent = 0;
    if (len > 0 && !w) {
        uv_buf_t b = uv_buf_init(cipher, (unsigned)len);
        int r = uv_try_write((uv_stream_t *)&s->t->tcp, &b, 1);
        if (r < 0 && r != UV_EAGAIN) {
            return r;
        }
        sent = r > 0 ? (size_t)r : 0;
    }
    size_t rest = len - sent;
    if (rest == 0 && !w) {
        return 0;
    }
    struct cipher_write *cw = xmalloc(sizeof(*cw) + rest);
    cw->w = w;
    cw->len = rest;
    memcpy(cw->data, cipher + sent, rest);
    uv_buf_t b = uv_buf_init(cw->data, (unsigned)rest);
    int r = uv_write(&cw->req, (uv_stream_t *)&s->t->tcp, &b, 1, on_cipher_written);
    if (r < 0) {
        free(cw);
    }
    return r;
}

/* Plaintext is gathered into records of up to TLS's largest before it is encrypted: one
 * SSL_write() per buffer would make a record of each (a 2-byte WebSocket header, a
 * 40-byte line), each with its own overhead on the wire and its own cipher call. One per
 * loop thread: encrypting is done before the call returns. */
#define RECORD_MAX 16384
static _Thread_local char gathered[RECORD_MAX];

static bool seal(struct tls *s, size_t len)
{
    return SSL_write(s->ssl, gathered, (int)len) == (int)len;
}

/* Encrypts bufs[0..n); returns the plaintext bytes, or a negative error. */
static int encrypt(struct tls *s, const uv_buf_t *bufs, unsigned n)
{
    size_t total = 0, fill = 0;
    for (unsigned i = 0; i < n; i++) {
        const char *p = bufs[i].base;
        size_t len = bufs[i].len;
        while (len > 0) {
            size_t k = len < RECORD_MAX - fill ? len : RECORD_MAX - fill;
            memcpy(gathered + fill, p, k);
            fill += k;
            p += k;
            len -= k;
            if (fill == RECORD_MAX) {
                if (!seal(s, fill)) {
                    return UV_EPROTO; /* a memory BIO never blocks: the session's end */
                }
                total += fill;
                fill = 0;
            }
        }
    }
    if (fill > 0 && !seal(s, fill)) {
        return UV_EPROTO;
    }
    return (int)(total + fill);
}

/* ---------------------------------------------------------------- the handshake */

static void fail(struct tls *s, int status)
{
    if (s->failed) {
        return;
    }
    s->failed = true;
    (void)flush_cipher(s, NULL); /* the alert, if SSL wrote one */
    deliver(s, status, NULL);
}

/* The handshake is over: what was written before it is encrypted now. */
static void release_held(struct tls *s)
{
    struct transport_write *w = s->held;
    if (!w) {
        return;
    }
    s->held = NULL;
    int r = encrypt(s, s->held_bufs, s->held_n);
    free(s->held_bufs);
    s->held_bufs = NULL;
    if (r < 0 || flush_cipher(s, w) < 0) {
        w->done(w, r < 0 ? r : UV_EPROTO);
    }
}

/* Moves the handshake on with what came in; false once it has failed. */
static bool handshake(struct tls *s)
{
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        s->established = true;
        (void)flush_cipher(s, NULL);
        release_held(s);
        return true;
    }
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        (void)flush_cipher(s, NULL); /* our part of the handshake */
        return true;
    }
    log_refusal(s, ssl_reason("poignée de main interrompue"));
    fail(s, UV_EPROTO);
    return false;
}

/* ---------------------------------------------------------------- ciphertext in */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    transport_handlers()->alloc((struct transport *)h, b);
}

/* Decrypts every record that has come whole, into buf, handing each piece up. */
static void decrypt(struct tls *s, char *buf, size_t cap)
{
    while (!closing(s) && !s->failed) {
        int n = SSL_read(s->ssl, buf, (int)cap);
        if (n > 0) {
            if (cipher_len > 0) {
                (void)flush_cipher(s, NULL); /* before anyone else's SSL call: a key update */
            }
            deliver(s, n, buf);
            continue;
        }
        int e = SSL_get_error(s->ssl, n);
        if (e == SSL_ERROR_WANT_READ) {
            break;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            fail(s, UV_EOF); /* close_notify: the peer's end, cleanly */
        } else {
            log_refusal(s, ssl_reason("enregistrement invalide"));
            fail(s, UV_EPROTO);
        }
        return;
    }
    if (!s->failed && !closing(s)) {
        (void)flush_cipher(s, NULL); /* TLS 1.3 may answer as it reads (key updates) */
    }
}

static struct tls *of_stream(uv_stream_t *st)
{
    return ((struct transport_layer *)st->data)->tls;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct tls *s = of_stream(st);
    if (nread == 0 || s->failed) {
        return;
    }
    if (nread < 0) {
        fail(s, (int)nread); /* the peer went without a close_notify: its end all the same */
        return;
    }
    if (BIO_write(s->rbio, b->base, (int)nread) != (int)nread) {
        fail(s, UV_ENOMEM);
        return;
    }
    if (!s->established && !handshake(s)) {
        return;
    }
    if (s->established) {
        decrypt(s, b->base, b->len); /* the ciphertext is in the BIO: the buffer is free */
    }
    if ((size_t)nread == b->len && !closing(s) && !s->failed) {
        deliver_full(s); /* the sender has more: it waits a turn */
    }
}

/* ---------------------------------------------------------------- the byte stream */

int tls_read_start(struct tls *s)
{
    return uv_read_start((uv_stream_t *)&s->t->tcp, on_alloc, on_read);
}

void tls_read_stop(struct tls *s)
{
    uv_read_stop((uv_stream_t *)&s->t->tcp);
}

size_t tls_pending(const struct tls *s)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&s->t->tcp);
}

int tls_try_write(struct tls *s, const uv_buf_t *bufs, unsigned n)
{
    if (s->failed) {
        return UV_EPIPE;
    }
    if (!s->established || s->held || tls_pending(s) > 0) {
        return UV_EAGAIN; /* in order: after the handshake, and after what waits */
    }
    int r = encrypt(s, bufs, n);
    if (r >= 0) {
        int f = flush_cipher(s, NULL); /* what the socket refuses waits, already encrypted */
        if (f < 0) {
            return f;
        }
    }
    return r;
}

int tls_write(struct tls *s, struct transport_write *w, const uv_buf_t *bufs, unsigned n)
{
    if (s->failed) {
        return UV_EPIPE;
    }
    if (!s->established) {
        if (s->held) {
            return UV_EBUSY; /* one write at a time: the contract */
        }
        s->held = w;
        s->held_bufs = xcalloc(n, sizeof(*bufs));
        memcpy(s->held_bufs, bufs, n * sizeof(*bufs));
        s->held_n = n;
        return 0;
    }
    int r = encrypt(s, bufs, n);
    return r < 0 ? r : flush_cipher(s, w);
}

static void on_fin(uv_shutdown_t *req, int status)
{
    struct tls *s = req->data;
    free(req);
    s->shutdown_done(s->shutdown_arg, status);
}

int tls_shutdown(struct tls *s, void (*done)(void *arg, int status), void *arg)
{
    s->shutdown_done = done;
    s->shutdown_arg = arg;
    tls_cancel(s); /* a write held for the handshake: nobody to say it to yet */
    if (s->established && !s->failed) {
        (void)SSL_shutdown(s->ssl); /* our close_notify; the peer's answer is not awaited */
        (void)flush_cipher(s, NULL);
    }
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    req->data = s;
    int r = uv_shutdown(req, (uv_stream_t *)&s->t->tcp, on_fin);
    if (r < 0) {
        free(req);
    }
    return r;
}

void tls_cancel(struct tls *s)
{
    struct transport_write *w = s->held;
    if (!w) {
        return;
    }
    s->held = NULL;
    free(s->held_bufs);
    s->held_bufs = NULL;
    w->done(w, UV_ECANCELED); /* as the socket's own writes are, when it closes */
}

void tls_free(struct tls *s)
{
    SSL_free(s->ssl);
    free(s);
}

/* ---------------------------------------------------------------- the TLS transport */

static struct tls *top(const struct transport *t)
{
    return ((const struct transport_layer *)t->tcp.data)->tls;
}

static int op_read_start(struct transport *t)
{
    return tls_read_start(top(t));
}

static void op_read_stop(struct transport *t)
{
    tls_read_stop(top(t));
}

static int op_try_write(struct transport *t, const uv_buf_t *bufs, unsigned n)
{
    return tls_try_write(top(t), bufs, n);
}

static int op_write(struct transport *t, struct transport_write *w, const uv_buf_t *bufs,
                    unsigned n)
{
    return tls_write(top(t), w, bufs, n);
}

static size_t op_pending(const struct transport *t)
{
    return tls_pending(top(t));
}

static bool op_holding(const struct transport *t)
{
    return top(t)->held != NULL;
}

static void on_top_shutdown(void *arg, int status)
{
    transport_handlers()->on_shutdown(arg, status);
}

static int op_shutdown(struct transport *t)
{
    return tls_shutdown(top(t), on_top_shutdown, t);
}

static void on_closed(uv_handle_t *h)
{
    struct transport *t = (struct transport *)h;
    tls_free(top(t));
    transport_handlers()->on_closed(t);
}

static void op_close(struct transport *t)
{
    tls_cancel(top(t));
    uv_close((uv_handle_t *)&t->tcp, on_closed);
}

/* The address read when the connection opened, which a reset does not take away. */
static void op_peer_name(const struct transport *t, char *out, size_t size)
{
    snprintf(out, size, "%s", top(t)->peer);
}

static const struct transport_ops tls_ops = {
    .name = "tls",
    .read_start = op_read_start,
    .read_stop = op_read_stop,
    .try_write = op_try_write,
    .write = op_write,
    .pending = op_pending,
    .holding = op_holding,
    .shutdown = op_shutdown,
    .close = op_close,
    .peer_name = op_peer_name,
};

/* ---------------------------------------------------------------- opening */

/* A TLS layer for the socket t, or NULL (and OpenSSL's reason logged) if SSL fails. */
static struct tls *new_layer(struct transport *t, const struct tls_upper *upper)
{
    SSL *ssl = SSL_new(ctx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(sink_method);
    if (!ssl || !rbio || !wbio) {
        log_error("TLS : %s", ssl_reason("mémoire épuisée"));
        SSL_free(ssl);
        BIO_free(rbio);
        BIO_free(wbio);
        return NULL;
    }
    BIO_set_mem_eof_return(rbio, -1); /* an empty BIO means "wait", not "the end" */
    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_accept_state(ssl);
    struct tls *s = xcalloc(1, sizeof(*s));
    s->base = (struct transport_layer){&tls_ops, s};
    s->t = t;
    s->ssl = ssl;
    s->rbio = rbio;
    s->wbio = wbio;
    BIO_set_data(wbio, s);
    tcp_peer_name(t, s->peer, sizeof(s->peer));
    if (upper) {
        s->upper = *upper;
    }
    return s;
}

struct tls *tls_attach(struct transport *t, uv_loop_t *loop, int fd, const struct tls_upper *upper)
{
    int r = tcp_open(t, loop, fd); /* the socket, with TCP's operations for now */
    if (r < 0) {
        return NULL;
    }
    struct tls *s = new_layer(t, upper);
    if (!s) {
        transport_close(t); /* still TCP's: on_closed follows */
        return NULL;
    }
    return s;
}

int tls_open(struct transport *t, uv_loop_t *loop, int fd)
{
    int r = tcp_open(t, loop, fd);
    if (r < 0) {
        return r;
    }
    struct tls *s = new_layer(t, NULL);
    if (!s) {
        transport_close(t); /* still TCP's: on_closed follows */
        return UV_ENOMEM;
    }
    t->tcp.data = &s->base;
    return 0;
}

/* ---------------------------------------------------------------- set-up */

/* Why the file at path cannot be read, in French, or NULL if it can be opened. OpenSSL
 * says only "system lib" for a missing file, and "PEM lib" for a folder. */
static const char *file_problem(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        return e == ENOENT                 ? "fichier introuvable"
               : e == EACCES || e == EPERM ? "permission refusée"
                                           : fr_strerror(-e);
    }
    struct stat st;
    bool folder = fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode);
    fclose(f);
    return folder ? "c'est un dossier" : NULL;
}

/* OpenSSL's first queued error, the most precise ("no start line" rather than the "PEM
 * lib" the outer call adds); the queue is left as it is. */
static const char *first_reason(void)
{
    const char *r = ERR_reason_error_string(ERR_peek_error());
    return r ? r : "erreur inconnue";
}

/* Whether OpenSSL refused the key because it is not the certificate's: it checks that as
 * it loads the key, so the check of our own after it only sees keys of another type. */
static bool key_mismatch(void)
{
    unsigned long e = ERR_peek_last_error();
    return ERR_GET_LIB(e) == ERR_LIB_X509 && (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
                                              ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
}

/* The pass phrase callback: the server never asks for one (OpenSSL's own would prompt on
 * the terminal, in English, with the console reading the same terminal). Notes that the
 * key wanted one, for the message. */
static int no_pass_phrase(char *buf, int size, int rwflag, void *asked)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    if (asked) {
        *(bool *)asked = true;
    }
    return -1;
}

/* After SSL_CTX_use_PrivateKey_file(): 0 if the key is loaded and is the certificate's,
 * else -EINVAL with the sentence in err. */
static int check_key(const char *cert_file, const char *key_file, bool loaded, bool asked,
                     struct buf *err)
{
    if (loaded && SSL_CTX_check_private_key(ctx) == 1) {
        return 0;
    }
    if (!loaded && asked) {
        buf_appendf(err,
                    "Clé TLS « %s » illisible : elle est chiffrée par une phrase de passe, que le "
                    "serveur ne demande pas.",
                    key_file);
    } else if (loaded || key_mismatch()) {
        buf_appendf(err, "La clé TLS « %s » ne correspond pas au certificat « %s ».", key_file,
                    cert_file);
    } else {
        buf_appendf(err,
                    "Clé TLS « %s » illisible : le fichier ne contient pas de clé privée PEM "
                    "(OpenSSL : %s).",
                    key_file, first_reason());
    }
    return -EINVAL;
}

/* Loads the certificate chain and the key into ctx; 0, or -EINVAL with the sentence in err. */
static int load_pair(const char *cert_file, const char *key_file, struct buf *err)
{
    const char *problem;
    bool asked = false;
    int r = -EINVAL;
    SSL_CTX_set_default_passwd_cb(ctx, no_pass_phrase);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, &asked);
    if ((problem = file_problem(cert_file)) != NULL) {
        buf_appendf(err, "Certificat TLS « %s » illisible : %s.", cert_file, problem);
    } else if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        buf_appendf(err,
                    "Certificat TLS « %s » illisible : le fichier ne contient pas de certificat "
                    "PEM (OpenSSL : %s).",
                    cert_file, first_reason());
    } else if ((problem = file_problem(key_file)) != NULL) {
        buf_appendf(err, "Clé TLS « %s » illisible : %s.", key_file, problem);
    } else {
        bool loaded = SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) == 1;
        r = check_key(cert_file, key_file, loaded, asked, err);
    }
    ERR_clear_error();
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL); /* asked goes out of scope */
    return r;
}

int tls_setup(const char *cert_file, const char *key_file, unsigned loops, struct buf *err)
{
    ctx = SSL_CTX_new(TLS_server_method());
    sink_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "causerie sink");
    if (sink_method) {
        BIO_meth_set_write(sink_method, sink_write);
        BIO_meth_set_ctrl(sink_method, sink_ctrl);
        BIO_meth_set_create(sink_method, sink_create);
    }
    if (!ctx || !sink_method) {
        buf_appendf(err, "TLS indisponible : %s.", ssl_reason("erreur inconnue"));
        return -EINVAL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Idle connections give their record buffers back: 34 KiB each otherwise. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (load_pair(cert_file, key_file, err) < 0) {
        tls_teardown();
        return -EINVAL;
    }
    n_loops = loops;
    refusal_logs = xcalloc(n_loops, sizeof(*refusal_logs));
    return 0;
}

void tls_teardown(void)
{
    SSL_CTX_free(ctx);
    ctx = NULL;
    BIO_meth_free(sink_method);
    sink_method = NULL;
    free(refusal_logs);
    refusal_logs = NULL;
    n_loops = 0;
}

int tls_enabled(void)
{
    return ctx != NULL;
}

void tls_sha1_base64(const void *data, size_t len, char out[29])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(data, len, md, &md_len, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)md_len); /* 20 bytes: 28 characters, NUL */
}
