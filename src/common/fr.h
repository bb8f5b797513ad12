/* fr.h - French wording for system and libuv errors.
 *
 * Linked into both programs; pure. Users and operators read French, but strerror() and
 * uv_strerror() speak English (or the locale's language, which may be anything); this maps
 * the errors a user can meet when binding or connecting to a sentence of their own.
 */
#ifndef CAUSERIE_FR_H
#define CAUSERIE_FR_H

/* err is a negative errno or UV_E* code. Never NULL; unknown codes get a generic text
 * that carries libuv's error name, so nothing is lost for a bug report. */
const char *fr_strerror(int err);

#endif
