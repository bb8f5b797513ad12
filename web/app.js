/* app.js - the conversation with the server: the terminal client's src/client/chat.c.
 *
 * The page's one script (an ES module; the others are imported). It opens the WebSocket
 * of the page's own server (/ws, wss:// when the page came by https://), which speaks the
 * line protocol of docs/PROTOCOL.md, one line per message each way. Phases go from the
 * connection to the chat, as in chat.c: ask for the events capability before the prompt
 * has even come, answer the prompt with the pseudo once /cap is answered, then chat. With
 * events, server lines feed the roster (roster.js: our room, who is in it) before being
 * shown; the arrival's '#' and '=' lines, which the welcome already told, are not shown.
 * Only the kinds of lines are read, never their French. Everything the user says goes
 * through the outbox (outbox.js), at the server's flood-control pace. Once joined, a lost
 * connection is tried again after 1, 2, 4 ... 30 s (backoff.js) with the same pseudo, then
 * back to the same room; the input line and the lines sent meanwhile wait. The list of
 * rooms comes from a /rooms the page sends itself on entering a room (rooms.js). A secret
 * prompt ('%', a password) is answered in a password field, in the form before joining or
 * in place of the input line after: the answer is sent at once, never recalled or stored,
 * and the field emptied; nothing keeps it, so after a reconnection the user is asked
 * again. view.js
 * shows what happens; lines.js says how each line looks; notify.js notifies.
 */
import { backoffNext } from './backoff.js';
import { complete } from './complete.js';
import { renderError, renderNotice, renderOwnLine, renderServerLine } from './lines.js';
import * as notify from './notify.js';
import { Outbox } from './outbox.js';
import { FLOOD_BURST, FLOOD_RATE } from './pace.js';
import { CAP_EVENTS, DEFAULT_ROOM, KIND, answerField, sanitize, splitKind } from './protocol.js';
import { pseudoEqual } from './pseudo.js';
import { Recall } from './recall.js';
import { RoomList } from './rooms.js';
import { Roster } from './roster.js';
import * as view from './view.js';

const { els } = view;
const HOST = location.host;
const SECURE = location.protocol === 'https:';
const WS_URL = `${SECURE ? 'wss' : 'ws'}://${HOST}/ws`;

/* Where the browser keeps what the page remembers between visits. */
const STORE_PSEUDO = 'causerie.pseudo';
const STORE_RECALL = 'causerie.recall';
/* How long a '+' line waits to see whether '$' lines follow it (the answer to a /rooms
 * the page sent itself, which is not shown; rooms.js): the server writes them together. */
const HOLD_MS = 300;

const PHASE = Object.freeze({
    IDLE: 'idle', // not connected, not trying: before the first pseudo, or after /quit
    CONNECTING: 'connecting', // the WebSocket is opening
    AWAIT_PROMPT: 'await-prompt', // connected, waiting for the server to ask for the pseudo
    AWAIT_CAP: 'await-cap', // the prompt came and waits: the answer to /cap comes first
    ASK_PSEUDO: 'ask-pseudo', // waiting for the user to give a pseudo
    ASK_SECRET: 'ask-secret', // waiting for the user to give a password, before joining
    JOINING: 'joining', // pseudo sent, waiting for the verdict
    CHAT: 'chat',
    OFFLINE: 'offline', // the connection was lost; the next attempt is on a timer
    LEAVING: 'leaving', // /quit sent; waiting for the server to close
});

/* What a line in the outbox is, for when it leaves. */
const TAG = Object.freeze({
    MESSAGE: 'message', // shown as ours when it leaves
    ACTION: 'action', // /me: shown as our action
    COMMAND: 'command', // the server answers it
    QUIT: 'quit', // /quit: we leave once it is sent
    ROOMS: 'rooms', // the page's own /rooms, for the list of rooms: its answer is not shown
});

