/* engine.c - causerie-engine-bench, the probe behind `make bench-engine`.
 *
 * Measures the cluster's engine alone, NATS JetStream, before causerie is built on it.
 * N publisher "nodes" (one connection each, as N causerie servers would have) send events
 * of about 100 bytes to causerie.room.<room>, and every node receives every event, through
 * JetStream ordered push consumers (or a core NATS subscription: the floor). Each payload
 * carries its send time (CLOCK_MONOTONIC: one machine), so each delivery at each node is
 * one latency. Two phases: a fixed total rate, then as fast as the publish window allows.
 * Every node checks for lost, duplicated and reordered events, and that all nodes saw each
 * room in one order. nats.c runs our callbacks on its delivery pool's threads and each
 * node's publisher is a thread of its own; a node's accounting is under its node's lock.
 * It links nats.c and pthread only, so that what it measures is the engine and its client.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

/* ---------------------------------------------------------------- parameters */

#define MAX_URLS      8       /* servers a run may spread its nodes over */
#define MAX_NODES     16      /* publisher and receiver connections */
#define MAX_ROOMS     1000    /* rooms, and streams with --layout per-room */
#define MAX_EVENTS    1000000 /* per phase: bounds the memory for latencies and flags */
#define READY_MS      30000   /* a fresh cluster elects its JetStream leader well within this */
#define API_WAIT_MS   10000   /* one JetStream API request (create a stream or a consumer) */
#define STALL_WAIT_MS 1000    /* js_PublishAsync waits this long for room in the window */
#define DRAIN_MS      15000   /* how long acks and deliveries may trail the last publish */
#define RETRY_MS      100     /* between tries while the cluster is not ready yet */

enum engine { ENGINE_CORE, ENGINE_JS };
enum layout { LAYOUT_ONE, LAYOUT_PER_ROOM };

struct params {
    const char *urls[MAX_URLS];
    unsigned n_urls;
    int pids[MAX_URLS]; /* nats-server processes, for their CPU time; may be none */
    unsigned n_pids;
    const char *label;
    enum engine engine;
    enum layout layout;
    jsStorageType storage;
    int replicas;
    unsigned nodes;      /* node i connects to urls[i % n_urls] */
    unsigned rooms;      /* events go to the rooms in turn */
    unsigned size;       /* bytes per event */
    unsigned window;     /* publishes in flight per node: unacked (JetStream), unechoed (core) */
    unsigned rate;       /* rate phase: events per second, all nodes together */
    double seconds;      /* rate phase: how long */
    unsigned max_events; /* max phase: events in all; 0: no max phase */
    double max_seconds;  /* max phase: publishing stops after this, whatever is left */
    bool send_asap;      /* nats.c writes at each publish instead of in its flusher thread */
    bool sync;           /* js_Publish, waiting for each ack, instead of js_PublishAsync */
};

/* What each payload starts with; the rest of the event is filler. One machine, one
 * process: the bytes are the host's own. */
struct stamp {
    int64_t sent_ns; /* CLOCK_MONOTONIC just before the publish call */
    uint32_t phase;
    uint32_t node;
    uint32_t seq; /* per node and phase, from 0 */
    uint32_t room;
};

/* One phase, fixed before its publishers start and read-only while they run. */
struct phase {
    uint32_t id;       /* 1: rate, 2: max */
    bool paced;        /* at params.rate, or as fast as the window allows */
    uint32_t per_node; /* events each node publishes */
    int64_t length_ns; /* publishing time allowed, from start_ns */
    int64_t start_ns;  /* set by phase_run() */
    int64_t stop_ns;   /* start_ns + length_ns: no publish starts after this */
    int64_t period_ns; /* paced: between two events of one node */
};

/* What one node received during the current phase. */
struct rx {
    int64_t *lat;     /* owned: one latency per delivery, ns */
    size_t n_lat;     /* latencies kept (cap: nodes * per_node) */
    uint8_t *seen;    /* owned: nodes * per_node flags, one per event */
    uint32_t *next;   /* owned: nodes * rooms, the seq after the last one seen */
    uint64_t *digest; /* owned: rooms, FNV-1a over the (node, seq) pairs in arrival order */
    uint64_t delivered, own, dup, reordered, stray;
    int64_t last_ns; /* last delivery */
};

/* What one node published during the current phase. */
struct tx {
    int64_t *ack_lat; /* owned: one latency per ack, ns (JetStream) */
    size_t n_ack;
    uint64_t published, errors;
    int64_t last_ack_ns;
};

struct node {
    unsigned id;
    const struct params *p;  /* borrowed */
    const struct phase *ph;  /* borrowed: the current phase, set by main under lock */
    natsConnection *nc;      /* owned */
    jsCtx *js;               /* owned; NULL for core NATS */
    natsSubscription **subs; /* owned: one, or one per room's stream */
    unsigned n_subs;
    pthread_t publisher;
    pthread_mutex_t lock; /* guards ph, rx, tx */
    pthread_cond_t moved; /* broadcast at each delivery and each ack */
    struct rx rx;
    struct tx tx;
    char *event; /* owned: the publisher's buffer, params.size bytes */
};

