/* cluster.c - the engine's client; see cluster.h for what lives in the engine.
 *
 * nats.c runs its own threads: a reader per connection, a delivery thread per
 * subscription (the stream's events arrive there, one at a time, in order) and one for
 * publish acknowledgements. This file adds one, the heartbeat thread, which puts this
 * node's heartbeat, watches the others' and reaps the claims of the dead. The connection
 * reconnects forever, with nats.c's backoff and jitter; the ordered consumer resumes after
 * the last sequence it delivered, so a return to the engine loses nothing and repeats
 * nothing. Events published while the engine is away wait in nats.c's reconnect buffer,
 * up to --cluster-backlog unacknowledged; each carries a message id (node and counter),
 * so one sent again after a lost acknowledgement is stored once (JetStream's duplicate
 * window).
 */
#include "cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/proto.h"
#include "common/pseudo.h"
#include "common/xalloc.h"

#define STREAM        "CAUSERIE"
#define SUBJECT       "causerie.events"
#define BUCKET_PSEUDO "CAUSERIE_PSEUDOS"
#define BUCKET_NODES  "CAUSERIE_NODES"
/* The shared tables (cluster.h, enum cluster_table), in its order. */
static const char *const table_buckets[N_CLUSTER_TABLES] = {"CAUSERIE_ACCOUNTS", "CAUSERIE_ROOMS"};
/* How long a request to the engine (a claim, a look-up) may take before the server says
 * it could not tell: long enough for a loaded engine, short enough for a person waiting. */
#define REQUEST_WAIT_MS 2000
/* Connecting at start: how long before the engine is called unreachable. */
#define CONNECT_WAIT_MS 3000
/* The longest wait for the stream's replay at start before going on with a warning. */
#define REPLAY_WAIT_MS 60000
/* Opening the stream while a cluster of engines elects its leader: tries, and the pause
 * between them (15 s in all). */
/* How long a watcher waits for news before it looks whether the server stops: what a stop
 * may wait for it. */
#define WATCH_WAIT_MS 250
/* A claim the engine could not answer: tries, and the pause between them; the person
 * waits that long at most (0.3 s) before being told to try again. */
#define CLAIM_TRIES     4
#define CLAIM_RETRY_MS  100
#define STREAM_TRIES    60
#define STREAM_RETRY_MS 250
/* nats.c keeps what is published while disconnected in a buffer of this many bytes; it is
 * sized for --cluster-backlog events of a typical line, and past it a publish fails and
 * the line is refused, never dropped. */
#define RECONNECT_BUFFER (64 << 20)
/* How long the engine remembers a message id, to store an event sent twice once: past
 * the longest wait for an acknowledgement, and short, since every id costs the engine
 * memory for that long. */
#define DUPLICATE_WINDOW_S 30
/* How long an event published may wait for its acknowledgement before it is sent again
 * (with its id, so stored once): well inside the duplicate window. */
#define ACK_WAIT_MS 5000
/* An event the engine refused outright (no stream leader while replicas elect one) waits
 * this long before it is sent again, so that an election is not met with a busy loop. */
#define RETRY_PAUSE_MS 250
/* A question to the other servers (who is in a room): how long to wait for all answers
 * before going on with those that came (a server dead and not yet buried answers none). */
#define ASK_WAIT_MS 500
#define ASK_SUBJECT "causerie.ask.names"

static natsConnection *conn;
static jsCtx *js;
static kvStore *pseudos, *nodes;
static kvStore *tables[N_CLUSTER_TABLES];
static natsSubscription *sub;
static char node[64 + 1];
static unsigned node_ttl;
static const struct cluster_handlers *handlers;
static atomic_bool linked;
/* Message ids: node name, this process's incarnation (its start, in ns) and a counter. The
 * incarnation keeps a server restarted under the same name within the duplicate window
 * from having its first events taken for its former life's. */
static atomic_uint_fast64_t published;
static uint64_t incarnation;

/* Events to send again, oldest first: taken from the acknowledgements' thread, sent from
 * the heartbeat thread once due and linked. Each was counted in the backlog once. */
struct retry {
    natsMsg *msg;
    uint64_t due; /* CLOCK_MONOTONIC, ms */
    struct retry *next;
};
static pthread_mutex_t retry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct retry *retry_head, **retry_tail = &retry_head;
static size_t n_retries;     /* in the list above */
static unsigned backlog_max; /* --cluster-backlog */

/* The replay at start: sequences up to replay_end were in the stream before we came. */
static uint64_t replay_end;
static pthread_mutex_t replay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t replay_done = PTHREAD_COND_INITIALIZER;
static atomic_bool replayed; /* written under replay_lock */

static pthread_t beat_thread;
static natsSubscription *ask_sub; /* the other servers' questions */
static atomic_bool stopping;

/* The other nodes heard of: when (CLOCK_MONOTONIC, ms), the revision of their last
 * heartbeat, and what it said: their rooms and how many people each (rooms_of()). Written
 * by the heartbeat thread, read by any under peer_lock. */
struct peer {
    char name[sizeof(node)];
    uint64_t seen;
    uint64_t revision;
    char *rooms; /* owned, NUL-terminated */
};
static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;
static struct peer *peers;
static size_t n_peers, peers_cap;

/* Threads reaping a dead node's claims, joined at the stop; the heartbeat thread's. */
static pthread_t *reapers;
static size_t n_reapers, reapers_cap;

const char *cluster_node(void)
{
    return node;
}

bool cluster_linked(void)
{
    return atomic_load(&linked);
}

