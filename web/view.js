/* view.js - the page's elements: the only module that touches the DOM's content.
 *
 * app.js decides, this module shows: lines of the conversation (from lines.js's
 * descriptions), the status bar, the lists of rooms and of people, the pseudo form and
 * the input line, and the password fields that take the answer to a secret prompt ('%')
 * in the form or in place of the input line. Every piece of text, a peer's above all,
 * goes in as a text node (textContent, createTextNode), never as HTML, so that
 * "<img src=x onerror=...>" is shown as what it is. Nothing here sets an inline style: classes and attributes only, which the
 * server's Content-Security-Policy (style-src 'self') allows.
 */
import { clock } from './lines.js';
import { colourClass } from './colour.js';
import { fold } from './pseudo.js';

/* Lines kept in the conversation; older ones are removed, so a long day stays light. */
export const LOG_MAX = 2000;

const $ = (id) => document.getElementById(id);

export const els = {
    state: $('state'),
    security: $('security'),
    me: $('me'),
    room: $('room'),
    waiting: $('waiting'),
    notify: $('notify'),
    notifyLabel: $('notify-label'),
    panelToggle: $('panel-toggle'),
    side: $('side'),
    rooms: $('rooms'),
    roomsRefresh: $('rooms-refresh'),
    joinForm: $('join-form'),
    joinName: $('join-name'),
    people: $('people'),
    peopleCount: $('people-count'),
    log: $('log'),
    login: $('login'),
    pseudoLabel: $('pseudo-label'),
    pseudo: $('pseudo'),
    pseudoGo: $('pseudo-go'),
    secretLabel: $('secret-label'),
    secretRow: $('secret-row'),
    secret: $('secret'),
    secretGo: $('secret-go'),
    loginError: $('login-error'),
    compose: $('compose'),
    line: $('line'),
    secretLine: $('secret-line'),
    secretLineLabel: $('secret-line-label'),
};

/* The input line's text while a password takes its place. */
let draft = null;

function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) {
        e.className = cls;
    }
    if (text !== undefined) {
        e.textContent = text;
    }
    return e;
}

/* Whether the conversation is scrolled to its end (give or take a line). */
function atBottom() {
    const l = els.log;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 40;
}

/* Adds a line (a lines.js description) at the end of the conversation. */
export function appendLine(d) {
    const follow = atBottom();
    const li = el('li', `line ${d.kind}`);
    for (const flag of ['mention', 'private', 'own']) {
        if (d[flag]) {
            li.classList.add(flag);
        }
    }
    const t = el('time', 'clock', clock(d.time));
    t.dateTime = d.time.toISOString();
    t.title = d.time.toLocaleString('fr-FR', { dateStyle: 'full', timeStyle: 'medium' });
    const text = el('span', 'text');
    for (const p of d.parts) {
        text.append(p.cls ? el('span', p.cls, p.text) : document.createTextNode(p.text));
    }
    li.append(t, text);
    els.log.append(li);
    while (els.log.childElementCount > LOG_MAX) {
        els.log.firstElementChild.remove();
    }
    if (follow) {
        els.log.scrollTop = els.log.scrollHeight;
    }
}

export function clearLog() {
    els.log.replaceChildren();
}

/* The status bar. s: { state, stateText, secure, pseudo, room, count, waiting }. */
export function setStatus(s) {
    els.state.dataset.state = s.state;
    els.state.textContent = s.stateText;
    els.security.textContent = s.secure ? 'chiffré (TLS)' : 'non chiffré';
    els.security.title = s.secure
        ? 'La liaison avec le serveur est chiffrée (HTTPS, WSS)'
        : 'La liaison avec le serveur n’est pas chiffrée (HTTP, WS)';
    els.security.classList.toggle('secure', s.secure);
    els.me.hidden = !s.pseudo;
    if (s.pseudo) {
        els.me.replaceChildren(el('span', `pseudo own ${colourClass(s.pseudo)}`, s.pseudo));
    }
    els.room.hidden = !s.room;
    if (s.room) {
        const people = s.count > 1 ? `${s.count} personnes` : `${s.count} personne`;
        els.room.textContent = s.count > 0 ? `#${s.room} · ${people}` : `#${s.room}`;
    }
    els.waiting.hidden = !(s.waiting > 0);
    els.waiting.textContent = `${s.waiting} en attente`;
}

/* The rooms: [{ name, count }], ours marked; a click on one calls onPick(name). */
export function renderRooms(rooms, current, onPick) {
    const items = rooms.map((r) => {
        const b = el('button', 'room-item');
        b.type = 'button';
        b.dataset.room = r.name;
        b.append(el('span', 'room-name', `#${r.name}`), el('span', 'count', String(r.count)));
        const ours = current !== null && fold(r.name) === fold(current);
        if (ours) {
            b.setAttribute('aria-current', 'true');
        }
        b.title = ours ? 'Vous êtes dans ce salon' : `Rejoindre #${r.name}`;
        b.addEventListener('click', () => onPick(r.name));
        const li = el('li');
        li.append(b);
        return li;
    });
    els.rooms.replaceChildren(...items);
}

