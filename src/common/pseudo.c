/* pseudo.c - pseudo validation and case folding; see pseudo.h for the contract.
 *
 * Any thread, once pseudo_init() has run on the main thread. Folding and the space test
 * use a C.UTF-8 locale_t of their own, through towlower_l() and iswspace_l(), whatever the
 * process's locale: the server never calls setlocale(), which is process-wide and unsafe
 * once threads run, and the client's user may run in any locale, yet both must fold alike.
 * The locale_t is set before other threads start and only read afterwards, so it needs no
 * lock; without C.UTF-8, folding falls back to ASCII. The list of invisible characters is
 * kept by hand, from Unicode.
 */
#include "pseudo.h"

#include "proto.h"

#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <wctype.h>

#include "sanitize.h"
#include "utf8.h"

/* Set once by pseudo_init() before any loop thread starts, then only read. */
static locale_t utf8_locale = (locale_t)0;

void pseudo_init(void)
{
    if (!utf8_locale) {
        utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    }
}

void pseudo_shutdown(void)
{
    if (utf8_locale) {
        freelocale(utf8_locale);
        utf8_locale = (locale_t)0;
    }
}

static bool is_space(uint32_t cp)
{
    /* The no-break spaces are not iswspace() in glibc, but they look like one. */
    if (cp == ' ' || cp == 0xA0 || cp == 0x2007 || cp == 0x202F || cp == 0x180E) {
        return true;
    }
    if (utf8_locale) {
        return iswspace_l((wint_t)cp, utf8_locale);
    }
    return cp == '\t';
}

/* Characters that print as nothing, or change how their neighbours print: in a pseudo they
 * would let "alice" and "ali\u200Bce" look the same, or flip the line they appear in. This
 * is Unicode's Default_Ignorable_Code_Point set less the variation selectors (emoji need
 * U+FE0F) and the combining grapheme joiner, plus the Hangul fillers. */
static bool is_invisible(uint32_t cp)
{
    return cp == 0x00AD || cp == 0x034F || cp == 0x061C || cp == 0x115F || cp == 0x1160 ||
           cp == 0x17B4 || cp == 0x17B5 || (cp >= 0x180B && cp <= 0x180D) || cp == 0x180F ||
           (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x206F) || cp == 0x3164 || cp == 0xFEFF || cp == 0xFFA0 ||
           (cp >= 0xFFF0 && cp <= 0xFFFB) || (cp >= 0x1BCA0 && cp <= 0x1BCA3) ||
           (cp >= 0x1D173 && cp <= 0x1D17A) || (cp >= 0xE0000 && cp <= 0xE0FFF);
}

enum pseudo_verdict pseudo_check(const char *s, size_t len)
{
    if (len == 0) {
        return PSEUDO_EMPTY;
    }
    if (s[0] == '/') {
        return PSEUDO_SLASH;
    }
    if (s[0] == PROTO_OPERATOR_MARK) {
        return PSEUDO_AT;
    }
    size_t chars = 0;
    enum pseudo_verdict verdict = PSEUDO_OK;
    for (size_t i = 0; i < len; chars++) {
        uint32_t cp;
        i += utf8_decode(s + i, len - i, &cp);
        /* The most fundamental problem wins: bad bytes, then controls, then invisible
         * characters, then spaces. */
        if (cp == UTF8_INVALID) {
            return PSEUDO_BAD_UTF8;
        } else if (cp == '\t' || sanitize_is_control(cp)) {
            verdict = PSEUDO_CONTROL;
        } else if (is_invisible(cp) && verdict != PSEUDO_CONTROL) {
            verdict = PSEUDO_INVISIBLE;
        } else if (is_space(cp) && verdict == PSEUDO_OK) {
            verdict = PSEUDO_SPACE;
        }
    }
    if (verdict == PSEUDO_OK && chars > PSEUDO_MAX_CHARS) {
        verdict = PSEUDO_TOO_LONG;
    }
    return verdict;
}

const char *pseudo_verdict_text(enum pseudo_verdict v)
{
    switch (v) {
    case PSEUDO_OK:
        return "Pseudo accepté.";
    case PSEUDO_EMPTY:
        return "Le pseudo ne peut pas être vide.";
    case PSEUDO_TOO_LONG:
        return "Le pseudo ne doit pas dépasser 32 caractères.";
    case PSEUDO_SPACE:
        return "Le pseudo ne doit pas contenir d'espace.";
    case PSEUDO_CONTROL:
        return "Le pseudo ne doit pas contenir de caractère de contrôle.";
    case PSEUDO_INVISIBLE:
        return "Le pseudo ne doit pas contenir de caractère invisible.";
    case PSEUDO_BAD_UTF8:
        return "Le pseudo doit être écrit en UTF-8 valide.";
    case PSEUDO_SLASH:
        return "Le pseudo ne peut pas commencer par « / ».";
    case PSEUDO_AT:
        return "Le pseudo ne peut pas commencer par « @ ».";
    }
    return "Pseudo refusé.";
}

/* The lower case of cp, in the C.UTF-8 tables when loaded. A mapping that leaves Unicode
 * (no table has one, but towlower_l() promises nothing) keeps the character as it is. */
static uint32_t lower(uint32_t cp)
{
    uint32_t l = cp;
    if (utf8_locale) {
        l = (uint32_t)towlower_l((wint_t)cp, utf8_locale);
    } else if (cp >= 'A' && cp <= 'Z') {
        l = cp + ('a' - 'A');
    }
    if (l > 0x10FFFF || (l >= 0xD800 && l <= 0xDFFF)) {
        return cp;
    }
    return l;
}

void pseudo_fold(const char *s, size_t len, struct buf *out)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (cp == UTF8_INVALID) {
            buf_append(out, s + i, n);
        } else {
            char enc[4];
            buf_append(out, enc, utf8_encode(lower(cp), enc));
        }
        i += n;
    }
}

bool pseudo_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    struct buf fa = BUF_INIT, fb = BUF_INIT;
    pseudo_fold(a, alen, &fa);
    pseudo_fold(b, blen, &fb);
    bool same = fa.len == fb.len && memcmp(fa.data, fb.data, fa.len) == 0;
    buf_release(&fa);
    buf_release(&fb);
    return same;
}
