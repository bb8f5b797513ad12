// rooms.test.mjs - the list of rooms from the answers to /rooms (web/rooms.js): the page's
// own answers feed the list unseen, the user's are shown too, and nothing else is taken.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RoomList } from '../../web/rooms.js';

// Feeds lines; returns what the page would show, in order (held lines released at the end).
function feed(list, lines) {
    const shown = [];
    for (const line of lines) {
        const r = list.onLine(line);
        shown.push(...r.before);
        if (!r.take) {
            shown.push(line);
        }
    }
    const held = list.release();
    if (held !== null) {
        shown.push(held);
    }
    return shown;
}

const ANSWER = ['+ 2 salons :', '$ #général 3 : 3 personnes', '$ #jeux 1 : 1 personne'];

test("the page's own /rooms feeds the list and shows nothing", () => {
    const list = new RoomList();
    list.sent(true);
    assert.deepEqual(feed(list, [...ANSWER, '> bob: salut']), ['> bob: salut']);
    assert.deepEqual(list.rooms, [
        { name: 'général', count: 3 },
        { name: 'jeux', count: 1 },
    ]);
    assert.deepEqual(list.asked, []);
});

test("the user's /rooms is shown, and feeds the list too", () => {
    const list = new RoomList();
    list.sent(false);
    assert.deepEqual(feed(list, ANSWER), ANSWER);
    assert.equal(list.rooms.length, 2);
    assert.deepEqual(list.asked, []);
});

test('answers come in the order asked: ours, then the user one', () => {
    const list = new RoomList();
    list.sent(true);
    list.sent(false);
    const second = ['+ 1 salon :', '$ #général 1 : 1 personne'];
    assert.deepEqual(feed(list, [...ANSWER, ...second]), second);
    assert.deepEqual(list.rooms, [{ name: 'général', count: 1 }]);
});

test('another answer while ours waits is shown, once the next line tells', () => {
    const list = new RoomList();
    list.sent(true);
    const r = list.onLine('+ Message privé pour bob : salut');
    assert.deepEqual(r, { before: [], take: true, hold: true, changed: false });
    const next = list.onLine('> bob: merci');
    assert.deepEqual(next.before, ['+ Message privé pour bob : salut']);
    assert.equal(next.take, false);
    assert.deepEqual(feed(list, ANSWER), []); // ours still comes, unseen
    assert.equal(list.rooms.length, 2);
});

test('a held line is released when nothing follows', () => {
    const list = new RoomList();
    list.sent(true);
    list.onLine('+ Vous vous appelez maintenant x.');
    assert.equal(list.release(), '+ Vous vous appelez maintenant x.');
    assert.equal(list.release(), null);
});

test('lost connection: nothing is awaited any more, the held line comes back', () => {
    const list = new RoomList();
    list.sent(true);
    list.onLine('+ 2 salons :');
    assert.equal(list.reset(), '+ 2 salons :');
    assert.deepEqual(feed(list, ['+ Oui.']), ['+ Oui.']);
});

test('other lines pass untouched', () => {
    const list = new RoomList();
    const lines = ['> bob: salut', '* bob est là', '! Non.', '+ Oui.', '# #jeux : x'];
    assert.deepEqual(feed(list, lines), lines);
    assert.deepEqual(list.rooms, []);
});

test('a room line not of its form is shown and not listed', () => {
    const list = new RoomList();
    list.sent(false);
    assert.deepEqual(feed(list, ['+ 1 salon :', '$ #jeux trois : x']), [
        '+ 1 salon :',
        '$ #jeux trois : x',
    ]);
    assert.deepEqual(list.rooms, []);
});