/* The people of our room, sorted, ourselves marked; a click on one calls onPick(name). */
export function renderPeople(names, self, count, onPick) {
    const sorted = [...names].sort((a, b) => (fold(a) < fold(b) ? -1 : fold(a) > fold(b) ? 1 : 0));
    const items = sorted.map((n) => {
        const b = el('button', 'person');
        b.type = 'button';
        const isSelf = self !== null && fold(n) === fold(self);
        b.append(el('span', `pseudo ${colourClass(n)}${isSelf ? ' own' : ''}`, n));
        if (isSelf) {
            b.append(el('span', 'you', ' (vous)'));
        }
        b.title = `Nommer ${n} dans votre message`;
        b.addEventListener('click', () => onPick(n));
        const li = el('li');
        li.append(b);
        return li;
    });
    const more = count - names.length;
    if (more > 0) {
        items.push(el('li', 'more', more > 1 ? `et ${more} autres` : `et ${more} autre`));
    }
    els.people.replaceChildren(...items);
    els.peopleCount.textContent = count > 0 ? String(count) : '';
}

/* The pseudo form: shown, with the server's prompt as its label, ready for an answer. */
export function askPseudo(promptText) {
    hideSecret();
    if (promptText) {
        els.pseudoLabel.textContent = promptText;
    }
    els.login.hidden = false;
    els.pseudo.disabled = false;
    els.pseudoGo.disabled = false;
    els.pseudo.focus();
    els.pseudo.select();
}

/* The pseudo (or the password) was sent: the form waits for the verdict. */
export function pseudoSent() {
    els.pseudoGo.disabled = true;
    els.secretGo.disabled = true;
    els.loginError.textContent = '';
}

export function loginError(text) {
    els.loginError.textContent = text;
    els.pseudoGo.disabled = false;
    els.secretGo.disabled = false;
}

/* The type and autocomplete of an answer's field (protocol.js's answerField()). */
function applyField(input, field) {
    input.type = field.type;
    input.autocomplete = field.autocomplete;
}

/* The server asks for a password before joining: the form's password field, under the
 * pseudo given (kept, fixed, for the browser's password manager), with the server's
 * prompt as its label. The form's own button stays its default one, hidden. */
export function askSecret(promptText, field) {
    applyField(els.secret, field);
    els.secretLabel.textContent = promptText;
    els.login.hidden = false;
    els.pseudo.readOnly = true;
    els.pseudoGo.hidden = true;
    els.pseudoGo.disabled = false;
    els.secretLabel.hidden = false;
    els.secretRow.hidden = false;
    els.secret.value = '';
    els.secretGo.disabled = false;
    els.secret.focus();
}

/* Whether the form asks for a password. */
export function secretAsked() {
    return !els.secretRow.hidden;
}

/* The password typed in the form, taken: the field is empty again. */
export function takeSecret() {
    const value = els.secret.value;
    els.secret.value = '';
    return value;
}

/* The form asks for the pseudo again, or is gone: no password field, nothing left in it. */
export function hideSecret() {
    els.secret.value = '';
    els.secretLabel.hidden = true;
    els.secretRow.hidden = true;
    els.pseudo.readOnly = false;
    els.pseudoGo.hidden = false;
}

/* The server asks for a password in the chat (or while reconnecting): a password field
 * takes the input line's place, the prompt as its placeholder and label; what was being
 * typed waits. */
export function askSecretLine(promptText, field) {
    if (els.secretLine.hidden) {
        draft = els.line.value;
        els.line.value = '';
    }
    applyField(els.secretLine, field);
    els.secretLine.placeholder = promptText;
    els.secretLineLabel.textContent = promptText;
    els.secretLine.value = '';
    els.line.hidden = true;
    els.secretLine.hidden = false;
    if (!els.compose.hidden) {
        els.secretLine.focus();
    }
}

/* Whether the input line is a password field now. */
export function secretLineAsked() {
    return !els.secretLine.hidden;
}

/* The password typed in place of the input line, taken; the input line comes back with
 * what was being typed. */
export function takeSecretLine() {
    const value = els.secretLine.value;
    endSecretLine();
    return value;
}

/* The password field gives the input line its place back, empty, with what was being
 * typed; nothing if none is shown. */
export function endSecretLine() {
    if (els.secretLine.hidden) {
        return;
    }
    const focused = document.activeElement === els.secretLine;
    els.secretLine.value = '';
    els.secretLine.hidden = true;
    els.line.hidden = false;
    els.line.value = draft ?? '';
    draft = null;
    if (focused) {
        els.line.focus();
    }
}

/* Joined: the conversation and the input line take the place of the form. */
export function showChat(focus) {
    hideSecret();
    els.login.hidden = true;
    els.compose.hidden = false;
    els.side.hidden = false;
    els.panelToggle.hidden = false;
    if (focus) {
        els.line.focus();
    }
}

/* Left the chat: the form again, without the input line or the panel of a room we left. */
export function showLogin() {
    els.compose.hidden = true;
    els.side.hidden = true;
    els.panelToggle.hidden = true;
    setPanel(false);
    askPseudo(null);
}

/* The narrow screen's panel of rooms and people, opened or closed. */
export function setPanel(open) {
    els.side.classList.toggle('open', open);
    els.panelToggle.setAttribute('aria-expanded', String(open));
}

export function panelOpen() {
    return els.side.classList.contains('open');
}
