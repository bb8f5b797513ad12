/* sanitize.h - make peer text safe to relay, log and show on a terminal.
 *
 * Linked into both programs; pure. The server runs every line through it before anything
 * else sees it, and the client runs what it displays through it again, because no peer is
 * trusted with a terminal. Ill-formed UTF-8 becomes U+FFFD; C0 controls (ESC, BEL, NUL,
 * CR, ...), DEL and the C1 controls U+0080..U+009F are removed, so no escape sequence
 * survives; a tab becomes one space. The bidi embeddings, overrides and isolates
 * (U+202A..U+202E, U+2066..U+2069) are removed too: unbalanced, they reorder whatever a
 * bidi-aware display prints after them, the next pseudo included. The marks LRM and RLM,
 * which mixed-script text needs and which reorder nothing, stay. Everything else passes
 * unchanged.
 */
#ifndef CAUSERIE_SANITIZE_H
#define CAUSERIE_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends the sanitised form of text[0..len) to out. The result is valid UTF-8 with no
 * control character; it is at most 3 * len bytes long. */
void sanitize_append(struct buf *out, const char *text, size_t len);

/* True if cp is a C0 or C1 control character or DEL (tab excluded). */
bool sanitize_is_control(uint32_t cp);
/* True if cp is a bidi embedding, override or isolate (U+202A..E, U+2066..9). */
bool sanitize_is_bidi_override(uint32_t cp);

/* True if text[0..len) would come out of sanitize_append() unchanged. */
bool sanitize_is_clean(const char *text, size_t len);

#endif
