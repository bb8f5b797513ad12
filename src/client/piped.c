/* piped.c - input lines from a non-terminal stdin; see piped.h for the contract.
 *
 * Client thread only. The state lives in the module because there is only one stdin: one
 * 16 KiB read buffer, the part of it not yet framed, one uv_fs_t and one framer, whose
 * limit is CONN_MAX_LINE. uv_fs_read() runs in libuv's thread pool, but its callback comes
 * back on the loop thread. At most one read is in flight, and it starts only when the
 * consumer asks for a line and the buffer has none left, so the buffer is never written
 * while a line given out still points into it. A last line without '\n' is still given
 * at end of input: the framer is fed the '\n' it lacks.
 */
#include "piped.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "common/proto.h"
#include "common/wipe.h"
#include "conn.h"
#include "screen.h"

static uv_loop_t *loop;
static uv_fs_t read_req;
static piped_ready_cb ready_cb;
static struct proto_framer framer;
static char read_buf[16384];
static const char *unframed = read_buf; /* what the framer has not been given yet */
static size_t unframed_len;
static bool reading;
static int end_status; /* 0 while more may come; UV_EOF or an error once known */
static char *given;    /* borrowed: the last line given, in read_buf or the framer's memory */
static size_t given_len;

void piped_init(uv_loop_t *l, piped_ready_cb on_ready)
{
    loop = l;
    ready_cb = on_ready;
    proto_framer_init(&framer, CONN_MAX_LINE);
}

static void on_read(uv_fs_t *req)
{
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    reading = false;
    if (n > 0) {
        unframed = read_buf;
        unframed_len = (size_t)n;
    } else if (n == 0) {
        end_status = UV_EOF;
        if (proto_framer_mid_line(&framer)) {
            unframed = "\n"; /* the last line had no '\n': it still counts */
            unframed_len = 1;
        }
    } else {
        end_status = (int)n;
    }
    ready_cb();
}

static void start_read(void)
{
    if (reading) {
        return;
    }
    reading = true;
    uv_buf_t b = uv_buf_init(read_buf, sizeof(read_buf));
    uv_fs_read(loop, &read_req, STDIN_FILENO, &b, 1, -1, on_read);
}

int piped_next_line(const char **line, size_t *len)
{
    int r;
    while ((r = proto_framer_next(&framer, &unframed, &unframed_len, line, len)) == -EMSGSIZE) {
        screen_error("Ligne d'entrée trop longue (%d octets au maximum) : elle a été ignorée.",
                     CONN_MAX_LINE);
    }
    if (r == 0) {
        /* In read_buf, or in the framer's memory (where the "\n" fed at the end of input
         * completes the line it holds): ours to write either way. */
        given = (char *)*line;
        given_len = *len;
        return 0;
    }
    given = NULL;
    if (end_status != 0) {
        return end_status;
    }
    start_read(); /* every line of the buffer was taken: it may be filled again */
    return -EAGAIN;
}

void piped_forget_line(void)
{
    if (given) {
        wipe_bytes(given, given_len);
    }
}

bool piped_read_in_flight(void)
{
    return reading;
}

void piped_release(void)
{
    proto_framer_release(&framer);
}
