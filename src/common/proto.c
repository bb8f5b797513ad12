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

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void proto_framer_init(struct proto_framer *f, size_t max_line)
{
    assert(max_line <= PROTO_MAX_LINE_CEILING);
    f->partial = NULL;
    f->partial_len = 0;
    f->max_line = (uint32_t)max_line;
    f->discarding = false;
    f->partial_done = false;
}

static void clear_partial(struct proto_framer *f)
{
    free(f->partial);
    f->partial = NULL;
    f->partial_len = 0;
}

void proto_framer_release(struct proto_framer *f)
{
    clear_partial(f);
    f->discarding = false;
    f->partial_done = false;
}

/* The capacity of a partial line of len bytes: the next power of two, 64 at least. It is
 * not stored (the framer sits in every connection); growing by doubling keeps a line that
 * arrives a byte at a time linear in its length. */
static size_t partial_capacity(size_t len)
{
    size_t cap = 64;
    while (cap < len) {
        cap *= 2;
    }
    return cap;
}

/* Appends n bytes to the partial line; the callers have checked the length bound. */
static void append_partial(struct proto_framer *f, const char *p, size_t n)
{
    size_t len = f->partial_len + n;
    if (!f->partial || partial_capacity(len) != partial_capacity(f->partial_len)) {
        f->partial = xrealloc(f->partial, partial_capacity(len));
    }
    memcpy(f->partial + f->partial_len, p, n);
    f->partial_len = (uint32_t)len;
}

bool proto_framer_mid_line(const struct proto_framer *f)
{
    return (f->partial_len > 0 && !f->partial_done) || f->discarding;
}

/* Whether an unfinished line of len bytes, the last of which is last, is already known to
 * be overlong. One byte past max_line is allowed only if it is a '\r', which the '\n' to
 * come would drop; anything more is overlong whatever follows. */
static bool tail_too_long(const struct proto_framer *f, size_t len, char last)
{
    size_t limit = (size_t)f->max_line + 1;
    return len > limit || (len == limit && last != '\r');
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
    if (tail_too_long(f, (size_t)f->partial_len + n, (*in)[-1])) {
        clear_partial(f);
        f->discarding = true;
        return -EMSGSIZE;
    }
    append_partial(f, *in - n, n);
    return -EAGAIN;
}

int proto_framer_next(struct proto_framer *f, const char **in, size_t *in_len, const char **line,
                      size_t *line_len)
{
    if (f->partial_done) {
        /* Freed rather than kept: most connections are idle most of the time. */
        clear_partial(f);
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

    if (f->partial_len > 0) {
        if ((size_t)f->partial_len + n > (size_t)f->max_line + 1) {
            clear_partial(f);
            return -EMSGSIZE; /* its '\n' is here: nothing left to skip */
        }
        append_partial(f, start, n);
        f->partial_done = true;
        start = f->partial;
        n = f->partial_len;
    }
    strip_cr(start, &n);
    if (n > f->max_line) {
        if (f->partial_done) {
            clear_partial(f);
            f->partial_done = false;
        }
        return -EMSGSIZE;
    }
    *line = start;
    *line_len = n;
    return 0;
}

/* ---------------------------------------------------------------- reading server lines */

static const char *find_pair(const char *s, size_t len, char a, char b)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] == a && s[i + 1] == b) {
            return s + i;
        }
    }
    return NULL;
}

bool proto_parse_message(const char *text, size_t len, struct proto_span *pseudo,
                         struct proto_span *body)
{
    const char *sep = find_pair(text, len, ':', ' ');
    if (!sep || sep == text) {
        return false;
    }
    *pseudo = (struct proto_span){text, (size_t)(sep - text)};
    *body = (struct proto_span){sep + 2, len - pseudo->len - 2};
    return true;
}

bool proto_parse_action(const char *text, size_t len, struct proto_span *pseudo,
                        struct proto_span *body)
{
    const char *space = memchr(text, ' ', len);
    size_t plen = space ? (size_t)(space - text) : len;
    if (plen == 0) {
        return false;
    }
    *pseudo = (struct proto_span){text, plen};
    *body =
        space ? (struct proto_span){space + 1, len - plen - 1} : (struct proto_span){text + len, 0};
    return true;
}

bool proto_parse_history(const char *text, size_t len, struct proto_span *time,
                         struct proto_span *line)
{
    const char *space = memchr(text, ' ', len);
    if (!space || space == text) {
        return false;
    }
    *time = (struct proto_span){text, (size_t)(space - text)};
    *line = (struct proto_span){space + 1, len - time->len - 1};
    return line->len >= 2 && line->p[1] == ' ';
}

bool proto_parse_fields(const char *text, size_t len, size_t n, struct proto_span *fields,
                        struct proto_span *sentence)
{
    const char *p = text, *end = text + len;
    for (size_t i = 0; i < n; i++) {
        const char *space = memchr(p, ' ', (size_t)(end - p));
        if (!space || space == p) {
            return false; /* a field, then the space before the next one or before ':' */
        }
        fields[i] = (struct proto_span){p, (size_t)(space - p)};
        p = space + 1;
    }
    if (p == end || *p != ':') {
        return false;
    }
    p++;
    if (p == end) {
        *sentence = (struct proto_span){p, 0};
        return true;
    }
    if (*p != ' ') {
        return false;
    }
    *sentence = (struct proto_span){p + 1, (size_t)(end - p - 1)};
    return true;
}

bool proto_room_field(struct proto_span field, struct proto_span *room)
{
    if (field.len < 2 || field.p[0] != '#') {
        return false;
    }
    *room = (struct proto_span){field.p + 1, field.len - 1};
    return true;
}

bool proto_count_field(struct proto_span field, unsigned *count)
{
    if (field.len == 0 || field.len > 9) {
        return false;
    }
    unsigned n = 0;
    for (size_t i = 0; i < field.len; i++) {
        if (field.p[i] < '0' || field.p[i] > '9') {
            return false;
        }
        n = n * 10 + (unsigned)(field.p[i] - '0');
    }
    *count = n;
    return true;
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
