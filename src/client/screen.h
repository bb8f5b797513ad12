/* screen.h - the only code that prints: incoming lines, notices, errors.
 *
 * Client thread only. On a terminal each line is printed above the input line: readline's
 * line is hidden, the text printed, the prompt and the typed text redrawn, so incoming
 * messages never break what the user is typing. Without a terminal, lines are written to
 * stdout as they are. Everything from the server is sanitised here again: the server is
 * not trusted with the terminal either.
 */
#ifndef CAUSERIE_SCREEN_H
#define CAUSERIE_SCREEN_H

#include <stdbool.h>
#include <stddef.h>

/* interactive: stdin and stdout are a terminal and readline owns the input line. */
void screen_init(bool interactive);
/* A line from the server ("> bob: salut", "* ..."), shown as the user reads it. */
void screen_show_server_line(const char *line, size_t len);
/* Something said locally (our own message, a notice of the client's): printed as is. */
void screen_print(const char *text);
/* An error for the user: on stderr, above the input line. */
void screen_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
