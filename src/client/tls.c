/* tls.c - TLS sessions over memory BIOs; see tls.h for the contract.
 *
 * Client thread only. Each session is an SSL object whose two BIOs are memory buffers, so
 * OpenSSL never touches a socket: conn.c carries the bytes on the uv loop. Verification is
 * OpenSSL's own (the chain to a trusted authority, the dates, the host name or address);
 * a verify callback keeps the first refusal, worded in French with what it concerns (the
 * certificate's names, its dates), for the user. OpenSSL's error queue is per thread and
 * read by SSL_get_error(), so it is cleared before each call that may fill it. Names read
 * from a certificate are peer bytes: they are cut and sanitised before they are quoted.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/fr.h"
#include "common/sanitize.h"
#include "common/xalloc.h"

struct tls_config {
    SSL_CTX *ctx; /* owned */
    bool verify;
};

struct tls {
    SSL *ssl;           /* owned, and through it the two BIOs */
    BIO *in;            /* borrowed from ssl: ciphertext fed, for OpenSSL to read */
    BIO *out;           /* borrowed from ssl: ciphertext OpenSSL wrote, to send */
    char *host;         /* owned: the name or address the certificate must be for */
    struct buf refusal; /* the first verification failure, as a French clause */
};

/* OpenSSL fails to allocate only when memory is out: abort, as xmalloc() does. */
static void need(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "causerie : échec d'OpenSSL (%s) : mémoire insuffisante ?\n", what);
        abort();
    }
}

/* OpenSSL's reason for its first queued error, in English, or a stand-in. */
static const char *openssl_reason(void)
{
    const char *r = ERR_reason_error_string(ERR_peek_error());
    return r ? r : "erreur inconnue";
}

/* ---------------------------------------------------------------- the settings */

/* Why a file cannot be read, for the --tls-ca message. */
static const char *file_error(int err)
{
    switch (err) {
    case ENOENT:
        return "fichier introuvable";
    case EACCES:
    case EPERM:
        return "permission refusée";
    case EISDIR:
        return "c'est un dossier";
    default:
        return fr_strerror(-err);
    }
}

/* Opens path to read it; returns NULL with the errno in *e, EISDIR for a folder (which
 * fopen() opens, and reading fails). */
static FILE *open_file(const char *path, int *e)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        *e = errno;
        return NULL;
    }
    struct stat st;
    int r = fstat(fileno(f), &st);
    if (r < 0 || S_ISDIR(st.st_mode)) {
        *e = r < 0 ? errno : EISDIR;
        fclose(f);
        return NULL;
    }
    return f;
}

/* Adds every PEM certificate of path to the store; at least one must be there. */
static int load_ca_file(SSL_CTX *ctx, const char *path, struct buf *err)
{
    int e = 0;
    FILE *f = open_file(path, &e);
    if (!f) {
        buf_appendf(err, "causerie : impossible de lire le fichier de --tls-ca « %s » : %s\n", path,
                    file_error(e));
        return -e;
    }
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    unsigned count = 0;
    X509 *cert;
    ERR_clear_error();
    while ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        need(X509_STORE_add_cert(store, cert), "X509_STORE_add_cert");
        X509_free(cert);
        count++;
    }
    fclose(f);
    unsigned long last = ERR_peek_last_error();
    bool at_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
    if (count == 0 || !at_end) {
        buf_appendf(err,
                    "causerie : le fichier de --tls-ca « %s » ne contient pas de certificat "
                    "PEM lisible (OpenSSL : %s)\n",
                    path, openssl_reason());
        ERR_clear_error();
        return -EINVAL;
    }
    ERR_clear_error();
    return 0;
}

static int on_verify(int ok, X509_STORE_CTX *store);

int tls_config_new(const char *ca_file, bool verify, struct tls_config **out, struct buf *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    need(ctx != NULL, "SSL_CTX_new");
    need(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION), "SSL_CTX_set_min_proto_version");
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify);
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            buf_appendf(err,
                        "causerie : impossible de lire les autorités de confiance du système "
                        "(OpenSSL : %s)\n",
                        openssl_reason());
            ERR_clear_error();
            SSL_CTX_free(ctx);
            return -EIO;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (ca_file) {
        int r = load_ca_file(ctx, ca_file, err);
        if (r < 0) {
            SSL_CTX_free(ctx);
            return r;
        }
    }
    struct tls_config *cfg = xmalloc(sizeof(*cfg));
    cfg->ctx = ctx;
    cfg->verify = verify;
    *out = cfg;
    return 0;
}

