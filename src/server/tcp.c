/* tcp.c - the plain TCP transport; see tcp.h and transport.h.
 *
 * Loop thread of the socket only. A write request that libuv keeps until the socket has
 * room is the caller's (struct transport_write); libuv's callbacks are mapped onto the
 * handlers the connection layer installed, found through transport_handlers().
 */
#include "tcp.h"

#include <stdlib.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/xalloc.h"

/* The transport a handle is: its first member. */
static struct transport *of_handle(uv_handle_t *h)
{
    return (struct transport *)h;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    transport_handlers()->alloc(of_handle(h), b);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    if (nread == 0) {
        return; /* EAGAIN: nothing to read after all */
    }
    struct transport *t = of_handle((uv_handle_t *)s);
    transport_handlers()->on_read(t, nread, b->base);
    if ((size_t)nread == b->len && !uv_is_closing((uv_handle_t *)s)) {
        transport_handlers()->on_full(t); /* the sender has more: the rest waits a turn */
    }
}

static int tcp_read_start(struct transport *t)
{
    return uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read);
}

static void tcp_read_stop(struct transport *t)
{
    uv_read_stop((uv_stream_t *)&t->tcp);
}

static int tcp_try_write(struct transport *t, const uv_buf_t *bufs, unsigned n)
{
    return uv_try_write((uv_stream_t *)&t->tcp, bufs, n);
}

static void on_write_done(uv_write_t *req, int status)
{
    struct transport_write *w = (struct transport_write *)req;
    w->done(w, status);
}

static int tcp_write(struct transport *t, struct transport_write *w, const uv_buf_t *bufs,
                     unsigned n)
{
    return uv_write(&w->uv, (uv_stream_t *)&t->tcp, bufs, n, on_write_done);
}

static size_t tcp_pending(const struct transport *t)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&t->tcp);
}

/* What TCP is given it sends as the socket makes room. */
static bool tcp_holding(const struct transport *t)
{
    (void)t;
    return false;
}

static void on_shutdown_done(uv_shutdown_t *req, int status)
{
    struct transport *t = req->data;
    free(req);
    transport_handlers()->on_shutdown(t, status);
}

static int tcp_shutdown(struct transport *t)
{
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    req->data = t;
    int r = uv_shutdown(req, (uv_stream_t *)&t->tcp, on_shutdown_done);
    if (r < 0) {
        free(req);
    }
    return r;
}

static void on_close_done(uv_handle_t *h)
{
    transport_handlers()->on_closed(of_handle(h));
}

static void tcp_close(struct transport *t)
{
    uv_close((uv_handle_t *)&t->tcp, on_close_done);
}

void tcp_peer_name(const struct transport *t, char *out, size_t size)
{
    struct sockaddr_storage ss = {.ss_family = AF_UNSPEC};
    int len = sizeof(ss);
    uv_tcp_getpeername(&t->tcp, (struct sockaddr *)&ss, &len); /* fails once reset: "?:0" */
    addr_format((const struct sockaddr *)&ss, out, size);
}

static const struct transport_ops tcp_ops = {
    .name = "tcp",
    .read_start = tcp_read_start,
    .read_stop = tcp_read_stop,
    .try_write = tcp_try_write,
    .write = tcp_write,
    .pending = tcp_pending,
    .holding = tcp_holding,
    .shutdown = tcp_shutdown,
    .close = tcp_close,
    .peer_name = tcp_peer_name,
};

/* The one layer of every plain TCP connection: it has no state but its operations. */
static const struct transport_layer tcp_layer = {&tcp_ops, NULL};

int tcp_open(struct transport *t, uv_loop_t *loop, int fd)
{
    uv_tcp_init(loop, &t->tcp);
    t->tcp.data = (void *)&tcp_layer;
    int r = uv_tcp_open(&t->tcp, fd);
    if (r < 0) {
        close(fd);
        tcp_close(t);
        return r;
    }
    uv_tcp_nodelay(&t->tcp, 1);
    return 0;
}
