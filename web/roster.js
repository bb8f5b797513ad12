/* roster.js - our room and who is in it, as the server's event lines tell it.
 *
 * Pure, no DOM: the terminal client's src/client/roster.c. Fed every server line, it keeps
 * the room we are in and the pseudos in it, from the lines the events capability brings
 * (docs/PROTOCOL.md, "Events"): '#' puts us in a room, '=' gives its whole list, '^' and
 * '-' bring and take one person, '|' renames one. It never reads a French sentence, and
 * without the capability it stays empty. Names and rooms are compared folded (pseudo.js).
 * app.js feeds it; the list of people, Tab (complete.js) and the status read it.
 */
import { pseudoEqual, pseudoValid } from './pseudo.js';
import { KIND, countField, parseFields, roomField, splitKind, words } from './protocol.js';

/* Names kept at most, as the C client: a larger room is counted whole. */
export const ROSTER_NAMES_MAX = 10000;
/* Names a '=' line gives at most (PROTO_WHO_MAX). */
const WHO_MAX = 500;

export class Roster {
    constructor() {
        this.room = null; // our room's name without '#', null until a '#' line came
        this.names = []; // pseudos as the server wrote them
        this.count = 0; // people in the room, as the last '=' and the events since say
        this.listed = false; // a '=' line for this room came since we entered it
    }

    has(name) {
        return this.find(name) >= 0;
    }

    find(name) {
        return this.names.findIndex((n) => pseudoEqual(n, name));
    }

    ourRoom(field) {
        const room = roomField(field);
        return this.room !== null && room !== null && pseudoEqual(room, this.room);
    }

    clearNames() {
        this.names = [];
        this.count = 0;
    }

    /* Takes one server line into account; self is our pseudo (or null), to know a change
     * of pseudo as ours. Returns { changed, renamedSelf, newSelf }. */
    onLine(line, self) {
        const u = { changed: false, renamedSelf: false, newSelf: null };
        const { kind, text } = splitKind(line);
        switch (kind) {
            case KIND.ENTER:
                u.changed = this.enter(text);
                break;
            case KIND.LEAVE:
                u.changed = this.leave(text);
                break;
            case KIND.RENAME:
                return this.rename(text, self, u);
            case KIND.ROOM:
                u.changed = this.enterRoom(text);
                break;
            case KIND.WHO:
                u.changed = this.list(text);
                break;
            default:
                break;
        }
        return u;
    }

    /* "^ PSEUDO #ROOM : ...": someone came into our room. */
    enter(text) {
        const f = parseFields(text, 2);
        if (!f || !this.ourRoom(f.fields[1]) || !pseudoValid(f.fields[0])) {
            return false;
        }
        if (this.has(f.fields[0])) {
            return false; /* already listed: a '=' line came after the arrival it tells */
        }
        if (this.names.length < ROSTER_NAMES_MAX) {
            this.names.push(f.fields[0]);
        }
        this.count++;
        return true;
    }

    /* "- PSEUDO #ROOM : ...": someone left our room, or the server. */
    leave(text) {
        const f = parseFields(text, 2);
        if (!f || !this.ourRoom(f.fields[1])) {
            return false;
        }
        const i = this.find(f.fields[0]);
        if (i >= 0) {
            this.names.splice(i, 1);
            this.count -= this.count > 0 ? 1 : 0;
            return true;
        }
        if (this.count > this.names.length) {
            this.count--; /* one of those a long '=' line left out */
            return true;
        }
        return false;
    }

    /* "| OLD NEW : ...": someone, anywhere on the server, or we, changed pseudo. */
    rename(text, self, u) {
        const f = parseFields(text, 2);
        if (!f || !pseudoValid(f.fields[1])) {
            return u;
        }
        const [from, to] = f.fields;
        if (self && pseudoEqual(from, self)) {
            u.renamedSelf = true;
            u.newSelf = to;
        }
        const i = this.find(from);
        if (i >= 0) {
            this.names[i] = to;
            u.changed = true;
        }
        return u;
    }

    /* "# #ROOM : ...": we are in ROOM now; its '=' line follows. */
    enterRoom(text) {
        const f = parseFields(text, 1);
        const room = f && roomField(f.fields[0]);
        if (!room || !pseudoValid(room)) {
            return false;
        }
        this.clearNames();
        this.room = room;
        this.listed = false;
        return true;
    }

    /* "= #ROOM COUNT : A @B C" for our room: the whole list again, operators' marks dropped. */
    list(text) {
        const f = parseFields(text, 2);
        const count = f && countField(f.fields[1]);
        if (!f || !this.ourRoom(f.fields[0]) || count === null) {
            return false;
        }
        this.clearNames();
        for (const word of words(f.sentence)) {
            if (this.names.length >= WHO_MAX) {
                break;
            }
            const w = word.length > 1 && word[0] === '@' ? word.slice(1) : word; /* an operator */
            if (pseudoValid(w)) {
                this.names.push(w); /* the others are still counted */
            }
        }
        this.count = Math.max(count, this.names.length);
        this.listed = true;
        return true;
    }
}
