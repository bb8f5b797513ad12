/* backoff.h - how long the client waits before trying to reconnect again.
 *
 * Pure: no clock, no timer, no state of its own, so unit tests drive it and any thread may
 * call it (only the client thread does). chat.c asks it for the next wait each time an
 * attempt fails and starts again from nothing once the chat is back: a server restarting
 * is found again within a second or two, and one down for an hour is asked twice a minute,
 * not hammered.
 */
#ifndef CAUSERIE_BACKOFF_H
#define CAUSERIE_BACKOFF_H

/* The first wait and the longest, in seconds: the wait doubles from one to the other. */
#define BACKOFF_FIRST_S 1
#define BACKOFF_MAX_S   30

/* The wait after one of prev_s seconds: BACKOFF_FIRST_S after 0 (nothing waited yet, the
 * connection was just lost), then twice the last one, at most BACKOFF_MAX_S. */
unsigned backoff_next(unsigned prev_s);

#endif
