/* utf8.h - decoding one UTF-8 sequence at a time, strictly.
 *
 * Linked into both programs; pure. Accepts exactly the well-formed sequences of the
 * Unicode standard (table 3-7): no overlong forms, no surrogates, nothing past U+10FFFF.
 * An ill-formed sequence is reported as its "maximal subpart" so that a caller replacing
 * it with U+FFFD follows the standard's recommended practice.
 */
#ifndef CAUSERIE_UTF8_H
#define CAUSERIE_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_INVALID UINT32_MAX

/* Decodes the sequence at s (len >= 1). Returns the number of bytes it spans, at least 1,
 * and stores the code point in *cp, or UTF8_INVALID when those bytes are ill-formed
 * (including a sequence cut short by the end of the input). */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/* The length of the longest start of s[0..len) that is at most max bytes and does not end
 * inside a character: where to cut a text to quote it. s is valid UTF-8 (sanitised). */
size_t utf8_prefix(const char *s, size_t len, size_t max);

/* Writes the UTF-8 encoding of cp (a scalar value) to out, returns its length (1..4). */
size_t utf8_encode(uint32_t cp, char out[4]);

#endif
