/* outbox.c - the paced queue of lines to send; see outbox.h for the contract.
 *
 * Client thread only. The queue is a ring of items that grows by the tree's one rule
 * (grow_capacity()); its length is bounded by what the user types or pastes, and by chat.c,
 * which stops taking piped input while many lines wait. flush() sends every line whose
 * turn has come, then arms the timer for the next one; the send callback may push more
 * lines or stop the outbox (a failed write closes the connection), so the loop re-reads the
 * state after every call. Time is uv_hrtime(), in microseconds: pacing must not depend on
 * the loop's cached clock.
 */
#include "outbox.h"

#include <stdlib.h>

#include "common/xalloc.h"

static void flush(struct outbox *o);

static void on_turn(uv_timer_t *t)
{
    flush(t->data);
}

static uint64_t hrtime_us(void)
{
    return uv_hrtime() / 1000;
}

void outbox_init(struct outbox *o, uv_loop_t *loop, unsigned burst, unsigned rate)
{
    *o = (struct outbox){.now_us = hrtime_us};
    pace_init(&o->pace, burst, rate);
    uv_timer_init(loop, &o->timer);
    o->timer.data = o;
}

static void changed(struct outbox *o)
{
    if (o->on_change) {
        o->on_change(o->len);
    }
}

/* Makes room for one more item. A ring cannot be grown in place (its items may wrap past
 * the end), so the items move to a new array, oldest first. */
static void make_room(struct outbox *o)
{
    size_t cap = grow_capacity(o->cap, o->len + 1, 16);
    if (cap == o->cap) {
        return;
    }
    struct outbox_item *items = xreallocarray(NULL, cap, sizeof(*items));
    for (size_t i = 0; i < o->len; i++) {
        items[i] = o->items[(o->head + i) % o->cap];
    }
    free(o->items);
    o->items = items;
    o->cap = cap;
    o->head = 0;
}

void outbox_push(struct outbox *o, char *line, int tag, bool free_ride)
{
    make_room(o);
    o->items[(o->head + o->len++) % o->cap] =
        (struct outbox_item){.line = line, .tag = tag, .free_ride = free_ride};
    if (o->running && !o->sending && o->len == 1) {
        flush(o); /* nothing was waiting: it may go now */
    }
    if (o->len > 0) {
        changed(o);
    }
}

void outbox_push_front(struct outbox *o, char *line, int tag)
{
    make_room(o);
    o->head = (o->head + o->cap - 1) % o->cap;
    o->items[o->head] = (struct outbox_item){.line = line, .tag = tag};
    o->len++;
    if (o->running && !o->sending) {
        uv_timer_stop(&o->timer);
        flush(o); /* it may go now; if not, the timer is armed for it */
    }
    changed(o);
}

/* Sends lines while their turn has come; arms the timer for the next one. */
static void flush(struct outbox *o)
{
    bool sent = false;
    o->sending = true;
    while (o->running && o->len > 0) {
        struct outbox_item *it = &o->items[o->head];
        uint64_t now = o->now_us();
        if (!it->free_ride && !pace_take(&o->pace, now)) {
            uint64_t wait_ms = (pace_wait_us(&o->pace, now) + 999) / 1000;
            uv_timer_start(&o->timer, on_turn, wait_ms, 0);
            break;
        }
        struct outbox_item item = *it;
        o->head = (o->head + 1) % o->cap;
        o->len--;
        sent = true;
        o->on_send(item.line, item.tag);
        free(item.line);
    }
    o->sending = false;
    if (sent) {
        changed(o);
    }
}

void outbox_start(struct outbox *o)
{
    pace_reset(&o->pace);
    o->running = true;
    flush(o);
}

void outbox_stop(struct outbox *o)
{
    o->running = false;
    uv_timer_stop(&o->timer);
}

size_t outbox_waiting(const struct outbox *o)
{
    return o->len;
}

void outbox_close(struct outbox *o)
{
    outbox_stop(o);
    while (o->len > 0) {
        free(o->items[o->head].line);
        o->head = (o->head + 1) % o->cap;
        o->len--;
    }
    free(o->items);
    o->items = NULL;
    o->cap = 0;
    if (!uv_is_closing((uv_handle_t *)&o->timer)) {
        uv_close((uv_handle_t *)&o->timer, NULL);
    }
}
