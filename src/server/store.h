/* store.h - the server's lasting state, behind one door: what it keeps and how it asks.
 *
 * Everything the server keeps from one start to the next goes through this interface:
 * the rooms' chat lines, the accounts, the owned rooms, and whatever is added later. The server
 * knows only these operations, behind which two implementations stand, as transports do
 * behind transport.h: store_sqlite.c (an embedded SQLite database) for a server alone, and
 * store_cluster.c for a server in a cluster, which shares the accounts and owned rooms
 * with the other servers and keeps the lines in a store_sqlite.c of its own.
 *
 * Three kinds of call, by who may wait:
 * - writes (store_append_line()) are queued and return at once, from any thread: a writer
 *   thread of the store's own applies them in batched transactions. Nothing on a loop
 *   thread ever waits for the disk; a write the queue has no room for is dropped, counted
 *   and logged rather than making a loop wait.
 * - reads a person waits for (store_lines_before(), store_search()) run on libuv's thread
 *   pool and answer through the loop that asked, in a callback on its thread.
 * - start and stop (store_load_recent(), store_close()) run on the main thread, before
 *   the loops start and after they have been joined.
 * A store that shares its state also calls up, through the handlers given to
 * store_follow(), with the changes other servers made.
 *
 * The base layer: it knows events' kinds and nothing above.
 */
#ifndef CAUSERIE_STORE_H
#define CAUSERIE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "event.h"

/* One kept chat line or action: what a room's history is made of. The strings are not
 * NUL-terminated; they are borrowed for the call that gives or receives them. */
struct store_line {
    uint64_t id;      /* its place in the order (an event's seq), unique and rising */
    int64_t time;     /* seconds since the epoch, UTC */
    uint8_t kind;     /* EVENT_CHAT or EVENT_ACTION (event.h) */
    const char *room; /* the room's name as shown, without '#' */
    const char *who;  /* the pseudo that said it */
    const char *text; /* what was said */
    size_t room_len, who_len, text_len;
};

/* A chat line or an action as the store keeps it: its strings are e's, borrowed. */
static inline struct store_line store_line_of(const struct event *e)
{
    return (struct store_line){.id = e->seq,
                               .time = e->time,
                               .kind = e->kind,
                               .room = e->where,
                               .room_len = e->where_len,
                               .who = e->who,
                               .who_len = e->who_len,
                               .text = e->text,
                               .text_len = e->text_len};
}

/* The answer to a read: status 0 and lines[0..n), oldest first, borrowed for the call; or
 * a negative errno (n is 0). Called on the thread of the loop that asked. */
typedef void (*store_lines_cb)(void *arg, int status, const struct store_line *lines, size_t n);

/* Called by store_load_recent() for each line it reads back. */
typedef void (*store_line_fn)(const struct store_line *line, void *ctx);

/* A registered pseudo. The strings are NUL-terminated and borrowed for the call. */
struct store_account {
    const char *key;  /* the pseudo folded (pseudo_fold()): what is compared */
    const char *name; /* the pseudo as registered */
    const char *hash; /* the password's hash (password.h), never the password */
    int64_t created;  /* seconds since the epoch, UTC */
    /* A registration, not a change: a shared store keeps it only if no other server
     * registered the key first (it then takes theirs). Ignored elsewhere. */
    bool registering;
};

/* Called by store_load_accounts() for each account. */
typedef void (*store_account_fn)(const struct store_account *a, void *ctx);

/* A ban in an owned room: an account's, or, for a pseudo nobody registered, its address's. */
struct store_ban {
    const char *key;  /* the pseudo banned, folded: what /unban names */
    const char *name; /* the pseudo as it was banned */
    const char *host; /* "" for an account; else the address's host key (addr_host_key()) */
};

/* An owned room's lasting state. The strings are NUL-terminated and borrowed for the call;
 * the founder is not among the operators. */
