/* away.h - who is away, and what they said they are doing: IRC's AWAY.
 *
 * The presence layer, beside registry.c. An IRC client that says AWAY is shown away to
 * whoever asks about it (WHOIS, WHO, a private message to it) until it says AWAY again
 * without a text, renames or leaves. Only this server's people: in a cluster, the others'
 * are never away (docs/IRC.md). Few people are away at once compared with those joined, so
 * this is a table of its own rather than a field every person would carry
 * (docs/PERFORMANCE.md counts a person's bytes).
 *
 * Any thread: one mutex, held for a look-up and a copy, never across I/O.
 */
#ifndef CAUSERIE_AWAY_H
#define CAUSERIE_AWAY_H

#include <stdbool.h>
#include <stddef.h>

struct person;

/* The longest away text kept, in bytes (ISUPPORT's AWAYLEN); a longer one is cut at a
 * character boundary. */
#define AWAY_MAX 300

/* Main thread, before the loops start / after they stop (what is left is dropped). */
void away_init(void);
void away_shutdown(void);

/* Person p is away with text (len bytes, sanitised; cut to AWAY_MAX), or back with len 0.
 * While away, the table holds a reference to p, so that its address names nobody else. */
void away_set(struct person *p, const char *text, size_t len);
/* Whether p is away; if so its text, NUL-terminated, in out (size bytes, AWAY_MAX + 1 holds
 * any). */
bool away_get(const struct person *p, char *out, size_t size);

#endif
