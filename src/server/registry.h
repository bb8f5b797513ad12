/* registry.h - the people on the server: one person per joined client, found by pseudo.
 *
 * Part of the presence layer, with room.c. A person is claimed when a handshake succeeds
 * and released when its client leaves, so two clients can never hold the same
 * (case-folded) pseudo. The set is under one mutex, held only for a hash look-up and a
 * link, never across I/O; it is also the count of joined clients. A person is the one
 * handle on a connection that other threads may hold (for /msg, the operator's /kick): it
 * is reference-counted, and its member pointer is only ever used by the member's own loop
 * thread, on which the entry carrying the person runs. With a cluster bus, this is the
 * piece that becomes shared between servers.
 */
#ifndef CAUSERIE_REGISTRY_H
#define CAUSERIE_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct member;
struct room;

/* One joined client, as the rest of the server knows it. Allocated with its text inline:
 * one allocation per client, and kept small for that reason. */
struct person {
    struct person *next; /* the registry's chain; registry_lock */
    /* The owner loop's own: only that thread reads or writes them. */
    union {
        struct member *member;    /* !renamed: its connection; NULL once released */
        struct person *successor; /* renamed: the person it became (ref held), so that what
                                   * was on its way to the old pseudo still arrives */
    };
    /* room.c's, under its rooms_lock: this file never reads them. Kept here rather than in
     * a table of room.c's so that a person stays one allocation. The owner thread, the only
     * one that changes them, may read them without the lock. */
    struct room *room; /* where it speaks and is listed */
    /* The owner thread's, for session.c: /history reads the lines of its room below this
     * id, the oldest it was sent. Here rather than in the session, which every connection
     * has, joined or not: a person's allocation had room for it. */
    uint64_t history_from;
    atomic_uint refs;   /* the registry's, while claimed, plus one per holder */
    uint32_t who_index; /* its place in room's list of people */
    uint16_t loop;      /* index of the owner loop; immutable */
    uint8_t renamed;    /* owner thread: successor is set */
    uint8_t store_busy; /* owner thread, for session.c: a read of the store is on its way */
    uint8_t who_busy;   /* owner thread, for session.c: other servers are asked for /who */
    uint8_t logged_in;  /* owner thread, for login.c: proved its pseudo's password */
    uint8_t admin;      /* owner thread, for login.c: logged in as one of --admin */
    uint8_t key_apart;  /* immutable: the folded key differs from the pseudo, and follows it */
    /* The pseudo as typed, NUL, its folded key and NUL if key_apart, its host, NUL. A pseudo
     * typed as it folds (most are) is stored once: for pseudos of up to 10 bytes, that
     * keeps a person in an 80-byte malloc chunk rather than 96. */
    char text[];
};

/* The person p is now (p itself unless renamed, perhaps several times). p's owner thread. */
static inline struct person *person_current(struct person *p)
{
    while (p->renamed) {
        p = p->successor;
    }
    return p;
}

/* The pseudo as typed, valid for as long as a reference is held. */
static inline const char *person_pseudo(const struct person *p)
{
    return p->text;
}

/* p's pseudo folded: what is compared, and, for a person logged in, its account's key. */
static inline const char *person_key(const struct person *p)
{
    return p->key_apart ? p->text + strlen(p->text) + 1 : p->text;
}

/* The host p's connection came from when it claimed its pseudo (client_peer_host()): what
 * a ban by address names. Immutable, so any thread holding a reference may read it. */
static inline const char *person_host(const struct person *p)
{
    const char *last = person_key(p); /* the key, or the pseudo that is its key */
    return last + strlen(last) + 1;
}

void registry_init(void);
/* Frees the people still claimed; main thread, after the loops stopped. */
void registry_shutdown(void);

/* Claims key (a folded pseudo, pseudo_fold()) for pseudo, as typed, of pseudo_len bytes,
 * on behalf of member m on loop number loop, whose connection comes from host (its host
 * key, client_peer_host()). Returns the new person, holding the registry's reference, and
 * stores the number of people now on the server in *count; or returns NULL if key is
 * taken. Any thread. */
struct person *registry_claim(const char *key, const char *pseudo, size_t pseudo_len,
                              const char *host, unsigned loop, struct member *m, size_t *count);

/* Gives p's member the pseudo as typed (new key key): a new person takes p's place in the
 * registry, with p's member and loop (its room is room.c's to copy); p is unlinked and
 * becomes renamed, its successor the new person (person_current()), and the registry's
 * reference to it passes to the caller, who drops it (person_unref()) once nothing points
 * at p any more. key may be p's own: a change of case.
 * Returns the new person, or NULL (and changes nothing) if someone else holds key. p's
 * owner thread only, under rooms_lock (room.c), since the room's list points at p. */
struct person *registry_rename(struct person *p, const char *key, const char *pseudo,
                               size_t pseudo_len);

/* Releases a claim: p leaves the registry, its member is cleared, and the registry's
 * reference is dropped. p's owner thread. */
void registry_release(struct person *p);

/* The person holding key, with a reference for the caller, or NULL. Any thread. */
struct person *registry_find(const char *key);

/* Number of people on the server. Any thread. */
size_t registry_count(void);

/* Takes one more reference to p / drops one, freeing p with the last. Any thread. */
void person_ref(struct person *p);
void person_unref(struct person *p);

#endif