void tls_config_free(struct tls_config *cfg)
{
    if (cfg) {
        SSL_CTX_free(cfg->ctx);
        free(cfg);
    }
}

/* ---------------------------------------------------------------- why a certificate is refused */

/* A name from the certificate, cut and sanitised, in French quotes. */
static void append_name(struct buf *out, const void *name, size_t len, unsigned shown)
{
    buf_append_str(out, shown > 0 ? ", « " : "« ");
    sanitize_append(out, name, len < TLS_NAME_SHOWN_MAX ? len : TLS_NAME_SHOWN_MAX);
    buf_append_str(out, " »");
}

/* One subjectAltName entry, if it is a DNS name or an IP address; returns whether shown. */
static bool append_alt_name(struct buf *out, const GENERAL_NAME *g, unsigned shown)
{
    if (g->type == GEN_DNS) {
        append_name(out, ASN1_STRING_get0_data(g->d.dNSName),
                    (size_t)ASN1_STRING_length(g->d.dNSName), shown);
        return true;
    }
    if (g->type != GEN_IPADD) {
        return false;
    }
    int len = ASN1_STRING_length(g->d.iPAddress);
    char text[INET6_ADDRSTRLEN];
    int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
    if (!family || !inet_ntop(family, ASN1_STRING_get0_data(g->d.iPAddress), text, sizeof(text))) {
        return false;
    }
    append_name(out, text, strlen(text), shown);
    return true;
}

/* The names a certificate is for: its subjectAltName's, or else its common name. */
static void append_names(struct buf *out, X509 *cert)
{
    unsigned shown = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int n = names ? sk_GENERAL_NAME_num(names) : 0;
    for (int i = 0; i < n && shown < TLS_NAMES_SHOWN; i++) {
        shown += append_alt_name(out, sk_GENERAL_NAME_value(names, i), shown);
    }
    if (shown == TLS_NAMES_SHOWN && n > TLS_NAMES_SHOWN) {
        buf_append_str(out, ", …");
    }
    GENERAL_NAMES_free(names);
    if (shown > 0) {
        return;
    }
    X509_NAME *subject = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i < 0) {
        buf_append_str(out, "aucun nom");
        return;
    }
    ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    append_name(out, ASN1_STRING_get0_data(cn), (size_t)ASN1_STRING_length(cn), 0);
}

/* A certificate's date, "02/01/2025 à 12:00 UTC". */
static void format_time(const ASN1_TIME *t, char *out, size_t size)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(out, size, "%d/%m/%Y à %H:%M UTC", &tm) == 0) {
        snprintf(out, size, "(date illisible)");
    }
}

static bool unknown_authority(int code)
{
    return code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
           code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
           code == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
           code == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
           code == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE || code == X509_V_ERR_CERT_UNTRUSTED;
}

/* Words the refusal: code is OpenSSL's verify error, cert the certificate it concerns,
 * depth its place in the chain (0: the server's own). */
static void describe_refusal(struct buf *out, const char *host, int code, int depth, X509 *cert)
{
    char when[64];
    if (unknown_authority(code)) {
        buf_append_str(out, "autorité inconnue (utilisez --tls-ca pour faire confiance à une "
                            "autorité de plus)");
    } else if (code == X509_V_ERR_HOSTNAME_MISMATCH || code == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        buf_append_str(out, "le nom ne correspond pas (certificat pour ");
        append_names(out, cert);
        buf_append_str(out, ", pas pour « ");
        sanitize_append(out, host, strlen(host)); /* as the user wrote it */
        buf_append_str(out, " »)");
    } else if (code == X509_V_ERR_CERT_HAS_EXPIRED) {
        format_time(cert ? X509_get0_notAfter(cert) : NULL, when, sizeof(when));
        buf_appendf(out,
                    depth == 0 ? "certificat expiré le %s"
                               : "le certificat d'une autorité de la chaîne a expiré le %s",
                    when);
    } else if (code == X509_V_ERR_CERT_NOT_YET_VALID) {
        format_time(cert ? X509_get0_notBefore(cert) : NULL, when, sizeof(when));
        buf_appendf(out, "certificat valable seulement à partir du %s", when);
    } else {
        buf_appendf(out, "vérification impossible (OpenSSL : %s)",
                    X509_verify_cert_error_string(code));
    }
}

