/* room.h - the rooms: who is in which, and each room's recent history.
 *
 * A room is shared by every loop thread. Its name, member count, member list (for /who)
 * and history ring are under the rooms' mutex, held for look-ups and list updates, never
 * across I/O. Its recipients are split by loop: each loop thread reads and changes only
 * its own slot, members[loop->index], without a lock, which is what keeps the broadcast
 * path as it was. A room is reference-counted: its members, the messages in flight to it
 * and the loops with members in it hold it, so a room freed while a message is on its
 * way to it cannot happen.
 */
#ifndef CAUSERIE_ROOM_H
#define CAUSERIE_ROOM_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* The room everyone starts in, without its '#'. */
#define ROOM_DEFAULT_NAME "général"

/* Appends to out the operator's view of a room's members, in French, one or more lines
 * each ending with '\n': the room named name (len bytes, with or without '#'), or the
 * default room when len is 0. Returns 0, or -ENOENT (and appends nothing) if there is no
 * such room. Any thread. */
int room_who_text(const char *name, size_t len, struct buf *out);
/* Appends the list of rooms with their member counts, largest first, in French, one line
 * per room, each ending with '\n'. Any thread. */
void room_list_text(struct buf *out);

#endif
