/* render.c - the line protocol's forms of events and views; see render.h.
 *
 * Each event kind has one French sentence (sentence()), the words people read, written
 * whole; the plain form is the sentence behind its kind, the events form puts the fields a
 * program needs before it. Chat lines, the hot path, are written straight into the
 * event's allocation with no intermediate buffer; the rare kinds go through a buffer.
 */
#include "render.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/proto.h"
#include "common/pseudo.h"
#include "event.h"
#include "room.h"

/* ---------------------------------------------------------------- sentences */

/* A French sentence whole in one string, its "%s" standing for the strings given with
 * it: measured and written without printf, which would cost more than the rest of an
 * arrival, and without an intermediate buffer. */
struct sentence {
    const char *form; /* only "%s" is special */
    const char *arg[4];
    size_t len[4];
};

static size_t sentence_length(const struct sentence *st)
{
    size_t n = 0, a = 0;
    for (const char *p = st->form; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            n += st->len[a++];
            p++;
        } else {
            n++;
        }
    }
    return n;
}

static char *sentence_write(const struct sentence *st, char *out)
{
    size_t a = 0;
    for (const char *p = st->form; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            memcpy(out, st->arg[a], st->len[a]);
            out += st->len[a++];
            p++;
        } else {
            *out++ = *p;
        }
    }
    return out;
}

/* A sentence with up to three strings. */
static struct sentence with(const char *form, const char *a, size_t alen, const char *b,
                            size_t blen, const char *c, size_t clen)
{
    return (struct sentence){form, {a, b, c, NULL}, {alen, blen, clen, 0}};
}

/* EVENT_SENT_OUT's sentence: its text is the operator's pseudo, which has no space, then a
 * space and the reason, if any. */
static struct sentence sent_out(const struct event *e)
{
    const char *by = e->text, *space = memchr(e->text, ' ', e->text_len);
    size_t by_len = space ? (size_t)(space - by) : e->text_len;
    const char *why = space ? space + 1 : "";
    size_t why_len = space ? e->text_len - by_len - 1 : 0;
    if (why_len == 0) {
        return with("%s a été renvoyé de #%s par %s", e->who, e->who_len, e->where, e->where_len,
                    by, by_len);
    }
    return (struct sentence){"%s a été renvoyé de #%s par %s (%s)",
                             {e->who, e->where, by, why},
                             {e->who_len, e->where_len, by_len, why_len}};
}

/* The French sentence that tells of e (no kind, no '\n'). */
static struct sentence sentence(const struct event *e)
{
    bool reason = e->text_len > 0;
    const char *who = e->who, *where = e->where, *text = e->text;
    size_t wl = e->who_len, rl = e->where_len, tl = e->text_len;
    switch ((enum event_kind)e->kind) {
    case EVENT_ARRIVE:
        return with("%s a rejoint la discussion", who, wl, NULL, 0, NULL, 0);
    case EVENT_ENTER:
        return with("%s a rejoint #%s", who, wl, where, rl, NULL, 0);
    case EVENT_EXIT:
        return with("%s a quitté #%s", who, wl, where, rl, NULL, 0);
    case EVENT_QUIT:
        return with(reason ? "%s est déconnecté (%s)" : "%s est déconnecté", who, wl, text, tl,
                    NULL, 0);
    case EVENT_KICK:
        return with(reason ? "%s a été expulsé (%s)" : "%s a été expulsé", who, wl, text, tl, NULL,
                    0);
    case EVENT_SENT_OUT:
        return sent_out(e);
    case EVENT_TOPIC:
        return with("%s a changé le sujet de #%s : %s", who, wl, where, rl, text, tl);
    case EVENT_INVITE:
        return with("%s vous invite dans #%s : tapez /join #%s", who, wl, where, rl, where, rl);
    case EVENT_RENAME:
        return with("%s s'appelle maintenant %s", who, wl, text, tl, NULL, 0);
    case EVENT_NOTICE:
        return with("serveur : %s", text, tl, NULL, 0, NULL, 0);
    case EVENT_MARK:
        break; /* never delivered */
    case EVENT_SHUTDOWN:
        return with("Le serveur s'arrête.", NULL, 0, NULL, 0, NULL, 0);
    case EVENT_LINK_LOST:
        return with("Liaison perdue avec le reste de la discussion : vos messages attendent.", NULL,
                    0, NULL, 0, NULL, 0);
    case EVENT_LINK_BACK:
        return with("Liaison rétablie avec le reste de la discussion.", NULL, 0, NULL, 0, NULL, 0);
    case EVENT_CHAT:
    case EVENT_PRIVATE:
        return with("%s: %s", who, wl, text, tl, NULL, 0); /* lines, not sentences */
    case EVENT_ACTION:
        return with("%s %s", who, wl, text, tl, NULL, 0);
    }
    return with("", NULL, 0, NULL, 0, NULL, 0);
}

