/* outbox.js - lines waiting to be sent, in order, at the pace the server accepts.
 *
 * The terminal client's src/client/outbox.c. Everything the page says goes through here:
 * typed lines, pasted ones, a click on a room, its own /rooms. Each line waits its turn
 * (pace.js decides when the next may go) and is handed to onSend, which writes it. While
 * the connection is down the outbox is stopped and the lines wait; they go on after the
 * next join, in the order they were given. onChange hears the number of lines waiting
 * each time it changes, so that the status shows it. The clock and the timer are given to
 * the constructor, so that tests drive time themselves; app.js gives the browser's.
 */
import { Pace } from './pace.js';

export class Outbox {
    /* clock: { nowUs(), setTimer(fn, ms) -> handle, clearTimer(handle) }. */
    constructor(clock, burst, rate) {
        this.clock = clock;
        this.pace = new Pace(burst, rate);
        this.items = []; // { line, tag, freeRide }
        this.running = false; // connected and joined: lines may go
        this.sending = false; // inside onSend: no re-entry
        this.timer = null;
        this.onSend = () => {};
        this.onChange = () => {};
    }

    get waiting() {
        return this.items.length;
    }

    /* Queues line after the others; sends it at once if its turn has come. A free ride
     * (/quit, which the server never refuses) costs no allowance but still waits. */
    push(line, tag, freeRide = false) {
        this.items.push({ line, tag, freeRide });
        if (this.running && !this.sending && this.items.length === 1) {
            this.flush();
        }
        if (this.items.length > 0) {
            this.onChange(this.items.length);
        }
    }

    /* Queues line before all the others: the /join back to our room after a
     * reconnection, ahead of the lines typed meanwhile. */
    pushFront(line, tag) {
        this.items.unshift({ line, tag, freeRide: false });
        if (this.running && !this.sending) {
            this.stopTimer();
            this.flush();
        }
        this.onChange(this.items.length);
    }

    /* The chat is on (just joined): a whole allowance, and the waiting lines start. */
    start() {
        this.pace.reset();
        this.running = true;
        this.flush();
    }

    /* The connection is gone: lines wait until the next start(). */
    stop() {
        this.running = false;
        this.stopTimer();
    }

    /* Drops every waiting line. */
    clear() {
        this.items = [];
        this.stopTimer();
        this.onChange(0);
    }

    stopTimer() {
        if (this.timer !== null) {
            this.clock.clearTimer(this.timer);
            this.timer = null;
        }
    }

    /* Sends lines while their turn has come; arms the timer for the next one. onSend may
     * push more lines or stop the outbox, so the state is read again after each call. */
    flush() {
        let sent = false;
        this.sending = true;
        while (this.running && this.items.length > 0) {
            const now = this.clock.nowUs();
            const item = this.items[0];
            if (!item.freeRide && !this.pace.take(now)) {
                const ms = Math.ceil(this.pace.waitUs(now) / 1000);
                this.stopTimer();
                this.timer = this.clock.setTimer(() => {
                    this.timer = null;
                    this.flush();
                }, ms);
                break;
            }
            this.items.shift();
            sent = true;
            this.onSend(item.line, item.tag);
        }
        this.sending = false;
        if (sent) {
            this.onChange(this.items.length);
        }
    }
}