/* The figures of one phase, all nodes together. */
struct stats {
    uint64_t events, deliveries, acks, lost, dup, reordered, stray, errors;
    unsigned rooms_split;                   /* rooms whose order differed between nodes */
    double p50, p99, max, ack_p50, ack_p99; /* ms */
    double deliveries_s, events_s, acks_s;
    double server_cpu_us, probe_cpu_us; /* per event */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
    struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        continue; /* a signal is no reason to publish early */
    }
}

/* ms from now on CLOCK_REALTIME, pthread_cond_timedwait()'s default clock. */
static void abs_deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    int64_t t = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + ms * 1000000;
    *ts = (struct timespec){.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
}

static void sleep_ms(int ms)
{
    sleep_until(now_ns() + (int64_t)ms * 1000000);
}

/* The probe links nothing of causerie's (src/common/xalloc.c is not here): the same rule,
 * zeroed memory or abort. */
static void *zalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) {
        fprintf(stderr, "engine: out of memory (%zu x %zu bytes)\n", n, size);
        abort();
    }
    return p;
}

/* ---------------------------------------------------------------- options */

static void usage(FILE *f)
{
    fprintf(f, "usage: causerie-engine-bench --url URL [--url URL...] [options]\n"
               "  --label NAME          name printed with the results\n"
               "  --engine core|js      core NATS subscriptions, or JetStream (default js)\n"
               "  --layout one|per-room one stream for all rooms, or one per room (default one)\n"
               "  --storage file|memory JetStream storage (default file)\n"
               "  --replicas N          replicas of each stream (default 1)\n"
               "  --nodes N             publisher connections, each receiving all (default 3)\n"
               "  --rooms N             rooms the events go to in turn (default 100)\n"
               "  --size BYTES          bytes per event (default 100)\n"
               "  --window N            publishes in flight per node (default 256)\n"
               "  --rate N              rate phase: events/s, all nodes (default 1000)\n"
               "  --seconds S           rate phase: duration (default 5)\n"
               "  --max-events N        max phase: events in all; 0: none (default 20000)\n"
               "  --max-seconds S       max phase: longest (default 10)\n"
               "  --send-asap           nats.c writes at each publish, not in its flusher\n"
               "  --sync                js_Publish: wait for each ack (no window)\n"
               "  --server-pid PID      a nats-server to charge CPU time to (repeatable)\n");
}

static int parse_enum(const char *arg, const char *a, const char *b)
{
    if (strcmp(arg, a) == 0) {
        return 0;
    }
    if (strcmp(arg, b) == 0) {
        return 1;
    }
    fprintf(stderr, "engine: '%s' is neither %s nor %s\n", arg, a, b);
    exit(2);
}

static unsigned parse_uint(const char *arg, unsigned lo, unsigned hi)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || *end || end == arg || v < lo || v > hi) {
        fprintf(stderr, "engine: '%s' is not a number from %u to %u\n", arg, lo, hi);
        exit(2);
    }
    return (unsigned)v;
}

static void params_defaults(struct params *p)
{
    *p = (struct params){.label = "run",
                         .engine = ENGINE_JS,
                         .layout = LAYOUT_ONE,
                         .storage = js_FileStorage,
                         .replicas = 1,
                         .nodes = 3,
                         .rooms = 100,
                         .size = 100,
                         .window = 256,
                         .rate = 1000,
                         .seconds = 5,
                         .max_events = 20000,
                         .max_seconds = 10};
}

static void parse_option(struct params *p, int o, const char *arg)
{
    switch (o) {
    case 'u':
        if (p->n_urls == MAX_URLS) {
            fprintf(stderr, "engine: at most %d --url\n", MAX_URLS);
            exit(2);
        }
        p->urls[p->n_urls++] = arg;
        break;
    case 'P':
        if (p->n_pids == MAX_URLS) {
            fprintf(stderr, "engine: at most %d --server-pid\n", MAX_URLS);
            exit(2);
        }
        p->pids[p->n_pids++] = (int)parse_uint(arg, 1, 1u << 30);
        break;
    case 'L':
        p->label = arg;
        break;
    case 'e':
        p->engine = parse_enum(arg, "core", "js") ? ENGINE_JS : ENGINE_CORE;
        break;
    case 'l':
        p->layout = parse_enum(arg, "one", "per-room") ? LAYOUT_PER_ROOM : LAYOUT_ONE;
        break;
    case 's':
        p->storage = parse_enum(arg, "file", "memory") ? js_MemoryStorage : js_FileStorage;
        break;
    case 'r':
        p->replicas = (int)parse_uint(arg, 1, 5);
        break;
    case 'n':
        p->nodes = parse_uint(arg, 1, MAX_NODES);
        break;
    case 'R':
        p->rooms = parse_uint(arg, 1, MAX_ROOMS);
        break;
    case 'z':
        p->size = parse_uint(arg, sizeof(struct stamp), 65536);
        break;
    case 'w':
        p->window = parse_uint(arg, 1, 65536);
        break;
    case 'q':
        p->rate = parse_uint(arg, 1, 1000000);
        break;
    case 't':
        p->seconds = parse_uint(arg, 1, 600);
        break;
    case 'm':
        p->max_events = parse_uint(arg, 0, MAX_EVENTS);
        break;
    case 'T':
        p->max_seconds = parse_uint(arg, 1, 600);
        break;
    case 'a':
        p->send_asap = true;
        break;
    case 'S':
        p->sync = true;
        break;
    default:
        usage(stderr);
        exit(2);
    }
}

