/* commands.h - the /command table and its handlers.
 *
 * The protocol layer, paired with session.c: session.c hands it a joined client's line
 * that command_split() found to be a command, and the handlers answer through session.c's
 * replies and act through the presence layer (room.h, registry.h). Each command has one
 * line of French help, which /help lists. Loop thread of the session.
 */
#ifndef CAUSERIE_COMMANDS_H
#define CAUSERIE_COMMANDS_H

#include <stdbool.h>

#include "common/command.h"

struct session;

/* Runs cmd, split by command_split() from a joined session's line; an unknown one gets an
 * error reply. May close the session's connection. */
void commands_run(struct session *s, const struct command_line *cmd);
/* Whether cmd carries passwords (/register, /password, /unregister): the line that holds
 * it is to be wiped once it has run. */
bool commands_is_secret(const struct command_line *cmd);

#endif
