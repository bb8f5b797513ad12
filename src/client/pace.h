/* pace.h - the client's side of flood control: when the next line may be sent.
 *
 * Pure: no I/O, no clock of its own (callers pass the time), so unit tests drive it. The
 * server refuses lines past --flood-burst at once, then --flood-rate per second (a token
 * bucket in its GCRA form, src/server/session.c); the client paces what it sends with the
 * same bucket so that a paste or a piped file is never refused. It keeps one line of the
 * allowance in reserve: a line delayed on the way, or read by a server whose clock lags a
 * few milliseconds, then still finds room. Used by outbox.c only.
 */
#ifndef CAUSERIE_PACE_H
#define CAUSERIE_PACE_H

#include <stdbool.h>
#include <stdint.h>

struct pace {
    uint64_t interval_us; /* between two lines once the burst is used up; 0: no pacing */
    uint64_t ahead_us;    /* how far tat may run ahead of now for a line to go */
    uint64_t tat_us;      /* when the allowance would be whole again */
};

/* burst lines at once, then rate per second, as the server's options say; a rate or burst
 * of 0 turns pacing off. The allowance starts whole. */
void pace_init(struct pace *p, unsigned burst, unsigned rate);
/* The allowance is whole again: the server gives a whole one on each join. */
void pace_reset(struct pace *p);
/* True if a line may go at now_us; it is then counted. */
bool pace_take(struct pace *p, uint64_t now_us);
/* Microseconds from now_us until pace_take() will say yes; 0 if it would now. */
uint64_t pace_wait_us(const struct pace *p, uint64_t now_us);

#endif
