/* ws.h - WebSocket frames (RFC 6455) on the web port: what comes in, and the headers of
 * what goes out.
 *
 * The one server file that calls wslay (Debian's libwslay), for the direction that needs
 * care: a client's frames, masked, maybe fragmented, with pings, closes and protocol errors
 * in between. wslay checks the masks, the reserved bits, the opcodes and the UTF-8 of text,
 * answers pings and closes, and hands the text over in pieces as it comes, unbuffered; a
 * binary message is refused (close 1003). The server's own text frames are not wslay's: a
 * frame is a 2-to-10-byte header before a line that every recipient shares, so the header
 * is written here (ws_text_header()) and goes in an iovec of its own beside the shared
 * bytes, never a copy of them. Pure but for the owner's callbacks; one thread per frame
 * reader.
 */
#ifndef CAUSERIE_WS_H
#define CAUSERIE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The longest header of a server frame: 2 bytes, 2 more past 125 bytes of payload, 8 more
 * past 65535. */
#define WS_HEADER_MAX 10

/* Close codes the server sends (RFC 6455, 7.4.1). */
#define WS_CLOSE_NORMAL      1000
#define WS_CLOSE_GOING_AWAY  1001
#define WS_CLOSE_UNSUPPORTED 1003

/* The owner of a frame reader: where text goes, and how control frames are sent. */
struct ws_handlers {
    /* A piece of a text message, unmasked; the message goes on. */
    void (*on_text)(void *arg, const char *data, size_t len);
    /* The text message is whole. */
    void (*on_text_end)(void *arg);
    /* Sends control-frame bytes: returns the bytes taken (all, some, or 0 for "not now,
     * later"), or a negative error. */
    ssize_t (*send)(void *arg, const uint8_t *data, size_t len);
};

struct ws {
    struct wslay_event_context *ctx; /* owned */
    const struct ws_handlers *h;     /* borrowed; static */
    void *arg;
    const uint8_t *in; /* the input being read, and what is left of it */
    size_t in_len;
    bool in_text;    /* a text message is under way */
    bool frame_text; /* the frame being read carries text (not a control frame) */
    bool stopped;    /* the owner wants no more input: the connection is closing */
};

/* Returns 0, or a negative error if wslay has no memory. */
int ws_init(struct ws *w, const struct ws_handlers *h, void *arg);
void ws_release(struct ws *w);

/* Reads in[0..len), calling the handlers for what it holds, then sends what wslay has
 * to say (pongs, a close). Returns 0 while the conversation goes on; -EPIPE once the peer
 * closed it (its close frame was answered), -EPROTO once it broke the protocol (a close
 * frame saying how was sent: 1002, 1003, 1007) or ours was sent: the owner then closes
 * the connection. */
int ws_feed(struct ws *w, const char *in, size_t len);
/* Sends the control frames wslay has waiting; call when the socket has room again. */
void ws_flush(struct ws *w);
/* Whether the conversation is over: no data frame may be sent any more. */
bool ws_over(const struct ws *w);
/* Queues our close frame with code, and sends it if it can. */
void ws_close(struct ws *w, uint16_t code);
/* The input handlers are no longer to be called: the owner is closing. */
void ws_stop(struct ws *w);

/* Writes the header of an unmasked, final text frame of len payload bytes into out;
 * returns its length (2, 4 or 10). */
size_t ws_text_header(uint8_t out[WS_HEADER_MAX], uint64_t len);

#endif
