/* pseudo.h - what makes a valid pseudo, and when two pseudos are the same.
 *
 * Pure and thread-safe once pseudo_init() has run (main thread, before the loops start).
 * session.c checks a proposed pseudo here, then claims it in registry.c under its folded
 * form, so that "Élodie" and "élodie" cannot both be connected.
 */
#ifndef CAUSERIE_PSEUDO_H
#define CAUSERIE_PSEUDO_H

#include <stddef.h>

#include "common/buf.h"

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
};

/* Loads the case-folding tables (the C.UTF-8 locale); without them folding is ASCII only. */
void pseudo_init(void);
void pseudo_shutdown(void);

enum pseudo_verdict pseudo_check(const char *s, size_t len);
/* The French sentence that explains a refusal, for the "! " line. */
const char *pseudo_verdict_text(enum pseudo_verdict v);
/* Appends the case-folded form of a valid pseudo to out: equal keys, same person. */
void pseudo_fold(const char *s, size_t len, struct buf *out);

#endif
