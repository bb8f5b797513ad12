/* wipe.h - forgetting secrets: memory that held one is cleared before it is let go.
 *
 * Linked into both programs; no state, any thread. A password, typed by the user or read
 * from a peer, is cleared where it lay as soon as it has been used, so that it does not
 * linger in freed memory, in a core dump or in swap. The clearing cannot be dropped by
 * the compiler as a dead store, as a memset() right before free() may be.
 */
#ifndef CAUSERIE_WIPE_H
#define CAUSERIE_WIPE_H

#include <stddef.h>

/* Sets the n bytes at p to zero, for certain. p may be NULL when n is 0. */
void wipe_bytes(void *p, size_t n);
/* Clears the NUL-terminated string s, its terminator included, and frees it; s may be
 * NULL. */
void wipe_free_str(char *s);

#endif