const chat = {
    phase: PHASE.IDLE,
    ws: null,
    pseudo: null, // the pseudo proposed, then ours
    pendingPseudo: null, // typed in the form before the server asked
    everJoined: false, // joined once: a lost connection is retried
    autoPseudo: false, // reconnecting: give our pseudo again without asking
    comingBack: false, // reconnecting: say so once joined, and go back to our room
    capAnswered: false, // this connection's /cap was answered
    events: false, // the server sends event lines
    arriving: false, // welcomed, with events: the arrival's '#' line is to come
    hideList: false, // the next line, if a '=', is the arrival's list: not shown
    returning: false, // reconnected: once the arrival's room is known, go back
    heldPrompt: null, // the server's first prompt, until /cap is answered
    roomBefore: null, // our room when the connection was lost
    backoffS: 0, // the wait before the next attempt
    retryIn: 0, // seconds left before it
    retryTimer: null,
    roster: new Roster(),
    rooms: new RoomList(), // the list of rooms, from the answers to /rooms
    holdTimer: null, // releases the line the list of rooms holds
    completion: null, // what the last Tab did, until another key
    unread: 0, // mentions and private messages while the page was hidden
};

const outbox = new Outbox(
    {
        nowUs: () => Math.floor(performance.now() * 1000),
        setTimer: (fn, ms) => setTimeout(fn, ms),
        clearTimer: (t) => clearTimeout(t),
    },
    FLOOD_BURST,
    FLOOD_RATE,
);
const recall = new Recall(loadJson(STORE_RECALL, []));

/* ---------------------------------------------------------------- storage */

function loadJson(key, fallback) {
    try {
        const v = JSON.parse(localStorage.getItem(key));
        return v ?? fallback;
    } catch {
        return fallback;
    }
}

function store(key, value) {
    try {
        localStorage.setItem(key, typeof value === 'string' ? value : JSON.stringify(value));
    } catch {
        /* storage refused (private mode, quota): the page works without it */
    }
}

/* ---------------------------------------------------------------- showing */

function showServerLine(line) {
    const d = renderServerLine(line, chat.everJoined ? chat.pseudo : null, new Date());
    view.appendLine(d);
    if ((d.mention || d.private) && chat.phase !== PHASE.IDLE) {
        notifyHidden(d);
    }
}

function notice(text) {
    view.appendLine(renderNotice(text, new Date()));
}

function error(text) {
    view.appendLine(renderError(text, new Date()));
}

/* The status bar: the connection's state always, and once joined who and where we are. */
function updateStatus() {
    let state = 'connecting';
    let stateText = 'Connexion…';
    switch (chat.phase) {
        case PHASE.IDLE:
        case PHASE.LEAVING:
            state = 'offline';
            stateText = 'Déconnecté';
            break;
        case PHASE.OFFLINE:
            state = 'offline';
            stateText = `Hors ligne, nouvel essai dans ${chat.retryIn} s`;
            break;
        case PHASE.ASK_PSEUDO:
        case PHASE.ASK_SECRET:
        case PHASE.CHAT:
            state = 'online';
            stateText = 'Connecté';
            break;
        default:
            if (chat.comingBack) {
                state = 'offline';
                stateText = 'Hors ligne, reconnexion…';
            }
            break;
    }
    view.setStatus({
        state,
        stateText,
        secure: SECURE,
        pseudo: chat.everJoined ? chat.pseudo : null,
        room: chat.everJoined ? chat.roster.room : null,
        count: chat.roster.count,
        waiting: outbox.waiting,
    });
    document.title = chat.unread > 0 ? `(${chat.unread}) causerie` : 'causerie';
}

function updatePeople() {
    const r = chat.roster;
    view.renderPeople(r.names, chat.pseudo, r.count, mentionPerson);
}

function updateRooms() {
    const current = chat.roster.room;
    const rooms = chat.rooms.rooms.map((r) =>
        current !== null && pseudoEqual(r.name, current) && chat.roster.listed
            ? { name: r.name, count: chat.roster.count }
            : r,
    );
    if (current !== null && !rooms.some((r) => pseudoEqual(r.name, current))) {
        rooms.unshift({ name: current, count: chat.roster.count });
    }
    view.renderRooms(rooms, current, joinRoom);
}

/* ---------------------------------------------------------------- notifications */

function updateNotifyButton() {
    notify.updateButton(els.notify, els.notifyLabel);
}

