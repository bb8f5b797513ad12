/* fuzz_ws.c - libFuzzer harness for WebSocket frames in (src/server/ws.c, over wslay).
 *
 * It drives ws_init(), ws_feed(), ws_close(), ws_stop() as web.c does: text pieces are
 * appended to a line that each message's end completes, the send callback takes all, part
 * or nothing of what it is given as a tape from the input says (or fails), and input stops
 * at the first negative verdict. The first bytes choose the mode, the cuts, the tape and
 * a length for ws_text_header(). In raw mode the rest is the wire; in structured mode it
 * is a list of messages, pings, closes and bad frames that the harness encodes as masked
 * frames, so that long valid conversations are reached. A reference reader, written from
 * RFC 6455 and the checks wslay makes, says what must come out of the wire: the text
 * handed over is exactly the unmasked payload of its text messages, the verdict and close
 * code are those expected, pongs echo pings; the same whole, in the fuzzer's pieces and
 * byte by byte. Always: no text after a negative verdict or ws_stop(), and what is sent
 * back is well-formed server control frames (final, unmasked, <= 125 bytes, close last).
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "server/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CUTS   7
#define TAPE_BYTES 8
/* The preamble: flags, where to close, the send tape, MAX_CUTS piece lengths, a length. */
#define PREAMBLE     (2 + TAPE_BYTES + 2 * MAX_CUTS + 8)
#define F_STRUCTURED 0x01 /* flags: encode the body as frames */
#define F_CLOSE_AT   0x02 /* flags: the server closes before the piece preamble[1] says */
#define CUTS_SHIFT   2    /* flags: bits 2-4, the number of cuts */
/* A structured wire's bytes, at most: a few frames past 65535 bytes, not hundreds. */
#define WIRE_MAX (128 * 1024)
/* Byte-by-byte feeding only for wires this short: one ws_feed() call per byte. */
#define BYTES_FEED_MAX 1024

enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };
#define CLOSE_NONE        (-1) /* no close frame expected or seen */
#define CLOSE_EMPTY       0    /* a close frame with no payload */
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_INVALID  1007
#define WS_CLOSE_TOO_BIG  1009

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* A list of byte strings, each "<len>:<bytes>", in order: messages, pings, pongs. */
static void list_add(struct buf *list, const void *p, size_t len)
{
    buf_appendf(list, "%zu:", len);
    buf_append(list, p, len);
}

/* ---------------------------------------------------------------- UTF-8, as wslay checks it */

/* Where a text message stands in its UTF-8 (table 3-7 of Unicode, as wslay's DFA). */
struct utf8 {
    unsigned need;  /* continuation bytes still to come */
    uint8_t lo, hi; /* the range of the next one */
};

/* False when b cannot come next: the text is ill-formed. */
static bool utf8_step(struct utf8 *u, uint8_t b)
{
    if (u->need > 0) {
        if (b < u->lo || b > u->hi) {
            return false;
        }
        u->need--;
        u->lo = 0x80;
        u->hi = 0xBF;
        return true;
    }
    if (b < 0x80) {
        return true;
    }
    if (b < 0xC2 || b > 0xF4) {
        return false;
    }
    u->need = b < 0xE0 ? 1 : b < 0xF0 ? 2 : 3;
    u->lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;
    u->hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
    return true;
}

/* ---------------------------------------------------------------- the reference reader */

/* What a server must make of a wire: the text messages whole, the one under way, the
 * verdict, the close frame it sends, the pings it answers. */
struct model {
    struct buf msgs, cur, pings, close_payload;
    size_t n_msgs;
    bool in_text;     /* a fragmented text message is under way */
    bool cur_exact;   /* the owner has exactly cur; else a prefix of it */
    int verdict;      /* 0, -EPIPE or -EPROTO */
    int close;        /* CLOSE_NONE, CLOSE_EMPTY or a code */
    struct utf8 utf8; /* of the text message under way */
    /* The last frame read is the peer's close with bytes past ASCII in its reason. wslay
     * 1.1.1 checks a close frame's UTF-8 piece by piece as it comes, each from its third
     * byte (wslay_event_recv(): i = 2 per chunk), so whether such a reason is refused
     * (1007) or echoed depends on how the input was split: both end the conversation. */
    bool close_doubt;
};

struct frame {
    bool fin, mask;
    unsigned rsv, op;
    uint64_t len;
    uint8_t key[4];
    size_t head; /* bytes before the payload */
};

