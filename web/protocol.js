/* protocol.js - the server's lines: kinds and the forms programs read (docs/PROTOCOL.md).
 *
 * Pure, no DOM: the page's mirror of the parsers at the end of src/common/proto.h, with the
 * same rules, so that the page reads a line exactly as the terminal client does. Every
 * parser takes the text after "K " and returns null for a text not of its form. Only kinds
 * and fields are read here, never the French sentences, which are for people. sanitize()
 * is src/common/sanitize.c's rule, applied again to everything shown, as the terminal
 * client does: no peer is trusted with the display. app.js, roster.js and lines.js use it.
 */

export const KIND = Object.freeze({
    PROMPT: '?', // the server waits for an answer: "? Entrez votre pseudo :"
    SECRET: '%', // the server waits for a secret answer (a password): typed unseen, never kept
    OK: '+', // the last request succeeded
    ERROR: '!', // the last request failed, and why
    NOTICE: '*', // something happened
    MESSAGE: '>', // "> PSEUDO: TEXT"
    ACTION: '&', // "& PSEUDO TEXT"
    PRIVATE: '@', // "@ PSEUDO: TEXT"
    HISTORY: '~', // "~ TIME LINE"
    WHO: '=', // "= #ROOM COUNT : PSEUDO PSEUDO ..."
    ENTER: '^', // with events: "^ PSEUDO #ROOM : ..."
    LEAVE: '-', // "- PSEUDO #ROOM : ..."
    RENAME: '|', // "| OLD NEW : ..."
    ROOM: '#', // "# #ROOM : ..."
    ROOM_ITEM: '$', // "$ #ROOM COUNT : ..."
});

/* The room everyone enters on arrival, without its '#'. */
export const DEFAULT_ROOM = 'général';
/* The capability asked for before the pseudo, for the '^ - | # $' lines. */
export const CAP_EVENTS = 'events';

/* How the page takes the answer to a prompt line of kind: for '?', a text field whose
 * answer is remembered as it always was; for '%', a password field (typed unseen, offered
 * by the browser's password manager) whose answer is never recalled by Up, never stored,
 * and cleared once sent; null for a kind that asks nothing. view.js applies it to the field
 * it shows, app.js reads keep. */
export function answerField(kind) {
    switch (kind) {
        case KIND.PROMPT:
            return { type: 'text', autocomplete: 'nickname', keep: true };
        case KIND.SECRET:
            return { type: 'password', autocomplete: 'current-password', keep: false };
        default:
            return null;
    }
}

/* A line's kind and its text, or kind '' and the whole line when it has none (too short,
 * or no space after its first character). */
export function splitKind(line) {
    if (line.length < 2 || line[1] !== ' ' || line.charCodeAt(0) >= 0x80) {
        return { kind: '', text: line };
    }
    return { kind: line[0], text: line.slice(2) };
}

/* "PSEUDO: TEXT" ('>' and '@'): the pseudo is everything before the first ": ". */
export function parseMessage(text) {
    const sep = text.indexOf(': ');
    if (sep <= 0) {
        return null;
    }
    return { pseudo: text.slice(0, sep), body: text.slice(sep + 2) };
}

/* "PSEUDO TEXT" ('&'): the pseudo is the first word; TEXT may be missing. */
export function parseAction(text) {
    const space = text.indexOf(' ');
    const pseudo = space < 0 ? text : text.slice(0, space);
    if (pseudo.length === 0) {
        return null;
    }
    return { pseudo, body: space < 0 ? '' : text.slice(space + 1), hasBody: space >= 0 };
}

/* "TIME LINE" ('~'): TIME the first word, LINE the rest, at least a kind and a space. */
export function parseHistory(text) {
    const space = text.indexOf(' ');
    if (space <= 0) {
        return null;
    }
    const line = text.slice(space + 1);
    if (line.length < 2 || line[1] !== ' ') {
        return null;
    }
    return { time: text.slice(0, space), line };
}

/* "F1 ... Fn : SENTENCE" or "F1 ... Fn :": n non-empty fields without spaces, single
 * spaces between them, then " :" and, if anything follows, a space and the sentence. */
export function parseFields(text, n) {
    const fields = [];
    let p = 0;
    for (let i = 0; i < n; i++) {
        const space = text.indexOf(' ', p);
        if (space < 0 || space === p) {
            return null;
        }
        fields.push(text.slice(p, space));
        p = space + 1;
    }
    if (p >= text.length || text[p] !== ':') {
        return null;
    }
    p++;
    if (p === text.length) {
        return { fields, sentence: '' };
    }
    if (text[p] !== ' ') {
        return null;
    }
    return { fields, sentence: text.slice(p + 1) };
}

/* A "#ROOM" field: the name after '#', not empty; null otherwise. */
export function roomField(field) {
    return field.length >= 2 && field[0] === '#' ? field.slice(1) : null;
}

/* A COUNT field: 1 to 9 decimal digits; null otherwise. */
export function countField(field) {
    return /^[0-9]{1,9}$/.test(field) ? Number(field) : null;
}

/* An ISO 8601 UTC time as the server writes it, "2026-11-25T14:03:12Z": a Date, or null
 * (style.c's style_parse_utc(): the same fields, the same ranges). */
export function parseUtc(s) {
    const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/.exec(s);
    if (!m) {
        return null;
    }
    const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1] || h > 23 || mi > 59 || se > 60) {
        return null;
    }
    const t = new Date(0);
    t.setUTCFullYear(y, mo - 1, d);
    t.setUTCHours(h, mi, se, 0);
    return t;
}

/* Words of a list separated by blanks (the names of a '=' line), empty ones skipped. */
export function words(text) {
    return text.split(/[ \t]+/).filter((w) => w.length > 0);
}

/* text with every lone surrogate replaced by U+FFFD: String.prototype.toWellFormed(),
 * which browsers before 2023 and Node.js 18 lack. */
export function wellFormed(text) {
    return text.replace(
        /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
        '\uFFFD',
    );
}

/* What the page shows of peer text: ill-formed UTF-16 (lone surrogates) becomes U+FFFD,
 * C0 and C1 controls and DEL go, a tab becomes a space, the bidi embeddings, overrides and
 * isolates go (src/common/sanitize.c). */
export function sanitize(text) {
    return wellFormed(text)
        .replace(/\t/g, ' ')
        .replace(/[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/gu, '');
}
