/* lines.js - what each server line looks like on the page: the terminal client's style.c.
 *
 * Pure, no DOM: a line becomes a description, { time, kind, parts, mention, private, own },
 * which view.js turns into elements, each part as a text node (never as HTML). The forms
 * and texts are style.c's: "bob: salut", "* bob range son bureau", "[privé] bob: psst",
 * "* #jeux, 3 personnes : alice, bob", an event line as the sentence it carries, "! ..."
 * for errors, "* ..." for every other notice. A pseudo carries its colour class
 * (colour.js); our own lines are bold; a line that names us has the name marked; history
 * lines keep their own time and are shown dim, neither bold nor marked, as in the
 * terminal. Every piece of peer text goes through sanitize() here.
 */
import { colourClass } from './colour.js';
import { fold, pseudoEqual } from './pseudo.js';
import {
    KIND,
    countField,
    parseAction,
    parseFields,
    parseHistory,
    parseMessage,
    parseUtc,
    roomField,
    sanitize,
    splitKind,
    words,
} from './protocol.js';

/* "14:03": the local time of date. */
export function clock(date) {
    const pad = (n) => String(n).padStart(2, '0');
    return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/* Finds pseudo in text, without case, as a whole word: the characters around it are
 * neither letters nor digits nor '_'. Returns { at, length } in UTF-16 units, or null.
 * style.c's style_find_mention(): each start is folded over as many characters as the
 * pseudo has, since folding may change a character's length. */
export function findMention(text, pseudo) {
    if (!pseudo) {
        return null;
    }
    const want = fold(pseudo);
    const n = [...pseudo].length;
    const chars = [...text];
    let at = 0;
    for (let i = 0; i < chars.length; i++) {
        const piece = chars.slice(i, i + n).join('');
        const before = i > 0 ? chars[i - 1] : '';
        const after = i + n < chars.length ? chars[i + n] : '';
        if (fold(piece) === want && !WORD_CHAR.test(before) && !WORD_CHAR.test(after)) {
            return { at, length: piece.length };
        }
        at += chars[i].length;
    }
    return null;
}

function pseudoPart(pseudo, own) {
    return { text: sanitize(pseudo), cls: `pseudo ${colourClass(pseudo)}${own ? ' own' : ''}` };
}

/* The body of someone's line, our name marked where it appears (self null: never). */
function bodyParts(body, self) {
    const m = self ? findMention(body, self) : null;
    if (!m) {
        return { parts: [{ text: sanitize(body), cls: 'body' }], mention: false };
    }
    const parts = [
        { text: sanitize(body.slice(0, m.at)), cls: 'body' },
        { text: sanitize(body.slice(m.at, m.at + m.length)), cls: 'body mention' },
        { text: sanitize(body.slice(m.at + m.length)), cls: 'body' },
    ].filter((p) => p.text.length > 0);
    return { parts, mention: true };
}

function line(time, kind, parts, marks = {}) {
    return {
        time,
        kind,
        parts,
        mention: Boolean(marks.mention),
        private: Boolean(marks.private),
        own: Boolean(marks.own),
    };
}

/* "> bob: salut": the pseudo in its colour; our own in bold, and never a mention. */
function message(text, self, time, kind = 'message') {
    const m = parseMessage(text);
    if (!m) {
        return line(time, kind, [{ text: sanitize(text), cls: 'body' }]);
    }
    const own = Boolean(self) && pseudoEqual(m.pseudo, self);
    const body = bodyParts(m.body, own ? null : self);
    const parts = [pseudoPart(m.pseudo, own), { text: ': ', cls: '' }, ...body.parts];
    return line(time, kind, parts, { own, mention: body.mention });
}

/* "& bob range son bureau": "* bob range son bureau". */
function action(text, self, time) {
    const a = parseAction(text);
    if (!a) {
        return line(time, 'action', [{ text: `* ${sanitize(text)}`, cls: '' }]);
    }
    const own = Boolean(self) && pseudoEqual(a.pseudo, self);
    const parts = [{ text: '* ', cls: '' }, pseudoPart(a.pseudo, own)];
    let mention = false;
    if (a.hasBody) {
        const body = bodyParts(a.body, own ? null : self);
        parts.push({ text: ' ', cls: '' }, ...body.parts);
        mention = body.mention;
    }
    return line(time, 'action', parts, { own, mention });
}

function notice(text, time, kind = 'notice', mark = '* ') {
    return line(time, kind, [{ text: mark + sanitize(text), cls: '' }]);
}

/* "~ 2026-11-25T14:03:12Z > bob: salut": the old line at its own time, dim, with its
 * colours but neither bold nor marked. */
function history(text, now) {
    const h = parseHistory(text);
    const when = h && parseUtc(h.time);
    if (!when) {
        return notice(text, now); /* not a line of history after all */
    }
    const { kind, text: inner } = splitKind(h.line);
    let old;
    if (kind === KIND.MESSAGE) {
        old = message(inner, null, when);
    } else if (kind === KIND.ACTION) {
        old = action(inner, null, when);
    } else {
        old = line(when, 'notice', [{ text: sanitize(h.line), cls: '' }]);
    }
    return line(when, 'history', old.parts);
}

/* "= #jeux 3 : alice bob carol": "* #jeux, 3 personnes : alice, bob, carol". */
function who(text, now) {
    const f = parseFields(text, 2);
    const room = f && roomField(f.fields[0]);
    const count = f && countField(f.fields[1]);
    if (room === null || count === null || !f) {
        return notice(text, now);
    }
    const names = words(f.sentence).map(sanitize);
    let s = `* ${sanitize(f.fields[0])}, ${count} ${count > 1 ? 'personnes' : 'personne'}`;
    if (names.length > 0) {
        s += ` : ${names.join(', ')}`;
    }
    const more = count - names.length;
    if (more > 0) {
        if (names.length > 0) {
            s += more > 1 ? ` et ${more} autres` : ` et ${more} autre`;
        } else {
            s += ` (${more})`;
        }
    }
    return line(now, 'who', [{ text: s, cls: '' }]);
}

const EVENT_FIELDS = { '^': 2, '-': 2, '|': 2, $: 2, '#': 1 };

/* What a person reads of an event line: the sentence after " : " (for '$', the room
 * before it, "#jeux : 3 personnes"); null for a line not of its kind's form. */
export function eventText(kind, text) {
    const n = EVENT_FIELDS[kind];
    const f = n ? parseFields(text, n) : null;
    if (!f || f.sentence.length === 0) {
        return null;
    }
    const roomAt = kind === KIND.ENTER || kind === KIND.LEAVE ? 1 : 0;
    if (kind !== KIND.RENAME && roomField(f.fields[roomAt]) === null) {
        return null;
    }
    if (kind === KIND.ROOM_ITEM) {
        if (countField(f.fields[1]) === null) {
            return null;
        }
        return `${f.fields[0]} : ${f.sentence}`;
    }
    return f.sentence;
}

/* A server line as the page shows it; now is its arrival, self our pseudo (or null). */
export function renderServerLine(raw, self, now) {
    const { kind, text } = splitKind(raw);
    switch (kind) {
        case KIND.HISTORY:
            return history(text, now);
        case KIND.MESSAGE:
            return message(text, self, now);
        case KIND.ACTION:
            return action(text, self, now);
        case KIND.PRIVATE: {
            const m = message(text, self, now, 'private');
            m.parts.unshift({ text: '[privé] ', cls: 'tag' });
            m.private = true;
            return m;
        }
        case KIND.WHO:
            return who(text, now);
        case KIND.ENTER:
        case KIND.LEAVE:
        case KIND.RENAME:
        case KIND.ROOM:
        case KIND.ROOM_ITEM:
            return notice(eventText(kind, text) ?? text, now, 'event');
        case KIND.ERROR:
            return notice(text, now, 'error', '! ');
        default:
            return notice(text, now); /* notices, answers, kinds we do not know */
    }
}

/* Our own message (as sent, "//" undone) or our own /me action, in bold. */
export function renderOwnLine(text, self, isAction, now) {
    const parts = [];
    if (isAction) {
        parts.push({ text: '* ', cls: '' });
    }
    parts.push(pseudoPart(self, true));
    parts.push({ text: isAction ? ' ' : ': ', cls: 'own' });
    parts.push({ text: sanitize(text), cls: 'body own' });
    return line(now, isAction ? 'action' : 'message', parts, { own: true });
}

/* A notice of the page's own ("Reconnecté à ..."), dim, "* " first. */
export function renderNotice(text, now) {
    return notice(text, now);
}

/* An error of the page's own, "! " first. */
export function renderError(text, now) {
    return notice(text, now, 'error', '! ');
}
