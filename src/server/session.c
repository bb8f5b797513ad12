/* session.c - the handshake, chat lines and leaving; see session.h.
 *
 * Loop thread, but for session_kick() and session_say(), which the operator's console
 * calls on the main thread and which only look a person up and post. A joined client's
 * room, moves and lists are room.c's; its person, registry.c's.
 */
#include "session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast.h"
#include "client.h"
#include "commands.h"
#include "common/addr.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "common/utf8.h"
#include "listener.h"
#include "loop.h"
#include "msg.h"
#include "registry.h"
#include "room.h"

/* Sent to every new connection: one message for all of them, held for the process's life. */
static struct msg *pseudo_prompt;

void session_init(void)
{
    static const char text[] = "Entrez votre pseudo :";
    pseudo_prompt = msg_new(0, '?', text, sizeof(text) - 1);
}

void session_shutdown(void)
{
    msg_unref(pseudo_prompt);
    pseudo_prompt = NULL;
}

void session_reply(struct client *c, char kind, const char *fmt, ...)
{
    struct buf text = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&text, fmt, ap);
    va_end(ap);
    struct msg *m = msg_new(0, kind, text.data, text.len);
    buf_release(&text);
    client_send(c, m);
    msg_unref(m);
}

static void peer_name(struct client *c, char *out, size_t size);

void session_start(struct client *c)
{
    client_send(c, pseudo_prompt);
    unsigned timeout = client_loop(c)->opts->handshake_timeout;
    if (timeout > 0) {
        loop_set_deadline(client_loop(c), c, (uint64_t)timeout * 1000);
    }
}

/* ---------------------------------------------------------------- flood control */

/* Whether c may send one more line now (--flood-burst, --flood-rate), and if so counts
 * it. This is the token bucket in its GCRA form, which needs one number per client: the
 * time at which its allowance would be whole again, each line pushing it one interval
 * further, and a line refused when that is more than burst - 1 intervals away. Refused
 * lines cost nothing, so a flooder that keeps sending is not locked out for longer. */
static bool flood_allows(struct client *c)
{
    const struct server_options *o = client_loop(c)->opts;
    if (o->flood_rate == 0 || o->flood_burst == 0) {
        return true;
    }
    uint64_t interval = 1000000 / o->flood_rate; /* µs per line */
    uint64_t now = uv_now(&client_loop(c)->uv) * 1000;
    uint64_t tat = c->flood_tat > now ? c->flood_tat : now;
    if (tat - now > (uint64_t)(o->flood_burst - 1) * interval) {
        return false;
    }
    c->flood_tat = tat + interval;
    return true;
}

/* The start of text, cut at a character boundary, to name a refused line to its sender or
 * a reason in the log. */
static int quoted_length(const char *text, size_t len)
{
    enum { QUOTE_MAX = 40 };
    return (int)utf8_prefix(text, len, QUOTE_MAX);
}

/* Refuses a line from a flooder. The first refusal of a read names the line; the others
 * of that read are counted and told in one line when the read is done, so that a flooder
 * gets at most two notices per read rather than one per line it sent. Text is sanitised. */
static void flood_refuse(struct client *c, const char *text, size_t len)
{
    struct loop *l = client_loop(c);
    if (l->flood_refused++ > 0) {
        return;
    }
    int n = quoted_length(text, len);
    session_reply(c, '!',
                  "Trop de messages (%u d'affilée, puis %u par seconde au plus) : « %.*s%s » a "
                  "été refusé, renvoyez-le plus tard.",
                  l->opts->flood_burst, l->opts->flood_rate, n, text, (size_t)n < len ? "…" : "");
}

void session_on_read_done(struct client *c)
{
    struct loop *l = client_loop(c);
    if (l->flood_refused == 0) {
        return;
    }
    if (!c->closing) {
        if (l->flood_refused > 1) {
            session_reply(c, '!', "Et %zu autres messages refusés : trop de messages.",
                          l->flood_refused - 1);
        }
        if (c->state == SESSION_HANDSHAKE) {
            client_send(c, pseudo_prompt);
        }
    }
    size_t skipped;
    if (log_limit_allow(&l->flood_log, uv_now(&l->uv), &skipped)) {
        char peer[80];
        peer_name(c, peer, sizeof(peer));
        log_warn("%s (%s) : %zu messages refusés, trop de messages%s",
                 c->person ? person_pseudo(c->person) : "?", peer, l->flood_refused,
                 skipped ? " (et d'autres refus non journalisés)" : "");
    }
    l->flood_refused = 0;
}

/* ---------------------------------------------------------------- deadlines */