static void parse_args(struct params *p, int argc, char **argv)
{
    static const struct option opts[] = {{"url", 1, 0, 'u'},
                                         {"server-pid", 1, 0, 'P'},
                                         {"label", 1, 0, 'L'},
                                         {"engine", 1, 0, 'e'},
                                         {"layout", 1, 0, 'l'},
                                         {"storage", 1, 0, 's'},
                                         {"replicas", 1, 0, 'r'},
                                         {"nodes", 1, 0, 'n'},
                                         {"rooms", 1, 0, 'R'},
                                         {"size", 1, 0, 'z'},
                                         {"window", 1, 0, 'w'},
                                         {"rate", 1, 0, 'q'},
                                         {"seconds", 1, 0, 't'},
                                         {"max-events", 1, 0, 'm'},
                                         {"max-seconds", 1, 0, 'T'},
                                         {"send-asap", 0, 0, 'a'},
                                         {"sync", 0, 0, 'S'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    int o;
    params_defaults(p);
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'h') {
            usage(stdout);
            exit(0);
        }
        parse_option(p, o, optarg);
    }
    if (p->n_urls == 0 || optind != argc) {
        usage(stderr);
        exit(2);
    }
    if ((uint64_t)p->rate * (uint64_t)p->seconds > MAX_EVENTS) {
        fprintf(stderr, "engine: --rate times --seconds is over %d events\n", MAX_EVENTS);
        exit(2);
    }
}

/* ---------------------------------------------------------------- receiving */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ b[i]) * 1099511628211u;
    }
    return h;
}

/* Accounts for one delivery; called with n->lock held. */
static void rx_record(struct node *n, const struct stamp *s, int64_t now)
{
    struct rx *rx = &n->rx;
    const struct phase *ph = n->ph;
    if (ph == NULL || s->phase != ph->id || s->node >= n->p->nodes || s->seq >= ph->per_node ||
        s->room >= n->p->rooms) {
        rx->stray++;
        return;
    }
    size_t event = (size_t)s->node * ph->per_node + s->seq;
    rx->delivered++;
    rx->last_ns = now;
    if (rx->seen[event]) {
        rx->dup++;
        return;
    }
    rx->seen[event] = 1;
    rx->lat[rx->n_lat++] = now - s->sent_ns;
    uint32_t *next = &rx->next[(size_t)s->node * n->p->rooms + s->room];
    if (s->seq < *next) {
        rx->reordered++;
    }
    *next = s->seq + 1;
    uint32_t pair[2] = {s->node, s->seq};
    rx->digest[s->room] = fnv1a(rx->digest[s->room], pair, sizeof pair);
    if (s->node == n->id) {
        rx->own++;
    }
}

/* nats.c's message callback, on a delivery pool thread. Ordered consumers' flow control
 * and heartbeats are answered by the library and never reach it. */
static void on_event(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    struct node *n = closure;
    int64_t now = now_ns();
    struct stamp s;
    (void)nc;
    (void)sub;
    pthread_mutex_lock(&n->lock);
    if (natsMsg_GetDataLength(msg) >= (int)sizeof s) {
        memcpy(&s, natsMsg_GetData(msg), sizeof s);
        rx_record(n, &s, now);
    } else {
        n->rx.stray++;
    }
    pthread_cond_broadcast(&n->moved);
    pthread_mutex_unlock(&n->lock);
    natsMsg_Destroy(msg);
}

/* JetStream's answer to one asynchronous publish, on a delivery pool thread. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    struct node *n = closure;
    int64_t now = now_ns();
    struct stamp s;
    (void)js;
    pthread_mutex_lock(&n->lock);
    if (pa != NULL && natsMsg_GetDataLength(msg) >= (int)sizeof s) {
        memcpy(&s, natsMsg_GetData(msg), sizeof s);
        if (n->ph != NULL && s.phase == n->ph->id && n->tx.n_ack < n->ph->per_node) {
            n->tx.ack_lat[n->tx.n_ack++] = now - s.sent_ns;
            n->tx.last_ack_ns = now;
        }
    } else {
        n->tx.errors++;
        if (pae != NULL) {
            fprintf(stderr, "engine: node %u: publish refused: %s (%d)\n", n->id,
                    pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err), pae->ErrCode);
        }
    }
    pthread_cond_broadcast(&n->moved);
    pthread_mutex_unlock(&n->lock);
    natsMsg_Destroy(msg);
}

/* ---------------------------------------------------------------- connecting */

