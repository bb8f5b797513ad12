/* commands.c - the /command table and its handlers; see commands.h for the contract.
 *
 * Runs on the loop thread of the client that sent the command. The table is a constant
 * array read both by the dispatcher and by /help, so a command gets its help line by
 * being added to it; a linear search suits a handful of commands. Handlers answer with
 * session_reply() or leave with client_close_after_flush(): like all protocol logic they
 * only queue output and never touch a socket. common/command.c cuts the line into name and
 * arguments; a handler that takes words gets them from command_next_word().
 */
#include "commands.h"

#include <assert.h>
#include <string.h>

#include "client.h"
#include "common/command.h"
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

void commands_run(struct client *c, const struct command_line *cmd)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strlen(commands[i].name) == cmd->name_len &&
            memcmp(commands[i].name, cmd->name, cmd->name_len) == 0) {
            commands[i].run(c, cmd->args, cmd->args_len);
            return;
        }
    }
    session_reply(c, '!', "Commande inconnue : /%.*s (tapez /help pour la liste).",
                  (int)cmd->name_len, cmd->name);
}