/* ---------------------------------------------------------------- the link */

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc, (void)closure;
    if (atomic_exchange(&linked, false) && !atomic_load(&stopping)) {
        log_warn("grappe : liaison perdue avec le moteur, reconnexion en cours");
        if (handlers) {
            handlers->link(false);
        }
    }
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    (void)nc, (void)closure;
    if (!atomic_exchange(&linked, true)) {
        log_info("grappe : liaison rétablie avec le moteur");
        if (handlers) {
            handlers->link(true);
        }
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static natsStatus publish_async(natsMsg **m)
{
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = ACK_WAIT_MS;              /* an acknowledgement lost is an error, so sent again */
    return js_PublishMsgAsync(js, m, &po); /* *m is the library's on success */
}

/* Under retry_lock: m (taken) waits until due to be sent again, after those already waiting. */
static void queue_retry(natsMsg *m, uint64_t due)
{
    struct retry *r = xmalloc(sizeof(*r));
    r->msg = m;
    r->due = due;
    r->next = NULL;
    *retry_tail = r;
    retry_tail = &r->next;
    n_retries++;
}

/* A publish the engine did not acknowledge (it timed out, or the stream was away): queued
 * to be sent again with the same message id, which the engine stores once. A time-out has
 * waited already; a refusal waits a moment. This thread is nats.c's and must not wait. */
static void on_publish_error(jsCtx *ctx, jsPubAckErr *pae, void *closure)
{
    (void)ctx, (void)closure;
    if (atomic_load(&stopping) || !pae->Msg) {
        return;
    }
    static atomic_int_fast64_t last_said; /* one warning a second, not one per event */
    int64_t now = (int64_t)time(NULL);
    if (atomic_exchange(&last_said, now) != now) {
        log_warn("grappe : publication non confirmée (%s), nouvel envoi",
                 pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
    }
    natsMsg *m = pae->Msg;
    pae->Msg = NULL; /* ours now: nats.c no longer destroys it */
    pthread_mutex_lock(&retry_lock);
    queue_retry(m, now_ms() + (pae->Err == NATS_TIMEOUT ? 0 : RETRY_PAUSE_MS));
    pthread_mutex_unlock(&retry_lock);
}

/* Sends again, in their order, the queued events that are due; stops at the first the
 * library refuses (its backlog full), to try again later. */
static void resend_due(uint64_t now)
{
    pthread_mutex_lock(&retry_lock);
    while (retry_head && retry_head->due <= now) {
        struct retry *r = retry_head;
        if (publish_async(&r->msg) != NATS_OK) {
            break;
        }
        retry_head = r->next;
        retry_tail = retry_head ? retry_tail : &retry_head;
        n_retries--;
        free(r);
    }
    pthread_mutex_unlock(&retry_lock);
}

/* At the stop: what was never acknowledged is said, then freed. Returns how many. */
static unsigned drop_retries(void)
{
    unsigned n = 0;
    pthread_mutex_lock(&retry_lock);
    while (retry_head) {
        struct retry *r = retry_head;
        retry_head = r->next;
        natsMsg_Destroy(r->msg);
        free(r);
        n++;
    }
    retry_tail = &retry_head;
    n_retries = 0;
    pthread_mutex_unlock(&retry_lock);
    if (n > 0) {
        log_warn("grappe : %u événement(s) jamais confirmé(s) par le moteur à l'arrêt", n);
    }
    return n;
}

/* ---------------------------------------------------------------- opening */

/* Splits the comma-separated URLs into an array of n owned strings. */
static char **split_urls(const char *urls, int *n)
{
    char *copy = xstrdup(urls);
    int count = 1;
    for (const char *p = copy; *p; p++) {
        count += *p == ',';
    }
    char **list = xcalloc((size_t)count, sizeof(*list));
    char *save = NULL;
    int i = 0;
    for (char *t = strtok_r(copy, ",", &save); t && i < count; t = strtok_r(NULL, ",", &save)) {
        list[i++] = xstrdup(t);
    }
    free(copy);
    *n = i;
    return list;
}

static natsOptions *connection_options(const struct cluster_config *c)
{
    natsOptions *o = NULL;
    int n;
    char **urls = split_urls(c->urls, &n);
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK) {
        s = natsOptions_SetServers(o, (const char **)urls, n);
    }
    for (int i = 0; i < n; i++) {
        free(urls[i]);
    }
    free(urls);
    if (s == NATS_OK && c->creds) {
        s = natsOptions_SetUserCredentialsFromFiles(o, c->creds, NULL);
    }
    if (s == NATS_OK) {
        char name[sizeof(node) + 16];
        snprintf(name, sizeof(name), "causerie %s", c->node);
        natsOptions_SetName(o, name);
        natsOptions_SetTimeout(o, CONNECT_WAIT_MS);
        natsOptions_SetMaxReconnect(o, -1);  /* forever: the engine comes back */
        natsOptions_SetNoRandomize(o, true); /* the first URL first: the nearest, say */
        natsOptions_SetSendAsap(o, true);    /* no wait for the flusher: 0.2 ms, not 0.9 (bench) */
        natsOptions_SetReconnectWait(o, 250);
        natsOptions_SetReconnectJitter(o, 100, 1000);
        natsOptions_SetReconnectBufSize(o, RECONNECT_BUFFER);
        natsOptions_SetDisconnectedCB(o, on_disconnected, NULL);
        natsOptions_SetReconnectedCB(o, on_reconnected, NULL);
    }
    if (s != NATS_OK) {
        natsOptions_Destroy(o);
        return NULL;
    }
    return o;
}

/* How many servers the engine has: the one we reach and the others it told us of (its
 * cluster's routes); three replicas need three. */
static int engine_size(void)
{
    char **urls = NULL;
    int n = 0;
    if (natsConnection_GetServers(conn, &urls, &n) != NATS_OK) {
        return 1;
    }
    for (int i = 0; i < n; i++) {
        free(urls[i]);
    }
    free(urls);
    return n >= 3 ? 3 : 1;
}

/* The stream of every event, created by the first server; file storage, as many replicas
 * as the engine has servers, up to three (docs/ARCHITECTURE.md gives the numbers). */
static int open_stream(struct buf *err)
{
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[] = {SUBJECT};
    cfg.Name = STREAM;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = 1;
    cfg.Duplicates = (int64_t)DUPLICATE_WINDOW_S * 1000000000; /* nanoseconds */
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = NATS_ERR;
    /* A cluster of engines that has just started elects its leader first: until then,
     * requests time out or are refused, and are tried again for a while. */
    for (int tries = 0; tries < STREAM_TRIES; tries++) {
        jerr = 0;
        s = js_GetStreamInfo(&si, js, STREAM, NULL, &jerr);
        if (s == NATS_NOT_FOUND) {
            cfg.Replicas = engine_size();
            s = js_AddStream(&si, js, &cfg, NULL, &jerr);
            if (jerr == JSStreamNameExistErr) {
                s = js_GetStreamInfo(&si, js, STREAM, NULL, &jerr); /* another was first */
            }
        }
        if (s == NATS_OK || jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr) {
            break;
        }
        nanosleep(&(struct timespec){0, STREAM_RETRY_MS * 1000000L}, NULL);
    }
    if (s != NATS_OK) {
        const char *why = nats_GetLastError(NULL);
        buf_appendf(err,
                    "le flux %s ne peut être ouvert : %s (JetStream est-il activé ? "
                    "nats-server -js)",
                    STREAM, why && *why ? why : natsStatus_GetText(s));
        return jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr ? -ENOTSUP : -EIO;
    }
    replay_end = si->State.LastSeq;
    log_info("grappe : flux %s, %" PRId64 " réplique(s), %" PRIu64 " événements", STREAM,
             si->Config->Replicas, si->State.Msgs);
    jsStreamInfo_Destroy(si);
    return 0;
}

/* A bucket of claims or heartbeats; ttl_s: how long an entry lives (0: forever). */
static int open_bucket(kvStore **kv, const char *name, int64_t ttl_s, struct buf *err)
{
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = name;
    kc.History = 1;
    kc.TTL = ttl_s * 1000; /* milliseconds, in nats.c 3.4 */
    kc.StorageType = js_FileStorage;
    kc.Replicas = engine_size();
    natsStatus s = js_KeyValue(kv, js, name);
    if (s == NATS_NOT_FOUND) {
        s = js_CreateKeyValue(kv, js, &kc);
        if (s != NATS_OK) {
            s = js_KeyValue(kv, js, name); /* another server made it meanwhile */
        }
    }
    if (s != NATS_OK) {
        buf_appendf(err, "le seau %s ne peut être ouvert : %s", name, natsStatus_GetText(s));
        return -EIO;
    }
    return 0;
}

int cluster_open(const struct cluster_config *c, struct buf *err)
{
    snprintf(node, sizeof(node), "%s", c->node);
    node_ttl = c->node_ttl;
    backlog_max = c->backlog;
    struct timespec start;
    clock_gettime(CLOCK_REALTIME, &start);
    incarnation = (uint64_t)start.tv_sec * 1000000000u + (uint64_t)start.tv_nsec;
    natsOptions *o = connection_options(c);
    if (!o) {
        buf_appendf(err, "options de connexion refusées : %s", nats_GetLastError(NULL));
        return -EINVAL;
    }
    natsStatus s = natsConnection_Connect(&conn, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) {
        buf_appendf(err, "moteur injoignable à %s : %s", c->urls,
                    s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED
                        ? "identifiants refusés"
                        : natsStatus_GetText(s));
        conn = NULL;
        return s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED ? -EACCES
                                                                           : -ECONNREFUSED;
    }
    atomic_store(&linked, true);
    if (natsConnection_HasHeaderSupport(conn) != NATS_OK) {
        buf_append_str(err, "le moteur est trop ancien : nats-server 2.2 au moins, avec "
                            "JetStream, est nécessaire");
        return -ENOTSUP;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = REQUEST_WAIT_MS;
    jo.PublishAsync.MaxPending = c->backlog;
    jo.PublishAsync.StallWait = 1; /* a full backlog refuses at once: the loop must not wait */
    jo.PublishAsync.ErrHandler = on_publish_error;
    s = natsConnection_JetStream(&js, conn, &jo);
    if (s != NATS_OK) {
        buf_appendf(err, "JetStream indisponible : %s", natsStatus_GetText(s));
        return -EIO;
    }
    int r = open_stream(err);
    if (r == 0) {
        r = open_bucket(&pseudos, BUCKET_PSEUDO, 0, err);
    }
    if (r == 0) {
        r = open_bucket(&nodes, BUCKET_NODES, 0, err);
    }
    for (int t = 0; r == 0 && t < N_CLUSTER_TABLES; t++) {
        r = open_bucket(&tables[t], table_buckets[t], 0, err);
    }
    return r;
}

/* ---------------------------------------------------------------- the stream */

static void signal_replayed(void)
{
    pthread_mutex_lock(&replay_lock);
    replayed = true;
    pthread_cond_broadcast(&replay_done);
    pthread_mutex_unlock(&replay_lock);
}

/* The last stream sequence handed up. The ordered consumer never goes back, but when
 * nats.c makes it again (its engine lost) it may deliver again what its former self had
 * queued already: those are the same events, and are dropped here. */
static atomic_uint_fast64_t handed_up;

static void on_event(natsConnection *nc, natsSubscription *s, natsMsg *msg, void *closure)
{
    (void)nc, (void)s, (void)closure;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        uint64_t seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        if (seq > atomic_load(&handed_up)) {
            atomic_store(&handed_up, seq);
            handlers->event(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), seq,
                            seq <= replay_end);
            if (seq >= replay_end && !replayed) {
                signal_replayed();
            }
        }
    }
    natsMsg_Destroy(msg);
}

