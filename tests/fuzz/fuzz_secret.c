/* fuzz_secret.c - libFuzzer harness for the answer to a secret prompt
 * (src/client/secret.c).
 *
 * The input is the bytes a terminal sends, fed one at a time. After each byte it checks
 * secret.h's contract: the answer stays within SECRET_MAX bytes, NUL-terminated right at
 * its length, holds no control byte (no key and no escape sequence is part of it), and is
 * zeros past its end (what was erased was wiped); after SECRET_DONE or SECRET_END,
 * secret_clear() leaves every byte of the state zero. An input of printable bytes only,
 * ended by '\r', must come out as itself, as far as the bound allows.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "client/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_answer(const struct secret *s)
{
    assert(s->len <= SECRET_MAX);
    assert(s->text[s->len] == '\0');
    for (size_t i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->text[i];
        assert(c >= 0x20 && c != 0x7f);
    }
    for (size_t i = s->len; i < sizeof(s->text); i++) {
        assert(s->text[i] == '\0');
    }
}

static void check_cleared(const struct secret *s)
{
    static const struct secret zero;
    assert(memcmp(s, &zero, sizeof(*s)) == 0);
}

/* True if data holds printable bytes only (UTF-8 lead and continuation bytes included). */
static bool plain(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (data[i] < 0x20 || data[i] == 0x7f) {
            return false;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct secret s;
    secret_init(&s);
    for (size_t i = 0; i < size; i++) {
        enum secret_step step = secret_feed(&s, data[i]);
        check_answer(&s);
        if (step != SECRET_MORE) {
            secret_clear(&s);
            check_cleared(&s);
        }
    }
    secret_clear(&s);
    if (plain(data, size)) {
        for (size_t i = 0; i < size; i++) {
            assert(secret_feed(&s, data[i]) == SECRET_MORE);
        }
        assert(secret_feed(&s, '\r') == SECRET_DONE);
        size_t n = size < SECRET_MAX ? size : SECRET_MAX;
        assert(s.len == n && memcmp(s.text, data, n) == 0);
        secret_clear(&s);
    }
    return 0;
}
