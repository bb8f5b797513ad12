/* commands.h - the /command table and its handlers.
 *
 * Loop thread only, called by session.c with a joined client's sanitised line that
 * command_split() found to be a command. Each command has one line of French help, which /help
 * lists.
 */
#ifndef CAUSERIE_COMMANDS_H
#define CAUSERIE_COMMANDS_H

#include <stddef.h>

#include "common/command.h"

struct client;

/* Runs the command cmd, split by command_split() from a joined client's line; an unknown
 * one gets an error reply. May close c. */
void commands_run(struct client *c, const struct command_line *cmd);

#endif
