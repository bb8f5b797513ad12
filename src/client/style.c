/* style.c - the terminal's dress for each kind of line; see style.h for the contract.
 *
 * Client thread only (iswalnum() and localtime_r() read the process's locale and time
 * zone, which main.c sets once). Each renderer appends the clock, then the pieces of the
 * line, opening and closing one SGR attribute at a time through sgr()/reset(), which
 * write nothing when colours are off: the text without colours is then exactly the text
 * with them, escape sequences removed. Peer text only ever reaches out through
 * sanitize_append().
 */
#include "style.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "common/command.h"
#include "common/proto.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "common/utf8.h"

/* Colours readable on dark and on light backgrounds. 256-colour: mid-tone blues, greens,
 * cyans, magentas, oranges and reds of the 6x6x6 cube; 8-colour: red to cyan. */
static const unsigned char palette256[] = {
    25,  26,  27,  31,  32,  33,  37,  38,  39,  40,  41,  42,  43,  44,  61,  62,
    63,  64,  65,  66,  67,  68,  69,  70,  71,  72,  73,  74,  97,  98,  99,  100,
    101, 105, 106, 107, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 160,
    161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 196,
    197, 198, 199, 200, 202, 203, 204, 205, 206, 208, 209, 210, 211, 212,
};
static const unsigned char palette8[] = {31, 32, 33, 34, 35, 36};

#define SGR_BOLD    "1"
#define SGR_DIM     "2"
#define SGR_REVERSE "7"
#define SGR_ERROR   "2;31" /* dim like every notice, and red */
#define SGR_SAFE    "32"   /* green: the link is encrypted and the server verified */
#define SGR_UNSAFE  "31"   /* red, not dim: encrypted, but to a server nobody verified */

/* ---------------------------------------------------------------- the terminal */

struct style style_for_terminal(const struct style_terminal *t)
{
    bool no_color = t->no_color && t->no_color[0] != '\0';
    bool dumb = !t->term || strcmp(t->term, "dumb") == 0;
    return (struct style){
        .colour = t->interactive && !t->no_color_option && !no_color && !dumb,
        .palette256 =
            (t->term && strstr(t->term, "256color")) || (t->colorterm && t->colorterm[0] != '\0'),
        .clock = t->interactive,
        .self = NULL,
    };
}

/* ---------------------------------------------------------------- small pieces */

static void sgr(const struct style *st, struct buf *out, const char *params)
{
    if (st->colour) {
        buf_appendf(out, "\033[%sm", params);
    }
}

static void reset(const struct style *st, struct buf *out)
{
    if (st->colour) {
        buf_append_str(out, "\033[0m");
    }
}

static void clock_prefix(const struct style *st, time_t t, struct buf *out)
{
    if (!st->clock) {
        return;
    }
    char hhmm[6];
    style_clock(t, hhmm);
    sgr(st, out, SGR_DIM);
    buf_append_str(out, hhmm);
    reset(st, out);
    buf_append_char(out, ' ');
}

/* FNV-1a over the folded pseudo: stable across runs, machines and clients. */
static uint32_t pseudo_hash(const char *pseudo, size_t len)
{
    struct buf folded = BUF_INIT;
    pseudo_fold(pseudo, len, &folded);
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < folded.len; i++) {
        h = (h ^ (unsigned char)folded.data[i]) * 16777619u;
    }
    buf_release(&folded);
    return h;
}

void style_pseudo_colour(const char *pseudo, size_t len, bool palette_256, char *out,
                         size_t out_size)
{
    uint32_t h = pseudo_hash(pseudo, len);
    if (palette_256) {
        snprintf(out, out_size, "38;5;%u", palette256[h % sizeof(palette256)]);
    } else {
        snprintf(out, out_size, "%u", palette8[h % sizeof(palette8)]);
    }
}

/* A pseudo in its colour, and bold if asked. */
static void pseudo_piece(const struct style *st, const char *pseudo, size_t len, bool bold,
                         struct buf *out)
{
    if (st->colour) {
        char colour[16];
        style_pseudo_colour(pseudo, len, st->palette256, colour, sizeof(colour));
        buf_appendf(out, "\033[%s%sm", bold ? "1;" : "", colour);
    }
    sanitize_append(out, pseudo, len);
    reset(st, out);
}

