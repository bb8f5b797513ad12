/* pseudo.h - what makes a valid pseudo, and when two pseudos are the same.
 *
 * Linked into both programs, so that the server and the client agree on who is who: the
 * server checks a proposed pseudo here and claims it under its folded form, so that
 * "Élodie" and "élodie" cannot both be connected; the client folds pseudos the same way to
 * find mentions, complete names and pick colours. Room names follow the same rules.
 * Pure and thread-safe once pseudo_init() has run (the main thread, before any other).
 */
#ifndef CAUSERIE_PSEUDO_H
#define CAUSERIE_PSEUDO_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define PSEUDO_MAX_CHARS 32 /* characters (code points), not bytes */

enum pseudo_verdict {
    PSEUDO_OK,
    PSEUDO_EMPTY,
    PSEUDO_TOO_LONG,
    PSEUDO_SPACE,     /* any white space, including no-break spaces */
    PSEUDO_CONTROL,   /* C0/C1 control characters, DEL */
    PSEUDO_INVISIBLE, /* format characters and fillers that print as nothing */
    PSEUDO_BAD_UTF8,
    PSEUDO_SLASH, /* a leading '/' would read as a command */
    PSEUDO_AT,    /* a leading '@' marks a room's operator in a list of people (proto.h) */
};

/* Loads the case-folding tables (the C.UTF-8 locale); without them folding is ASCII only. */
void pseudo_init(void);
void pseudo_shutdown(void);

enum pseudo_verdict pseudo_check(const char *s, size_t len);
/* The French sentence that explains a refusal, for the "! " line. */
const char *pseudo_verdict_text(enum pseudo_verdict v);
/* Appends the case-folded form of s to out, code point by code point: equal keys, same
 * person. Bytes that are not UTF-8 are copied as they are (pseudo_check() refuses them). */
void pseudo_fold(const char *s, size_t len, struct buf *out);
/* Whether a and b fold to the same key. */
bool pseudo_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
