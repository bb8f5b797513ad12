/* sanitize.c - peer text made safe to relay, log and show; see sanitize.h for the rules.
 *
 * Linked into both programs; pure, so any thread may call it (the server's loop threads,
 * the client's only thread). Printable ASCII is passed over a byte at a time and copied in
 * runs; only other bytes go through utf8_decode(), so an ordinary chat line costs one
 * comparison per byte and a single copy. Room for len bytes is reserved up front, the size
 * of the result when nothing needs changing.
 */
#include "sanitize.h"

#include "utf8.h"

#define REPLACEMENT_CHARACTER "\xEF\xBF\xBD" /* U+FFFD */

bool sanitize_is_control(uint32_t cp)
{
    return (cp < 0x20 && cp != '\t') || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

bool sanitize_is_bidi_override(uint32_t cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Removed from text: controls and bidi overrides. A tab is removed too, then put back as
 * a space by the caller. */
static bool is_removed(uint32_t cp)
{
    return cp == '\t' || sanitize_is_control(cp) || sanitize_is_bidi_override(cp);
}

void sanitize_append(struct buf *out, const char *text, size_t len)
{
    buf_grow(out, len);
    size_t run = 0; /* start of the clean bytes not yet copied */
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c < 0x7F) {
            i++; /* printable ASCII, by far the most common case */
            continue;
        }
        uint32_t cp;
        size_t n = utf8_decode(text + i, len - i, &cp);
        if (cp != UTF8_INVALID && !is_removed(cp)) {
            i += n;
            continue;
        }
        buf_append(out, text + run, i - run);
        if (cp == UTF8_INVALID) {
            buf_append(out, REPLACEMENT_CHARACTER, 3);
        } else if (cp == '\t') {
            buf_append_char(out, ' ');
        }
        i += n;
        run = i;
    }
    buf_append(out, text + run, len - run);
}

bool sanitize_is_clean(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(text + i, len - i, &cp);
        if (cp == UTF8_INVALID || is_removed(cp)) {
            return false;
        }
        i += n;
    }
    return true;
}
