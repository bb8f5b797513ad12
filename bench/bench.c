/* bench.c - causerie-bench, the load generator behind `make bench`.
 *
 * One process, one libuv loop, thousands of non-blocking connections to a chat server on
 * loopback. Each workload (preset) joins members, has senders stamp every message with
 * (sender, sequence, send time), and has every member check what it receives: deliveries
 * per second, latency percentiles, and lost, duplicated or reordered messages, which must
 * all be 0. Sending is paced by a window (at most W messages ahead of the slowest
 * receiver) or by a timer, never by sleeping. Every run stops by itself: bounded in
 * messages and in seconds. What a server speaks is in struct proto_ops, so the same
 * generator can measure other servers. The login preset also registers accounts, then
 * logs in to them over and over while a room chats (causerie only). With --tls (the tls
 * preset), every connection speaks TLS through OpenSSL over memory BIOs, as the server
 * does; the certificate is not verified, since the bench only ever talks to the server it
 * started on loopback. With --ports, connections are spread over several servers of one
 * cluster, in contiguous blocks, so that the members and the senders are each divided
 * evenly; latency is still one clock, this machine's. The idle preset can be one of several
 * generator processes sharing one broadcast (--go-signal, --external-sender), so that more
 * connections than one process's descriptors join one room.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <signal.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/buf.h"
#include "common/proto.h"
#include "common/xalloc.h"

/* ---------------------------------------------------------------- parameters */

/* Servers one generator may spread its connections over, and measure. */
#define MAX_PORTS 64

/* How long a generator waits for the script's go (--go-signal): the other generators'
 * joins come first, and 100,000 of them on two cores take minutes. */
#define GO_WAIT_SECONDS 900

struct params {
    const char *preset;
    const char *host;
    int ports[MAX_PORTS];       /* --port or --ports; at least one */
    unsigned n_ports;           /* in ports */
    int server_pids[MAX_PORTS]; /* for CPU time and RSS, summed; none: not measured */
    unsigned n_pids;            /* in server_pids */
    unsigned name_base;         /* first number in pseudos, unique across generators */
    unsigned source_first;      /* idle: last byte of the first 127.0.0.x source */
    bool go_signal;             /* idle: wait for SIGUSR1 before sending, and after */
    bool external_sender;       /* idle: the one message comes from another generator */
    unsigned members;           /* connections in the room */
    unsigned senders;           /* members that send */
    unsigned msg_size;          /* bytes of payload per message */
    unsigned window;            /* fanout-max: messages a sender may be ahead of the slowest */
    unsigned rate;              /* fanout-rate: messages per second, all senders together */
    double seconds;             /* how long senders send */
    uint64_t max_msgs;          /* and at most this many messages in all */
    unsigned sources;           /* idle: 127.0.0.x source addresses to spread connections over */
    unsigned concurrency;       /* connects in flight at once; churn: clients at once */
    unsigned room_size;         /* rooms: members per room, one of them the sender; 0: one room */
    unsigned logins;            /* login: logins in flight at once */
    unsigned accounts;          /* login: accounts registered first, logged in to in turn */
    bool tls;                   /* every connection in TLS (the tls preset) */
};

/* ---------------------------------------------------------------- connections */

enum conn_state { C_CONNECTING, C_HANDSHAKE, C_JOINED, C_CLOSED };

struct bconn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    unsigned index;
    enum conn_state state;
    int sender; /* index among senders, or -1 */
    struct proto_framer framer;
    uint64_t *next_seq;  /* owned: per sender, the next sequence expected */
    uint64_t *got;       /* owned: per sender, messages received from it */
    uint64_t sent;       /* as a sender: messages sent */
    uint64_t order_hash; /* FNV over the (sender, seq) stream, to compare orders */
    uint64_t received;
    bool welcomed;     /* rooms: the server took its pseudo; its /join is on its way */
    bool cycle_sent;   /* churn: its one message is out */
    bool payload_next; /* NATS: the next line is the payload of a MSG */
    uint8_t resp_left; /* Redis: lines left in the push being read */
    bool resp_message; /* Redis: that push is a message (else a subscribe reply) */
    SSL *ssl;          /* with --tls: owns rbio and wbio; NULL otherwise */
    BIO *rbio, *wbio;  /* memory: ciphertext in, ciphertext out */
};

/* Latencies in ns, one per event, kept until sorted for their percentiles. */
struct samples {
    uint64_t *v; /* owned */
    size_t n, cap;
};

struct bench {
    uv_loop_t *loop;
    struct params p;
    struct bconn *conns;
    unsigned n_conns, n_joined, n_closed, n_connecting, next_to_connect;
    unsigned *sender_conn; /* sender index -> connection index */
    uv_prepare_t pump;
    uv_timer_t deadline, tick;
    bool sending, draining, failed;
    uint64_t sent_total, deliveries, lost, duplicated, reordered, malformed, crossed;
    uint64_t t_start, t_stop;
    struct samples lat;       /* per delivery of a message stamped before split_ns */
    struct samples lat_after; /* login: per delivery of one stamped from split_ns on */
    uint64_t split_ns;        /* login: when the logins started; 0: no split */
    uint64_t churn_joins;
    unsigned churn_name;
    char *padding;
};

static struct bench B;
static char read_buf[65536];
static char plain_buf[65536]; /* what TLS decrypts from read_buf */
static SSL_CTX *tls_ctx;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The room of connection i: with the rooms preset, members i*k .. i*k + k - 1 share room
 * i, whose sender is the first of them; otherwise everyone is in room 0. */
static unsigned room_of(unsigned i)
{
    return B.p.room_size ? i / B.p.room_size : 0;
}

/* The server port of connection i of n: n/k consecutive connections to each of the k
 * ports. Blocks rather than turns, so that senders, which setup() spaces evenly over the
 * connections, are divided evenly among the servers too. */
static int port_for(unsigned i, unsigned n)
{
    if (B.p.n_ports == 1 || n == 0) {
        return B.p.ports[0];
    }
    return B.p.ports[(uint64_t)(i % n) * B.p.n_ports / n];
}

/* ---------------------------------------------------------------- protocol adapter */

/* What a server speaks: how to join, how to publish, how to find the payload in what it
 * sends. Only causerie's is here; other servers get their own table. */
struct proto_ops {
    const char *name;
    void (*join)(struct bconn *c);
    /* Called for each line; returns the payload of a room message, or NULL. Sets *joined
     * when the line confirms the join. */
    const char *(*parse)(struct bconn *c, const char *line, size_t len, size_t *plen, bool *joined);
    void (*publish)(struct buf *out, const char *payload, size_t len);
};

static void conn_write(struct bconn *c, const char *data, size_t len);

static void causerie_join(struct bconn *c)
{
    char name[32];
    int n = snprintf(name, sizeof(name), "b%u-%u\n", B.p.name_base + B.churn_name++, c->index);
    conn_write(c, name, (size_t)n);
}

static const char *causerie_parse(struct bconn *c, const char *line, size_t len, size_t *plen,
                                  bool *joined)
{
    if (len >= 2 && line[0] == '+' && line[1] == ' ' && B.p.room_size && !c->welcomed) {
        /* The welcome: now into the member's own room, which the next "+ " confirms. */
        c->welcomed = true;
        char join[32];
        int n = snprintf(join, sizeof(join), "/join r%u\n", room_of(c->index));
        conn_write(c, join, (size_t)n);
        return NULL;
    }
    if (len >= 2 && line[0] == '+' && line[1] == ' ') {
        *joined = true;
        return NULL;
    }
    if (len < 2 || line[0] != '>') {
        return NULL;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon || (size_t)(colon - line) + 2 > len) {
        return NULL;
    }
    *plen = len - (size_t)(colon + 2 - line);
    return colon + 2;
}

static void causerie_publish(struct buf *out, const char *payload, size_t len)
{
    buf_append(out, payload, len);
    buf_append_char(out, '\n');
}

static const struct proto_ops causerie_ops = {"causerie", causerie_join, causerie_parse,
                                              causerie_publish};

/* NATS: one subject is the room. echo:false keeps a sender's own messages from it, as
 * causerie does; the PONG to our PING confirms that the subscription is in place. A
 * message arrives as "MSG <subject> <sid> <len>" and its payload on the next line. */