int cluster_publish(const void *data, size_t len)
{
    natsMsg *m = NULL;
    char id[sizeof(node) + 48];
    snprintf(id, sizeof(id), "%s-%" PRIx64 "-%" PRIuFAST64, node, incarnation,
             atomic_fetch_add(&published, 1));
    natsStatus s = natsMsg_Create(&m, SUBJECT, NULL, data, (int)len);
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
    }
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        return -EAGAIN;
    }
    /* While events wait to be sent again, a new one waits behind them, so that a sender's
     * events keep their order. One nats.c could not take (its connection broke under it,
     * before it noticed: the engine just died) waits too, rather than being refused; only
     * a full backlog (nats.c's stall timing out) refuses it. */
    pthread_mutex_lock(&retry_lock);
    bool behind = retry_head != NULL;
    pthread_mutex_unlock(&retry_lock);
    if (!behind) {
        s = publish_async(&m); /* no lock held: it may write to the socket */
    }
    if (behind || (s != NATS_OK && s != NATS_TIMEOUT)) {
        pthread_mutex_lock(&retry_lock);
        if (n_retries < backlog_max) {
            queue_retry(m, behind ? 0 : now_ms() + RETRY_PAUSE_MS);
            m = NULL;
            s = NATS_OK;
        }
        pthread_mutex_unlock(&retry_lock);
    }
    natsMsg_Destroy(m);
    return s == NATS_OK ? 0 : -EAGAIN;
}

