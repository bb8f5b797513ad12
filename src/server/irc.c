/* irc.c - IRC's client protocol on the core's events; see irc.h and docs/IRC.md.
 *
 * A line is cut by irc_parse.c, then handled by its command's function in the table at the
 * end. What causerie already does is asked of session.c as the line protocol would ask it
 * ("/join #salon", "/nick bob", a chat line), so that the checks, the limits, the texts of
 * refusals and the events are the same for both protocols; what IRC alone needs (the
 * registration, the numerics, PING) is answered here. Every reply is a whole line ending
 * in "\r\n", sent at once through session_send_raw().
 *
 * The people in IRC's prefixes are "pseudo!pseudo@causerie": IRC has a user and a host,
 * causerie has neither, and a person's address is not shown to the others.
 */
#include "irc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "away.h"
#include "client.h"
#include "common/buf.h"
#include "common/proto.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "common/utf8.h"
#include "common/wipe.h"
#include "common/xalloc.h"
#include "event.h"
#include "irc_parse.h"
#include "loop.h"
#include "msg.h"
#include "options.h"
#include "password.h"
#include "peers.h"
#include "registry.h"
#include "room.h"
#include "session.h"
#include "store.h"

/* The server's name in IRC's prefixes and numerics, and the host part of every person's
 * (--irc-name); set by irc_init(), then only read. */
static const char *server_name = DEFAULT_IRC_NAME;
/* The network's name (ISUPPORT's NETWORK). */
#define NETWORK_NAME "causerie"
/* The least text per line when a long line is cut, whatever the prefix and target take:
 * a pseudo and a room name are far shorter than 512 bytes, but a line must go on. */
#define TEXT_PER_LINE_MIN 64
/* The least bytes of names per RPL_NAMREPLY (353), whatever the server's name, the nick
 * and the channel take: one "@nick!nick@server" of the longest. */
#define NAMES_PER_LINE_MIN 300

/* How a refused line is named in a flood refusal: never by its content. */
#define REFUSED_LINE "(ligne refusée)"
/* AUTHENTICATE's pieces: 400 bytes of base64 each, a shorter one (or "+") ending them. */
#define SASL_PIECE 400
/* The most base64 a PLAIN exchange may send: two pseudos and the longest password. */
#define SASL_DATA_MAX (((2 * 4 * PSEUDO_MAX_CHARS + 2 + PASSWORD_MAX_BYTES) + 2) / 3 * 4)

/* The most lines one CHATHISTORY gives (ISUPPORT's CHATHISTORY): /history's own bound. */
#define CHATHISTORY_MAX 100

static const struct server_options *opts; /* borrowed, set by irc_init() */

static struct irc_state *state(struct session *s)
{
    return (struct irc_state *)(s + 1); /* session_open() put it there */
}

/* The name IRC calls s by: its pseudo once it has one, the nick it gave, or "*". */
static const char *nick_of(struct session *s)
{
    struct person *p = session_person(s);
    if (p) {
        return person_pseudo(p);
    }
    return state(s)->nick[0] ? state(s)->nick : "*";
}

/* ---------------------------------------------------------------- writing */

/* ":pseudo!pseudo@causerie " */
static void append_prefix(struct buf *b, const char *who, size_t len)
{
    buf_append_char(b, ':');
    buf_append(b, who, len);
    buf_append_char(b, '!');
    buf_append(b, who, len);
    buf_appendf(b, "@%s ", server_name);
}

/* How many bytes of text (len) go in one line: at most max, not cutting a character. */
static size_t cut_at_char(const char *text, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    size_t n = max;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) {
        n--; /* text[n] continues a character: cut before that character */
    }
    return n > 0 ? n : max;
}

/* The bytes of ":who!who@server VERB target :\r\n" (and a CTCP ACTION's wrapper): what a
 * line of text carries besides the text. */
static size_t said_overhead(size_t who_len, const char *verb, size_t target_len, bool action)
{
    return 1 + 2 * who_len + 2 + strlen(server_name) + 1 + strlen(verb) + 1 + target_len + 2 +
           (action ? strlen("\001ACTION \001") : 0) + 2;
}

/* Appends "PREFIX VERB TARGET :TEXT\r\n", cut into several lines when text is long (each
 * within IRC's 512 bytes); with
 * action, each line is a CTCP ACTION. */
static void append_said(struct buf *b, const char *who, size_t who_len, const char *verb,
                        const char *target, size_t target_len, const char *text, size_t len,
                        bool action)
{
    size_t used = said_overhead(who_len, verb, target_len, action);
    size_t per_line =
        used + TEXT_PER_LINE_MIN < IRC_LINE_MAX ? IRC_LINE_MAX - used : TEXT_PER_LINE_MIN;
    do {
        size_t n = cut_at_char(text, len, per_line);
        append_prefix(b, who, who_len);
        buf_appendf(b, "%s ", verb);
        buf_append(b, target, target_len);
        buf_append_str(b, action ? " :\001ACTION " : " :");
        buf_append(b, text, n);
        buf_append_str(b, action ? "\001\r\n" : "\r\n");
        text += n;
        len -= n;
    } while (len > 0);
}

/* Cuts each line of b longer than IRC's 512 bytes (its tags aside, which have their own
 * limit) at a character boundary. Chat lines are split before they get here; this is for
 * the rest, whose length a user chooses too (a topic, a reason, a notice quoting a line):
 * a client that keeps to the limit would otherwise drop the line or the connection. */
static void fit_lines(struct buf *b)
{
    if (b->len <= IRC_LINE_MAX) {
        return; /* the usual case: nothing to scan */
    }
    char *d = b->data;
    size_t r = 0, w = 0;
    while (r < b->len) {
        const char *nl = memchr(d + r, '\n', b->len - r);
        size_t end = nl ? (size_t)(nl - d) + 1 : b->len, len = end - r, tags = 0;
        if (d[r] == '@') {
            const char *space = memchr(d + r, ' ', len);
            tags = space ? (size_t)(space - (d + r)) + 1 : 0;
        }
        if (len - tags > IRC_LINE_MAX) {
            size_t body = cut_at_char(d + r + tags, len - tags, IRC_LINE_MAX - 2);
            memmove(d + w, d + r, tags + body);
            memcpy(d + w + tags + body, "\r\n", 2);
            w += tags + body + 2;
        } else {
            memmove(d + w, d + r, len);
            w += len;
        }
        r = end;
    }
    b->len = w;
    d[w] = '\0';
}

static void send_buf(struct session *s, struct buf *b)
{
    fit_lines(b);
    if (b->len > 0) {
        session_send_raw(s, b->data, b->len);
    }
}

