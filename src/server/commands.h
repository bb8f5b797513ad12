/* commands.h - the /command table and its handlers.
 *
 * Loop thread only, called by session.c with a joined client's sanitised line that starts
 * with a single '/'. Each command has one line of French help, which /help lists.
 */
#ifndef CAUSERIE_COMMANDS_H
#define CAUSERIE_COMMANDS_H

#include <stddef.h>

struct client;

/* Runs the command in line[0..len) (line[0] == '/'); an unknown one gets an error reply.
 * May close c. */
void commands_run(struct client *c, const char *line, size_t len);

#endif
