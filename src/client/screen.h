/* screen.h - the only code that prints: incoming lines, our own, notices, errors.
 *
 * Client thread only. On a terminal each line is printed above the input line: readline's
 * line is hidden, the text printed, the prompt and the typed text redrawn, so incoming
 * messages never break what the user is typing; lines are dressed by style.c (time,
 * colours, mentions) and a mention or a private message rings the bell once. Without a
 * terminal, lines are written to stdout as they always were: bare "bob: salut", "! ..."
 * errors and "* ..." for everything else, no time, no escape sequence (style_plain_line()).
 * Either way, everything from the server is sanitised again by style.c before it is printed
 * here: the server is not trusted with the terminal either.
 */
#ifndef CAUSERIE_SCREEN_H
#define CAUSERIE_SCREEN_H

#include <stdbool.h>
#include <stddef.h>

struct style;

/* interactive: stdin and stdout are a terminal and readline owns the input line. st is
 * borrowed for the program's life and read at each line (its pseudo may change). */
void screen_init(bool interactive, const struct style *st);
/* A line from the server ("> bob: salut", "* ..."), shown as the user reads it. */
void screen_show_server_line(const char *line, size_t len);
/* Our own message or /me action, as sent (terminal only). */
void screen_own(const char *text, size_t len, bool action);
/* A notice of the client's own, in French (terminal: dim, with the time; else stdout). */
void screen_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Something said locally, printed as is: the answer typed at a prompt. */
void screen_print(const char *text);
/* An error for the user: on stderr, above the input line. */
void screen_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* /clear: an empty screen, the input line at the top (terminal only). */
void screen_clear(void);

#endif