/* Sends ":causerie NUMERIC NICK " and the formatted rest, then "\r\n". */
static void numeric(struct session *s, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void numeric(struct session *s, const char *code, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    buf_appendf(&b, ":%s %s %s ", server_name, code, nick_of(s));
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    buf_append_str(&b, "\r\n");
    send_buf(s, &b);
    buf_release(&b);
}

/* ---------------------------------------------------------------- events */

/* The plain rendering's sentence of e, without its kind and '\n': the French text the line
 * protocol's clients read, for what IRC has no verb of its own for. */
static void plain_sentence(const struct event *e, const char **text, size_t *len)
{
    *text = e->line.data + 2;
    *len = e->line.len > 3 ? e->line.len - 3 : 0;
}

/* EVENT_SENT_OUT's text: the operator's pseudo, then a space and the reason, if any. */
static void sent_out_parts(const struct event *e, const char **by, size_t *by_len, const char **why,
                           size_t *why_len)
{
    const char *space = memchr(e->text, ' ', e->text_len);
    *by = e->text;
    *by_len = space ? (size_t)(space - e->text) : e->text_len;
    *why = space ? space + 1 : "";
    *why_len = space ? e->text_len - *by_len - 1 : 0;
}

/* Appends e in IRC's form, for target (the one recipient of a private message or an
 * invitation; ignored for the others). */
static void append_event(struct buf *b, const struct event *e, const char *target)
{
    const char *who = e->who, *where = e->where;
    size_t wl = e->who_len, rl = e->where_len;
    char channel[ROOM_NAME_MAX + 2];
    int cl = snprintf(channel, sizeof(channel), "#%.*s", (int)rl, where);
    cl = cl < (int)sizeof(channel) ? cl : (int)sizeof(channel) - 1; /* a room's name fits */
    switch ((enum event_kind)e->kind) {
    case EVENT_CHAT:
    case EVENT_ACTION:
        append_said(b, who, wl, "PRIVMSG", channel, (size_t)cl, e->text, e->text_len,
                    e->kind == EVENT_ACTION);
        return;
    case EVENT_PRIVATE:
        append_said(b, who, wl, "PRIVMSG", target, strlen(target), e->text, e->text_len, false);
        return;
    case EVENT_ARRIVE:
    case EVENT_ENTER:
        append_prefix(b, who, wl);
        buf_appendf(b, "JOIN %s\r\n", channel);
        return;
    case EVENT_EXIT:
        append_prefix(b, who, wl);
        buf_appendf(b, "PART %s\r\n", channel);
        return;
    case EVENT_QUIT:
        append_prefix(b, who, wl);
        buf_append_str(b, "QUIT :");
        if (e->text_len > 0) {
            buf_append(b, e->text, e->text_len);
        } else {
            buf_append_str(b, "Déconnecté");
        }
        buf_append_str(b, "\r\n");
        return;
    case EVENT_KICK: /* the server's operator: off the server */
        append_prefix(b, who, wl);
        buf_append_str(b, "QUIT :Expulsé par l'opérateur");
        if (e->text_len > 0) {
            buf_appendf(b, " (%.*s)", (int)e->text_len, e->text);
        }
        buf_append_str(b, "\r\n");
        return;
    case EVENT_SENT_OUT: { /* a room's operator: out of that room */
        const char *by, *why;
        size_t by_len, why_len;
        sent_out_parts(e, &by, &by_len, &why, &why_len);
        append_prefix(b, by, by_len);
        buf_appendf(b, "KICK %s %.*s :%.*s\r\n", channel, (int)wl, who, (int)why_len, why);
        return;
    }
    case EVENT_TOPIC:
        append_prefix(b, who, wl);
        buf_appendf(b, "TOPIC %s :%.*s\r\n", channel, (int)e->text_len, e->text);
        return;
    case EVENT_INVITE:
        append_prefix(b, who, wl);
        buf_appendf(b, "INVITE %s %s\r\n", target, channel);
        return;
    case EVENT_RENAME:
        append_prefix(b, who, wl);
        buf_appendf(b, "NICK :%.*s\r\n", (int)e->text_len, e->text);
        return;
    case EVENT_SHUTDOWN: {
        const char *text;
        size_t len;
        plain_sentence(e, &text, &len);
        buf_appendf(b, "ERROR :%.*s\r\n", (int)len, text);
        return;
    }
    case EVENT_NOTICE:
    case EVENT_LINK_LOST:
    case EVENT_LINK_BACK:
    case EVENT_MARK: { /* the last is never delivered */
        const char *text;
        size_t len;
        plain_sentence(e, &text, &len);
        buf_appendf(b, ":%s NOTICE * :%.*s\r\n", server_name, (int)len, text);
        return;
    }
    }
}

/* Appends lines (whole, "\r\n"-terminated), each after its tags: the time t as
 * server-time writes it, "@time=2026-12-06T15:30:00.000Z " (events keep seconds, hence
 * the zero milliseconds); with msgid (an event's place in the order; 0: none) first, for
 * message-tags, "@msgid=42;time=... "; with batch (NULL: none) first of all, for a line
 * inside that batch, "@batch=h42;msgid=42;time=... ". */
static void append_tagged(struct buf *out, const char *lines, size_t len, int64_t t, uint64_t msgid,
                          const char *batch)
{
    char stamp[32], tags[160];
    render_utc_stamp(t, stamp);
    int stamp_len = (int)strlen(stamp) - 1; /* without its 'Z' */
    int used = batch ? snprintf(tags, sizeof(tags), "@batch=%s;", batch)
                     : snprintf(tags, sizeof(tags), "@");
    if (msgid) {
        snprintf(tags + used, sizeof(tags) - (size_t)used, "msgid=%" PRIu64 ";time=%.*s.000Z ",
                 msgid, stamp_len, stamp);
    } else {
        snprintf(tags + used, sizeof(tags) - (size_t)used, "time=%.*s.000Z ", stamp_len, stamp);
    }
    for (bool first = true; len > 0; first = false) {
        const char *nl = memchr(lines, '\n', len);
        size_t n = nl ? (size_t)(nl - lines) + 1 : len;
        if (first || !msgid) {
            buf_append_str(out, tags);
        } else { /* a msgid names one message: the lines a long one was cut into after the
                  * first have their time (and batch) only */
            char rest[160];
            size_t at = (size_t)(strstr(tags, "msgid=") - tags);
            const char *time_tag = strstr(tags, "time=");
            snprintf(rest, sizeof(rest), "%.*s%s", (int)at, tags, time_tag);
            buf_append_str(out, rest);
        }
        buf_append(out, lines, n);
        lines += n;
        len -= n;
    }
}

/* IRC's rendering of e, shared by every IRC recipient (event.h's renderer). */
static struct msg *render(const struct event *e)
{
    struct buf b = BUF_INIT;
    append_event(&b, e, "*");
    fit_lines(&b);
    struct msg *m = msg_new_lines(b.data, b.len);
    buf_release(&b);
    return m;
}

/* The same with tags: the time (server-time), and the msgid too (message-tags). */
static struct msg *render_tags(const struct event *e, bool msgid)
{
    struct buf plain = BUF_INIT, tagged = BUF_INIT;
    append_event(&plain, e, "*");
    fit_lines(&plain);
    append_tagged(&tagged, plain.data, plain.len, e->time, msgid ? e->seq : 0, NULL);
    struct msg *m = msg_new_lines(tagged.data, tagged.len);
    buf_release(&plain);
    buf_release(&tagged);
    return m;
}

static struct msg *render_timed(const struct event *e)
{
    return render_tags(e, false);
}

static struct msg *render_tagged(const struct event *e)
{
    return render_tags(e, true);
}

/* Sends s lines (whole) about something that happened at time t, with its tags when s
 * asked for them: the time, and msgid if not 0 (an event's place in the order). */
static void send_dated(struct session *s, struct buf *lines, int64_t t, uint64_t msgid)
{
    fit_lines(lines);
    unsigned caps = state(s)->caps;
    if (!(caps & (IRC_CAP_SERVER_TIME | IRC_CAP_MESSAGE_TAGS))) {
        send_buf(s, lines);
        return;
    }
    struct buf tagged = BUF_INIT;
    append_tagged(&tagged, lines->data, lines->len, t, caps & IRC_CAP_MESSAGE_TAGS ? msgid : 0,
                  NULL);
    send_buf(s, &tagged);
    buf_release(&tagged);
}

void irc_deliver(struct session *s, struct event *e)
{
    struct buf b = BUF_INIT;
    append_event(&b, e, nick_of(s));
    send_dated(s, &b, e->time, e->seq);
    buf_release(&b);
}

void irc_private_sent(struct session *s, const char *to, const char *text, size_t len)
{
    if (!(state(s)->caps & IRC_CAP_ECHO_MESSAGE)) {
        return;
    }
    const char *me = nick_of(s);
    struct buf b = BUF_INIT;
    append_said(&b, me, strlen(me), "PRIVMSG", to, strlen(to), text, len, false);
    send_dated(s, &b, (int64_t)time(NULL), 0);
    buf_release(&b);
}

/* ---------------------------------------------------------------- what session.c says */

/* "= #ROOM COUNT : NAMES" (render_who()'s line, the answer to /who) as IRC's names. */
static void append_names(struct session *s, const char *channel, size_t channel_len,
                         const char *names, size_t len, struct buf *out)
{
    const char *me = nick_of(s);
    struct buf full = BUF_INIT;
    if (state(s)->caps & IRC_CAP_USERHOST_IN_NAMES) { /* "@nick" becomes "@nick!nick@host" */
        for (size_t i = 0; i < len;) {
            const char *space = memchr(names + i, ' ', len - i);
            size_t n = space ? (size_t)(space - (names + i)) : len - i;
            bool op = names[i] == '@';
            const char *nick = names + i + op;
            int nl = (int)(n - op);
            buf_appendf(&full, "%s%s%.*s!%.*s@%s", full.len ? " " : "", op ? "@" : "", nl, nick, nl,
                        nick, server_name);
            i += n + (space ? 1 : 0);
        }
        names = full.data;
        len = full.len;
    }
    /* ":server 353 me = #channel :names\r\n" within IRC's 512 bytes. */
    size_t overhead = strlen(server_name) + strlen(me) + channel_len + 13;
    size_t per_line =
        overhead + NAMES_PER_LINE_MIN < IRC_LINE_MAX ? IRC_LINE_MAX - overhead : NAMES_PER_LINE_MIN;
    while (len > 0) {
        size_t n = len;
        if (n > per_line) { /* cut after a whole name */
            n = per_line;
            while (n > 0 && names[n] != ' ') {
                n--;
            }
            if (n == 0) { /* one name longer than the line: alone on it */
                const char *space = memchr(names, ' ', len);
                n = space ? (size_t)(space - names) : len;
            }
        }
        buf_appendf(out, ":%s 353 %s = %.*s :%.*s\r\n", server_name, me, (int)channel_len, channel,
                    (int)n, names);
        names += n;
        len -= n;
        while (len > 0 && *names == ' ') {
            names++;
            len--;
        }
    }
    buf_appendf(out, ":%s 366 %s %.*s :Fin de la liste des noms.\r\n", server_name, me,
                (int)channel_len, channel);
    buf_release(&full);
}

/* A '=' line, "= #ROOM COUNT : NAMES", as 353 and 366; false if it is not one. */
static bool who_line(struct session *s, const char *text, size_t len, struct buf *out)
{
    const char *space = memchr(text, ' ', len);
    const char *colon = memchr(text, ':', len);
    if (!space || !colon || colon < space || text[0] != '#') {
        return false;
    }
    const char *names = colon + 1;
    size_t names_len = len - (size_t)(names - text);
    while (names_len > 0 && *names == ' ') {
        names++;
        names_len--;
    }
    append_names(s, text, (size_t)(space - text), names, names_len, out);
    return true;
}

void irc_notices(struct session *s, const char *lines, size_t len)
{
    struct buf out = BUF_INIT;
    while (len > 0) {
        const char *nl = memchr(lines, '\n', len);
        size_t line_len = nl ? (size_t)(nl - lines) : len;
        char kind = line_len > 0 ? lines[0] : 0;
        const char *text = line_len > 2 ? lines + 2 : "";
        size_t text_len = line_len > 2 ? line_len - 2 : 0;
        if (kind == PROTO_WHO && who_line(s, text, text_len, &out)) {
            /* as IRC's names */
        } else if (kind != PROTO_PROMPT && kind != PROTO_SECRET && text_len > 0) {
            buf_appendf(&out, ":%s NOTICE %s :", server_name, nick_of(s));
            buf_append(&out, text, text_len);
            buf_append_str(&out, "\r\n");
        }
        size_t used = nl ? line_len + 1 : line_len;
        lines += used;
        len -= used;
    }
    send_buf(s, &out);
    buf_release(&out);
}

/* ---------------------------------------------------------------- registration */

void irc_state_init(struct session *s)
{
    memset(state(s), 0, sizeof(struct irc_state));
}

/* PASS's password is wiped and freed (both it and SASL's base64 are NUL-terminated copies
 * of IRC parameters, which hold no NUL). */
static void forget_password(struct irc_state *st)
{
    wipe_free_str(st->password);
    st->password = NULL;
    st->password_len = 0;
}

/* An unfinished SASL exchange is dropped, its base64 wiped. */
static void forget_sasl(struct irc_state *st)
{
    wipe_free_str(st->sasl_data);
    st->sasl_data = NULL;
    st->sasl_len = 0;
    if (st->sasl == IRC_SASL_PAYLOAD) {
        st->sasl = IRC_SASL_NONE;
    }
}

void irc_state_forget(struct session *s)
{
    struct irc_state *st = state(s);
    forget_password(st);
    forget_sasl(st);
    if (st->away_person) {
        away_set(st->away_person, NULL, 0);
        st->away_person = NULL;
    }
}

/* Once NICK and USER have come, and CAP END if a negotiation began: the pseudo is asked
 * for as the line protocol's handshake would, with PASS's password if one was given; or,
 * once SASL proved an account, s logs in to it, whatever NICK said (an account is its
 * pseudo). */
static void try_register(struct session *s)
{
    struct irc_state *st = state(s);
    if (session_person(s) || session_logging_in(s) || !st->nick[0] || !st->user_given ||
        st->cap_negotiating) {
        return;
    }
    if (st->account_checked) {
        forget_password(st); /* SASL's proof stands: PASS is not needed */
        session_enter_checked(s, st->account, strlen(st->account));
        return;
    }
    const char *why = NULL;
    char nick[sizeof(st->nick)];
    memcpy(nick, st->nick, sizeof(nick));
    int r = session_give_pseudo(s, nick, strlen(nick), st->password, st->password_len, &why);
    free(st->password); /* wiped by session_give_pseudo() */
    st->password = NULL;
    st->password_len = 0;
    if (r == 0) {
        return; /* welcomed now, or once its password or its place is checked */
    }
    st->nick[0] = '\0'; /* refused: another NICK may follow, and "*" names it meanwhile */
    switch (r) {
    case -EINVAL:
        numeric(s, "432", "%s :%s", nick, why);
        break;
    case -EEXIST:
        numeric(s, "433", "%s :%s", nick, why);
        break;
    case -EACCES:
        numeric(s, "464", ":%s", why);
        break;
    default: /* -EAGAIN: not here or not now, and s was told why */
        break;
    }
}

void irc_pseudo_refused(struct session *s)
{
    struct irc_state *st = state(s);
    if (st->sasl == IRC_SASL_CHECKING) { /* SASL's verdict, not registration's */
        st->sasl = IRC_SASL_NONE;
        st->account[0] = '\0';
        numeric(s, "904", ":Authentification SASL refusée : voyez la notice ci-dessus.");
        return;
    }
    st->nick[0] = '\0';      /* another NICK may follow, and "*" names it meanwhile */
    st->account_checked = 0; /* a login SASL proved that failed: SASL again, or PASS */
    numeric(s, "464", ":Identification refusée : voyez la notice ci-dessus.");
}

void irc_password_checked(struct session *s)
{
    struct irc_state *st = state(s);
    st->sasl = IRC_SASL_NONE;
    st->account_checked = 1;
    const char *me = nick_of(s), *account = st->account;
    numeric(s, "900", "%s!%s@%s %s :Vous êtes identifié comme %s.", me, me, server_name, account,
            account);
    numeric(s, "903", ":Authentification SASL réussie.");
    /* Registration goes on at CAP END: what the client sent meanwhile waited (login.h). */
}

/* LUSERS's answer (251, 254, 255, 265, 266): this server's people and rooms. In a cluster
 * the others' people are not counted (docs/IRC.md). */
static void append_lusers(struct session *s, struct buf *b)
{
    const char *me = nick_of(s);
    size_t people = registry_count(), rooms;
    struct room_entry *list = room_list(&rooms);
    room_list_free(list, rooms);
    buf_appendf(b, ":%s 251 %s :Il y a %zu personnes et 0 invisibles sur 1 serveur.\r\n",
                server_name, me, people);
    buf_appendf(b, ":%s 254 %s %zu :salons\r\n", server_name, me, rooms);
    buf_appendf(b, ":%s 255 %s :J'ai %zu clients et 0 serveurs.\r\n", server_name, me, people);
    buf_appendf(b, ":%s 265 %s %zu %zu :Personnes ici : %zu\r\n", server_name, me, people, people,
                people);
    buf_appendf(b, ":%s 266 %s %zu %zu :Personnes en tout : %zu\r\n", server_name, me, people,
                people, people);
}

void irc_welcome(struct session *s, size_t count)
{
    const char *me = nick_of(s);
    struct buf b = BUF_INIT;
    buf_appendf(&b, ":%s 001 %s :Bienvenue sur causerie, %s !\r\n", server_name, me, me);
    buf_appendf(&b, ":%s 002 %s :Votre serveur est %s, version %s.\r\n", server_name, me,
                server_name, CAUSERIE_VERSION);
    buf_appendf(&b, ":%s 003 %s :Ce serveur parle IRC et le protocole de causerie.\r\n",
                server_name, me);
    buf_appendf(&b, ":%s 004 %s %s %s i bio\r\n", server_name, me, server_name, CAUSERIE_VERSION);
    /* Honest: what the rooms and pseudos really are. A pseudo counts characters, not
     * bytes; pseudos fold by Unicode's simple case folding, of which ASCII is a part. */
    buf_appendf(&b,
                ":%s 005 %s AWAYLEN=%d CHANTYPES=# CHANNELLEN=%d CHATHISTORY=%d "
                "MSGREFTYPES=msgid,timestamp NICKLEN=%d PREFIX=(o)@ "
                "CHANMODES=b,,,i CASEMAPPING=rfc8265 UTF8ONLY NETWORK=" NETWORK_NAME
                " :sont pris en charge par ce serveur\r\n",
                server_name, me, AWAY_MAX, ROOM_NAME_MAX + 1, CHATHISTORY_MAX, PSEUDO_MAX_CHARS);
    (void)count; /* IRC says how many are here with LUSERS, as every server does */
    append_lusers(s, &b);
    buf_appendf(&b, ":%s 422 %s :Pas de message du jour.\r\n", server_name, me);
    send_buf(s, &b);
    buf_release(&b);
}

/* What a client is sent when it joins a channel: its JOIN, the topic, the names. */
static void append_joined(struct session *s, const struct room_view *v, struct buf *out)
{
    const char *me = nick_of(s);
    append_prefix(out, me, strlen(me));
    buf_appendf(out, "JOIN #%s\r\n", v->name);
    if (v->topic[0]) {
        buf_appendf(out, ":%s 332 %s #%s :%s\r\n", server_name, me, v->name, v->topic);
    }
    char channel[ROOM_NAME_MAX + 2];
    int cl = snprintf(channel, sizeof(channel), "#%s", v->name);
    append_names(s, channel, (size_t)cl, v->names, v->names_len, out);
}

void irc_moved(struct session *s, const struct room_view *v, struct buf *out)
{
    struct irc_state *st = state(s);
    struct person *p = session_person(s);
    if (!p) {
        return; /* left meanwhile */
    }
    struct buf lines = BUF_INIT; /* sent raw with the history by session.c: fitted here */
    if (st->channel[0] && strcmp(st->channel, v->name) != 0 && !v->sent_out) { /* KICK said it */
        const char *me = person_pseudo(p);
        append_prefix(&lines, me, strlen(me));
        buf_appendf(&lines, "PART #%s\r\n", st->channel);
    }
    append_joined(s, v, &lines);
    fit_lines(&lines);
    buf_append(out, lines.data, lines.len);
    buf_release(&lines);
    snprintf(st->channel, sizeof(st->channel), "%s", v->name);
}

/* Whether s reads history as IRCv3 says a client that can (batch, and server-time or
 * message-tags for the times) should: PRIVMSGs in a chathistory batch. */
static bool history_batched(struct session *s)
{
    unsigned caps = state(s)->caps;
    return (caps & IRC_CAP_BATCH) && (caps & (IRC_CAP_SERVER_TIME | IRC_CAP_MESSAGE_TAGS));
}

/* One kept line (an event of the history, or a line read back from the store) in IRC's
 * form for s, cut into lines of 512 bytes at most: inside batch (when history_batched()),
 * a PRIVMSG from its author to the room with its time (and msgid, with message-tags) in
 * tags; else a NOTICE from its author to the room, the time first in its text,
 * "[2026-12-06T15:30:00Z] ", which irssi and WeeChat show as it is. */
static void append_kept(struct session *s, struct buf *b, const struct store_line *l,
                        const char *batch)
{
    char channel[ROOM_NAME_MAX + 2];
    int cl = snprintf(channel, sizeof(channel), "#%.*s", (int)l->room_len, l->room);
    cl = cl < (int)sizeof(channel) ? cl : (int)sizeof(channel) - 1;
    bool action = l->kind == EVENT_ACTION;
    struct buf said = BUF_INIT;
    if (batch) {
        append_said(&said, l->who, l->who_len, "PRIVMSG", channel, (size_t)cl, l->text, l->text_len,
                    action);
        append_tagged(b, said.data, said.len, l->time,
                      state(s)->caps & IRC_CAP_MESSAGE_TAGS ? l->id : 0, batch);
    } else {
        char stamp[32];
        render_utc_stamp(l->time, stamp);
        struct buf text = BUF_INIT;
        buf_appendf(&text, "[%s] ", stamp);
        if (action) {
            buf_appendf(&text, "* %.*s ", (int)l->who_len, l->who);
        }
        buf_append(&text, l->text, l->text_len);
        append_said(b, l->who, l->who_len, "NOTICE", channel, (size_t)cl, text.data, text.len,
                    false);
        buf_release(&text);
    }
    buf_release(&said);
}

size_t irc_history(struct session *s, struct event *const *history, size_t n, size_t budget,
                   struct buf *out)
{
    /* One batch per move: its reference names the move's first kept event. */
    char batch[32];
    const char *in_batch = NULL;
    if (n > 0 && history_batched(s)) {
        snprintf(batch, sizeof(batch), "h%" PRIu64, history[0]->seq);
        in_batch = batch;
    }
    struct buf line = BUF_INIT;
    size_t first = n, used = 0;
    while (first > 0) {
        buf_reset(&line);
        struct store_line l = store_line_of(history[first - 1]);
        append_kept(s, &line, &l, in_batch);
        if (used + line.len > budget) {
            break;
        }
        used += line.len;
        first--;
    }
    buf_release(&line);
    if (first == n) {
        return first;
    }
    buf_grow(out, used);
    if (in_batch) {
        buf_appendf(out, ":%s BATCH +%s chathistory #%.*s\r\n", server_name, in_batch,
                    (int)history[first]->where_len, history[first]->where);
    }
    for (size_t i = first; i < n; i++) {
        struct store_line l = store_line_of(history[i]);
        append_kept(s, out, &l, in_batch);
    }
    if (in_batch) {
        buf_appendf(out, ":%s BATCH -%s\r\n", server_name, in_batch);
    }
    return first;
}

void irc_history_found(struct session *s, int status, const struct store_line *lines, size_t n)
{
    struct irc_state *st = state(s);
    struct buf b = BUF_INIT;
    if (status < 0) {
        buf_appendf(&b,
                    ":%s FAIL CHATHISTORY MESSAGE_ERROR %s %s :L'historique ne peut être lu "
                    "pour le moment : réessayez.\r\n",
                    server_name, st->history_verb, st->history_target);
    } else {
        char batch[16];
        bool batched = (st->caps & IRC_CAP_BATCH) != 0;
        snprintf(batch, sizeof(batch), "c%" PRIu32, ++st->batches);
        if (batched) {
            buf_appendf(&b, ":%s BATCH +%s chathistory %s\r\n", server_name, batch,
                        st->history_target);
        }
        for (size_t i = 0; i < n; i++) {
            append_kept(s, &b, &lines[i], batched ? batch : NULL);
        }
        if (batched) {
            buf_appendf(&b, ":%s BATCH -%s\r\n", server_name, batch);
        }
    }
    st->history_verb[0] = '\0';
    send_buf(s, &b);
    buf_release(&b);
}

/* ---------------------------------------------------------------- commands */

/* What a command's function is given: the message, and its parameters as C strings (a copy
 * of the line with a NUL after each). */
struct call {
    const struct irc_message *m;
    unsigned n;
    const char *param[IRC_PARAMS_MAX];
};

/* Runs a line of the line protocol ("/join #salon") for s, built from the parts given. */
static void run(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void run(struct session *s, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    session_command(s, b.data, b.len);
    buf_release(&b);
}

/* Whether channel ("#salon") names the room s is in. */
static bool in_channel(struct session *s, const char *channel)
{
    const char *now = state(s)->channel;
    return channel[0] == '#' && now[0] &&
           pseudo_equal(channel + 1, strlen(channel + 1), now, strlen(now));
}

/* Whether someone holds the pseudo nick, here or on another server: 0, with its pseudo as
 * typed in typed (size bytes); -ENOENT if nobody; -EIO if the cluster cannot tell. */
static int who_is(const char *nick, char *typed, size_t size)
{
    struct buf key = BUF_INIT;
    pseudo_fold(nick, strlen(nick), &key);
    struct person *p = registry_find(key.data);
    int r = 0;
    if (p) {
        snprintf(typed, size, "%s", person_pseudo(p));
        person_unref(p);
    } else {
        r = peers_clustered() ? peers_find(key.data, typed, size) : -ENOENT;
    }
    buf_release(&key);
    return r;
}

/* Whether the person who holds nick (len bytes) on this server is away (away.h); its text
 * in out. */
static bool away_of(const char *nick, size_t len, char out[AWAY_MAX + 1])
{
    struct buf key = BUF_INIT;
    pseudo_fold(nick, len, &key);
    struct person *p = registry_find(key.data);
    buf_release(&key);
    bool away = p && away_get(p, out, AWAY_MAX + 1);
    if (p) {
        person_unref(p);
    }
    return away;
}

/* Whether someone holds the pseudo nick, as who_is() says it (an engine that cannot tell
 * counts as nobody). */
static bool someone_is(const char *nick, char *typed, size_t size)
{
    return who_is(nick, typed, size) == 0;
}

/* The capabilities offered, by name. */
static const struct {
    const char *name;
    enum irc_cap bit;
} caps[] = {
    {"batch", IRC_CAP_BATCH},
    {"cap-notify", IRC_CAP_CAP_NOTIFY},
    {"draft/chathistory", IRC_CAP_CHATHISTORY},
    {"echo-message", IRC_CAP_ECHO_MESSAGE},
    {"message-tags", IRC_CAP_MESSAGE_TAGS},
    {"multi-prefix", IRC_CAP_MULTI_PREFIX},
    {"sasl", IRC_CAP_SASL},
    {"server-time", IRC_CAP_SERVER_TIME},
    {"userhost-in-names", IRC_CAP_USERHOST_IN_NAMES},
};
#define N_CAPS (sizeof(caps) / sizeof(caps[0]))

/* The capabilities of mask, by name, one space between each; with values, as CAP LS 302
 * lists them (sasl=PLAIN). */
static void append_caps(struct buf *b, unsigned mask, bool values)
{
    bool first = true;
    for (size_t i = 0; i < N_CAPS; i++) {
        if (mask & caps[i].bit) {
            buf_appendf(b, "%s%s", first ? "" : " ", caps[i].name);
            if (values && caps[i].bit == IRC_CAP_SASL) {
                buf_append_str(b, "=PLAIN");
            }
            first = false;
        }
    }
}

/* What the capabilities s has mean for its member: which rendering it reads, whether its
 * own lines come back to it. s's loop thread, like every read of them. */
static void apply_caps(struct session *s)
{
    struct irc_state *st = state(s);
    struct member *m = &s->member;
    m->rendering = st->caps & IRC_CAP_MESSAGE_TAGS  ? IRC_RENDERING_TAGGED
                   : st->caps & IRC_CAP_SERVER_TIME ? IRC_RENDERING_TIMED
                                                    : IRC_RENDERING;
    m->sees_own_lines = (st->caps & IRC_CAP_ECHO_MESSAGE) != 0;
}

/* CAP REQ: all of the list (each name, or "-name" to give it up) or none of it. */
static void cap_req(struct session *s, const char *list)
{
    struct irc_state *st = state(s);
    unsigned on = 0, off = 0;
    char *copy = xstrdup(list), *save = NULL;
    bool known = strspn(list, " ") < strlen(list); /* an empty list asks for nothing known */
    for (char *w = strtok_r(copy, " ", &save); w && known; w = strtok_r(NULL, " ", &save)) {
        bool drop = w[0] == '-';
        known = false;
        for (size_t i = 0; i < N_CAPS; i++) {
            if (strcmp(w + drop, caps[i].name) == 0) {
                *(drop ? &off : &on) |= caps[i].bit;
                known = true;
            }
        }
    }
    free(copy);
    if (!known) {
        numeric(s, "CAP", "NAK :%s", list);
        return;
    }
    st->caps = (uint16_t)((st->caps | on) & ~off);
    apply_caps(s);
    numeric(s, "CAP", "ACK :%s", list);
}

/* SASL's end without an account: the exchange is forgotten, and s told with code. */
static void sasl_fail(struct session *s, const char *code, const char *why)
{
    forget_sasl(state(s));
    numeric(s, code, ":%s", why);
}

static void cmd_cap(struct session *s, const struct call *c)
{
    struct irc_state *st = state(s);
    const char *sub = c->param[0];
    if (strcasecmp(sub, "LS") == 0) {
        st->cap_negotiating = !session_person(s);
        st->cap_302 = c->n > 1 && atoi(c->param[1]) >= 302;
        struct buf b = BUF_INIT;
        append_caps(&b, ~0u, st->cap_302);
        numeric(s, "CAP", "LS :%s", b.data);
        buf_release(&b);
    } else if (strcasecmp(sub, "LIST") == 0) {
        struct buf b = BUF_INIT;
        append_caps(&b, st->caps, false);
        numeric(s, "CAP", "LIST :%s", b.len ? b.data : "");
        buf_release(&b);
    } else if (strcasecmp(sub, "REQ") == 0) {
        st->cap_negotiating = !session_person(s);
        cap_req(s, c->n > 1 ? c->param[1] : "");
    } else if (strcasecmp(sub, "END") == 0) {
        if (st->sasl == IRC_SASL_PAYLOAD) { /* ending the negotiation ends the exchange */
            sasl_fail(s, "906", "Authentification SASL abandonnée.");
        }
        st->cap_negotiating = 0;
        try_register(s);
    } else {
        numeric(s, "410", "%s :Sous-commande CAP inconnue.", sub);
    }
}

static void cmd_pass(struct session *s, const struct call *c)
{
    struct irc_state *st = state(s);
    if (session_person(s) || session_logging_in(s)) {
        numeric(s, "462", ":Vous êtes déjà enregistré.");
        return;
    }
    forget_password(st);
    st->password_len = strlen(c->param[0]);
    st->password = xmemdup0(c->param[0], st->password_len);
}

/* PLAIN's credentials, decoded from the base64 gathered: "authzid NUL authcid NUL
 * password", the first empty or the account itself (causerie has no one acting for
 * another). Checked on login.h's thread pool; the verdict is irc_password_checked() or
 * irc_pseudo_refused(). */
static void sasl_plain(struct session *s)
{
    struct irc_state *st = state(s);
    size_t cap = st->sasl_len / 4 * 3 + 3, len = 0;
    char *plain = xmalloc(cap + 1);
    const char *end = NULL;
    bool decoded =
        sodium_base642bin((unsigned char *)plain, cap, st->sasl_data ? st->sasl_data : "",
                          st->sasl_len, NULL, &len, &end, sodium_base64_VARIANT_ORIGINAL) == 0 &&
        end == (st->sasl_data ? st->sasl_data : "") + st->sasl_len;
    forget_sasl(st);
    const char *authzid = plain, *authcid = NULL, *password = NULL;
    if (decoded) {
        const char *nul = memchr(plain, '\0', len);
        authcid = nul ? nul + 1 : NULL;
        nul = authcid ? memchr(authcid, '\0', len - (size_t)(authcid - plain)) : NULL;
        password = nul ? nul + 1 : NULL;
    }
    size_t authcid_len = password ? (size_t)(password - 1 - authcid) : 0;
    size_t password_len = password ? len - (size_t)(password - plain) : 0;
    if (!password || authcid_len == 0 || memchr(password, '\0', password_len)) {
        numeric(s, "904", ":Authentification SASL refusée : identifiants PLAIN mal formés.");
    } else if (authzid[0] && !pseudo_equal(authzid, strlen(authzid), authcid, authcid_len)) {
        numeric(s, "904", ":Authentification SASL refusée : on ne s'identifie que pour soi.");
    } else if (pseudo_check(authcid, authcid_len) != PSEUDO_OK) {
        numeric(s, "904", ":Authentification SASL refusée : ce n'est pas un pseudo.");
    } else {
        snprintf(st->account, sizeof(st->account), "%.*s", (int)authcid_len, authcid);
        st->sasl = IRC_SASL_CHECKING; /* what irc_pseudo_refused() reads */
        int r = session_check_password(s, authcid, authcid_len, (char *)password, password_len);
        if (r == -ENOENT) {
            st->sasl = IRC_SASL_NONE;
            st->account[0] = '\0';
            numeric(s, "904", ":Authentification SASL refusée : aucun compte à ce nom.");
        }
        /* -EACCES: refused and told (904) already; 0: the verdict follows */
    }
    wipe_bytes(plain, cap + 1);
    free(plain);
}

/* AUTHENTICATE: SASL PLAIN, before registration (docs/IRC.md). */
static void cmd_authenticate(struct session *s, const struct call *c)
{
    struct irc_state *st = state(s);
    const char *arg = c->param[0];
    if (session_person(s) || st->account_checked) {
        numeric(s, "907", ":Vous êtes déjà identifié.");
        return;
    }
    if (strcmp(arg, "*") == 0) {
        sasl_fail(s, "906", "Authentification SASL abandonnée.");
        return;
    }
    if (st->sasl == IRC_SASL_NONE) {
        if (strcasecmp(arg, "PLAIN") != 0) {
            numeric(s, "908", "PLAIN :sont les mécanismes SASL disponibles");
            sasl_fail(s, "904", "Authentification SASL refusée : mécanisme inconnu.");
            return;
        }
        st->sasl = IRC_SASL_PAYLOAD;
        struct buf b = BUF_INIT;
        buf_append_str(&b, "AUTHENTICATE +\r\n");
        send_buf(s, &b);
        buf_release(&b);
        return;
    }
    size_t len = strcmp(arg, "+") == 0 ? 0 : strlen(arg);
    if (len > SASL_PIECE || st->sasl_len + len > SASL_DATA_MAX) {
        sasl_fail(s, "905", "Message SASL trop long.");
        return;
    }
    if (len > 0) {
        char *grown = xmalloc(st->sasl_len + len + 1); /* moved by hand, to wipe the old */
        if (st->sasl_data) {
            memcpy(grown, st->sasl_data, st->sasl_len);
            wipe_bytes(st->sasl_data, st->sasl_len);
            free(st->sasl_data);
        }
        memcpy(grown + st->sasl_len, arg, len);
        st->sasl_data = grown;
        st->sasl_len += len;
        st->sasl_data[st->sasl_len] = '\0';
    }
    if (len == SASL_PIECE) {
        return; /* a whole piece: more follows, or "+" */
    }
    sasl_plain(s);
}

static void cmd_user(struct session *s, const struct call *c)
{
    if (session_person(s) || state(s)->user_given) {
        numeric(s, "462", ":Vous êtes déjà enregistré.");
        return;
    }
    if (c->param[0][0] == '\0' || c->param[3][0] == '\0') {
        numeric(s, "461", "USER :Paramètres manquants.");
        return; /* an empty user name or real name is none */
    }
    state(s)->user_given = 1;
    try_register(s);
}

/* Why nick cannot be an IRC client's, which causerie's rules alone would accept: what
 * would make a prefix, a list of targets or a mask ambiguous; NULL if it can. */
static const char *irc_nick_refusal(const char *nick)
{
    if (nick[0] && strchr("#&:$+%~", nick[0])) {
        return "Un pseudo IRC ne commence ni par #, &, :, $, +, % ni ~.";
    }
    if (nick[strcspn(nick, ",*?!@")] != '\0') {
        return "Un pseudo IRC ne contient ni virgule, ni *, ?, ! ou @.";
    }
    return NULL;
}

static void cmd_nick(struct session *s, const struct call *c)
{
    const char *nick = c->param[0];
    if (nick[0] == '\0') {
        numeric(s, "431", ":Pas de pseudo donné.");
        return;
    }
    struct person *p = session_person(s);
    const char *irc_refusal = irc_nick_refusal(nick);
    if (irc_refusal) {
        numeric(s, "432", "%s :%s", nick, irc_refusal);
        return;
    }
    if (!p) {
        if (session_logging_in(s)) {
            return; /* its password is being checked under the nick given before */
        }
        enum pseudo_verdict v = pseudo_check(nick, strlen(nick));
        if (v != PSEUDO_OK) {
            numeric(s, "432", "%s :%s", nick, pseudo_verdict_text(v));
            return;
        }
        snprintf(state(s)->nick, sizeof(state(s)->nick), "%s", nick);
        try_register(s);
        return;
    }
    char was[4 * PSEUDO_MAX_CHARS + 1];
    snprintf(was, sizeof(was), "%s", person_pseudo(p));
    run(s, "/nick %s", nick);
    p = session_person(s);
    struct irc_state *st = state(s);
    if (p && st->away_person && st->away_person != p) { /* renamed: its away goes with it */
        char text[AWAY_MAX + 1];
        if (away_get(st->away_person, text, sizeof(text))) {
            away_set(p, text, strlen(text));
        }
        away_set(st->away_person, NULL, 0);
        st->away_person = p;
    }
    if (p && strcmp(was, person_pseudo(p)) != 0) {
        /* The others are told by the rename's event; the one renamed, as IRC says. */
        struct buf b = BUF_INIT;
        append_prefix(&b, was, strlen(was));
        buf_appendf(&b, "NICK :%s\r\n", person_pseudo(p));
        send_buf(s, &b);
        buf_release(&b);
    }
}

static void cmd_ping(struct session *s, const struct call *c)
{
    struct buf b = BUF_INIT;
    buf_appendf(&b, ":%s PONG %s :%s\r\n", server_name, server_name, c->param[0]);
    send_buf(s, &b);
    buf_release(&b);
}

static void cmd_pong(struct session *s, const struct call *c)
{
    (void)s; /* any line is a sign of life: session.c pushed the idle deadline already */
    (void)c;
}

static void cmd_quit(struct session *s, const struct call *c)
{
    const char *reason = c->n > 0 ? c->param[0] : "";
    struct buf b = BUF_INIT;
    buf_append_str(&b, "ERROR :Au revoir.\r\n");
    send_buf(s, &b);
    buf_release(&b);
    if (session_person(s)) {
        run(s, reason[0] ? "/quit %s" : "/quit%s", reason);
    } else {
        client_finish(session_client(s), SESSION_LINGER_MS); /* nobody knew of it */
    }
}

/* Bytes of text s may send to target so that what the others receive, with s's prefix,
 * stays within IRC's 512 bytes: ":nick!nick@server PRIVMSG target :text\r\n". */
static size_t relayed_room(struct session *s, const char *target, bool action)
{
    size_t used = said_overhead(strlen(nick_of(s)), "PRIVMSG", strlen(target), action);
    return used < IRC_LINE_MAX ? IRC_LINE_MAX - used : 0;
}

/* PRIVMSG and NOTICE: to the room s is in, or to a person. A NOTICE is never answered with
 * an error, as IRC says, but for one too long to relay (417), which is the line's own. */
static void say(struct session *s, const struct call *c, bool is_notice)
{
    if (c->n < 2 || c->param[1][0] == '\0') {
        if (!is_notice) {
            numeric(s, c->n < 1 ? "411" : "412",
                    c->n < 1 ? ":Pas de destinataire (PRIVMSG)." : ":Pas de texte à envoyer.");
        }
        return;
    }
    const char *text = c->param[1];
    size_t len = strlen(text);
    bool action = len >= 8 && memcmp(text, "\001ACTION ", 8) == 0;
    if (action) {
        text += 8;
        len -= 8;
        if (len > 0 && text[len - 1] == '\001') {
            len--;
        }
    } else if (text[0] == '\001') {
        return; /* other CTCP requests (VERSION, PING...) are not answered */
    }
    char *targets = xstrdup(c->param[0]);
    char *save = NULL;
    for (char *t = strtok_r(targets, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t room = relayed_room(s, t, action);
        if (len > room) { /* refused whole rather than cut or split behind the sender's back */
            numeric(s, "417", ":Ligne trop longue une fois relayée : %zu octets de texte au plus.",
                    room);
            continue;
        }
        if (t[0] == '#') {
            if (!in_channel(s, t)) {
                if (!is_notice) {
                    numeric(s, "404", "%s :Vous n'êtes pas dans ce salon.", t);
                }
                continue;
            }
            session_chat(s, action ? EVENT_ACTION : EVENT_CHAT, text, len);
            continue;
        }
        char typed[4 * PSEUDO_MAX_CHARS + 1];
        int found = who_is(t, typed, sizeof(typed));
        if (found == -ENOENT) { /* -EIO: /msg says the link is down */
            if (!is_notice) {
                numeric(s, "401", "%s :Personne ne porte ce pseudo.", t);
            }
            continue;
        }
        run(s, action ? "/msg %s * %s %.*s" : "/msg %s %s%.*s", t,
            action ? person_pseudo(session_person(s)) : "", (int)len, text);
        char away[AWAY_MAX + 1];
        if (!is_notice && found == 0 && away_of(typed, strlen(typed), away)) {
            numeric(s, "301", "%s :%s", typed, away);
        }
    }
    free(targets);
}

static void cmd_privmsg(struct session *s, const struct call *c)
{
    say(s, c, false);
}

static void cmd_notice(struct session *s, const struct call *c)
{
    say(s, c, true);
}

/* JOIN of the room s is in: confirmed with what a join says, but the history, which it
 * was sent when it came in. */
static void rejoin(struct session *s)
{
    struct room_view v;
    const char *room = state(s)->channel;
    if (room_view_here(room, strlen(room), NULL, PROTO_WHO_MAX, &v) < 0) {
        return;
    }
    struct buf b = BUF_INIT;
    append_joined(s, &v, &b);
    send_buf(s, &b);
    buf_release(&b);
    room_view_release(&v);
}

static void cmd_join(struct session *s, const struct call *c)
{
    if (strcmp(c->param[0], "0") == 0) {
        run(s, "/part"); /* leaving every room: back to the default one */
        return;
    }
    char *channels = xstrdup(c->param[0]);
    char *save = NULL;
    for (char *t = strtok_r(channels, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (t[0] != '#' || t[1] == '\0') {
            numeric(s, "403", "%s :Un salon commence par #.", t);
        } else if (!in_channel(s, t)) {
            run(s, "/join %s", t); /* causerie's rooms are one at a time: docs/IRC.md */
        } else {
            rejoin(s); /* as a client that joins its autojoin list again expects */
        }
    }
    free(channels);
}

static void cmd_part(struct session *s, const struct call *c)
{
    char *channels = xstrdup(c->param[0]);
    char *save = NULL;
    for (char *t = strtok_r(channels, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!in_channel(s, t)) {
            numeric(s, "442", "%s :Vous n'êtes pas dans ce salon.", t);
        } else {
            run(s, "/part");
        }
    }
    free(channels);
}

static void cmd_topic(struct session *s, const struct call *c)
{
    const char *channel = c->param[0];
    if (!in_channel(s, channel)) {
        struct room_view v;
        bool exists =
            channel[0] == '#' && room_view_here(channel + 1, strlen(channel + 1), NULL, 1, &v) == 0;
        if (exists) {
            room_view_release(&v);
        }
        numeric(s, exists ? "442" : "403",
                exists ? "%s :Vous n'êtes pas dans ce salon." : "%s :Ce salon n'existe pas.",
                channel);
        return;
    }
    if (c->n > 1) {
        run(s, "/topic %s", c->param[1]);
        return;
    }
    struct room_view v;
    if (room_view_here(channel + 1, strlen(channel + 1), NULL, 1, &v) < 0) {
        numeric(s, "403", "%s :Ce salon n'existe pas.", channel);
        return;
    }
    if (v.topic[0]) {
        numeric(s, "332", "#%s :%s", v.name, v.topic);
    } else {
        numeric(s, "331", "#%s :Pas de sujet.", v.name);
    }
    room_view_release(&v);
}

static void cmd_names(struct session *s, const struct call *c)
{
    if (c->n == 0) {
        numeric(s, "366", "* :Fin de la liste des noms.");
        return;
    }
    run(s, "/who %s", c->param[0]); /* its '=' answer becomes 353 and 366 */
}

static void cmd_who(struct session *s, const struct call *c)
{
    const char *mask = c->n > 0 ? c->param[0] : "*";
    struct room_view v;
    /* As many as /who names (PROTO_WHO_MAX), for the same reason: a query's cost bounded. */
    if (mask[0] == '#' &&
        room_view_here(mask + 1, strlen(mask + 1), NULL, PROTO_WHO_MAX, &v) == 0) {
        struct buf b = BUF_INIT;
        const char *me = nick_of(s), *name = v.names, *end = v.names + v.names_len;
        while (name < end) {
            const char *space = memchr(name, ' ', (size_t)(end - name));
            size_t len = space ? (size_t)(space - name) : (size_t)(end - name);
            bool op = name[0] == '@';
            const char *nick = op ? name + 1 : name;
            int nl = (int)(op ? len - 1 : len);
            char away[AWAY_MAX + 1];
            buf_appendf(&b, ":%s 352 %s #%s %.*s %s %s %.*s %s%s :0 %.*s\r\n", server_name, me,
                        v.name, nl, nick, server_name, server_name, nl, nick,
                        away_of(nick, (size_t)nl, away) ? "G" : "H", op ? "@" : "", nl, nick);
            name += len + (space ? 1 : 0);
        }
        send_buf(s, &b);
        buf_release(&b);
        room_view_release(&v);
    } else if (mask[0] != '#') {
        char typed[4 * PSEUDO_MAX_CHARS + 1];
        char away[AWAY_MAX + 1];
        if (someone_is(mask, typed, sizeof(typed))) {
            numeric(s, "352", "* %s %s %s %s %s :0 %s", typed, server_name, server_name, typed,
                    away_of(typed, strlen(typed), away) ? "G" : "H", typed);
        }
    }
    numeric(s, "315", "%s :Fin de la liste WHO.", mask);
}

static void cmd_whois(struct session *s, const struct call *c)
{
    const char *nick = c->param[c->n > 1 ? 1 : 0];
    char typed[4 * PSEUDO_MAX_CHARS + 1];
    if (!someone_is(nick, typed, sizeof(typed))) {
        numeric(s, "401", "%s :Personne ne porte ce pseudo.", nick);
    } else {
        numeric(s, "311", "%s %s %s * :%s", typed, typed, server_name, typed);
        numeric(s, "312", "%s %s :causerie", typed, server_name);
        char away[AWAY_MAX + 1];
        if (away_of(typed, strlen(typed), away)) {
            numeric(s, "301", "%s :%s", typed, away);
        }
    }
    numeric(s, "318", "%s :Fin de WHOIS.", nick);
}

/* Whether the room named name is among the channels of LIST's first parameter (a comma
 * list of "#name"); every room when there is none. */
static bool listed(const struct call *c, const char *name)
{
    if (c->n == 0) {
        return true;
    }
    const char *p = c->param[0];
    size_t len = strlen(name);
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 1 && p[0] == '#' && pseudo_equal(p + 1, n - 1, name, len)) {
            return true;
        }
        p += n + (p[n] == ',');
    }
    return false;
}

static void cmd_list(struct session *s, const struct call *c)
{
    size_t n;
    struct room_entry *rooms = room_list(&n);
    struct buf b = BUF_INIT;
    const char *me = nick_of(s);
    buf_appendf(&b, ":%s 321 %s Salon :Personnes Sujet\r\n", server_name, me);
    for (size_t i = 0; i < n; i++) {
        if (!listed(c, rooms[i].name)) {
            continue;
        }
        buf_appendf(&b, ":%s 322 %s #%s %u :%s\r\n", server_name, me, rooms[i].name, rooms[i].count,
                    rooms[i].topic);
    }
    buf_appendf(&b, ":%s 323 %s :Fin de la liste des salons.\r\n", server_name, me);
    send_buf(s, &b);
    buf_release(&b);
    room_list_free(rooms, n);
}

static void cmd_kick(struct session *s, const struct call *c)
{
    if (!in_channel(s, c->param[0])) {
        numeric(s, "442", "%s :Vous n'êtes pas dans ce salon.", c->param[0]);
        return;
    }
    run(s, c->n > 2 ? "/kick %s %s" : "/kick %s%s", c->param[1], c->n > 2 ? c->param[2] : "");
}

static void cmd_invite(struct session *s, const struct call *c)
{
    char typed[4 * PSEUDO_MAX_CHARS + 1];
    if (!someone_is(c->param[0], typed, sizeof(typed))) {
        numeric(s, "401", "%s :Personne ne porte ce pseudo.", c->param[0]);
        return;
    }
    if (!in_channel(s, c->param[1])) {
        numeric(s, "442", "%s :Vous n'êtes pas dans ce salon.", c->param[1]);
        return;
    }
    run(s, "/invite %s", c->param[0]);
}

/* MODE: a room's +i, +o, +b as /mode, /op, /ban; the queries IRC clients make on joining
 * are answered with what causerie can say; a person's own modes are none. */
static void cmd_mode(struct session *s, const struct call *c)
{
    const char *target = c->param[0];
    if (target[0] != '#') {
        const char *me = nick_of(s);
        char typed[4 * PSEUDO_MAX_CHARS + 1];
        if (pseudo_equal(target, strlen(target), me, strlen(me))) {
            numeric(s, "221", "+");
        } else if (someone_is(target, typed, sizeof(typed))) {
            numeric(s, "502", ":Vous ne pouvez ni voir ni changer les modes des autres.");
        } else {
            numeric(s, "401", "%s :Personne ne porte ce pseudo.", target);
        }
        return;
    }
    if (!in_channel(s, target)) {
        numeric(s, "442", "%s :Vous n'êtes pas dans ce salon.", target);
        return;
    }
    const char *modes = c->n > 1 ? c->param[1] : "";
    const char *arg = c->n > 2 ? c->param[2] : NULL;
    if (modes[0] == '\0') {
        numeric(s, "324", "%s +", target);
    } else if (strcmp(modes, "b") == 0 || strcmp(modes, "+b") == 0) {
        if (arg) {
            run(s, "/ban %s", arg);
        } else {
            numeric(s, "368", "%s :Fin de la liste des bannis.", target);
        }
    } else if (strcmp(modes, "-b") == 0 && arg) {
        run(s, "/unban %s", arg);
    } else if ((strcmp(modes, "+o") == 0 || strcmp(modes, "-o") == 0) && arg) {
        run(s, modes[0] == '+' ? "/op %s" : "/deop %s", arg);
    } else if (strcmp(modes, "+i") == 0 || strcmp(modes, "-i") == 0) {
        run(s, "/mode %s", modes);
    } else {
        numeric(s, "472", "%s :Mode inconnu pour ce salon.", modes);
    }
}

/* AWAY :text marks s away (away.h) until AWAY without a text; shown by WHOIS (301), WHO
 * (G) and to whoever sends it a private message (301). */
static void cmd_away(struct session *s, const struct call *c)
{
    struct irc_state *st = state(s);
    struct buf text = BUF_INIT;
    if (c->n > 0) {
        sanitize_append(&text, c->param[0], strlen(c->param[0]));
    }
    if (st->away_person) {
        away_set(st->away_person, NULL, 0);
        st->away_person = NULL;
    }
    if (text.len > 0) {
        st->away_person = session_person(s);
        away_set(st->away_person, text.data, text.len);
        numeric(s, "306", ":Vous êtes marqué absent.");
    } else {
        numeric(s, "305", ":Vous n'êtes plus marqué absent.");
    }
    buf_release(&text);
}

/* A message reference of CHATHISTORY, "msgid=N" or "timestamp=2026-12-06T15:30:00.000Z",
 * as the bounds of a store range: just after it (*after_id, *since) and just before it
 * (*before_id, *until); "*" (allowed where star) leaves them open. False if it is none. */
static bool history_ref(const char *ref, bool star, uint64_t *after_id, uint64_t *before_id,
                        int64_t *since, int64_t *until)
{
    *after_id = 0;
    *before_id = UINT64_MAX;
    *since = INT64_MIN;
    *until = INT64_MAX;
    if (star && strcmp(ref, "*") == 0) {
        return true;
    }
    char *end;
    if (strncmp(ref, "msgid=", 6) == 0 && ref[6] >= '0' && ref[6] <= '9') {
        unsigned long long id = strtoull(ref + 6, &end, 10);
        if (*end || id == 0 || id == UINT64_MAX) {
            return false;
        }
        *after_id = id;
        *before_id = id + 1; /* AROUND's pivot is at or below before - 1: the line itself */
        return true;
    }
    if (strncmp(ref, "timestamp=", 10) == 0) {
        int64_t t;
        unsigned ms;
        if (!render_parse_utc_stamp(ref + 10, &t, &ms)) {
            return false;
        }
        *since = t;                    /* after it: a later second */
        *until = t + (ms > 0 ? 1 : 0); /* before it: an earlier second, or its own */
        return true;
    }
    return false;
}

/* An IRCv3 standard reply, "FAIL CHATHISTORY CODE VERB [TARGET] :why": no nick after the
 * server's name, unlike a numeric. */
static void history_fail(struct session *s, const char *code, const char *verb, const char *target,
                         const char *why)
{
    struct buf b = BUF_INIT;
    buf_appendf(&b, ":%s FAIL CHATHISTORY %s %s%s%s :%s\r\n", server_name, code, verb,
                target ? " " : "", target ? target : "", why);
    send_buf(s, &b);
    buf_release(&b);
}

/* CHATHISTORY (draft/chathistory): LATEST, BEFORE, AFTER, AROUND, BETWEEN, of the room the
 * client is in, read from the store on the thread pool; irc_history_found() answers. */
static void cmd_chathistory(struct session *s, const struct call *c)
{
    struct irc_state *st = state(s);
    const char *verb = c->param[0];
    static const char *const verbs[] = {"LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN"};
    size_t v = 0;
    while (v < 5 && strcasecmp(verb, verbs[v]) != 0) {
        v++;
    }
    if (v == 5) {
        history_fail(s, "INVALID_PARAMS", verb, NULL, "Sous-commande inconnue.");
        return;
    }
    verb = verbs[v];
    bool between = v == 4;
    if (c->n < (between ? 5u : 4u)) {
        history_fail(s, "INVALID_PARAMS", verb, NULL, "Paramètres manquants.");
        return;
    }
    const char *target = c->param[1];
    if (!in_channel(s, target)) {
        history_fail(s, "INVALID_TARGET", verb, target,
                     "Seul le salon où vous êtes a un historique à lire.");
        return;
    }
    const char *count = c->param[between ? 4 : 3];
    char *end;
    unsigned long limit = strtoul(count, &end, 10);
    if (count[0] < '0' || count[0] > '9' || *end || limit == 0) { /* strtoul takes "-5" */
        history_fail(s, "INVALID_PARAMS", verb, NULL,
                     "Le nombre de lignes doit être un entier positif.");
        return;
    }
    struct store_range g = {.n = limit > CHATHISTORY_MAX ? CHATHISTORY_MAX : (unsigned)limit};
    uint64_t a_after, a_before, b_after, b_before;
    int64_t a_since, a_until, b_since, b_until;
    if (!history_ref(c->param[2], v == 0, &a_after, &a_before, &a_since, &a_until) ||
        (between && !history_ref(c->param[3], false, &b_after, &b_before, &b_since, &b_until))) {
        history_fail(s, "INVALID_PARAMS", verb, NULL,
                     "Référence invalide : msgid=N ou timestamp=… .");
        return;
    }
    switch (v) {
    case 0: /* LATEST: the newest after the reference, if any */
    case 2: /* AFTER: the oldest after it */
        g = (struct store_range){.pick = v == 0 ? STORE_NEWEST : STORE_OLDEST,
                                 .after = a_after,
                                 .before = UINT64_MAX,
                                 .since = a_since,
                                 .until = INT64_MAX,
                                 .n = g.n};
        if (v == 0 && strcmp(c->param[2], "*") == 0) {
            g.since = INT64_MIN;
        }
        break;
    case 1: /* BEFORE: the newest before it */
        g = (struct store_range){.pick = STORE_NEWEST,
                                 .after = 0,
                                 .before = a_before - (a_before < UINT64_MAX),
                                 .since = INT64_MIN,
                                 .until = a_until,
                                 .n = g.n};
        break;
    case 3: /* AROUND: half at or before it, the rest after */
        g = (struct store_range){.pick = STORE_AROUND,
                                 .after = a_after,
                                 .before = a_before,
                                 .since = a_since,
                                 .until = a_until,
                                 .n = g.n};
        if (a_since != INT64_MIN) { /* a time: its own second goes below, with what came before */
            g.until = a_since + 1;
        }
        break;
    case 4: { /* BETWEEN: from the first towards the second, both left out */
        bool forward = a_after < b_after || a_since < b_since;
        g = forward ? (struct store_range){.pick = STORE_OLDEST,
                                           .after = a_after,
                                           .before = b_before - (b_before < UINT64_MAX),
                                           .since = a_since,
                                           .until = b_until,
                                           .n = g.n}
                    : (struct store_range){.pick = STORE_NEWEST,
                                           .after = b_after,
                                           .before = a_before - (a_before < UINT64_MAX),
                                           .since = b_since,
                                           .until = a_until,
                                           .n = g.n};
        break;
    }
    }
    int r = session_read_range(s, &g);
    if (r < 0) {
        history_fail(s, "MESSAGE_ERROR", verb, target,
                     r == -EBUSY    ? "Une lecture de l'historique est déjà en cours."
                     : r == -ENOSYS ? "Ce serveur ne garde pas d'historique."
                                    : "L'historique ne peut être lu pour le moment : réessayez.");
        return;
    }
    snprintf(st->history_verb, sizeof(st->history_verb), "%s", verb);
    snprintf(st->history_target, sizeof(st->history_target), "#%s", st->channel);
}

/* TAGMSG: a message of client-only tags (typing notifications, reactions): not relayed,
 * since causerie's events carry no tags of the clients', and not refused either, since
 * the client asked for message-tags and may send them. */
static void cmd_tagmsg(struct session *s, const struct call *c)
{
    (void)s;
    (void)c;
}

static void cmd_lusers(struct session *s, const struct call *c)
{
    (void)c;
    struct buf b = BUF_INIT;
    append_lusers(s, &b);
    send_buf(s, &b);
    buf_release(&b);
}

static void cmd_motd(struct session *s, const struct call *c)
{
    (void)c;
    numeric(s, "422", ":Pas de message du jour.");
}

static void cmd_already(struct session *s, const struct call *c)
{
    (void)c;
    numeric(s, "462", ":Vous êtes déjà enregistré.");
}

struct command {
    const char *name;
    void (*run)(struct session *s, const struct call *c);
    unsigned min_params; /* fewer: ERR_NEEDMOREPARAMS (461) */
    bool before;         /* allowed before registration */
};

/* Whether a command is free of flood control: what keeps a connection alive or ends it,
 * which a flooder that wants to stop must be able to send. */
static bool flood_free(const struct command *cmd)
{
    return cmd->run == cmd_ping || cmd->run == cmd_pong || cmd->run == cmd_quit;
}

static const struct command commands[] = {
    {"CAP", cmd_cap, 1, true},
    {"PASS", cmd_pass, 1, true},
    {"AUTHENTICATE", cmd_authenticate, 1, true},
    {"NICK", cmd_nick, 1, true},
    {"USER", cmd_user, 4, true},
    {"PING", cmd_ping, 1, true},
    {"PONG", cmd_pong, 0, true},
    {"QUIT", cmd_quit, 0, true},
    {"PRIVMSG", cmd_privmsg, 0, false},
    {"NOTICE", cmd_notice, 0, false},
    {"JOIN", cmd_join, 1, false},
    {"PART", cmd_part, 1, false},
    {"TOPIC", cmd_topic, 1, false},
    {"NAMES", cmd_names, 0, false},
    {"WHO", cmd_who, 0, false},
    {"WHOIS", cmd_whois, 1, false},
    {"LIST", cmd_list, 0, false},
    {"KICK", cmd_kick, 2, false},
    {"INVITE", cmd_invite, 2, false},
    {"MODE", cmd_mode, 1, false},
    {"AWAY", cmd_away, 0, false},
    {"MOTD", cmd_motd, 0, false},
    {"LUSERS", cmd_lusers, 0, false},
    {"TAGMSG", cmd_tagmsg, 1, false},
    {"CHATHISTORY", cmd_chathistory, 1, false},
};

/* Whether line[0..len) holds a CR or a NUL, which no IRC line may: refused, since quoting
 * it back in a numeric would cut that line. */
static bool has_cr_or_nul(const char *line, size_t len)
{
    return memchr(line, '\r', len) || memchr(line, '\0', len);
}

/* line[0..len) with each ill-formed UTF-8 sequence replaced by U+FFFD, as the line
 * protocol's sanitiser does: what ISUPPORT's UTF8ONLY promises the others. NULL if it is
 * well-formed already (the usual case: no copy). */
static char *repaired(const char *line, size_t len, size_t *out_len)
{
    uint32_t cp = 0;
    bool valid = true;
    for (size_t i = 0; i < len && valid; valid = cp != UTF8_INVALID) {
        i += utf8_decode(line + i, len - i, &cp);
    }
    if (valid) {
        return NULL;
    }
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_decode(line + i, len - i, &cp);
        if (cp == UTF8_INVALID) {
            buf_append_str(&b, "\xEF\xBF\xBD"); /* U+FFFD */
        } else {
            buf_append(&b, line + i, n);
        }
        i += n;
    }
    *out_len = b.len;
    return buf_detach(&b);
}

static bool handle(struct session *s, const char *line, size_t len);

void irc_line(struct session *s, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    if (has_cr_or_nul(line, len)) {
        bool allowed = session_flood_charge(s, REFUSED_LINE, strlen(REFUSED_LINE));
        wipe_bytes((char *)line, len); /* refused: whatever it held (a PASS) goes */
        if (!allowed) {
            return;
        }
        struct buf b = BUF_INIT;
        buf_appendf(&b,
                    ":%s NOTICE %s :Ligne refusée : elle contient un retour chariot ou un "
                    "caractère nul.\r\n",
                    server_name, nick_of(s));
        send_buf(s, &b);
        buf_release(&b);
        return;
    }
    size_t fixed_len;
    char *fixed = repaired(line, len, &fixed_len);
    bool secret = fixed ? handle(s, fixed, fixed_len) : handle(s, line, len);
    if (fixed) {
        wipe_bytes(fixed, fixed_len);
        free(fixed);
    }
    if (secret) { /* a password, in the line as read too: the connection's buffer */
        wipe_bytes((char *)line, len);
    }
}

/* One line, UTF-8 without CR or NUL: parsed and run. Returns whether it held a secret
 * (PASS, AUTHENTICATE), which the caller wipes. */
static bool handle(struct session *s, const char *line, size_t len)
{
    struct irc_message m;
    enum irc_parse_result r = irc_parse(line, len, &m);
    switch (r) {
    case IRC_PARSE_OK:
        break;
    case IRC_PARSE_EMPTY:
        return false; /* as servers do */
    case IRC_PARSE_TAGS_TOO_LONG:
    case IRC_PARSE_TOO_LONG:
    case IRC_PARSE_NO_COMMAND:
    case IRC_PARSE_BAD_COMMAND:
        /* Answered, so counted like any line; and wiped by the caller (true), since a
         * refused line may hold a password. */
        if (!session_flood_charge(s, REFUSED_LINE, strlen(REFUSED_LINE))) {
            return true;
        }
        if (r == IRC_PARSE_NO_COMMAND) {
            numeric(s, "421", "* :Commande manquante.");
        } else if (r == IRC_PARSE_BAD_COMMAND) {
            numeric(s, "421", "%.*s :Commande inconnue.", (int)m.command.len, m.command.p);
        } else {
            numeric(s, "417", ":Ligne trop longue.");
        }
        return true;
    }
    const struct command *cmd = NULL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (irc_slice_is(m.command, commands[i].name)) {
            cmd = &commands[i];
            break;
        }
    }
    /* Every line costs a token, queries as much as chat (WHO, LIST and WHOIS read more
     * than a chat line writes); named in a refusal by its command alone, since the line may
     * hold a password. */
    bool secret = cmd && (cmd->run == cmd_pass || cmd->run == cmd_authenticate);
    if ((!cmd || !flood_free(cmd)) && !session_flood_charge(s, m.command.p, m.command.len)) {
        return secret;
    }
    bool registered = session_person(s) != NULL;
    if (!cmd) {
        numeric(s, "421", "%.*s :Commande inconnue.", (int)m.command.len, m.command.p);
        return secret;
    }
    if (!registered && !cmd->before) {
        numeric(s, "451", ":Vous n'êtes pas enregistré.");
        return secret;
    }
    if (registered && cmd->run == cmd_user) {
        cmd_already(s, NULL);
        return secret;
    }
    if (m.n_params < cmd->min_params) {
        numeric(s, cmd->run == cmd_nick ? "431" : "461", "%s :Paramètres manquants.", cmd->name);
        return secret;
    }
    /* The parameters as C strings, in one copy of the line (at most 512 bytes and tags). */
    char *copy = xmalloc(len + 1);
    struct call c = {.m = &m, .n = m.n_params};
    for (unsigned i = 0; i < m.n_params; i++) {
        size_t at = (size_t)(m.params[i].p - line);
        memcpy(copy + at, m.params[i].p, m.params[i].len);
        copy[at + m.params[i].len] = '\0';
        c.param[i] = copy + at;
    }
    cmd->run(s, &c);
    wipe_bytes(copy, len + 1); /* PASS's password was in it */
    free(copy);
    return secret;
}

