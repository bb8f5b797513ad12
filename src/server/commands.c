/* commands.c - the /command table and its handlers; see commands.h for the contract.
 *
 * Runs on the loop thread of the session that sent the command. The table is a constant
 * array read both by the dispatcher and by /help, so a command gets its help line by
 * being added to it; a linear search suits a handful of commands. Handlers answer with
 * session_reply() and act through room.h and registry.h: like all protocol logic they
 * only queue output and never touch a socket. common/command.c cuts the line into name
 * and arguments; a handler that takes words gets them from command_next_word().
 */
#include "commands.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "common/buf.h"
#include "common/command.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/pseudo.h"
#include "event.h"
#include "owners.h"
#include "peers.h"
#include "registry.h"
#include "render.h"
#include "room.h"
#include "session.h"

/* /history's page: what it gives without a number, and at most. /search's answer: enough
 * to find a line again, little enough to read at once. */
#define HISTORY_PAGE     50
#define HISTORY_PAGE_MAX 200
#define SEARCH_RESULTS   20

/* What a handler gets: the words after the name, as command_next_word() reads them. */
struct args {
    const char *rest;
    size_t len;
};

struct command {
    const char *name;  /* without the '/' */
    const char *usage; /* as /help and the usage refusal show it */
    const char *help;  /* one French phrase; NULL: not listed by /help */
    void (*run)(struct session *s, struct args *a);
};

static const struct command *find(const char *name, size_t len);

/* The next word, or false with nothing consumed past blanks. */
static bool word(struct args *a, const char **w, size_t *len)
{
    return command_next_word(&a->rest, &a->len, w, len);
}

/* What is left of the line: a text, as typed (leading blanks skipped). */
static bool text(struct args *a, const char **t, size_t *len)
{
    while (a->len > 0 && command_is_blank(*a->rest)) {
        a->rest++;
        a->len--;
    }
    *t = a->rest;
    *len = a->len;
    return a->len > 0;
}

static void usage(struct session *s, const char *name)
{
    session_reply(s, PROTO_ERROR, "Usage : %s", find(name, strlen(name))->usage);
}

/* No word expected: true if there is none, else the usage is the answer. */
static bool no_words(struct session *s, struct args *a, const char *name)
{
    const char *extra;
    size_t extra_len;
    if (word(a, &extra, &extra_len)) {
        usage(s, name);
        return false;
    }
    return true;
}

static void bad_room_name(struct session *s)
{
    session_reply(s, PROTO_ERROR,
                  "Nom de salon invalide : 1 à 32 caractères visibles, sans espace.");
}

/* ---------------------------------------------------------------- the commands */

static void cmd_help(struct session *s, struct args *a);

static void cmd_nick(struct session *s, struct args *a)
{
    const char *nick, *extra;
    size_t len, extra_len;
    if (!word(a, &nick, &len) || word(a, &extra, &extra_len)) {
        usage(s, "nick");
        return;
    }
    enum pseudo_verdict v = pseudo_check(nick, len);
    if (v != PSEUDO_OK) {
        session_reply(s, PROTO_ERROR, "%s", pseudo_verdict_text(v));
        return;
    }
    struct person *old = s->person;
    const char *now = person_pseudo(old);
    if (strlen(now) == len && memcmp(now, nick, len) == 0) {
        session_reply(s, PROTO_ERROR, "Vous vous appelez déjà %s.", now);
        return;
    }
    struct buf key = BUF_INIT;
    pseudo_fold(nick, len, &key);
    if (strcmp(key.data, person_key(old)) != 0 && accounts_find(key.data, NULL)) {
        session_reply(s, PROTO_ERROR,
                      "Le pseudo « %.*s » est enregistré : reconnectez-vous sous ce pseudo, avec "
                      "son mot de passe.",
                      (int)len, nick);
        buf_release(&key);
        return;
    }
    /* Across the cluster first (a change of case keeps the claim it has): a pseudo held
     * on another server is as taken as one held here. */
    bool same_key = strcmp(key.data, person_key(old)) == 0;
    char room[ROOM_NAME_MAX + 1];
    snprintf(room, sizeof(room), "%s", room_name(old->room));
    char pseudo[4 * PSEUDO_MAX_CHARS + 1];
    snprintf(pseudo, sizeof(pseudo), "%.*s", (int)len, nick);
    int claimed = same_key ? 0 : peers_claim(key.data, pseudo, room);
    struct person *p = claimed == 0 ? room_rename(old, key.data, nick, len) : NULL;
    if (!p && claimed == 0 && !same_key) {
        peers_release(key.data); /* taken here meanwhile: the cluster's claim goes back */
    }
    buf_release(&key);
    if (!p) {
        if (claimed == -EIO) {
            session_reply(s, PROTO_ERROR, "%s", SESSION_UNLINKED_PSEUDO);
        } else {
            session_reply(s, PROTO_ERROR, "Le pseudo « %.*s » est déjà pris.", (int)len, nick);
        }
        return;
    }
    if (!same_key) {
        peers_release(person_key(old));
    } else {
        peers_moved(person_key(p), person_pseudo(p), room); /* the pseudo as now typed */
    }
    s->person = p;
    struct buf answer = BUF_INIT;
    render_renamed(session_events(s) ? RENDER_EVENTS : RENDER_PLAIN, person_pseudo(old),
                   person_pseudo(p), &answer);
    session_send_lines(s, answer.data, answer.len);
    buf_release(&answer);
    log_info("%s s'appelle maintenant %s", person_pseudo(old), person_pseudo(p));
    person_unref(old); /* the registry's reference, which room_rename() handed over */
}