async function toggleNotifications() {
    await notify.toggle();
    updateNotifyButton();
}

/* A line that names us, or a private message, while the page is hidden: counted in the
 * title, and shown as a desktop notification if the user asked for them. */
function notifyHidden(d) {
    if (document.visibilityState !== 'hidden') {
        return;
    }
    chat.unread++;
    updateStatus();
    const who = d.parts.find((p) => p.cls.startsWith('pseudo'))?.text ?? 'causerie';
    const title = d.private
        ? `${who} (message privé)`
        : `${who} dans #${chat.roster.room ?? DEFAULT_ROOM}`;
    notify.show(
        title,
        d.parts
            .map((p) => p.text)
            .join('')
            .slice(0, 300),
    );
}

/* ---------------------------------------------------------------- sending */

function sendRaw(line) {
    if (chat.ws && chat.ws.readyState === WebSocket.OPEN) {
        chat.ws.send(line);
    }
}

function isCommand(line, name) {
    return line === name || line.startsWith(`${name} `) || line.startsWith(`${name}\t`);
}

/* A line's turn has come in the outbox. */
function onSend(line, tag) {
    if (tag === TAG.QUIT) {
        chat.phase = PHASE.LEAVING;
        outbox.stop();
        sendRaw(line);
        updateStatus();
        return;
    }
    sendRaw(line);
    if (tag === TAG.MESSAGE) {
        const text = line[0] === '/' ? line.slice(1) : line; /* "//x" is the message "/x" */
        view.appendLine(renderOwnLine(text, chat.pseudo, false, new Date()));
    } else if (tag === TAG.ACTION) {
        view.appendLine(
            renderOwnLine(line.slice(3).replace(/^[ \t]+/, ''), chat.pseudo, true, new Date()),
        );
    } else if (tag === TAG.ROOMS) {
        chat.rooms.sent(true);
    } else if (isCommand(line, '/rooms')) {
        chat.rooms.sent(false);
    }
}

/* The page's own part of /help; the server's list follows, as its answer. */
function localHelp() {
    for (const text of [
        'Commandes de la page :',
        '/help : affiche cette aide, puis celle du serveur',
        '/clear : efface la conversation affichée',
        '/quit [RAISON] : quitte la discussion',
        'Tab : complète un pseudo ou une commande ; Haut, Bas : lignes déjà envoyées',
        'Un clic sur un salon le rejoint ; un clic sur une personne la nomme dans votre message',
    ]) {
        notice(text);
    }
}

/* A line the user typed (or pasted) in the chat, connected or not. */
function chatLine(line) {
    if (line === '') {
        return;
    }
    recall.remember(line);
    store(STORE_RECALL, recall.lines.slice(-200));
    if (isCommand(line, '/quit')) {
        if (chat.phase !== PHASE.CHAT) {
            leaveNow();
            return;
        }
        const waiting = outbox.waiting;
        if (waiting === 1) {
            notice("Départ après l'envoi de la ligne en attente.");
        } else if (waiting > 1) {
            notice(`Départ après l'envoi des ${waiting} lignes en attente.`);
        }
        outbox.push(line, TAG.QUIT, true); /* never refused: no pace */
        return;
    }
    if (isCommand(line, '/clear')) {
        view.clearLog();
        return;
    }
    let tag = TAG.MESSAGE;
    if (line[0] === '/' && line[1] !== '/') {
        tag = isCommand(line, '/me') ? TAG.ACTION : TAG.COMMAND;
        if (isCommand(line, '/help')) {
            localHelp(); /* the server's part follows */
        }
    }
    outbox.push(line, tag);
}

/* A click on a room of the list. */
function joinRoom(name) {
    view.setPanel(false);
    if (chat.roster.room !== null && pseudoEqual(name, chat.roster.room)) {
        els.line.focus();
        return;
    }
    outbox.push(`/join ${name}`, TAG.COMMAND);
    els.line.focus();
}