static void nats_join(struct bconn *c)
{
    static const char hello[] = "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":false}"
                                "\r\nSUB room 1\r\nPING\r\n";
    conn_write(c, hello, sizeof(hello) - 1);
}

static const char *nats_parse(struct bconn *c, const char *line, size_t len, size_t *plen,
                              bool *joined)
{
    if (c->payload_next) {
        c->payload_next = false;
        *plen = len;
        return line;
    }
    if (len >= 4 && memcmp(line, "MSG ", 4) == 0) {
        c->payload_next = true;
    } else if (len == 4 && memcmp(line, "PONG", 4) == 0) {
        *joined = true;
    } else if (len == 4 && memcmp(line, "PING", 4) == 0) {
        conn_write(c, "PONG\r\n", 6); /* the server's keep-alive */
    }
    return NULL;
}

static void nats_publish(struct buf *out, const char *payload, size_t len)
{
    buf_appendf(out, "PUB room %zu\r\n", len);
    buf_append(out, payload, len);
    buf_append(out, "\r\n", 2);
}

static const struct proto_ops nats_ops = {"nats", nats_join, nats_parse, nats_publish};

/* Redis pub/sub: one channel is the room. RESP3 (HELLO 3) lets a subscribed connection
 * also PUBLISH, so each member needs one connection, as with the others; messages then
 * arrive as push frames, one element per line: ">3", "$7", "message", "$4", "room",
 * "$N", payload. Redis sends a publisher its own messages; on_payload() ignores those. */
static void redis_join(struct bconn *c)
{
    static const char hello[] = "HELLO 3\r\nSUBSCRIBE room\r\n";
    conn_write(c, hello, sizeof(hello) - 1);
}

static const char *redis_parse(struct bconn *c, const char *line, size_t len, size_t *plen,
                               bool *joined)
{
    if (c->resp_left > 0) {
        if (--c->resp_left > 0) {
            return NULL;
        }
        if (c->resp_message) {
            *plen = len;
            return line; /* the payload, after "$4", "room" and "$N" */
        }
        *joined = true; /* ":1", the count of our subscriptions */
        return NULL;
    }
    if (len == 7 && memcmp(line, "message", 7) == 0) {
        c->resp_message = true;
        c->resp_left = 4;
    } else if (len == 9 && memcmp(line, "subscribe", 9) == 0) {
        c->resp_message = false;
        c->resp_left = 3;
    }
    return NULL;
}

static void redis_publish(struct buf *out, const char *payload, size_t len)
{
    buf_appendf(out, "*3\r\n$7\r\nPUBLISH\r\n$4\r\nroom\r\n$%zu\r\n", len);
    buf_append(out, payload, len);
    buf_append(out, "\r\n", 2);
}

static const struct proto_ops redis_ops = {"redis", redis_join, redis_parse, redis_publish};

/* IRC (ngIRCd): one channel is the room. The end of the NAMES list that follows our JOIN
 * confirms it; a message arrives as ":nick!user@host PRIVMSG #room :payload", and a
 * server never sends a client its own PRIVMSG. When the server has an operator block
 * named "bench" (bench/peers.sh writes one), each connection takes user mode +F, ngIRCd's
 * relaxed flood control, as the bench lifts causerie's per-client limits. Nicknames are
 * at most 9 characters, IRC's classic limit. */
static void irc_join(struct bconn *c)
{
    char hello[160];
    int n = snprintf(hello, sizeof(hello),
                     "NICK b%x\r\nUSER b 0 * :b\r\nOPER bench bench\r\nMODE b%x +F\r\n"
                     "JOIN #room\r\n",
                     B.churn_name, B.churn_name);
    B.churn_name++;
    conn_write(c, hello, (size_t)n);
}

/* Whether a 366 line (its command onwards, len bytes) ends the names of #room. */
static bool names_room(const char *cmd, size_t len)
{
    static const char room[] = " #room ";
    for (size_t i = 0; i + sizeof(room) - 1 <= len; i++) {
        if (memcmp(cmd + i, room, sizeof(room) - 1) == 0) {
            return true;
        }
    }
    return false;
}

static const char *irc_parse(struct bconn *c, const char *line, size_t len, size_t *plen,
                             bool *joined)
{
    if (len >= 5 && memcmp(line, "PING ", 5) == 0) {
        conn_write(c, "PONG ", 5); /* the server's keep-alive: answer with its token */
        conn_write(c, line + 5, len - 5);
        conn_write(c, "\r\n", 2);
        return NULL;
    }
    if (len == 0 || line[0] != ':') {
        return NULL;
    }
    const char *sp = memchr(line, ' ', len);
    if (!sp) {
        return NULL;
    }
    size_t rest = len - (size_t)(sp + 1 - line);
    const char *cmd = sp + 1;
    static const char privmsg[] = "PRIVMSG #room :";
    if (rest >= sizeof(privmsg) - 1 && memcmp(cmd, privmsg, sizeof(privmsg) - 1) == 0) {
        *plen = rest - (sizeof(privmsg) - 1);
        return cmd + sizeof(privmsg) - 1;
    }
    if (rest >= 4 && memcmp(cmd, "366 ", 4) == 0 && names_room(cmd, rest)) {
        *joined = true; /* RPL_ENDOFNAMES of #room, not of a room a server put us in first */
    }
    return NULL;
}

static void irc_publish(struct buf *out, const char *payload, size_t len)
{
    buf_append(out, "PRIVMSG #room :", 15);
    buf_append(out, payload, len);
    buf_append(out, "\r\n", 2);
}

static const struct proto_ops irc_ops = {"irc", irc_join, irc_parse, irc_publish};

static const struct proto_ops *ops = &causerie_ops;

/* ---------------------------------------------------------------- writing */

struct wreq {
    uv_write_t req;
    char data[];
};

static void on_written(uv_write_t *req, int status)
{
    if (status < 0 && status != UV_ECANCELED) {
        fprintf(stderr, "bench: write: %s\n", uv_strerror(status));
        B.failed = true;
    }
    free(req);
}

static void raw_write(struct bconn *c, const char *data, size_t len)
{
    struct wreq *w = xmalloc(sizeof(*w) + len);
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (r < 0) {
        fprintf(stderr, "bench: write on connection %u: %s\n", c->index, uv_strerror(r));
        free(w);
        B.failed = true;
    }
}

/* Sends what TLS wrote into its write BIO. */
static void tls_flush(struct bconn *c)
{
    char *data;
    long len = BIO_get_mem_data(c->wbio, &data);
    if (len > 0) {
        raw_write(c, data, (size_t)len);
    }
    (void)BIO_reset(c->wbio);
}

static void conn_write(struct bconn *c, const char *data, size_t len)
{
    if (c->state == C_CLOSED) {
        return;
    }
    if (!c->ssl) {
        raw_write(c, data, len);
        return;
    }
    if (SSL_write(c->ssl, data, (int)len) != (int)len) {
        fprintf(stderr, "bench: TLS write on connection %u failed\n", c->index);
        B.failed = true;
        return;
    }
    tls_flush(c);
}

/* Appends one stamped message from sender s: "B<s>,<seq>,<ns>," padded to msg_size. */
static void stamp(struct buf *out, struct bconn *c)
{
    char head[64];
    int n =
        snprintf(head, sizeof(head), "B%d,%" PRIu64 ",%" PRIu64 ",", c->sender, c->sent, now_ns());
    size_t pad = B.p.msg_size > (unsigned)n ? B.p.msg_size - (unsigned)n : 0;
    struct buf payload = BUF_INIT;
    buf_append(&payload, head, (size_t)n);
    buf_append(&payload, B.padding, pad);
    ops->publish(out, payload.data, payload.len);
    buf_release(&payload);
    c->sent++;
    B.sent_total++;
}

/* ---------------------------------------------------------------- receiving */

static void samples_add(struct samples *s, uint64_t ns)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1 << 16;
        s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
    }
    s->v[s->n++] = ns;
}

static void samples_free(struct samples *s)
{
    free(s->v);
    *s = (struct samples){0};
}