/* ---------------------------------------------------------------- claims */

/* A folded pseudo as a key of the bucket, which allows only a few ASCII characters. */
static void key_of(const char *folded, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)folded; *p && j + 2 < size; p++) {
        out[j++] = hex[*p >> 4];
        out[j++] = hex[*p & 15];
    }
    out[j] = '\0';
}

#define KEY_SIZE (2 * 128 + 1)

/* The claim of k after a failed create: held by someone (-EEXIST), or released, in which
 * case its tombstone is replaced if no other server does it first. */
static int claim_released(const char *k, const char *value, size_t len)
{
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, pseudos, k); /* the usual answer, and a cheap one */
    kvEntry_Destroy(e);
    if (s != NATS_NOT_FOUND) {
        return s == NATS_OK ? -EEXIST : -EIO;
    }
    kvEntryList list = {0};
    if (kvStore_History(&list, pseudos, k, NULL) != NATS_OK) {
        return -EIO; /* the bucket did not answer: nobody can tell who holds it */
    }
    int r = -EEXIST;
    kvEntry *last = list.Count > 0 ? list.Entries[list.Count - 1] : NULL;
    uint64_t rev = 0;
    if (last && kvEntry_Operation(last) != kvOp_Put &&
        kvStore_Update(&rev, pseudos, k, value, (int)len, kvEntry_Revision(last)) == NATS_OK) {
        r = 0;
    }
    kvEntryList_Destroy(&list);
    return r;
}

int cluster_claim(const char *key, const char *value, size_t len)
{
    char k[KEY_SIZE];
    key_of(key, k, sizeof(k));
    int r = -EIO;
    /* A bucket whose replicas elect a leader (engines that just started, or one that died)
     * answers nothing for a moment: a few tries, short ones, before saying so. */
    for (int tries = 0; tries < CLAIM_TRIES && r == -EIO && cluster_linked(); tries++) {
        if (tries > 0) {
            nanosleep(&(struct timespec){0, CLAIM_RETRY_MS * 1000000L}, NULL);
        }
        uint64_t rev = 0;
        r = kvStore_Create(&rev, pseudos, k, value, (int)len) == NATS_OK
                ? 0
                : claim_released(k, value, len);
    }
    return r;
}

/* A change to a claim, published to the bucket's subject without waiting for the engine,
 * as kvStore_Put() and kvStore_Delete() would with a wait: on one connection, the engine
 * takes them in the order they are sent, so a claim (which waits) after a release of the
 * same key finds it released. */
static void publish_claim(const char *key, const char *op, const void *value, size_t len)
{
    char subject[sizeof("$KV." BUCKET_PSEUDO ".") + KEY_SIZE];
    snprintf(subject, sizeof(subject), "$KV." BUCKET_PSEUDO ".");
    key_of(key, subject + strlen(subject), KEY_SIZE);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, value, (int)len);
    if (s == NATS_OK && op) {
        s = natsMsgHeader_Set(m, "KV-Operation", op);
    }
    if (s == NATS_OK) {
        s = publish_async(&m);
    }
    natsMsg_Destroy(m);
    if (s != NATS_OK) {
        log_warn("grappe : un pseudo n'a pas pu être %s dans le moteur (%s)",
                 op ? "libéré" : "mis à jour", natsStatus_GetText(s));
    }
}

void cluster_claim_update(const char *key, const char *value, size_t len)
{
    publish_claim(key, NULL, value, len);
}

void cluster_release(const char *key)
{
    publish_claim(key, "DEL", NULL, 0);
}

int cluster_lookup(const char *key, struct buf *out)
{
    char k[KEY_SIZE];
    key_of(key, k, sizeof(k));
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, pseudos, k);
    if (s == NATS_OK) {
        buf_append(out, kvEntry_Value(e), (size_t)kvEntry_ValueLen(e));
        kvEntry_Destroy(e);
        return 0;
    }
    return s == NATS_NOT_FOUND ? -ENOENT : -EIO;
}

