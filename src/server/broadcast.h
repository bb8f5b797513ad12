/* broadcast.h - where a message gets its place in the order, and goes out to the loops.
 *
 * This is the cluster seam. Today the order is a counter under one mutex, the order lock,
 * and delivery is one inbox entry per loop thread, appended under that same lock, so every
 * loop (and so every client) sees messages in the same order. The lock also guards each
 * room's history, which a message joins as it gets its place, and the moves of clients
 * between rooms, which get places of their own: history and live messages then meet
 * exactly. Tomorrow broadcast_publish() appends to a cluster bus (NATS JetStream, Redis
 * Streams), the bus's order replaces the counter, and a consumer delivers what the bus
 * returns to the loops the same way. Nothing outside this file knows which.
 */
#ifndef CAUSERIE_BROADCAST_H
#define CAUSERIE_BROADCAST_H

#include <stddef.h>
#include <stdint.h>

struct history_file;
struct loop;
struct msg;
struct person;
struct room;
struct room_move;

/* Main thread, before the loops start; loops is borrowed until broadcast_shutdown(). With
 * file not NULL (--history-file, borrowed), every line kept in a room's history is also
 * appended to it. */
void broadcast_init(struct loop *loops, unsigned n_loops, struct history_file *file);
void broadcast_shutdown(void);

/* Gives m the next place in the total order and delivers it to the clients of room `to`
 * (NULL: of every room) but m->origin. A chat message or an action (a '>' or '&' line) for
 * a room is kept in its history, and in the history file. Takes over the caller's
 * reference. Any thread, under rooms_lock or not; makes no socket I/O and holds no lock
 * while waking the loops. */
void broadcast_publish(struct msg *m, struct room *to);

/* Gives a move its place in the order, copies its room's history as it stands at that
 * place into mv, and posts it to the loop of mv->c, which runs it there (room.c). The
 * owner loop's thread, under rooms_lock. */
void broadcast_move(struct room_move *mv);

/* Hands m to the loop of person p, for p's client alone (a private message), or, with
 * kick, to be told to that client before it is disconnected by the operator (m is then
 * the reason, as a "! " line). Takes over the caller's references to m and to p. Any
 * thread. */
void broadcast_to_person(struct person *p, struct msg *m, int kick);

/* The room's history: its length, forgetting it (a room given up), and putting a line
 * read from the history file back (main thread, before the loops start). Under
 * rooms_lock, or before the loops start. */
size_t broadcast_history_len(struct room *r);
void broadcast_forget(struct room *r);
void broadcast_restore(struct room *r, struct msg *m, int64_t time);

#endif
