/* cluster.h - the engine several servers share: NATS JetStream, through nats.c.
 *
 * The one file that speaks to the engine; it knows bytes, keys and sequence numbers, not
 * events (wire.h gives their form, broadcast.c decides what crosses). Three things live in
 * the engine (docs/ARCHITECTURE.md, "The cluster"):
 * - the stream CAUSERIE, subject causerie.events: every event of every server, one order;
 *   each server publishes its own and consumes all of them, its own included, from one
 *   ordered consumer, whose callback runs on one thread of nats.c's, in the stream's order;
 * - the bucket CAUSERIE_PSEUDOS: who holds which pseudo (key: the folded pseudo, in hex),
 *   and on which node, in which room; created atomically, so exactly one claim wins;
 * - the bucket CAUSERIE_NODES: each server's heartbeat. A node not heard of for --node-ttl
 *   seconds is taken for dead, and its claims are reaped, each by exactly one survivor;
 * - the buckets CAUSERIE_ACCOUNTS and CAUSERIE_ROOMS: the shared tables, whose values
 *   store_cluster.c writes and reads (the accounts, the owned rooms).
 * Nothing here is used without --cluster: the server then opens no connection.
 */
#ifndef CAUSERIE_CLUSTER_H
#define CAUSERIE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"

struct cluster_config {
    const char *urls;  /* nats://HOST:PORT, comma-separated (credentials may be in them) */
    const char *creds; /* a .creds file, or NULL */
    const char *node;  /* this server's name */
    unsigned node_ttl; /* seconds */
    unsigned backlog;  /* events published and not yet acknowledged, at most */
};

struct cluster_handlers {
    /* An event of the stream, in order: data (len bytes, borrowed for the call) at stream
     * sequence seq; replay is set for those that were already in the stream when this
     * server joined (they are history, not news). One thread of nats.c's. */
    void (*event)(const void *data, size_t len, uint64_t seq, bool replay);
    /* The link to the engine was lost (up false) or is back (up true). nats.c's thread. */
    void (*link)(bool up);
    /* A claim of a dead node, taken by this server, which alone announces it: value as the
     * node stored it (cluster_claim()). A reaping thread, one per dead node: may run
     * beside another. */
    void (*reaped)(const char *value, size_t len);
    /* This server's rooms with people in them, one "COUNT NAME\n" line each (the name as
     * shown, without '#'), appended to out: what its heartbeat tells the others. The
     * heartbeat thread, every few hundred milliseconds. */
    void (*rooms)(struct buf *out);
    /* Another server asks who of ours is in the room whose folded name is room_key:
     * append "COUNT\n" then at most limit (SIZE_MAX: all) pseudos, separated by spaces,
     * to out. One thread of nats.c's. */
    void (*names)(const char *room_key, size_t limit, struct buf *out);
};

/* Connects to the engine and sets up the stream and buckets. Main thread, before the loops
 * start. Returns 0; or a negative errno with why, in French, in err: the engine cannot be
 * reached, refuses the credentials, has no JetStream or is too old. */
int cluster_open(const struct cluster_config *c, struct buf *err);
/* Starts consuming the stream after sequence `after` (0: the whole stream), calling h's
 * handlers from now on (h is static), and the heartbeat. Returns once the events already
 * in the stream have been replayed, or after a while with a warning. Main thread. */
int cluster_start(uint64_t after, const struct cluster_handlers *h);
/* Flushes what is published, stops, disconnects. Main thread, after the loops stopped. */
void cluster_close(void);

/* This server's name in the cluster; "" before cluster_open(). */
const char *cluster_node(void);
/* Whether the link to the engine is up now. Any thread. */
bool cluster_linked(void);

/* Publishes one event (data, len bytes: copied) to the stream. Returns 0; or -EAGAIN when
 * --cluster-backlog events wait for the engine already. Any thread; no lock is held. */
int cluster_publish(const void *data, size_t len);

/* Claims key (a folded pseudo) for this node: value says which person, where. Returns 0;
 * -EEXIST if another holds it; -EIO if the engine could not tell (unreachable). One round
 * trip to the engine. Any thread. */
int cluster_claim(const char *key, const char *value, size_t len);
/* Changes the value of a claim this node holds (a move to another room). Any thread. */
void cluster_claim_update(const char *key, const char *value, size_t len);
/* Gives up a claim this node holds. Any thread. */
void cluster_release(const char *key);
/* Appends what every other live server's last heartbeat said of its rooms: "COUNT NAME\n"
 * lines (handlers.rooms), a few hundred milliseconds old at most. Any thread. */
void cluster_rooms_elsewhere(struct buf *out);
/* Asks every other live server who of its people is in the room whose folded name is
 * room_key; appends at most limit (SIZE_MAX: all) of their pseudos to names, each after a
 * space, and returns how many they hold in all. Waits for the answers, up to half a second
 * when a server does not answer (then counts those that did). Any thread but a loop's,
 * holding no lock. */
uint32_t cluster_ask_names(const char *room_key, size_t limit, struct buf *names);

/* cluster_ask_names()'s answer: count, and names (len bytes, each after a space), borrowed
 * for the call; count 0 and no names if the question could not be asked. */
typedef void (*cluster_names_cb)(void *arg, uint32_t count, const char *names, size_t len);
/* cluster_ask_names() on libuv's thread pool, for a loop thread, which must not wait: cb
 * is called once on loop's thread with the answers, even at shutdown. Returns 0, or a
 * negative errno (cb will not be called). Loop thread of loop. */
int cluster_ask_names_later(uv_loop_t *loop, const char *room_key, size_t limit,
                            cluster_names_cb cb, void *arg);
/* The value of the claim of key (a folded pseudo), in out (NUL added); -ENOENT if none,
 * -EIO if the engine could not tell. Any thread. */
int cluster_lookup(const char *key, struct buf *out);

/* ---------------------------------------------------------------- shared tables */

/* The tables the servers share, one bucket each; keys are folded names, values are bytes
 * this file does not read (store_cluster.c gives them their form). */
enum cluster_table { CLUSTER_ACCOUNTS, CLUSTER_ROOMS, N_CLUSTER_TABLES };

/* Puts value (len bytes) under key (a folded name) in table t and waits for the engine to
 * keep it; with create, only if t never held key. Returns 0 with the value's revision
 * (rising with every change to t) in *revision; -EEXIST (create only) if t holds key;
 * -EIO if the engine did not answer (worth trying again); -EMSGSIZE if the value is larger
 * than the engine takes, -EACCES if the credentials do not allow it (not worth it). Any
 * thread but a loop's, holding no lock. */
int cluster_table_put(enum cluster_table t, const char *key, const void *value, size_t len,
                      bool create, uint64_t *revision);

/* A watch on a table: every key's latest value when it begins, then every change. */
struct cluster_watch;
/* NULL if the engine did not answer. Any thread. */
struct cluster_watch *cluster_table_watch(enum cluster_table t);
/* Waits up to wait_ms for the next value: 1, with its key (folded, NUL added), its value
 * and its revision; 0, once, when the values there were at the start have all been given;
 * -ETIMEDOUT; -EIO if the watch broke (make another). One thread at a time per watch. */
int cluster_watch_next(struct cluster_watch *w, int wait_ms, struct buf *key, struct buf *value,
                       uint64_t *revision);
void cluster_watch_close(struct cluster_watch *w);

#endif