void session_on_deadline(struct client *c)
{
    const struct server_options *o = client_loop(c)->opts;
    char reason[64];
    if (c->state == SESSION_HANDSHAKE) {
        session_reply(c, '!', "Délai dépassé : aucun pseudo valide reçu en %u s.",
                      o->handshake_timeout);
        char peer[80];
        peer_name(c, peer, sizeof(peer));
        log_info("connexion fermée (%s) : pas de pseudo valide en %u s", peer,
                 o->handshake_timeout);
        client_close_after_flush(c, NULL);
        return;
    }
    session_reply(c, '!', "Aucun message depuis %u s : déconnexion.", o->idle_timeout);
    snprintf(reason, sizeof(reason), "inactif depuis %u s", o->idle_timeout);
    client_close_after_flush(c, reason);
}

/* "127.0.0.1:53422" or "[::1]:53422", for the operator's log. */
static void peer_name(struct client *c, char *out, size_t size)
{
    struct sockaddr_storage ss = {.ss_family = AF_UNSPEC};
    int len = sizeof(ss);
    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len); /* fails once reset: "?:0" */
    addr_format((const struct sockaddr *)&ss, out, size);
}

static void welcome(struct client *c, size_t count)
{
    const char *pseudo = person_pseudo(c->person);
    if (count <= 1) {
        session_reply(c, '+', "Bienvenue, %s ! Personne d'autre n'est connecté pour l'instant.",
                      pseudo);
    } else {
        session_reply(c, '+', "Bienvenue, %s ! %zu personnes connectées.", pseudo, count);
    }
}

/* A proposed pseudo: refused with the reason and asked again, or claimed and announced. */
static void handshake(struct client *c, const char *line, size_t len)
{
    if (len == 5 && memcmp(line, "/quit", 5) == 0) {
        client_close_after_flush(c, "/quit");
        return;
    }
    if (!flood_allows(c)) {
        struct buf *text = &client_loop(c)->scratch;
        buf_reset(text);
        sanitize_append(text, line, len);
        flood_refuse(c, text->data, text->len);
        return;
    }
    enum pseudo_verdict v = pseudo_check(line, len);
    if (v != PSEUDO_OK) {
        session_reply(c, '!', "%s", pseudo_verdict_text(v));
        client_send(c, pseudo_prompt);
        return;
    }
    struct buf key = BUF_INIT;
    pseudo_fold(line, len, &key);
    size_t count;
    struct person *p = registry_claim(key.data, line, len, client_loop(c)->index, c, &count);
    buf_release(&key);
    if (!p) {
        session_reply(c, '!', "Le pseudo « %.*s » est déjà pris.", (int)len, line);
        client_send(c, pseudo_prompt);
        return;
    }

    c->person = p;
    c->state = SESSION_JOINED;
    c->flood_tat = 0; /* the chat starts with a whole allowance, whatever the handshake took */
    unsigned idle = client_loop(c)->opts->idle_timeout;
    if (idle > 0) {
        loop_set_deadline(client_loop(c), c, (uint64_t)idle * 1000);
    } else {
        loop_clear_deadline(client_loop(c), c); /* the handshake's */
    }
    welcome(c, count);
    char peer[80];
    peer_name(c, peer, sizeof(peer));
    log_info("%s a rejoint la discussion (%s)", person_pseudo(p), peer);
    room_arrive(c); /* the others are told; its history follows the welcome */
}

/* A joined client's line: a command, or a message for everyone else in its room. */
static void chat_line(struct client *c, const char *line, size_t len)
{
    struct buf *text = &client_loop(c)->scratch;
    buf_reset(text);
    sanitize_append(text, line, len);
    if (text->len == 0) {
        return; /* an empty line (or one of control characters only) says nothing */
    }
    const char *t = text->data;
    size_t n = text->len;
    struct command_line cmd;
    bool is_command = command_split(t, n, &cmd);
    /* Leaving is never refused: a flooder that wants to stop must be able to. */
    bool quits = is_command && cmd.name_len == 4 && memcmp(cmd.name, "quit", 4) == 0;
    if (!quits && !flood_allows(c)) {
        flood_refuse(c, t, n);
        return;
    }
    if (is_command) {
        commands_run(c, &cmd);
        return;
    }
    command_unescape(&t, &n); /* "//texte" sends "/texte": a message starting with a slash */
    broadcast_publish(msg_new_chat(c->id, person_pseudo(c->person), t, n), c->person->room);
}