static void stop(struct model *m, int verdict, int close)
{
    m->verdict = verdict;
    m->close = close;
}

/* Reads a frame's header at in[0..len); 0 if it is not all there yet, -1 if wslay's frame
 * layer refuses it (an empty close), else 1. */
static int read_header(const uint8_t *in, size_t len, struct frame *f)
{
    if (len < 2) {
        return 0;
    }
    f->fin = in[0] & 0x80;
    f->rsv = (in[0] >> 4) & 7;
    f->op = in[0] & 0x0F;
    f->mask = in[1] & 0x80;
    f->len = in[1] & 0x7F;
    if ((f->op & 8) && (f->len > 125 || !f->fin)) {
        return -1; /* a control frame is short and whole */
    }
    size_t ext = f->len == 126 ? 2 : f->len == 127 ? 8 : 0;
    if (len < 2 + ext) {
        return 0;
    }
    if (ext) {
        f->len = be(in + 2, ext);
        if (ext == 2 ? f->len < 126 : f->len < 65536 || f->len >> 63) {
            return -1; /* not the shortest form, or past 2^63 */
        }
    }
    f->head = 2 + ext + (f->mask ? 4 : 0);
    if (len < f->head) {
        return 0;
    }
    memcpy(f->key, in + 2 + ext, f->mask ? 4 : 0);
    return 1;
}

/* The checks wslay makes once a frame's first payload byte (or its end) is there. */
static bool frame_allowed(struct model *m, const struct frame *f)
{
    bool ok_op = m->in_text ? f->op == OP_CONT || (f->op & 8)
                            : f->op == OP_TEXT || f->op == OP_BINARY || f->op >= OP_CLOSE;
    if (f->rsv || !f->mask || !ok_op || f->op > OP_PONG) {
        stop(m, -EPROTO, WS_CLOSE_PROTOCOL);
    } else if (f->len > 0x7FFFFFFF) {
        stop(m, -EPROTO, WS_CLOSE_TOO_BIG);
    } else if (f->op == OP_BINARY) {
        stop(m, -EPROTO, WS_CLOSE_UNSUPPORTED); /* ws.c refuses binary messages */
    }
    return m->verdict == 0;
}

/* Text bytes of the message under way; false once they are ill-formed. */
static bool take_text(struct model *m, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!utf8_step(&m->utf8, p[i])) {
            buf_append(&m->cur, p, i);
            m->cur_exact = false; /* wslay drops the piece that holds the bad byte */
            stop(m, -EPROTO, WS_CLOSE_INVALID);
            return false;
        }
    }
    buf_append(&m->cur, p, n);
    return true;
}

static void end_text(struct model *m, const struct frame *f)
{
    m->in_text = !f->fin;
    if (!f->fin) {
        return;
    }
    if (m->utf8.need > 0) {
        stop(m, -EPROTO, WS_CLOSE_INVALID); /* the message ends inside a character */
        return;
    }
    list_add(&m->msgs, m->cur.data, m->cur.len);
    m->n_msgs++;
    buf_reset(&m->cur);
}

static bool valid_code(unsigned code)
{
    return (code >= 1000 && code <= 1011 && code != 1004 && code != 1005 && code != 1006) ||
           (code >= 3000 && code <= 4999);
}

/* The peer's close frame, whole or not: its reason is checked as it comes (see
 * close_doubt); the whole frame is echoed if it is valid. */
static void peer_close(struct model *m, const uint8_t *p, size_t n, bool whole)
{
    for (size_t i = 2; i < n; i++) {
        m->close_doubt |= p[i] >= 0x80;
    }
    if (!whole) {
        struct utf8 u = {0};
        for (size_t i = 2; i < n; i++) {
            if (!utf8_step(&u, p[i])) {
                stop(m, -EPROTO, WS_CLOSE_INVALID);
                return;
            }
        }
        return;
    }
    struct utf8 u = {0};
    for (size_t i = 2; i < n; i++) {
        if (!utf8_step(&u, p[i])) {
            stop(m, -EPROTO, WS_CLOSE_INVALID);
            return;
        }
    }
    if (u.need > 0) {
        stop(m, -EPROTO, WS_CLOSE_INVALID);
    } else if (n >= 2 && !valid_code(be(p, 2))) {
        stop(m, -EPROTO, WS_CLOSE_PROTOCOL);
    } else {
        stop(m, -EPIPE, n >= 2 ? (int)be(p, 2) : CLOSE_EMPTY);
        buf_append(&m->close_payload, p, n >= 2 ? n : 0);
    }
}