static void on_payload(struct bconn *c, const char *p, size_t len)
{
    unsigned s;
    uint64_t seq, t;
    char tmp[80];
    size_t n = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    if (sscanf(tmp, "B%u,%" SCNu64 ",%" SCNu64 ",", &s, &seq, &t) != 3 || s >= B.p.senders) {
        B.malformed++;
        return;
    }
    if ((int)s == c->sender) {
        return; /* a server that echoes senders (Redis): not a delivery to anyone else */
    }
    if (room_of(B.sender_conn[s]) != room_of(c->index)) {
        B.crossed++; /* a message of another room: the server mixed rooms up */
        return;
    }
    uint64_t now = now_ns();
    struct samples *into = B.split_ns && t >= B.split_ns ? &B.lat_after : &B.lat;
    samples_add(into, now > t ? now - t : 0);
    B.deliveries++;
    c->received++;
    if (seq == c->next_seq[s]) {
        c->next_seq[s]++;
        c->got[s]++;
    } else if (seq > c->next_seq[s]) {
        B.reordered++; /* something before it is missing, or comes later */
        c->got[s]++;
        c->next_seq[s] = seq + 1;
    } else {
        B.duplicated++; /* seen before, or arrived after a later one */
    }
    c->order_hash = (c->order_hash ^ (s * 1000003u + seq)) * 1099511628211ULL;
}

static void on_line(struct bconn *c, const char *line, size_t len)
{
    size_t plen = 0;
    bool joined = false;
    const char *payload = ops->parse(c, line, len, &plen, &joined);
    if (joined && c->state == C_HANDSHAKE) {
        c->state = C_JOINED;
        B.n_joined++;
    } else if (payload) {
        on_payload(c, payload, plen);
    }
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    (void)h;
    (void)size;
    *b = uv_buf_init(read_buf, sizeof(read_buf));
}

static void conn_close(struct bconn *c);

static void on_plain(struct bconn *c, const char *in, size_t in_len)
{
    const char *line;
    size_t len;
    int r;
    while ((r = proto_framer_next(&c->framer, &in, &in_len, &line, &len)) != -EAGAIN) {
        if (r == 0) {
            on_line(c, line, len);
        }
    }
}

/* Ciphertext in: the handshake moves on (the join is sent once it is over), and what it
 * decrypts goes to the framer. Returns false if TLS failed. */
static bool on_cipher(struct bconn *c, const char *in, size_t len)
{
    BIO_write(c->rbio, in, (int)len);
    if (!SSL_is_init_finished(c->ssl)) {
        int r = SSL_do_handshake(c->ssl);
        tls_flush(c);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
        }
        ops->join(c);
    }
    int n;
    while ((n = SSL_read(c->ssl, plain_buf, sizeof(plain_buf))) > 0) {
        on_plain(c, plain_buf, (size_t)n);
    }
    int e = SSL_get_error(c->ssl, n);
    tls_flush(c);
    return e == SSL_ERROR_WANT_READ;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct bconn *c = s->data;
    if (nread < 0) {
        if (!B.draining || c->state == C_JOINED) {
            fprintf(stderr, "bench: connection %u: %s\n", c->index, uv_strerror((int)nread));
        }
        conn_close(c);
        return;
    }
    if (!c->ssl) {
        on_plain(c, b->base, (size_t)nread);
    } else if (!on_cipher(c, b->base, (size_t)nread)) {
        fprintf(stderr, "bench: TLS on connection %u: %s\n", c->index,
                ERR_reason_error_string(ERR_get_error()));
        B.failed = true;
        conn_close(c);
    }
}

/* Starts TLS on c, whose socket is connected: the ClientHello goes at once. */
static void tls_start(struct bconn *c)
{
    c->ssl = SSL_new(tls_ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(c->rbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_connect_state(c->ssl);
    (void)SSL_do_handshake(c->ssl);
    tls_flush(c);
}

/* ---------------------------------------------------------------- connecting */

static void on_closed(uv_handle_t *h)
{
    (void)h;
    B.n_closed++;
}

static void conn_close(struct bconn *c)
{
    if (c->state == C_CLOSED) {
        return;
    }
    if (c->state == C_JOINED) {
        B.n_joined--;
    }
    c->state = C_CLOSED;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void connect_more(void);

static void on_connect(uv_connect_t *req, int status)
{
    struct bconn *c = req->data;
    B.n_connecting--;
    if (status < 0) {
        fprintf(stderr, "bench: connect %u: %s\n", c->index, uv_strerror(status));
        B.failed = true;
        conn_close(c);
        return;
    }
    c->state = C_HANDSHAKE;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (B.p.tls) {
        tls_start(c); /* the join follows the TLS handshake */
    } else {
        ops->join(c);
    }
    connect_more();
}

static void conn_start(struct bconn *c, unsigned index)
{
    memset(c, 0, sizeof(*c));
    c->index = index;
    c->sender = -1;
    c->state = C_CONNECTING;
    proto_framer_init(&c->framer, 1 << 16);
    c->next_seq = xcalloc(B.p.senders ? B.p.senders : 1, sizeof(uint64_t));
    c->got = xcalloc(B.p.senders ? B.p.senders : 1, sizeof(uint64_t));
    c->order_hash = 1469598103934665603ULL;
    uv_tcp_init(B.loop, &c->tcp);
    c->tcp.data = c;
    if (B.p.sources > 1) {
        /* Each source address has its own ~28,000 ephemeral ports. */
        char src[32];
        snprintf(src, sizeof(src), "127.0.0.%u", B.p.source_first + index % B.p.sources);
        struct sockaddr_in sa;
        uv_ip4_addr(src, 0, &sa);
        uv_tcp_bind(&c->tcp, (const struct sockaddr *)&sa, 0);
    }
    struct sockaddr_in dst;
    uv_ip4_addr(B.p.host, port_for(index, B.n_conns), &dst);
    c->connect_req.data = c;
    B.n_connecting++;
    int r = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&dst, on_connect);
    if (r < 0) {
        on_connect(&c->connect_req, r);
    }
}

/* Keeps at most p.concurrency connects in flight until every connection is started. */
static void connect_more(void)
{
    while (B.next_to_connect < B.n_conns && B.n_connecting < B.p.concurrency) {
        unsigned i = B.next_to_connect++;
        conn_start(&B.conns[i], i);
    }
}

/* ---------------------------------------------------------------- server measures */

struct server_sample {
    double cpu_s; /* user + system */
    long rss_kib; /* VmRSS */
    long hwm_kib; /* VmHWM: peak */
};

/* Adds process pid's figures to s. */
static void sample_one(struct server_sample *s, int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f) {
        unsigned long ut = 0, st = 0;
        /* Fields 14 and 15; the name (field 2) may hold spaces but not ')'. */
        if (fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                   &st) == 2) {
            s->cpu_s += (double)(ut + st) / 100.0; /* USER_HZ is 100 on Linux */
        }
        fclose(f);
    }
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f) {
        char line[256];
        long kib;
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "VmRSS: %ld", &kib) == 1) {
                s->rss_kib += kib;
            } else if (sscanf(line, "VmHWM: %ld", &kib) == 1) {
                s->hwm_kib += kib;
            }
        }
        fclose(f);
    }
}

/* The servers' CPU time and memory, summed over every --server-pid (zeros without). */
static void sample_server(struct server_sample *s)
{
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < B.p.n_pids; i++) {
        sample_one(s, B.p.server_pids[i]);
    }
}

/* ---------------------------------------------------------------- running the loop */

static bool deadline_hit;

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    deadline_hit = true;
    uv_stop(B.loop);
}

