// pace.test.mjs - the page's side of flood control (web/pace.js) and its wait after a lost
// connection (web/backoff.js), checked as tests/unit/test_client_pace.c and
// test_client_backoff.c check the terminal client's: the page must never be refused by a
// server with the same burst and rate, whose own rule runs here against every line.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BACKOFF_MAX_S, backoffNext } from '../../web/backoff.js';
import { FLOOD_BURST, FLOOD_RATE, Pace } from '../../web/pace.js';

// The server's flood_allows() (src/server/session.c), in microseconds.
function serverBucket(burst, rate) {
    return { tat: 0, interval: Math.floor(1000000 / rate), burst };
}

function serverAllows(b, now) {
    const tat = Math.max(b.tat, now);
    if (tat - now > (b.burst - 1) * b.interval) {
        return false;
    }
    b.tat = tat + b.interval;
    return true;
}

test('the defaults are the server flood control defaults', () => {
    assert.equal(FLOOD_BURST, 10);
    assert.equal(FLOOD_RATE, 5);
});

test('the first lines go at once but one is kept in reserve', () => {
    const p = new Pace(10, 5);
    for (let i = 0; i < 9; i++) {
        assert.ok(p.take(1000));
    }
    assert.equal(p.take(1000), false);
    assert.equal(p.waitUs(1000), 200000);
    assert.equal(p.take(1000 + 199999), false);
    assert.ok(p.take(1000 + 200000));
});

test('a paced page is never refused', () => {
    for (const burst of [1, 2, 3, 10, 50]) {
        for (const rate of [1, 5, 7, 1000]) {
            const p = new Pace(burst, rate);
            const s = serverBucket(burst, rate);
            const start = 5000000;
            let now = start;
            let arrived = 0;
            // Each line reaches the server after a delay of its own, as in the C test.
            const maxDelay =
                burst > 1 ? Math.floor((s.interval * 9) / 10) : Math.floor(s.interval / 11);
            for (let i = 0; i < 2000; i++) {
                if (i % 37 === 0) {
                    now += 3 * burst * s.interval;
                }
                now += p.waitUs(now);
                assert.ok(p.take(now));
                const delay = maxDelay ? (i * 7919) % maxDelay : 0;
                arrived = Math.max(arrived, now + delay);
                assert.ok(
                    serverAllows(s, arrived),
                    `burst ${burst}, rate ${rate}: line ${i} refused`,
                );
            }
            now -= Math.floor(2000 / 37) * 3 * burst * s.interval; // the silences
            const fastest = (2000 - burst) * s.interval;
            assert.ok(now - start <= fastest + fastest / 9 + 60 * s.interval);
        }
    }
});

test('the wait is zero when a line may go', () => {
    const p = new Pace(10, 5);
    assert.equal(p.waitUs(0), 0);
    assert.ok(p.take(0));
});

test('a reset gives a whole allowance', () => {
    const p = new Pace(2, 5);
    assert.ok(p.take(10));
    assert.equal(p.take(10) && p.take(10), false);
    p.reset();
    assert.ok(p.take(10));
});

test('zero turns pacing off', () => {
    for (const p of [new Pace(0, 5), new Pace(10, 0)]) {
        for (let i = 0; i < 1000; i++) {
            assert.ok(p.take(0));
        }
        assert.equal(p.waitUs(0), 0);
    }
});

test('the wait before reconnecting doubles from 1 s to 30 s', () => {
    const waits = [];
    let w = 0;
    for (let i = 0; i < 8; i++) {
        w = backoffNext(w);
        waits.push(w);
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
    assert.equal(backoffNext(BACKOFF_MAX_S), BACKOFF_MAX_S);
    assert.equal(backoffNext(4294967295), BACKOFF_MAX_S);
});
