/* room.h - the rooms: their names, who is in which, and what is told when that changes.
 *
 * The presence layer, with registry.c: above the order (broadcast.h), below the protocols.
 * A person is in exactly one room at a time; a chat line goes to its sender's room only.
 * Rooms live in a fixed table of --max-rooms slots, allocated before the loops start and
 * freed after they stop, so an event in flight may name its room by slot without holding
 * it: a slot is reused only for a room nobody is in, and everyone who enters the new room
 * does so after, in the order, every event meant for the old one.
 *
 * Locks, in the only order they nest: rooms_lock (here), then broadcast.c's order lock,
 * then a loop's inbox lock; rooms_lock, then registry_lock; rooms_lock, then owners.c's
 * lock. rooms_lock guards a room's
 * name, people and their count, and is held while a change to them is published, so that
 * arrivals and departures are told in the same order as the changes to the lists /who
 * reads. Entering a room is itself in the order (broadcast_move()): the mover receives
 * every event of its old room before the move, then the new room's history as it stood at
 * that point, then every later event of the new room, nothing missed, nothing twice.
 *
 * Who may enter an owned room, and what its view shows of its topic and operators, is
 * owners.h's: room.c asks it under rooms_lock (owners' lock nests inside).
 *
 * What is told is events (event.h), never sentences: how each is shown is the protocols'.
 */
#ifndef CAUSERIE_ROOM_H
#define CAUSERIE_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/proto.h"
#include "event.h"

struct person;
struct room;

/* The room everyone starts in, without its '#'. */
#define ROOM_DEFAULT_NAME PROTO_DEFAULT_ROOM
/* Bytes in a room's name or key: 32 characters (pseudo.h's rules) of up to 4 bytes. */
#define ROOM_NAME_MAX 128

/* A room as it stood at one moment: what a move into it, /who, or the operator's /who
 * show. Owned by whoever asked for it; room_view_release() frees what it holds. */
struct room_view {
    char name[ROOM_NAME_MAX + 1]; /* without '#' */
    uint32_t count;               /* people in the room */
    uint32_t named;               /* pseudos in names: all of them, or the most asked for */
    char *names;                  /* owned: the pseudos, one space between each, an
                                   * operator's after '@'; "" if none */
    size_t names_len;
    char *topic;                 /* owned: "" for none */
    bool topic_only;             /* an arrival without a view asked for: only the topic is shown */
    bool sent_out;               /* the mover was sent out of its old room, and told so by that
                                  * event: a protocol adds no leaving of its own */
    uint32_t here;               /* room_view_here()'s: the people of this server in the room */
    char key[ROOM_NAME_MAX + 1]; /* room_view_here()'s: the room's folded name */
};
void room_view_release(struct room_view *v);

/* One room of the list /rooms gives. */
struct room_entry {
    char name[ROOM_NAME_MAX + 1];
    uint32_t count;
    char *topic; /* owned: "" for none */
};

/* Main thread, before the loops start: the table of max_rooms slots; joins and leaves are
 * told while a room holds at most announce_max people (0: always). The default room is
 * created, in slot 0. */
void room_init(unsigned max_rooms, size_t announce_max);
/* Main thread, after the loops stopped. */
void room_shutdown(void);

/* The number of slots: the most rooms at once. */
unsigned room_count_max(void);
/* Whether a join or leave is told to the others when a room (or the server) holds
 * `people`, the one arriving or leaving included. */
bool room_announced(size_t people);

/* The slot, the name and the key (folded name) of room r. A person in r may read them
 * without a lock: a room's name changes only while nobody is in it. */
uint16_t room_slot(const struct room *r);
const char *room_name(const struct room *r);
const char *room_key(const struct room *r);
/* Whether r is the default room; its key. */
bool room_is_default(const struct room *r);
const char *room_default_key(void);

/* The person p, whose pseudo was just accepted and whose member is p->member, enters the
 * room named room if it exists and lets p in (the room it had on another connection), else
 * the default room (room NULL too): it is listed there, the others in it are told, and its
 * history is on its way. With view_names > 0, the move also carries the room's view,
 * naming that many people at most, for the moved handler; else a view with only the topic
 * (topic_only) when the room is owned. p's loop thread. */
void room_arrive(struct person *p, const char *room, size_t view_names);
/* How a /join went, when it went. */
enum room_joined {
    ROOM_JOINED,      /* p is in the room */
    ROOM_FOUNDED,     /* p created the room, and owns it: p is logged in to an account */
    ROOM_NOT_FOUNDED, /* p created the room, but founds too many rooms to own it */
};
/* /join: p moves to the room named name (len bytes, '#' optional), created on first
 * entry, with the room's view as in room_arrive(). Returns an enum room_joined and the
 * room's name in name_out; or -EALREADY (p is in it; its name in name_out), -EINVAL (no
 * room can have that name), -EAGAIN (p has too many moves on their way), -ENOSPC (every
 * room has people and the table is full), -EACCES (p is banned from it), -EPERM (it is
 * invite-only and p was not invited); the room's name in name_out for these two, which
 * are checked before the room takes a slot. An administrator enters any room. p's loop
 * thread. */