/* Whether the character ending just before byte `at` (or starting at it, after) is part
 * of a word: a letter, a digit or '_'. */
static bool word_char_before(const char *text, size_t at)
{
    if (at == 0) {
        return false;
    }
    size_t start = at - 1;
    while (start > 0 && ((unsigned char)text[start] & 0xC0) == 0x80) {
        start--;
    }
    uint32_t cp;
    utf8_decode(text + start, at - start, &cp);
    return cp != UTF8_INVALID && (cp == '_' || iswalnum((wint_t)cp));
}

static bool word_char_at(const char *text, size_t len, size_t at)
{
    if (at >= len) {
        return false;
    }
    uint32_t cp;
    utf8_decode(text + at, len - at, &cp);
    return cp != UTF8_INVALID && (cp == '_' || iswalnum((wint_t)cp));
}

bool style_find_mention(const char *text, size_t len, const char *pseudo, size_t pseudo_len,
                        size_t *at, size_t *match_len)
{
    if (pseudo_len == 0) {
        return false;
    }
    struct buf want = BUF_INIT;
    pseudo_fold(pseudo, pseudo_len, &want);
    bool found = false;
    /* Folding may change a character's length, so each candidate start is folded over as
     * many characters as the pseudo has and compared. Texts are chat lines: short. */
    size_t chars = 0;
    for (size_t i = 0; i < pseudo_len; chars++) {
        uint32_t cp;
        i += utf8_decode(pseudo + i, pseudo_len - i, &cp);
    }
    struct buf got = BUF_INIT;
    for (size_t i = 0; i < len && !found;) {
        size_t end = i;
        for (size_t c = 0; c < chars && end < len; c++) {
            uint32_t cp;
            end += utf8_decode(text + end, len - end, &cp);
        }
        buf_reset(&got);
        pseudo_fold(text + i, end - i, &got);
        if (got.len == want.len && memcmp(got.data, want.data, want.len) == 0 &&
            !word_char_before(text, i) && !word_char_at(text, len, end)) {
            *at = i;
            *match_len = end - i;
            found = true;
        }
        uint32_t cp;
        i += utf8_decode(text + i, len - i, &cp);
    }
    buf_release(&got);
    buf_release(&want);
    return found;
}

void style_clock(time_t t, char out[6])
{
    struct tm tm;
    if (!localtime_r(&t, &tm)) {
        memcpy(out, "--:--", 6);
        return;
    }
    snprintf(out, 6, "%02u:%02u", (unsigned)tm.tm_hour % 24u, (unsigned)tm.tm_min % 60u);
}

/* Days in month m (1-12) of year y, proleptic Gregorian. */
static int days_in(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int style_parse_utc(const char *s, size_t len, time_t *t)
{
    /* 0123456789012345678 9
     * 2026-11-25T14:03:12 Z */
    int y, mo, d, h, mi, se;
    if (len != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != 'Z' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se)) {
        return -EINVAL;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23 || mi > 59 || se > 60) {
        return -EINVAL;
    }
    *t = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se);
    return 0;
}

/* ---------------------------------------------------------------- line kinds */

static bool is_self(const struct style *st, const char *pseudo, size_t len)
{
    return st->self && pseudo_equal(pseudo, len, st->self, strlen(st->self));
}

/* The body of someone else's line: our pseudo, where it appears, in reverse video. */
static bool body_piece(const struct style *st, const char *body, size_t len, bool bold,
                       struct buf *out)
{
    size_t at = 0, mlen = 0;
    bool mention =
        st->self && style_find_mention(body, len, st->self, strlen(st->self), &at, &mlen);
    if (bold || mention) {
        sgr(st, out, SGR_BOLD);
    }
    if (!mention) {
        sanitize_append(out, body, len);
    } else {
        sanitize_append(out, body, at);
        sgr(st, out, SGR_REVERSE);
        sanitize_append(out, body + at, mlen);
        reset(st, out);
        sgr(st, out, SGR_BOLD);
        sanitize_append(out, body + at + mlen, len - at - mlen);
    }
    if (bold || mention) {
        reset(st, out);
    }
    return mention;
}