static void cmd_msg(struct session *s, struct args *a)
{
    const char *to, *t;
    size_t to_len, t_len;
    if (!word(a, &to, &to_len) || !text(a, &t, &t_len)) {
        usage(s, "msg");
        return;
    }
    struct person *p = NULL;
    char elsewhere[4 * PSEUDO_MAX_CHARS + 1];
    int found = -ENOENT;
    if (pseudo_check(to, to_len) == PSEUDO_OK) {
        struct buf key = BUF_INIT;
        pseudo_fold(to, to_len, &key);
        p = registry_find(key.data);
        if (!p) {
            found = peers_find(key.data, elsewhere, sizeof(elsewhere));
        }
        buf_release(&key);
    }
    if (!p && found == 0) {
        session_send_private_remote(s, elsewhere, t, t_len);
        return;
    }
    if (!p) {
        if (found == -EIO) {
            session_reply(s, PROTO_ERROR,
                          "Message non envoyé : la liaison avec le reste de la discussion est "
                          "coupée. Réessayez dans un instant.");
        } else {
            session_reply(s, PROTO_ERROR, "Pseudo inconnu : %.*s.", (int)to_len, to);
        }
        return;
    }
    session_send_private(s, p, t, t_len); /* p's loop checks it is still there */
}

static void cmd_me(struct session *s, struct args *a)
{
    const char *t;
    size_t len;
    if (!text(a, &t, &len)) {
        usage(s, "me");
        return;
    }
    session_publish(s, EVENT_ACTION, t, len);
}

static void cmd_who(struct session *s, struct args *a)
{
    const char *name = NULL, *extra;
    size_t len = 0, extra_len;
    if (word(a, &name, &len) && word(a, &extra, &extra_len)) {
        usage(s, "who");
        return;
    }
    struct room_view v;
    int err = room_view_here(name, len, s->person, PROTO_WHO_MAX, &v);
    if (err == -EINVAL) {
        bad_room_name(s);
        return;
    }
    if (err == -ENOENT) {
        const char *bare = name[0] == '#' ? name + 1 : name;
        session_reply(s, PROTO_ERROR, "Salon inconnu : #%.*s.", (int)(len - (size_t)(bare - name)),
                      bare);
        return;
    }
    session_who(s, &v, PROTO_WHO_MAX);
}

/* Moves s to the room named name (len bytes), telling it how that went. */
static void join(struct session *s, const char *name, size_t len)
{
    char room[ROOM_NAME_MAX + 1];
    switch (room_join(s->person, name, len, PROTO_WHO_MAX, room)) {
    case ROOM_JOINED:
        log_info("%s a rejoint #%s", person_pseudo(s->person), room);
        break; /* the move answers, in the order of events */
    case ROOM_FOUNDED:
        log_info("%s a fondé #%s", person_pseudo(s->person), room);
        session_reply(s, PROTO_OK, "Vous avez fondé #%s : vous en êtes l'opérateur.", room);
        break;
    case ROOM_NOT_FOUNDED:
        log_info("%s a rejoint #%s", person_pseudo(s->person), room);
        session_reply(s, PROTO_NOTICE,
                      "Vous fondez déjà le plus de salons permis : #%s n'a pas de propriétaire.",
                      room);
        break;
    case -EACCES:
        session_reply(s, PROTO_ERROR, "Vous êtes banni de #%s.", room);
        break;
    case -EPERM:
        session_reply(s, PROTO_ERROR,
                      "#%s est sur invitation : demandez à l'un de ses opérateurs (/invite).",
                      room);
        break;
    case -EINVAL:
        bad_room_name(s);
        break;
    case -EAGAIN:
        session_reply(s, PROTO_ERROR, "Trop de changements de salon à la fois : réessayez.");
        break;
    case -ENOSPC:
        session_reply(s, PROTO_ERROR, "Trop de salons (%u au plus) : rejoignez un salon existant.",
                      room_count_max());
        break;
    case -EALREADY:
        session_reply(s, PROTO_ERROR, "Vous êtes déjà dans #%s.", room);
        break;
    }
}