/* Runs the loop until done() or seconds pass; returns false on time-out. */
static bool run_until(bool (*done)(void), double seconds)
{
    deadline_hit = false;
    uv_timer_start(&B.deadline, on_deadline, (uint64_t)(seconds * 1000), 0);
    while (!done() && !deadline_hit && !B.failed) {
        uv_run(B.loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&B.deadline);
    return done();
}

static bool all_joined(void)
{
    return B.n_joined == B.n_conns;
}

static bool all_closed(void)
{
    return B.n_closed == B.n_conns;
}

/* Whether c receives what sender s sends: another member of s's room. */
static bool receives(const struct bconn *c, unsigned s)
{
    return c->index != B.sender_conn[s] && room_of(c->index) == room_of(B.sender_conn[s]);
}

/* Every receiver has every message sent by every other sender of its room. */
static bool all_delivered(void)
{
    for (unsigned i = 0; i < B.n_conns; i++) {
        struct bconn *c = &B.conns[i];
        for (unsigned s = 0; s < B.p.senders; s++) {
            struct bconn *snd = &B.conns[B.sender_conn[s]];
            if (receives(c, s) && c->state == C_JOINED && c->got[s] < snd->sent) {
                return false;
            }
        }
    }
    return true;
}

static void setup(unsigned n_conns)
{
    B.n_conns = n_conns;
    B.conns = xcalloc(n_conns, sizeof(*B.conns));
    B.n_joined = B.n_closed = B.n_connecting = B.next_to_connect = 0;
    B.sent_total = B.deliveries = B.lost = B.duplicated = B.reordered = B.malformed = 0;
    B.crossed = 0;
    B.lat.n = B.lat_after.n = 0;
    B.split_ns = 0;
    B.sending = B.draining = false;
    B.sender_conn = xcalloc(B.p.senders ? B.p.senders : 1, sizeof(unsigned));
    for (unsigned s = 0; s < B.p.senders; s++) {
        /* Spread senders over the room, so that they land on different server threads;
         * with rooms, the first member of each room sends. */
        B.sender_conn[s] =
            B.p.room_size ? s * B.p.room_size : s * (n_conns / (B.p.senders ? B.p.senders : 1));
    }
}

static bool join_all(double *seconds)
{
    uint64_t t0 = now_ns();
    connect_more();
    /* Several generators joining one cluster at once share its engine and two cores. */
    bool ok = run_until(all_joined, B.p.go_signal ? GO_WAIT_SECONDS : 120);
    *seconds = (double)(now_ns() - t0) / 1e9;
    for (unsigned s = 0; s < B.p.senders; s++) {
        B.conns[B.sender_conn[s]].sender = (int)s;
    }
    return ok;
}

static void teardown(void)
{
    B.draining = true;
    for (unsigned i = 0; i < B.n_conns; i++) {
        conn_close(&B.conns[i]);
    }
    run_until(all_closed, 10);
    for (unsigned i = 0; i < B.n_conns; i++) {
        proto_framer_release(&B.conns[i].framer);
        SSL_free(B.conns[i].ssl);
        free(B.conns[i].next_seq);
        free(B.conns[i].got);
    }
    free(B.conns);
    free(B.sender_conn);
    B.conns = NULL;
}

/* Counts what never arrived, and checks that the receivers of each room that are not
 * senders (who see every message of their room) all saw one order. Connections are in
 * room order, so each room's receivers are compared with the room's first. */
static uint64_t count_lost_and_orders(bool *same_order)
{
    uint64_t lost = 0;
    uint64_t ref_hash = 0;
    bool have_ref = false;
    unsigned ref_room = 0;
    *same_order = true;
    for (unsigned i = 0; i < B.n_conns; i++) {
        struct bconn *c = &B.conns[i];
        for (unsigned s = 0; s < B.p.senders; s++) {
            struct bconn *snd = &B.conns[B.sender_conn[s]];
            if (receives(c, s) && c->got[s] < snd->sent) {
                lost += snd->sent - c->got[s];
            }
        }
        if (c->sender < 0) {
            if (have_ref && room_of(i) == ref_room && c->order_hash != ref_hash) {
                *same_order = false;
            }
            ref_hash = c->order_hash;
            ref_room = room_of(i);
            have_ref = true;
        }
    }
    return lost;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void samples_sort(struct samples *s)
{
    qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
}

/* Quantile q of s, which samples_sort() has sorted, in ms; 0 if s is empty. */
static double samples_ms(const struct samples *s, double q)
{
    if (s->n == 0) {
        return 0;
    }
    size_t i = (size_t)(q * (double)(s->n - 1));
    return (double)s->v[i] / 1e6;
}

/* ---------------------------------------------------------------- the send pump */

/* Window pacing: a sender may be at most p.window messages ahead of its slowest receiver.
 * Runs once per loop turn, so each sender's top-up leaves in one write. */
static void on_pump(uv_prepare_t *h)
{
    (void)h;
    if (!B.sending) {
        return;
    }
    if (B.sent_total >= B.p.max_msgs) {
        B.sending = false;
        return;
    }
    struct buf out = BUF_INIT;
    for (unsigned s = 0; s < B.p.senders; s++) {
        struct bconn *snd = &B.conns[B.sender_conn[s]];
        uint64_t slowest = UINT64_MAX;
        unsigned first = B.p.room_size ? B.sender_conn[s] : 0;
        unsigned end = B.p.room_size ? first + B.p.room_size : B.n_conns;
        for (unsigned i = first; i < end; i++) {
            if (receives(&B.conns[i], s) && B.conns[i].got[s] < slowest) {
                slowest = B.conns[i].got[s];
            }
        }
        buf_reset(&out);
        while (snd->sent < slowest + B.p.window && B.sent_total < B.p.max_msgs) {
            stamp(&out, snd);
        }
        if (out.len) {
            conn_write(snd, out.data, out.len);
        }
    }
    buf_release(&out);
}

/* Rate pacing: a timer tick every millisecond sends what the rate owes by now. */
static uint64_t rate_sent;

static void on_tick(uv_timer_t *t)
{
    (void)t;
    if (!B.sending) {
        return;
    }
    double elapsed = (double)(now_ns() - B.t_start) / 1e9;
    uint64_t owed = (uint64_t)(elapsed * B.p.rate);
    struct buf out = BUF_INIT;
    while (rate_sent < owed && B.sent_total < B.p.max_msgs) {
        struct bconn *snd = &B.conns[B.sender_conn[rate_sent % B.p.senders]];
        buf_reset(&out);
        stamp(&out, snd);
        conn_write(snd, out.data, out.len);
        rate_sent++;
    }
    buf_release(&out);
}

/* Senders stop at p.max_msgs, or when run_until()'s time runs out. */
static bool sending_done(void)
{
    return B.sent_total >= B.p.max_msgs;
}

/* ---------------------------------------------------------------- reports */

/* "host:port", or "host:port,port,..." for several servers. */
static const char *target(void)
{
    static char out[64 + MAX_PORTS * 7];
    int n = snprintf(out, sizeof(out), "%s:", B.p.host);
    for (unsigned i = 0; i < B.p.n_ports; i++) {
        n += snprintf(out + n, sizeof(out) - (size_t)n, "%s%d", i ? "," : "", B.p.ports[i]);
    }
    return out;
}

static void print_params(void)
{
    printf("preset=%s server=%s %s members=%u senders=%u size=%u", B.p.preset, ops->name, target(),
           B.p.members, B.p.senders, B.p.msg_size);
    if (B.p.room_size) {
        printf(" rooms=%u room_size=%u", B.p.members / B.p.room_size, B.p.room_size);
    }
    if (strcmp(B.p.preset, "fanout-max") == 0 || strcmp(B.p.preset, "rooms") == 0 ||
        strcmp(B.p.preset, "tls") == 0) {
        printf(" window=%u", B.p.window);
    } else if (strcmp(B.p.preset, "fanout-rate") == 0 || strcmp(B.p.preset, "login") == 0) {
        printf(" rate=%u/s", B.p.rate);
    }
    if (strcmp(B.p.preset, "login") == 0) {
        printf(" logins_at_once=%u accounts=%u", B.p.logins, B.p.accounts);
    }
    printf(" seconds=%.1f max_msgs=%" PRIu64 "\n", B.p.seconds, B.p.max_msgs);
}

/* Whether every message of the room arrived, once, in its sender's order and in one order
 * for all; prints a FAIL line if not. Returns the exit status, 0 or 1. */
static int verdict(bool drained, bool same_order)
{
    /* One order for all receivers is causerie's promise; other servers promise only each
     * sender's order (NATS subscribers see senders interleaved differently), so for them
     * same_order is reported, not required. */
    bool order_ok = same_order || ops != &causerie_ops;
    bool ok = drained && B.lost == 0 && B.duplicated == 0 && B.reordered == 0 && B.malformed == 0 &&
              B.crossed == 0 && order_ok && !B.failed && B.deliveries > 0;
    if (!ok) {
        printf("FAIL preset=%s: %s\n", B.p.preset,
               !drained        ? "not every message was delivered in time"
               : B.failed      ? "a connection failed (see the errors above)"
               : !order_ok     ? "receivers saw different orders"
               : !B.deliveries ? "nothing was delivered"
               : B.crossed     ? "messages reached another room"
                               : "lost, duplicated, reordered or malformed messages");
    }
    return ok ? 0 : 1;
}

static int report_fanout(double join_s, struct server_sample *before, struct server_sample *after,
                         bool drained)
{
    bool same_order;
    B.lost = count_lost_and_orders(&same_order);
    double elapsed = (double)(B.t_stop - B.t_start) / 1e9;
    samples_sort(&B.lat);
    print_params();
    printf("RESULT preset=%s server=%s deliveries=%" PRIu64 " seconds=%.3f "
           "deliveries_per_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f "
           "sent=%" PRIu64 " lost=%" PRIu64 " duplicated=%" PRIu64 " reordered=%" PRIu64
           " malformed=%" PRIu64 " crossed=%" PRIu64 " same_order=%s server_cpu_s=%.2f "
           "server_cpu_us_per_delivery=%.3f server_rss_kib=%ld "
           "server_peak_rss_kib=%ld join_s=%.3f\n",
           B.p.preset, ops->name, B.deliveries, elapsed, (double)B.deliveries / elapsed,
           samples_ms(&B.lat, 0.50), samples_ms(&B.lat, 0.99), samples_ms(&B.lat, 0.999),
           samples_ms(&B.lat, 1.0), B.sent_total, B.lost, B.duplicated, B.reordered, B.malformed,
           B.crossed, same_order ? "yes" : "no", after->cpu_s - before->cpu_s,
           B.deliveries ? (after->cpu_s - before->cpu_s) * 1e6 / (double)B.deliveries : 0.0,
           after->rss_kib, after->hwm_kib, join_s);
    return verdict(drained, same_order);
}

/* ---------------------------------------------------------------- presets */

static int run_fanout(bool by_rate)
{
    setup(B.p.members);
    struct server_sample before, after;
    double join_s;
    if (!join_all(&join_s)) {
        fprintf(stderr, "bench: only %u of %u members joined\n", B.n_joined, B.n_conns);
        teardown();
        return 1;
    }
    sample_server(&before);
    B.sending = true;
    rate_sent = 0;
    B.t_start = now_ns();
    if (by_rate) {
        uv_timer_start(&B.tick, on_tick, 1, 1);
    } else {
        uv_prepare_start(&B.pump, on_pump);
    }
    run_until(sending_done, B.p.seconds);
    B.sending = false;
    uv_timer_stop(&B.tick);
    uv_prepare_stop(&B.pump);
    bool drained = run_until(all_delivered, 10);
    B.t_stop = now_ns();
    sample_server(&after);
    int status = report_fanout(join_s, &before, &after, drained);
    teardown();
    return status;
}

/* With --go-signal, the script that runs several generators says when each step may begin
 * (all of them joined; then all of them measured at rest) with one SIGUSR1 per step. */
static uv_signal_t go_watcher;
static unsigned go_seen, go_wanted;

static void on_go(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    go_seen++;
}

static bool go_arrived(void)
{
    return go_seen >= go_wanted;
}

/* Tells the script this step is over (a line it waits for), then waits for its go. */
static bool wait_go(const char *step)
{
    if (!B.p.go_signal) {
        return true;
    }
    printf("%s pid=%d joined=%u of %u\n", step, (int)getpid(), B.n_joined, B.n_conns);
    fflush(stdout);
    go_wanted++;
    if (!run_until(go_arrived, GO_WAIT_SECONDS)) {
        fprintf(stderr, "bench: no go after %s within %d s\n", step, GO_WAIT_SECONDS);
        return false;
    }
    return true;
}

/* External sender: every member, the first included, waits for the one message. */
static bool all_got_one(void)
{
    for (unsigned i = 0; i < B.n_conns; i++) {
        if (B.conns[i].got[0] == 0) {
            return false;
        }
    }
    return true;
}

static uint64_t count_missing_one(void)
{
    uint64_t missing = 0;
    for (unsigned i = 0; i < B.n_conns; i++) {
        missing += B.conns[i].got[0] == 0;
    }
    return missing;
}

/* Sends the one message (unless another generator does), and waits until every member has
 * it, 60 s at most. */
static bool broadcast_one(void)
{
    if (!B.p.external_sender) {
        struct buf out = BUF_INIT;
        stamp(&out, &B.conns[B.sender_conn[0]]);
        conn_write(&B.conns[B.sender_conn[0]], out.data, out.len);
        buf_release(&out);
        return run_until(all_delivered, 60);
    }
    return run_until(all_got_one, 60);
}

static void print_idle(double join_s, double bcast_s, const struct server_sample *s, uint64_t lost)
{
    /* Sampled once the broadcast has reached everyone: messages are totally ordered, so
     * every join notice sent before it has been delivered too, and the server is at rest.
     * Right after the last join, thousands of notices are still queued. */
    double per_conn =
        B.p.members ? (double)(s[2].rss_kib - s[0].rss_kib) * 1024.0 / B.p.members : 0;
    samples_sort(&B.lat);
    printf("preset=idle server=%s %s members=%u sources=%u\n", ops->name, target(), B.p.members,
           B.p.sources);
    printf("RESULT preset=idle server=%s members=%u joined=%u join_s=%.3f "
           "rss_before_kib=%ld rss_joined_kib=%ld rss_at_rest_kib=%ld bytes_per_conn=%.0f "
           "broadcast_s=%.3f broadcast_max_latency_s=%.3f deliveries=%" PRIu64 " lost=%" PRIu64
           " duplicated=%" PRIu64 " reordered=%" PRIu64 " server_cpu_s=%.2f\n",
           ops->name, B.p.members, B.n_joined, join_s, s[0].rss_kib, s[1].rss_kib, s[2].rss_kib,
           per_conn, bcast_s, samples_ms(&B.lat, 1.0) / 1e3, B.deliveries, lost, B.duplicated,
           B.reordered, s[2].cpu_s - s[0].cpu_s);
}

/* N idle members; then one message from one of them must reach all the others. With
 * --external-sender, it comes from another generator's member and reaches all of ours. */
static int run_idle(void)
{
    struct server_sample s[3]; /* before, joined, at rest */
    if (B.p.go_signal) {
        uv_signal_init(B.loop, &go_watcher);
        uv_signal_start(&go_watcher, on_go, SIGUSR1);
    }
    sample_server(&s[0]);
    unsigned saved_senders = B.p.senders;
    B.p.senders = 1;
    setup(B.p.members);
    double join_s;
    bool ok = join_all(&join_s);
    if (B.p.external_sender) {
        B.conns[B.sender_conn[0]].sender = -1; /* a receiver like the others */
    }
    sample_server(&s[1]);
    ok = wait_go("READY") && ok;
    uint64_t t0 = now_ns();
    ok = ok && broadcast_one();
    double bcast_s = (double)(now_ns() - t0) / 1e9;
    sample_server(&s[2]);
    bool same_order;
    uint64_t lost = B.p.external_sender ? count_missing_one() : count_lost_and_orders(&same_order);
    print_idle(join_s, bcast_s, s, lost);
    ok = wait_go("RECEIVED") && ok; /* the script measures the servers at rest */
    teardown();
    B.p.senders = saved_senders;
    if (B.p.go_signal) {
        uv_close((uv_handle_t *)&go_watcher, NULL);
    }
    bool pass = ok && lost == 0 && B.duplicated == 0 && B.reordered == 0;
    if (!pass) {
        printf("FAIL preset=idle\n");
    }
    return pass ? 0 : 1;
}

/* Churn: p.concurrency clients at a time connect, join, send one message and leave. */
static void churn_restart(struct bconn *c);

static void on_churn_closed(uv_handle_t *h)
{
    struct bconn *c = h->data;
    if (B.sending) {
        churn_restart(c);
    } else {
        B.n_closed++;
    }
}

static void on_churn_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    free(req);
}

static void churn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct bconn *c = s->data;
    if (nread < 0) {
        c->state = C_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, on_churn_closed);
        return;
    }
    const char *in = b->base;
    size_t in_len = (size_t)nread, len;
    const char *line;
    int r;
    while ((r = proto_framer_next(&c->framer, &in, &in_len, &line, &len)) != -EAGAIN) {
        size_t plen;
        bool joined = false;
        if (r != 0 || c->cycle_sent) {
            continue;
        }
        ops->parse(c, line, len, &plen, &joined);
        if (joined) {
            /* One message, then a half-close: the server closes, and the slot restarts. */
            B.churn_joins++;
            c->cycle_sent = true;
            struct buf out = BUF_INIT;
            ops->publish(&out, "au revoir", 9);
            conn_write(c, out.data, out.len);
            buf_release(&out);
            uv_shutdown_t *req = xmalloc(sizeof(*req));
            if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_churn_shutdown) < 0) {
                free(req);
            }
        }
    }
}

