/* piped.c - input lines from a non-terminal stdin; see piped.h for the contract.
 *
 * Client thread only. The state lives in the module because there is only one stdin: one
 * 16 KiB read buffer, one uv_fs_t and one framer, whose limit is CONN_MAX_LINE; a longer
 * input line is reported and skipped. uv_fs_read() runs in libuv's thread pool, but its
 * callback, and so every line, comes back on the loop thread. At most one read is in
 * flight and the next starts only when the consumer asks, which keeps a large file out of
 * memory. A last line without '\n' is still delivered at end of input.
 */
#include "piped.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "common/proto.h"
#include "conn.h"
#include "screen.h"

static uv_loop_t *loop;
static uv_fs_t read_req;
static piped_line_cb line_cb;
static piped_chunk_cb chunk_cb;
static struct proto_framer framer;
static char read_buf[16384];
static bool reading, at_eof;

void piped_init(uv_loop_t *l, piped_line_cb on_line, piped_chunk_cb on_chunk)
{
    loop = l;
    line_cb = on_line;
    chunk_cb = on_chunk;
    proto_framer_init(&framer, CONN_MAX_LINE);
}

/* Hands over every complete line of the chunk just read. `reading` stays true meanwhile:
 * a consumer that asks for more from its line callback must not start a read into the
 * buffer still being framed. */
static void deliver_lines(const char *in, size_t in_len)
{
    const char *line;
    size_t len;
    int r;
    while ((r = proto_framer_next(&framer, &in, &in_len, &line, &len)) != -EAGAIN) {
        if (r == 0) {
            line_cb(line, len);
        } else {
            screen_error("Ligne d'entrée trop longue (%d octets au maximum) : elle a été ignorée.",
                         CONN_MAX_LINE);
        }
    }
}

static void on_read(uv_fs_t *req)
{
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (n > 0) {
        deliver_lines(read_buf, (size_t)n);
        reading = false;
        chunk_cb(0);
        return;
    }
    at_eof = true;
    reading = false;
    if (n < 0) {
        chunk_cb((int)n);
        return;
    }
    /* A last line without '\n' still counts: feed the framer one. */
    if (proto_framer_mid_line(&framer)) {
        deliver_lines("\n", 1);
    }
    chunk_cb(UV_EOF);
}

void piped_read_more(void)
{
    if (reading || at_eof) {
        return;
    }
    reading = true;
    uv_buf_t b = uv_buf_init(read_buf, sizeof(read_buf));
    uv_fs_read(loop, &read_req, STDIN_FILENO, &b, 1, -1, on_read);
}

bool piped_read_in_flight(void)
{
    return reading;
}

void piped_release(void)
{
    proto_framer_release(&framer);
}
