/* test_client_tls.c - unit tests for the client's TLS sessions (src/client/tls.c).
 *
 * No network: the test plays the server with an SSL object of its own over memory BIOs
 * and carries the bytes between it and the client's session, in-process. Certificates are
 * made here at start (authorities, and servers' certificates signed by them or by
 * themselves, valid, expired, not yet valid, for other names), so none expires in the
 * tree. Covers the handshake (fed whole and byte by byte), each reason a certificate is
 * refused and its French words, a peer that does not speak TLS, lines both ways, the end
 * of a session, SNI, and the --tls-ca file's errors. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client/tls.h"
#include "common/buf.h"

/* Dates far from today, so that no test depends on when it runs. */
#define LONG_AGO   "20200101000000Z"
#define EXPIRED_AT "20200102120000Z" /* shown as 02/01/2020 à 12:00 UTC */
#define LONG_AFTER "20991231235959Z"
#define SOON_AFTER "20980301083000Z" /* shown as 01/03/2098 à 08:30 UTC */
/* Rounds of the in-process exchange before a handshake is declared stuck: a TLS 1.3
 * handshake takes two, 1.2 three. */
#define ROUNDS_MAX 16

struct cert_spec {
    const char *cn;
    const char *san; /* "DNS:localhost,IP:127.0.0.1", or NULL */
    const char *not_before, *not_after;
    bool ca;
};

static EVP_PKEY *ca_key, *old_ca_key, *server_key;
static X509 *ca_cert, *old_ca_cert; /* old_ca: an authority that has expired */
static char ca_file[64], old_ca_file[64], empty_file[64];

