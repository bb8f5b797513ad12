/* ws.c - WebSocket frames with wslay; see ws.h.
 *
 * wslay's event API pulls input through a callback: the input given to ws_feed() is handed
 * to it as it asks, and "would block" once it is used up, which makes wslay_event_recv()
 * return with its state kept for the next call. Text is not buffered (no_buffering): each
 * piece goes to the owner as it is unmasked, and the owner's line framer bounds how much is
 * kept. Control frames are buffered by wslay (125 bytes at most each), and the pongs and
 * closes it queues go out through the owner's send callback.
 */
#include "ws.h"

#include <errno.h>
#include <string.h>

#include <wslay/wslay.h>

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    struct ws *w = user;
    if (w->in_len == 0 || w->stopped) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < w->in_len ? len : w->in_len;
    memcpy(buf, w->in, n);
    w->in += n;
    w->in_len -= n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)flags;
    struct ws *w = user;
    ssize_t n = w->h->send(w->arg, data, len);
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n < 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static void on_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
    struct ws *w = user;
    /* Control frames may come between the pieces of a text message: theirs is not text. */
    w->frame_text =
        arg->opcode == WSLAY_TEXT_FRAME || (arg->opcode == WSLAY_CONTINUATION_FRAME && w->in_text);
    if (arg->opcode == WSLAY_BINARY_FRAME) {
        /* The protocol is text lines: a binary message is refused, and the conversation with
         * it. Reading stops here, before its payload. */
        wslay_event_queue_close(ctx, WS_CLOSE_UNSUPPORTED, NULL, 0);
        wslay_event_shutdown_read(ctx);
    } else if (arg->opcode == WSLAY_TEXT_FRAME) {
        w->in_text = true;
    }
}

static void on_frame_chunk(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user)
{
    struct ws *w = user;
    (void)ctx;
    if (w->frame_text && !w->stopped && arg->data_length > 0) {
        w->h->on_text(w->arg, (const char *)arg->data, arg->data_length);
    }
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    struct ws *w = user;
    (void)ctx;
    if (arg->opcode == WSLAY_TEXT_FRAME && w->in_text) {
        w->in_text = false;
        if (!w->stopped) {
            w->h->on_text_end(w->arg);
        }
    }
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .on_frame_recv_start_callback = on_frame_start,
    .on_frame_recv_chunk_callback = on_frame_chunk,
    .on_msg_recv_callback = on_msg,
};

int ws_init(struct ws *w, const struct ws_handlers *h, void *arg)
{
    memset(w, 0, sizeof(*w));
    w->h = h;
    w->arg = arg;
    if (wslay_event_context_server_init(&w->ctx, &callbacks, w) != 0) {
        return -ENOMEM;
    }
    wslay_event_config_set_no_buffering(w->ctx, 1);
    return 0;
}

void ws_release(struct ws *w)
{
    if (w->ctx) {
        wslay_event_context_free(w->ctx);
        w->ctx = NULL;
    }
}

bool ws_over(const struct ws *w)
{
    return !wslay_event_get_read_enabled(w->ctx) || wslay_event_get_close_sent(w->ctx) ||
           wslay_event_get_close_received(w->ctx);
}

int ws_feed(struct ws *w, const char *in, size_t len)
{
    w->in = (const uint8_t *)in;
    w->in_len = len;
    if (wslay_event_recv(w->ctx) != 0) {
        wslay_event_shutdown_read(w->ctx);
    }
    w->in_len = 0;
    ws_flush(w);
    if (wslay_event_get_close_received(w->ctx)) {
        return -EPIPE;
    }
    return ws_over(w) ? -EPROTO : 0;
}

void ws_flush(struct ws *w)
{
    if (wslay_event_want_write(w->ctx)) {
        (void)wslay_event_send(w->ctx); /* what the socket refuses waits for the next call */
    }
}

void ws_close(struct ws *w, uint16_t code)
{
    if (!wslay_event_get_close_sent(w->ctx)) {
        wslay_event_queue_close(w->ctx, code, NULL, 0);
    }
    ws_flush(w);
}

void ws_stop(struct ws *w)
{
    w->stopped = true;
}

size_t ws_text_header(uint8_t out[WS_HEADER_MAX], uint64_t len)
{
    out[0] = 0x80 | WSLAY_TEXT_FRAME; /* FIN, text */
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++) {
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    }
    return 10;
}
