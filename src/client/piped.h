/* piped.h - input lines when stdin is not a terminal (a pipe or a file).
 *
 * Client thread only. stdin is read with uv_fs_read(), which works on pipes and regular
 * files alike (epoll refuses files), framed into lines, and each line handed over in
 * order. Reading pauses while the consumer is not ready, so a large file is never loaded
 * whole into memory.
 */
#ifndef CAUSERIE_PIPED_H
#define CAUSERIE_PIPED_H

#include <stddef.h>
#include <uv.h>

/* Called with each line (valid during the call only) or with NULL at end of input. */
typedef void (*piped_line_cb)(const char *line, size_t len);

void piped_init(uv_loop_t *loop, piped_line_cb on_line);
/* Reads one chunk and delivers its lines; call again when ready for more. Does nothing
 * while a read is in flight or after end of input. */
void piped_read_more(void);
void piped_release(void);

#endif