/* Takes each claim held by dead (a node's name) that no other survivor took first, and
 * hands it to the reaped handler. The bucket's present values come through one watcher,
 * in bulk (a NULL entry ends them), not one request per key: with 100,000 people that is
 * a second, not minutes. Taking a claim is one request, raced by every survivor. This runs
 * on a thread of its own, so that the heartbeat goes on meanwhile. */
static bool reap(const char *dead)
{
    kvWatchOptions o;
    kvWatchOptions_Init(&o);
    o.IgnoreDeletes = true;
    kvWatcher *w = NULL;
    if (kvStore_WatchAll(&w, pseudos, &o) != NATS_OK) {
        log_warn("grappe : les pseudos du serveur %s n'ont pu être relus", dead);
        return false;
    }
    size_t dead_len = strlen(dead);
    unsigned n = 0;
    kvEntry *e = NULL;
    natsStatus s = NATS_OK;
    while (!atomic_load(&stopping) && (s = kvWatcher_Next(&e, w, WATCH_WAIT_MS * 20)) == NATS_OK &&
           e) {
        const char *v = kvEntry_Value(e);
        size_t len = (size_t)kvEntry_ValueLen(e);
        uint64_t rev = 0;
        if (len > dead_len && memcmp(v, dead, dead_len) == 0 && v[dead_len] == '\n' &&
            kvStore_Update(&rev, pseudos, kvEntry_Key(e), "", 0, kvEntry_Revision(e)) == NATS_OK) {
            handlers->reaped(v, len); /* ours alone: the update above won the race */
            kvStore_Delete(pseudos, kvEntry_Key(e));
            n++;
        }
        kvEntry_Destroy(e);
        e = NULL;
    }
    bool complete = s == NATS_OK && !e; /* the end of the bucket's values was reached */
    kvEntry_Destroy(e);
    kvWatcher_Destroy(w);
    if (n > 0) {
        log_info("grappe : %u personne(s) du serveur %s annoncée(s) parties", n, dead);
    }
    return complete;
}

/* Reaps dead's claims, then deletes its heartbeat, which tells every other server it is
 * gone. A reap cut short (a stop, the engine lost) leaves the heartbeat: the others, still
 * waiting for it, find the node silent and reap what is left. */
static void *reaper(void *arg)
{
    if (reap(arg)) {
        kvStore_Delete(nodes, arg);
    }
    free(arg);
    return NULL;
}

/* Reaps dead's claims on a new thread (joined at the stop), or here if none can start. */
static void reap_apart(const char *dead)
{
    if (n_reapers == reapers_cap) {
        reapers = xgrow(reapers, &reapers_cap, n_reapers + 1, sizeof(*reapers), 4);
    }
    char *name = xstrdup(dead);
    if (pthread_create(&reapers[n_reapers], NULL, reaper, name) == 0) {
        n_reapers++;
    } else {
        reaper(name);
    }
}

/* ---------------------------------------------------------------- heartbeats */

static struct peer *peer_find(const char *name)
{
    for (size_t i = 0; i < n_peers; i++) {
        if (strcmp(peers[i].name, name) == 0) {
            return &peers[i];
        }
    }
    return NULL;
}

/* Under peer_lock: forgets peers[i]. */
static void peer_remove(size_t i)
{
    free(peers[i].rooms);
    peers[i] = peers[--n_peers];
}

/* An entry of the nodes bucket: a heartbeat (a put) or a node gone (a delete). */
static void heard(kvEntry *e, uint64_t now)
{
    const char *name = kvEntry_Key(e);
    if (strcmp(name, node) == 0 || strlen(name) >= sizeof(node)) {
        return;
    }
    size_t len = (size_t)kvEntry_ValueLen(e);
    char *rooms = xmemdup0(len ? kvEntry_Value(e) : "", len);
    pthread_mutex_lock(&peer_lock);
    struct peer *p = peer_find(name);
    if (kvEntry_Operation(e) != kvOp_Put) {
        if (p) {
            peer_remove((size_t)(p - peers));
        }
        pthread_mutex_unlock(&peer_lock);
        free(rooms);
        return;
    }
    if (!p) {
        if (n_peers == peers_cap) {
            peers = xgrow(peers, &peers_cap, n_peers + 1, sizeof(*peers), 8);
        }
        p = &peers[n_peers++];
        snprintf(p->name, sizeof(p->name), "%s", name);
        p->rooms = NULL;
    }
    p->seen = now;
    p->revision = kvEntry_Revision(e);
    free(p->rooms);
    p->rooms = rooms;
    pthread_mutex_unlock(&peer_lock);
}

/* Whether p, silent on the watcher for the TTL, is silent in the bucket too. The watcher
 * is an ordered consumer: when the engine it was served by dies, it stays quiet until it
 * notices (missed heartbeats) and starts again, which can take longer than the TTL; the
 * bucket itself, asked directly, tells. A newer heartbeat there means the node lives and
 * this watcher lags (*stale). No answer means nobody can tell: not silent. The heartbeat
 * thread, not under peer_lock (p is its to write). */
static bool silent(struct peer *p, uint64_t now, bool *stale)
{
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, nodes, p->name);
    if (s == NATS_NOT_FOUND) {
        return true;
    }
    if (s != NATS_OK) {
        return false;
    }
    uint64_t revision = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    if (revision == p->revision) {
        return true;
    }
    pthread_mutex_lock(&peer_lock);
    p->seen = now;
    p->revision = revision;
    pthread_mutex_unlock(&peer_lock);
    *stale = true;
    return false;
}