struct store_room {
    const char *key;     /* the name folded: what is compared */
    const char *name;    /* as its founder typed it, without '#' */
    const char *founder; /* the founder's account key; "" for a room of the server's own */
    const char *topic;   /* "" for none */
    bool invite_only;
    int64_t created;              /* seconds since the epoch, UTC */
    const char *const *operators; /* account keys */
    size_t n_operators;
    const struct store_ban *bans;
    size_t n_bans;
};

/* Called by store_load_rooms() for each owned room. */
typedef void (*store_room_fn)(const struct store_room *r, void *ctx);

/* A change another server made, on its way to the layer above (store_follow()). */
struct store_change {
    /* See store_change_take(). */
    bool (*take)(struct store_change *c);
};

/* Whether the change c is to be applied: false when a change of this server's to the same
 * key is newer. The handler asks under the lock under which it queues its own changes
 * (store_put_account() and the others), so that none comes between the answer and the
 * change; a change taken is kept in the local copy too. */
static inline bool store_change_take(struct store_change *c)
{
    return c->take(c);
}

/* What a shared store calls with other servers' changes, from threads of its own (the
 * accounts' and the rooms' may run at once), each key's changes in the order the shared
 * copy took them: the account or room (borrowed for the call) to
 * create or to put in place of the one with its key, or the key of the one to forget. The
 * handler applies it, in memory only, if store_change_take(c). */
struct store_follower {
    void (*account)(const struct store_account *a, struct store_change *c);
    void (*account_gone)(const char *key, struct store_change *c);
    void (*room)(const struct store_room *r, struct store_change *c);
    void (*room_gone)(const char *key, struct store_change *c);
};

struct store;

/* Which lines of a room a range read takes (store_lines_range()): among those whose id is
 * strictly between after and before and whose time strictly between since and until (0 and
 * UINT64_MAX, INT64_MIN and INT64_MAX for no bound), at most n: the newest of them, or the
 * oldest. STORE_AROUND takes the newest n - n / 2 with an id below before and a time below
 * until, then as many of the oldest with an id above after and a time above since as make
 * n: around a line (after = its id, before = its id + 1) or a time (since = T, until =
 * T + 1). Always given oldest first. */
enum store_pick { STORE_NEWEST, STORE_OLDEST, STORE_AROUND };
struct store_range {
    enum store_pick pick;
    uint64_t after, before;
    int64_t since, until;
    unsigned n;
};

/* What an implementation provides; see the wrappers below for each contract. */
struct store_ops {
    uint64_t (*last_id)(struct store *s);
    int (*load_recent)(struct store *s, unsigned max_rooms, unsigned per_room, store_line_fn fn,
                       void *ctx);
    void (*append_line)(struct store *s, const struct store_line *line);
    int (*lines_before)(struct store *s, uv_loop_t *loop, const char *room, size_t room_len,
                        uint64_t before, unsigned n, store_lines_cb cb, void *arg);
    int (*search)(struct store *s, uv_loop_t *loop, const char *room, size_t room_len,
                  const char *words, size_t words_len, unsigned n, store_lines_cb cb, void *arg);
    int (*lines_range)(struct store *s, uv_loop_t *loop, const char *room, size_t room_len,
                       const struct store_range *range, store_lines_cb cb, void *arg);
    int (*load_accounts)(struct store *s, store_account_fn fn, void *ctx);
    void (*put_account)(struct store *s, const struct store_account *a);
    void (*delete_account)(struct store *s, const char *key);
    int (*load_rooms)(struct store *s, store_room_fn fn, void *ctx);
    void (*put_room)(struct store *s, const struct store_room *r);
    void (*delete_room)(struct store *s, const char *key);
    void (*follow)(struct store *s, const struct store_follower *f); /* NULL: nothing shared */
    void (*close)(struct store *s);
};

struct store {
    const struct store_ops *ops;
};

/* The highest line id kept, 0 if none: the order continues above it, so that ids keep
 * rising across restarts. Main thread, before the loops start. */
static inline uint64_t store_last_id(struct store *s)
{
    return s->ops->last_id(s);
}