static void churn_on_connect(uv_connect_t *req, int status)
{
    struct bconn *c = req->data;
    if (c->state == C_CLOSED) {
        return; /* closed while connecting, at the end of the run: UV_ECANCELED */
    }
    if (status < 0) {
        B.failed = true;
        c->state = C_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, on_churn_closed);
        return;
    }
    c->state = C_HANDSHAKE;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, churn_on_read);
    ops->join(c);
}

static void churn_restart(struct bconn *c)
{
    proto_framer_release(&c->framer);
    proto_framer_init(&c->framer, 1 << 16);
    c->cycle_sent = false;
    c->state = C_CONNECTING;
    uv_tcp_init(B.loop, &c->tcp);
    c->tcp.data = c;
    struct sockaddr_in dst;
    uv_ip4_addr(B.p.host, port_for(c->index, B.n_conns), &dst);
    c->connect_req.data = c;
    if (uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&dst, churn_on_connect) <
        0) {
        churn_on_connect(&c->connect_req, UV_ECONNREFUSED);
    }
}

static int run_churn(void)
{
    struct server_sample before, after;
    sample_server(&before);
    B.n_conns = B.p.concurrency;
    B.conns = xcalloc(B.n_conns, sizeof(*B.conns));
    B.n_closed = 0;
    B.churn_joins = 0;
    B.sending = true;
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < B.n_conns; i++) {
        B.conns[i].index = i;
        proto_framer_init(&B.conns[i].framer, 1 << 16);
        churn_restart(&B.conns[i]);
    }
    uint64_t end = t0 + (uint64_t)(B.p.seconds * 1e9);
    while (now_ns() < end && !B.failed) {
        uv_run(B.loop, UV_RUN_ONCE);
    }
    B.sending = false;
    double elapsed = (double)(now_ns() - t0) / 1e9;
    uint64_t joins = B.churn_joins;
    for (unsigned i = 0; i < B.n_conns; i++) {
        struct bconn *c = &B.conns[i];
        if (c->state != C_CLOSED) {
            c->state = C_CLOSED;
            uv_close((uv_handle_t *)&c->tcp, on_churn_closed);
        }
    }
    run_until(all_closed, 10);
    sample_server(&after);
    for (unsigned i = 0; i < B.n_conns; i++) {
        proto_framer_release(&B.conns[i].framer);
    }
    free(B.conns);
    B.conns = NULL;
    printf("preset=churn server=%s %s clients_at_once=%u seconds=%.1f\n", ops->name, target(),
           B.p.concurrency, B.p.seconds);
    printf("RESULT preset=churn server=%s joins=%" PRIu64 " seconds=%.3f joins_per_s=%.0f "
           "server_cpu_s=%.2f server_rss_kib=%ld\n",
           ops->name, joins, elapsed, (double)joins / elapsed, after.cpu_s - before.cpu_s,
           after.rss_kib);
    bool pass = joins > 0 && !B.failed;
    if (!pass) {
        printf("FAIL preset=churn\n");
    }
    return pass ? 0 : 1;
}

