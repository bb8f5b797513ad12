/* tcp.h - the plain TCP transport: bytes as they are, on the socket.
 *
 * The one implementation of transport.h today. It is a thin layer over libuv's uv_tcp_t:
 * reads go where the connection layer's alloc handler says, writes are libuv's, so plain
 * TCP costs nothing over calling libuv directly. Loop thread of the socket only.
 */
#ifndef CAUSERIE_TCP_H
#define CAUSERIE_TCP_H

#include <uv.h>

#include "transport.h"

/* Serves the connected socket fd on loop as transport t: Nagle off, since writes are
 * batched by the connection layer and Nagle would only delay each batch. On failure fd is
 * closed, t is being closed (on_closed follows) and a negative error is returned. */
int tcp_open(struct transport *t, uv_loop_t *loop, int fd);
/* The peer of t's socket, as addr.h writes it; "?:0" once it is reset. Any transport's. */
void tcp_peer_name(const struct transport *t, char *out, size_t size);

#endif