/* "> bob: salut": the pseudo in its colour; our own set apart in bold. */
static struct style_marks message(const struct style *st, const char *text, size_t len,
                                  struct buf *out)
{
    struct style_marks marks = {0};
    struct proto_span pseudo, body;
    if (!proto_parse_message(text, len, &pseudo, &body)) {
        sanitize_append(out, text, len);
        return marks;
    }
    bool own = is_self(st, pseudo.p, pseudo.len);
    pseudo_piece(st, pseudo.p, pseudo.len, own, out);
    buf_append_str(out, ": ");
    marks.mention = body_piece(st, body.p, body.len, own, out) && !own;
    return marks;
}

/* "& bob range son bureau": "* bob range son bureau", the pseudo in its colour. */
static struct style_marks action(const struct style *st, const char *text, size_t len,
                                 struct buf *out)
{
    struct style_marks marks = {0};
    struct proto_span pseudo, body;
    buf_append_str(out, "* ");
    if (!proto_parse_action(text, len, &pseudo, &body)) {
        sanitize_append(out, text, len);
        return marks;
    }
    bool own = is_self(st, pseudo.p, pseudo.len);
    pseudo_piece(st, pseudo.p, pseudo.len, own, out);
    if (pseudo.len < len) {
        buf_append_char(out, ' ');
        marks.mention = body_piece(st, body.p, body.len, own, out) && !own;
    }
    return marks;
}

/* "@ bob: psst": a private message, marked as such. */
static struct style_marks private_message(const struct style *st, const char *text, size_t len,
                                          struct buf *out)
{
    struct style_marks marks = {.private_msg = true};
    sgr(st, out, SGR_BOLD);
    buf_append_str(out, "[privé] ");
    reset(st, out);
    message(st, text, len, out);
    return marks;
}

static void dim_text(const struct style *st, const char *mark, const char *text, size_t len,
                     struct buf *out)
{
    sgr(st, out, SGR_DIM);
    buf_append_str(out, mark);
    sanitize_append(out, text, len);
    reset(st, out);
}

/* "~ 2026-11-25T14:03:12Z > bob: salut": the line as it was, at its own time, dim. */
static void history_line(const struct style *st, const char *text, size_t len, time_t now,
                         struct buf *out)
{
    time_t when;
    struct proto_span time_field, old;
    if (!proto_parse_history(text, len, &time_field, &old) ||
        style_parse_utc(time_field.p, time_field.len, &when) < 0) {
        clock_prefix(st, now, out); /* not a line of history after all: a notice */
        dim_text(st, "* ", text, len, out);
        return;
    }
    struct style plain = *st;
    plain.clock = false;
    plain.self = NULL; /* old lines do not ring, nor highlight */
    clock_prefix(st, when, out);
    sgr(st, out, SGR_DIM);
    char kind;
    const char *body;
    size_t blen;
    proto_split_kind(old.p, old.len, &kind, &body, &blen);
    struct buf inner = BUF_INIT;
    if (kind == PROTO_MESSAGE) {
        message(&plain, body, blen, &inner);
    } else if (kind == PROTO_ACTION) {
        action(&plain, body, blen, &inner);
    } else {
        sanitize_append(&inner, old.p, old.len);
    }
    buf_append(out, inner.data, inner.len);
    buf_release(&inner);
    reset(st, out);
}

/* "= #jeux 3 : alice bob carol": "* #jeux, 3 personnes : alice, bob, carol", dim; the
 * names the line leaves out of a large room are said to be more. */
