/* fuzz_pseudo.c - libFuzzer harness for the pseudo check and fold (src/common/pseudo.c).
 *
 * A pseudo is the first thing a peer sends, and room names follow the same rules. After
 * each input it checks the contract of pseudo.h: an accepted pseudo is 1 to 32 characters
 * of valid UTF-8, with no control, space or invisible character and no leading '/'; the
 * fold never fails, keeps valid UTF-8 valid, stays within four bytes per input byte, and
 * is idempotent, so that one person always has one key; a pseudo equals itself, and
 * pseudo_equal() agrees with comparing the keys. Every verdict has a French sentence.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "common/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether s[0..len) is valid UTF-8; stores its number of characters. */
static bool valid_utf8(const char *s, size_t len, size_t *chars)
{
    *chars = 0;
    for (size_t i = 0; i < len; (*chars)++) {
        uint32_t cp;
        i += utf8_decode(s + i, len - i, &cp);
        if (cp == UTF8_INVALID) {
            return false;
        }
    }
    return true;
}

static void check_accepted(const char *s, size_t len)
{
    size_t chars;
    assert(len > 0 && s[0] != '/');
    assert(valid_utf8(s, len, &chars));
    assert(chars >= 1 && chars <= PSEUDO_MAX_CHARS);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += utf8_decode(s + i, len - i, &cp);
        assert(cp != ' ' && cp != '\t' && cp != 0xA0 && !sanitize_is_control(cp));
        assert(!(cp >= 0x200B && cp <= 0x200F) && cp != 0xFEFF);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        pseudo_init();
        ready = true;
    }
    const char *s = (const char *)data;
    enum pseudo_verdict v = pseudo_check(s, size);
    assert(pseudo_verdict_text(v)[0] != '\0');
    if (v == PSEUDO_OK) {
        check_accepted(s, size);
    }

    struct buf key = BUF_INIT, again = BUF_INIT;
    pseudo_fold(s, size, &key);
    assert(key.len <= 4 * size);
    size_t chars;
    if (valid_utf8(s, size, &chars)) {
        size_t key_chars;
        assert(valid_utf8(key.data, key.len, &key_chars) && key_chars == chars);
    }
    pseudo_fold(key.data, key.len, &again);
    assert(again.len == key.len && memcmp(again.data, key.data, key.len) == 0);
    assert(pseudo_equal(s, size, s, size));
    assert(pseudo_equal(s, size, key.data, key.len));

    /* Two halves: equal as pseudos exactly when their keys are equal. */
    size_t half = size / 2;
    struct buf a = BUF_INIT, b = BUF_INIT;
    pseudo_fold(s, half, &a);
    pseudo_fold(s + half, size - half, &b);
    bool same_keys = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    assert(pseudo_equal(s, half, s + half, size - half) == same_keys);
    buf_release(&a);
    buf_release(&b);
    buf_release(&key);
    buf_release(&again);
    return 0;
}
