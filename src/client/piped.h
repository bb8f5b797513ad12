/* piped.h - input lines when stdin is not a terminal (a pipe or a file).
 *
 * Client thread only. stdin is read with uv_fs_read(), which works on pipes and regular
 * files alike (epoll refuses files), one chunk at a time into one buffer, and the consumer
 * takes its lines one by one when it is ready for them. A line not yet taken stays in the
 * buffer, and the next read starts only once every line of the last chunk was taken, so
 * the rest of the input waits in the pipe (or the file), never in memory. This module
 * holds no queue of lines: the consumer's (chat.c gives chat lines to the outbox) is the
 * only one.
 */
#ifndef CAUSERIE_PIPED_H
#define CAUSERIE_PIPED_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* A read has ended: piped_next_line() has something new to say (lines, the end, or an
 * error). Called on the loop thread, never from inside piped_next_line(). */
typedef void (*piped_ready_cb)(void);

void piped_init(uv_loop_t *loop, piped_ready_cb on_ready);
/* Takes the next input line. Returns:
 *   0        *line holds it, *len bytes without the '\n'; valid until the next call.
 *   -EAGAIN  every line read so far has been taken: a read is under way (started by this
 *            call if none was), and on_ready is called when it ends.
 *   UV_EOF   the input has ended; a last line without '\n' was given before it.
 *   other    a negative libuv error: reading stdin failed.
 * The end and errors are returned again by every later call. A line longer than
 * CONN_MAX_LINE is reported to the user (screen_error()) and skipped. */
int piped_next_line(const char **line, size_t *len);
/* Wipes the line piped_next_line() gave last, where it lies: it was a secret. */
void piped_forget_line(void);
/* True while a read is under way: it may be blocked for good in libuv's thread pool on a
 * stdin that stays open with nothing to say (a FIFO, `sleep 100 | causerie`). */
bool piped_read_in_flight(void);
void piped_release(void);

#endif
