/* proto.c - line framing and line kinds; see proto.h for the contract.
 *
 * Linked into both programs; pure, run by whichever thread owns the framer (a server loop
 * thread, or the client's only thread). A line that arrives whole is returned as a pointer
 * into the caller's input, without a copy. Only the unfinished tail of a read is copied
 * into partial, and that memory is freed on the call after its line is returned, since
 * most connections sit idle between lines. An overlong line is reported once and then
 * skipped up to its '\n' without being stored, so max_line bounds what a peer can make us
 * hold.
 */
#include "proto.h"

#include <errno.h>
#include <string.h>

void proto_framer_init(struct proto_framer *f, size_t max_line)
{
    buf_init(&f->partial);
    f->max_line = max_line;
    f->discarding = false;
    f->partial_done = false;
}

void proto_framer_release(struct proto_framer *f)
{
    buf_release(&f->partial);
    f->discarding = false;
    f->partial_done = false;
}

bool proto_framer_mid_line(const struct proto_framer *f)
{
    return (f->partial.len > 0 && !f->partial_done) || f->discarding;
}

/* Whether an unfinished line of len bytes, the last of which is last, is already known to
 * be overlong. One byte past max_line is allowed only if it is a '\r', which the '\n' to
 * come would drop; anything more is overlong whatever follows. */
static bool tail_too_long(const struct proto_framer *f, size_t len, char last)
{
    return len > f->max_line + 1 || (len == f->max_line + 1 && last != '\r');
}

static void strip_cr(const char *line, size_t *len)
{
    if (*len > 0 && line[*len - 1] == '\r') {
        (*len)--;
    }
}

/* Skips input up to and including the '\n' that ends an overlong line. */
static void skip_rest(struct proto_framer *f, const char **in, size_t *in_len)
{
    const char *nl = memchr(*in, '\n', *in_len);
    size_t n = nl ? (size_t)(nl - *in) + 1 : *in_len;
    *in += n;
    *in_len -= n;
    if (nl) {
        f->discarding = false;
    }
}

/* Keeps an unfinished tail, or reports it if it already makes the line overlong. */
static int keep_tail(struct proto_framer *f, const char **in, size_t *in_len)
{
    size_t n = *in_len;
    *in += n;
    *in_len = 0;
    if (tail_too_long(f, f->partial.len + n, (*in)[-1])) {
        buf_release(&f->partial);
        f->discarding = true;
        return -EMSGSIZE;
    }
    buf_append(&f->partial, *in - n, n);
    return -EAGAIN;
}

int proto_framer_next(struct proto_framer *f, const char **in, size_t *in_len, const char **line,
                      size_t *line_len)
{
    if (f->partial_done) {
        /* Freed rather than kept: most connections are idle most of the time. */
        buf_release(&f->partial);
        f->partial_done = false;
    }
    if (f->discarding) {
        skip_rest(f, in, in_len);
    }
    if (*in_len == 0) {
        return -EAGAIN;
    }

    const char *nl = memchr(*in, '\n', *in_len);
    if (!nl) {
        return keep_tail(f, in, in_len);
    }
    size_t n = (size_t)(nl - *in);
    const char *start = *in;
    *in += n + 1;
    *in_len -= n + 1;

    if (f->partial.len > 0) {
        if (f->partial.len + n > f->max_line + 1) {
            buf_release(&f->partial);
            return -EMSGSIZE; /* its '\n' is here: nothing left to skip */
        }
        buf_append(&f->partial, start, n);
        f->partial_done = true;
        start = f->partial.data;
        n = f->partial.len;
    }
    strip_cr(start, &n);
    if (n > f->max_line) {
        if (f->partial_done) {
            buf_release(&f->partial);
            f->partial_done = false;
        }
        return -EMSGSIZE;
    }
    *line = start;
    *line_len = n;
    return 0;
}

bool proto_split_kind(const char *line, size_t len, char *kind, const char **text, size_t *text_len)
{
    if (len < 2 || line[1] != ' ') {
        *kind = '\0';
        *text = line;
        *text_len = len;
        return false;
    }
    *kind = line[0];
    *text = line + 2;
    *text_len = len - 2;
    return true;
}
