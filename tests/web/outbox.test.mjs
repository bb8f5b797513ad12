// outbox.test.mjs - the paced queue every line the page sends goes through (web/outbox.js),
// driven by a clock of the test's own: lines leave in order, at the pace, wait while the
// connection is down, and the line that takes us back to our room goes first.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Outbox } from '../../web/outbox.js';

// A fake clock: timers run when the test moves time forward.
function fakeClock() {
    const c = {
        now: 0,
        timers: new Map(),
        next: 1,
        nowUs: () => c.now,
        setTimer(fn, ms) {
            const id = c.next++;
            c.timers.set(id, { fn, at: c.now + ms * 1000 });
            return id;
        },
        clearTimer(id) {
            c.timers.delete(id);
        },
        advance(us) {
            const end = c.now + us;
            for (;;) {
                const due = [...c.timers.entries()]
                    .filter(([, t]) => t.at <= end)
                    .sort((a, b) => a[1].at - b[1].at)[0];
                if (!due) {
                    break;
                }
                c.timers.delete(due[0]);
                c.now = Math.max(c.now, due[1].at);
                due[1].fn();
            }
            c.now = end;
        },
    };
    return c;
}

function outbox(burst = 10, rate = 5) {
    const clock = fakeClock();
    const o = new Outbox(clock, burst, rate);
    const sent = [];
    const changes = [];
    o.onSend = (line, tag) => sent.push([line, tag]);
    o.onChange = (n) => changes.push(n);
    return { o, clock, sent, changes };
}

test('nothing leaves before the chat starts', () => {
    const { o, sent } = outbox();
    o.push('bonjour', 'message');
    assert.deepEqual(sent, []);
    assert.equal(o.waiting, 1);
    o.start();
    assert.deepEqual(sent, [['bonjour', 'message']]);
    assert.equal(o.waiting, 0);
});

test('a paste of 30 lines leaves 9 at once, then one every 200 ms, in order', () => {
    const { o, clock, sent } = outbox();
    o.start();
    for (let i = 1; i <= 30; i++) {
        o.push(`ligne ${i}`, 'message');
    }
    assert.equal(sent.length, 9);
    assert.equal(o.waiting, 21);
    clock.advance(199999);
    assert.equal(sent.length, 9);
    clock.advance(1);
    assert.equal(sent.length, 10);
    clock.advance(20 * 200000);
    assert.deepEqual(
        sent.map(([l]) => l),
        Array.from({ length: 30 }, (_, i) => `ligne ${i + 1}`),
    );
    assert.equal(o.waiting, 0);
});

test('lines wait while stopped and go on after the next start', () => {
    const { o, clock, sent } = outbox();
    o.start();
    o.push('un', 'message');
    o.stop();
    o.push('deux', 'message');
    clock.advance(10000000);
    assert.deepEqual(
        sent.map(([l]) => l),
        ['un'],
    );
    o.start();
    assert.deepEqual(
        sent.map(([l]) => l),
        ['un', 'deux'],
    );
});

test('the way back to our room goes before the lines typed meanwhile', () => {
    const { o, sent } = outbox();
    o.push('tapé hors ligne', 'message');
    o.pushFront('/join jeux', 'command');
    o.start();
    assert.deepEqual(sent, [
        ['/join jeux', 'command'],
        ['tapé hors ligne', 'message'],
    ]);
});

test('a free ride costs no allowance but keeps its place', () => {
    const { o, clock, sent } = outbox(2, 5);
    o.start();
    o.push('a', 'message');
    o.push('b', 'message');
    o.push('/quit', 'quit', true);
    assert.deepEqual(
        sent.map(([l]) => l),
        ['a'],
    );
    clock.advance(200000);
    assert.deepEqual(
        sent.map(([l]) => l),
        ['a', 'b', '/quit'],
    );
});

test('the count of waiting lines is told when it changes', () => {
    const { o, changes } = outbox(2, 5);
    o.start();
    o.push('a', 'message');
    o.push('b', 'message');
    assert.deepEqual(changes, [0, 1]);
    o.clear();
    assert.equal(o.waiting, 0);
});
