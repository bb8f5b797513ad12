/* pace.js - the page's side of flood control: when the next line may be sent.
 *
 * Pure: no clock of its own (callers pass the time, in microseconds), so tests drive it.
 * The terminal client's src/client/pace.c, line for line: the server refuses lines past
 * --flood-burst at once, then --flood-rate per second (a token bucket in its GCRA form),
 * and the page paces what it sends with the same bucket, one line of the allowance kept
 * in reserve for a line delayed on the way, so that a paste is never refused. The page
 * cannot ask the server its options: it uses their defaults, 10 at once then 5 a second,
 * as the terminal client does. outbox.js uses it.
 */

/* The server's defaults: --flood-burst 10, --flood-rate 5. */
export const FLOOD_BURST = 10;
export const FLOOD_RATE = 5;

export class Pace {
    /* burst lines at once, then rate per second; 0 for either turns pacing off. */
    constructor(burst = FLOOD_BURST, rate = FLOOD_RATE) {
        this.intervalUs = 0; // between two lines once the burst is used up; 0: no pacing
        this.aheadUs = 0; // how far tat may run ahead of now for a line to go
        this.tatUs = 0; // when the allowance would be whole again
        if (burst === 0 || rate === 0) {
            return;
        }
        this.intervalUs = Math.max(1, Math.floor(1000000 / rate));
        if (burst >= 2) {
            this.aheadUs = (burst - 2) * this.intervalUs;
        } else {
            this.intervalUs += Math.floor(this.intervalUs / 10);
        }
    }

    /* The allowance is whole again: the server gives a whole one on each join. */
    reset() {
        this.tatUs = 0;
    }

    /* Microseconds from nowUs until take() will say yes; 0 if it would now. */
    waitUs(nowUs) {
        if (this.intervalUs === 0 || this.tatUs <= nowUs + this.aheadUs) {
            return 0;
        }
        return this.tatUs - nowUs - this.aheadUs;
    }

    /* True if a line may go at nowUs; it is then counted. */
    take(nowUs) {
        if (this.intervalUs === 0) {
            return true;
        }
        if (this.waitUs(nowUs) > 0) {
            return false;
        }
        this.tatUs = Math.max(this.tatUs, nowUs) + this.intervalUs;
        return true;
    }
}