/* ---------------------------------------------------------------- the plain form */

/* The kind of e's plain line: chat lines, actions and private messages have their own;
 * everything else is a notice. */
static char plain_kind(const struct event *e)
{
    switch ((enum event_kind)e->kind) {
    case EVENT_CHAT:
        return PROTO_MESSAGE;
    case EVENT_ACTION:
        return PROTO_ACTION;
    case EVENT_PRIVATE:
        return PROTO_PRIVATE;
    case EVENT_LINK_LOST:
        return PROTO_ERROR;
    default:
        return PROTO_NOTICE;
    }
}

static size_t plain_measure(const struct event *e)
{
    struct sentence st = sentence(e);
    return 2 + sentence_length(&st) + 1;
}

static size_t plain_write(const struct event *e, char *out)
{
    struct sentence st = sentence(e);
    char *p = out;
    *p++ = plain_kind(e);
    *p++ = ' ';
    p = sentence_write(&st, p);
    *p++ = '\n';
    return (size_t)(p - out);
}

/* ---------------------------------------------------------------- the events form */

/* With the events capability: the kinds about a person in a room carry their fields, before
 * the sentence. The others read the same as in the plain form, and share its bytes (NULL). */
static struct msg *events_form(const struct event *e)
{
    struct sentence fields;
    switch ((enum event_kind)e->kind) {
    case EVENT_ARRIVE:
    case EVENT_ENTER:
        fields = with("^ %s #%s : ", e->who, e->who_len, e->where, e->where_len, NULL, 0);
        break;
    case EVENT_EXIT:
    case EVENT_QUIT:
    case EVENT_KICK:
    case EVENT_SENT_OUT:
        fields = with("- %s #%s : ", e->who, e->who_len, e->where, e->where_len, NULL, 0);
        break;
    case EVENT_RENAME:
        fields = with("| %s %s : ", e->who, e->who_len, e->text, e->text_len, NULL, 0);
        break;
    default:
        return NULL;
    }
    struct sentence st = sentence(e);
    struct msg *m = msg_new_blank(sentence_length(&fields) + sentence_length(&st) + 1);
    char *end = sentence_write(&st, sentence_write(&fields, m->data));
    *end = '\n';
    return m;
}

void render_init(void)
{
    static const struct event_line_renderer plain = {plain_measure, plain_write};
    event_set_line_renderer(&plain);
    event_set_renderer(RENDER_EVENTS, events_form);
}

/* ---------------------------------------------------------------- history */

bool render_parse_kept(const char *line, size_t len, struct event_fields *f)
{
    char kind;
    const char *text;
    size_t text_len;
    struct proto_span who, body;
    if (!proto_split_kind(line, len, &kind, &text, &text_len)) {
        return false;
    }
    if (kind == PROTO_MESSAGE && proto_parse_message(text, text_len, &who, &body)) {
        f->kind = EVENT_CHAT;
    } else if (kind == PROTO_ACTION && proto_parse_action(text, text_len, &who, &body) &&
               body.len > 0) {
        f->kind = EVENT_ACTION;
    } else {
        return false;
    }
    if (pseudo_check(who.p, who.len) != PSEUDO_OK) {
        return false; /* no server wrote it: a damaged or foreign record */
    }
    f->who = who.p;
    f->who_len = who.len;
    f->text = body.p;
    f->text_len = body.len;
    return true;
}

/* The date of day z since 1970-01-01, proleptic Gregorian (Howard Hinnant's
 * civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void two_digits(char *out, unsigned v)
{
    out[0] = (char)('0' + v / 10 % 10);
    out[1] = (char)('0' + v % 10);
}

/* "2026-11-25T14:03:12Z" for t. Written by hand for the years 1000 to 9999, since gmtime_r()
 * takes glibc's time zone lock and strftime() parses its format for every history line
 * of every arrival (3.5 % of the server's time when clients come and go, by perf); the C
 * library's for the others, which no clock gives but a history file may hold. */
/* Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool render_parse_utc_stamp(const char *text, int64_t *t, unsigned *ms)
{
    unsigned y, mo, d, h, mi, se;
    int used = 0;
    if (sscanf(text, "%4u-%2u-%2uT%2u:%2u:%2u%n", &y, &mo, &d, &h, &mi, &se, &used) != 6 ||
        used != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    const char *rest = text + used;
    *ms = 0;
    if (*rest == '.') {
        unsigned digits = 0, scale = 100;
        for (rest++; *rest >= '0' && *rest <= '9' && digits < 3; rest++, digits++, scale /= 10) {
            *ms += (unsigned)(*rest - '0') * scale;
        }
        if (digits == 0) {
            return false;
        }
    }
    if (strcmp(rest, "Z") != 0) {
        return false;
    }
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return true;
}

void render_utc_stamp(int64_t t, char out[32])
{
    int64_t days = t / 86400, secs = t % 86400; /* no overflow, whatever the file held */
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y >= 1000 && y <= 9999) {
        two_digits(out, (unsigned)(y / 100));
        two_digits(out + 2, (unsigned)(y % 100));
        out[4] = '-';
        two_digits(out + 5, m);
        out[7] = '-';
        two_digits(out + 8, d);
        out[10] = 'T';
        two_digits(out + 11, (unsigned)(secs / 3600));
        out[13] = ':';
        two_digits(out + 14, (unsigned)(secs / 60 % 60));
        out[16] = ':';
        two_digits(out + 17, (unsigned)(secs % 60));
        memcpy(out + 19, "Z", 2);
        return;
    }
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        strcpy(out, "1970-01-01T00:00:00Z"); /* a time no calendar holds: from a file */
    }
}

size_t render_history(struct event *const *history, size_t n, size_t budget, struct buf *out)
{
    size_t first = n, used = 0;
    while (first > 0) {
        size_t line = RENDER_HISTORY_OVERHEAD + history[first - 1]->line.len;
        if (used + line > budget) {
            break;
        }
        used += line;
        first--;
    }
    buf_grow(out, used);
    for (size_t i = first; i < n; i++) {
        char stamp[32];
        render_utc_stamp(history[i]->time, stamp);
        buf_append_char(out, PROTO_HISTORY);
        buf_append_char(out, ' ');
        buf_append_str(out, stamp);
        buf_append_char(out, ' ');
        buf_append(out, history[i]->line.data, history[i]->line.len);
    }
    return first;
}

/* ---------------------------------------------------------------- views */

void render_who(const struct room_view *v, struct buf *out)
{
    buf_appendf(out, "%c #%s %u :", PROTO_WHO, v->name, v->count);
    if (v->names_len > 0) {
        buf_append_char(out, ' ');
        buf_append(out, v->names, v->names_len);
    }
    buf_append_char(out, '\n');
}

void render_moved(enum render_form form, const struct room_view *v, struct buf *out)
{
    if (v->topic_only) {
        render_topic(v->name, v->topic, false, out);
        return;
    }
    if (form == RENDER_EVENTS) {
        buf_appendf(out, "%c #%s : ", PROTO_ROOM, v->name);
    } else {
        buf_appendf(out, "%c ", PROTO_OK);
    }
    buf_appendf(out, "Vous êtes maintenant dans #%s.\n", v->name);
    render_who(v, out);
    render_topic(v->name, v->topic, false, out);
}

void render_topic(const char *room, const char *topic, bool asked, struct buf *out)
{
    if (topic[0]) {
        buf_appendf(out, "%c Sujet de #%s : %s\n", PROTO_NOTICE, room, topic);
    } else if (asked) {
        buf_appendf(out, "%c #%s n'a pas de sujet.\n", PROTO_NOTICE, room);
    }
}

void render_rooms(enum render_form form, const struct room_entry *rooms, size_t n, struct buf *out)
{
    buf_appendf(out, n > 1 ? "%c %zu salons :\n" : "%c %zu salon :\n", PROTO_OK, n);
    for (size_t i = 0; i < n; i++) {
        const struct room_entry *r = &rooms[i];
        bool many = r->count > 1;
        if (form == RENDER_EVENTS) {
            buf_appendf(out, "%c #%s %u : ", PROTO_ROOM_ITEM, r->name, r->count);
        } else {
            buf_appendf(out, "%c #%s : ", PROTO_NOTICE, r->name);
        }
        buf_appendf(out, many ? "%u personnes" : "%u personne", r->count);
        if (r->topic[0]) {
            buf_appendf(out, " — %s", r->topic);
        }
        buf_append_char(out, '\n');
    }
}

void render_renamed(enum render_form form, const char *was, const char *now, struct buf *out)
{
    if (form == RENDER_EVENTS) {
        buf_appendf(out, "%c %s %s : ", PROTO_RENAME, was, now);
    } else {
        buf_appendf(out, "%c ", PROTO_OK);
    }
    buf_appendf(out, "Vous vous appelez maintenant %s.\n", now);
}
