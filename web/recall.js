/* recall.js - Up and Down: the lines sent before, back into the input line.
 *
 * Pure, no DOM: what readline's history gives the terminal client. Up goes back one line,
 * Down forward; past the newest, the line that was being typed comes back as it was. A
 * line is remembered when it is sent, not twice in a row, at most `max` of them. The page
 * keeps them across visits in the browser's storage (app.js), as the terminal client keeps
 * its history in a file.
 */

export const RECALL_MAX = 1000;

export class Recall {
    constructor(lines = [], max = RECALL_MAX) {
        this.max = max;
        this.lines = lines.slice(-max);
        this.pos = this.lines.length; // lines.length: the draft, not a recalled line
        this.draft = '';
    }

    /* A line was sent: remembered, and browsing starts again from the newest. */
    remember(line) {
        if (line.length > 0 && this.lines[this.lines.length - 1] !== line) {
            this.lines.push(line);
            if (this.lines.length > this.max) {
                this.lines.splice(0, this.lines.length - this.max);
            }
        }
        this.pos = this.lines.length;
        this.draft = '';
    }

    /* Up, with current what the input holds: the line before, or null at the oldest. */
    up(current) {
        if (this.pos === 0) {
            return null;
        }
        if (this.pos === this.lines.length) {
            this.draft = current;
        }
        this.pos--;
        return this.lines[this.pos];
    }

    /* Down: the line after, the draft past the newest, or null when already there. */
    down() {
        if (this.pos >= this.lines.length) {
            return null;
        }
        this.pos++;
        return this.pos === this.lines.length ? this.draft : this.lines[this.pos];
    }
}
