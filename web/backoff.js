/* backoff.js - how long the page waits before trying to reconnect again.
 *
 * Pure and stateless: the terminal client's src/client/backoff.c. app.js asks for the next
 * wait each time an attempt fails and starts again from nothing once the chat is back: a
 * server restarting is found again within a second or two, and one down for an hour is
 * asked twice a minute, not hammered.
 */

export const BACKOFF_FIRST_S = 1;
export const BACKOFF_MAX_S = 30;

/* The wait after one of prevS seconds: 1 after 0 (the connection was just lost), then
 * twice the last one, at most 30. */
export function backoffNext(prevS) {
    if (!(prevS > 0)) {
        return BACKOFF_FIRST_S;
    }
    if (prevS >= BACKOFF_MAX_S / 2) {
        return BACKOFF_MAX_S;
    }
    return prevS * 2;
}
