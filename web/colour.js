/* colour.js - a pseudo's colour: the terminal client's hash and palette, as CSS classes.
 *
 * Pure, no DOM. src/client/style.c gives a pseudo the colour palette256[h % 78], h the
 * FNV-1a hash of the UTF-8 bytes of its folded form (pseudo.js), so that everyone sees the
 * same person in the same colour. The page computes the same index and names it as a
 * class, "pc0" to "pc77"; style.css gives each class that xterm colour, then moves its
 * lightness into a band readable on the light or the dark background, keeping its hue.
 * tests/web/ checks the hash against the C code and the palette against style.c.
 */
import { fold } from './pseudo.js';

/* style.c's palette256: xterm colour numbers, readable on dark and on light backgrounds. */
export const PALETTE_256 = Object.freeze([
    25, 26, 27, 31, 32, 33, 37, 38, 39, 40, 41, 42, 43, 44, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70,
    71, 72, 73, 74, 97, 98, 99, 100, 101, 105, 106, 107, 128, 129, 130, 131, 132, 133, 134, 135,
    136, 137, 138, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175,
    196, 197, 198, 199, 200, 202, 203, 204, 205, 206, 208, 209, 210, 211, 212,
]);
/* style.c's palette8, for terminals with the basic colours only: SGR 31 to 36. */
export const PALETTE_8 = Object.freeze([31, 32, 33, 34, 35, 36]);

const encoder = new TextEncoder();

/* FNV-1a over the folded pseudo's UTF-8 bytes, as an unsigned 32-bit number. */
export function pseudoHash(pseudo) {
    let h = 2166136261;
    for (const byte of encoder.encode(fold(pseudo))) {
        h = Math.imul(h ^ byte, 16777619) >>> 0;
    }
    return h >>> 0;
}

/* The pseudo's index in PALETTE_256: the same for every case of it. */
export function colourIndex(pseudo) {
    return pseudoHash(pseudo) % PALETTE_256.length;
}

/* The CSS class of the pseudo's colour. */
export function colourClass(pseudo) {
    return `pc${colourIndex(pseudo)}`;
}

/* The sRGB of an xterm colour of the 6x6x6 cube (16 to 231), as [r, g, b]. */
export function xtermRgb(n) {
    const levels = [0, 95, 135, 175, 215, 255];
    const i = n - 16;
    return [levels[Math.floor(i / 36)], levels[Math.floor(i / 6) % 6], levels[i % 6]];
}
