/* tty.h - the input line on a terminal: GNU readline's callback interface on the loop.
 *
 * Client thread only. readline reads stdin itself, one character per readiness event of a
 * uv_poll_t, so the loop keeps receiving while the user types. Enter is bound to our own
 * function, which takes the line and clears it in place: the line being typed never
 * scrolls up, and what was said is printed above it by screen.c. A pasted block (readline
 * inserts bracketed pastes whole, newlines included) is handed over a line at a time.
 * Tab asks the completion callback for candidates (complete.h); Up and Down walk the lines
 * sent, which a history file keeps from one run to the next. At a secret prompt the keys
 * go to secret.h instead of readline, one byte per readiness event as readline reads
 * them: nothing typed is drawn, enters readline or its history, or outlives the answer.
 * The terminal is restored by tty_restore(): the client calls it on every exit it
 * controls (end of input, /quit, lost connection, SIGINT/TERM/HUP/QUIT), and it is
 * registered with atexit() for the others; SIGKILL and a crash in between leave it to
 * `reset`.
 */
#ifndef CAUSERIE_TTY_H
#define CAUSERIE_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct complete_list;

/* Called with each line the user enters (owned by the callee; never holds '\n'), or NULL
 * for Ctrl-D on an empty line. */
typedef void (*tty_line_cb)(char *line);
/* Fills out with the candidates for line[start..end), the word under the cursor. */
typedef void (*tty_complete_cb)(const char *line, size_t start, size_t end,
                                struct complete_list *out);
/* Called with the answer to a secret prompt (len bytes, NUL-terminated; borrowed, and
 * wiped once the call returns), or NULL for Ctrl-D with nothing typed. */
typedef void (*tty_secret_cb)(const char *answer, size_t len);

void tty_init(uv_loop_t *loop, tty_line_cb on_line, tty_complete_cb on_complete);
/* Shows prompt and starts reading keys. */
void tty_ask(const char *prompt);
/* Replaces the prompt (the status changed) and redraws it, the typed line kept as it is. */
void tty_set_prompt(const char *prompt);
/* The prompt shown now ("" when none): to echo an answer after it. Valid until the next
 * call that changes the prompt. */
const char *tty_prompt(void);
/* The terminal changed size (SIGWINCH): readline measures it again and redraws the line. */
void tty_resize(void);
/* Stops reading keys (they wait in the terminal) and hides the prompt. */
void tty_pause(void);
/* At a secret prompt, these see and erase the answer being typed. */
bool tty_line_is_empty(void);
void tty_clear_line(void);

/* Shows prompt and reads the next line unseen (secret.h) for on_answer, once: the prompt
 * alone is drawn, and nothing typed reaches readline, its history or the history file.
 * The line being typed, if any, is set aside and comes back after the answer. Called again
 * before the answer, it changes the prompt and the callback. */
void tty_ask_secret(const char *prompt, tty_secret_cb on_answer);
/* Gives up the secret prompt, if one waits: what was typed is wiped, the line set aside
 * comes back; the caller sets the prompt. */
void tty_cancel_secret(void);
bool tty_asking_secret(void);

/* Reads the history of sent lines from path (a missing file is an empty history) and
 * keeps at most max lines there from now on; each tty_remember() appends to it. A file
 * that cannot be read or written is reported once, and the history lives on in memory.
 * max 0: no file. */
void tty_history_open(const char *path, unsigned max);
/* Adds a sent line to the history that Up and Down walk through (and to the file). */
void tty_remember(const char *line);

/* Ctrl-Z: gives the terminal back, stops the process, and takes it again on `fg`. */
void tty_suspend(void);
/* Gives the terminal back as it was; closes the watcher. Safe to call twice. */
void tty_restore(void);

#endif
