/* client_set.h - an array of clients in which each client knows its own index.
 *
 * The sets a loop walks: its clients with output pending or with a deadline (loop.c), and
 * the members of each room on that loop (room.c), which fan-out walks for every message,
 * so it is an array for cache-friendly walks of 100,000 clients. A client keeps its index
 * in the set in a field of its own, which makes removal O(1): the last client moves into
 * the hole. The set borrows its clients. One thread only: the loop that owns the clients.
 */
#ifndef CAUSERIE_CLIENT_SET_H
#define CAUSERIE_CLIENT_SET_H

#include <stdint.h>

struct client;

#define CLIENT_NO_INDEX UINT32_MAX

struct client_set {
    struct client **items; /* owned array; the clients are borrowed */
    uint32_t len, cap;
};

/* Adds c, whose index field is *index (CLIENT_NO_INDEX: c is in no such set), and stores
 * its place there. */
void client_set_add(struct client_set *s, struct client *c, uint32_t *index);
/* Removes the client whose index field is *index, and sets that to CLIENT_NO_INDEX; the
 * last client takes its place, and index_of(that client) says where it keeps its index. */
void client_set_remove(struct client_set *s, uint32_t *index,
                       uint32_t *(*index_of)(struct client *));
void client_set_release(struct client_set *s);

#endif
