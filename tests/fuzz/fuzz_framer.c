/* fuzz_framer.c - libFuzzer harness for the line framer (src/common/proto.c).
 *
 * The first byte picks a max_line and the second a chunk size; the rest is fed once whole
 * and once in chunks. After each input it checks the framer's contract: both feedings give
 * the same lines and overlong reports, no line holds '\n' or exceeds
 * max_line, and the framer never keeps more than max_line + 1 bytes.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds in[0..len) in chunks of chunk bytes; records each event into out as
 * "L<len>:<bytes>" for a line or "E" for an overlong line. */
static void feed(const char *in, size_t len, size_t chunk, size_t max_line, struct buf *out)
{
    struct proto_framer f;
    proto_framer_init(&f, max_line);
    for (size_t off = 0; off < len; off += chunk) {
        const char *p = in + off;
        size_t n = len - off < chunk ? len - off : chunk;
        for (;;) {
            const char *line;
            size_t line_len;
            int r = proto_framer_next(&f, &p, &n, &line, &line_len);
            assert(f.partial_len <= max_line + 1);
            if (r == -EAGAIN) {
                break;
            }
            if (r == -EMSGSIZE) {
                buf_append_str(out, "E");
                continue;
            }
            assert(r == 0);
            assert(line_len <= max_line);
            assert(!memchr(line, '\n', line_len));
            buf_appendf(out, "L%zu:", line_len);
            buf_append(out, line, line_len);
        }
        assert(n == 0);
    }
    proto_framer_release(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    size_t max_line = 1 + data[0] % 64;
    size_t chunk = 1 + data[1] % 16;
    const char *in = (const char *)data + 2;
    size_t len = size - 2;

    struct buf whole = BUF_INIT, chunked = BUF_INIT;
    feed(in, len, len ? len : 1, max_line, &whole);
    feed(in, len, chunk, max_line, &chunked);
    assert(whole.len == chunked.len && memcmp(whole.data, chunked.data, whole.len) == 0);
    buf_release(&whole);
    buf_release(&chunked);
    return 0;
}
