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
#include "event.h"
#include "room.h"

/* ---------------------------------------------------------------- sentences */

/* Appends the French sentence that tells of e to out (no kind, no '\n'). */
static void sentence(const struct event *e, struct buf *out)
{
    bool reason = e->text_len > 0;
    switch ((enum event_kind)e->kind) {
    case EVENT_ARRIVE:
        buf_appendf(out, "%s a rejoint la discussion", e->who);
        break;
    case EVENT_ENTER:
        buf_appendf(out, "%s a rejoint #%s", e->who, e->where);
        break;
    case EVENT_EXIT:
        buf_appendf(out, "%s a quitté #%s", e->who, e->where);
        break;
    case EVENT_QUIT:
        buf_appendf(out, reason ? "%s est déconnecté (%s)" : "%s est déconnecté", e->who, e->text);
        break;
    case EVENT_KICK:
        buf_appendf(out, reason ? "%s a été expulsé (%s)" : "%s a été expulsé", e->who, e->text);
        break;
    case EVENT_RENAME:
        buf_appendf(out, "%s s'appelle maintenant %s", e->who, e->text);
        break;
    case EVENT_NOTICE:
        buf_appendf(out, "serveur : %s", e->text);
        break;
    case EVENT_SHUTDOWN:
        buf_append_str(out, "Le serveur s'arrête.");
        break;
    case EVENT_CHAT:
    case EVENT_ACTION:
    case EVENT_PRIVATE:
        buf_append_str(out, e->text); /* not used: these are lines, not sentences */
        break;
    }
}

/* ---------------------------------------------------------------- the plain form */

/* Chat lines, actions and private messages: "K who: text\n", "K who text\n". */
static bool is_line(const struct event *e)
{
    return e->kind == EVENT_CHAT || e->kind == EVENT_ACTION || e->kind == EVENT_PRIVATE;
}

static char line_kind(const struct event *e)
{
    return e->kind == EVENT_CHAT     ? PROTO_MESSAGE
           : e->kind == EVENT_ACTION ? PROTO_ACTION
                                     : PROTO_PRIVATE;
}

/* The separator after the pseudo: an action reads "bob range", the others "bob: salut". */
static const char *line_separator(const struct event *e)
{
    return e->kind == EVENT_ACTION ? " " : ": ";
}

static void plain_notice(const struct event *e, struct buf *out)
{
    buf_append_str(out, "* ");
    sentence(e, out);
    buf_append_char(out, '\n');
}

static size_t plain_measure(const struct event *e)
{
    if (is_line(e)) {
        return 2 + e->who_len + strlen(line_separator(e)) + e->text_len + 1;
    }
    struct buf b = BUF_INIT;
    plain_notice(e, &b);
    size_t n = b.len;
    buf_release(&b);
    return n;
}

static size_t plain_write(const struct event *e, char *out)
{
    if (!is_line(e)) {
        struct buf b = BUF_INIT;
        plain_notice(e, &b);
        memcpy(out, b.data, b.len);
        size_t n = b.len;
        buf_release(&b);
        return n;
    }
    const char *sep = line_separator(e);
    size_t sep_len = strlen(sep);
    char *p = out;
    *p++ = line_kind(e);
    *p++ = ' ';
    memcpy(p, e->who, e->who_len);
    p += e->who_len;
    memcpy(p, sep, sep_len);
    p += sep_len;
    memcpy(p, e->text, e->text_len);
    p += e->text_len;
    *p++ = '\n';
    return (size_t)(p - out);
}

/* ---------------------------------------------------------------- the events form */

/* With the events capability: the kinds about a person in a room carry their fields. The
 * others read the same as in the plain form, and share its bytes (NULL). */
static struct msg *events_form(const struct event *e)
{
    struct buf b = BUF_INIT;
    switch ((enum event_kind)e->kind) {
    case EVENT_ARRIVE:
    case EVENT_ENTER:
        buf_appendf(&b, "%c %s #%s : ", PROTO_ENTER, e->who, e->where);
        break;
    case EVENT_EXIT:
    case EVENT_QUIT:
    case EVENT_KICK:
        buf_appendf(&b, "%c %s #%s : ", PROTO_LEAVE, e->who, e->where);
        break;
    case EVENT_RENAME:
        buf_appendf(&b, "%c %s %s : ", PROTO_RENAME, e->who, e->text);
        break;
    default:
        return NULL;
    }
    sentence(e, &b);
    buf_append_char(&b, '\n');
    struct msg *m = msg_new_lines(b.data, b.len);
    buf_release(&b);
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
    f->who = who.p;
    f->who_len = who.len;
    f->text = body.p;
    f->text_len = body.len;
    return true;
}

/* "2026-11-25T14:03:12Z" for t. */
static void utc_stamp(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        strcpy(out, "1970-01-01T00:00:00Z"); /* a time no calendar holds: from a file */
    }
}

void render_history(struct event *const *history, size_t n, size_t budget, struct buf *out)
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
        utc_stamp(history[i]->time, stamp);
        buf_appendf(out, "%c %s ", PROTO_HISTORY, stamp);
        buf_append(out, history[i]->line.data, history[i]->line.len);
    }
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
    if (form == RENDER_EVENTS) {
        buf_appendf(out, "%c #%s : ", PROTO_ROOM, v->name);
    } else {
        buf_appendf(out, "%c ", PROTO_OK);
    }
    buf_appendf(out, "Vous êtes maintenant dans #%s.\n", v->name);
    render_who(v, out);
}

static const char *people(uint32_t n)
{
    return n > 1 ? "personnes" : "personne";
}

void render_rooms(enum render_form form, const struct room_entry *rooms, size_t n, struct buf *out)
{
    buf_appendf(out, "%c %zu salon%s :\n", PROTO_OK, n, n > 1 ? "s" : "");
    for (size_t i = 0; i < n; i++) {
        const struct room_entry *r = &rooms[i];
        if (form == RENDER_EVENTS) {
            buf_appendf(out, "%c #%s %u : %u %s\n", PROTO_ROOM_ITEM, r->name, r->count, r->count,
                        people(r->count));
        } else {
            buf_appendf(out, "%c #%s : %u %s\n", PROTO_NOTICE, r->name, r->count, people(r->count));
        }
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
