/* broadcast.h - where a message gets its place in the order, and goes out to every loop.
 *
 * This is the cluster seam. Today the order is a counter under one mutex and delivery is
 * one inbox entry per loop thread, appended under that same mutex, so every loop (and so
 * every client) sees messages in the same order. Tomorrow broadcast_publish() appends to
 * a cluster bus (NATS JetStream, Redis Streams), the bus's order replaces the counter, and
 * a consumer delivers what the bus returns to the loops the same way. Nothing outside this
 * file knows which.
 */
#ifndef CAUSERIE_BROADCAST_H
#define CAUSERIE_BROADCAST_H

struct loop;
struct msg;

/* Main thread, before the loops start; loops is borrowed until broadcast_shutdown(). */
void broadcast_init(struct loop *loops, unsigned n_loops);
void broadcast_shutdown(void);

/* Gives m the next place in the total order and delivers it to every loop, which queue it
 * for all their joined clients but m->origin. Takes over the caller's reference. Any
 * thread; makes no socket I/O and holds no lock while waking the loops. */
void broadcast_publish(struct msg *m);

#endif
