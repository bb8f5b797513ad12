// protocol.test.mjs - the server's lines as web/protocol.js reads them, and pseudos as
// web/pseudo.js compares them: the rules of src/common/proto.c and pseudo.c, case by case.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
    answerField,
    countField,
    parseAction,
    parseFields,
    parseHistory,
    parseMessage,
    parseUtc,
    roomField,
    sanitize,
    splitKind,
    words,
} from '../../web/protocol.js';
import { fold, pseudoEqual, pseudoValid } from '../../web/pseudo.js';

test('a line is its kind, a space, then its text', () => {
    assert.deepEqual(splitKind('> bob: salut'), { kind: '>', text: 'bob: salut' });
    assert.deepEqual(splitKind('= #jeux 0 :'), { kind: '=', text: '#jeux 0 :' });
    assert.deepEqual(splitKind('* '), { kind: '*', text: '' });
    assert.deepEqual(splitKind('x'), { kind: '', text: 'x' });
    assert.deepEqual(splitKind('>bob'), { kind: '', text: '>bob' });
    assert.deepEqual(splitKind('é x'), { kind: '', text: 'é x' }); // a kind is one byte
});

test("a '%' prompt is answered in a password field, never kept", () => {
    assert.deepEqual(answerField(splitKind('% Mot de passe pour « alice » :').kind), {
        type: 'password',
        autocomplete: 'current-password',
        keep: false,
    });
    assert.deepEqual(answerField(splitKind('? Entrez votre pseudo :').kind), {
        type: 'text',
        autocomplete: 'nickname',
        keep: true,
    });
    for (const line of ['+ Bienvenue', '* x', '| a b : x', '; inconnu', 'x']) {
        assert.equal(answerField(splitKind(line).kind), null, line);
    }
});

test('a message is a pseudo before the first ": "', () => {
    assert.deepEqual(parseMessage('bob: salut: toi'), { pseudo: 'bob', body: 'salut: toi' });
    assert.deepEqual(parseMessage('bob: '), { pseudo: 'bob', body: '' });
    assert.equal(parseMessage(': salut'), null);
    assert.equal(parseMessage('bob:salut'), null);
});

test('an action is its first word and the rest', () => {
    assert.deepEqual(parseAction('bob range son bureau'), {
        pseudo: 'bob',
        body: 'range son bureau',
        hasBody: true,
    });
    assert.deepEqual(parseAction('bob'), { pseudo: 'bob', body: '', hasBody: false });
    assert.equal(parseAction(' bob'), null);
    assert.equal(parseAction(''), null);
});

test('a history line is a time and a whole line', () => {
    assert.deepEqual(parseHistory('2026-11-25T14:03:12Z > bob: salut'), {
        time: '2026-11-25T14:03:12Z',
        line: '> bob: salut',
    });
    assert.equal(parseHistory('2026-11-25T14:03:12Z'), null);
    assert.equal(parseHistory('2026-11-25T14:03:12Z >'), null);
    assert.equal(parseHistory(' > bob: x'), null);
});

test('fields come before " : " and the sentence', () => {
    assert.deepEqual(parseFields('bob #jeux : bob a rejoint #jeux', 2), {
        fields: ['bob', '#jeux'],
        sentence: 'bob a rejoint #jeux',
    });
    assert.deepEqual(parseFields('#jeux 0 :', 2), { fields: ['#jeux', '0'], sentence: '' });
    assert.deepEqual(parseFields('#a : x : y', 1), { fields: ['#a'], sentence: 'x : y' });
    assert.equal(parseFields('bob #jeux', 2), null);
    assert.equal(parseFields('bob  #jeux : x', 2), null);
    assert.equal(parseFields('bob #jeux :x', 2), null);
    assert.equal(parseFields('bob #jeux x : y', 2), null);
});

test('rooms, counts and words', () => {
    assert.equal(roomField('#jeux'), 'jeux');
    assert.equal(roomField('#'), null);
    assert.equal(roomField('jeux'), null);
    assert.equal(countField('0'), 0);
    assert.equal(countField('123456789'), 123456789);
    assert.equal(countField('1234567890'), null);
    assert.equal(countField('3a'), null);
    assert.equal(countField(''), null);
    assert.deepEqual(words(' a  b\tc '), ['a', 'b', 'c']);
});

test('times are read in the protocol form only', () => {
    assert.equal(parseUtc('2026-11-25T14:03:12Z').toISOString(), '2026-11-25T14:03:12.000Z');
    assert.equal(parseUtc('2024-02-29T00:00:00Z').toISOString(), '2024-02-29T00:00:00.000Z');
    assert.equal(parseUtc('2026-02-29T00:00:00Z'), null);
    assert.equal(parseUtc('2026-11-25T24:00:00Z'), null);
    assert.equal(parseUtc('2026-11-25 14:03:12Z'), null);
    assert.equal(parseUtc('2026-11-25T14:03:12'), null);
    assert.equal(parseUtc('2026-13-01T00:00:00Z'), null);
});

test('sanitize takes out what sanitize.c takes out', () => {
    assert.equal(sanitize('a\u0000b\u001bc\u007fd\u0085e'), 'abcde');
    assert.equal(sanitize('a\tb'), 'a b');
    assert.equal(sanitize('x\u202Ay\u2066z\u200Ew\u200Fv'), 'xyz\u200Ew\u200Fv'); // LRM, RLM stay
    assert.equal(sanitize('\uD800x'), '\uFFFDx');
    assert.equal(sanitize('<b>é</b>'), '<b>é</b>');
});

test('pseudos fold as the server folds them', () => {
    assert.equal(fold('Alice'), 'alice');
    assert.equal(fold('ÉLODIE'), 'élodie');
    assert.equal(fold('İ'), 'i'); // towlower, not the full mapping's "i̇"
    assert.equal(fold('ΣΊΣΥΦΟΣ'), 'σίσυφοσ'); // no final sigma: one code point at a time
    assert.ok(pseudoEqual('Élodie', 'élodie'));
    assert.ok(!pseudoEqual('alice', 'alicE2'));
});

test('names no server could give are told apart', () => {
    for (const ok of ['alice', 'Élodie', 'a'.repeat(32), '😀', 'x_y', 'a@b']) {
        assert.ok(pseudoValid(ok), ok);
    }
    for (const bad of [
        '',
        '/x',
        '@x',
        'a b',
        'a\u00A0b',
        'a\u200Bb',
        'a\tb',
        'a\u0007',
        'a'.repeat(33),
        'a\u202Eb',
    ]) {
        assert.ok(!pseudoValid(bad), JSON.stringify(bad));
    }
});