/* Reaps every peer not heard of for the TTL, as long as this node itself could write its
 * own heartbeat all that time: a node cut off hears nobody and must not bury them all,
 * and while the bucket elects a leader nobody can write, so silence then says nothing.
 * Returns whether the watcher was found lagging. The heartbeat thread, the only writer of
 * the peers' list: it reads it without the lock. */
static bool bury(uint64_t now, uint64_t writable_since)
{
    uint64_t ttl = (uint64_t)node_ttl * 1000;
    bool stale = false;
    for (size_t i = 0; i < n_peers;) {
        if (now - peers[i].seen <= ttl || writable_since == 0 || now - writable_since <= ttl ||
            !silent(&peers[i], now, &stale)) {
            i++;
            continue;
        }
        log_warn("grappe : le serveur %s ne donne plus signe de vie depuis %u s", peers[i].name,
                 node_ttl);
        reap_apart(peers[i].name);
        pthread_mutex_lock(&peer_lock);
        peer_remove(i);
        pthread_mutex_unlock(&peer_lock);
    }
    return stale;
}

/* This node's heartbeat: its rooms and how many of its people each holds, which every
 * other server reads for /rooms and the counts of a room; put every --node-ttl/3 seconds,
 * and sooner when it changed (at most every WATCH_WAIT_MS). Returns whether it was stored
 * or is current; *last is what was last stored. */
static bool put_heartbeat(struct buf *last, uint64_t now, uint64_t *last_put, uint64_t period)
{
    struct buf rooms = BUF_INIT;
    handlers->rooms(&rooms);
    bool changed =
        rooms.len != last->len || (rooms.len > 0 && memcmp(rooms.data, last->data, rooms.len) != 0);
    bool ok = true;
    if ((changed && now - *last_put >= WATCH_WAIT_MS) || now - *last_put >= period) {
        uint64_t rev;
        ok = kvStore_Put(&rev, nodes, node, rooms.len ? rooms.data : "", (int)rooms.len) == NATS_OK;
        if (ok) {
            *last_put = now;
            buf_reset(last);
            buf_append(last, rooms.data, rooms.len);
        }
    }
    buf_release(&rooms);
    return ok;
}

static void *beat(void *arg)
{
    (void)arg;
    kvWatcher *w = NULL;
    if (kvStore_WatchAll(&w, nodes, NULL) != NATS_OK) {
        log_error("grappe : les battements des autres serveurs ne peuvent être suivis");
        return NULL;
    }
    /* writable_since: since when every heartbeat of ours was stored (0: the last failed). */
    uint64_t period = node_ttl * 1000 / 3, last_put = 0, writable_since = 0;
    struct buf last = BUF_INIT;
    while (!atomic_load(&stopping)) {
        kvEntry *e = NULL;
        natsStatus s = kvWatcher_Next(&e, w, WATCH_WAIT_MS);
        uint64_t now = now_ms();
        if (s == NATS_OK && e) {
            heard(e, now);
            kvEntry_Destroy(e);
        }
        if (!cluster_linked()) {
            writable_since = 0;
            pthread_mutex_lock(&peer_lock);
            for (size_t i = 0; i < n_peers; i++) {
                peers[i].seen = now; /* what was missed while away is not silence */
            }
            pthread_mutex_unlock(&peer_lock);
            continue;
        }
        resend_due(now);
        if (put_heartbeat(&last, now, &last_put, period)) {
            writable_since = writable_since ? writable_since : now;
        } else {
            writable_since = 0;
        }
        if (bury(now, writable_since)) {
            /* A lagging watcher: a new one starts from each node's latest heartbeat. */
            kvWatcher *fresh = NULL;
            if (kvStore_WatchAll(&fresh, nodes, NULL) == NATS_OK) {
                kvWatcher_Destroy(w);
                w = fresh;
            }
        }
    }
    buf_release(&last);
    kvWatcher_Destroy(w);
    return NULL;
}

void cluster_rooms_elsewhere(struct buf *out)
{
    pthread_mutex_lock(&peer_lock);
    for (size_t i = 0; i < n_peers; i++) {
        const char *rooms = peers[i].rooms ? peers[i].rooms : "";
        size_t len = strlen(rooms);
        buf_append(out, rooms, len);
        if (len > 0 && rooms[len - 1] != '\n') {
            buf_append_char(out, '\n'); /* a peer's last line never runs into the next's */
        }
    }
    pthread_mutex_unlock(&peer_lock);
}

/* ---------------------------------------------------------------- questions */

/* Another server asks who of ours is in a room: "NODE\nROOM_KEY\nLIMIT". nats.c's thread
 * for this subscription; the answer, "COUNT\nNAMES", goes to its inbox. */
static void on_ask(natsConnection *nc, natsSubscription *s, natsMsg *msg, void *closure)
{
    (void)s, (void)closure;
    const char *data = natsMsg_GetData(msg), *reply = natsMsg_GetReply(msg);
    size_t len = (size_t)natsMsg_GetDataLength(msg), node_len = strlen(node);
    const char *key = len > 0 ? memchr(data, '\n', len) : NULL;
    const char *max = key ? memchr(key + 1, '\n', len - (size_t)(key + 1 - data)) : NULL;
    bool mine = key && (size_t)(key - data) == node_len && memcmp(data, node, node_len) == 0;
    if (max && reply && !mine && !atomic_load(&stopping)) {
        char room_key[256];
        snprintf(room_key, sizeof(room_key), "%.*s", (int)(max - key - 1), key + 1);
        struct buf answer = BUF_INIT;
        handlers->names(room_key, (size_t)strtoull(max + 1, NULL, 10), &answer);
        natsConnection_Publish(nc, reply, answer.data, (int)answer.len);
        buf_release(&answer);
    }
    natsMsg_Destroy(msg);
}

