/* web.h - the web port: the page over HTTP, then the chat over a WebSocket.
 *
 * A transport (transport.h) for the connections of the web listener, over plain TCP or over
 * TLS (HTTPS, WSS). A connection starts in HTTP: GET / and the page's files are answered
 * from the server's own table (assets.h) and the connection closed; GET /ws with a valid
 * WebSocket upgrade from this server's origin (or one --web-origin allows) switches it to
 * WebSocket, where each text message is one line of the line protocol and each line the
 * server sends is one text message. The session above sees lines, as from any transport:
 * it asks for the pseudo when the connection opens, and the prompt leaves with the upgrade;
 * its handshake timeout covers a peer that never upgrades. Every answer carries a
 * Content-Security-Policy that allows nothing but the server's own scripts and styles,
 * X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer. Loop thread of the
 * socket, but for web_setup() (main thread).
 */
#ifndef CAUSERIE_WEB_H
#define CAUSERIE_WEB_H

#include <stddef.h>
#include <uv.h>

#include "transport.h"

struct server_options;

/* Main thread, before the loops start: the origins --web-origin allows (borrowed from o,
 * which outlives the loops) and the line limit a message may reach. */
void web_setup(const struct server_options *o, unsigned n_loops);
void web_teardown(void);

/* The web transports (transport_open_fn): over plain TCP, and over TLS. */
int web_open(struct transport *t, uv_loop_t *loop, int fd);
int web_tls_open(struct transport *t, uv_loop_t *loop, int fd);

/* Writes into out the whole answer that turns a connection away when the server is full
 * (503), text being why, in French; returns its length. For the listener, which sends it
 * on the plain web port without opening a connection. */
size_t web_refusal(char *out, size_t size, const char *text);

#endif