/* A copy of payload bytes, unmasked; the caller frees it. */
static uint8_t *unmask(const uint8_t *in, size_t len, const uint8_t key[4])
{
    uint8_t *p = malloc(len + 1);
    assert(p);
    for (size_t i = 0; i < len; i++) {
        p[i] = in[i] ^ key[i % 4];
    }
    return p;
}

/* One frame whose header is read; returns its bytes on the wire, or 0 to stop reading. */
static size_t model_frame(struct model *m, const struct frame *f, const uint8_t *in, size_t len)
{
    size_t avail = len - f->head < f->len ? len - f->head : (size_t)f->len;
    if (f->len > 0 && avail == 0) {
        return 0; /* wslay looks at the frame with its first payload byte */
    }
    if (!frame_allowed(m, f)) {
        return 0;
    }
    uint8_t *p = unmask(in + f->head, avail, f->key);
    size_t used = 0;
    if (f->op == OP_TEXT || (f->op == OP_CONT && m->in_text)) {
        m->in_text = true;
        if (take_text(m, p, avail) && avail == f->len) {
            end_text(m, f);
            used = f->head + avail;
        }
    } else if (f->op == OP_CLOSE) {
        peer_close(m, p, avail, avail == f->len);
        used = avail == f->len ? f->head + avail : 0;
    } else if (avail == f->len) {
        if (f->op == OP_PING) {
            list_add(&m->pings, p, avail);
        }
        used = f->head + avail;
    }
    free(p);
    return m->verdict == 0 ? used : 0;
}

static void model_init(struct model *m)
{
    memset(m, 0, sizeof(*m));
    buf_init(&m->msgs);
    buf_init(&m->cur);
    buf_init(&m->pings);
    buf_init(&m->close_payload);
    m->cur_exact = true;
    m->close = CLOSE_NONE;
}

static void model_release(struct model *m)
{
    buf_release(&m->msgs);
    buf_release(&m->cur);
    buf_release(&m->pings);
    buf_release(&m->close_payload);
}

/* Reads the whole wire as a server must. */
static void model_run(struct model *m, const uint8_t *in, size_t len)
{
    model_init(m);
    size_t off = 0;
    for (;;) {
        struct frame f;
        int r = read_header(in + off, len - off, &f);
        if (r < 0) {
            stop(m, -EPROTO, CLOSE_EMPTY);
        }
        size_t used = r > 0 ? model_frame(m, &f, in + off, len - off) : 0;
        if (used == 0) {
            return;
        }
        off += used;
    }
}

/* ---------------------------------------------------------------- the owner, as web.c */

struct owner {
    struct buf msgs, cur, out; /* messages whole, the line under way, bytes sent back */
    size_t n_msgs;
    const uint8_t *tape; /* how the send callback behaves, 3 bits a call */
    size_t tape_pos;
    bool all;     /* the socket takes everything */
    bool failed;  /* a send failed: wslay sends nothing more */
    bool partial; /* a send took part or nothing */
    bool over;    /* a negative verdict or ws_stop(): no more text */
};

static void on_text(void *arg, const char *data, size_t len)
{
    struct owner *o = arg;
    assert(!o->over);
    assert(len > 0);
    buf_append(&o->cur, data, len);
}

static void on_text_end(void *arg)
{
    struct owner *o = arg;
    assert(!o->over);
    list_add(&o->msgs, o->cur.data, o->cur.len);
    o->n_msgs++;
    buf_reset(&o->cur);
}

/* The socket's answer, from the tape: 0-3 all, 4-5 part, 6 nothing for now, 7 an error. */
static ssize_t on_send(void *arg, const uint8_t *data, size_t len)
{
    struct owner *o = arg;
    unsigned bits = TAPE_BYTES * 8 / 3 * 3;
    size_t at = (o->tape_pos++ * 3) % bits;
    unsigned what = o->all ? 0 : (unsigned)(be(o->tape, TAPE_BYTES) >> at) & 7;
    size_t n = len;
    if (what == 7) {
        o->failed = true;
        return -1;
    } else if (what == 6) {
        n = 0;
    } else if (what >= 4 && len > 1) {
        n = 1 + (size_t)o->tape[at % TAPE_BYTES] % (len - 1);
    }
    o->partial |= n < len;
    buf_append(&o->out, data, n);
    return (ssize_t)n;
}