/* A click on a person: their pseudo into the input line, as Tab would put it. */
function mentionPerson(name) {
    view.setPanel(false);
    const input = els.line;
    if (input.value.trim() === '') {
        input.value = `${name}: `;
    } else {
        const at = input.selectionStart ?? input.value.length;
        const before = input.value.slice(0, at);
        const sep = before === '' || before.endsWith(' ') ? '' : ' ';
        input.value = `${before}${sep}${name} ${input.value.slice(at)}`;
        input.setSelectionRange(
            at + sep.length + name.length + 1,
            at + sep.length + name.length + 1,
        );
    }
    input.focus();
}

/* The list of rooms is asked for quietly: its answer updates the list, unseen. */
function askRooms() {
    if (chat.everJoined) {
        outbox.push('/rooms', TAG.ROOMS);
    }
}

/* ---------------------------------------------------------------- the server */

function connect() {
    chat.phase = PHASE.CONNECTING;
    updateStatus();
    let opened = false;
    const ws = new WebSocket(WS_URL);
    chat.ws = ws;
    ws.addEventListener('open', () => {
        opened = true;
        askEvents();
    });
    ws.addEventListener('message', (e) => {
        if (ws === chat.ws && typeof e.data === 'string') {
            for (const line of e.data.split('\n')) {
                onLine(line.replace(/\r$/, ''));
            }
        }
    });
    ws.addEventListener('close', () => {
        if (ws === chat.ws) {
            chat.ws = null;
            onClosed(opened);
        }
    });
}

/* Connected: asks for the events capability at once, before the prompt has even come,
 * so that the pseudo can follow the answer without a round trip more. */
function askEvents() {
    chat.phase = PHASE.AWAIT_PROMPT;
    chat.capAnswered = false;
    chat.events = false;
    chat.heldPrompt = null;
    sendRaw(`/cap ${CAP_EVENTS}`);
    updateStatus();
}

function onLine(line) {
    const { kind, text } = splitKind(line);
    switch (chat.phase) {
        case PHASE.AWAIT_PROMPT:
        case PHASE.AWAIT_CAP:
        case PHASE.JOINING:
        case PHASE.ASK_PSEUDO:
        case PHASE.ASK_SECRET:
            handshakeLine(kind, text, line);
            break;
        case PHASE.CHAT:
            if (kind === KIND.SECRET) {
                showServerLine(line); /* the question stays in the conversation */
                askSecret(kind, text);
            } else {
                chatServerLine(kind, line);
            }
            break;
        case PHASE.LEAVING:
            chatServerLine(kind, line);
            break;
        default:
            break;
    }
}

/* During the handshake: a prompt, the answer to /cap, a refusal or the welcome. */
function handshakeLine(kind, text, line) {
    if (chat.phase === PHASE.AWAIT_CAP && (kind === KIND.OK || kind === KIND.ERROR)) {
        capAnswered(kind === KIND.OK);
    } else if (kind === KIND.PROMPT && !chat.capAnswered) {
        chat.heldPrompt = text; /* held: the pseudo waits for the answer to /cap */
        chat.phase = PHASE.AWAIT_CAP;
    } else if (kind === KIND.PROMPT) {
        askPseudo(text);
    } else if (kind === KIND.SECRET) {
        askSecret(kind, text); /* a password, for the pseudo just given */
    } else if (kind === KIND.OK) {
        joined(line);
    } else if (kind === KIND.ERROR) {
        chat.autoPseudo = false; /* our pseudo is taken now: the user chooses another */
        view.loginError(`! ${sanitize(text)}`);
        if (chat.everJoined) {
            showServerLine(line); /* in the conversation too, where it went on */
        }
    } else {
        showServerLine(line);
    }
}

/* The server answered /cap: on (a '+') or unknown (a '!': an old server takes it for a
 * pseudo it refuses, and asks again). Either way the user is not told. */
function capAnswered(on) {
    chat.capAnswered = true;
    chat.events = on;
    const prompt = chat.heldPrompt;
    chat.heldPrompt = null;
    if (on) {
        askPseudo(prompt); /* the prompt that waited */
    } else {
        chat.phase = PHASE.AWAIT_PROMPT; /* the next prompt, which follows the refusal */
    }
}

