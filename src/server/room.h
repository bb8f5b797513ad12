/* room.h - the rooms: who is in which, each room's history, and moving between them.
 *
 * A person is in exactly one room at a time; a message goes to its sender's room only.
 * Rooms live in a fixed table of --max-rooms slots, allocated before the loops start and
 * freed after they stop, so a message in flight may point at its room without holding
 * it: a slot is reused only for a room nobody is in, and everyone who enters the new room
 * does so after, in the total order, every message meant for the old one.
 *
 * Locks, in the only order they nest: rooms_lock (here), then broadcast.c's order lock,
 * then a loop's inbox lock; rooms_lock, then registry_lock. rooms_lock guards a room's
 * name, people and their count, and is held while a change to them is published, so that
 * the notices of arrivals and departures come in the same order as the changes to the
 * lists /who reads. The order lock guards the history ring. A room's members on loop L,
 * the clients that fan-out gives its messages to, are loop L's alone and take no lock.
 *
 * Entering a room is in the total order: the move is stamped like a message and posted
 * to the client's own loop, which moves the client between member sets when it runs the
 * entry, in order. The client therefore receives every message its old room got before
 * the move, then the room's history as it stood at that point, then every later message
 * of the new room: nothing missed, nothing twice.
 */
#ifndef CAUSERIE_ROOM_H
#define CAUSERIE_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client_set.h"
#include "common/buf.h"
#include "history.h"

struct client;
struct history_record;
struct loop;
struct msg;

/* The room everyone starts in, without its '#'. */
#define ROOM_DEFAULT_NAME "général"
/* Bytes in a room's name or key: 32 characters (pseudo.h's rules) of up to 4 bytes. */
#define ROOM_NAME_MAX 128
/* A client in no room's member set yet (struct client's recv_room). */
#define ROOM_NONE 0xFFFF
/* People named at most by a "=" line (docs/PROTOCOL.md): a line of 500 pseudos is at most
 * 64 KiB, which any client reads in one go, and the count before them says if more are in. */
#define ROOM_WHO_MAX 500

struct room {
    uint16_t slot; /* its place in the table; immutable */
    /* rooms_lock. name and key are written only while nobody is in the room, so whoever is
     * in it (a client sending to it) may read them without the lock. */
    bool in_use;
    char name[ROOM_NAME_MAX + 1]; /* as its first visitor typed it, without '#' */
    char key[ROOM_NAME_MAX + 1];  /* folded, to compare */
    struct person **who;          /* owned array of borrowed people: who is in the room */
    uint32_t count, who_cap;      /* people in who, and room for them */
    uint64_t emptied;             /* when the last person left, on a counter: for reuse */
    struct history history;       /* the order lock (broadcast.c) */
    struct client_set members[];  /* members[i]: the room's clients on loop i; loop i's */
};

/* Main thread, before the loops start: the table of max_rooms slots for n_loops loops,
 * each room keeping history_size lines (0: none), joins and leaves announced while a
 * room holds at most announce_max people (0: always). The default room is created. */
void room_init(unsigned max_rooms, unsigned n_loops, unsigned history_size, size_t announce_max);
/* Main thread, after the loops stopped. */
void room_shutdown(void);

/* The table, for fan-out of messages meant for everyone. Immutable after room_init(). */
unsigned room_slot_count(void);
struct room *room_at(unsigned slot);
struct room *room_default(void);
/* The clients of room r on loop number loop: loop thread `loop` only. */
static inline struct client_set *room_members(struct room *r, unsigned loop)
{
    return &r->members[loop];
}

/* The client c (its handshake just succeeded, c->person set) enters the default room: it
 * is listed there, the others in it are told (within announce_max), and its history is on
 * its way. Loop thread. */
void room_arrive(struct client *c);
/* /join: c moves to the room named name (len bytes, '#' optional), created on first
 * entry. The client is told, or told why not; c's room is the new one from now on for what
 * it sends. Loop thread. */
void room_join(struct client *c, const char *name, size_t len);
/* c leaves the server: it is taken off its room's list and member set, and the others in
 * the room receive notice (its reference passes to this function), if announced and not
 * NULL. The person stays c's: the caller releases it afterwards. Loop thread. */
void room_depart(struct client *c, struct msg *notice);
/* /nick: gives c the pseudo as typed (key folded). Returns 0; or -EEXIST if someone else
 * has key, and nothing changes. Everyone is told (within announce_max). Loop thread. */
int room_rename(struct client *c, const char *key, const char *pseudo, size_t len);

/* Whether a join or leave is told to the others when a room (or the server) holds
 * `people`, the one arriving or leaving included. */
bool room_announced(size_t people);

/* Appends the "= #ROOM COUNT : PSEUDO ..." line for the room named name (len bytes, '#'
 * optional; len 0 for c's own room, and c must then not be NULL) to out, '\n' included.
 * Returns 0; -EINVAL for a name that no room can have; -ENOENT if no room has it. Any
 * thread. */
int room_who_line(const struct client *c, const char *name, size_t len, struct buf *out);
/* The operator's view of a room (len 0: the default room), in French, '\n'-terminated.
 * Same results as room_who_line(). Any thread. */
int room_who_text(const char *name, size_t len, struct buf *out);
/* The rooms with their counts, largest first, as the lines after "+ N salons :" (or
 * "salon"): "* #ROOM : K personnes\n" each; returns the number of rooms. Any thread. */
size_t room_list_lines(struct buf *out);
/* The same for the operator: "#ROOM : K personnes\n" each. Any thread. */
size_t room_list_text(struct buf *out);

/* Puts a kept record read from the history file back in its room's history, creating the
 * room (empty) if need be. Main thread, before the loops start. Returns false if the room
 * name is not one a room can have. */
bool room_restore(const struct history_record *r);
/* Calls fn for every line kept in every room, oldest first within each room: what the
 * history file is compacted to at start. Main thread, before the loops start. */
void room_each_kept(void (*fn)(const struct room *r, const struct history_entry *e, void *ctx),
                    void *ctx);

/* A move in flight from room.c to the client's own loop (INBOX_MOVE). */
struct room_move {
    struct client *c;  /* borrowed: its moves_pending keeps it allocated */
    struct room *to;   /* never freed before the loops stop */
    struct msg *intro; /* ref held: "+ Vous êtes maintenant dans..." and the "=" line; or NULL */
    size_t n;          /* entries in hist */
    struct history_entry *hist; /* owned, refs held (NULL if n is 0): the room's history at
                                 * the move, oldest first */
};
/* Runs a move on c's loop l: c joins the new room's member set, receives intro and the
 * history, then the room's live messages. Frees mv; may free c, if it was closed meanwhile. */
void room_move_run(struct loop *l, struct room_move *mv);
/* Drops a move that will not run (the loop is stopping). Same thread rules as run. */
void room_move_drop(struct room_move *mv);

#endif