static const struct ws_handlers handlers = {on_text, on_text_end, on_send};

/* What was sent back: checked frame by frame; the pongs and the close payload kept. */
struct sent {
    struct buf pongs, close_payload;
    int close; /* CLOSE_NONE, CLOSE_EMPTY or the code */
};

static void check_sent(const struct owner *o, struct sent *s)
{
    const uint8_t *p = (const uint8_t *)o->out.data;
    size_t len = o->out.len, off = 0;
    s->close = CLOSE_NONE;
    while (off < len) {
        assert(s->close == CLOSE_NONE); /* nothing after a close frame */
        size_t n = len - off >= 2 ? (p[off + 1] & 0x7F) : 0;
        if (len - off < 2 || len - off < 2 + n) {
            assert(o->failed); /* a frame cut short only by a failed send */
            return;
        }
        assert(p[off] == (0x80 | OP_CLOSE) || p[off] == (0x80 | OP_PONG)); /* final, no RSV */
        assert((p[off + 1] & 0x80) == 0 && n <= 125);                      /* unmasked, short */
        if (p[off] == (0x80 | OP_PONG)) {
            list_add(&s->pongs, p + off + 2, n);
        } else {
            assert(n != 1);
            s->close = n ? (int)be(p + off + 2, 2) : CLOSE_EMPTY;
            buf_append(&s->close_payload, p + off + 2, n);
        }
        off += 2 + n;
    }
}

/* Whether each "<len>:<bytes>" of sub comes in list, in order. */
static bool sublist(const struct buf *sub, const struct buf *list)
{
    size_t i = 0, j = 0;
    while (i < sub->len) {
        size_t n = strtoul(sub->data + i, NULL, 10);
        size_t item = strchr(sub->data + i, ':') - (sub->data + i) + 1 + n;
        for (;;) {
            if (j >= list->len) {
                return false;
            }
            size_t m = strtoul(list->data + j, NULL, 10);
            size_t other = strchr(list->data + j, ':') - (list->data + j) + 1 + m;
            j += other;
            if (other == item && memcmp(sub->data + i, list->data + j - other, item) == 0) {
                break;
            }
        }
        i += item;
    }
    return true;
}

/* Whether a's "<len>:<bytes>" items are the first ones of b. */
static bool prefix_of(const struct buf *a, const struct buf *b)
{
    return a->len <= b->len && memcmp(a->data, b->data, a->len) == 0;
}

