/* log.h - timestamped, levelled logging for the server console.
 *
 * Linked into both programs; callable from any thread. Each entry is formatted into one
 * buffer and written with a single write(2), so lines from different loop threads never
 * interleave and no lock is taken. Information goes to stdout, warnings and errors to
 * stderr. Text is French, for the operator; callers pass only sanitised peer text.
 */
#ifndef CAUSERIE_LOG_H
#define CAUSERIE_LOG_H

#include <stdbool.h>

/* "2026-11-25 14:03:07 alice est déconnecté" on stdout. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "2026-11-25 14:03:07 attention : ..." on stderr. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "2026-11-25 14:03:07 erreur : ..." on stderr. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
