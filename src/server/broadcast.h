/* broadcast.h - the order: where every event gets its place, and goes out to the loops.
 *
 * This is the cluster seam. Today the order is a counter under one mutex, the order lock,
 * and delivery is one inbox entry per loop thread, appended under that same lock, so every
 * loop (and so every client) sees events in the same order. The lock also guards what must
 * change in step with the order: each room's history, which an event joins as it gets its
 * place, and the moves of members between rooms, which get places of their own, so that
 * history and live events meet exactly. Each room's members on each loop, the sets that
 * fan-out walks, belong to that loop's thread and take no lock. Tomorrow
 * broadcast_publish() appends to a cluster bus (NATS JetStream), the bus's order replaces
 * the counter, and a consumer delivers what the bus returns to the loops the same way.
 * Nothing outside this file knows which.
 *
 * Rooms are numbered by slot here (0 .. n_rooms - 1); their names and people are the
 * presence layer's (room.h). Fan-out renders an event once per rendering its recipients
 * read (event.h) and queues that one message for all of them.
 */
#ifndef CAUSERIE_BROADCAST_H
#define CAUSERIE_BROADCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

struct event;
struct store;
struct loop;

/* A connection as the order knows it: one that may be among a room's members. Embeds its
 * connection first; the layer above embeds the member first in turn. */
struct member {
    struct client conn; /* first */
    uint32_t index;     /* place among its room's members on its loop, or SET_NO_INDEX */
    uint16_t room;      /* slot of the room whose members it is among, or EVENT_NO_ROOM */
    uint8_t rendering;  /* the rendering of events it is sent (event.h) */
    uint8_t gone : 1;   /* left: the moves still on their way to it do nothing */
    /* It is sent the topics it sets (EVENT_TOPIC), and with sees_own_lines its own chat
     * lines and actions, as the others are, in their place in the order: a protocol whose
     * clients wait for those echoes (IRC, and its echo-message) sets them. */
    uint8_t sees_own_topic : 1;
    uint8_t sees_own_lines : 1;
};

/* The layer above, called on the member's loop thread. */
struct broadcast_handlers {
    /* A move has run: m is now among its room's members and receives its live events;
     * note is what the mover passed to broadcast_move(), history the room's kept events as
     * they stood at the move's place in the order, oldest first (borrowed for the call),
     * seq that place: every event published before the move has a lower seq. */
    void (*moved)(struct member *m, void *note, struct event *const *history, size_t n,
                  uint64_t seq);
    /* With a cluster: calls place(slot, ctx) for the room named where (len bytes), made
     * (empty) if this server has none, or with -1 if the table of rooms is full, while
     * holding the lock under which room slots change hands. The engine's thread. */
    void (*locate)(const char *where, size_t len, void (*place)(int slot, void *ctx), void *ctx);
    /* With a cluster: e (a reference passed over), for one person, the pseudo `to`, if
     * that person is on this server. The engine's thread. */
    void (*to_person)(struct event *e, const char *to);
};

/* Main thread, before the loops start: n_rooms slots of history_size events each, for
 * n_loops loops; h is static. */
void broadcast_init(unsigned n_loops, unsigned n_rooms, unsigned history_size,
                    const struct broadcast_handlers *h);
/* Main thread, once the loops exist and the history is restored; loops is borrowed until
 * broadcast_shutdown(). With store (borrowed; may be NULL), every kept event is also
 * handed to it, and the order goes on above the last line it holds. */
void broadcast_start(struct loop *loops, struct store *store);
/* Main thread, after the loops have been joined. */
void broadcast_shutdown(void);

/* Sets up the order's part of m (its connection is the caller's): in no room, sent
 * rendering 0. */
void member_init(struct member *m);

/* Gives e the next place in the order and delivers it to the members of room e->room (of
 * every room for EVENT_ALL_ROOMS) but its origin. A chat line or an action is kept in its
 * room's history (and the history file, under e->where). Takes over the caller's
 * reference. Any thread, under rooms_lock or not; makes no socket I/O and holds no lock
 * while waking the loops. With a cluster, e is published to the engine instead, and is
 * delivered when it comes back in the stream (broadcast_from_cluster()), its own server
 * included; what only this server's clients hear (EVENT_SHUTDOWN, EVENT_LINK_*) is ordered
 * here. Returns 0, or -EAGAIN when the engine is out of reach and its backlog is full:
 * the event is dropped, and the caller tells whoever sent it. */
int broadcast_publish(struct event *e);

/* With a cluster: publishes e, an event for one person (EVENT_PRIVATE, EVENT_INVITE), to
 * whichever server has the pseudo `to`, through the engine; as broadcast_publish(). */
int broadcast_publish_to(struct event *e, const char *to);
/* Main thread, before the loops start: the order is the cluster's (cluster.h) from now on.
 * max_text: the longest text a node may send (--max-line). */
void broadcast_use_cluster(size_t max_text);
/* An event of the cluster's stream, in the stream's order, at its place seq; replay: one
 * that was in the stream before this server joined, kept as history and not delivered.
 * The engine's delivery thread (cluster.h's event handler). */
void broadcast_from_cluster(const void *data, size_t len, uint64_t seq, bool replay);

/* Whether m may be moved once more now: each move holds its connection until it runs. */
bool broadcast_can_move(const struct member *m);
/* Moves m to room `to`: gives the move its place in the order, copies the room's history
 * as it stands at that place, and posts it to m's loop, where m leaves its room's members
 * and joins the new one's, in order, and the moved handler runs with note. free_note(note)
 * is called afterwards, or instead if the move never runs (m left, the loop stopped).
 * m's loop thread, under rooms_lock. */
void broadcast_move(struct member *m, uint16_t to, void *note, void (*free_note)(void *note));
/* The loop l stops: the moves of its members still waiting for their place in the
 * cluster's stream are dropped. l's thread, before its clients are closed. */
void broadcast_stop_loop(struct loop *l);
/* m leaves: it stops being among its room's members now, and the moves still on their way
 * to it do nothing. m's loop thread. */
void broadcast_depart(struct member *m);

/* A room's history: its length, forgetting it (a room given up). Under rooms_lock, or
 * before the loops start. */
size_t broadcast_history_len(uint16_t room);
void broadcast_forget(uint16_t room);
/* Puts an event read from the store back into its room's history, at its place seq in
 * the order (the event's reference passes to this function); the order goes on above it.
 * Main thread, before the loops start. */
void broadcast_restore(uint16_t room, struct event *e, uint64_t seq);

#endif
