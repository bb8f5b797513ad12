/* fuzz_server_line.c - libFuzzer harness for the client's reading of server lines.
 *
 * The input is a run of server lines, one per '\n', each copied into a buffer of exactly its
 * size so that ASan sees any over-read. Each line goes through everything in the client
 * that parses what a server says: proto_split_kind() and proto.h's parsers (every span
 * within the text, fields non-empty and without spaces), the roster (src/client/roster.c),
 * fed the whole run in order, whose invariants are checked after each line (a count never
 * below the names held, names non-empty and without blanks, a room non-empty), and the
 * terminal's dress (src/client/style.c): with colours, the line must be the same as without
 * once its SGR sequences are stripped, and no other control character may reach the
 * terminal, nor any in the plain form for a pipe. A '|' that renames us changes the
 * pseudo the next lines are read with, as it does in chat.c.
 */
#include <assert.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/roster.h"
#include "client/style.h"
#include "common/buf.h"
#include "common/proto.h"
#include "common/pseudo.h"
#include "common/utf8.h"
#include "common/xalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOON 1795608000 /* 2026-11-25 12:00:00 UTC: a fixed time, so both renderings agree */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setlocale(LC_CTYPE, "C.UTF-8"); /* style.c's iswalnum(), as main.c sets it */
    setenv("TZ", "UTC", 1);
    pseudo_init();
    return 0;
}

static void assert_within(struct proto_span s, const char *text, size_t len)
{
    assert(s.p >= text && s.p + s.len <= text + len);
}

static void assert_field(struct proto_span s, const char *text, size_t len)
{
    assert_within(s, text, len);
    assert(s.len > 0 && !memchr(s.p, ' ', s.len));
}

/* proto.h's parsers on the text of a line: what they return lies within it. */
static void check_parsers(const char *text, size_t len)
{
    struct proto_span a, b, fields[3], room;
    unsigned count;
    if (proto_parse_message(text, len, &a, &b)) {
        assert_within(a, text, len);
        assert(a.len > 0 && a.len + 2 + b.len == len && b.p == a.p + a.len + 2);
    }
    if (proto_parse_action(text, len, &a, &b)) {
        assert_field(a, text, len);
        assert_within(b, text, len);
    }
    if (proto_parse_history(text, len, &a, &b)) {
        assert_field(a, text, len);
        assert_within(b, text, len);
        assert(b.len >= 2 && b.p[1] == ' ');
    }
    for (size_t n = 1; n <= 3; n++) {
        if (!proto_parse_fields(text, len, n, fields, &b)) {
            continue;
        }
        assert_within(b, text, len);
        for (size_t i = 0; i < n; i++) {
            assert_field(fields[i], text, len);
            if (proto_room_field(fields[i], &room)) {
                assert(room.len > 0 && room.p == fields[i].p + 1);
            }
            if (proto_count_field(fields[i], &count)) {
                assert(count <= 999999999u);
            }
        }
    }
}

static void check_roster(const struct roster *r)
{
    assert(r->n <= r->cap && r->n <= ROSTER_NAMES_MAX);
    assert(r->count >= r->n);
    assert(!r->room || r->room[0] != '\0');
    for (size_t i = 0; i < r->n; i++) {
        const char *name = r->names[i];
        assert(name[0] != '\0' && !strpbrk(name, " \t"));
    }
}

/* Removes the SGR sequences ("ESC [ digits and ';' m") from s; asserts that every ESC in it
 * starts one, and that no other control character is there. */
static void strip_sgr(const struct buf *s, struct buf *out)
{
    for (size_t i = 0; i < s->len; i++) {
        if (s->data[i] != '\033') {
            buf_append_char(out, s->data[i]);
            continue;
        }
        assert(i + 1 < s->len && s->data[i + 1] == '[');
        size_t j = i + 2;
        while (j < s->len && ((s->data[j] >= '0' && s->data[j] <= '9') || s->data[j] == ';')) {
            j++;
        }
        assert(j < s->len && s->data[j] == 'm');
        i = j;
    }
}

/* No control character at all, C0, DEL or C1, and valid UTF-8 throughout. */
static void assert_printable(const struct buf *s)
{
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        size_t n = utf8_decode(s->data + i, s->len - i, &cp);
        assert(n > 0 && cp != UTF8_INVALID);
        assert(cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f));
        i += n;
    }
}

static void check_style(const char *line, size_t len, const char *self)
{
    struct style plain = {.colour = false, .clock = true, .self = self};
    struct style coloured = {.colour = true, .palette256 = true, .clock = true, .self = self};
    struct buf a = BUF_INIT, b = BUF_INIT, stripped = BUF_INIT, piped = BUF_INIT;
    struct style_marks ma = style_server_line(&plain, line, len, NOON, &a);
    struct style_marks mb = style_server_line(&coloured, line, len, NOON, &b);
    assert(ma.mention == mb.mention && ma.private_msg == mb.private_msg);
    strip_sgr(&b, &stripped);
    assert(stripped.len == a.len && memcmp(stripped.data, a.data, a.len) == 0);
    assert_printable(&a);
    style_plain_line(line, len, &piped);
    assert_printable(&piped);
    buf_release(&a);
    buf_release(&b);
    buf_release(&stripped);
    buf_release(&piped);
}

static void check_line(struct roster *r, char **self, const char *line, size_t len)
{
    char kind;
    const char *text;
    size_t text_len;
    if (proto_split_kind(line, len, &kind, &text, &text_len)) {
        assert(kind == line[0] && text == line + 2 && text_len == len - 2);
        check_parsers(text, text_len);
    } else {
        assert(text == line && text_len == len);
    }
    struct roster_update u = roster_on_line(r, line, len, *self);
    check_roster(r);
    if (u.renamed_self) {
        assert_field(u.new_self, line, len);
        free(*self);
        *self = xmemdup0(u.new_self.p, u.new_self.len);
    }
    check_style(line, len, *self);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct roster r;
    roster_init(&r);
    char *self = xstrdup("alice");
    const char *in = (const char *)data, *end = in + size;
    while (in < end) {
        const char *nl = memchr(in, '\n', (size_t)(end - in));
        size_t len = (size_t)((nl ? nl : end) - in);
        char *line = xmalloc(len ? len : 1); /* exactly the line: an over-read is caught */
        memcpy(line, in, len);
        check_line(&r, &self, line, len);
        free(line);
        in += len + (nl != NULL);
    }
    free(self);
    roster_release(&r);
    return 0;
}
