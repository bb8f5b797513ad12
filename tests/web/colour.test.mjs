// colour.test.mjs - a pseudo has the same colour on the page as in the terminal client.
//
// The hash is checked against the C code itself: colour_tool (tests/web/colour_tool.c,
// built by `make web-unit` into $CAUSERIE_BUILD/tests/) prints what the terminal client's
// style_pseudo_colour() gives each pseudo, and web/colour.js must give the same palette
// entry. The palettes are read from src/client/style.c, and web/style.css must hold one
// class per entry of the 256-colour palette, with that xterm colour.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
    PALETTE_8,
    PALETTE_256,
    colourClass,
    colourIndex,
    pseudoHash,
    xtermRgb,
} from '../../web/colour.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOOL =
    process.env.CAUSERIE_COLOUR_TOOL ??
    resolve(ROOT, process.env.CAUSERIE_BUILD ?? 'build', 'tests/colour_tool');

// Pseudos of every kind: cases, accents, letters whose lower case is longer or shorter in
// UTF-8, Greek and Cyrillic, CJK, emoji, punctuation.
const PSEUDOS = [
    'alice',
    'Alice',
    'ALICE',
    'bob',
    'carol',
    'dave',
    'Élodie',
    'élodie',
    'ÉLODIE',
    'Zoë',
    'Straße',
    'İstanbul',
    'ΣΊΣΥΦΟΣ',
    'Дмитрий',
    'дмитрий',
    '日本語',
    '😀emoji',
    "O'Brien",
    'x',
    'robot_42',
    'Ǆemal',
    'ǅemal',
    'ꞫK',
    'Ⅻ',
    'ＡＢＣ',
    'bérénice',
    'BÉRÉNICE',
    'ǈ',
    'Ω',
    'K',
];

test(
    'the hash gives the palette entry the terminal client gives',
    { skip: !existsSync(TOOL) && `no ${TOOL}: make web-unit builds it` },
    () => {
        const out = execFileSync(TOOL, PSEUDOS, {
            encoding: 'utf8',
            env: { ...process.env, LC_ALL: 'C.UTF-8' },
        });
        const rows = out.trim().split('\n');
        assert.equal(rows.length, PSEUDOS.length);
        PSEUDOS.forEach((p, i) => {
            const [c256, c8] = rows[i].split(' ');
            assert.equal(c256, `38;5;${PALETTE_256[colourIndex(p)]}`, `${p}: 256 colours`);
            assert.equal(
                c8,
                String(PALETTE_8[pseudoHash(p) % PALETTE_8.length]),
                `${p}: 8 colours`,
            );
        });
    },
);

test('the palettes are the terminal client palettes', () => {
    const src = readFileSync(resolve(ROOT, 'src/client/style.c'), 'utf8');
    const array = (name) =>
        src
            .match(new RegExp(`static const unsigned char ${name}\\[\\] = \\{([^}]*)\\}`))[1]
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
            .map(Number);
    assert.deepEqual(PALETTE_256, array('palette256'));
    assert.deepEqual(PALETTE_8, array('palette8'));
});

test('the stylesheet has one class per palette entry, with its xterm colour', () => {
    const css = readFileSync(resolve(ROOT, 'web/style.css'), 'utf8');
    const rules = [...css.matchAll(/^\.pc(\d+) \{ --pc: #([0-9a-f]{6}); \}/gm)].map((m) => [
        Number(m[1]),
        m[2],
    ]);
    const hex = (n) =>
        xtermRgb(n)
            .map((v) => v.toString(16).padStart(2, '0'))
            .join('');
    assert.deepEqual(
        rules,
        PALETTE_256.map((n, i) => [i, hex(n)]),
    );
});

test('a pseudo has one class whatever its case', () => {
    assert.equal(colourClass('Élodie'), colourClass('ÉLODIE'));
    assert.match(colourClass('alice'), /^pc([0-9]|[1-6][0-9]|7[0-7])$/);
});

test('xterm colours are those of the 6x6x6 cube', () => {
    assert.deepEqual(xtermRgb(16), [0, 0, 0]);
    assert.deepEqual(xtermRgb(25), [0, 95, 175]);
    assert.deepEqual(xtermRgb(231), [255, 255, 255]);
});
