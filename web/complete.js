/* complete.js - what Tab offers, and how the input line changes with it.
 *
 * Pure, no DOM. candidates() is the terminal client's src/client/complete.c: the first
 * word of a line completes a pseudo of our room as "pseudo:", so that one Tab and a space
 * address someone, as in irssi; a first word starting with '/' completes a command; any
 * other word a pseudo alone. Pseudos match without case (folded), come out sorted, and
 * never include our own. complete() applies them as readline does for the terminal: one
 * candidate is inserted whole with a space after it, several insert their common part; a
 * Tab that adds nothing more goes through the candidates one by one. app.js calls it.
 */
import { fold } from './pseudo.js';

/* The commands Tab completes, sorted: the page's own and the server's (docs/PROTOCOL.md),
 * as src/client/complete.c lists them. */
export const COMMANDS = Object.freeze([
    '/ban',
    '/clear',
    '/deop',
    '/help',
    '/history',
    '/invite',
    '/join',
    '/kick',
    '/me',
    '/mode',
    '/msg',
    '/nick',
    '/op',
    '/part',
    '/password',
    '/quit',
    '/register',
    '/rooms',
    '/say',
    '/search',
    '/topic',
    '/unban',
    '/unregister',
    '/who',
]);

function hasPrefix(s, word) {
    return fold(s).startsWith(fold(word));
}

function byFolded(a, b) {
    const x = fold(a);
    const y = fold(b);
    return x < y ? -1 : x > y ? 1 : 0;
}

/* The candidates for line[start, end), the word under the cursor. */
export function candidates(line, start, end, names, self) {
    const word = line.slice(start, end);
    const firstWord = /^[ \t]*$/.test(line.slice(0, start));
    if (firstWord && word.startsWith('/')) {
        return COMMANDS.filter((c) => c.startsWith(word));
    }
    const suffix = firstWord ? ':' : '';
    return names
        .filter((n) => !(self && fold(n) === fold(self)) && hasPrefix(n, word))
        .sort(byFolded)
        .map((n) => n + suffix);
}

/* Where the word that ends at cursor starts: words are separated by blanks only. */
export function wordStart(line, cursor) {
    let s = cursor;
    while (s > 0 && line[s - 1] !== ' ' && line[s - 1] !== '\t') {
        s--;
    }
    return s;
}

/* The longest common prefix of the candidates, compared without case; the first one's
 * letters are kept. */
function commonPrefix(list) {
    let n = list[0].length;
    for (const c of list.slice(1)) {
        let i = 0;
        while (i < n && i < c.length && fold(c[i]) === fold(list[0][i])) {
            i++;
        }
        n = i;
    }
    return list[0].slice(0, n);
}

/* One press of Tab on line with the cursor at cursor. state is what the last press
 * returned (null after any other key). Returns { line, cursor, state }, or null when there
 * is nothing to complete (the key is then the browser's, to move the focus). */
export function complete(line, cursor, names, self, state) {
    if (state && state.list.length > 1 && state.line === line && state.cursor === cursor) {
        /* Another Tab that added nothing: the next candidate, in turn. */
        const index = (state.index + 1) % state.list.length;
        return replace(state.base, state.start, state.end, state.list[index], false, {
            ...state,
            index,
        });
    }
    const start = wordStart(line, cursor);
    if (start === cursor) {
        return null; /* nothing typed to complete: Tab moves the focus, as everywhere */
    }
    const list = candidates(line, start, cursor, names, self);
    if (list.length === 0) {
        return null;
    }
    const next = { base: line, start, end: cursor, list, index: -1 };
    if (list.length === 1) {
        return replace(line, start, cursor, list[0], true, null);
    }
    const common = commonPrefix(list);
    if (fold(common).length > fold(line.slice(start, cursor)).length) {
        return replace(line, start, cursor, common, false, { ...next, index: -1 });
    }
    return replace(line, start, cursor, list[0], false, { ...next, index: 0 });
}

function replace(line, start, end, text, finished, state) {
    const insert = finished ? `${text} ` : text;
    const out = line.slice(0, start) + insert + line.slice(end);
    const cursor = start + insert.length;
    return { line: out, cursor, state: state && { ...state, line: out, cursor } };
}