static void cmd_join(struct session *s, struct args *a)
{
    const char *name, *extra;
    size_t len, extra_len;
    if (!word(a, &name, &len) || word(a, &extra, &extra_len)) {
        usage(s, "join");
        return;
    }
    join(s, name, len);
}

static void cmd_part(struct session *s, struct args *a)
{
    if (no_words(s, a, "part")) {
        join(s, ROOM_DEFAULT_NAME, strlen(ROOM_DEFAULT_NAME));
    }
}

static void cmd_rooms(struct session *s, struct args *a)
{
    if (!no_words(s, a, "rooms")) {
        return;
    }
    size_t n;
    struct room_entry *rooms = room_list(&n);
    struct buf lines = BUF_INIT;
    render_rooms(session_events(s) ? RENDER_EVENTS : RENDER_PLAIN, rooms, n, &lines);
    session_send_lines(s, lines.data, lines.len);
    buf_release(&lines);
    room_list_free(rooms, n);
}

static void cmd_quit(struct session *s, struct args *a)
{
    const char *reason;
    size_t len;
    text(a, &reason, &len);
    session_quit(s, reason, len);
}

static void cmd_history(struct session *s, struct args *a)
{
    const char *w, *extra;
    size_t len, extra_len;
    unsigned n = HISTORY_PAGE;
    if (word(a, &w, &len)) {
        n = 0;
        for (size_t i = 0; i < len && n <= HISTORY_PAGE_MAX; i++) {
            n = w[i] >= '0' && w[i] <= '9' ? n * 10 + (unsigned)(w[i] - '0') : HISTORY_PAGE_MAX + 1;
        }
        if (n < 1 || n > HISTORY_PAGE_MAX || word(a, &extra, &extra_len)) {
            session_reply(s, PROTO_ERROR, "Usage : /history [N], N de 1 à %d (défaut : %d)",
                          HISTORY_PAGE_MAX, HISTORY_PAGE);
            return;
        }
    }
    session_history(s, n);
}

static void cmd_search(struct session *s, struct args *a)
{
    const char *words;
    size_t len;
    if (!text(a, &words, &len)) {
        usage(s, "search");
        return;
    }
    session_search(s, words, len, SEARCH_RESULTS);
}

/* The words of a command that carries passwords: they are wiped once used, and the line
 * with them (commands_is_secret()). */
static bool secret_word(struct args *a, char **w, size_t *len)
{
    const char *word_at;
    if (!word(a, &word_at, len)) {
        return false;
    }
    *w = (char *)word_at; /* in the session's scratch buffer, which is ours to clear */
    return true;
}

static void cmd_register(struct session *s, struct args *a)
{
    char *pw, *extra;
    size_t len, extra_len;
    if (!secret_word(a, &pw, &len) || secret_word(a, &extra, &extra_len)) {
        usage(s, "register");
        return;
    }
    session_register(s, pw, len);
}

static void cmd_password(struct session *s, struct args *a)
{
    char *old, *new_pw, *extra;
    size_t old_len, new_len, extra_len;
    if (!secret_word(a, &old, &old_len) || !secret_word(a, &new_pw, &new_len) ||
        secret_word(a, &extra, &extra_len)) {
        usage(s, "password");
        return;
    }
    session_change_password(s, old, old_len, new_pw, new_len);
}

static void cmd_unregister(struct session *s, struct args *a)
{
    char *pw, *extra;
    size_t len, extra_len;
    if (!secret_word(a, &pw, &len) || secret_word(a, &extra, &extra_len)) {
        usage(s, "unregister");
        return;
    }
    session_unregister(s, pw, len);
}

