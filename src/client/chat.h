/* chat.h - the conversation with the server: address, pseudo, chat, reconnection.
 *
 * Client thread only, on its uv loop. A small state machine from the address prompt to the
 * chat, the same whether lines come from readline (tty.c) or from a pipe (piped.c):
 * server lines come from conn.c, lines to send go through the paced outbox (outbox.h),
 * who is in our room is the roster's (roster.h), everything shown goes through screen.c.
 * On a terminal, a lost connection is retried with growing waits (backoff.h) while the
 * user keeps typing, through the next address of the list when there are several
 * (hosts.h); the pseudo is given again and the room joined again.
 */
#ifndef CAUSERIE_CHAT_H
#define CAUSERIE_CHAT_H

#include <stdbool.h>
#include <uv.h>

struct client_options;
struct tls_config;

/* Starts the conversation on loop: asks for the address unless opts gives it. opts and
 * tls (the TLS settings, when opts->tls; NULL otherwise) are borrowed for the program's
 * life. interactive: stdin and stdout are a terminal. */
void chat_start(uv_loop_t *loop, struct client_options *opts, struct tls_config *tls,
                bool interactive);
/* A stop signal, or Ctrl-C on an empty line (quit_cleanly): says goodbye if it can, and
 * ends the program with status. */
void chat_on_interrupt(bool quit_cleanly, int status);
/* Ctrl-C on a line being typed clears it; returns false if the line was empty. */
bool chat_on_ctrl_c(void);
/* Frees what is left once the loop has returned; returns the exit status. */
int chat_finish(void);

#endif