/* The nearer of the ping and the idle timeout from the last line, in ms; 0: neither. */
static uint64_t next_deadline_ms(uint64_t ping_ms, uint64_t idle_ms)
{
    if (ping_ms == 0 || (idle_ms > 0 && idle_ms < ping_ms)) {
        return idle_ms;
    }
    return ping_ms;
}

void irc_alive(struct session *s)
{
    struct irc_state *st = state(s);
    struct client *c = session_client(s);
    st->last_line_ms = loop_now(client_loop(c));
    st->pinged = 0;
    uint64_t next =
        next_deadline_ms((uint64_t)opts->irc_ping * 1000, (uint64_t)opts->idle_timeout * 1000);
    if (next > 0) {
        client_set_deadline(c, next);
    } else {
        client_clear_deadline(c);
    }
}

bool irc_deadline(struct session *s)
{
    struct irc_state *st = state(s);
    struct client *c = session_client(s);
    uint64_t silent = loop_now(client_loop(c)) - st->last_line_ms;
    uint64_t ping = (uint64_t)opts->irc_ping * 1000, idle = (uint64_t)opts->idle_timeout * 1000;
    if (idle > 0 && silent >= idle) {
        return false; /* --idle-timeout's, as for any client */
    }
    if (ping > 0 && silent >= 2 * ping) {
        struct buf b = BUF_INIT;
        buf_appendf(&b, "ERROR :Pas de réponse au PING depuis %u s.\r\n", opts->irc_ping);
        send_buf(s, &b);
        buf_release(&b);
        char why[64];
        snprintf(why, sizeof(why), "pas de réponse au PING en %u s", opts->irc_ping);
        session_drop(s, why, "Délai de réponse dépassé");
        return true;
    }
    if (ping > 0 && silent >= ping && !st->pinged) {
        struct buf b = BUF_INIT;
        buf_appendf(&b, "PING :%s\r\n", server_name);
        send_buf(s, &b);
        buf_release(&b);
        st->pinged = 1;
    }
    /* What is left before the next step: the answer's wait, or the idle timeout. */
    uint64_t until_ping = ping == 0 ? 0 : (st->pinged ? 2 * ping : ping) - silent;
    uint64_t until_idle = idle == 0 ? 0 : idle - silent;
    uint64_t next = next_deadline_ms(until_ping, until_idle);
    if (next > 0) {
        client_set_deadline(c, next);
    }
    return true;
}

void irc_overlong(struct session *s)
{
    if (!session_flood_charge(s, REFUSED_LINE, strlen(REFUSED_LINE))) {
        return;
    }
    numeric(s, "417", ":Ligne trop longue (%zu octets au plus) : elle a été ignorée.",
            opts->max_line);
}

void irc_init(const struct server_options *o)
{
    opts = o;
    server_name = o->irc_name;
    event_set_renderer(IRC_RENDERING, render);
    event_set_renderer(IRC_RENDERING_TIMED, render_timed);
    event_set_renderer(IRC_RENDERING_TAGGED, render_tagged);
}