static void who_line(const struct style *st, const char *text, size_t len, struct buf *out)
{
    struct proto_span f[2], names, room;
    unsigned count;
    if (!proto_parse_fields(text, len, 2, f, &names) || !proto_room_field(f[0], &room) ||
        !proto_count_field(f[1], &count)) {
        dim_text(st, "* ", text, len, out); /* not the form we know: as it is */
        return;
    }
    sgr(st, out, SGR_DIM);
    buf_append_str(out, "* ");
    sanitize_append(out, f[0].p, f[0].len);
    buf_appendf(out, count > 1 ? ", %u personnes" : ", %u personne", count);
    const char *w;
    size_t wlen, named = 0;
    while (command_next_word(&names.p, &names.len, &w, &wlen)) {
        buf_append_str(out, named++ ? ", " : " : ");
        sanitize_append(out, w, wlen);
    }
    if (named < count) {
        size_t more = count - named;
        if (named) {
            buf_appendf(out, more > 1 ? " et %zu autres" : " et %zu autre", more);
        } else {
            buf_appendf(out, " (%zu)", more);
        }
    }
    reset(st, out);
}

/* The number of fields before " : " in an event line of kind, 0 for other kinds. */
static size_t event_fields(char kind)
{
    switch (kind) {
    case PROTO_ENTER:
    case PROTO_LEAVE:
    case PROTO_RENAME:
    case PROTO_ROOM_ITEM:
        return 2;
    case PROTO_ROOM:
        return 1;
    default:
        return 0;
    }
}

/* Appends what a person reads of an event line, sanitised: the sentence after " : ", and
 * for '$' the room before it ("#jeux : 3 personnes"), as the notices the events replace
 * read. Returns false, having appended nothing, for another kind, or a line not of its
 * kind's form or with no sentence: the caller shows it whole, as a notice. */
static bool event_text(char kind, const char *text, size_t len, struct buf *out)
{
    size_t n = event_fields(kind);
    struct proto_span f[2], sentence, room;
    unsigned count;
    if (n == 0 || !proto_parse_fields(text, len, n, f, &sentence) || sentence.len == 0) {
        return false;
    }
    /* Where the form has a room: the second field of '^' and '-', the first of '#', '$'. */
    size_t room_at = kind == PROTO_ENTER || kind == PROTO_LEAVE ? 1 : 0;
    if (kind != PROTO_RENAME && !proto_room_field(f[room_at], &room)) {
        return false;
    }
    if (kind == PROTO_ROOM_ITEM) {
        if (!proto_count_field(f[1], &count)) {
            return false;
        }
        sanitize_append(out, f[0].p, f[0].len);
        buf_append_str(out, " : ");
    }
    sanitize_append(out, sentence.p, sentence.len);
    return true;
}

/* An event line: dim, as the notice it replaces ("* bob a rejoint #jeux"). */
static void event_line(const struct style *st, char kind, const char *text, size_t len,
                       struct buf *out)
{
    sgr(st, out, SGR_DIM);
    buf_append_str(out, "* ");
    if (!event_text(kind, text, len, out)) {
        sanitize_append(out, text, len); /* not the form we know: as it is */
    }
    reset(st, out);
}

struct style_marks style_server_line(const struct style *st, const char *line, size_t len,
                                     time_t now, struct buf *out)
{
    struct style_marks marks = {0};
    char kind;
    const char *text;
    size_t text_len;
    proto_split_kind(line, len, &kind, &text, &text_len);
    if (kind == PROTO_HISTORY) {
        history_line(st, text, text_len, now, out);
        return marks;
    }
    clock_prefix(st, now, out);
    switch (kind) {
    case PROTO_MESSAGE:
        return message(st, text, text_len, out);
    case PROTO_ACTION:
        return action(st, text, text_len, out);
    case PROTO_PRIVATE:
        return private_message(st, text, text_len, out);
    case PROTO_WHO:
        who_line(st, text, text_len, out);
        return marks;
    case PROTO_ENTER:
    case PROTO_LEAVE:
    case PROTO_RENAME:
    case PROTO_ROOM:
    case PROTO_ROOM_ITEM:
        event_line(st, kind, text, text_len, out);
        return marks;
    case PROTO_ERROR:
        sgr(st, out, SGR_ERROR);
        buf_append_str(out, "! ");
        sanitize_append(out, text, text_len);
        reset(st, out);
        return marks;
    default:
        dim_text(st, "* ", text, text_len, out); /* notices, answers, kinds we do not know */
        return marks;
    }
}