/* OpenSSL's verdict on each certificate of the chain: the first refusal is kept, worded,
 * and ends the handshake. */
static int on_verify(int ok, X509_STORE_CTX *store)
{
    if (ok) {
        return 1;
    }
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct tls *t = SSL_get_app_data(ssl);
    if (t->refusal.len == 0) {
        describe_refusal(&t->refusal, t->host, X509_STORE_CTX_get_error(store),
                         X509_STORE_CTX_get_error_depth(store),
                         X509_STORE_CTX_get_current_cert(store));
    }
    return 0;
}

/* ---------------------------------------------------------------- a session */

/* Whom the certificate must name: an IP address as such (no SNI for addresses, RFC 6066),
 * a name as SNI and as the host to match, without partial wildcards ("w*.example"). */
static void set_peer(SSL *ssl, const char *host, bool verify)
{
    unsigned char addr[sizeof(struct in6_addr)];
    bool is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    if (is_ip) {
        if (verify) {
            need(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host), "set1_ip_asc");
        }
        return;
    }
    /* A name too long for SNI (255 bytes) cannot be resolved anyway: it is not sent. */
    SSL_set_tlsext_host_name(ssl, host);
    if (verify) {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        need(SSL_set1_host(ssl, host), "SSL_set1_host");
    }
}

struct tls *tls_new(struct tls_config *cfg, const char *host)
{
    struct tls *t = xcalloc(1, sizeof(*t));
    t->host = xstrdup(host);
    buf_init(&t->refusal);
    t->ssl = SSL_new(cfg->ctx);
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    need(t->ssl && t->in && t->out, "SSL_new");
    BIO_set_mem_eof_return(t->in, -1); /* empty means "more to come", not the end */
    SSL_set_bio(t->ssl, t->in, t->out);
    SSL_set_connect_state(t->ssl);
    SSL_set_app_data(t->ssl, t);
    set_peer(t->ssl, host, cfg->verify);
    return t;
}

void tls_free(struct tls *t)
{
    if (t) {
        SSL_free(t->ssl);
        free(t->host);
        buf_release(&t->refusal);
        free(t);
    }
}

void tls_feed(struct tls *t, const void *data, size_t len)
{
    if (len == 0) {
        return; /* BIO_write() would take 0 for a failure */
    }
    need(len <= INT_MAX && BIO_write(t->in, data, (int)len) == (int)len, "BIO_write");
}

size_t tls_pending(const struct tls *t)
{
    return BIO_ctrl_pending(t->out);
}

size_t tls_take(struct tls *t, void *out, size_t cap)
{
    int n = BIO_read(t->out, out, cap < INT_MAX ? (int)cap : INT_MAX);
    return n > 0 ? (size_t)n : 0;
}

int tls_handshake(struct tls *t, struct buf *why)
{
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        return 0;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        return -EAGAIN;
    }
    if (t->refusal.len > 0) {
        buf_append(why, t->refusal.data, t->refusal.len);
        ERR_clear_error();
        return TLS_EREFUSED;
    }
    buf_appendf(why,
                "négociation TLS impossible (OpenSSL : %s) ; le serveur ne parle peut-être pas "
                "TLS sur ce port",
                e == SSL_ERROR_SSL ? openssl_reason() : "fin de la négociation");
    ERR_clear_error();
    return TLS_EFAILED;
}

int tls_read(struct tls *t, void *out, size_t cap)
{
    ERR_clear_error();
    int n = SSL_read(t->ssl, out, cap < INT_MAX ? (int)cap : INT_MAX);
    if (n > 0) {
        return n;
    }
    int e = SSL_get_error(t->ssl, n);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ) {
        return -EAGAIN;
    }
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -EPROTO;
}

int tls_write(struct tls *t, const void *data, size_t len)
{
    size_t written = 0;
    ERR_clear_error();
    if (len > 0 && SSL_write_ex(t->ssl, data, len, &written) != 1) {
        ERR_clear_error();
        return -EPROTO;
    }
    assert(written == len); /* a memory BIO takes everything: no partial write */
    return 0;
}

void tls_close_notify(struct tls *t)
{
    ERR_clear_error();
    SSL_shutdown(t->ssl); /* 0: sent, the server's is to come; it is read as the end */
    ERR_clear_error();
}
