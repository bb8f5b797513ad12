/* commands.c - the /command table and its handlers; see commands.h for the contract.
 *
 * Runs on the loop thread of the client that sent the command. The table is a constant
 * array read both by the dispatcher and by /help, so a command gets its help line by
 * being added to it; a linear search suits a handful of commands. Handlers answer with
 * session_reply() and act through room.c, registry.c and broadcast.c: like all protocol
 * logic they only queue output and never touch a socket. common/command.c cuts the line
 * into name and arguments; a handler that takes words gets them from command_next_word().
 */
#include "commands.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "broadcast.h"
#include "client.h"
#include "common/buf.h"
#include "common/command.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "msg.h"
#include "registry.h"
#include "room.h"
#include "session.h"

/* What a handler gets: the words after the name, as command_next_word() reads them. */
struct args {
    const char *rest;
    size_t len;
};

struct command {
    const char *name;  /* without the '/' */
    const char *usage; /* as /help and the usage refusal show it */
    const char *help;  /* one French phrase */
    void (*run)(struct client *c, struct args *a);
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

static void usage(struct client *c, const char *name)
{
    session_reply(c, '!', "Usage : %s", find(name, strlen(name))->usage);
}

/* ---------------------------------------------------------------- the commands */

static void cmd_help(struct client *c, struct args *a);

static void cmd_nick(struct client *c, struct args *a)
{
    const char *nick, *extra;
    size_t len, extra_len;
    if (!word(a, &nick, &len) || word(a, &extra, &extra_len)) {
        usage(c, "nick");
        return;
    }
    enum pseudo_verdict v = pseudo_check(nick, len);
    if (v != PSEUDO_OK) {
        session_reply(c, '!', "%s", pseudo_verdict_text(v));
        return;
    }
    const char *now = person_pseudo(c->person);
    if (strlen(now) == len && memcmp(now, nick, len) == 0) {
        session_reply(c, '!', "Vous vous appelez déjà %s.", now);
        return;
    }
    struct buf key = BUF_INIT;
    pseudo_fold(nick, len, &key);
    int r = room_rename(c, key.data, nick, len);
    buf_release(&key);
    if (r == -EEXIST) {
        session_reply(c, '!', "Le pseudo « %.*s » est déjà pris.", (int)len, nick);
        return;
    }
    session_reply(c, '+', "Vous vous appelez maintenant %s.", person_pseudo(c->person));
}

static void cmd_msg(struct client *c, struct args *a)
{
    const char *to, *t;
    size_t to_len, t_len;
    if (!word(a, &to, &to_len) || !text(a, &t, &t_len)) {
        usage(c, "msg");
        return;
    }
    struct person *p = NULL;
    if (pseudo_check(to, to_len) == PSEUDO_OK) {
        struct buf key = BUF_INIT;
        pseudo_fold(to, to_len, &key);
        p = registry_find(key.data);
        buf_release(&key);
    }
    if (!p) {
        session_reply(c, '!', "Pseudo inconnu : %.*s.", (int)to_len, to);
        return;
    }
    session_reply(c, '+', "Message privé pour %s : %.*s", person_pseudo(p), (int)t_len, t);
    struct buf line = BUF_INIT;
    buf_appendf(&line, "%s: %.*s", person_pseudo(c->person), (int)t_len, t);
    broadcast_to_person(p, msg_new(c->id, '@', line.data, line.len), false);
    buf_release(&line);
}

static void cmd_me(struct client *c, struct args *a)
{
    const char *t;
    size_t len;
    if (!text(a, &t, &len)) {
        usage(c, "me");
        return;
    }
    struct buf line = BUF_INIT;
    buf_appendf(&line, "%s %.*s", person_pseudo(c->person), (int)len, t);
    broadcast_publish(msg_new(c->id, '&', line.data, line.len), c->person->room);
    buf_release(&line);
}

/* Replies for a room name /who or /join could not use. */
static void bad_room(struct client *c, int err, const char *name, size_t len)
{
    if (err == -EINVAL) {
        session_reply(c, '!', "Nom de salon invalide : 1 à 32 caractères visibles, sans espace.");
    } else {
        const char *bare = len > 0 && name[0] == '#' ? name + 1 : name;
        session_reply(c, '!', "Salon inconnu : #%.*s.", (int)(len - (size_t)(bare - name)), bare);
    }
}

static void cmd_who(struct client *c, struct args *a)
{
    const char *name = NULL, *extra;
    size_t len = 0, extra_len;
    if (word(a, &name, &len) && word(a, &extra, &extra_len)) {
        usage(c, "who");
        return;
    }
    struct buf line = BUF_INIT;
    int err = room_who_line(c, name, len, &line);
    if (err < 0) {
        bad_room(c, err, name, len);
    } else {
        struct msg *m = msg_new_lines(line.data, line.len);
        client_send(c, m);
        msg_unref(m);
    }
    buf_release(&line);
}

static void cmd_join(struct client *c, struct args *a)
{
    const char *name, *extra;
    size_t len, extra_len;
    if (!word(a, &name, &len) || word(a, &extra, &extra_len)) {
        usage(c, "join");
        return;
    }
    room_join(c, name, len);
}

static void cmd_part(struct client *c, struct args *a)
{
    const char *extra;
    size_t extra_len;
    if (word(a, &extra, &extra_len)) {
        usage(c, "part");
        return;
    }
    room_join(c, ROOM_DEFAULT_NAME, strlen(ROOM_DEFAULT_NAME));
}

static void cmd_rooms(struct client *c, struct args *a)
{
    const char *extra;
    size_t extra_len;
    if (word(a, &extra, &extra_len)) {
        usage(c, "rooms");
        return;
    }
    struct buf lines = BUF_INIT;
    size_t n = room_list_lines(&lines);
    session_reply(c, '+', "%zu salon%s :", n, n > 1 ? "s" : "");
    struct msg *m = msg_new_lines(lines.data, lines.len); /* the default room is always there */
    client_send(c, m);
    msg_unref(m);
    buf_release(&lines);
}

static void cmd_quit(struct client *c, struct args *a)
{
    const char *reason;
    size_t len;
    text(a, &reason, &len);
    session_quit(c, reason, len);
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
    {"quit", "/quit [RAISON]", "quitte la discussion", cmd_quit},
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

static void cmd_help(struct client *c, struct args *a)
{
    (void)a;
    session_reply(c, '+', "Commandes disponibles :");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        session_reply(c, '*', "%s : %s", commands[i].usage, commands[i].help);
    }
    session_reply(c, '*', "//texte : envoie « /texte » comme un message");
}

void commands_run(struct client *c, const struct command_line *cmd)
{
    const struct command *command = find(cmd->name, cmd->name_len);
    if (!command) {
        session_reply(c, '!', "Commande inconnue : /%.*s (tapez /help pour la liste).",
                      (int)cmd->name_len, cmd->name);
        return;
    }
    struct args a = {cmd->args, cmd->args_len};
    command->run(c, &a);
}
