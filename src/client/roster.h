/* roster.h - who is in our room, as the server's lines tell it: for completion and status.
 *
 * Pure: fed every server line, it keeps the room we are in and the pseudos in it, from
 * the "=" lines (the whole list) and the notices of arrivals, departures and changes of
 * pseudo in between, whose forms are stable (docs/PROTOCOL.md, "Rooms"). It never asks
 * for anything: chat.c sends the /who that fills it after the welcome. Names are compared
 * without case, as the server compares pseudos. Client thread only.
 */
#ifndef CAUSERIE_ROSTER_H
#define CAUSERIE_ROSTER_H

#include <stdbool.h>
#include <stddef.h>

struct roster {
    char *room;     /* owned: our room's name without '#'; NULL until known */
    char **names;   /* owned array of owned pseudos, as the server wrote them */
    size_t n, cap;  /* names held; a "=" line names at most 500 of a larger room */
    unsigned count; /* people in the room, as the last "=" line and notices since say */
    bool listed;    /* a "=" line for this room came since we entered it */
};

void roster_init(struct roster *r);
void roster_release(struct roster *r);

/* Takes one server line into account (our own pseudo is self: a change of it comes as a
 * reply, not as a notice). Returns true if the room, the names or the count changed. */
bool roster_on_line(struct roster *r, const char *line, size_t len, const char *self);
/* We are in room `room` (without '#'), nobody known in it yet. */
void roster_enter(struct roster *r, const char *room);
/* Whether name (len bytes) is in the room, without case. */
bool roster_has(const struct roster *r, const char *name, size_t len);

#endif
