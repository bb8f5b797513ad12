/* notify.js - desktop notifications: asked for once, by the user, and only then shown.
 *
 * The browser's Notification API behind three calls for app.js. Nothing is asked at load:
 * the bell button (index.html) asks for the permission when the user clicks it, and the
 * choice is kept in the browser's storage, so that a click turns them off again. app.js
 * calls show() for a line that names us or a private message while the page is hidden;
 * it does nothing unless the user turned notifications on and the browser allows them.
 */
const STORE = 'causerie.notifications';

function supported() {
    return 'Notification' in window;
}

function stored() {
    try {
        return localStorage.getItem(STORE);
    } catch {
        return null; /* storage refused: off */
    }
}

function store(value) {
    try {
        localStorage.setItem(STORE, value);
    } catch {
        /* storage refused: the choice lasts as long as the page */
    }
}

/* Whether notifications are on: asked for, and allowed by the browser. */
export function notificationsOn() {
    return supported() && Notification.permission === 'granted' && stored() === 'on';
}

/* The bell button: hidden where notifications cannot be had (no API, or refused for
 * good), otherwise saying whether they are on. label is the element of its text. */
export function updateButton(button, label) {
    if (!supported() || Notification.permission === 'denied') {
        button.hidden = true;
        return;
    }
    const on = notificationsOn();
    button.hidden = false;
    button.setAttribute('aria-pressed', String(on));
    label.textContent = on ? 'Notifications activées' : 'Activer les notifications';
    button.title = on
        ? 'Vous êtes prévenu quand on vous nomme, page cachée ; cliquez pour arrêter'
        : 'Être prévenu quand on vous nomme ou vous écrit en privé, page cachée';
}

/* A click on the bell: off if on; otherwise on, the browser asking for the permission the
 * first time. */
export async function toggle() {
    if (notificationsOn()) {
        store('off');
        return;
    }
    const p =
        Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
    store(p === 'granted' ? 'on' : 'off');
}

/* Shows a notification if they are on; a click on it brings the page back. */
export function show(title, body) {
    if (!notificationsOn()) {
        return;
    }
    const n = new Notification(title, { body, tag: 'causerie', icon: 'icon.svg' });
    n.addEventListener('click', () => {
        window.focus();
        n.close();
    });
}
