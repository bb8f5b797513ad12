/* peers.h - the people of the whole cluster: pseudos claimed across servers, departures of
 * a dead server's people, and what this server's clients are told of the engine's link.
 *
 * The presence layer's half that speaks to the cluster (cluster.h): registry.c keeps the
 * people of this server, peers.c makes their pseudos unique across the cluster, keeps the
 * engine told of the room each is in (so that whoever outlives this server can announce
 * its people's departure to their rooms), announces the people of a server found dead,
 * and reads what the other servers hold of each room (counts from their heartbeats, names
 * by asking them). It keeps none of the other servers' people: a server's memory is its
 * own people's. Without --cluster, every function here does nothing and costs a branch.
 */
#ifndef CAUSERIE_PEERS_H
#define CAUSERIE_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Main thread, before the loops start: the cluster is in use; peers_shutdown(), after
 * cluster_close(), says it no longer is. */
void peers_init(void);
void peers_shutdown(void);
bool peers_clustered(void);

/* Claims the folded pseudo key for pseudo (as typed) across the cluster, once this server
 * gave it; room: the room it enters, without '#'. Returns 0; -EEXIST if someone on another
 * server holds it; -EIO if the engine cannot tell now. One round trip to the engine, on
 * the caller's thread. Any thread, holding no lock. */
int peers_claim(const char *key, const char *pseudo, const char *room);
/* The person of key is now in room: the engine is told, without waiting. Any thread. */
void peers_moved(const char *key, const char *pseudo, const char *room);
/* The person of key left this server: its pseudo is free again, without waiting. */
void peers_release(const char *key);

/* Whether someone on another server holds the folded pseudo key: 0, with the pseudo as
 * typed in pseudo (size bytes); -ENOENT if nobody; -EIO if the engine cannot tell. One
 * round trip. Any thread, holding no lock. */
int peers_find(const char *key, char *pseudo, size_t size);
/* As peers_find(), and whether that person is in the room whose folded name is room_key
 * (as its claim says: the last move its server published). */
int peers_find_in(const char *key, const char *room_key, char *pseudo, size_t size, bool *in_room);

/* How many people of the room whose key is room_key (folded name) the other servers hold,
 * as their last heartbeats said (a moment ago). No request: any thread, under rooms_lock
 * or not. */
uint32_t peers_count_in_room(const char *room_key);
/* The same, asked of the other servers now, with at most limit (SIZE_MAX: all) of their
 * pseudos appended to names, each after a space. Waits for their answers (about a round
 * trip; half a second at most): any thread, never under a lock. */
uint32_t peers_names_in_room(const char *room_key, struct buf *names, size_t limit);
/* Calls fn for each room the other servers' last heartbeats named: its name as shown
 * (len bytes, without '#') and how many people that server holds in it; a room held on
 * several servers comes once per server. Any thread, under rooms_lock or not. */
void peers_each_room(void (*fn)(const char *name, size_t len, uint32_t count, void *ctx),
                     void *ctx);

/* cluster.h's handlers: the engine's link changed; a dead node's person (value as
 * peers_claim() stored it) is announced gone to its room. */
void peers_link(bool up);
void peers_reaped(const char *value, size_t len);

#endif