/* Calls fn for the last per_room lines of each of the max_rooms rooms that spoke last,
 * oldest first within a room. Main thread, before the loops start. Returns 0, or a
 * negative errno (logged). */
static inline int store_load_recent(struct store *s, unsigned max_rooms, unsigned per_room,
                                    store_line_fn fn, void *ctx)
{
    return s->ops->load_recent(s, max_rooms, per_room, fn, ctx);
}

/* Queues line (copied) to be kept; any thread, never waits for the disk. Room names are
 * compared as pseudos are, without case. */
static inline void store_append_line(struct store *s, const struct store_line *line)
{
    s->ops->append_line(s, line);
}

/* Reads, on libuv's thread pool, the last n lines of room (named as shown, room_len
 * bytes) whose id is below before, and calls cb with them, oldest first, on loop's thread.
 * Returns 0 (cb will be called once, even at shutdown: the loop waits for it), or a
 * negative errno (cb will not be called). Loop thread of loop. */
static inline int store_lines_before(struct store *s, uv_loop_t *loop, const char *room,
                                     size_t room_len, uint64_t before, unsigned n,
                                     store_lines_cb cb, void *arg)
{
    return s->ops->lines_before(s, loop, room, room_len, before, n, cb, arg);
}

/* As store_lines_before(), for the lines of room that range says (IRC's CHATHISTORY). */
static inline int store_lines_range(struct store *s, uv_loop_t *loop, const char *room,
                                    size_t room_len, const struct store_range *range,
                                    store_lines_cb cb, void *arg)
{
    return s->ops->lines_range(s, loop, room, room_len, range, cb, arg);
}

/* As store_lines_before(), for the n most recent lines of room that contain every word of
 * words (whitespace-separated; accents and case ignored), oldest first. */
static inline int store_search(struct store *s, uv_loop_t *loop, const char *room, size_t room_len,
                               const char *words, size_t words_len, unsigned n, store_lines_cb cb,
                               void *arg)
{
    return s->ops->search(s, loop, room, room_len, words, words_len, n, cb, arg);
}

/* Calls fn for every account. Main thread, before the loops start. Returns 0, or a
 * negative errno (logged). */
static inline int store_load_accounts(struct store *s, store_account_fn fn, void *ctx)
{
    return s->ops->load_accounts(s, fn, ctx);
}

/* Queues a's creation, or the change of its name and hash if its key exists; any thread,
 * never waits. Never dropped for want of room, unlike a line. */
static inline void store_put_account(struct store *s, const struct store_account *a)
{
    s->ops->put_account(s, a);
}

/* Queues the deletion of the account whose key is key; any thread, never waits. */
static inline void store_delete_account(struct store *s, const char *key)
{
    s->ops->delete_account(s, key);
}

/* Calls fn for every owned room. Main thread, before the loops start. Returns 0, or a
 * negative errno (logged). */
static inline int store_load_rooms(struct store *s, store_room_fn fn, void *ctx)
{
    return s->ops->load_rooms(s, fn, ctx);
}

/* Queues r's whole state, which replaces what was kept of the room with r's key; any
 * thread, never waits. Never dropped for want of room, as an account's change. */
static inline void store_put_room(struct store *s, const struct store_room *r)
{
    s->ops->put_room(s, r);
}

/* Queues the deletion of the owned room whose key is key: it is no one's any more. */
static inline void store_delete_room(struct store *s, const char *key)
{
    s->ops->delete_room(s, key);
}

/* From now on, gives f's handlers (f is static) the changes other servers make; a store
 * that shares nothing never calls them. Main thread, after store_load_accounts() and
 * store_load_rooms(), before the loops start. */
static inline void store_follow(struct store *s, const struct store_follower *f)
{
    if (s->ops->follow) {
        s->ops->follow(s, f);
    }
}

/* Applies every queued write, stops the store's threads, closes and frees s. Main thread,
 * once no loop may call it any more. */
static inline void store_close(struct store *s)
{
    s->ops->close(s);
}

#endif
