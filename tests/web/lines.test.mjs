// lines.test.mjs - what each server line looks like on the page (web/lines.js), with the
// terminal client's texts: tests/unit/test_client_style.c asserts the same strings for
// the terminal, so a line reads the same in both clients. Also mentions, own lines,
// history at its own time, and peer text sanitised.
import assert from 'node:assert/strict';
import { test } from 'node:test';

process.env.TZ = 'UTC'; // before any Date: the clock shows UTC here

const { clock, findMention, renderNotice, renderOwnLine, renderServerLine, renderError } =
    await import('../../web/lines.js');

const NOW = new Date('2026-11-25T12:00:00Z');

// The line as a terminal without colours prints it: the clock, a space, the text.
function shown(d) {
    return `${clock(d.time)} ${d.parts.map((p) => p.text).join('')}`;
}

function render(line, self = null) {
    return renderServerLine(line, self, NOW);
}

test('each kind reads as in the terminal client', () => {
    assert.equal(shown(render('> bob: salut')), '12:00 bob: salut');
    assert.equal(shown(render('& bob danse')), '12:00 * bob danse');
    assert.equal(shown(render('@ bob: psst')), '12:00 [privé] bob: psst');
    assert.equal(shown(render('! Non.')), '12:00 ! Non.');
    assert.equal(shown(render('* bob est déconnecté')), '12:00 * bob est déconnecté');
    assert.equal(shown(render('+ Bienvenue, bob !')), '12:00 * Bienvenue, bob !');
    assert.equal(shown(render('; inconnu')), '12:00 * inconnu');
    assert.equal(shown(render('% Mot de passe :')), '12:00 * Mot de passe :');
    assert.equal(shown(render('x')), '12:00 * x');
});

test('kinds are told apart for the page to dress them', () => {
    assert.equal(render('> bob: salut').kind, 'message');
    assert.equal(render('& bob danse').kind, 'action');
    assert.equal(render('@ bob: psst').kind, 'private');
    assert.ok(render('@ bob: psst').private);
    assert.equal(render('! Non.').kind, 'error');
    assert.equal(render('* bob est là').kind, 'notice');
    assert.equal(render('^ bob #jeux : bob a rejoint #jeux').kind, 'event');
    assert.equal(render('= #jeux 1 : bob').kind, 'who');
    assert.equal(render('~ 2026-11-25T09:41:00Z > bob: hier').kind, 'history');
});

test('who lines read as a sentence', () => {
    assert.equal(
        shown(render('= #jeux 3 : alice bob carol')),
        '12:00 * #jeux, 3 personnes : alice, bob, carol',
    );
    assert.equal(shown(render('= #jeux 1 : alice')), '12:00 * #jeux, 1 personne : alice');
    assert.equal(shown(render('= #jeux 0 :')), '12:00 * #jeux, 0 personne');
    assert.equal(
        shown(render('= #général 1000 : a b')),
        '12:00 * #général, 1000 personnes : a, b et 998 autres',
    );
    assert.equal(shown(render("= n'importe quoi")), "12:00 * n'importe quoi");
});

test('history lines keep their own time and neither mark nor bold', () => {
    const d = render('~ 2026-11-25T09:41:00Z > bob: hier alice', 'alice');
    assert.equal(shown(d), '09:41 bob: hier alice');
    assert.equal(d.mention, false);
    assert.equal(d.time.toISOString(), '2026-11-25T09:41:00.000Z');
    const own = render('~ 2026-11-25T09:41:00Z > alice: moi', 'alice');
    assert.equal(own.own, false);
    assert.ok(!own.parts.some((p) => p.cls.includes('own')));
    assert.equal(shown(render('~ 2026-11-25T09:41:00Z & bob part')), '09:41 * bob part');
    assert.equal(shown(render('~ pas une date > bob: x')), '12:00 * pas une date > bob: x');
});