int room_join(struct person *p, const char *name, size_t len, size_t view_names,
              char name_out[ROOM_NAME_MAX + 1]);
/* An operator of the room whose key is room sent p out: if p is still in it, p goes back
 * to the default room, and everyone in the old room, p too, is told who sent it and why
 * (by, a pseudo; reason, len bytes, sanitised, may be empty). With spare_operators, an
 * operator of the room or an administrator stays. Returns 0, or -ENOENT if p is in
 * another room now, or in the default one, or was spared. p's loop thread. */
int room_send_out(struct person *p, const char *room, const char *by, const char *reason,
                  size_t len, bool spare_operators);
/* Calls fn, with a reference it takes over, for each person in the room whose key is room
 * who comes from host (person_host()). fn runs without the lock. Any thread. */
void room_each_from(const char *room, const char *host, void (*fn)(struct person *p, void *ctx),
                    void *ctx);
/* Whether person p is in the room whose key is room now. Any thread. */
bool room_holds(const char *room, const struct person *p);
/* Tells everyone in p's room that p set its topic to text (len bytes, sanitised). p's
 * loop thread, once owners.h has the new topic. */
void room_tell_topic(struct person *p, const char *text, size_t len);
/* p leaves the server: it is taken off its room's list and members, and, with tell and
 * within the announcement limit, the others in the room are told with an event of kind
 * (EVENT_QUIT or EVENT_KICK) carrying reason (len bytes, sanitised; may be empty). The
 * person stays p's owner's: the caller releases it afterwards. p's loop thread. */
void room_depart(struct person *p, enum event_kind kind, const char *reason, size_t len, bool tell);
/* /nick: gives p the pseudo as typed (key folded). Returns the new person (p's successor,
 * whose reference the caller now holds in p's stead) or NULL if someone else has key.
 * Everyone is told (within the announcement limit). p's loop thread. */
struct person *room_rename(struct person *p, const char *key, const char *pseudo, size_t len);

/* The view of the room named name (len bytes, '#' optional; len 0 for the room of p, or
 * the default room if p is NULL), naming at most max_names people (0: all) of this
 * server; in a cluster its count has the others' people too, as their heartbeats last
 * said. Returns 0; -EINVAL for a name that no room can have; -ENOENT if no room has it.
 * Any thread, holding no lock. */
int room_view_here(const char *name, size_t len, const struct person *p, size_t max_names,
                   struct room_view *out);
/* Adds to v (room_view_here()'s) what the other servers answered: count people in all,
 * names (len bytes, each after a space; cluster_ask_names()'s). Any thread. */
void room_view_add_others(struct room_view *v, uint32_t count, const char *names, size_t len);
/* room_view_here(), then the other servers asked and waited for (0.5 s at most) in a
 * cluster: for a thread that may wait, not a loop's. */
int room_view_of(const char *name, size_t len, const struct person *p, size_t max_names,
                 struct room_view *out);
/* The rooms in use, largest first, then by name, with their topics: an array the caller
 * frees with room_list_free(); *n is set. Any thread. */
struct room_entry *room_list(size_t *n);
/* For the other servers of a cluster (cluster.h's handlers): this server's people in the
 * room whose key is room_key, "COUNT\n" then at most limit pseudos; and each room with
 * people, "COUNT NAME\n". Any thread. */
void room_names_here(const char *room_key, size_t limit, struct buf *out);
void room_summary(struct buf *out);
void room_list_free(struct room_entry *rooms, size_t n);

/* Puts an event read from the store back in the history of the room named name (len
 * bytes), at its place seq in the order, creating the room (empty) if need be: fills f's
 * room and where, makes the event and hands it to the order. Main thread, before the loops
 * start. Returns false if the name is not one a room can have. */
bool room_restore(const char *name, size_t len, struct event_fields *f, uint64_t seq);
/* With a cluster (broadcast.h's locate handler): calls place(slot, ctx) for the room
 * named where (len bytes, without '#'), made empty if this server has no such room, or
 * with -1 if the name is not a room's or the table is full; under rooms_lock, so that the
 * slot keeps its room until the event placed in it has its place in the order. The
 * engine's thread. */
void room_locate(const char *where, size_t len, void (*place)(int slot, void *ctx), void *ctx);
/* Makes an owned room (owners.h), empty, named name, take a slot if one is free, so that
 * /rooms lists it after a restart. Main thread, before the loops start. */
void room_restore_owned(const char *name);

#endif