/* ---------------------------------------------------------------- login */

/* Login: p.accounts accounts are registered first, p.logins at a time (not timed). Then a
 * room chats at p.rate, as in fanout-rate, for p.seconds without logins (the baseline),
 * and for p.seconds more while p.logins connections at a time log in: the pseudo, the '%'
 * prompt answered with the password, the welcome, /quit, and again with the slot's next
 * account. Slot i takes accounts i, i + L, i + 2L..., so no two logins in flight share an
 * account (a second one would move the person, not log in). Every password is right: the
 * server's guard counts only failures. Deliveries are split by their send time, so the
 * two phases get their own percentiles. */

#define LOGIN_PASSWORD "banc-d-essai-42"

enum login_step { L_PSEUDO, L_PASSWORD, L_REGISTER, L_LEAVING };

struct login_slot {
    struct bconn c; /* first: its handles' data point at the slot */
    enum login_step step;
    unsigned account; /* of this attempt */
    uint64_t t0;      /* when its connect started */
};

static struct {
    struct login_slot *slots; /* owned */
    unsigned n_slots, n_closed;
    bool registering;      /* the set-up: register the accounts, do not log in */
    bool running;          /* logging in: a slot that closes starts again */
    unsigned next_account; /* registering: the next to register */
    unsigned registered;
    uint64_t logins, failures;
    struct samples lat; /* per login: from the connect to the welcome */
} LG;

static void login_start(struct login_slot *ls, unsigned account);

static void on_login_closed(uv_handle_t *h)
{
    struct login_slot *ls = h->data;
    if (LG.registering && LG.next_account < B.p.accounts && !B.failed) {
        login_start(ls, LG.next_account++);
    } else if (!LG.registering && LG.running && !B.failed) {
        unsigned next = ls->account + LG.n_slots;
        login_start(ls, next < B.p.accounts ? next : ls->c.index);
    } else {
        LG.n_closed++;
    }
}

static void login_close(struct login_slot *ls)
{
    if (ls->c.state != C_CLOSED) {
        ls->c.state = C_CLOSED;
        uv_close((uv_handle_t *)&ls->c.tcp, on_login_closed);
    }
}

static void on_login_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    free(req);
}

static void login_leave(struct login_slot *ls)
{
    ls->step = L_LEAVING;
    conn_write(&ls->c, "/quit\n", 6);
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    if (uv_shutdown(req, (uv_stream_t *)&ls->c.tcp, on_login_shutdown) < 0) {
        free(req);
    }
}

static void login_failed(struct login_slot *ls, const char *why, const char *line, size_t len)
{
    if (LG.failures++ == 0) {
        fprintf(stderr, "bench: account %u: %s: %.*s\n", ls->account, why,
                (int)(len < 200 ? len : 200), line);
    }
    B.failed = true;
    login_close(ls);
}

/* One line from the server, by where the slot is in its login or registration. */
static void login_line(struct login_slot *ls, const char *line, size_t len)
{
    char kind = len ? line[0] : '\0';
    if (kind == '!') {
        login_failed(ls, "refused", line, len);
        return;
    }
    if (ls->step == L_PSEUDO && kind == '%' && !LG.registering) {
        conn_write(&ls->c, LOGIN_PASSWORD "\n", sizeof(LOGIN_PASSWORD));
        ls->step = L_PASSWORD;
    } else if (ls->step == L_PSEUDO && kind == '+' && LG.registering) {
        conn_write(&ls->c, "/register " LOGIN_PASSWORD "\n", sizeof("/register " LOGIN_PASSWORD));
        ls->step = L_REGISTER;
    } else if (ls->step == L_PSEUDO && (kind == '%' || kind == '+')) {
        login_failed(ls, LG.registering ? "registered already" : "not registered", line, len);
    } else if (ls->step == L_PASSWORD && kind == '+') {
        LG.logins++;
        samples_add(&LG.lat, now_ns() - ls->t0);
        login_leave(ls);
    } else if (ls->step == L_REGISTER && kind == '+') {
        LG.registered++;
        login_leave(ls);
    }
}

static void login_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct login_slot *ls = s->data;
    if (nread < 0) {
        if (ls->step != L_LEAVING) {
            login_failed(ls, "closed by the server", uv_strerror((int)nread),
                         strlen(uv_strerror((int)nread)));
        }
        login_close(ls);
        return;
    }
    const char *in = b->base, *line;
    size_t in_len = (size_t)nread, len;
    int r;
    while (ls->c.state != C_CLOSED &&
           (r = proto_framer_next(&ls->c.framer, &in, &in_len, &line, &len)) != -EAGAIN) {
        if (r == 0) {
            login_line(ls, line, len);
        }
    }
}

