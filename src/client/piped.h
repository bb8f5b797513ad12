/* piped.h - input lines when stdin is not a terminal (a pipe or a file).
 *
 * Client thread only. stdin is read with uv_fs_read(), which works on pipes and regular
 * files alike (epoll refuses files), framed into lines, and each line handed over in
 * order. Reading pauses while the consumer is not ready, so a large file is never loaded
 * whole into memory.
 */
#ifndef CAUSERIE_PIPED_H
#define CAUSERIE_PIPED_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* Called with each complete line of a chunk, in order (valid during the call only). It
 * must not expect a new read to start before the chunk callback. */
typedef void (*piped_line_cb)(const char *line, size_t len);
/* Called once after each chunk's lines: 0 when more may be read (even if the chunk held
 * no complete line), UV_EOF at end of input, or a negative libuv error when reading
 * failed. No call follows UV_EOF or an error. */
typedef void (*piped_chunk_cb)(int status);

void piped_init(uv_loop_t *loop, piped_line_cb on_line, piped_chunk_cb on_chunk);
/* Reads one chunk and delivers its lines; call again when ready for more. Does nothing
 * while a read is in flight, while a chunk is being delivered, or after the end. */
void piped_read_more(void);
/* True while a read is under way: it may be blocked for good in libuv's thread pool on a
 * stdin that stays open with nothing to say (a FIFO, `sleep 100 | causerie`). */
bool piped_read_in_flight(void);
void piped_release(void);

#endif
