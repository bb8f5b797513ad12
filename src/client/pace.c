/* pace.c - the client's token bucket; see pace.h for the contract.
 *
 * The same GCRA as the server's flood_allows(): one number, tat, pushed one interval
 * further by every line; a line may go while tat is at most ahead_us past now. The server
 * allows (burst - 1) intervals; the client (burst - 2), its reserve of one line. With a
 * burst of 1 there is nothing to keep in reserve, so the interval is stretched by a tenth
 * instead: the same protection against lines arriving closer together than they left.
 */
#include "pace.h"

void pace_init(struct pace *p, unsigned burst, unsigned rate)
{
    *p = (struct pace){0};
    if (burst == 0 || rate == 0) {
        return; /* pacing off: interval_us stays 0 */
    }
    p->interval_us = 1000000 / rate;
    if (p->interval_us == 0) {
        p->interval_us = 1; /* a rate past 1,000,000/s: one line per microsecond */
    }
    if (burst >= 2) {
        p->ahead_us = (uint64_t)(burst - 2) * p->interval_us;
    } else {
        p->interval_us += p->interval_us / 10;
    }
}

void pace_reset(struct pace *p)
{
    p->tat_us = 0;
}

uint64_t pace_wait_us(const struct pace *p, uint64_t now_us)
{
    if (p->interval_us == 0 || p->tat_us <= now_us + p->ahead_us) {
        return 0;
    }
    return p->tat_us - now_us - p->ahead_us;
}

bool pace_take(struct pace *p, uint64_t now_us)
{
    if (p->interval_us == 0) {
        return true;
    }
    if (pace_wait_us(p, now_us) > 0) {
        return false;
    }
    uint64_t tat = p->tat_us > now_us ? p->tat_us : now_us;
    p->tat_us = tat + p->interval_us;
    return true;
}
