/* backoff.c - the wait before the next attempt to reconnect; see backoff.h.
 *
 * Pure and stateless. Doubling is written as a comparison with half the bound, so that a
 * caller passing any unsigned value (even one near UINT_MAX) gets the bound, not a wrap.
 */
#include "backoff.h"

unsigned backoff_next(unsigned prev_s)
{
    if (prev_s == 0) {
        return BACKOFF_FIRST_S;
    }
    if (prev_s >= BACKOFF_MAX_S / 2) {
        return BACKOFF_MAX_S;
    }
    return prev_s * 2;
}