function askPseudo(promptText) {
    view.endSecretLine(); /* a password asked for before, if any, is not awaited now */
    view.hideSecret();
    let pseudo = null;
    if (chat.autoPseudo && chat.pseudo) {
        pseudo = chat.pseudo; /* back after a lost connection: the same pseudo */
    } else if (chat.pendingPseudo !== null) {
        pseudo = chat.pendingPseudo; /* typed while the connection opened */
        chat.pendingPseudo = null;
    }
    if (pseudo !== null) {
        chat.pseudo = pseudo;
        chat.phase = PHASE.JOINING;
        sendRaw(pseudo);
        view.pseudoSent();
        updateStatus();
        return;
    }
    chat.phase = PHASE.ASK_PSEUDO;
    view.askPseudo(sanitize(promptText ?? ''));
    updateStatus();
}

/* The server waits for a password: in the form before the first arrival, in place of the
 * input line once the chat was shown (in the chat, or coming back). */
function askSecret(kind, promptText) {
    if (chat.phase !== PHASE.CHAT) {
        chat.phase = PHASE.ASK_SECRET;
    }
    const prompt = sanitize(promptText);
    if (chat.everJoined) {
        view.askSecretLine(prompt, answerField(kind));
    } else {
        view.askSecret(prompt, answerField(kind));
    }
    updateStatus();
}

/* The password typed, sent at once, outside the outbox: the server reads it before any
 * other line, and a line waiting there could outlive the connection and go out, after a
 * reconnection, as a message. Never recalled, stored or shown. */
function sendSecret(answer) {
    sendRaw(answer);
    if (chat.phase === PHASE.ASK_SECRET) {
        chat.phase = PHASE.JOINING;
        updateStatus();
    }
}

/* A password asked for and not given is given up: the server is gone, or asks again. */
function dropSecret() {
    view.endSecretLine();
    if (view.secretAsked()) {
        view.askPseudo(null);
    }
}

function joined(line) {
    view.endSecretLine();
    const back = chat.comingBack;
    chat.comingBack = false;
    chat.autoPseudo = false;
    chat.everJoined = true;
    chat.backoffS = 0;
    store(STORE_PSEUDO, chat.pseudo);
    if (back) {
        notice(`Reconnecté à ${HOST}.`);
    }
    showServerLine(line);
    chat.roster = new Roster(); /* a new arrival: its '#' line says where */
    chat.phase = PHASE.CHAT;
    chat.returning = back;
    chat.hideList = false;
    chat.arriving = chat.events;
    view.showChat(!back || document.activeElement === els.pseudo);
    if (!chat.events) {
        /* Without events, the arrival is not told: it is in the default room. */
        startSending(DEFAULT_ROOM);
    }
    updatePeople();
    updateStatus();
}

/* The chat may go on: first, back to the room we were in before the connection was lost
 * if the new arrival put us elsewhere, ahead of the lines typed meanwhile. */
function startSending(room) {
    const before = chat.roomBefore;
    let rejoining = false;
    if (chat.returning && before && room && !pseudoEqual(before, room)) {
        outbox.pushFront(`/join ${before}`, TAG.COMMAND);
        rejoining = true;
    }
    chat.returning = false;
    outbox.start();
    return rejoining;
}

/* Whether a chat line is one the user is not shown: the arrival's '#' and '=' lines,
 * which say what the welcome just said. The arrival's '#' also lets the outbox start. */
function arrivalLine(kind) {
    if (kind === KIND.ROOM && chat.arriving) {
        chat.arriving = false;
        chat.hideList = true;
        if (!startSending(chat.roster.room)) {
            askRooms(); /* a /join back asks again, once there */
        }
        return true;
    }
    const list = chat.hideList && kind === KIND.WHO;
    chat.hideList = false; /* the '=' comes right after the '#', or not at all */
    return list;
}

/* ---------------------------------------------------------------- the list of rooms */

/* What the list of rooms (rooms.js) held is shown after all. */
function releaseHeld(line) {
    clearTimeout(chat.holdTimer);
    chat.holdTimer = null;
    if (line !== null) {
        showServerLine(line);
    }
}

