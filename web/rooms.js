/* rooms.js - the list of rooms, from the answers to /rooms, and which of them to show.
 *
 * Pure, no DOM, no timer: app.js sends /rooms itself each time it enters a room, so that
 * the list beside the conversation has every room and its count; those answers go to the
 * list only, while the answer to a /rooms the user typed is shown too. An answer is
 * "+ N salons :" then one "$ #ROOM COUNT : ..." line per room, and answers come in the
 * order of the requests (docs/PROTOCOL.md). Only kinds and fields are read: a '+' line that
 * comes while the page's own /rooms is the oldest unanswered is held until the next line
 * says whether it heads '$' lines (the server writes them together); app.js releases it
 * after a moment if nothing comes.
 */
import { KIND, countField, parseFields, roomField, splitKind } from './protocol.js';

export class RoomList {
    constructor() {
        this.rooms = []; // [{ name, count }], as the last answer said, largest first
        this.asked = []; // the /rooms sent and not yet answered, oldest first: { quiet }
        this.held = null; // a '+' line that may head the answer to our own /rooms
        this.answer = null; // { quiet }: '$' lines are coming, the answer to that /rooms
    }

    /* A /rooms has left; quiet when the page sent it itself. */
    sent(quiet) {
        this.asked.push({ quiet });
    }

    /* The connection is gone: no answer will come. Returns the held line, if any. */
    reset() {
        this.asked = [];
        this.answer = null;
        return this.release();
    }

    /* The held line, to be shown after all; null if none is held. */
    release() {
        const held = this.held;
        this.held = null;
        return held;
    }

    /* One server line of the chat. Returns { before, take, hold, changed }: lines held
     * earlier to show first, whether the line itself is the list's (not to be shown),
     * whether it is held (to release after a moment), and whether the list changed. */
    onLine(line) {
        const { kind, text } = splitKind(line);
        const r = { before: [], take: false, hold: false, changed: false };
        if (this.held !== null && kind === KIND.ROOM_ITEM) {
            const held = this.release();
            this.answer = this.asked.shift() ?? { quiet: false };
            if (!this.answer.quiet) {
                r.before.push(held);
            }
            this.rooms = [];
        } else if (this.held !== null) {
            r.before.push(this.release());
        }
        if (kind === KIND.OK && this.asked.length > 0 && this.asked[0].quiet) {
            this.held = line;
            r.take = r.hold = true;
            return r;
        }
        if (kind !== KIND.ROOM_ITEM) {
            this.answer = null;
            return r;
        }
        if (this.answer === null) {
            /* '$' lines with no '+' held: the answer to a /rooms the user typed */
            if (this.asked.length > 0 && !this.asked[0].quiet) {
                this.asked.shift();
            }
            this.answer = { quiet: false };
            this.rooms = [];
        }
        const f = parseFields(text, 2);
        const room = f && roomField(f.fields[0]);
        const count = f && countField(f.fields[1]);
        if (f && room !== null && count !== null) {
            this.rooms.push({ name: room, count });
            r.changed = true;
        }
        r.take = this.answer.quiet;
        return r;
    }
}