static int nats_fail(const char *what, natsStatus s)
{
    const char *detail = nats_GetLastError(NULL);
    fprintf(stderr, "engine: %s: %s%s%s\n", what, natsStatus_GetText(s), detail ? ": " : "",
            detail ? detail : "");
    return -EIO;
}

static int node_connect(struct node *n)
{
    natsOptions *o = NULL;
    char name[64];
    snprintf(name, sizeof name, "causerie-engine-bench node %u", n->id);
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK) {
        s = natsOptions_SetURL(o, n->p->urls[n->id % n->p->n_urls]);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetName(o, name);
    }
    if (s == NATS_OK) {
        s = natsOptions_UseGlobalMessageDelivery(o, true);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetSendAsap(o, n->p->send_asap);
    }
    if (s == NATS_OK) {
        s = natsConnection_Connect(&n->nc, o);
    }
    natsOptions_Destroy(o);
    return s == NATS_OK ? 0 : nats_fail("connect", s);
}

static int node_jetstream(struct node *n)
{
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = API_WAIT_MS;
    o.PublishAsync.MaxPending = n->p->window;
    o.PublishAsync.StallWait = STALL_WAIT_MS;
    o.PublishAsync.AckHandler = on_ack;
    o.PublishAsync.AckHandlerClosure = n;
    natsStatus s = natsConnection_JetStream(&n->js, n->nc, &o);
    return s == NATS_OK ? 0 : nats_fail("JetStream context", s);
}

/* Waits until this node's server answers JetStream requests: a cluster that has just
 * started takes a few seconds to elect its metadata leader. Bounded by READY_MS. */
static int node_wait_ready(struct node *n)
{
    int64_t stop = now_ns() + (int64_t)READY_MS * 1000000;
    natsStatus s;
    do {
        jsAccountInfo *ai = NULL;
        s = js_GetAccountInfo(&ai, n->js, NULL, NULL);
        jsAccountInfo_Destroy(ai);
        if (s == NATS_OK) {
            return 0;
        }
        sleep_ms(RETRY_MS);
    } while (now_ns() < stop);
    return nats_fail("JetStream never became ready", s);
}

/* ---------------------------------------------------------------- streams and consumers */

static void stream_name(const struct params *p, unsigned room, char *buf, size_t size)
{
    if (p->layout == LAYOUT_ONE) {
        snprintf(buf, size, "CAUSERIE");
    } else {
        snprintf(buf, size, "CAUSERIE_ROOM_%u", room);
    }
}

static void stream_subject(const struct params *p, unsigned room, char *buf, size_t size)
{
    if (p->layout == LAYOUT_ONE) {
        snprintf(buf, size, "causerie.room.>");
    } else {
        snprintf(buf, size, "causerie.room.%u", room);
    }
}

static unsigned stream_count(const struct params *p)
{
    return p->layout == LAYOUT_ONE ? 1 : p->rooms;
}

/* Creates one stream, trying again while a young cluster cannot place it yet (the same
 * configuration again is no error if an earlier try did create it). */
static int stream_create(jsCtx *js, const struct params *p, unsigned i)
{
    char name[64], subject[64];
    const char *subjects[1] = {subject};
    jsStreamConfig cfg;
    stream_name(p, i, name, sizeof name);
    stream_subject(p, i, subject, sizeof subject);
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = p->storage;
    cfg.Replicas = p->replicas;
    int64_t stop = now_ns() + (int64_t)READY_MS * 1000000;
    natsStatus s;
    do {
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        s = js_AddStream(&si, js, &cfg, NULL, &jerr);
        jsStreamInfo_Destroy(si);
        if (s == NATS_OK) {
            return 0;
        }
        sleep_ms(RETRY_MS);
    } while (now_ns() < stop);
    return nats_fail("add stream", s);
}

static void streams_delete(jsCtx *js, const struct params *p)
{
    char name[64];
    for (unsigned i = 0; i < stream_count(p); i++) {
        stream_name(p, i, name, sizeof name);
        js_DeleteStream(js, name, NULL, NULL);
    }
}

/* One ordered push consumer from the next event on: what a causerie server would hold for
 * each stream it reads. */
static int js_subscribe_one(struct node *n, unsigned i)
{
    char name[64], subject[64];
    jsSubOptions so;
    jsErrCode jerr = 0;
    stream_name(n->p, i, name, sizeof name);
    stream_subject(n->p, i, subject, sizeof subject);
    jsSubOptions_Init(&so);
    so.Stream = name;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverNew;
    natsStatus s = js_Subscribe(&n->subs[i], n->js, subject, on_event, n, NULL, &so, &jerr);
    return s == NATS_OK ? 0 : nats_fail("ordered consumer", s);
}

