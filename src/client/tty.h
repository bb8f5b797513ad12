/* tty.h - the input line on a terminal: GNU readline's callback interface on the loop.
 *
 * Client thread only. readline reads stdin itself, one character per readiness event of a
 * uv_poll_t, so the loop keeps receiving while the user types. Enter is bound to our own
 * function, which takes the line and clears it in place: the line being typed never
 * scrolls up, and what was said is printed above it by screen.c. A pasted block (readline
 * inserts bracketed pastes whole, newlines included) is handed over a line at a time.
 * The terminal is restored by tty_restore(): main.c calls it on every exit it controls
 * (end of input, /quit, lost connection, SIGINT/TERM/HUP/QUIT), and it is registered
 * with atexit() for the others; SIGKILL and a crash in between leave it to `reset`.
 */
#ifndef CAUSERIE_TTY_H
#define CAUSERIE_TTY_H

#include <stdbool.h>
#include <uv.h>

/* Called with each line the user enters (owned by the callee; never holds '\n'), or NULL
 * for Ctrl-D on an empty line. */
typedef void (*tty_line_cb)(char *line);

void tty_init(uv_loop_t *loop, tty_line_cb on_line);
/* Shows prompt and starts reading keys. */
void tty_ask(const char *prompt);
/* Stops reading keys (they wait in the terminal) and hides the prompt. */
void tty_pause(void);
bool tty_line_is_empty(void);
void tty_clear_line(void);
/* Adds a sent line to the history that Up and Down walk through. */
void tty_remember(const char *line);
/* Ctrl-Z: gives the terminal back, stops the process, and takes it again on `fg`. */
void tty_suspend(void);
/* Gives the terminal back as it was; closes the watcher. Safe to call twice. */
void tty_restore(void);

#endif
