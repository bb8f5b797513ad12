/* chat.c - the conversation with the server; see chat.h for the contract.
 *
 * Client thread only. The state is one struct, since there is one conversation. Phases go
 * from asking the address to the chat; OFFLINE is the wait between a lost connection and
 * the next attempt, during which the input line stays and typed lines wait in the outbox.
 * What the user sends always goes through the outbox, so that it leaves at the pace the
 * server's flood control accepts: our own message is shown when it leaves, in the order
 * the others see it. Server lines feed the roster (for Tab and the status) before being
 * shown; the answer to the /who the client sends by itself after the welcome is not shown.
 */
#include "chat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "common/buf.h"
#include "common/fr.h"
#include "common/proto.h"
#include "common/sanitize.h"
#include "common/xalloc.h"
#include "complete.h"
#include "conn.h"
#include "options.h"
#include "outbox.h"
#include "piped.h"
#include "roster.h"
#include "screen.h"
#include "style.h"
#include "tty.h"

/* How long to wait for the server to close after we said goodbye. */
#define LEAVE_TIMEOUT_MS 3000
/* Piped input is taken only while fewer lines than this wait in the outbox: 1024 lines are
 * at most 64 MiB of CONN_MAX_LINE lines, and far more than a burst of the flood control. */
#define PIPED_WAITING_MAX 1024

enum phase {
    PHASE_ASK_ADDRESS,  /* waiting for the user to give the server's address */
    PHASE_CONNECTING,   /* resolving and connecting */
    PHASE_AWAIT_PROMPT, /* connected, waiting for the server to ask for the pseudo */
    PHASE_ASK_PSEUDO,   /* waiting for the user to give a pseudo */
    PHASE_JOINING,      /* pseudo sent, waiting for the verdict */
    PHASE_CHAT,
    PHASE_OFFLINE, /* the connection was lost; the next attempt is on a timer */
    PHASE_LEAVING, /* goodbye said; waiting for the server to close */
    PHASE_DONE,
};

/* What a line in the outbox is, for when it leaves. */
enum tag {
    TAG_MESSAGE, /* shown as ours when it leaves */
    TAG_ACTION,  /* /me: shown as our action */
    TAG_COMMAND, /* the server answers it */
    TAG_WHO,     /* the client's own /who: its answer only feeds the roster */
    TAG_QUIT,    /* /quit: we leave once it is sent */
};

static struct chat {
    uv_loop_t *loop;
    struct client_options *opts; /* borrowed */
    bool interactive;
    bool host_asked;    /* the address came from the prompt, so it may be asked again */
    bool nick_tried;    /* --nick was proposed once already */
    bool ever_joined;   /* joined once: a lost connection is retried */
    bool auto_pseudo;   /* reconnecting: give our pseudo again without asking */
    bool coming_back;   /* reconnecting: say so once joined, and go back to our room */
    bool leave_on_sent; /* piped input ended: leave once the outbox is empty */
    enum phase phase;
    struct conn conn;
    struct outbox out;
    struct roster roster;
    struct style style;
    uv_timer_t retry;    /* OFFLINE: counts down to the next attempt, one tick a second */
    unsigned backoff_s;  /* the wait before the next attempt */
    unsigned retry_in;   /* seconds left before it */
    unsigned hidden_who; /* "=" answers to our own /who still to come */
    char *pseudo;        /* owned: the pseudo proposed, then ours */
    char *room_before;   /* owned: our room when the connection was lost */
    int exit_status;
} chat;

static void pump_input(void);
static void pump_lines(void);
static void update_prompt(void);

