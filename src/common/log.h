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
#include <stddef.h>
#include <stdint.h>

/* "2026-11-25 14:03:07 alice est déconnecté" on stdout. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "2026-11-25 14:03:07 attention : ..." on stderr. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "2026-11-25 14:03:07 erreur : ..." on stderr. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A budget of log lines per second for one kind of event a peer can repeat at will
 * (refused connections, refused lines), so that it cannot fill the disk. Zero-initialise;
 * owned by one thread. */
#define LOG_LIMIT_PER_SECOND 10
struct log_limit {
    uint64_t second; /* the second the budget is for */
    unsigned logged; /* lines logged in it */
    size_t skipped;  /* events not logged since the last line that was */
};
/* Whether an event at now_ms (any monotonic clock) may be logged. If so, *skipped is the
 * number of events left out since the last one logged, to be said in that line; if not,
 * the event is counted. */
bool log_limit_allow(struct log_limit *l, uint64_t now_ms, size_t *skipped);

#endif