/* Returns true if the line is the list's, not to be shown. */
function roomsLine(line) {
    const r = chat.rooms.onLine(line);
    if (r.before.length > 0) {
        clearTimeout(chat.holdTimer);
        r.before.forEach(showServerLine);
    }
    if (r.hold) {
        chat.holdTimer = setTimeout(() => releaseHeld(chat.rooms.release()), HOLD_MS);
    }
    if (r.changed) {
        updateRooms();
    }
    return r.take;
}

/* A server line during the chat: the roster and the list of rooms first, then the log. */
function chatServerLine(kind, line) {
    const u = chat.events ? chat.roster.onLine(line, chat.pseudo) : {};
    if (u.renamedSelf) {
        chat.pseudo = u.newSelf;
        store(STORE_PSEUDO, chat.pseudo);
    }
    const arrival = arrivalLine(kind);
    const taken = roomsLine(line);
    if (!arrival && !taken) {
        showServerLine(line);
    }
    if (kind === KIND.ROOM && !arrival && u.changed) {
        askRooms(); /* a room of our own choosing: the list again, with its counts */
    }
    if (u.changed || u.renamedSelf) {
        updatePeople();
        updateRooms();
        updateStatus();
    }
}

/* ---------------------------------------------------------------- losing it */

function onClosed(opened) {
    outbox.stop();
    dropSecret();
    releaseHeld(chat.rooms.reset());
    if (chat.phase === PHASE.LEAVING) {
        leaveNow();
        return;
    }
    if (!chat.everJoined) {
        /* Before the first pseudo: no retrying; the form connects again when sent. */
        chat.phase = PHASE.IDLE;
        if (!opened) {
            view.loginError(`Impossible de se connecter à ${HOST}.`);
        }
        updateStatus();
        return;
    }
    connectionLost(opened);
}

function connectionLost(opened) {
    if (chat.phase !== PHASE.CHAT) {
        retryLater(); /* an attempt failed on the way back: wait longer */
        if (!opened) {
            error(
                `Impossible de se reconnecter à ${HOST}. Nouvelle tentative dans ${chat.backoffS} s.`,
            );
        }
        return;
    }
    chat.roomBefore = chat.roster.room;
    chat.autoPseudo = true;
    chat.comingBack = true;
    chat.backoffS = 0; /* the chat was on: start again from the first wait */
    retryLater();
    error(
        `Connexion au serveur perdue : nouvelle tentative dans ${chat.backoffS} s. ` +
            'La ligne en cours et celles que vous enverrez attendront.',
    );
}

/* Waits before the next attempt, longer after each failure. */
function retryLater() {
    chat.backoffS = backoffNext(chat.backoffS);
    chat.phase = PHASE.OFFLINE;
    chat.retryIn = chat.backoffS;
    clearInterval(chat.retryTimer);
    chat.retryTimer = setInterval(retryTick, 1000);
    updateStatus();
}

function retryTick() {
    if (--chat.retryIn > 0) {
        updateStatus();
        return;
    }
    retryNow();
}

function retryNow() {
    clearInterval(chat.retryTimer);
    chat.retryTimer = null;
    connect();
}

/* /quit done, or asked while not in the chat: no more retrying; the form comes back. */
function leaveNow() {
    clearInterval(chat.retryTimer);
    chat.retryTimer = null;
    outbox.stop();
    outbox.clear();
    const ws = chat.ws;
    chat.ws = null;
    ws?.close();
    chat.phase = PHASE.IDLE;
    chat.everJoined = false;
    chat.comingBack = false;
    chat.autoPseudo = false;
    chat.roster = new Roster();
    view.endSecretLine();
    if (chat.pseudo) {
        els.pseudo.value = chat.pseudo; /* the pseudo we had, ready to come back */
    }
    notice('Vous avez quitté la discussion.');
    view.showLogin();
    updateStatus();
}

/* ---------------------------------------------------------------- the user */

