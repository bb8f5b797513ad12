/* commands.c - the /command table and its handlers; see commands.h for the contract.
 *
 * Runs on the loop thread of the client that sent the command. The table is a constant
 * array read both by the dispatcher and by /help, so a command gets its help line by
 * being added to it; a linear search suits a handful of commands. Handlers answer with
 * session_reply() or leave with client_close_after_flush(): like all protocol logic they
 * only queue output and never touch a socket.
 */
#include "commands.h"

#include <string.h>

#include "client.h"
#include "session.h"

struct command {
    const char *name; /* without the '/' */
    const char *usage;
    const char *help; /* one French sentence */
    void (*run)(struct client *c, const char *args, size_t len);
};

static void cmd_help(struct client *c, const char *args, size_t len);

static void cmd_quit(struct client *c, const char *args, size_t len)
{
    (void)args;
    (void)len;
    client_close_after_flush(c, "/quit");
}

static const struct command commands[] = {
    {"help", "/help", "affiche la liste des commandes", cmd_help},
    {"quit", "/quit", "quitte la discussion", cmd_quit},
};

static void cmd_help(struct client *c, const char *args, size_t len)
{
    (void)args;
    (void)len;
    session_reply(c, '+', "Commandes disponibles :");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        session_reply(c, '*', "%s : %s", commands[i].usage, commands[i].help);
    }
    session_reply(c, '*', "//texte : envoie « /texte » comme un message");
}

void commands_run(struct client *c, const char *line, size_t len)
{
    const char *name = line + 1;
    const char *end = memchr(name, ' ', len - 1);
    size_t name_len = end ? (size_t)(end - name) : len - 1;
    const char *args = name + name_len;
    size_t args_len = len - 1 - name_len;
    while (args_len > 0 && *args == ' ') {
        args++;
        args_len--;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strlen(commands[i].name) == name_len && memcmp(commands[i].name, name, name_len) == 0) {
            commands[i].run(c, args, args_len);
            return;
        }
    }
    session_reply(c, '!', "Commande inconnue : /%.*s (tapez /help pour la liste).", (int)name_len,
                  name);
}