/* Whether s may use the operator's powers: logged in to an account --admin names. */
static bool admin(struct session *s)
{
    if (!session_person(s)->admin) {
        session_reply(s, PROTO_ERROR,
                      "Réservé aux administrateurs du serveur (--admin), connectés avec leur mot "
                      "de passe.");
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- the rooms' operators */

/* The room s speaks in: its own to read (room.h). */
static struct room *here(struct session *s)
{
    return session_person(s)->room;
}

/* Whether s may use an operator's command in its room: it is logged in to the account of
 * one of the room's operators, or is an administrator, who takes an unowned room in
 * charge for the server by using one. Else s is told why not. */
static bool operator_here(struct session *s)
{
    struct person *p = session_person(s);
    const char *key = room_key(here(s)), *name = room_name(here(s));
    if (p->admin) {
        owners_found(key, name, OWNERS_SERVER); /* -EEXIST: owned already */
        return true;
    }
    if (!owners_is_owned(key)) {
        session_reply(s, PROTO_ERROR,
                      "#%s n'a pas de propriétaire : seul un salon créé par un pseudo enregistré "
                      "a des opérateurs.",
                      name);
        return false;
    }
    if (!p->logged_in || owners_role(key, person_key(p)) == OWNERS_NOBODY) {
        session_reply(s, PROTO_ERROR, "Réservé aux opérateurs de #%s.", name);
        return false;
    }
    return true;
}

/* Whether the command may be used in s's room at all: #général is everyone's, so nobody is
 * named an operator of it, banned from it or invited into it. */
static bool not_in_default_room(struct session *s, const char *command)
{
    if (room_is_default(here(s))) {
        session_reply(s, PROTO_ERROR, "#%s est le salon de tout le serveur : /%s n'y sert pas.",
                      room_name(here(s)), command);
        return false;
    }
    return true;
}

/* The one word a command takes, as a pseudo: its key in key. False (s told) if there is
 * not exactly one, or it is not a pseudo. */
static bool pseudo_arg(struct session *s, struct args *a, const char *command, const char **w,
                       size_t *len, struct buf *key)
{
    const char *extra;
    size_t extra_len;
    if (!word(a, w, len) || word(a, &extra, &extra_len)) {
        usage(s, command);
        return false;
    }
    enum pseudo_verdict v = pseudo_check(*w, *len);
    if (v != PSEUDO_OK) {
        session_reply(s, PROTO_ERROR, "%s", pseudo_verdict_text(v));
        return false;
    }
    pseudo_fold(*w, *len, key);
    return true;
}

/* The answers to a list of the room that is full: each sentence whole. */
enum room_list { OPERATORS, BANS, INVITATIONS };

static void list_full(struct session *s, enum room_list list)
{
    const char *name = room_name(here(s));
    switch (list) {
    case OPERATORS:
        session_reply(s, PROTO_ERROR,
                      "La liste des opérateurs de #%s est pleine (--max-room-list).", name);
        break;
    case BANS:
        session_reply(s, PROTO_ERROR, "La liste des bannis de #%s est pleine (--max-room-list).",
                      name);
        break;
    case INVITATIONS:
        session_reply(s, PROTO_ERROR, "La liste des invités de #%s est pleine (--max-room-list).",
                      name);
        break;
    }
}

static void cmd_topic(struct session *s, struct args *a)
{
    const char *t;
    size_t len;
    const char *key = room_key(here(s)), *name = room_name(here(s));
    if (!text(a, &t, &len)) {
        struct buf topic = BUF_INIT, line = BUF_INIT;
        owners_topic(key, &topic);
        render_topic(name, topic.len ? topic.data : "", true, &line);
        session_send_lines(s, line.data, line.len);
        buf_release(&topic);
        buf_release(&line);
        return;
    }
    if (!operator_here(s)) {
        return;
    }
    if (owners_set_topic(key, t, len) == -E2BIG) {
        session_reply(s, PROTO_ERROR, "Sujet trop long : %zu octets au plus.", owners_max_topic());
        return;
    }
    room_tell_topic(session_person(s), t, len);
    session_reply(s, PROTO_OK, "Sujet de #%s : %.*s", name, (int)len, t);
}

static void cmd_op(struct session *s, struct args *a)
{
    const char *w;
    size_t len;
    struct buf key = BUF_INIT;
    if (pseudo_arg(s, a, "op", &w, &len, &key) && not_in_default_room(s, "op") &&
        operator_here(s)) {
        const char *name = room_name(here(s));
        if (!accounts_find(key.data, NULL)) {
            session_reply(s, PROTO_ERROR,
                          "« %.*s » n'est pas enregistré : seul un pseudo enregistré peut être "
                          "opérateur.",
                          (int)len, w);
        } else {
            switch (owners_add_operator(room_key(here(s)), key.data)) {
            case 0:
                log_info("%s nomme %.*s opérateur de #%s", person_pseudo(session_person(s)),
                         (int)len, w, name);
                session_reply(s, PROTO_OK, "%.*s est maintenant opérateur de #%s.", (int)len, w,
                              name);
                break;
            case -EALREADY:
                session_reply(s, PROTO_ERROR, "%.*s est déjà opérateur de #%s.", (int)len, w, name);
                break;
            default: /* -ENOSPC */
                list_full(s, OPERATORS);
            }
        }
    }
    buf_release(&key);
}

static void cmd_deop(struct session *s, struct args *a)
{
    const char *w;
    size_t len;
    struct buf key = BUF_INIT;
    if (pseudo_arg(s, a, "deop", &w, &len, &key) && not_in_default_room(s, "deop") &&
        operator_here(s)) {
        const char *name = room_name(here(s));
        switch (owners_remove_operator(room_key(here(s)), key.data)) {
        case 0:
            log_info("%s retire à %.*s le rôle d'opérateur de #%s",
                     person_pseudo(session_person(s)), (int)len, w, name);
            session_reply(s, PROTO_OK, "%.*s n'est plus opérateur de #%s.", (int)len, w, name);
            break;
        case -EPERM:
            session_reply(s, PROTO_ERROR, "%.*s a fondé #%s : il en reste opérateur.", (int)len, w,
                          name);
            break;
        default: /* -ESRCH */
            session_reply(s, PROTO_ERROR, "%.*s n'est pas opérateur de #%s.", (int)len, w, name);
        }
    }
    buf_release(&key);
}

/* The console's /kick, for an administrator: PSEUDO leaves the server, told why. */
static void kick_off_server(struct session *s, const char *pseudo, size_t len, const char *why)
{
    if (session_kick(pseudo, len, why) < 0) {
        session_reply(s, PROTO_ERROR, "Pseudo inconnu : %.*s.", (int)len, pseudo);
    } else {
        log_info("%s expulse %.*s", person_pseudo(session_person(s)), (int)len, pseudo);
        session_reply(s, PROTO_OK, "%.*s est expulsé.", (int)len, pseudo);
    }
}

/* Whether the pseudo whose key is *key, held by nobody on this server, is held on another
 * one by someone in the room whose key is room (here, not the default room): its pseudo
 * as typed then goes in elsewhere. One round trip to the engine, as /msg's look-up. */
static bool held_elsewhere_in(const struct buf *key, const char *room, char *elsewhere,
                              const struct room *here)
{
    bool there = false;
    return key->len > 0 && peers_clustered() && !room_is_default(here) &&
           peers_find_in(key->data, room, elsewhere, 4 * PSEUDO_MAX_CHARS + 1, &there) == 0 &&
           there;
}

/* /kick PSEUDO [RAISON]: out of the room, back to #général, for a room's operator; off the
 * server for an administrator, from #général or for someone in another room. */
static void cmd_kick(struct session *s, struct args *a)
{
    const char *pseudo, *reason;
    size_t len, reason_len;
    if (!word(a, &pseudo, &len)) {
        usage(s, "kick");
        return;
    }
    text(a, &reason, &reason_len);
    struct buf why = BUF_INIT, key = BUF_INIT;
    buf_append(&why, reason, reason_len);
    struct person *p = NULL;
    if (pseudo_check(pseudo, len) == PSEUDO_OK) {
        pseudo_fold(pseudo, len, &key);
        p = registry_find(key.data);
    }
    const char *room = room_key(here(s)), *name = room_name(here(s));
    char elsewhere[4 * PSEUDO_MAX_CHARS + 1]; /* as typed, when on another server */
    bool in_room = p ? room_holds(room, p) : held_elsewhere_in(&key, room, elsewhere, here(s));
    if (session_person(s)->admin && (!in_room || room_is_default(here(s)))) {
        kick_off_server(s, pseudo, len, why.data);
    } else if (room_is_default(here(s))) {
        admin(s); /* says it is theirs only */
    } else if (!operator_here(s)) {
        /* told why */
    } else if (!in_room) {
        session_reply(s, PROTO_ERROR, "%.*s n'est pas dans #%s.", (int)len, pseudo, name);
    } else if (owners_role(room, key.data) == OWNERS_FOUNDER &&
               owners_role(room, person_key(session_person(s))) != OWNERS_FOUNDER &&
               !session_person(s)->admin) {
        session_reply(s, PROTO_ERROR, "%.*s a fondé #%s : on ne peut pas l'en renvoyer.", (int)len,
                      pseudo, name);
    } else {
        log_info("%s renvoie %.*s de #%s", person_pseudo(session_person(s)), (int)len, pseudo,
                 name);
        if (p) {
            session_send_out(s, p, room, why.data, false); /* the room is told, and so is s */
            p = NULL;
        } else {
            session_send_out_remote(s, elsewhere, room, why.data); /* its server tells them */
        }
    }
    if (p) {
        person_unref(p);
    }
    buf_release(&why);
    buf_release(&key);
}

/* /ban alone: who is banned from s's room. */
static void list_bans(struct session *s)
{
    struct buf list = BUF_INIT;
    const char *name = room_name(here(s));
    size_t n = owners_bans(room_key(here(s)), &list);
    if (n == 0) {
        session_reply(s, PROTO_NOTICE, "Personne n'est banni de #%s.", name);
    } else {
        session_reply(s, PROTO_NOTICE, "Bannis de #%s :", name);
    }
    for (const char *line = list.data; n > 0 && *line;) {
        const char *end = strchr(line, '\n'), *space = memchr(line, ' ', (size_t)(end - line));
        if (space) {
            session_reply(s, PROTO_NOTICE, "%.*s (adresse %.*s)", (int)(space - line), line,
                          (int)(end - space - 1), space + 1);
        } else {
            session_reply(s, PROTO_NOTICE, "%.*s", (int)(end - line), line);
        }
        line = end + 1;
    }
    buf_release(&list);
}

static void ban_refused(struct session *s, int err, const char *w, size_t len)
{
    const char *name = room_name(here(s));
    switch (err) {
    case -EPERM:
        session_reply(s, PROTO_ERROR,
                      "%.*s est opérateur de #%s : retirez-lui d'abord ce rôle (/deop %.*s).",
                      (int)len, w, name, (int)len, w);
        break;
    case -EALREADY:
        session_reply(s, PROTO_ERROR, "%.*s est déjà banni de #%s.", (int)len, w, name);
        break;
    default: /* -ENOSPC */
        list_full(s, BANS);
    }
}

/* Sends someone from a banned address out of the room, but its operators. */
static void send_out_banned(struct person *p, void *ctx)
{
    struct session *s = ctx;
    session_send_out(s, p, room_key(here(s)), "banni", true);
}

/* /ban PSEUDO: the account if PSEUDO is registered, else the address PSEUDO comes from (it
 * must be connected); whoever is banned and in the room goes back to #général. */
static void cmd_ban(struct session *s, struct args *a)
{
    const char *w, *extra;
    size_t len, extra_len;
    struct args peek = *a;
    if (!word(&peek, &w, &len) && !word(&peek, &extra, &extra_len)) {
        if (operator_here(s)) {
            list_bans(s);
        }
        return;
    }
    struct buf key = BUF_INIT;
    if (!pseudo_arg(s, a, "ban", &w, &len, &key) || !not_in_default_room(s, "ban") ||
        !operator_here(s)) {
        buf_release(&key);
        return;
    }
    const char *room = room_key(here(s)), *name = room_name(here(s));
    bool account = accounts_find(key.data, NULL);
    struct person *p = registry_find(key.data);
    char elsewhere[4 * PSEUDO_MAX_CHARS + 1]; /* as typed, when on another server */
    bool remote = account && !p && held_elsewhere_in(&key, room, elsewhere, here(s));
    int r = account ? owners_ban(room, key.data, w, "")
            : p     ? owners_ban(room, key.data, w, person_host(p))
                    : -ENOENT;
    if (r == -ENOENT) {
        session_reply(s, PROTO_ERROR,
                      "Pseudo inconnu : %.*s (un pseudo non enregistré se bannit par son adresse, "
                      "tant qu'il est connecté).",
                      (int)len, w);
    } else if (r < 0) {
        ban_refused(s, r, w, len);
    } else if (account) {
        log_info("%s bannit le compte %.*s de #%s", person_pseudo(session_person(s)), (int)len, w,
                 name);
        session_reply(s, PROTO_OK, "%.*s est banni de #%s.", (int)len, w, name);
        if (p && room_holds(room, p)) {
            session_send_out(s, p, room, "banni", false); /* the reference goes with it */
            p = NULL;
        } else if (remote) {
            session_send_out_remote(s, elsewhere, room, "banni");
        }
    } else {
        log_info("%s bannit l'adresse %s (%.*s) de #%s", person_pseudo(session_person(s)),
                 person_host(p), (int)len, w, name);
        session_reply(s, PROTO_OK, "%.*s est banni de #%s (son adresse).", (int)len, w, name);
        room_each_from(room, person_host(p), send_out_banned, s); /* its operators stay */
    }
    if (p) {
        person_unref(p);
    }
    buf_release(&key);
}

static void cmd_unban(struct session *s, struct args *a)
{
    const char *w;
    size_t len;
    struct buf key = BUF_INIT;
    if (pseudo_arg(s, a, "unban", &w, &len, &key) && operator_here(s)) {
        const char *name = room_name(here(s));
        if (owners_unban(room_key(here(s)), key.data) == 0) {
            log_info("%s lève le bannissement de %.*s de #%s", person_pseudo(session_person(s)),
                     (int)len, w, name);
            session_reply(s, PROTO_OK, "%.*s n'est plus banni de #%s.", (int)len, w, name);
        } else {
            session_reply(s, PROTO_ERROR, "%.*s n'est pas banni de #%s.", (int)len, w, name);
        }
    }
    buf_release(&key);
}

static void cmd_invite(struct session *s, struct args *a)
{
    const char *w;
    size_t len;
    struct buf key = BUF_INIT;
    if (!pseudo_arg(s, a, "invite", &w, &len, &key) || !not_in_default_room(s, "invite") ||
        !operator_here(s)) {
        buf_release(&key);
        return;
    }
    const char *name = room_name(here(s));
    struct person *p = registry_find(key.data);
    int r = p ? owners_invite(room_key(here(s)), key.data) : -ENOENT;
    if (r == -ENOENT) {
        session_reply(s, PROTO_ERROR, "Pseudo inconnu : %.*s.", (int)len, w);
    } else if (r == -EALREADY) {
        session_reply(s, PROTO_ERROR, "%.*s est déjà invité dans #%s.", (int)len, w, name);
    } else if (r < 0) {
        list_full(s, INVITATIONS);
    } else {
        session_reply(s, PROTO_OK, "%.*s est invité dans #%s.", (int)len, w, name);
        session_invite(s, p, name); /* the reference goes with it */
        p = NULL;
    }
    if (p) {
        person_unref(p);
    }
    buf_release(&key);
}

static void cmd_mode(struct session *s, struct args *a)
{
    const char *w, *extra;
    size_t len, extra_len;
    const char *name = room_name(here(s));
    if (!word(a, &w, &len)) {
        bool on = owners_invite_only(room_key(here(s)));
        session_reply(s, PROTO_NOTICE,
                      on ? "#%s est sur invitation (+i)." : "#%s est ouvert à tous (-i).", name);
        return;
    }
    bool on = len == 2 && memcmp(w, "+i", 2) == 0;
    if ((!on && !(len == 2 && memcmp(w, "-i", 2) == 0)) || word(a, &extra, &extra_len)) {
        usage(s, "mode");
        return;
    }
    if (!not_in_default_room(s, "mode") || !operator_here(s)) {
        return;
    }
    if (owners_set_invite_only(room_key(here(s)), on) == -EALREADY) {
        session_reply(s, PROTO_ERROR,
                      on ? "#%s est déjà sur invitation." : "#%s est déjà ouvert à tous.", name);
        return;
    }
    if (on) {
        log_info("%s réserve #%s aux invités", person_pseudo(session_person(s)), name);
    } else {
        log_info("%s ouvre #%s à tous", person_pseudo(session_person(s)), name);
    }
    session_reply(s, PROTO_OK,
                  on ? "#%s est maintenant sur invitation." : "#%s est maintenant ouvert à tous.",
                  name);
}

/* The console's /say, for an administrator: a notice to everyone. */
static void cmd_say(struct session *s, struct args *a)
{
    const char *t;
    size_t len;
    if (!text(a, &t, &len)) {
        usage(s, "say");
        return;
    }
    if (admin(s)) {
        session_say(t, len);
    }
}

/* Capabilities are asked for before the pseudo (session.c), not after. */
static void cmd_cap(struct session *s, struct args *a)
{
    (void)a;
    session_reply(s, PROTO_ERROR, "/cap se donne avant le pseudo.");
}

static const struct command commands[] = {
    {"help", "/help", "affiche la liste des commandes", cmd_help},
    {"nick", "/nick PSEUDO", "change de pseudo", cmd_nick},
    {"msg", "/msg PSEUDO TEXTE", "envoie un message privé", cmd_msg},
    {"me", "/me TEXTE", "décrit une action (« * alice range son bureau »)", cmd_me},
    {"who", "/who [SALON]", "liste les personnes du salon", cmd_who},
    {"join", "/join SALON", "rejoint un salon, créé s'il n'existe pas", cmd_join},
    {"part", "/part", "revient dans le salon #" ROOM_DEFAULT_NAME, cmd_part},
    {"rooms", "/rooms", "liste les salons", cmd_rooms},
    {"history", "/history [N]", "montre les N messages d'avant (50 par défaut, 200 au plus)",
     cmd_history},
    {"search", "/search MOTS", "cherche les 20 derniers messages du salon qui contiennent ces mots",
     cmd_search},
    {"register", "/register MOTDEPASSE",
     "protège votre pseudo par un mot de passe (8 caractères au moins)", cmd_register},
    {"password", "/password ANCIEN NOUVEAU", "change le mot de passe de votre pseudo",
     cmd_password},
    {"unregister", "/unregister MOTDEPASSE", "retire la protection de votre pseudo",
     cmd_unregister},
    {"topic", "/topic [TEXTE]", "montre le sujet du salon, ou le change (opérateurs)", cmd_topic},
    {"op", "/op PSEUDO", "nomme un pseudo enregistré opérateur du salon (opérateurs)", cmd_op},
    {"deop", "/deop PSEUDO", "retire le rôle d'opérateur du salon (opérateurs)", cmd_deop},
    {"kick", "/kick PSEUDO [RAISON]",
     "renvoie du salon dans #" ROOM_DEFAULT_NAME " (opérateurs), ou du serveur (administrateurs)",
     cmd_kick},
    {"ban", "/ban [PSEUDO]",
     "bannit du salon un compte, ou l'adresse d'un pseudo non enregistré ; seul, liste les "
     "bannis (opérateurs)",
     cmd_ban},
    {"unban", "/unban PSEUDO", "lève un bannissement du salon (opérateurs)", cmd_unban},
    {"invite", "/invite PSEUDO", "invite dans le salon (opérateurs)", cmd_invite},
    {"mode", "/mode [+i|-i]", "met le salon sur invitation, ou l'ouvre à tous (opérateurs)",
     cmd_mode},
    {"say", "/say TEXTE", "annonce à tous (administrateurs)", cmd_say},
    {"quit", "/quit [RAISON]", "quitte la discussion", cmd_quit},
    {"cap", "/cap " PROTO_CAP_EVENTS, NULL, cmd_cap}, /* for programs: docs/PROTOCOL.md */
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find(const char *name, size_t len)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strlen(commands[i].name) == len && memcmp(commands[i].name, name, len) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

static void cmd_help(struct session *s, struct args *a)
{
    (void)a;
    session_reply(s, PROTO_OK, "Commandes disponibles :");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (commands[i].help) {
            session_reply(s, PROTO_NOTICE, "%s : %s", commands[i].usage, commands[i].help);
        }
    }
    session_reply(s, PROTO_NOTICE, "//texte : envoie « /texte » comme un message");
}

bool commands_is_secret(const struct command_line *cmd)
{
    static const char *const secret[] = {"register", "password", "unregister"};
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        if (cmd->name_len == strlen(secret[i]) &&
            memcmp(cmd->name, secret[i], cmd->name_len) == 0) {
            return true;
        }
    }
    return false;
}

void commands_run(struct session *s, const struct command_line *cmd)
{
    const struct command *command = find(cmd->name, cmd->name_len);
    if (!command) {
        session_reply(s, PROTO_ERROR, "Commande inconnue : /%.*s (tapez /help pour la liste).",
                      (int)cmd->name_len, cmd->name);
        return;
    }
    struct args a = {cmd->args, cmd->args_len};
    command->run(s, &a);
}