/* Appends to names, each after a space, the space-separated names of list (len bytes)
 * while *named, which counts them, is under limit. */
static void take_names(struct buf *names, const char *list, size_t len, size_t limit, size_t *named)
{
    while (len > 0 && *named < limit) {
        const char *space = memchr(list, ' ', len);
        size_t word = space ? (size_t)(space - list) : len;
        size_t mark = word > 1 && list[0] == PROTO_OPERATOR_MARK; /* a room operator's */
        if (word > 0 && pseudo_check(list + mark, word - mark) == PSEUDO_OK) { /* as wire.c's */
            buf_append_char(names, ' ');
            buf_append(names, list, word);
            ++*named;
        }
        list += word + (space != NULL);
        len -= word + (space != NULL);
    }
}

uint32_t cluster_ask_names(const char *room_key, size_t limit, struct buf *names)
{
    pthread_mutex_lock(&peer_lock);
    size_t expected = n_peers;
    pthread_mutex_unlock(&peer_lock);
    if (expected == 0 || !cluster_linked()) {
        return 0;
    }
    natsInbox *inbox = NULL;
    natsSubscription *s = NULL;
    struct buf q = BUF_INIT;
    buf_appendf(&q, "%s\n%s\n%zu", node, room_key, limit);
    uint32_t count = 0;
    size_t named = 0;
    if (natsInbox_Create(&inbox) == NATS_OK &&
        natsConnection_SubscribeSync(&s, conn, inbox) == NATS_OK &&
        natsConnection_PublishRequest(conn, ASK_SUBJECT, inbox, q.data, (int)q.len) == NATS_OK) {
        uint64_t until = now_ms() + ASK_WAIT_MS;
        for (size_t got = 0; got < expected;) {
            uint64_t now = now_ms();
            natsMsg *m = NULL;
            if (now >= until ||
                natsSubscription_NextMsg(&m, s, (int64_t)(until - now)) != NATS_OK) {
                break;
            }
            const char *data = natsMsg_GetData(m);
            size_t len = (size_t)natsMsg_GetDataLength(m);
            const char *nl = len > 0 ? memchr(data, '\n', len) : NULL;
            if (nl) {
                unsigned long theirs = strtoul(data, NULL, 10);
                count = theirs > UINT32_MAX - count ? UINT32_MAX : count + (uint32_t)theirs;
                take_names(names, nl + 1, len - (size_t)(nl + 1 - data), limit, &named);
                got++;
            }
            natsMsg_Destroy(m);
        }
    }
    natsSubscription_Destroy(s);
    natsInbox_Destroy(inbox);
    buf_release(&q);
    return count;
}

/* A question asked for a loop thread, on libuv's thread pool. */
struct ask_later {
    uv_work_t work;
    cluster_names_cb cb;
    void *arg;
    size_t limit;
    uint32_t count;
    struct buf names;
    char room_key[];
};

static void ask_on_pool(uv_work_t *w)
{
    struct ask_later *a = w->data;
    a->count = cluster_ask_names(a->room_key, a->limit, &a->names);
}

static void answered(uv_work_t *w, int status)
{
    struct ask_later *a = w->data;
    if (status < 0) { /* cancelled at shutdown: nothing was asked */
        a->count = 0;
        buf_reset(&a->names);
    }
    a->cb(a->arg, a->count, a->names.data ? a->names.data : "", a->names.len);
    buf_release(&a->names);
    free(a);
}

int cluster_ask_names_later(uv_loop_t *loop, const char *room_key, size_t limit,
                            cluster_names_cb cb, void *arg)
{
    size_t key_len = strlen(room_key);
    struct ask_later *a = xmalloc(sizeof(*a) + key_len + 1);
    a->work.data = a;
    a->cb = cb;
    a->arg = arg;
    a->limit = limit;
    a->count = 0;
    a->names = (struct buf)BUF_INIT;
    memcpy(a->room_key, room_key, key_len + 1);
    int r = uv_queue_work(loop, &a->work, ask_on_pool, answered);
    if (r < 0) {
        free(a);
    }
    return r;
}

/* ---------------------------------------------------------------- shared tables */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A bucket's key back to the folded name it was made from (key_of()); false if it is not
 * one key_of() could have made. */
static bool key_from(const char *k, struct buf *out)
{
    size_t n = strlen(k);
    if (n == 0 || n % 2 != 0 || n >= KEY_SIZE) {
        return false;
    }
    buf_reset(out);
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(k[i]), lo = hex_digit(k[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            return false;
        }
        char c = (char)(hi << 4 | lo);
        buf_append(out, &c, 1);
    }
    return true;
}

int cluster_table_put(enum cluster_table t, const char *key, const void *value, size_t len,
                      bool create, uint64_t *revision)
{
    char k[KEY_SIZE];
    key_of(key, k, sizeof(k));
    if (!tables[t] || !k[0]) {
        return -EINVAL;
    }
    uint64_t rev = 0;
    natsStatus s = create ? kvStore_Create(&rev, tables[t], k, value, (int)len)
                          : kvStore_Put(&rev, tables[t], k, value, (int)len);
    if (s == NATS_OK) {
        *revision = rev;
        return 0;
    }
    if (s == NATS_MAX_PAYLOAD) {
        return -EMSGSIZE; /* never fits: trying again would stop every later change */
    }
    if (s == NATS_NOT_PERMITTED) {
        return -EACCES;
    }
    if (create) {
        kvEntry *e = NULL;
        s = kvStore_Get(&e, tables[t], k); /* why the creation failed: the key is taken? */
        kvEntry_Destroy(e);
        if (s == NATS_OK) {
            return -EEXIST;
        }
    }
    return -EIO;
}