static bool same(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Whether text is the start of the item of list at offset at (at == list->len: of last). */
static bool starts_item(const struct buf *text, const struct buf *list, size_t at,
                        const struct buf *last)
{
    if (at == list->len) {
        return prefix_of(text, last);
    }
    const char *colon = strchr(list->data + at, ':');
    size_t n = strtoul(list->data + at, NULL, 10);
    return text->len <= n && memcmp(colon + 1, text->data, text->len) == 0;
}

/* After a failed send, wslay's error stays set and the next read that ends inside a
 * header takes it for its own: the conversation ends there, early (in web.c a send fails
 * only on a broken socket). What came must be the start of what the wire holds. */
static void check_cut_short(const struct model *m, const struct owner *o, int verdict)
{
    assert(verdict == m->verdict || verdict == -EPROTO || m->close_doubt);
    assert(prefix_of(&o->msgs, &m->msgs));
    assert(starts_item(&o->cur, &m->msgs, o->msgs.len, &m->cur));
}

/* What one conversation gave, against what the wire must give. */
static void check_against(const struct model *m, const struct owner *o, const struct sent *s,
                          int verdict)
{
    assert(sublist(&s->pongs, &m->pings));
    if (o->failed) {
        check_cut_short(m, o, verdict);
        return;
    }
    assert(o->n_msgs == m->n_msgs && same(&o->msgs, &m->msgs));
    assert(m->cur_exact ? same(&o->cur, &m->cur) : prefix_of(&o->cur, &m->cur));
    if (m->close_doubt) {
        return;
    }
    assert(verdict == m->verdict);
    assert(s->close == (m->verdict ? m->close : WS_CLOSE_NORMAL));
    assert(m->verdict != -EPIPE || same(&s->close_payload, &m->close_payload));
    assert(o->partial || m->verdict || same(&s->pongs, &m->pings));
}

/* ---------------------------------------------------------------- one conversation */

/* How to feed a wire: pieces (the last one takes the rest), where the server closes. */
struct plan {
    const size_t *pieces;
    size_t n_pieces;
    size_t close_at; /* SIZE_MAX: the server does not close first */
    const uint8_t *tape;
    bool all;
};

/* Feeds the wire as web.c does; returns the last verdict. */
static int feed_all(struct ws *w, const uint8_t *in, size_t len, const struct plan *pl)
{
    size_t off = 0;
    int verdict = 0;
    for (size_t i = 0; off < len && verdict == 0; i++) {
        size_t n = i < pl->n_pieces && pl->pieces[i] < len - off ? pl->pieces[i] : len - off;
        if (i == pl->close_at) {
            ws_close(w, WS_CLOSE_NORMAL); /* the server ends the conversation (op_shutdown) */
        }
        if (n > 0) {
            verdict = ws_feed(w, (const char *)in + off, n);
            assert(verdict == 0 || verdict == -EPIPE || verdict == -EPROTO);
            assert(verdict == 0 || ws_over(w));
            off += n;
        }
    }
    return verdict;
}

/* The end of the conversation, as web.c ends it; what came in that must not reach the
 * owner is fed again once stopped. */
static void finish(struct ws *w, struct owner *o, const uint8_t *in, size_t len, int verdict)
{
    o->over = verdict < 0;
    ws_close(w, WS_CLOSE_NORMAL); /* the connection ends: its close frame, if none yet */
    o->all = true;
    ws_flush(w); /* the socket has room again: everything waiting goes */
    assert(ws_over(w) || o->failed);
    o->over = true;
    ws_stop(w);
    assert(ws_feed(w, (const char *)in, len) < 0 || len == 0 || o->failed);
}

/* Runs one conversation on the wire and checks it against the model m (NULL: no model
 * applies, as when the server closes first). */
static void converse(const uint8_t *in, size_t len, const struct plan *pl, const struct model *m)
{
    struct owner o = {.tape = pl->tape, .all = pl->all};
    buf_init(&o.msgs);
    buf_init(&o.cur);
    buf_init(&o.out);
    struct ws w;
    int r = ws_init(&w, &handlers, &o);
    assert(r == 0);
    int verdict = feed_all(&w, in, len, pl);
    finish(&w, &o, in, len, verdict);
    ws_release(&w);
    struct sent s;
    buf_init(&s.pongs);
    buf_init(&s.close_payload);
    check_sent(&o, &s);
    assert(o.failed || s.close != CLOSE_NONE); /* the conversation ended with a close */
    if (m) {
        check_against(m, &o, &s, verdict);
    }
    buf_release(&s.pongs);
    buf_release(&s.close_payload);
    buf_release(&o.msgs);
    buf_release(&o.cur);
    buf_release(&o.out);
}

/* ---------------------------------------------------------------- structured wires */

/* The body being read as a list of operations. */
struct cursor {
    const uint8_t *p;
    size_t n;
};

static uint8_t next(struct cursor *c)
{
    if (c->n == 0) {
        return 0;
    }
    c->n--;
    return *c->p++;
}

/* A mask key: four bytes, in order (an initialiser's calls are not sequenced). */
static void next_key(struct cursor *c, uint8_t key[4])
{
    for (int i = 0; i < 4; i++) {
        key[i] = next(c);
    }
}

/* What the operations mean: the text messages in order, and whether the reading should
 * go to the end (nothing closes or breaks the conversation). */
struct intent {
    struct buf msgs;
    size_t n_msgs;
    bool complete;
};

static void put_frame(struct buf *wire, unsigned b0, const uint8_t *p, uint64_t len,
                      const uint8_t key[4], bool mask)
{
    uint8_t h[14] = {(uint8_t)b0};
    size_t n = 2;
    unsigned bit = mask ? 0x80 : 0;
    if (len < 126) {
        h[1] = (uint8_t)(bit | len);
    } else if (len <= 0xFFFF) {
        h[1] = (uint8_t)(bit | 126);
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        n = 4;
    } else {
        h[1] = (uint8_t)(bit | 127);
        for (int i = 0; i < 8; i++) {
            h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        }
        n = 10;
    }
    memcpy(h + n, key, mask ? 4 : 0);
    buf_append(wire, h, n + (mask ? 4 : 0));
    size_t at = wire->len;
    buf_append(wire, p, (size_t)len);
    for (size_t i = 0; mask && i < len; i++) {
        wire->data[at + i] ^= (char)key[i % 4];
    }
}

/* A payload of len bytes: a short pattern from the body, repeated. */
static uint8_t *payload(struct cursor *c, size_t len)
{
    size_t n = next(c) % 33;
    n = n < c->n ? n : c->n;
    uint8_t *p = malloc(len + 1);
    assert(p);
    for (size_t i = 0; i < len; i++) {
        p[i] = n ? c->p[i % n] : 'a';
    }
    c->p += n;
    c->n -= n;
    return p;
}

/* Mostly short, at times past 125, near 65535, or past it (rarely: such frames are slow
 * to build under AddressSanitizer). */
static size_t length(struct cursor *c)
{
    uint8_t b = next(c);
    if (b < 200) {
        return b;
    }
    size_t x = next(c);
    if (b < 250) {
        return 126 + x * 8;
    }
    return b < 254 ? 65530 + x % 12 : 65536 + x * 16;
}

static bool valid_utf8(const uint8_t *p, size_t len)
{
    struct utf8 u = {0};
    for (size_t i = 0; i < len; i++) {
        if (!utf8_step(&u, p[i])) {
            return false;
        }
    }
    return u.need == 0;
}

/* A text message in 1 to 4 frames, maybe with a ping between the first two. */
static void put_text(struct cursor *c, uint8_t op, struct buf *wire, struct intent *it)
{
    size_t len = length(c), frags = 1 + (op >> 3) % 4;
    uint8_t *p = payload(c, len), key[4];
    next_key(c, key);
    if (!valid_utf8(p, len)) {
        it->complete = false;
    } else if (it->complete) {
        list_add(&it->msgs, p, len);
        it->n_msgs++;
    }
    size_t size = len / frags, off = 0;
    for (size_t f = 0; f < frags; f++) {
        size_t n = f + 1 == frags ? len - off : size;
        unsigned b0 = (f + 1 == frags ? 0x80 : 0) | (f == 0 ? OP_TEXT : OP_CONT);
        put_frame(wire, b0, p + off, n, key, true);
        off += n;
        if (f == 0 && frags > 1 && (op & 0x80)) {
            put_frame(wire, 0x80 | OP_PING, (const uint8_t *)"entre", 5, key, true);
        }
    }
    free(p);
}

/* A close frame with a code (valid or not, or none) and a reason in letters. */
static void put_close(struct cursor *c, struct buf *wire, struct intent *it)
{
    static const unsigned codes[] = {0, 1000, 1001, 1003, 1008, 1011, 3000, 4999, 1005, 999};
    unsigned code = codes[next(c) % (sizeof(codes) / sizeof(codes[0]))];
    size_t reason = code ? next(c) % 124 : 0;
    uint8_t p[125] = {(uint8_t)(code >> 8), (uint8_t)code}, key[4];
    next_key(c, key);
    for (size_t i = 0; i < reason; i++) {
        p[2 + i] = (uint8_t)('a' + next(c) % 26);
    }
    put_frame(wire, 0x80 | OP_CLOSE, p, code ? 2 + reason : 0, key, true);
    it->complete = false;
}

/* A frame the server must refuse: unmasked, a reserved bit, a reserved opcode, a
 * continuation of nothing, a fragmented or long ping, a length not in its shortest form. */
static void put_bad(struct cursor *c, struct buf *wire, struct intent *it)
{
    static const uint8_t key[4] = {1, 2, 3, 4}, ping[126] = {0};
    static const uint8_t long_form[] = {0x81, 0xFE, 0, 5, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'};
    switch (next(c) % 7) {
    case 0:
        put_frame(wire, 0x80 | OP_TEXT, (const uint8_t *)"nu", 2, key, false);
        break;
    case 1:
        put_frame(wire, 0xC0 | OP_TEXT, (const uint8_t *)"rsv", 3, key, true);
        break;
    case 2:
        put_frame(wire, 0x80 | 3, (const uint8_t *)"op", 2, key, true);
        break;
    case 3:
        put_frame(wire, 0x80 | OP_CONT, (const uint8_t *)"suite", 5, key, true);
        break;
    case 4:
        put_frame(wire, OP_PING, (const uint8_t *)"frag", 4, key, true);
        break;
    case 5:
        put_frame(wire, 0x80 | OP_PING, ping, sizeof(ping), key, true);
        break;
    default:
        buf_append(wire, long_form, sizeof(long_form));
    }
    it->complete = false;
}

/* Encodes the body's operations as frames; says what they mean in it. */
static void encode(struct cursor *c, struct buf *wire, struct intent *it)
{
    it->complete = true;
    while (c->n > 0 && wire->len < WIRE_MAX) {
        uint8_t op = next(c), key[4];
        next_key(c, key);
        size_t len = next(c) % 126;
        uint8_t *p;
        switch (op % 8) {
        case 3:
        case 4:
            p = payload(c, len);
            put_frame(wire, 0x80 | (op % 8 == 3 ? OP_PING : OP_PONG), p, len, key, true);
            free(p);
            break;
        case 5:
            put_close(c, wire, it);
            break;
        case 6:
            p = payload(c, len);
            put_frame(wire, 0x80 | OP_BINARY, p, len, key, true);
            free(p);
            it->complete = false;
            break;
        case 7:
            put_bad(c, wire, it);
            break;
        default:
            put_text(c, op, wire, it);
        }
    }
}

/* The reference reader must read what the operations mean. */
static void check_intent(const struct intent *it, const struct model *m)
{
    if (it->complete) {
        assert(m->verdict == 0 && m->n_msgs == it->n_msgs && same(&m->msgs, &it->msgs));
        assert(m->cur.len == 0 && !m->in_text);
    } else {
        assert(m->n_msgs <= it->n_msgs && prefix_of(&m->msgs, &it->msgs));
    }
}

/* ---------------------------------------------------------------- the text header */

/* ws_text_header() must write the shortest header that reads back as len. */
static void check_text_header(uint64_t len)
{
    uint8_t h[WS_HEADER_MAX + 4];
    size_t n = ws_text_header(h, len);
    struct frame f;
    assert(n == (len < 126 ? 2 : len <= 0xFFFF ? 4 : 10));
    assert(read_header(h, n, &f) == 1);
    assert(f.fin && f.op == OP_TEXT && !f.rsv && !f.mask && f.head == n && f.len == len);
}

static void check_text_headers(const uint8_t *p)
{
    static const uint64_t edges[] = {0, 125, 126, 65535, 65536, INT64_MAX};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        check_text_header(edges[i]);
    }
    check_text_header((be(p, 8) & INT64_MAX) >> (p[7] % 64));
}

/* ---------------------------------------------------------------- the input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t pre[PREAMBLE] = {0};
    memcpy(pre, data, size < PREAMBLE ? size : PREAMBLE);
    struct cursor body = {data + PREAMBLE, size > PREAMBLE ? size - PREAMBLE : 0};
    const uint8_t *tape = pre + 2;
    const uint8_t *cuts = tape + TAPE_BYTES;
    check_text_headers(cuts + 2 * MAX_CUTS);

    struct buf wire = BUF_INIT;
    struct intent it = {BUF_INIT, 0, false};
    if (pre[0] & F_STRUCTURED) {
        encode(&body, &wire, &it);
    } else {
        buf_append(&wire, body.p, body.n);
    }
    const uint8_t *in = (const uint8_t *)wire.data;
    struct model m;
    model_run(&m, in, wire.len);
    if (pre[0] & F_STRUCTURED) {
        check_intent(&it, &m);
    }

    size_t n_cuts = (pre[0] >> CUTS_SHIFT) % (MAX_CUTS + 1), pieces[MAX_CUTS];
    for (size_t i = 0; i < n_cuts; i++) {
        pieces[i] = (size_t)be(cuts + 2 * i, 2);
    }
    bool close_first = pre[0] & F_CLOSE_AT;
    struct plan whole = {NULL, 0, SIZE_MAX, tape, true};
    struct plan cut = {pieces, n_cuts, close_first ? pre[1] % (n_cuts + 1) : SIZE_MAX, tape, false};
    converse(in, wire.len, &whole, &m);
    converse(in, wire.len, &cut, close_first ? NULL : &m);
    if (wire.len <= BYTES_FEED_MAX) {
        size_t ones[BYTES_FEED_MAX];
        for (size_t i = 0; i < wire.len; i++) {
            ones[i] = 1;
        }
        struct plan bytes = {ones, wire.len, SIZE_MAX, tape, false};
        converse(in, wire.len, &bytes, &m);
    }
    model_release(&m);
    buf_release(&it.msgs);
    buf_release(&wire);
    return 0;
}