/* ---------------------------------------------------------------- certificates */

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A certificate for key, signed by signer (NULL: by itself). */
static X509 *make_cert(EVP_PKEY *key, const struct cert_spec *spec, X509 *signer,
                       EVP_PKEY *signer_key)
{
    static long serial = 1;
    X509 *c = X509_new();
    assert_non_null(c);
    assert_int_equal(X509_set_version(c, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(c), serial++), 1);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notBefore(c), spec->not_before), 1);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notAfter(c), spec->not_after), 1);
    assert_int_equal(X509_set_pubkey(c, key), 1);
    X509_NAME *name = X509_get_subject_name(c);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                                (const unsigned char *)spec->cn, -1, -1, 0),
                     1);
    assert_int_equal(X509_set_issuer_name(c, signer ? X509_get_subject_name(signer) : name), 1);
    X509 *issuer = signer ? signer : c;
    if (spec->ca) {
        add_ext(c, issuer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    if (spec->san) {
        add_ext(c, issuer, NID_subject_alt_name, spec->san);
    }
    assert_true(X509_sign(c, signer ? signer_key : key, EVP_sha256()) > 0);
    return c;
}

/* A server certificate for server_key, for the names in san, valid now, signed by our
 * authority. */
static X509 *signed_for(const char *san)
{
    struct cert_spec spec = {"serveur", san, LONG_AGO, LONG_AFTER, false};
    return make_cert(server_key, &spec, ca_cert, ca_key);
}

static void write_pem(char *path, X509 *cert)
{
    strcpy(path, "/tmp/causerie-tls-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    if (cert) {
        assert_int_equal(PEM_write_X509(f, cert), 1);
    } else {
        fputs("rien de PEM ici\n", f);
    }
    assert_int_equal(fclose(f), 0);
}

static int make_authorities(void **state)
{
    (void)state;
    ca_key = EVP_EC_gen("P-256");
    old_ca_key = EVP_EC_gen("P-256");
    server_key = EVP_EC_gen("P-256");
    assert_true(ca_key && old_ca_key && server_key);
    struct cert_spec ca = {"autorité de test", NULL, LONG_AGO, LONG_AFTER, true};
    ca_cert = make_cert(ca_key, &ca, NULL, NULL);
    struct cert_spec old = {"autorité périmée", NULL, LONG_AGO, EXPIRED_AT, true};
    old_ca_cert = make_cert(old_ca_key, &old, NULL, NULL);
    write_pem(ca_file, ca_cert);
    write_pem(old_ca_file, old_ca_cert);
    write_pem(empty_file, NULL);
    return 0;
}

static int free_authorities(void **state)
{
    (void)state;
    unlink(ca_file);
    unlink(old_ca_file);
    unlink(empty_file);
    X509_free(ca_cert);
    X509_free(old_ca_cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(old_ca_key);
    EVP_PKEY_free(server_key);
    return 0;
}

/* ---------------------------------------------------------------- the server, in-process */

struct server {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out; /* borrowed from ssl */
};

/* A TLS server showing cert (which it frees), over memory BIOs; max_version 0: any. */
static void server_start(struct server *s, X509 *cert, int max_version)
{
    s->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(s->ctx);
    assert_int_equal(SSL_CTX_use_certificate(s->ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, server_key), 1);
    if (max_version) {
        SSL_CTX_set_security_level(s->ctx, 0); /* let it offer what OpenSSL would refuse */
        assert_int_equal(SSL_CTX_set_min_proto_version(s->ctx, TLS1_VERSION), 1);
        assert_int_equal(SSL_CTX_set_max_proto_version(s->ctx, max_version), 1);
        assert_int_equal(SSL_CTX_set_cipher_list(s->ctx, "DEFAULT:@SECLEVEL=0"), 1);
    }
    X509_free(cert);
    s->ssl = SSL_new(s->ctx);
    s->in = BIO_new(BIO_s_mem());
    s->out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(s->in, -1);
    SSL_set_bio(s->ssl, s->in, s->out);
    SSL_set_accept_state(s->ssl);
}

static void server_stop(struct server *s)
{
    SSL_free(s->ssl);
    SSL_CTX_free(s->ctx);
    ERR_clear_error();
}

/* What the client's session wrote, to the server. */
static void to_server(struct tls *t, struct server *s)
{
    char b[4096];
    size_t n;
    while ((n = tls_take(t, b, sizeof(b))) > 0) {
        assert_int_equal(BIO_write(s->in, b, (int)n), (int)n);
    }
    assert_int_equal(tls_pending(t), 0);
}

/* What the server wrote, to the client's session: whole, or one byte at a time with a
 * handshake step after each (returns the last step's result, or -EAGAIN). */
static int to_client(struct server *s, struct tls *t, bool bytewise, struct buf *why)
{
    char b[4096];
    int n, r = -EAGAIN;
    while ((n = BIO_read(s->out, b, sizeof(b))) > 0) {
        for (int i = 0; bytewise && i < n && r == -EAGAIN; i++) {
            tls_feed(t, b + i, 1);
            r = tls_handshake(t, why);
        }
        if (!bytewise) {
            tls_feed(t, b, (size_t)n);
        }
    }
    return r;
}

/* Carries bytes both ways until the client's handshake ends; returns its result, its
 * last flight (or alert) delivered to the server. */
static int exchange(struct tls *t, struct server *s, bool bytewise, struct buf *why)
{
    int r = tls_handshake(t, why);
    for (int round = 0; r == -EAGAIN && round < ROUNDS_MAX; round++) {
        to_server(t, s);
        ERR_clear_error();
        SSL_do_handshake(s->ssl); /* the server's verdict is not the test's */
        r = to_client(s, t, bytewise, why);
        if (r == -EAGAIN) {
            r = tls_handshake(t, why);
        }
    }
    to_server(t, s);
    assert_int_not_equal(r, -EAGAIN);
    return r;
}

/* A client session to host, against a server showing cert; returns the handshake's result
 * with its reason in why. */
static int connect_to(const char *host, X509 *cert, const char *ca, bool verify, struct buf *why)
{
    struct tls_config *cfg;
    struct buf err = BUF_INIT;
    assert_int_equal(tls_config_new(ca, verify, &cfg, &err), 0);
    assert_int_equal(err.len, 0);
    struct server s;
    server_start(&s, cert, 0);
    struct tls *t = tls_new(cfg, host);
    int r = exchange(t, &s, false, why);
    tls_free(t);
    server_stop(&s);
    tls_config_free(cfg);
    buf_release(&err);
    return r;
}

/* ---------------------------------------------------------------- accepted */

static void test_a_chain_to_the_extra_authority_is_accepted_for_a_name_or_address(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    const char *hosts[] = {"localhost", "127.0.0.1", "::1"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        X509 *cert = signed_for("DNS:localhost,IP:127.0.0.1,IP:::1");
        assert_int_equal(connect_to(hosts[i], cert, ca_file, true, &why), 0);
        assert_int_equal(why.len, 0);
    }
    buf_release(&why);
}

static void test_a_wildcard_covers_one_label(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    assert_int_equal(
        connect_to("chat.exemple.org", signed_for("DNS:*.exemple.org"), ca_file, true, &why), 0);
    assert_int_equal(
        connect_to("a.chat.exemple.org", signed_for("DNS:*.exemple.org"), ca_file, true, &why),
        TLS_EREFUSED);
    buf_release(&why);
}

static void test_the_handshake_fed_byte_by_byte_ends_the_same(void **state)
{
    (void)state;
    struct tls_config *cfg;
    struct buf why = BUF_INIT;
    assert_int_equal(tls_config_new(ca_file, true, &cfg, &why), 0);
    struct server s;
    server_start(&s, signed_for("DNS:localhost"), 0);
    struct tls *t = tls_new(cfg, "localhost");
    assert_int_equal(exchange(t, &s, true, &why), 0);
    tls_free(t);
    server_stop(&s);
    tls_config_free(cfg);
    buf_release(&why);
}

/* ---------------------------------------------------------------- refused, and why */

static void assert_refused(int r, const struct buf *why, const char *expected)
{
    assert_int_equal(r, TLS_EREFUSED);
    assert_string_equal(why->data, expected);
}

static void test_an_unknown_authority_is_refused(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    int r = connect_to("localhost", signed_for("DNS:localhost"), NULL, true, &why);
    assert_refused(r, &why,
                   "autorité inconnue (utilisez --tls-ca pour faire confiance à une autorité "
                   "de plus)");
    buf_release(&why);
}

static void test_a_self_signed_certificate_is_an_unknown_authority(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    struct cert_spec spec = {"localhost", "DNS:localhost", LONG_AGO, LONG_AFTER, false};
    X509 *cert = make_cert(server_key, &spec, NULL, NULL);
    int r = connect_to("localhost", cert, ca_file, true, &why);
    assert_int_equal(r, TLS_EREFUSED);
    assert_non_null(strstr(why.data, "autorité inconnue"));
    buf_release(&why);
}

static void test_a_certificate_for_another_name_is_refused_naming_both(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    int r = connect_to("localhost", signed_for("DNS:autre.exemple"), ca_file, true, &why);
    assert_refused(r, &why,
                   "le nom ne correspond pas (certificat pour « autre.exemple », pas pour "
                   "« localhost »)");
    buf_release(&why);
    r = connect_to("127.0.0.2", signed_for("DNS:localhost,IP:127.0.0.1"), ca_file, true, &why);
    assert_refused(r, &why,
                   "le nom ne correspond pas (certificat pour « localhost », « 127.0.0.1 », "
                   "pas pour « 127.0.0.2 »)");
    buf_release(&why);
}

static void test_a_certificate_without_alternative_names_is_quoted_by_its_common_name(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    int r = connect_to("localhost", signed_for(NULL), ca_file, true, &why);
    assert_refused(
        r, &why, "le nom ne correspond pas (certificat pour « serveur », pas pour « localhost »)");
    buf_release(&why);
}

static void test_quoted_names_are_few_cut_and_sanitised(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    char san[512];
    snprintf(san, sizeof(san), "DNS:%s,DNS:%s,DNS:deux,DNS:trois,DNS:cinq",
             "mal\033[31mveillant", /* an escape sequence, from a hostile certificate */
             "long-long-long-long-long-long-long-long-long-long-long-long-long-long.exemple");
    int r = connect_to("localhost", signed_for(san), ca_file, true, &why);
    assert_refused(
        r, &why,
        "le nom ne correspond pas (certificat pour « mal[31mveillant », "
        "« long-long-long-long-long-long-long-long-long-long-long-long-long », " /* 64 bytes */
        "« deux », « trois », …, pas pour « localhost »)");
    buf_release(&why);
}

static void test_an_expired_certificate_is_refused_with_its_date(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    struct cert_spec spec = {"serveur", "DNS:localhost", LONG_AGO, EXPIRED_AT, false};
    X509 *cert = make_cert(server_key, &spec, ca_cert, ca_key);
    int r = connect_to("localhost", cert, ca_file, true, &why);
    assert_refused(r, &why, "certificat expiré le 02/01/2020 à 12:00 UTC");
    buf_release(&why);
}

static void test_a_certificate_not_yet_valid_is_refused_with_its_date(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    struct cert_spec spec = {"serveur", "DNS:localhost", SOON_AFTER, LONG_AFTER, false};
    X509 *cert = make_cert(server_key, &spec, ca_cert, ca_key);
    int r = connect_to("localhost", cert, ca_file, true, &why);
    assert_refused(r, &why, "certificat valable seulement à partir du 01/03/2098 à 08:30 UTC");
    buf_release(&why);
}

static void test_an_expired_authority_is_named_as_such(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    struct cert_spec spec = {"serveur", "DNS:localhost", LONG_AGO, LONG_AFTER, false};
    X509 *cert = make_cert(server_key, &spec, old_ca_cert, old_ca_key);
    int r = connect_to("localhost", cert, old_ca_file, true, &why);
    assert_refused(r, &why,
                   "le certificat d'une autorité de la chaîne a expiré le 02/01/2020 à 12:00 UTC");
    buf_release(&why);
}

static void test_without_verification_anything_is_accepted(void **state)
{
    (void)state;
    struct buf why = BUF_INIT;
    struct cert_spec spec = {"n'importe qui", "DNS:ailleurs", LONG_AGO, EXPIRED_AT, false};
    X509 *cert = make_cert(server_key, &spec, NULL, NULL);
    assert_int_equal(connect_to("localhost", cert, NULL, false, &why), 0);
    assert_int_equal(why.len, 0);
    buf_release(&why);
}

/* ---------------------------------------------------------------- other failures */

static void test_a_peer_that_does_not_speak_tls_fails(void **state)
{
    (void)state;
    struct tls_config *cfg;
    struct buf why = BUF_INIT;
    assert_int_equal(tls_config_new(NULL, true, &cfg, &why), 0);
    struct tls *t = tls_new(cfg, "localhost");
    assert_int_equal(tls_handshake(t, &why), -EAGAIN);
    assert_true(tls_pending(t) > 0); /* the ClientHello */
    static const char prompt[] = "? Entrez votre pseudo :\n";
    tls_feed(t, prompt, sizeof(prompt) - 1);
    assert_int_equal(tls_handshake(t, &why), TLS_EFAILED);
    assert_non_null(strstr(why.data, "négociation TLS impossible (OpenSSL : "));
    assert_non_null(strstr(why.data, "le serveur ne parle peut-être pas TLS sur ce port"));
    tls_free(t);
    tls_config_free(cfg);
    buf_release(&why);
}

static void test_a_server_below_tls_1_2_is_refused(void **state)
{
    (void)state;
    struct tls_config *cfg;
    struct buf why = BUF_INIT;
    assert_int_equal(tls_config_new(ca_file, true, &cfg, &why), 0);
    struct server s;
    server_start(&s, signed_for("DNS:localhost"), TLS1_1_VERSION);
    struct tls *t = tls_new(cfg, "localhost");
    assert_int_equal(exchange(t, &s, false, &why), TLS_EFAILED);
    assert_non_null(strstr(why.data, "négociation TLS impossible"));
    tls_free(t);
    server_stop(&s);
    tls_config_free(cfg);
    buf_release(&why);
}

/* ---------------------------------------------------------------- after the handshake */

/* A session to localhost, handshake done, the server's side too. */
static struct tls *connected(struct tls_config **cfg, struct server *s)
{
    struct buf why = BUF_INIT;
    assert_int_equal(tls_config_new(ca_file, true, cfg, &why), 0);
    server_start(s, signed_for("DNS:localhost"), 0);
    struct tls *t = tls_new(*cfg, "localhost");
    assert_int_equal(exchange(t, s, false, &why), 0);
    char b[16];
    ERR_clear_error();
    assert_true(SSL_read(s->ssl, b, sizeof(b)) <= 0); /* the server ends its handshake */
    to_client(s, t, false, NULL);                     /* TLS 1.3: its session tickets */
    buf_release(&why);
    return t;
}

static void test_lines_cross_both_ways_as_plaintext(void **state)
{
    (void)state;
    struct tls_config *cfg;
    struct server s;
    struct tls *t = connected(&cfg, &s);
    char b[256];
    assert_int_equal(tls_read(t, b, sizeof(b)), -EAGAIN);
    assert_int_equal(tls_write(t, "salut\n", 6), 0);
    assert_true(tls_pending(t) > 6); /* a record: more than the text, and not the text */
    to_server(t, &s);
    assert_int_equal(SSL_read(s.ssl, b, sizeof(b)), 6);
    assert_memory_equal(b, "salut\n", 6);
    assert_int_equal(SSL_write(s.ssl, "> bob: ça va ?\n", 16), 16);
    to_client(&s, t, false, NULL);
    assert_int_equal(tls_read(t, b, sizeof(b)), 16);
    assert_memory_equal(b, "> bob: ça va ?\n", 16);
    assert_int_equal(tls_read(t, b, sizeof(b)), -EAGAIN);
    assert_true(SSL_version(s.ssl) >= TLS1_2_VERSION);
    assert_null(SSL_get_current_compression(s.ssl));
    tls_free(t);
    server_stop(&s);
    tls_config_free(cfg);
}

static void test_the_server_s_close_notify_reads_as_the_end(void **state)
{
    (void)state;
    struct tls_config *cfg;
    struct server s;
    struct tls *t = connected(&cfg, &s);
    assert_int_equal(SSL_write(s.ssl, "* fin\n", 6), 6);
    SSL_shutdown(s.ssl);
    to_client(&s, t, false, NULL);
    char b[64];
    assert_int_equal(tls_read(t, b, sizeof(b)), 6); /* what came before it first */
    assert_int_equal(tls_read(t, b, sizeof(b)), 0);
    tls_free(t);
    server_stop(&s);
    tls_config_free(cfg);
}

static void test_our_close_notify_ends_the_server_s_reading(void **state)
{
    (void)state;
    struct tls_config *cfg;
    struct server s;
    struct tls *t = connected(&cfg, &s);
    tls_close_notify(t);
    assert_true(tls_pending(t) > 0);
    to_server(t, &s);
    char b[64];
    int n = SSL_read(s.ssl, b, sizeof(b));
    assert_int_equal(n, 0);
    assert_int_equal(SSL_get_error(s.ssl, n), SSL_ERROR_ZERO_RETURN);
    /* The server may still answer: reading goes on after our close_notify. */
    assert_int_equal(SSL_write(s.ssl, "+ Au revoir.\n", 13), 13);
    to_client(&s, t, false, NULL);
    assert_int_equal(tls_read(t, b, sizeof(b)), 13);
    tls_free(t);
    server_stop(&s);
    tls_config_free(cfg);
}

/* The server name the client sent (SNI), once the handshake is done; NULL if none. */
static void test_sni_names_the_host_but_never_an_address(void **state)
{
    (void)state;
    const char *hosts[] = {"localhost", "127.0.0.1"};
    const char *sni[] = {"localhost", NULL};
    for (size_t i = 0; i < 2; i++) {
        struct tls_config *cfg;
        struct buf why = BUF_INIT;
        assert_int_equal(tls_config_new(ca_file, true, &cfg, &why), 0);
        struct server s;
        server_start(&s, signed_for("DNS:localhost,IP:127.0.0.1"), 0);
        struct tls *t = tls_new(cfg, hosts[i]);
        assert_int_equal(exchange(t, &s, false, &why), 0);
        const char *name = SSL_get_servername(s.ssl, TLSEXT_NAMETYPE_host_name);
        if (sni[i]) {
            assert_string_equal(name, sni[i]);
        } else {
            assert_null(name);
        }
        tls_free(t);
        server_stop(&s);
        tls_config_free(cfg);
        buf_release(&why);
    }
}

/* ---------------------------------------------------------------- the --tls-ca file */

static void assert_ca_file_refused(const char *path, int status, const char *expected)
{
    struct tls_config *cfg = NULL;
    struct buf err = BUF_INIT;
    assert_int_equal(tls_config_new(path, true, &cfg, &err), status);
    assert_null(cfg);
    assert_non_null(strstr(err.data, expected));
    assert_int_equal(err.data[err.len - 1], '\n');
    buf_release(&err);
}

static void test_a_missing_ca_file_is_a_french_error(void **state)
{
    (void)state;
    assert_ca_file_refused("/nulle/part/ca.pem", -ENOENT,
                           "causerie : impossible de lire le fichier de --tls-ca "
                           "« /nulle/part/ca.pem » : fichier introuvable");
}

static void test_a_directory_is_no_ca_file(void **state)
{
    (void)state;
    assert_ca_file_refused("/tmp", -EISDIR, "« /tmp » : c'est un dossier");
}

static void test_a_ca_file_without_a_certificate_is_refused(void **state)
{
    (void)state;
    assert_ca_file_refused(empty_file, -EINVAL, "ne contient pas de certificat PEM lisible");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_chain_to_the_extra_authority_is_accepted_for_a_name_or_address),
        cmocka_unit_test(test_a_wildcard_covers_one_label),
        cmocka_unit_test(test_the_handshake_fed_byte_by_byte_ends_the_same),
        cmocka_unit_test(test_an_unknown_authority_is_refused),
        cmocka_unit_test(test_a_self_signed_certificate_is_an_unknown_authority),
        cmocka_unit_test(test_a_certificate_for_another_name_is_refused_naming_both),
        cmocka_unit_test(test_a_certificate_without_alternative_names_is_quoted_by_its_common_name),
        cmocka_unit_test(test_quoted_names_are_few_cut_and_sanitised),
        cmocka_unit_test(test_an_expired_certificate_is_refused_with_its_date),
        cmocka_unit_test(test_a_certificate_not_yet_valid_is_refused_with_its_date),
        cmocka_unit_test(test_an_expired_authority_is_named_as_such),
        cmocka_unit_test(test_without_verification_anything_is_accepted),
        cmocka_unit_test(test_a_peer_that_does_not_speak_tls_fails),
        cmocka_unit_test(test_a_server_below_tls_1_2_is_refused),
        cmocka_unit_test(test_lines_cross_both_ways_as_plaintext),
        cmocka_unit_test(test_the_server_s_close_notify_reads_as_the_end),
        cmocka_unit_test(test_our_close_notify_ends_the_server_s_reading),
        cmocka_unit_test(test_sni_names_the_host_but_never_an_address),
        cmocka_unit_test(test_a_missing_ca_file_is_a_french_error),
        cmocka_unit_test(test_a_directory_is_no_ca_file),
        cmocka_unit_test(test_a_ca_file_without_a_certificate_is_refused),
    };
    return cmocka_run_group_tests_name("client_tls", tests, make_authorities, free_authorities);
}
