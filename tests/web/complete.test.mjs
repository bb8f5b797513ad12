// complete.test.mjs - what Tab offers and does (web/complete.js): the candidates as
// tests/unit/test_client_complete.c checks src/client/complete.c, then the input line.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { COMMANDS, candidates, complete, wordStart } from '../../web/complete.js';

const NAMES = ['bob', 'Bérénice', 'alice', 'bernard', 'carol'];

test('the first word completes a pseudo with a colon', () => {
    assert.deepEqual(candidates('ca', 0, 2, NAMES, 'alice'), ['carol:']);
    assert.deepEqual(candidates('  BO', 2, 4, NAMES, 'alice'), ['bob:']);
});

test('ourselves are never offered', () => {
    assert.deepEqual(candidates('al', 0, 2, NAMES, 'ALICE'), []);
});

test('a slash word completes a command', () => {
    assert.deepEqual(candidates('/j', 0, 2, NAMES, 'alice'), ['/join']);
    assert.deepEqual(candidates('/', 0, 1, NAMES, 'alice'), [...COMMANDS]);
    assert.deepEqual(candidates('/pa', 0, 3, NAMES, 'alice'), ['/part', '/password']);
    assert.deepEqual([...COMMANDS], [...COMMANDS].sort());
    assert.deepEqual(candidates('x /j', 2, 4, NAMES, 'alice'), []);
});

test('later words complete a pseudo alone, sorted as folded', () => {
    assert.deepEqual(candidates('/msg b', 5, 6, NAMES, 'alice'), ['bernard', 'bob', 'Bérénice']);
    assert.deepEqual(candidates('salut bé', 6, 8, NAMES, 'alice'), ['Bérénice']);
});

test('an empty word offers everyone', () => {
    assert.deepEqual(candidates('salut ', 6, 6, NAMES, 'alice'), [
        'bernard',
        'bob',
        'Bérénice',
        'carol',
    ]);
});

test('a word starts after the last blank before the cursor', () => {
    assert.equal(wordStart('salut bo', 8), 6);
    assert.equal(wordStart('bo', 2), 0);
    assert.equal(wordStart('a\tbo', 4), 2);
});

test('one candidate is put in whole, with a space', () => {
    assert.deepEqual(complete('ca', 2, NAMES, 'alice', null), {
        line: 'carol: ',
        cursor: 7,
        state: null,
    });
    assert.deepEqual(complete('dis à ca merci', 8, NAMES, 'alice', null), {
        line: 'dis à carol  merci',
        cursor: 12,
        state: null,
    });
});

test('several candidates: their common part, then each in turn', () => {
    let r = complete('salut ber', 9, NAMES, 'alice', null);
    assert.equal(r.line, 'salut bernard '); // one left: "ber" is not "bér"
    r = complete('salut b', 7, NAMES, 'alice', null);
    assert.equal(r.line, 'salut bernard');
    const seen = [r.line];
    for (let i = 0; i < 3; i++) {
        r = complete(r.line, r.cursor, NAMES, 'alice', r.state);
        seen.push(r.line);
    }
    assert.deepEqual(seen, ['salut bernard', 'salut bob', 'salut Bérénice', 'salut bernard']);
    r = complete('c', 1, ['carol', 'Caroline'], null, null);
    assert.equal(r.line, 'carol'); // the common part, in the first one's letters
    r = complete(r.line, r.cursor, ['carol', 'Caroline'], null, r.state);
    assert.equal(r.line, 'carol:');
});

test('nothing to complete leaves Tab to the browser', () => {
    assert.equal(complete('', 0, NAMES, 'alice', null), null);
    assert.equal(complete('salut ', 6, NAMES, 'alice', null), null);
    assert.equal(complete('zz', 2, NAMES, 'alice', null), null);
});