struct cluster_watch {
    enum cluster_table table;
    kvWatcher *w;
};

struct cluster_watch *cluster_table_watch(enum cluster_table t)
{
    kvWatcher *w = NULL;
    if (!tables[t] || kvStore_WatchAll(&w, tables[t], NULL) != NATS_OK) {
        return NULL;
    }
    struct cluster_watch *cw = xmalloc(sizeof(*cw));
    cw->table = t;
    cw->w = w;
    return cw;
}

int cluster_watch_next(struct cluster_watch *cw, int wait_ms, struct buf *key, struct buf *value,
                       uint64_t *revision)
{
    for (;;) {
        kvEntry *e = NULL;
        natsStatus s = kvWatcher_Next(&e, cw->w, wait_ms);
        if (s == NATS_TIMEOUT) {
            return -ETIMEDOUT;
        }
        if (s != NATS_OK) {
            return -EIO;
        }
        if (!e) {
            return 0; /* the values there were when the watch began have all been given */
        }
        bool ok = kvEntry_Operation(e) == kvOp_Put && key_from(kvEntry_Key(e), key);
        if (ok) {
            buf_reset(value);
            buf_append(value, kvEntry_Value(e), (size_t)kvEntry_ValueLen(e));
            *revision = kvEntry_Revision(e);
        } else if (kvEntry_Operation(e) == kvOp_Put) {
            log_warn("grappe : seau %s : une clé illisible est ignorée", table_buckets[cw->table]);
        }
        kvEntry_Destroy(e);
        if (ok) {
            return 1;
        }
    }
}

void cluster_watch_close(struct cluster_watch *cw)
{
    if (cw) {
        kvWatcher_Destroy(cw->w);
        free(cw);
    }
}

/* ---------------------------------------------------------------- life cycle */

static int wait_replay(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += REPLAY_WAIT_MS / 1000;
    int r = 0;
    pthread_mutex_lock(&replay_lock);
    while (!replayed && r == 0) {
        r = pthread_cond_timedwait(&replay_done, &replay_lock, &until);
    }
    pthread_mutex_unlock(&replay_lock);
    if (r != 0) {
        log_warn("grappe : le flux n'est pas encore relu en entier ; le serveur ouvre quand même");
    }
    return 0;
}

int cluster_start(uint64_t after, const struct cluster_handlers *h)
{
    handlers = h;
    reap(node); /* what a former life of this node left: its people are gone */
    if (after > replay_end) {
        log_warn("grappe : la base va plus loin (%" PRIu64 ") que le flux (%" PRIu64
                 ") : le moteur est neuf ? suite aux nouveaux événements seulement",
                 after, replay_end);
        after = replay_end;
    }
    if (after >= replay_end) {
        replay_end = after; /* nothing to replay */
        signal_replayed();
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = after + 1;
    jsErrCode jerr = 0;
    natsStatus s = js_Subscribe(&sub, js, SUBJECT, on_event, NULL, NULL, &so, &jerr);
    if (s != NATS_OK) {
        log_error("grappe : abonnement au flux impossible : %s", natsStatus_GetText(s));
        return -EIO;
    }
    s = natsConnection_Subscribe(&ask_sub, conn, ASK_SUBJECT, on_ask, NULL);
    if (s != NATS_OK) {
        log_error("grappe : abonnement aux questions des autres serveurs impossible : %s",
                  natsStatus_GetText(s));
        return -EIO;
    }
    if (pthread_create(&beat_thread, NULL, beat, NULL) != 0) {
        return -EAGAIN;
    }
    return wait_replay();
}

void cluster_close(void)
{
    atomic_store(&stopping, true);
    if (beat_thread) {
        pthread_join(beat_thread, NULL);
        beat_thread = 0;
    }
    for (size_t i = 0; i < n_reapers; i++) {
        pthread_join(reapers[i], NULL);
    }
    free(reapers);
    reapers = NULL;
    n_reapers = reapers_cap = 0;
    if (ask_sub) {
        natsSubscription_Unsubscribe(ask_sub);
        natsSubscription_Destroy(ask_sub);
        ask_sub = NULL;
    }
    /* Whether everything this server published is in the engine: its people's releases
     * included, without which its heartbeat stays, so that the others reap them. */
    bool confirmed = false;
    if (js) {
        if (cluster_linked()) {
            resend_due(UINT64_MAX);
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = REQUEST_WAIT_MS;
        confirmed = js_PublishAsyncComplete(js, &po) == NATS_OK;
        if (!confirmed) {
            log_warn("grappe : des événements n'ont pas été confirmés par le moteur à l'arrêt");
        }
    }
    confirmed = drop_retries() == 0 && confirmed;
    if (sub) {
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
        sub = NULL;
    }
    if (nodes && conn && cluster_linked() && confirmed) {
        kvStore_Delete(nodes, node); /* gone on purpose: nobody waits for the TTL */
    }
    pthread_mutex_lock(&peer_lock);
    while (n_peers > 0) {
        peer_remove(n_peers - 1);
    }
    free(peers);
    peers = NULL;
    peers_cap = 0;
    pthread_mutex_unlock(&peer_lock);
    kvStore_Destroy(pseudos);
    kvStore_Destroy(nodes);
    pseudos = nodes = NULL;
    for (int t = 0; t < N_CLUSTER_TABLES; t++) {
        kvStore_Destroy(tables[t]);
        tables[t] = NULL;
    }
    jsCtx_Destroy(js);
    js = NULL;
    if (conn) {
        natsConnection_Close(conn);
        natsConnection_Destroy(conn);
        conn = NULL;
    }
    nats_CloseAndWait(REQUEST_WAIT_MS);
}