/* ---------------------------------------------------------------- leaving */

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if ((h->type == UV_SIGNAL || h == (uv_handle_t *)&chat.retry) && !uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

/* Ends the program with status once the loop returns. */
static void quit(int status)
{
    if (chat.phase == PHASE_DONE) {
        return;
    }
    chat.phase = PHASE_DONE;
    chat.exit_status = status;
    if (chat.interactive) {
        tty_restore();
    }
    outbox_close(&chat.out);
    conn_close(&chat.conn);
    uv_walk(chat.loop, close_handle, NULL);
    /* A piped read may be blocked in the thread pool on a stdin that never ends: stop the
     * loop rather than wait for it. */
    uv_stop(chat.loop);
}

/* Says goodbye (with quit_line, "/quit" and maybe a reason, or without a word when NULL):
 * the server closes, and on_closed() ends the program with status 0. */
static void leave(const char *quit_line)
{
    if (chat.phase == PHASE_LEAVING || chat.phase == PHASE_DONE) {
        return;
    }
    if (!chat.conn.connected) {
        quit(0);
        return;
    }
    if (chat.interactive) {
        tty_pause();
    }
    chat.phase = PHASE_LEAVING;
    outbox_stop(&chat.out);
    if (quit_line) {
        conn_send_line(&chat.conn, quit_line, strlen(quit_line));
    }
    conn_finish(&chat.conn, LEAVE_TIMEOUT_MS);
}

/* ---------------------------------------------------------------- the status */

/* The chat prompt shows the status: once joined, and while reconnecting. */
static void update_prompt(void)
{
    if (!chat.interactive || !chat.ever_joined || chat.phase == PHASE_ASK_PSEUDO ||
        chat.phase >= PHASE_LEAVING) {
        return;
    }
    struct style_status s = {
        .pseudo = chat.pseudo,
        .server = chat.conn.name,
        .room = chat.roster.room,
        .count = chat.roster.count,
        .waiting = outbox_waiting(&chat.out),
        .offline = chat.phase != PHASE_CHAT,
        .retry_s = chat.phase == PHASE_OFFLINE ? chat.retry_in : 0,
    };
    struct buf p = BUF_INIT;
    style_prompt(&chat.style, &s, &p);
    tty_set_prompt(p.data);
    buf_release(&p);
}

static void on_waiting_changed(size_t waiting)
{
    (void)waiting;
    update_prompt();
    if (!chat.interactive) {
        if (waiting == 0 && chat.leave_on_sent) {
            leave(NULL); /* everything is sent: half-close, the server closes, we exit 0 */
            return;
        }
        pump_input();
    }
}

/* ---------------------------------------------------------------- sending */

/* A line's turn has come in the outbox. */
static void on_send(const char *line, int tag)
{
    if (tag == TAG_QUIT) {
        leave(line);
        return;
    }
    conn_send_line(&chat.conn, line, strlen(line));
    if (tag == TAG_WHO) {
        chat.hidden_who++;
    } else if (tag == TAG_MESSAGE) {
        const char *text = line[0] == '/' ? line + 1 : line; /* "//x" is the message "/x" */
        screen_own(text, strlen(text), false);
    } else if (tag == TAG_ACTION) {
        const char *text = line + 3;
        text += strspn(text, " \t");
        screen_own(text, strlen(text), true);
    }
}

static bool is_command(const char *line, const char *name)
{
    size_t n = strlen(name);
    return strncmp(line, name, n) == 0 && (line[n] == '\0' || line[n] == ' ' || line[n] == '\t');
}

/* The client's own part of /help; the server's list follows, as its answer. */
static void local_help(void)
{
    static const char *const lines[] = {
        "Commandes du client :",
        "/help : affiche cette aide, puis celle du serveur",
        "/clear : efface l'écran",
        "/quit [RAISON] : quitte (comme Ctrl-D sur une ligne vide)",
        "Tab : complète un pseudo ou une commande ; Haut, Bas : lignes déjà envoyées",
        "Ctrl-C : efface la ligne en cours ; sur une ligne vide, quitte",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        screen_notice("%s", lines[i]);
    }
}

/* A line the user typed in the chat (or piped, or while offline). */
static void chat_line(const char *line)
{
    if (line[0] == '\0') {
        return;
    }
    if (chat.interactive) {
        tty_remember(line);
    }
    if (is_command(line, "/quit")) {
        if (chat.phase != PHASE_CHAT || !chat.conn.connected) {
            quit(0);
            return;
        }
        size_t waiting = outbox_waiting(&chat.out);
        if (waiting > 0 && chat.interactive) {
            if (waiting == 1) {
                screen_notice("Départ après l'envoi de la ligne en attente.");
            } else {
                screen_notice("Départ après l'envoi des %zu lignes en attente.", waiting);
            }
        }
        outbox_push(&chat.out, xstrdup(line), TAG_QUIT, true); /* never refused: no pace */
        return;
    }
    if (chat.interactive && is_command(line, "/clear")) {
        screen_clear();
        return;
    }
    int tag = TAG_MESSAGE;
    if (line[0] == '/' && line[1] != '/') {
        tag = is_command(line, "/me") ? TAG_ACTION : TAG_COMMAND;
        if (chat.interactive && is_command(line, "/help")) {
            local_help(); /* the server's part follows */
        }
    }
    outbox_push(&chat.out, xstrdup(line), tag, false);
}

/* ---------------------------------------------------------------- the server */

static void retry_tick(uv_timer_t *t);
static void ask_address(void);
static void start_connect(void);

/* Waits before the next attempt, longer after each failure (backoff.h). */
static void retry_later(void)
{
    chat.backoff_s = backoff_next(chat.backoff_s);
    chat.phase = PHASE_OFFLINE;
    chat.retry_in = chat.backoff_s;
    uv_timer_start(&chat.retry, retry_tick, 1000, 1000);
    update_prompt();
}

/* The connection is lost: try again later on a terminal, or give up. */
static void connection_lost(void)
{
    outbox_stop(&chat.out);
    if (!chat.interactive || chat.opts->no_reconnect || !chat.ever_joined) {
        screen_error("Connexion au serveur perdue.");
        quit(1);
        return;
    }
    if (chat.phase != PHASE_CHAT) {
        retry_later(); /* an attempt failed on the way back: wait longer */
        return;
    }
    free(chat.room_before);
    chat.room_before = chat.roster.room ? xstrdup(chat.roster.room) : NULL;
    chat.auto_pseudo = true;
    chat.coming_back = true;
    chat.backoff_s = 0; /* the chat was on: start again from the first wait */
    retry_later();
    screen_error("Connexion au serveur perdue : nouvelle tentative dans %u s. La ligne en cours "
                 "et celles que vous enverrez attendront.",
                 chat.backoff_s);
}

static void retry_tick(uv_timer_t *t)
{
    (void)t;
    if (--chat.retry_in > 0) {
        update_prompt();
        return;
    }
    uv_timer_stop(&chat.retry);
    start_connect();
}

static void on_closed(struct conn *c, int status)
{
    (void)c;
    (void)status;
    if (chat.phase == PHASE_LEAVING) {
        quit(0);
        return;
    }
    connection_lost();
}

static void ask_pseudo(const char *server_prompt, size_t len)
{
    const char *automatic = NULL;
    if (chat.auto_pseudo && chat.pseudo) {
        automatic = chat.pseudo; /* back after a lost connection: the same pseudo */
    } else if (chat.opts->nick && !chat.nick_tried) {
        chat.nick_tried = true;
        free(chat.pseudo);
        chat.pseudo = xstrdup(chat.opts->nick);
        automatic = chat.pseudo;
    }
    if (automatic) {
        conn_send_line(&chat.conn, automatic, strlen(automatic));
        chat.phase = PHASE_JOINING;
        return;
    }
    chat.phase = PHASE_ASK_PSEUDO;
    if (chat.interactive) {
        struct buf p = BUF_INIT;
        sanitize_append(&p, server_prompt, len);
        buf_append_char(&p, ' ');
        tty_ask(p.data);
        buf_release(&p);
    } else {
        pump_input();
    }
}

static void joined(const char *line, size_t len)
{
    bool back = chat.coming_back;
    chat.coming_back = false;
    chat.auto_pseudo = false;
    chat.ever_joined = true;
    chat.style.self = chat.pseudo;
    if (back) {
        screen_notice("Reconnecté à %s.", chat.conn.name);
    }
    screen_show_server_line(line, len);
    roster_on_line(&chat.roster, line, len, chat.pseudo);
    chat.phase = PHASE_CHAT;
    chat.hidden_who = 0;
    /* Go first, before what was typed meanwhile: back to our room, or who is in this one. */
    if (back && chat.room_before && strcmp(chat.room_before, "général") != 0) {
        struct buf join = BUF_INIT;
        buf_appendf(&join, "/join %s", chat.room_before);
        outbox_push_front(&chat.out, join.data, TAG_COMMAND); /* the buffer's memory */
    } else if (chat.interactive) {
        outbox_push_front(&chat.out, xstrdup("/who"), TAG_WHO);
    }
    outbox_start(&chat.out);
    if (chat.interactive) {
        tty_ask(""); /* the status, which update_prompt() writes, is the prompt */
        update_prompt();
    } else {
        pump_input();
    }
}

/* During the handshake: a prompt, a refusal or the welcome. */
static void handshake_line(char kind, const char *text, size_t text_len, const char *line,
                           size_t len)
{
    if (kind == PROTO_PROMPT) {
        ask_pseudo(text, text_len);
    } else if (kind == PROTO_OK) {
        joined(line, len);
    } else if (kind == PROTO_ERROR && !chat.interactive) {
        struct buf t = BUF_INIT;
        sanitize_append(&t, text, text_len);
        screen_error("%s", t.data); /* no one to ask again: give up */
        buf_release(&t);
        quit(1);
    } else {
        if (kind == PROTO_ERROR && chat.auto_pseudo) {
            chat.auto_pseudo = false; /* our pseudo is taken now: the user chooses another */
        }
        screen_show_server_line(line, len); /* the refusal; the prompt follows */
    }
}

/* A server line during the chat: the roster first, then the screen. */
static void chat_server_line(char kind, const char *text, size_t text_len, const char *line,
                             size_t len)
{
    bool changed = roster_on_line(&chat.roster, line, len, chat.pseudo);
    static const char renamed[] = "Vous vous appelez maintenant ";
    size_t rn = strlen(renamed);
    if (kind == PROTO_OK && text_len > rn + 1 && memcmp(text, renamed, rn) == 0 &&
        text[text_len - 1] == '.') {
        free(chat.pseudo);
        chat.pseudo = xmemdup0(text + rn, text_len - rn - 1);
        chat.style.self = chat.pseudo;
        changed = true;
    }
    if (kind == '=' && chat.hidden_who > 0) {
        chat.hidden_who--; /* the answer to our own /who: for the roster only */
    } else {
        screen_show_server_line(line, len);
    }
    if (changed) {
        update_prompt();
    }
}

static void on_line(struct conn *c, const char *line, size_t len)
{
    (void)c;
    char kind;
    const char *text;
    size_t text_len;
    proto_split_kind(line, len, &kind, &text, &text_len);
    if (chat.phase == PHASE_AWAIT_PROMPT || chat.phase == PHASE_JOINING ||
        chat.phase == PHASE_ASK_PSEUDO) {
        handshake_line(kind, text, text_len, line, len);
    } else if (chat.phase == PHASE_CHAT || chat.phase == PHASE_LEAVING) {
        chat_server_line(kind, text, text_len, line, len);
    }
}

static void on_drained(struct conn *c)
{
    (void)c;
    pump_input(); /* piped input waits while much is unsent */
}

static void on_connected(struct conn *c, int status)
{
    if (status == 0) {
        chat.phase = PHASE_AWAIT_PROMPT;
        update_prompt();
        return;
    }
    if (chat.coming_back && chat.interactive && !chat.opts->no_reconnect) {
        outbox_stop(&chat.out);
        retry_later();
        screen_error("Impossible de se reconnecter à %s : %s. Nouvelle tentative dans %u s.",
                     c->name, fr_strerror(status), chat.backoff_s);
        return;
    }
    screen_error("Impossible de se connecter à %s : %s.", c->name, fr_strerror(status));
    if (chat.interactive && chat.host_asked) {
        ask_address();
    } else {
        quit(1);
    }
}

static void start_connect(void)
{
    bool reconnecting = chat.phase == PHASE_OFFLINE;
    chat.phase = PHASE_CONNECTING;
    if (chat.interactive && !reconnecting) {
        tty_pause();
    }
    update_prompt();
    int r = conn_connect(&chat.conn, chat.opts->host, chat.opts->port);
    if (r < 0) {
        on_connected(&chat.conn, r);
    }
}

/* ---------------------------------------------------------------- the user */

static void ask_address(void)
{
    chat.phase = PHASE_ASK_ADDRESS;
    chat.host_asked = true;
    if (chat.interactive) {
        char prompt[96];
        snprintf(prompt, sizeof(prompt), "Adresse du serveur [%s:%d] : ", DEFAULT_HOST,
                 chat.opts->port);
        tty_ask(prompt);
    } else {
        pump_input();
    }
}

/* Shows what was typed at a prompt, since Enter clears the input line. */
static void echo_answer(const char *line)
{
    if (chat.interactive) {
        struct buf b = BUF_INIT;
        buf_append_str(&b, tty_prompt());
        sanitize_append(&b, line, strlen(line));
        screen_print(b.data);
        buf_release(&b);
    }
}

static void address_line(const char *line)
{
    echo_answer(line);
    struct buf err = BUF_INIT;
    if (!chat.opts->host) {
        chat.opts->host = xstrdup(DEFAULT_HOST);
    }
    if (options_parse_address(line, &chat.opts->host, &chat.opts->port, &err) < 0) {
        screen_error("%s", err.data);
        buf_release(&err);
        if (chat.interactive) {
            ask_address();
        } else {
            quit(1);
        }
        return;
    }
    buf_release(&err);
    start_connect();
}

static void pseudo_line(const char *line)
{
    echo_answer(line);
    free(chat.pseudo);
    chat.pseudo = xstrdup(line);
    chat.phase = PHASE_JOINING;
    if (chat.interactive) {
        tty_pause();
    }
    conn_send_line(&chat.conn, line, strlen(line));
}

/* One line from the user, whatever the input; NULL is the end of input (Ctrl-D). */
static void on_user_line(char *line)
{
    if (!line) {
        if (chat.phase == PHASE_ASK_ADDRESS) {
            quit(0);
        } else if (chat.phase == PHASE_CHAT && !chat.interactive && outbox_waiting(&chat.out) > 0) {
            chat.leave_on_sent = true; /* the end of a pipe: what is waiting goes first */
        } else {
            /* Ctrl-D says goodbye; the end of a pipe just half-closes, as it always has. */
            leave(chat.phase == PHASE_CHAT && chat.interactive ? "/quit" : NULL);
        }
        return;
    }
    switch (chat.phase) {
    case PHASE_ASK_ADDRESS:
        address_line(line);
        break;
    case PHASE_ASK_PSEUDO:
        pseudo_line(line);
        break;
    case PHASE_CHAT:
    case PHASE_OFFLINE:
        chat_line(line);
        break;
    case PHASE_CONNECTING:
    case PHASE_AWAIT_PROMPT:
    case PHASE_JOINING:
        if (chat.coming_back) {
            chat_line(line); /* reconnecting: it waits in the outbox */
        }
        break;
    default:
        break; /* keys typed while we wait are not meant for anything */
    }
    free(line);
}

static void on_complete(const char *line, size_t start, size_t end, struct complete_list *out)
{
    if (chat.phase == PHASE_CHAT || chat.phase == PHASE_OFFLINE) {
        complete_candidates(line, start, end, &chat.roster, chat.pseudo, out);
    }
}

/* ---------------------------------------------------------------- piped input */

/* Piped input has no queue of its own: piped.c keeps what was read and gives a line when
 * asked, so a line is taken only when a phase wants it (an address, a pseudo, or a line
 * for the chat, which then waits in the outbox). While many lines wait there, nothing more
 * is taken, so nothing more is read: the rest of a large file stays in the file. */

static bool phase_takes_input(void)
{
    return chat.phase == PHASE_ASK_ADDRESS || chat.phase == PHASE_ASK_PSEUDO ||
           chat.phase == PHASE_CHAT;
}

/* Takes piped lines while the phase wants them. Sending a line reports the outbox's
 * change, which calls here again: that inner call returns at once, and this loop goes on,
 * so the stack stays flat however many lines. */
static void pump_input(void)
{
    static bool pumping;
    if (chat.interactive || chat.leave_on_sent || pumping) {
        return;
    }
    pumping = true;
    pump_lines();
    pumping = false;
}

/* The input has ended (status UV_EOF) or cannot be read: what the phase does without. */
static void input_ended(int status)
{
    if (status != UV_EOF) {
        screen_error("Impossible de lire l'entrée standard : %s.", fr_strerror(status));
        quit(1);
    } else if (chat.phase == PHASE_ASK_ADDRESS) {
        on_user_line(xstrdup("")); /* no address given: the default, as at the prompt */
    } else if (chat.phase == PHASE_ASK_PSEUDO) {
        screen_error("Fin de l'entrée : aucun pseudo n'a été donné.");
        quit(1);
    } else {
        on_user_line(NULL); /* leaves once everything waiting is sent */
    }
}

static void pump_lines(void)
{
    while (phase_takes_input() && outbox_waiting(&chat.out) < PIPED_WAITING_MAX) {
        const char *line;
        size_t len;
        int r = piped_next_line(&line, &len);
        if (r == -EAGAIN) {
            return; /* a read is under way: on_piped_ready() comes back here */
        }
        if (r < 0) {
            input_ended(r);
            return;
        }
        on_user_line(xmemdup0(line, len));
    }
}

static void on_piped_ready(void)
{
    pump_input();
}

/* ---------------------------------------------------------------- start and end */

/* How lines are dressed: style.c decides from what the environment says. */
static void set_style(void)
{
    struct style_terminal t = {
        .interactive = chat.interactive,
        .no_color_option = chat.opts->no_color,
        .no_color = getenv("NO_COLOR"),
        .term = getenv("TERM"),
        .colorterm = getenv("COLORTERM"),
    };
    chat.style = style_for_terminal(&t);
}

void chat_start(uv_loop_t *loop, struct client_options *opts, bool interactive)
{
    chat.loop = loop;
    chat.opts = opts;
    chat.interactive = interactive;
    set_style();
    screen_init(interactive, &chat.style);
    roster_init(&chat.roster);
    conn_init(&chat.conn, loop);
    chat.conn.on_connected = on_connected;
    chat.conn.on_line = on_line;
    chat.conn.on_closed = on_closed;
    chat.conn.on_drained = on_drained;
    outbox_init(&chat.out, loop, opts->flood_burst, opts->flood_rate);
    chat.out.on_send = on_send;
    chat.out.on_change = on_waiting_changed;
    uv_timer_init(loop, &chat.retry);
    if (interactive) {
        tty_init(loop, on_user_line, on_complete);
        struct buf path = BUF_INIT;
        if (opts->history_size > 0 &&
            options_history_path(getenv("XDG_STATE_HOME"), getenv("HOME"), &path) == 0) {
            tty_history_open(path.data, opts->history_size);
        }
        buf_release(&path);
    } else {
        piped_init(loop, on_piped_ready);
    }
    if (opts->host) {
        start_connect();
    } else {
        ask_address();
    }
}

void chat_on_interrupt(bool quit_cleanly, int status)
{
    if (quit_cleanly) {
        leave(chat.phase == PHASE_CHAT ? "/quit" : NULL);
    } else {
        quit(status);
    }
}

bool chat_on_ctrl_c(void)
{
    if (tty_line_is_empty()) {
        return false;
    }
    tty_clear_line();
    return true;
}

int chat_finish(void)
{
    if (chat.interactive) {
        tty_restore();
    } else {
        piped_release();
    }
    free(chat.pseudo);
    free(chat.room_before);
    roster_release(&chat.roster);
    return chat.exit_status;
}