function onPseudoSubmit(e) {
    e.preventDefault();
    if (chat.phase === PHASE.ASK_SECRET && view.secretAsked()) {
        view.pseudoSent();
        sendSecret(view.takeSecret());
        return;
    }
    const pseudo = els.pseudo.value;
    view.pseudoSent();
    if (chat.phase === PHASE.ASK_PSEUDO) {
        chat.pseudo = pseudo;
        chat.phase = PHASE.JOINING;
        sendRaw(pseudo);
        updateStatus();
        return;
    }
    chat.pendingPseudo = pseudo; /* given when the server asks */
    chat.autoPseudo = false;
    if (chat.phase === PHASE.IDLE) {
        connect();
    } else if (chat.phase === PHASE.OFFLINE) {
        retryNow();
    }
}

function onLineSubmit(e) {
    e.preventDefault();
    if (view.secretLineAsked()) {
        sendSecret(view.takeSecretLine()); /* what was being typed comes back */
        return;
    }
    const line = els.line.value;
    els.line.value = '';
    chat.completion = null;
    chatLine(line);
}

/* Lines pasted at once each go as a line of their own, at the outbox's pace; what follows
 * the last line break stays in the input line. */
function onPaste(e) {
    const text = e.clipboardData?.getData('text/plain') ?? '';
    if (!/[\r\n]/.test(text)) {
        return; /* one line: the browser's own paste */
    }
    e.preventDefault();
    const input = els.line;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? start;
    const after = input.value.slice(end);
    const lines = (input.value.slice(0, start) + text + after).split(/\r\n|\r|\n/);
    const last = lines.pop();
    for (const line of lines) {
        chatLine(line);
    }
    input.value = last;
    const cursor = last.length - after.length;
    input.setSelectionRange(cursor, cursor);
}

function onLineKey(e) {
    const input = els.line;
    if (e.key === 'Tab' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
        const r = complete(
            input.value,
            input.selectionStart ?? input.value.length,
            chat.roster.names,
            chat.pseudo,
            chat.completion,
        );
        if (r) {
            e.preventDefault();
            input.value = r.line;
            input.setSelectionRange(r.cursor, r.cursor);
            chat.completion = r.state;
        }
        return;
    }
    if (e.key === 'Escape' && chat.completion) {
        e.preventDefault();
        input.value = chat.completion.base;
        input.setSelectionRange(chat.completion.end, chat.completion.end);
        chat.completion = null;
        return;
    }
    chat.completion = null;
    if (
        (e.key === 'ArrowUp' || e.key === 'ArrowDown') &&
        !e.altKey &&
        !e.ctrlKey &&
        !e.metaKey &&
        !e.shiftKey
    ) {
        const v = e.key === 'ArrowUp' ? recall.up(input.value) : recall.down();
        if (v !== null) {
            e.preventDefault();
            input.value = v;
            input.setSelectionRange(v.length, v.length);
        }
    }
}

function onJoinSubmit(e) {
    e.preventDefault();
    const name = els.joinName.value.trim().replace(/^#/, '');
    els.joinName.value = '';
    if (name !== '') {
        joinRoom(name);
    }
}

function onVisibility() {
    if (document.visibilityState === 'visible' && chat.unread > 0) {
        chat.unread = 0;
        updateStatus();
    }
}

function start() {
    outbox.onSend = onSend;
    outbox.onChange = updateStatus;
    els.login.addEventListener('submit', onPseudoSubmit);
    els.compose.addEventListener('submit', onLineSubmit);
    els.line.addEventListener('keydown', onLineKey);
    els.line.addEventListener('paste', onPaste);
    els.joinForm.addEventListener('submit', onJoinSubmit);
    els.roomsRefresh.addEventListener('click', askRooms);
    els.notify.addEventListener('click', toggleNotifications);
    els.panelToggle.addEventListener('click', () => view.setPanel(!view.panelOpen()));
    document.querySelector('.chat').addEventListener('click', () => view.setPanel(false));
    document.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && view.panelOpen()) {
            view.setPanel(false);
            els.panelToggle.focus();
        }
    });
    document.addEventListener('visibilitychange', onVisibility);
    window.addEventListener('online', () => {
        if (chat.phase === PHASE.OFFLINE) {
            retryNow(); /* the network is back: no need to wait for the timer */
        }
    });
    const known = localStorage.getItem(STORE_PSEUDO);
    if (known) {
        els.pseudo.value = known;
    }
    updateNotifyButton();
    view.askPseudo(null);
    connect();
}

start();
