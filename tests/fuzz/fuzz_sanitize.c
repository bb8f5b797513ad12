/* fuzz_sanitize.c - libFuzzer harness for the sanitiser (src/common/sanitize.c).
 *
 * After each input it checks what every caller relies on: the output is well-formed UTF-8
 * with no control character, at most three times the input, sanitising it again changes
 * nothing, and sanitize_is_clean() says true exactly when the input comes out unchanged.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/sanitize.h"
#include "common/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct buf out = BUF_INIT, again = BUF_INIT;
    sanitize_append(&out, in, size);
    assert(out.len <= 3 * size);
    for (size_t i = 0; i < out.len;) {
        uint32_t cp;
        i += utf8_decode(out.data + i, out.len - i, &cp);
        assert(cp != UTF8_INVALID);
        assert(!sanitize_is_control(cp) && cp != '\t');
    }
    assert(sanitize_is_clean(out.data, out.len));
    sanitize_append(&again, out.data, out.len);
    assert(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
    bool unchanged = out.len == size && memcmp(out.data, in, size) == 0;
    assert(sanitize_is_clean(in, size) == unchanged);
    buf_release(&out);
    buf_release(&again);
    return 0;
}
