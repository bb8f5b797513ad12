/* history.h - a room's last chat lines in memory, and their "~ TIME LINE" form.
 *
 * A ring of the last N messages of a room (--history), each a reference to the message
 * as it was broadcast, with the time it arrived. The ring is guarded by its owner's lock:
 * broadcast.c's order lock, under which messages get their place in the order, so that
 * the lines a newcomer receives as history and the live ones that follow meet exactly,
 * without a gap or a repeat. Formatting is done by the caller, outside that lock.
 */
#ifndef CAUSERIE_HISTORY_H
#define CAUSERIE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct msg;

struct history_entry {
    struct msg *m; /* ref held */
    int64_t time;  /* seconds since the epoch, UTC: when the server received it */
};

struct history {
    struct history_entry *ring; /* owned, allocated at the first push; NULL: empty */
    uint32_t cap;               /* entries kept at most; 0 keeps nothing */
    uint32_t head;              /* the oldest entry */
    uint32_t len;
};

void history_init(struct history *h, unsigned cap);
/* Keeps m (taking a reference of its own) as the newest entry. Returns the message that
 * falls off the other end, whose reference the caller drops (msg_unref()), preferably
 * once it has released its locks; or NULL. With cap 0, keeps nothing and returns NULL. */
struct msg *history_push(struct history *h, struct msg *m, int64_t time);
/* Copies the entries, oldest first, into out (room for history_len() of them), taking a
 * reference to each; returns how many. */
size_t history_copy(const struct history *h, struct history_entry *out);
/* Forgets every entry, dropping their references. */
void history_clear(struct history *h);
size_t history_len(const struct history *h);

/* Bytes a history line adds to its message: "~ ", the time (20) and a space. */
#define HISTORY_LINE_OVERHEAD 23

/* Appends "~ 2026-11-25T14:03:12Z LINE\n" for each entry to out: the wire form of history
 * (docs/PROTOCOL.md). Any thread. */
void history_format(const struct history_entry *e, size_t n, struct buf *out);
/* Drops the references of n copied entries. */
void history_drop(struct history_entry *e, size_t n);

#endif
