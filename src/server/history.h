/* history.h - a room's last chat lines in memory.
 *
 * A ring of the last N events of a room (--history) that are kept: chat lines and
 * actions, each a reference to the event as it was published, with its time in it. The
 * ring is guarded by its owner's lock, broadcast.c's order lock, under which events get
 * their place in the order, so that the lines a newcomer receives as history and the live
 * ones that follow meet exactly, without a gap or a repeat. How history is shown is each
 * protocol's business, outside that lock.
 */
#ifndef CAUSERIE_HISTORY_H
#define CAUSERIE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct event;

struct history {
    struct event **ring; /* owned, allocated at the first push, refs held; NULL: empty */
    uint32_t cap;        /* events kept at most; 0 keeps nothing */
    uint32_t head;       /* the oldest */
    uint32_t len;
};

void history_init(struct history *h, unsigned cap);
/* Keeps e (taking a reference of its own) as the newest. Returns the event that falls off
 * the other end, whose reference the caller drops (event_unref()), preferably once it has
 * released its locks; or NULL. With cap 0, keeps nothing and returns NULL. */
struct event *history_push(struct history *h, struct event *e);
/* Copies the events, oldest first, into out (room for history_len() of them), taking a
 * reference to each; returns how many. */
size_t history_copy(const struct history *h, struct event **out);
/* Forgets every event, dropping their references. */
void history_clear(struct history *h);
size_t history_len(const struct history *h);
/* Drops the references of n copied events. */
void history_drop(struct event **e, size_t n);

#endif
