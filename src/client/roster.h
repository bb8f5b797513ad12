/* roster.h - who is in our room, and which room, as the server's event lines tell it.
 *
 * Pure: fed every server line, it keeps the room we are in and the pseudos in it, from the
 * lines the events capability brings (docs/PROTOCOL.md, "Events"): '#' puts us in a room,
 * '=' gives its whole list, '^' and '-' bring and take one person, '|' renames one. It
 * never reads a French sentence, never asks for anything, and without the capability it
 * stays empty. Names and rooms are compared as the server compares them (pseudo_equal()).
 * Tab (complete.c) and the status read it; chat.c feeds it. Client thread only.
 */
#ifndef CAUSERIE_ROSTER_H
#define CAUSERIE_ROSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/proto.h"

/* Names kept at most: a room larger than this (a server's --max-clients is 10,000 by
 * default) is counted whole, and completion knows the first ones only. It bounds what a
 * server sending arrival after arrival can make the client hold. */
#define ROSTER_NAMES_MAX 10000

struct roster {
    char *room;     /* owned: our room's name without '#'; NULL until a '#' line came */
    char **names;   /* owned array of owned pseudos, as the server wrote them */
    size_t n, cap;  /* names held; a "=" line names at most PROTO_WHO_MAX of a larger room */
    unsigned count; /* people in the room, as the last "=" line and the events since say */
    bool listed;    /* a "=" line for this room came since we entered it */
};

/* What one server line told the roster. */
struct roster_update {
    bool changed;               /* the room, the names or the count changed */
    bool renamed_self;          /* a '|' line renamed us: new_self is our pseudo now */
    struct proto_span new_self; /* points into the line given */
};

void roster_init(struct roster *r);
void roster_release(struct roster *r);

/* Takes one server line into account. self is our pseudo (NULL if none yet), to know a
 * change of pseudo as ours: then renamed_self is set, whether or not we are listed. A line
 * of another kind, about another room, or not of its kind's form changes nothing. */
struct roster_update roster_on_line(struct roster *r, const char *line, size_t len,
                                    const char *self);
/* Whether name (len bytes) is in the room, without case. */
bool roster_has(const struct roster *r, const char *name, size_t len);

#endif
