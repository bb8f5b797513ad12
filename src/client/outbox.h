/* outbox.h - lines waiting to be sent, in order, at the pace the server accepts.
 *
 * Client thread only, on its uv loop. Everything the client says in the chat goes through
 * here: typed lines, pasted ones, piped ones, its own /who. Each line waits its turn in a
 * queue (pace.h decides when the next may go) and is handed to the send callback, which
 * writes it. While the connection is down the outbox is stopped and the lines wait; they
 * go on after the next join, in the order they were given. The change callback hears the
 * number of lines waiting each time it changes, so that the user sees the pace.
 */
#ifndef CAUSERIE_OUTBOX_H
#define CAUSERIE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "pace.h"

/* Called with each line when its turn comes; line is borrowed for the call. tag is what
 * outbox_push() was given, for the caller to tell its kinds of lines apart. */
typedef void (*outbox_send_cb)(const char *line, int tag);
/* Called with the number of lines still waiting each time it changes. */
typedef void (*outbox_change_cb)(size_t waiting);

struct outbox_item {
    char *line; /* owned */
    int tag;
    bool free_ride; /* costs no allowance: /quit, which the server never refuses */
};

struct outbox {
    uv_timer_t timer; /* wakes the queue when the next line's turn comes */
    struct pace pace;
    struct outbox_item *items; /* owned ring of cap items */
    size_t head, len, cap;
    bool running; /* connected and joined: lines may go */
    bool sending; /* inside the send callback: no re-entry */
    outbox_send_cb on_send;
    outbox_change_cb on_change; /* optional */
    /* The clock pacing reads, in microseconds: uv_hrtime()'s, set by outbox_init(). A unit
     * test sets its own after outbox_init(), to say when each line may go without waiting
     * for the wall clock to say it. */
    uint64_t (*now_us)(void);
};

/* burst and rate as pace_init() takes them (0: no pacing). The outbox starts stopped. */
void outbox_init(struct outbox *o, uv_loop_t *loop, unsigned burst, unsigned rate);
/* Queues line (owned by the outbox from now on) after the others; sends it at once if its
 * turn has come. A free ride costs no allowance but still waits for the lines before it. */
void outbox_push(struct outbox *o, char *line, int tag, bool free_ride);
/* Queues line before all the others: what must go first after a reconnection (the /join
 * back to our room, before the lines typed meanwhile). Sends it at once if it may. */
void outbox_push_front(struct outbox *o, char *line, int tag);
/* The chat is on (just joined): a whole allowance, and the waiting lines start to go. */
void outbox_start(struct outbox *o);
/* The connection is gone: lines wait until the next outbox_start(). */
void outbox_stop(struct outbox *o);
size_t outbox_waiting(const struct outbox *o);
/* Drops every waiting line (the program is ending) and closes the timer. */
void outbox_close(struct outbox *o);

#endif
