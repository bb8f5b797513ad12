/* pseudo.js - pseudos as the server compares them: folding, equality, what may be one.
 *
 * Pure, no DOM: the page's mirror of src/common/pseudo.c. The server folds a pseudo code
 * point by code point with towlower() in C.UTF-8 (Unicode's simple lower-case mapping), so
 * "Alice" and "alice" are one person; the page folds the same way to compare names, find
 * mentions and hash colours (colour.js), so that a pseudo gets the same colour here as in
 * the terminal client. roster.js, complete.js and lines.js use it.
 */
import { wellFormed } from './protocol.js';

/* Removed by the server's pseudo rules: Unicode's default-ignorable characters but the
 * variation selectors, plus the Hangul fillers (pseudo.c, is_invisible()). */
const INVISIBLE =
    /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180D\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFEFF\uFFA0\uFFF0-\uFFFB\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}]/u;
/* C0 and C1 controls and DEL, tab included (sanitize_is_control() and the tab). */
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/u;
/* White space as glibc's iswspace() sees it, plus the no-break spaces it leaves out. */
const SPACE = /[\s\u180E]/u;

export const PSEUDO_MAX_CHARS = 32;

/* The simple lower case of one code point. JavaScript's toLowerCase() applies the full
 * mapping, which differs from it for one character alone: U+0130 (İ) becomes "i̇" there
 * and plain "i" in towlower(). */
function lowerCodePoint(ch) {
    if (ch === '\u0130') {
        return 'i';
    }
    const l = ch.toLowerCase();
    return [...l].length === 1 ? l : ch;
}

/* The folded form of s: the key the server compares pseudos and rooms by. */
export function fold(s) {
    let out = '';
    for (const ch of s) {
        out += lowerCodePoint(ch);
    }
    return out;
}

export function pseudoEqual(a, b) {
    return fold(a) === fold(b);
}

/* Whether s is a pseudo (or a room's name) the server could have accepted: 1 to 32
 * characters, no space, control or invisible character, not starting with '/' nor with
 * '@' (an operator's mark in a '=' line). */
export function pseudoValid(s) {
    if (typeof s !== 'string' || s.length === 0 || s[0] === '/' || s[0] === '@') {
        return false;
    }
    if (CONTROL.test(s) || INVISIBLE.test(s) || SPACE.test(s) || s !== wellFormed(s)) {
        return false;
    }
    return [...s].length <= PSEUDO_MAX_CHARS;
}
