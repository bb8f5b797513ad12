// roster.test.mjs - who is in our room, from the server's event lines (web/roster.js),
// case by case as tests/unit/test_client_roster.c checks src/client/roster.c.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Roster } from '../../web/roster.js';

function roster(...lines) {
    const r = new Roster();
    for (const l of lines) {
        r.onLine(l, 'alice');
    }
    return r;
}

test('a room line sets the room and clears the list', () => {
    const r = roster('# #jeux : x', '= #jeux 2 : alice bob', '# #cartes : y');
    assert.equal(r.room, 'cartes');
    assert.deepEqual(r.names, []);
    assert.equal(r.count, 0);
    assert.equal(r.listed, false);
});

test('nothing is known before a room line', () => {
    const r = roster('= #jeux 2 : alice bob', '^ carol #jeux : x');
    assert.equal(r.room, null);
    assert.deepEqual(r.names, []);
});

test('the list of our room replaces the names; another room changes nothing', () => {
    const r = roster('# #jeux : x', '= #jeux 2 : alice bob', '= #autre 1 : zoe');
    assert.deepEqual(r.names, ['alice', 'bob']);
    assert.equal(r.count, 2);
    assert.ok(r.listed);
});

test('a long room keeps its whole count; a short count counts the names', () => {
    assert.equal(roster('# #g : x', '= #g 1000 : a b').count, 1000);
    assert.equal(roster('# #g : x', '= #g 1 : a b c').count, 3);
    assert.deepEqual(roster('# #g : x', '= #g 0 :').names, []);
});

test('arrivals and departures of our room, once each', () => {
    const r = roster(
        '# #jeux : x',
        '= #jeux 2 : alice bob',
        '^ carol #jeux : x',
        '^ Carol #jeux : x',
    );
    assert.deepEqual(r.names, ['alice', 'bob', 'carol']);
    assert.equal(r.count, 3);
    r.onLine('- BOB #jeux : x', 'alice');
    assert.deepEqual(r.names, ['alice', 'carol']);
    assert.equal(r.count, 2);
    r.onLine('- zoe #autre : x', 'alice');
    r.onLine('^ zoe #autre : x', 'alice');
    assert.equal(r.count, 2);
});

test("an operator's mark is not part of its name", () => {
    const r = roster('# #jeux : x', '= #jeux 2 : @alice bob');
    assert.deepEqual(r.names, ['alice', 'bob']);
});

test('a departure of someone a long list left out is counted', () => {
    const r = roster('# #g : x', '= #g 5 : a b');
    assert.ok(r.onLine('- z #g : x', 'alice').changed);
    assert.equal(r.count, 4);
});

test('renames: someone else, and ourselves even before a room', () => {
    const r = roster('# #jeux : x', '= #jeux 2 : alice bob');
    assert.deepEqual(r.onLine('| bob Robert : x', 'alice'), {
        changed: true,
        renamedSelf: false,
        newSelf: null,
    });
    assert.deepEqual(r.names, ['alice', 'Robert']);
    const u = r.onLine('| ALICE Alicia : x', 'alice');
    assert.ok(u.renamedSelf);
    assert.equal(u.newSelf, 'Alicia');
    assert.ok(new Roster().onLine('| alice al : x', 'alice').renamedSelf);
});

test('French notices and malformed lines change nothing', () => {
    const r = roster('# #jeux : x', '= #jeux 1 : alice');
    for (const l of [
        '* bob a rejoint #jeux',
        '^ bob #jeux',
        '^ bob jeux : x',
        '^  #jeux : x',
        '= #jeux x : a',
        '# jeux : x',
        '| bob : x',
        '^ a b #jeux : x',
    ]) {
        assert.equal(r.onLine(l, 'alice').changed, false, l);
    }
    assert.deepEqual(r.names, ['alice']);
    assert.equal(r.room, 'jeux');
});

test('names and rooms no server could give are refused', () => {
    const r = roster('# #jeux : x', '= #jeux 3 : alice /x bob');
    assert.deepEqual(r.names, ['alice', 'bob']);
    assert.equal(r.count, 3);
    assert.equal(r.onLine('^ a\u200Bb #jeux : x', 'alice').changed, false);
    assert.equal(roster('# #a\u00A0b : x').room, null);
    assert.equal(r.onLine('| bob /nope : x', 'alice').changed, false);
});

test('a list line names at most 500', () => {
    const names = Array.from({ length: 600 }, (_, i) => `p${i}`);
    const r = roster('# #g : x', `= #g 600 : ${names.join(' ')}`);
    assert.equal(r.names.length, 500);
    assert.equal(r.count, 600);
});