void style_plain_line(const char *line, size_t len, struct buf *out)
{
    char kind;
    const char *text;
    size_t text_len;
    proto_split_kind(line, len, &kind, &text, &text_len);
    switch (kind) {
    case PROTO_MESSAGE:
        break; /* "bob: salut" */
    case PROTO_ERROR:
        buf_append_str(out, "! ");
        break;
    default:
        buf_append_str(out, "* "); /* notices, events, and kinds this client does not know */
        break;
    }
    if (!event_text(kind, text, text_len, out)) {
        sanitize_append(out, text, text_len);
    }
}

void style_own_line(const struct style *st, const char *text, size_t len, bool action_line,
                    time_t now, struct buf *out)
{
    clock_prefix(st, now, out);
    const char *self = st->self ? st->self : "";
    if (action_line) {
        buf_append_str(out, "* ");
    }
    pseudo_piece(st, self, strlen(self), true, out);
    sgr(st, out, SGR_BOLD);
    buf_append_str(out, action_line ? " " : ": ");
    sanitize_append(out, text, len);
    reset(st, out);
}

void style_notice(const struct style *st, const char *text, time_t now, struct buf *out)
{
    clock_prefix(st, now, out);
    dim_text(st, "* ", text, strlen(text), out);
}

void style_error(const struct style *st, const char *text, time_t now, struct buf *out)
{
    clock_prefix(st, now, out);
    sgr(st, out, SGR_ERROR);
    buf_append_str(out, "! ");
    sanitize_append(out, text, strlen(text));
    reset(st, out);
}

/* ---------------------------------------------------------------- the prompt */

/* SGR for the prompt, wrapped so that readline does not count it as printed width. */
static void prompt_sgr(const struct style *st, struct buf *out, const char *params)
{
    if (st->colour) {
        buf_appendf(out, "\001\033[%sm\002", params);
    }
}

void style_prompt(const struct style *st, const struct style_status *s, struct buf *out)
{
    prompt_sgr(st, out, SGR_DIM);
    buf_append_char(out, '[');
    prompt_sgr(st, out, "0");
    if (st->colour) {
        char colour[16];
        style_pseudo_colour(s->pseudo, strlen(s->pseudo), st->palette256, colour, sizeof(colour));
        buf_appendf(out, "\001\033[1;%sm\002", colour);
    }
    sanitize_append(out, s->pseudo, strlen(s->pseudo));
    prompt_sgr(st, out, "0");
    prompt_sgr(st, out, SGR_DIM);
    buf_append_char(out, '@');
    sanitize_append(out, s->server, strlen(s->server));
    prompt_sgr(st, out, "0");
    if (s->room) {
        buf_append_str(out, " #");
        sanitize_append(out, s->room, strlen(s->room));
    }
    if (s->offline) {
        prompt_sgr(st, out, SGR_ERROR);
        if (s->retry_s > 0) {
            buf_appendf(out, " hors ligne, nouvel essai dans %u s", s->retry_s);
        } else {
            buf_append_str(out, " hors ligne, reconnexion…");
        }
        prompt_sgr(st, out, "0");
    } else if (s->count > 0) {
        buf_appendf(out, " %u", s->count);
    }
    if (s->tls) {
        prompt_sgr(st, out, s->tls_unverified ? SGR_UNSAFE : SGR_SAFE);
        buf_append_str(out, s->tls_unverified ? " · tls non vérifié" : " · tls");
        prompt_sgr(st, out, "0");
    }
    if (s->waiting > 0) {
        prompt_sgr(st, out, SGR_BOLD);
        buf_appendf(out, " · %zu en attente", s->waiting);
        prompt_sgr(st, out, "0");
    }
    prompt_sgr(st, out, SGR_DIM);
    buf_append_str(out, "]");
    prompt_sgr(st, out, "0");
    buf_append_char(out, ' ');
}
