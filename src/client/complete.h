/* complete.h - what Tab offers: pseudos of our room and commands, as the line calls for.
 *
 * Pure: given the line being typed and where the word to complete starts and ends, it
 * lists the candidates; tty.c hands them to readline, which inserts the common part or
 * shows them all. The first word of a line completes a pseudo as "pseudo:", so that one
 * Tab and a space address someone, as in irssi; a first word starting with '/' completes
 * a command; after "/msg " a pseudo alone; anywhere else a pseudo alone. Pseudos are
 * matched without case, our own left out. Client thread only.
 */
#ifndef CAUSERIE_COMPLETE_H
#define CAUSERIE_COMPLETE_H

#include <stddef.h>

struct roster;

/* The commands Tab completes, sorted: the client's own, the server's (docs/PROTOCOL.md),
 * and those its accounts, history search and room operators will bring (/register,
 * /password, /unregister, /history, /search, /topic, /op, /deop, /ban, /unban, /invite,
 * /mode, /kick): completing a command the server does not know yet costs nothing, and it
 * answers that it does not know it. */
extern const char *const complete_commands[];

struct complete_list {
    char **items; /* owned array of owned strings */
    size_t n, cap;
};

/* Fills out (empty) with the candidates for line[start..end), the word under the cursor,
 * in the order they should be shown. self (may be NULL) is never offered. */
void complete_candidates(const char *line, size_t start, size_t end, const struct roster *r,
                         const char *self, struct complete_list *out);
void complete_list_release(struct complete_list *l);

#endif
