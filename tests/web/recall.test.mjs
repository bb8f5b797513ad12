// recall.test.mjs - Up and Down through the lines sent (web/recall.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Recall } from '../../web/recall.js';

test('up goes back, down comes forward to the line being typed', () => {
    const r = new Recall();
    r.remember('un');
    r.remember('deux');
    assert.equal(r.up('brouillon'), 'deux');
    assert.equal(r.up('deux'), 'un');
    assert.equal(r.up('un'), null);
    assert.equal(r.down(), 'deux');
    assert.equal(r.down(), 'brouillon');
    assert.equal(r.down(), null);
});

test('a line is not remembered twice in a row, nor when empty', () => {
    const r = new Recall();
    r.remember('a');
    r.remember('a');
    r.remember('');
    assert.deepEqual(r.lines, ['a']);
});

test('at most max lines are kept, the oldest go', () => {
    const r = new Recall(['x', 'y', 'z'], 2);
    assert.deepEqual(r.lines, ['y', 'z']);
    r.remember('w');
    assert.deepEqual(r.lines, ['z', 'w']);
});

test('sending starts the browsing again from the newest', () => {
    const r = new Recall(['a', 'b']);
    r.up('');
    r.up('');
    r.remember('c');
    assert.equal(r.up(''), 'c');
});