static int node_subscribe(struct node *n)
{
    if (n->p->engine == ENGINE_CORE) {
        n->n_subs = 1;
        n->subs = zalloc(1, sizeof *n->subs);
        natsStatus s = natsConnection_Subscribe(&n->subs[0], n->nc, "causerie.room.>", on_event, n);
        if (s == NATS_OK) {
            s = natsConnection_Flush(n->nc); /* the server has the subscription */
        }
        return s == NATS_OK ? 0 : nats_fail("subscribe", s);
    }
    n->n_subs = stream_count(n->p);
    n->subs = zalloc(n->n_subs, sizeof *n->subs);
    for (unsigned i = 0; i < n->n_subs; i++) {
        int rc = js_subscribe_one(n, i);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* Streams, then every node's consumers; ms[0] and ms[1] are the milliseconds each took. */
static int setup(struct node *nodes, const struct params *p, double ms[2])
{
    if (p->engine == ENGINE_JS) {
        streams_delete(nodes[0].js, p); /* left over from a run that was killed; not timed */
    }
    int64_t t0 = now_ns();
    int rc = 0;
    if (p->engine == ENGINE_JS) {
        for (unsigned i = 0; i < stream_count(p) && rc == 0; i++) {
            rc = stream_create(nodes[0].js, p, i);
        }
    }
    int64_t t1 = now_ns();
    for (unsigned i = 0; i < p->nodes && rc == 0; i++) {
        rc = node_subscribe(&nodes[i]);
    }
    ms[0] = (double)(t1 - t0) / 1e6;
    ms[1] = (double)(now_ns() - t1) / 1e6;
    return rc;
}

/* ---------------------------------------------------------------- publishing */

/* Core NATS has no acks: the window is what this node sent and has not yet received back
 * on its own subscription. Returns false if nothing came back for DRAIN_MS past stop. */
static bool core_window_wait(struct node *n, int64_t stop)
{
    struct timespec ts;
    abs_deadline(&ts, (stop - now_ns()) / 1000000 + DRAIN_MS);
    bool ok = true;
    pthread_mutex_lock(&n->lock);
    while (ok && n->tx.published - n->rx.own >= n->p->window) {
        ok = pthread_cond_timedwait(&n->moved, &n->lock, &ts) == 0;
    }
    pthread_mutex_unlock(&n->lock);
    return ok;
}

/* One synchronous publish of n->event: back when JetStream has stored it (its ack). */
static natsStatus publish_sync(struct node *n, const char *subject)
{
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus st = js_Publish(&pa, n->js, subject, n->event, (int)n->p->size, NULL, &jerr);
    int64_t now = now_ns();
    jsPubAck_Destroy(pa);
    if (st == NATS_OK) {
        struct stamp s;
        memcpy(&s, n->event, sizeof s);
        pthread_mutex_lock(&n->lock);
        n->tx.ack_lat[n->tx.n_ack++] = now - s.sent_ns;
        n->tx.last_ack_ns = now;
        pthread_mutex_unlock(&n->lock);
    }
    return st;
}

/* Stamps and publishes event seq; 0, or a negative errno once the phase cannot go on. */
static int publish_one(struct node *n, const struct phase *ph, uint32_t seq)
{
    char subject[64];
    struct stamp s = {.phase = ph->id, .node = n->id, .seq = seq};
    s.room = (seq * n->p->nodes + n->id) % n->p->rooms;
    snprintf(subject, sizeof subject, "causerie.room.%u", s.room);
    if (n->p->engine == ENGINE_CORE && !core_window_wait(n, ph->stop_ns)) {
        return -ETIMEDOUT;
    }
    natsStatus st;
    do {
        s.sent_ns = now_ns();
        memcpy(n->event, &s, sizeof s);
        if (n->p->engine == ENGINE_CORE) {
            st = natsConnection_Publish(n->nc, subject, n->event, (int)n->p->size);
        } else if (n->p->sync) {
            st = publish_sync(n, subject);
        } else {
            st = js_PublishAsync(n->js, subject, n->event, (int)n->p->size, NULL);
        }
    } while (st == NATS_TIMEOUT && now_ns() < ph->stop_ns); /* the window stayed full */
    if (st != NATS_OK) {
        return nats_fail("publish", st);
    }
    pthread_mutex_lock(&n->lock);
    n->tx.published++;
    pthread_mutex_unlock(&n->lock);
    return 0;
}

/* xorshift64: the pacing's jitter, one state per publisher thread. */
static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A node's publisher thread: per_node events, paced or not, none after stop_ns. Paced,
 * event seq leaves at a random time within its own period: a whole number of
 * milliseconds apart, events would all meet nats.c's flusher (which waits until the next
 * millisecond) at the same point of its wait, and one run would measure a fixed fraction
 * of that millisecond and the next run another. */
static void *publish_run(void *arg)
{
    struct node *n = arg;
    const struct phase *ph = n->ph; /* set before this thread was created */
    uint64_t x = 0x9e3779b97f4a7c15u * (n->id + 1);
    for (uint32_t seq = 0; seq < ph->per_node; seq++) {
        if (ph->paced) {
            int64_t jitter = (int64_t)(next_random(&x) % (uint64_t)ph->period_ns);
            sleep_until(ph->start_ns + (int64_t)seq * ph->period_ns + jitter);
        }
        if (now_ns() > ph->stop_ns || publish_one(n, ph, seq) < 0) {
            break;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- phases */

static void phase_reset(struct node *n, const struct phase *ph)
{
    size_t events = (size_t)n->p->nodes * ph->per_node;
    pthread_mutex_lock(&n->lock);
    free(n->rx.lat);
    free(n->rx.seen);
    free(n->rx.next);
    free(n->rx.digest);
    free(n->tx.ack_lat);
    n->rx = (struct rx){.lat = zalloc(events, sizeof(int64_t)),
                        .seen = zalloc(events, 1),
                        .next = zalloc((size_t)n->p->nodes * n->p->rooms, sizeof(uint32_t)),
                        .digest = zalloc(n->p->rooms, sizeof(uint64_t))};
    for (unsigned r = 0; r < n->p->rooms; r++) {
        n->rx.digest[r] = 14695981039346656037u;
    }
    n->tx = (struct tx){.ack_lat = zalloc(ph->per_node, sizeof(int64_t))};
    n->ph = ph;
    pthread_mutex_unlock(&n->lock);
}

/* Waits, DRAIN_MS at most, until node n has received `events` events and had every one of
 * its publishes answered. */
static void node_drain(struct node *n, uint64_t events)
{
    struct timespec ts;
    abs_deadline(&ts, DRAIN_MS);
    bool acks = n->p->engine == ENGINE_JS;
    pthread_mutex_lock(&n->lock);
    while (n->rx.delivered - n->rx.dup - n->rx.stray < events ||
           (acks && n->tx.n_ack + n->tx.errors < n->tx.published)) {
        if (pthread_cond_timedwait(&n->moved, &n->lock, &ts) != 0) {
            break;
        }
    }
    pthread_mutex_unlock(&n->lock);
}

static uint64_t server_cpu_ticks(const struct params *p)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < p->n_pids; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", p->pids[i]);
        FILE *f = fopen(path, "r");
        size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) {
            fclose(f);
        }
        buf[len] = '\0';
        char *rest = strrchr(buf, ')'); /* the command name may hold spaces */
        unsigned long long ut = 0, st = 0;
        if (rest && sscanf(rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                           &st) == 2) {
            total += ut + st;
        }
    }
    return total;
}

static double probe_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted values, in ms; 0 if there are none. */
static double pct_ms(const int64_t *v, size_t n, double pct)
{
    if (n == 0) {
        return 0;
    }
    size_t rank = (size_t)(pct / 100.0 * (double)n + 0.999999);
    rank = rank == 0 ? 1 : rank > n ? n : rank;
    return (double)v[rank - 1] / 1e6;
}

/* Delivery latencies of all nodes, then ack latencies, sorted into their percentiles. */
static void stats_latencies(struct stats *st, struct node *nodes, const struct params *p)
{
    size_t n_lat = 0, n_ack = 0;
    for (unsigned i = 0; i < p->nodes; i++) {
        n_lat += nodes[i].rx.n_lat;
        n_ack += nodes[i].tx.n_ack;
    }
    int64_t *lat = zalloc(n_lat, sizeof *lat), *ack = zalloc(n_ack, sizeof *ack);
    size_t a = 0, b = 0;
    for (unsigned i = 0; i < p->nodes; i++) {
        memcpy(lat + a, nodes[i].rx.lat, nodes[i].rx.n_lat * sizeof *lat);
        memcpy(ack + b, nodes[i].tx.ack_lat, nodes[i].tx.n_ack * sizeof *ack);
        a += nodes[i].rx.n_lat;
        b += nodes[i].tx.n_ack;
    }
    qsort(lat, n_lat, sizeof *lat, cmp_i64);
    qsort(ack, n_ack, sizeof *ack, cmp_i64);
    st->p50 = pct_ms(lat, n_lat, 50);
    st->p99 = pct_ms(lat, n_lat, 99);
    st->max = pct_ms(lat, n_lat, 100);
    st->ack_p50 = pct_ms(ack, n_ack, 50);
    st->ack_p99 = pct_ms(ack, n_ack, 99);
    st->acks = n_ack;
    free(lat);
    free(ack);
}

/* Rooms whose arrival order was not the same at every node. */
static unsigned rooms_split(struct node *nodes, const struct params *p)
{
    unsigned split = 0;
    for (unsigned r = 0; r < p->rooms; r++) {
        for (unsigned i = 1; i < p->nodes; i++) {
            if (nodes[i].rx.digest[r] != nodes[0].rx.digest[r]) {
                split++;
                break;
            }
        }
    }
    return split;
}

/* Counts, rates and checks of the phase that just drained; called with no callback
 * running on its data (every node drained, or timed out and reported as lost). */
static void stats_collect(struct stats *st, struct node *nodes, const struct params *p,
                          const struct phase *ph)
{
    int64_t last = ph->start_ns, last_ack = ph->start_ns;
    for (unsigned i = 0; i < p->nodes; i++) {
        pthread_mutex_lock(&nodes[i].lock);
        st->events += nodes[i].tx.published;
        st->errors += nodes[i].tx.errors;
        pthread_mutex_unlock(&nodes[i].lock);
    }
    for (unsigned i = 0; i < p->nodes; i++) {
        struct node *n = &nodes[i];
        pthread_mutex_lock(&n->lock);
        n->ph = NULL; /* what arrives from now on is stray, and not written down */
        st->deliveries += n->rx.delivered;
        st->dup += n->rx.dup;
        st->reordered += n->rx.reordered;
        st->stray += n->rx.stray;
        st->lost += st->events - (n->rx.delivered - n->rx.dup - n->rx.stray);
        last = n->rx.last_ns > last ? n->rx.last_ns : last;
        last_ack = n->tx.last_ack_ns > last_ack ? n->tx.last_ack_ns : last_ack;
        pthread_mutex_unlock(&n->lock);
    }
    stats_latencies(st, nodes, p);
    st->rooms_split = rooms_split(nodes, p);
    double secs = (double)(last - ph->start_ns) / 1e9;
    st->deliveries_s = secs > 0 ? (double)st->deliveries / secs : 0;
    st->events_s = secs > 0 ? (double)st->events / secs : 0;
    secs = (double)(last_ack - ph->start_ns) / 1e9;
    st->acks_s = secs > 0 ? (double)st->acks / secs : 0;
}

/* Runs one phase from start to drain and fills st. */
static void phase_run(struct node *nodes, const struct params *p, struct phase *ph,
                      struct stats *st)
{
    *st = (struct stats){0};
    for (unsigned i = 0; i < p->nodes; i++) {
        phase_reset(&nodes[i], ph);
    }
    uint64_t ticks0 = server_cpu_ticks(p);
    double cpu0 = probe_cpu_s();
    ph->start_ns = now_ns() + 10000000; /* 10 ms: every publisher is up by then */
    ph->stop_ns = ph->start_ns + ph->length_ns;
    for (unsigned i = 0; i < p->nodes; i++) {
        pthread_create(&nodes[i].publisher, NULL, publish_run, &nodes[i]);
    }
    for (unsigned i = 0; i < p->nodes; i++) {
        pthread_join(nodes[i].publisher, NULL);
    }
    uint64_t sent = 0;
    for (unsigned i = 0; i < p->nodes; i++) {
        pthread_mutex_lock(&nodes[i].lock);
        sent += nodes[i].tx.published;
        pthread_mutex_unlock(&nodes[i].lock);
    }
    for (unsigned i = 0; i < p->nodes; i++) {
        node_drain(&nodes[i], sent);
    }
    stats_collect(st, nodes, p, ph);
    double ticks = (double)(server_cpu_ticks(p) - ticks0) / (double)sysconf(_SC_CLK_TCK);
    st->server_cpu_us = st->events ? ticks * 1e6 / (double)st->events : 0;
    st->probe_cpu_us = st->events ? (probe_cpu_s() - cpu0) * 1e6 / (double)st->events : 0;
}

/* ---------------------------------------------------------------- report */

static bool stats_ok(const struct stats *st, const struct params *p)
{
    bool order = p->engine == ENGINE_CORE || st->rooms_split == 0;
    return st->lost == 0 && st->dup == 0 && st->reordered == 0 && st->stray == 0 &&
           st->errors == 0 && st->events > 0 && order;
}

static void stats_print(const char *phase, const struct stats *st, const struct params *p)
{
    printf("%s %s: %" PRIu64 " events, %" PRIu64 " deliveries, %.0f deliveries/s, "
           "%.0f events/s end to end, %.0f acks/s\n",
           p->label, phase, st->events, st->deliveries, st->deliveries_s, st->events_s, st->acks_s);
    printf("%s %s: latency p50 %.3f ms, p99 %.3f ms, max %.3f ms; ack p50 %.3f ms, "
           "p99 %.3f ms\n",
           p->label, phase, st->p50, st->p99, st->max, st->ack_p50, st->ack_p99);
    printf("%s %s: CPU per event: servers %.1f us, probe %.1f us\n", p->label, phase,
           st->server_cpu_us, st->probe_cpu_us);
    printf("%s %s: lost %" PRIu64 ", duplicated %" PRIu64 ", reordered %" PRIu64 ", stray %" PRIu64
           ", publish errors %" PRIu64 ", rooms seen in different "
           "orders %u of %u\n",
           p->label, phase, st->lost, st->dup, st->reordered, st->stray, st->errors,
           st->rooms_split, p->rooms);
}

/* One line for bench/engine.sh to read: key=value pairs, no spaces in values. */
static void result_print(const struct params *p, const double setup_ms[2], const struct stats *rate,
                         const struct stats *max, bool ok)
{
    printf("RESULT label=%s ok=%d streams_ms=%.1f consumers_ms=%.1f p50_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f "
           "deliveries_s=%.0f ack_p50_ms=%.3f ack_p99_ms=%.3f server_cpu_us=%.1f "
           "probe_cpu_us=%.1f max_events_s=%.0f max_acks_s=%.0f max_p50_ms=%.3f "
           "max_server_cpu_us=%.1f "
           "one_order=%s\n",
           p->label, ok, setup_ms[0], setup_ms[1], rate->p50, rate->p99, rate->max,
           rate->deliveries_s, rate->ack_p50, rate->ack_p99, rate->server_cpu_us,
           rate->probe_cpu_us, max ? max->events_s : 0, max ? max->acks_s : 0, max ? max->p50 : 0,
           max ? max->server_cpu_us : 0,
           rate->rooms_split == 0 && (max == NULL || max->rooms_split == 0) ? "yes" : "no");
}

/* ---------------------------------------------------------------- main */

static void nodes_init(struct node *nodes, const struct params *p)
{
    for (unsigned i = 0; i < p->nodes; i++) {
        struct node *n = &nodes[i];
        n->id = i;
        n->p = p;
        n->event = zalloc(p->size, 1);
        memset(n->event, 'x', p->size);
        pthread_mutex_init(&n->lock, NULL);
        pthread_cond_init(&n->moved, NULL);
    }
}

static int nodes_open(struct node *nodes, const struct params *p)
{
    for (unsigned i = 0; i < p->nodes; i++) {
        struct node *n = &nodes[i];
        int rc = node_connect(n);
        if (rc == 0 && p->engine == ENGINE_JS) {
            rc = node_jetstream(n);
        }
        if (rc == 0 && p->engine == ENGINE_JS) {
            rc = node_wait_ready(n);
        }
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* Subscriptions first (nats.c 3.4 keeps a consumer when its subscription is only
 * destroyed), then the streams, which take their consumers with them. */
static void nodes_close(struct node *nodes, const struct params *p)
{
    for (unsigned i = 0; i < p->nodes; i++) {
        for (unsigned j = 0; j < nodes[i].n_subs; j++) {
            natsSubscription_Destroy(nodes[i].subs[j]);
        }
    }
    if (p->engine == ENGINE_JS && nodes[0].js != NULL) {
        streams_delete(nodes[0].js, p);
    }
    for (unsigned i = 0; i < p->nodes; i++) {
        struct node *n = &nodes[i];
        jsCtx_Destroy(n->js);
        natsConnection_Destroy(n->nc);
        free(n->subs);
        free(n->event);
        free(n->rx.lat);
        free(n->rx.seen);
        free(n->rx.next);
        free(n->rx.digest);
        free(n->tx.ack_lat);
        pthread_cond_destroy(&n->moved);
        pthread_mutex_destroy(&n->lock);
    }
}

static bool run(struct node *nodes, const struct params *p)
{
    double setup_ms[2] = {0, 0};
    if (setup(nodes, p, setup_ms) < 0) {
        return false;
    }
    printf("%s: %u nodes, %u rooms, %u stream(s) set up in %.1f ms, %u consumers in %.1f ms\n",
           p->label, p->nodes, p->rooms, p->engine == ENGINE_JS ? stream_count(p) : 0, setup_ms[0],
           p->engine == ENGINE_JS ? p->nodes * stream_count(p) : 0, setup_ms[1]);
    struct phase rate = {.id = 1, .paced = true};
    rate.per_node = (uint32_t)((double)p->rate * p->seconds / p->nodes);
    rate.period_ns = (int64_t)(1e9 * p->nodes / p->rate);
    rate.length_ns = (int64_t)(p->seconds * 1e9) + rate.period_ns;
    struct stats st_rate, st_max;
    phase_run(nodes, p, &rate, &st_rate);
    stats_print("rate", &st_rate, p);
    bool ok = stats_ok(&st_rate, p);
    if (p->max_events > 0) {
        struct phase max = {.id = 2, .per_node = p->max_events / p->nodes};
        max.length_ns = (int64_t)(p->max_seconds * 1e9);
        phase_run(nodes, p, &max, &st_max);
        stats_print("max", &st_max, p);
        ok = ok && stats_ok(&st_max, p);
    }
    result_print(p, setup_ms, &st_rate, p->max_events > 0 ? &st_max : NULL, ok);
    return ok;
}

int main(int argc, char **argv)
{
    struct params p;
    parse_args(&p, argc, argv);
    natsStatus s = nats_Open(-1);
    if (s == NATS_OK) {
        s = nats_SetMessageDeliveryPoolSize((int)p.nodes);
    }
    if (s != NATS_OK) {
        nats_fail("nats_Open", s);
        return 1;
    }
    struct node *nodes = zalloc(p.nodes, sizeof *nodes);
    nodes_init(nodes, &p);
    bool ok = nodes_open(nodes, &p) == 0 && run(nodes, &p);
    nodes_close(nodes, &p);
    free(nodes);
    nats_CloseAndWait(5000);
    if (!ok) {
        fprintf(stderr, "engine: %s failed\n", p.label);
    }
    return ok ? 0 : 1;
}
