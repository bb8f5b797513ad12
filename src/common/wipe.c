/* wipe.c - clearing secrets; see wipe.h for the contract.
 *
 * explicit_bzero() is glibc's (and the BSDs') clearing that the optimiser keeps; it is
 * declared only outside strict POSIX, hence _DEFAULT_SOURCE, in this file alone.
 */
#define _DEFAULT_SOURCE /* explicit_bzero() */

#include "wipe.h"

#include <stdlib.h>
#include <string.h>

void wipe_bytes(void *p, size_t n)
{
    if (n > 0) {
        explicit_bzero(p, n);
    }
}

void wipe_free_str(char *s)
{
    if (s) {
        wipe_bytes(s, strlen(s) + 1);
        free(s);
    }
}
