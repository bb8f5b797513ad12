/* utf8.c - strict UTF-8 decoding, and encoding; see utf8.h for the contract.
 *
 * Linked into both programs; pure and stateless, so any thread may call it. The decoder
 * follows table 3-7 of the Unicode standard: the lead byte gives the length, and only the
 * second byte's range depends on the lead, which is where overlong forms, surrogates and
 * values past U+10FFFF are refused. Stopping at the first byte out of range makes the
 * length returned the "maximal subpart" that sanitize.c replaces with one U+FFFD. The
 * encoder trusts its caller: a surrogate or a value past U+10FFFF is an assert().
 */
#include "utf8.h"

#include <assert.h>

/* The range a continuation byte may take right after lead byte b (table 3-7): the
 * narrowed ranges are what exclude overlong forms, surrogates and values past U+10FFFF. */
static void second_byte_range(unsigned char b, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b == 0xE0) {
        *lo = 0xA0;
    } else if (b == 0xED) {
        *hi = 0x9F;
    } else if (b == 0xF0) {
        *lo = 0x90;
    } else if (b == 0xF4) {
        *hi = 0x8F;
    }
}

size_t utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    assert(len >= 1);
    const unsigned char *p = (const unsigned char *)s;
    unsigned char b = p[0];
    size_t need;
    uint32_t v;

    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
        need = 2;
        v = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 3;
        v = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4;
        v = b & 0x07;
    } else {
        *cp = UTF8_INVALID; /* 80..C1 and F5..FF never start a sequence */
        return 1;
    }

    unsigned char lo, hi;
    second_byte_range(b, &lo, &hi);
    size_t i;
    for (i = 1; i < need; i++) {
        if (i >= len || p[i] < lo || p[i] > hi) {
            *cp = UTF8_INVALID; /* the maximal subpart ends before p[i] */
            return i;
        }
        v = (v << 6) | (p[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return need;
}

size_t utf8_encode(uint32_t cp, char out[4])
{
    assert(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF));
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
        n--; /* s[n] continues a character: cut before that character */
    }
    return n;
}