test('event lines read as the notices they replace', () => {
    assert.equal(shown(render('^ bob #jeux : bob a rejoint #jeux')), '12:00 * bob a rejoint #jeux');
    assert.equal(
        shown(render('- bob #général : bob est déconnecté (à plus)')),
        '12:00 * bob est déconnecté (à plus)',
    );
    assert.equal(
        shown(render("| bob Robert : bob s'appelle maintenant Robert")),
        "12:00 * bob s'appelle maintenant Robert",
    );
    assert.equal(
        shown(render('# #jeux : Vous êtes maintenant dans #jeux.')),
        '12:00 * Vous êtes maintenant dans #jeux.',
    );
    assert.equal(shown(render('$ #jeux 3 : 3 personnes')), '12:00 * #jeux : 3 personnes');
});

test('event lines not of their form are shown whole', () => {
    assert.equal(shown(render('^ bob #jeux')), '12:00 * bob #jeux');
    assert.equal(shown(render('^ bob #jeux :')), '12:00 * bob #jeux :');
    assert.equal(shown(render('^ bob jeux : x')), '12:00 * bob jeux : x');
    assert.equal(shown(render('$ #jeux trois : 3 personnes')), '12:00 * #jeux trois : 3 personnes');
    assert.equal(shown(render('# jeux : x')), '12:00 * jeux : x');
});

test('a mention is a whole word, without case', () => {
    assert.deepEqual(findMention('salut Alice !', 'alice'), { at: 6, length: 5 });
    assert.equal(findMention('alicette', 'alice'), null);
    assert.equal(findMention('malice', 'alice'), null);
    assert.equal(findMention('alice_2', 'alice'), null);
    assert.deepEqual(findMention('alice: oui', 'alice'), { at: 0, length: 5 });
    assert.deepEqual(findMention('ÉLODIE?', 'élodie'), { at: 0, length: 6 });
    assert.equal(findMention('élodie2', 'élodie'), null);
    assert.equal(findMention('rien', null), null);
});

test('a line naming us is marked, not our own', () => {
    const d = render('> bob: salut alice, ça va ?', 'alice');
    assert.ok(d.mention);
    assert.deepEqual(
        d.parts.filter((p) => p.cls.includes('mention')).map((p) => p.text),
        ['alice'],
    );
    assert.equal(shown(d), '12:00 bob: salut alice, ça va ?');
    assert.equal(render('> alice: je suis alice', 'alice').mention, false);
    assert.ok(render('& bob salue alice', 'alice').mention);
    assert.ok(render('@ bob: psst', 'alice').private);
});

test('our own lines are set apart, the others are not', () => {
    const theirs = render('> bob: salut', 'alice');
    assert.equal(theirs.own, false);
    const ours = render('> Alice: bonjour', 'alice');
    assert.ok(ours.own);
    const sent = renderOwnLine('bonjour', 'alice', false, NOW);
    assert.equal(shown(sent), '12:00 alice: bonjour');
    assert.ok(sent.own);
    assert.equal(shown(renderOwnLine('danse', 'alice', true, NOW)), '12:00 * alice danse');
});

test('a pseudo carries its colour class, the same whatever the case', () => {
    const a = render('> alice: x').parts[0];
    const b = render('> ALICE: x').parts[0];
    assert.match(a.cls, /^pseudo pc\d+$/);
    assert.equal(a.cls, b.cls);
});

test('peer text is sanitised: controls and bidi overrides go, tabs become spaces', () => {
    const d = render('> bob: a\u001b[2Jb\u0007c\td\u202Ee\u2067f');
    assert.equal(shown(d), '12:00 bob: a[2Jbc def');
    assert.equal(
        shown(render('^ bob #jeux : bob \u001b[2Ja rejoint\u0007 #jeux')),
        '12:00 * bob [2Ja rejoint #jeux',
    );
});

test('markup is text like any other', () => {
    const d = render('> bob: <img src=x onerror=alert(1)>');
    assert.equal(shown(d), '12:00 bob: <img src=x onerror=alert(1)>');
});

test("the page's own notices and errors", () => {
    assert.equal(
        shown(renderNotice('Reconnecté à hôte:8080.', NOW)),
        '12:00 * Reconnecté à hôte:8080.',
    );
    assert.equal(
        shown(renderError('Connexion au serveur perdue.', NOW)),
        '12:00 ! Connexion au serveur perdue.',
    );
    assert.equal(renderError('x', NOW).kind, 'error');
});
