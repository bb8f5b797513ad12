/* transport.h - how a connection's bytes travel: the interface every transport implements.
 *
 * A connection (client.c) reads and writes the line protocol's bytes through its transport
 * and knows nothing else of the wire: plain TCP (tcp.c), TLS (tls.c), and the web port's
 * HTTP and WebSocket (web.c), over TCP or TLS, chosen per listener, with nothing above the
 * connection changing (Redis's connection.h, where connSocket and connTLS sit behind one
 * ConnectionType). Every transport runs on a TCP socket, whose handle it embeds; what a
 * layered transport needs more it allocates for itself. Upcalls go to the handlers the
 * connection layer installs once at start (transport_set_handlers()), as libuv's read and
 * close callbacks. The loop thread that owns the socket is the only one to call any of
 * this.
 */
#ifndef CAUSERIE_TRANSPORT_H
#define CAUSERIE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

struct transport;

/* A write that the socket could not take at once, kept until done() is called: with 0
 * once every byte is written, or a negative error (UV_ECANCELED if the transport was
 * closed first). Embedded in the caller's request, as libuv's uv_write_t. */
struct transport_write {
    uv_write_t uv; /* the transport's own, for the bytes it writes on the socket */
    void (*done)(struct transport_write *w, int status);
};

struct transport_ops {
    const char *name; /* for the log: "tcp" */
    /* Starts handing input to on_read; returns 0 or a negative error. */
    int (*read_start)(struct transport *t);
    void (*read_stop)(struct transport *t);
    /* Writes what it can of bufs[0..n) now, without waiting: returns the bytes taken (all
     * of them, some, or UV_EAGAIN for none) or another negative error. */
    int (*try_write)(struct transport *t, const uv_buf_t *bufs, unsigned n);
    /* Writes all of bufs[0..n) as the socket makes room, then calls w->done. At most one in
     * flight. The buffers must stay valid until done. Returns 0 or a negative error (then
     * done is not called). */
    int (*write)(struct transport *t, struct transport_write *w, const uv_buf_t *bufs, unsigned n);
    /* Bytes handed to write() that the socket has not taken yet: more than 0 while the peer
     * is not reading fast enough. */
    size_t (*pending)(const struct transport *t);
    /* Whether it holds a write because nothing can be sent yet (before a TLS handshake is
     * over, before a WebSocket upgrade): one that shutdown() would cancel. */
    bool (*holding)(const struct transport *t);
    /* Ends our side once the writes in flight are done (a FIN; a TLS close_notify), then
     * calls on_shutdown. A write the transport holds because nothing can be sent yet
     * (before a TLS handshake, before a WebSocket upgrade) is done with UV_ECANCELED
     * instead: there is nobody to say it to yet. Returns 0 or a negative error. */
    int (*shutdown)(struct transport *t);
    /* Closes; on_closed follows, after every write in flight has been done. */
    void (*close)(struct transport *t);
    /* The peer's address as addr.h writes it: "127.0.0.1:53422" ("?:0" once reset). */
    void (*peer_name)(const struct transport *t, char *out, size_t size);
};

struct tls;

/* What the socket handle's data field points at: the top layer, whose first member says
 * what its operations are and which TLS layer, if any, reads the socket beneath it (itself,
 * when TLS is the top). Plain TCP's is one constant for every connection; TLS and the web's
 * are each connection's own state, allocated when it opens and freed when it closes. */
struct transport_layer {
    const struct transport_ops *ops;
    struct tls *tls; /* NULL: the socket's bytes are the top layer's */
};

/* The socket's handle is the transport's first member, so the handle is the transport, and
 * its data field, which libuv leaves to us, holds the top layer: a pointer more in every
 * connection would cost 8 bytes on each of 100,000. */
struct transport {
    uv_tcp_t tcp; /* the socket; tcp.data is the top struct transport_layer */
};

static inline const struct transport_ops *transport_ops(const struct transport *t)
{
    return ((const struct transport_layer *)t->tcp.data)->ops;
}

/* Opens a transport of one kind: serves the connected socket fd on loop as t, which it
 * sets up whole (operations included). On failure fd is closed, t is being closed
 * (on_closed follows) and a negative error is returned. Whoever accepts a connection
 * chooses the kind (the listener: tcp_open()), and the connection layer calls it. */
typedef int (*transport_open_fn)(struct transport *t, uv_loop_t *loop, int fd);

/* The connection layer's side, installed once at start (main thread). */
struct transport_handlers {
    /* Where the next read goes: the loop's shared buffer. */
    void (*alloc)(struct transport *t, uv_buf_t *buf);
    /* nread bytes of input in data (the buffer alloc gave, or one of the transport's own),
     * or nread < 0: UV_EOF or an error, after which nothing more is read. */
    void (*on_read)(struct transport *t, ssize_t nread, const char *data);
    /* The transport has read as much as one read of the socket takes: the connection stops
     * reading it until its next flush, so that one sender neither hogs the loop nor queues
     * more in one turn than one write can carry. */
    void (*on_full)(struct transport *t);
    void (*on_shutdown)(struct transport *t, int status);
    void (*on_closed)(struct transport *t);
};

void transport_set_handlers(const struct transport_handlers *h);
/* The handlers, for the transports' own files. */
const struct transport_handlers *transport_handlers(void);

/* The loop a transport's socket belongs to. */
static inline uv_loop_t *transport_loop(const struct transport *t)
{
    return t->tcp.loop;
}

/* Whether the bytes travel encrypted: TLS, under the line protocol or under the web's. */
static inline bool transport_encrypted(const struct transport *t)
{
    return ((const struct transport_layer *)t->tcp.data)->tls != NULL;
}

static inline int transport_read_start(struct transport *t)
{
    return transport_ops(t)->read_start(t);
}
static inline void transport_read_stop(struct transport *t)
{
    transport_ops(t)->read_stop(t);
}
static inline int transport_try_write(struct transport *t, const uv_buf_t *bufs, unsigned n)
{
    return transport_ops(t)->try_write(t, bufs, n);
}
static inline int transport_write(struct transport *t, struct transport_write *w,
                                  const uv_buf_t *bufs, unsigned n)
{
    return transport_ops(t)->write(t, w, bufs, n);
}
static inline size_t transport_pending(const struct transport *t)
{
    return transport_ops(t)->pending(t);
}
static inline bool transport_holding(const struct transport *t)
{
    return transport_ops(t)->holding(t);
}
static inline int transport_shutdown(struct transport *t)
{
    return transport_ops(t)->shutdown(t);
}
static inline void transport_close(struct transport *t)
{
    transport_ops(t)->close(t);
}
static inline void transport_peer_name(const struct transport *t, char *out, size_t size)
{
    transport_ops(t)->peer_name(t, out, size);
}

#endif
