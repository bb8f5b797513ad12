/* reclaim.c - how long a reconnecting client insists on its own pseudo; see reclaim.h.
 *
 * Pure: a count and a comparison with the bound.
 */
#include "reclaim.h"

void reclaim_reset(struct reclaim *r)
{
    r->refusals = 0;
}

enum reclaim_step reclaim_refused(struct reclaim *r)
{
    if (r->refusals >= RECLAIM_TRIES) {
        reclaim_reset(r);
        return RECLAIM_GIVE_UP;
    }
    r->refusals++;
    return r->refusals == 1 ? RECLAIM_WAIT_FIRST : RECLAIM_WAIT;
}