static void login_on_connect(uv_connect_t *req, int status)
{
    struct login_slot *ls = req->data;
    if (ls->c.state == C_CLOSED) {
        return; /* closed while connecting, at the end of the run: UV_ECANCELED */
    }
    if (status < 0) {
        login_failed(ls, "connect", uv_strerror(status), strlen(uv_strerror(status)));
        return;
    }
    ls->c.state = C_HANDSHAKE;
    uv_tcp_nodelay(&ls->c.tcp, 1);
    uv_read_start((uv_stream_t *)&ls->c.tcp, on_alloc, login_on_read);
    char name[32];
    int n = snprintf(name, sizeof(name), "L%d-%u\n", (int)uv_os_getpid(), ls->account);
    conn_write(&ls->c, name, (size_t)n);
}

static void login_start(struct login_slot *ls, unsigned account)
{
    struct bconn *c = &ls->c;
    proto_framer_release(&c->framer);
    proto_framer_init(&c->framer, 1 << 16);
    ls->step = L_PSEUDO;
    ls->account = account;
    ls->t0 = now_ns();
    c->state = C_CONNECTING;
    uv_tcp_init(B.loop, &c->tcp);
    c->tcp.data = ls;
    struct sockaddr_in dst;
    uv_ip4_addr(B.p.host, port_for(c->index, LG.n_slots), &dst);
    c->connect_req.data = ls;
    int r =
        uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&dst, login_on_connect);
    if (r < 0) {
        login_failed(ls, "connect", uv_strerror(r), strlen(uv_strerror(r)));
    }
}

static bool logins_at_rest(void)
{
    return LG.n_closed == LG.n_slots;
}

/* Starts every slot, on accounts 0 .. L - 1: to register them (and the next ones as slots
 * free up), or to log in to them and their successors. */
static void logins_begin(bool registering)
{
    LG.registering = registering;
    LG.running = !registering;
    LG.n_closed = 0;
    LG.next_account = LG.n_slots;
    for (unsigned i = 0; i < LG.n_slots; i++) {
        login_start(&LG.slots[i], i);
    }
}

/* Stops the slots: those still connected are closed, their logins not counted. */
static void logins_end(void)
{
    LG.running = false;
    LG.registering = false;
    for (unsigned i = 0; i < LG.n_slots; i++) {
        login_close(&LG.slots[i]);
    }
    run_until(logins_at_rest, 10);
}

static bool never(void)
{
    return false;
}

static bool some_login(void)
{
    return LG.logins > 0;
}

/* Registers the accounts; returns false if that failed or did not end within 120 s. */
static bool register_accounts(double *seconds)
{
    uint64_t t0 = now_ns();
    logins_begin(true);
    bool done = run_until(logins_at_rest, 120);
    *seconds = (double)(now_ns() - t0) / 1e9;
    if (!done) {
        logins_end();
    }
    if (LG.registered < B.p.accounts) {
        fprintf(stderr, "bench: only %u of %u accounts registered\n", LG.registered, B.p.accounts);
        return false;
    }
    return true;
}

static int report_login(double register_s, double burst_s, const struct server_sample *s0,
                        const struct server_sample *s1, const struct server_sample *s2,
                        bool drained)
{
    bool same_order;
    B.lost = count_lost_and_orders(&same_order);
    samples_sort(&B.lat);
    samples_sort(&B.lat_after);
    samples_sort(&LG.lat);
    print_params();
    printf("RESULT preset=login server=%s accounts=%u register_s=%.3f logins=%" PRIu64
           " login_seconds=%.3f logins_per_s=%.1f login_p50_ms=%.1f login_p99_ms=%.1f "
           "login_max_ms=%.1f base_p50_ms=%.3f base_p99_ms=%.3f base_p999_ms=%.3f "
           "base_max_ms=%.3f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f "
           "deliveries=%" PRIu64 " sent=%" PRIu64 " lost=%" PRIu64 " duplicated=%" PRIu64
           " reordered=%" PRIu64 " malformed=%" PRIu64 " same_order=%s server_cpu_base_s=%.2f "
           "server_cpu_logins_s=%.2f server_rss_kib=%ld server_peak_rss_kib=%ld\n",
           ops->name, LG.registered, register_s, LG.logins, burst_s,
           burst_s > 0 ? (double)LG.logins / burst_s : 0.0, samples_ms(&LG.lat, 0.50),
           samples_ms(&LG.lat, 0.99), samples_ms(&LG.lat, 1.0), samples_ms(&B.lat, 0.50),
           samples_ms(&B.lat, 0.99), samples_ms(&B.lat, 0.999), samples_ms(&B.lat, 1.0),
           samples_ms(&B.lat_after, 0.50), samples_ms(&B.lat_after, 0.99),
           samples_ms(&B.lat_after, 0.999), samples_ms(&B.lat_after, 1.0), B.deliveries,
           B.sent_total, B.lost, B.duplicated, B.reordered, B.malformed, same_order ? "yes" : "no",
           s1->cpu_s - s0->cpu_s, s2->cpu_s - s1->cpu_s, s2->rss_kib, s2->hwm_kib);
    int status = verdict(drained, same_order);
    if (status == 0 && LG.logins == 0) {
        printf("FAIL preset=login: no login completed\n");
        status = 1;
    }
    return status;
}

/* The chat at p.rate: p.seconds alone, then p.seconds while the slots log in. */
static int chat_during_logins(double register_s)
{
    double join_s;
    setup(B.p.members);
    if (!join_all(&join_s)) {
        fprintf(stderr, "bench: only %u of %u members joined\n", B.n_joined, B.n_conns);
        teardown();
        return 1;
    }
    struct server_sample s0, s1, s2;
    sample_server(&s0);
    B.sending = true;
    rate_sent = 0;
    B.t_start = now_ns();
    uv_timer_start(&B.tick, on_tick, 1, 1);
    run_until(never, B.p.seconds); /* the baseline */
    sample_server(&s1);
    B.split_ns = now_ns();
    logins_begin(false);
    run_until(never, B.p.seconds); /* the same chat, logins going on */
    run_until(some_login, 30);     /* a slow machine's smoke run: one at least */
    double burst_s = (double)(now_ns() - B.split_ns) / 1e9;
    B.sending = false;
    uv_timer_stop(&B.tick);
    logins_end();
    sample_server(&s2);
    bool drained = run_until(all_delivered, 10);
    int status = report_login(register_s, burst_s, &s0, &s1, &s2, drained);
    teardown();
    return status;
}

static int run_login(void)
{
    LG.n_slots = B.p.logins;
    LG.slots = xcalloc(LG.n_slots, sizeof(*LG.slots));
    for (unsigned i = 0; i < LG.n_slots; i++) {
        LG.slots[i].c.index = i;
        LG.slots[i].c.state = C_CLOSED;
        proto_framer_init(&LG.slots[i].c.framer, 1 << 16);
    }
    double register_s;
    int status = register_accounts(&register_s) ? chat_during_logins(register_s) : 1;
    if (status != 0 && LG.registered < B.p.accounts) {
        printf("FAIL preset=login: the accounts could not be registered\n");
    }
    for (unsigned i = 0; i < LG.n_slots; i++) {
        proto_framer_release(&LG.slots[i].c.framer);
    }
    free(LG.slots);
    samples_free(&LG.lat);
    return status;
}

/* ---------------------------------------------------------------- main */

static const char usage[] =
    "Usage: causerie-bench --preset NAME --port PORT [OPTION]...\n"
    "       causerie-bench --preset NAME --ports PORT,PORT... [OPTION]...\n"
    "Presets: fanout-max, fanout-rate, rooms, idle, churn, tls (fanout-max in TLS),\n"
    "login (fanout-rate, then the same during logins).\n"
    "  --host ADDR          server address (default 127.0.0.1)\n"
    "  --ports P1,P2,...    servers of one cluster: connection i of n goes to the\n"
    "                       (i * count / n)th port, members and senders spread evenly\n"
    "  --server-pid PID[,PID]...\n"
    "                       measure these processes' CPU time and memory, summed\n"
    "  --members N          connections in the room (default 100)\n"
    "  --senders N          members that send (default 10)\n"
    "  --size BYTES         payload per message (default 100)\n"
    "  --window W           fanout-max: messages ahead of the slowest receiver (default 64)\n"
    "  --rate N             fanout-rate, login: messages per second (default 1000)\n"
    "  --seconds S          how long to send (default 5)\n"
    "  --max-msgs N         and at most N messages (default 10000000)\n"
    "  --sources N          idle: spread connections over N 127.0.0.x addresses (default 1)\n"
    "  --source-first X     idle: the first of them is 127.0.0.X (default 1)\n"
    "  --name-base N        pseudos start at bN-, unique across generators (default 0)\n"
    "  --go-signal          idle: print READY once joined and wait for SIGUSR1 to send;\n"
    "                       print RECEIVED once all have it and wait for SIGUSR1 to close\n"
    "  --external-sender    idle: send nothing; every member waits for another\n"
    "                       generator's one message\n"
    "  --concurrency N      connects in flight; churn: clients at once (default 256)\n"
    "  --room-size K        rooms: members per room, the first of each sending (default 10)\n"
    "  --logins N           login: logins in flight at once (default 16)\n"
    "  --accounts K         login: accounts registered first, at least N (default 32)\n"
    "  --protocol NAME      what the server speaks: causerie (default), nats, redis, irc\n";