void session_on_line(struct client *c, const char *line, size_t len)
{
    if (c->state == SESSION_HANDSHAKE) {
        handshake(c, line, len);
        return;
    }
    unsigned idle = client_loop(c)->opts->idle_timeout;
    if (idle > 0) {
        loop_set_deadline(client_loop(c), c,
                          (uint64_t)idle * 1000); /* any line is a sign of life */
    }
    chat_line(c, line, len);
}

void session_on_overlong(struct client *c)
{
    session_reply(c, '!', "Ligne trop longue (%zu octets au maximum) : elle a été ignorée.",
                  client_loop(c)->opts->max_line);
    if (c->state == SESSION_HANDSHAKE) {
        client_send(c, pseudo_prompt);
    }
}

/* c leaves the chat: logged with log_reason (unless NULL: the server stops, nobody is
 * told), and its room receives notice (or the usual "est déconnecté" if NULL). */
static void leave(struct client *c, const char *log_reason, struct msg *notice)
{
    if (c->state != SESSION_JOINED) {
        if (notice) {
            msg_unref(notice);
        }
        return; /* never joined: nobody knew of it, it leaves silently */
    }
    c->state = SESSION_HANDSHAKE;
    struct person *p = c->person;
    if (log_reason) {
        log_info("%s est déconnecté (%s)", person_pseudo(p), log_reason);
        if (!notice) {
            notice = msg_newf(c->id, '*', "%s est déconnecté", person_pseudo(p));
        }
    }
    room_depart(c, notice); /* NULL at shutdown: nobody is left to tell */
    /* Released only now, after the leave has its place in the order: a client on another
     * loop that claims the pseudo next must be announced after this leave, not before. */
    registry_release(p);
    c->person = NULL;
}

void session_leave(struct client *c, const char *reason)
{
    leave(c, reason, NULL);
}

void session_quit(struct client *c, const char *reason, size_t len)
{
    if (len == 0) {
        client_close_after_flush(c, "/quit");
        return;
    }
    char log_reason[96];
    int q = quoted_length(reason, len);
    snprintf(log_reason, sizeof(log_reason), "/quit : %.*s%s", q, reason,
             (size_t)q < len ? "…" : "");
    leave(c, log_reason,
          msg_newf(c->id, '*', "%s est déconnecté (%.*s)", person_pseudo(c->person), (int)len,
                   reason));
    client_close_after_flush(c, NULL); /* it has left already: nothing more to tell */
}

/* The operator's /kick reached c's loop: c is told why, its room too, and it goes. */
static void kicked(struct client *c, const struct msg *reason)
{
    struct buf why = BUF_INIT;
    if (reason) {
        buf_append(&why, reason->data, reason->len - 1);
    }
    if (why.len > 0) {
        session_reply(c, '!', "Vous avez été expulsé par l'opérateur (%s).", why.data);
    } else {
        session_reply(c, '!', "Vous avez été expulsé par l'opérateur.");
    }
    char log_reason[96];
    int q = quoted_length(why.data, why.len);
    snprintf(log_reason, sizeof(log_reason), "expulsé par l'opérateur%s%.*s%s",
             why.len ? " : " : "", q, why.data, (size_t)q < why.len ? "…" : "");
    struct msg *notice =
        why.len > 0
            ? msg_newf(c->id, '*', "%s a été expulsé (%s)", person_pseudo(c->person), why.data)
            : msg_newf(c->id, '*', "%s a été expulsé", person_pseudo(c->person));
    leave(c, log_reason, notice);
    client_close_after_flush(c, NULL);
    buf_release(&why);
}

void session_on_person_item(struct person *p, struct msg *m, bool kick)
{
    /* This loop's own: through a change of pseudo to whoever p is now; NULL if p left. */
    struct client *c = person_current(p)->client;
    if (c && client_in_chat(c)) {
        if (kick) {
            kicked(c, m);
        } else {
            client_send(c, m);
        }
    }
    person_unref(p);
    if (m) {
        msg_unref(m);
    }
}

int session_kick(const char *pseudo, size_t len, const char *reason)
{
    if (pseudo_check(pseudo, len) != PSEUDO_OK) {
        return -ENOENT;
    }
    struct buf key = BUF_INIT;
    pseudo_fold(pseudo, len, &key);
    struct person *p = registry_find(key.data);
    buf_release(&key);
    if (!p) {
        return -ENOENT;
    }
    struct msg *why = reason && *reason ? msg_new_line(reason, strlen(reason)) : NULL;
    broadcast_to_person(p, why, true); /* p's loop checks it is still there */
    return 0;
}

void session_say(const char *text, size_t len)
{
    broadcast_publish(msg_newf(0, '*', "serveur : %.*s", (int)len, text), NULL);
}