/* Parses "N[,N]..." of positive numbers into out (MAX_PORTS at most); returns 0 or -EINVAL. */
static int parse_list(const char *arg, int *out, unsigned *n)
{
    *n = 0;
    while (*arg) {
        char *end;
        long v = strtol(arg, &end, 10);
        if (end == arg || v <= 0 || v > 4194304 || *n == MAX_PORTS || (*end && *end != ',')) {
            return -EINVAL;
        }
        out[(*n)++] = (int)v;
        arg = *end ? end + 1 : end;
    }
    return *n ? 0 : -EINVAL;
}

static int parse(int argc, char **argv)
{
    B.p = (struct params){.preset = NULL,
                          .host = "127.0.0.1",
                          .members = 100,
                          .senders = 10,
                          .msg_size = 100,
                          .window = 64,
                          .rate = 1000,
                          .seconds = 5,
                          .max_msgs = 10000000,
                          .sources = 1,
                          .source_first = 1,
                          .concurrency = 256,
                          .logins = 16,
                          .accounts = 32};
    static const struct option opts[] = {
        {"preset", 1, 0, 'P'},       {"host", 1, 0, 'H'},
        {"port", 1, 0, 'p'},         {"ports", 1, 0, 'O'},
        {"source-first", 1, 0, 'F'}, {"name-base", 1, 0, 'N'},
        {"go-signal", 0, 0, 'G'},    {"external-sender", 0, 0, 'E'},
        {"server-pid", 1, 0, 'S'},   {"members", 1, 0, 'm'},
        {"senders", 1, 0, 's'},      {"size", 1, 0, 'z'},
        {"window", 1, 0, 'w'},       {"rate", 1, 0, 'r'},
        {"seconds", 1, 0, 't'},      {"max-msgs", 1, 0, 'M'},
        {"sources", 1, 0, 'a'},      {"concurrency", 1, 0, 'c'},
        {"protocol", 1, 0, 'x'},     {"room-size", 1, 0, 'k'},
        {"logins", 1, 0, 'L'},       {"accounts", 1, 0, 'A'},
        {"help", 0, 0, 'h'},         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'P':
            B.p.preset = optarg;
            break;
        case 'H':
            B.p.host = optarg;
            break;
        case 'p':
        case 'O':
            if (parse_list(optarg, B.p.ports, &B.p.n_ports) < 0) {
                fputs(usage, stderr);
                return -EINVAL;
            }
            break;
        case 'S':
            if (parse_list(optarg, B.p.server_pids, &B.p.n_pids) < 0) {
                fputs(usage, stderr);
                return -EINVAL;
            }
            break;
        case 'F':
            B.p.source_first = (unsigned)atoi(optarg);
            break;
        case 'N':
            B.p.name_base = (unsigned)atoi(optarg);
            break;
        case 'G':
            B.p.go_signal = true;
            break;
        case 'E':
            B.p.external_sender = true;
            break;
        case 'm':
            B.p.members = (unsigned)atoi(optarg);
            break;
        case 's':
            B.p.senders = (unsigned)atoi(optarg);
            break;
        case 'z':
            B.p.msg_size = (unsigned)atoi(optarg);
            break;
        case 'w':
            B.p.window = (unsigned)atoi(optarg);
            break;
        case 'r':
            B.p.rate = (unsigned)atoi(optarg);
            break;
        case 't':
            B.p.seconds = atof(optarg);
            break;
        case 'M':
            B.p.max_msgs = strtoull(optarg, NULL, 10);
            break;
        case 'a':
            B.p.sources = (unsigned)atoi(optarg);
            break;
        case 'c':
            B.p.concurrency = (unsigned)atoi(optarg);
            break;
        case 'k':
            B.p.room_size = (unsigned)atoi(optarg);
            break;
        case 'L':
            B.p.logins = (unsigned)atoi(optarg);
            break;
        case 'A':
            B.p.accounts = (unsigned)atoi(optarg);
            break;
        case 'x':
            if (strcmp(optarg, "nats") == 0) {
                ops = &nats_ops;
            } else if (strcmp(optarg, "redis") == 0) {
                ops = &redis_ops;
            } else if (strcmp(optarg, "irc") == 0) {
                ops = &irc_ops;
            } else if (strcmp(optarg, "causerie") != 0) {
                fputs(usage, stderr);
                return -EINVAL;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            fputs(usage, stderr);
            return -EINVAL;
        }
    }
    if (B.p.preset && strcmp(B.p.preset, "rooms") == 0) {
        if (B.p.room_size == 0) {
            B.p.room_size = 10;
        }
        B.p.senders = B.p.room_size >= 2 ? B.p.members / B.p.room_size : 0;
    } else {
        B.p.room_size = 0; /* the other presets use one room */
    }
    if (!B.p.preset || B.p.n_ports == 0 || B.p.members < 2 || B.p.source_first == 0 ||
        B.p.source_first + B.p.sources > 256 || B.p.senders > B.p.members || B.p.msg_size > 60000 ||
        B.p.seconds <= 0 || B.p.concurrency == 0 || B.p.logins == 0 || B.p.accounts < B.p.logins ||
        (B.p.room_size && (B.p.room_size < 2 || B.p.members % B.p.room_size != 0))) {
        fputs(usage, stderr);
        return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse(argc, argv) < 0) {
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    B.loop = uv_default_loop();
    B.padding = xmalloc(B.p.msg_size + 1);
    memset(B.padding, 'x', B.p.msg_size);
    uv_prepare_init(B.loop, &B.pump);
    uv_timer_init(B.loop, &B.deadline);
    uv_timer_init(B.loop, &B.tick);

    int status;
    if (strcmp(B.p.preset, "fanout-max") == 0) {
        status = run_fanout(false);
    } else if (strcmp(B.p.preset, "fanout-rate") == 0) {
        status = run_fanout(true);
    } else if (strcmp(B.p.preset, "idle") == 0) {
        status = run_idle();
    } else if (strcmp(B.p.preset, "churn") == 0) {
        status = run_churn();
    } else if (strcmp(B.p.preset, "login") == 0 && ops != &causerie_ops) {
        printf("preset=login skipped: %s has no accounts in its adapter\n", ops->name);
        status = 0;
    } else if (strcmp(B.p.preset, "login") == 0) {
        status = run_login();
    } else if (strcmp(B.p.preset, "rooms") == 0 && ops != &causerie_ops) {
        printf("preset=rooms skipped: its adapter for %s has no rooms yet\n", ops->name);
        status = 0;
    } else if (strcmp(B.p.preset, "rooms") == 0) {
        status = run_fanout(false); /* fanout-max, room by room */
    } else if (strcmp(B.p.preset, "tls") == 0) {
        B.p.tls = true;
        tls_ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL); /* our own server, on loopback */
        status = run_fanout(false);                         /* fanout-max, every member in TLS */
        SSL_CTX_free(tls_ctx);
    } else {
        fputs(usage, stderr);
        status = 2;
    }
    uv_close((uv_handle_t *)&B.pump, NULL);
    uv_close((uv_handle_t *)&B.deadline, NULL);
    uv_close((uv_handle_t *)&B.tick, NULL);
    uv_run(B.loop, UV_RUN_DEFAULT);
    uv_loop_close(B.loop);
    samples_free(&B.lat);
    samples_free(&B.lat_after);
    free(B.padding);
    return status;
}
