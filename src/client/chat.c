/* chat.c - the conversation with the server; see chat.h for the contract.
 *
 * Client thread only. The state is one struct, since there is one conversation. Phases go
 * from asking the address to the chat; OFFLINE is the wait between a lost connection and
 * the next attempt, during which the input line stays and typed lines wait in the outbox.
 * What the user sends always goes through the outbox, so that it leaves at the pace the
 * server's flood control accepts: our own message is shown when it leaves, in the order
 * the others see it. Each connection asks for the events capability before the pseudo;
 * with it, server lines feed the roster (for Tab and the status) before being shown, and
 * the arrival's room and list, which the welcome already told, are not shown. Only the
 * kinds of lines are read here, never their French. The server is one of a list of
 * addresses (hosts.h), tried in rounds: a failed address passes at once to the next, and
 * only a round in which every one failed ends the start or waits before a reconnection;
 * a reconnection starts from the address after the server lost, so that a client of a
 * cluster comes back through another server, with its pseudo and its room; if that pseudo is
 * still held there by our old connection (a server that died without a word), it is given
 * again every few seconds for a while (reclaim.h) before the user is asked. With TLS, a
 * refused certificate ends the program, even on a reconnection and with other addresses
 * left: the server is not the one we knew, and waiting will not make it so; other
 * failures of a reconnection are retried as a lost network is. A
 * secret prompt ('%', a password) is answered by the next line, typed unseen on a
 * terminal (tty_ask_secret()), never remembered, and sent at once; the answer is not kept,
 * so after a reconnection the user is asked again.
 */
#include "chat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "common/addr.h"
#include "common/buf.h"
#include "common/fr.h"
#include "common/proto.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "common/xalloc.h"
#include "complete.h"
#include "conn.h"
#include "hosts.h"
#include "options.h"
#include "outbox.h"
#include "piped.h"
#include "reclaim.h"
#include "roster.h"
#include "screen.h"
#include "style.h"
#include "tls.h"
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
    PHASE_AWAIT_CAP,    /* the prompt came and waits: the answer to /cap comes first */
    PHASE_ASK_PSEUDO,   /* waiting for the user to give a pseudo */
    PHASE_ASK_SECRET,   /* waiting for the user to answer a secret prompt, before joining */
    PHASE_JOINING,      /* pseudo sent, waiting for the verdict */
    PHASE_RECLAIMING,   /* our pseudo refused as taken: given again when chat.reclaim_timer fires */
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
    bool cap_answered;  /* this connection's /cap was answered */
    bool events;        /* the server sends event lines (docs/PROTOCOL.md, "Events") */
    bool arriving;      /* welcomed, with events: the arrival's '#' line is to come */
    bool hide_list;     /* the next line, if a '=', is the arrival's list: not shown */
    bool returning;     /* reconnected: once the arrival's room is known, go back */
    bool secret_asked;  /* a secret was asked for the pseudo last given */
    bool reclaim_due;   /* our pseudo was refused: the next prompt waits before giving it */
    enum phase phase;
    struct conn conn;
    struct outbox out;
    struct roster roster;
    struct style style;
    uv_timer_t retry;         /* OFFLINE: counts down to the next attempt, one tick a second */
    unsigned backoff_s;       /* the wait before the next attempt */
    unsigned retry_in;        /* seconds left before it */
    struct reclaim reclaim;   /* our pseudo's refusals since the chat was last on */
    uv_timer_t reclaim_timer; /* RECLAIMING: fires once, when our pseudo is given again */
    char *pseudo;             /* owned: the pseudo proposed, then ours */
    char *room_before;        /* owned: our room when the connection was lost */
    char *held_prompt;        /* owned: the server's first prompt, until /cap is answered */
    int exit_status;
} chat;

static void pump_input(void);
static void pump_lines(void);
static void update_prompt(void);
static void ask_secret(const char *server_prompt, size_t len);

/* ---------------------------------------------------------------- leaving */

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    bool ours = h == (uv_handle_t *)&chat.retry || h == (uv_handle_t *)&chat.reclaim_timer;
    if ((h->type == UV_SIGNAL || ours) && !uv_is_closing(h)) {
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
        chat.phase == PHASE_ASK_SECRET || chat.phase >= PHASE_LEAVING || tty_asking_secret()) {
        return; /* the prompt is the server's question */
    }
    struct style_status s = {
        .pseudo = chat.pseudo,
        .server = chat.conn.name,
        .room = chat.roster.room,
        .count = chat.roster.count,
        .waiting = outbox_waiting(&chat.out),
        .offline = chat.phase != PHASE_CHAT,
        .retry_s = chat.phase == PHASE_OFFLINE ? chat.retry_in : 0,
        .tls = chat.opts->tls,
        .tls_unverified = chat.opts->tls_insecure,
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
    if (tag == TAG_MESSAGE) {
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
static void connect_current(void);

/* A secret prompt still waiting is given up: the server is gone, or asks something else. */
static void drop_secret(void)
{
    if (chat.interactive) {
        tty_cancel_secret();
    }
}

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
    drop_secret(); /* the server that asked is gone; the next one asks again */
    /* A wait to give our pseudo again is over too: the next server prompts afresh. */
    uv_timer_stop(&chat.reclaim_timer);
    chat.reclaim_due = false;
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
    reclaim_reset(&chat.reclaim);
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

/* The wait after a refusal of our pseudo is over: the prompt that came meanwhile is
 * answered with it again. */
static void on_reclaim_due(uv_timer_t *t)
{
    (void)t;
    if (chat.phase != PHASE_RECLAIMING) {
        return; /* the server asked again meanwhile, and was answered */
    }
    conn_send_line(&chat.conn, chat.pseudo, strlen(chat.pseudo));
    chat.phase = PHASE_JOINING;
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
    drop_secret();
    chat.secret_asked = false;
    if (automatic && chat.reclaim_due) {
        chat.reclaim_due = false;
        chat.phase = PHASE_RECLAIMING; /* answered when the timer fires */
        uv_timer_start(&chat.reclaim_timer, on_reclaim_due, RECLAIM_EVERY_S * 1000, 0);
        return;
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

/* The chat may go on: first, back to the room we were in before the connection was lost
 * if the new arrival put us elsewhere (in room), ahead of the lines typed meanwhile. */
static void start_sending(const char *room)
{
    const char *before = chat.room_before;
    if (chat.returning && before && room &&
        !pseudo_equal(before, strlen(before), room, strlen(room))) {
        struct buf join = BUF_INIT;
        buf_appendf(&join, "/join %s", before);
        outbox_push_front(&chat.out, join.data, TAG_COMMAND); /* the buffer's memory */
    }
    chat.returning = false;
    outbox_start(&chat.out);
}

static void joined(const char *line, size_t len)
{
    bool back = chat.coming_back;
    drop_secret();
    chat.coming_back = false;
    chat.auto_pseudo = false;
    reclaim_reset(&chat.reclaim);
    chat.ever_joined = true;
    chat.style.self = chat.pseudo;
    if (back) {
        screen_notice("Reconnecté à %s.", chat.conn.name);
    }
    screen_show_server_line(line, len);
    roster_release(&chat.roster); /* a new arrival: its '#' line says where */
    roster_init(&chat.roster);
    chat.phase = PHASE_CHAT;
    chat.returning = back;
    chat.hide_list = false;
    chat.arriving = chat.events;
    if (!chat.events) {
        /* Without events, the arrival is not told: it is in the default room (PROTOCOL.md). */
        start_sending(PROTO_DEFAULT_ROOM);
    }
    if (chat.interactive) {
        tty_ask(""); /* the status, which update_prompt() writes, is the prompt */
        update_prompt();
    } else {
        pump_input();
    }
}

/* The server answered /cap: on (a '+') or unknown (a '!'; an old server takes it for a
 * pseudo it refuses, and asks again). Either way the user is not told. */
static void cap_answered(bool on)
{
    chat.cap_answered = true;
    chat.events = on;
    char *prompt = chat.held_prompt;
    chat.held_prompt = NULL;
    if (on) {
        ask_pseudo(prompt, strlen(prompt)); /* the prompt that waited */
    } else {
        chat.phase = PHASE_AWAIT_PROMPT; /* the next prompt, which follows the refusal */
    }
    free(prompt);
}

/* A refusal (line) while we reconnect and give our pseudo by ourselves. Given at once, with
 * no secret asked, the pseudo we had is valid: it is held still, most likely by our own
 * old connection, on a server that died and that the cluster has not yet declared dead.
 * It is given again after a wait, until reclaim.c's bound; after that, or after a secret
 * (a wrong password, which waiting would not put right), the user chooses, as ever. */
static void auto_pseudo_refused(const char *line, size_t len)
{
    if (chat.phase == PHASE_RECLAIMING) {
        /* No pseudo is on its way: not a refusal of ours, but the server's handshake
         * deadline, say. Shown; the close that follows makes a reconnection as any. */
        screen_show_server_line(line, len);
        return;
    }
    enum reclaim_step step = RECLAIM_GIVE_UP;
    if (chat.phase == PHASE_JOINING && !chat.secret_asked) {
        step = reclaim_refused(&chat.reclaim);
    }
    if (step == RECLAIM_WAIT) {
        chat.reclaim_due = true; /* told already: nothing more to show */
        return;
    }
    screen_show_server_line(line, len);
    if (step == RECLAIM_GIVE_UP) {
        chat.auto_pseudo = false; /* our pseudo is taken now: the user chooses another */
        return;
    }
    chat.reclaim_due = true;
    struct buf p = BUF_INIT;
    sanitize_append(&p, chat.pseudo, strlen(chat.pseudo));
    screen_notice("Le pseudo « %s » est encore tenu par votre ancienne connexion : nouvel essai "
                  "toutes les %d s.",
                  p.data, RECLAIM_EVERY_S);
    buf_release(&p);
}

/* During the handshake: a prompt, the answer to /cap, a refusal or the welcome. Only the
 * kinds are read, never the French. */
static void handshake_line(char kind, const char *text, size_t text_len, const char *line,
                           size_t len)
{
    if (chat.phase == PHASE_AWAIT_CAP && (kind == PROTO_OK || kind == PROTO_ERROR)) {
        cap_answered(kind == PROTO_OK);
    } else if (kind == PROTO_PROMPT && !chat.cap_answered) {
        free(chat.held_prompt); /* held: the pseudo waits for the answer to /cap */
        chat.held_prompt = xmemdup0(text, text_len);
        chat.phase = PHASE_AWAIT_CAP;
    } else if (kind == PROTO_PROMPT) {
        ask_pseudo(text, text_len);
    } else if (kind == PROTO_SECRET) {
        ask_secret(text, text_len); /* a password, for the pseudo just given */
    } else if (kind == PROTO_OK) {
        joined(line, len);
    } else if (kind == PROTO_ERROR && !chat.interactive) {
        struct buf t = BUF_INIT;
        sanitize_append(&t, text, text_len);
        screen_error("%s", t.data); /* no one to ask again: give up */
        buf_release(&t);
        quit(1);
    } else if (kind == PROTO_ERROR && chat.auto_pseudo) {
        auto_pseudo_refused(line, len); /* the prompt follows */
    } else {
        screen_show_server_line(line, len); /* a refusal; the prompt follows */
    }
}

/* Whether a chat line is one the user is not shown: the arrival's '#' and '=' lines, which
 * say what the welcome just said. The arrival's '#' also lets the outbox start. */
static bool arrival_line(char kind)
{
    if (kind == PROTO_ROOM && chat.arriving) {
        chat.arriving = false;
        chat.hide_list = true;
        start_sending(chat.roster.room);
        return true;
    }
    bool list = chat.hide_list && kind == PROTO_WHO;
    chat.hide_list = false; /* the '=' comes right after the '#', or not at all */
    return list;
}

/* A server line during the chat: the roster first, then the screen. */
static void chat_server_line(char kind, const char *line, size_t len)
{
    struct roster_update u = {0};
    if (chat.events) {
        u = roster_on_line(&chat.roster, line, len, chat.pseudo);
    }
    if (u.renamed_self) {
        free(chat.pseudo);
        chat.pseudo = xmemdup0(u.new_self.p, u.new_self.len);
        chat.style.self = chat.pseudo;
    }
    if (!arrival_line(kind)) {
        screen_show_server_line(line, len);
    }
    if (u.changed || u.renamed_self) {
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
    if (chat.phase == PHASE_AWAIT_PROMPT || chat.phase == PHASE_AWAIT_CAP ||
        chat.phase == PHASE_JOINING || chat.phase == PHASE_RECLAIMING ||
        chat.phase == PHASE_ASK_PSEUDO || chat.phase == PHASE_ASK_SECRET) {
        handshake_line(kind, text, text_len, line, len);
    } else if (chat.phase == PHASE_CHAT && kind == PROTO_SECRET && chat.interactive) {
        /* A command's secret prompt. A pipe shows it, as any line, and its next line
         * answers it, as any: the lines after the command are already on their way. */
        ask_secret(text, text_len);
    } else if (chat.phase == PHASE_CHAT || chat.phase == PHASE_LEAVING) {
        chat_server_line(kind, line, len);
    }
}

static void on_drained(struct conn *c)
{
    (void)c;
    pump_input(); /* piped input waits while much is unsent */
}

/* Connected: asks for the events capability at once, before the prompt has even come (it
 * is on its way), so that the pseudo can follow the answer without a round trip more. */
static void ask_events(void)
{
    static const char cap[] = "/cap " PROTO_CAP_EVENTS;
    chat.phase = PHASE_AWAIT_PROMPT;
    chat.cap_answered = false;
    chat.events = false;
    free(chat.held_prompt);
    chat.held_prompt = NULL;
    conn_send_line(&chat.conn, cap, strlen(cap));
    update_prompt();
}

/* An address of the round failed (but for a refused certificate): says so and tries the
 * next one at once. Returns false when the round is over, every address tried. */
static bool try_next_host(struct conn *c, int status)
{
    struct hosts *h = &chat.opts->hosts;
    if (!hosts_next(h)) {
        return false;
    }
    char next[sizeof(c->name)];
    addr_format_host(hosts_current(h)->host, hosts_current(h)->port, next, sizeof(next));
    if (chat.coming_back) {
        screen_error("Impossible de se reconnecter à %s : %s. Essai de %s.", c->name,
                     conn_strerror(c, status), next);
    } else {
        screen_error("Impossible de se connecter à %s : %s. Essai de %s.", c->name,
                     conn_strerror(c, status), next);
    }
    connect_current();
    return true;
}

static void on_connected(struct conn *c, int status)
{
    if (status == 0) {
        if (chat.opts->tls_insecure) {
            screen_error("Attention : certificat du serveur non vérifié (--tls-insecure) : la "
                         "liaison est chiffrée mais n'importe qui peut se faire passer pour le "
                         "serveur.");
        }
        ask_events();
        return;
    }
    if (status == TLS_EREFUSED) {
        screen_error("Certificat du serveur %s refusé : %s.", c->name, conn_strerror(c, status));
        quit(1); /* never retried, nor another address asked: see the file's header */
        return;
    }
    if (try_next_host(c, status)) {
        return;
    }
    if (chat.coming_back && chat.interactive && !chat.opts->no_reconnect) {
        outbox_stop(&chat.out);
        retry_later();
        screen_error("Impossible de se reconnecter à %s : %s. Nouvelle tentative dans %u s.",
                     c->name, conn_strerror(c, status), chat.backoff_s);
        return;
    }
    screen_error("Impossible de se connecter à %s : %s.", c->name, conn_strerror(c, status));
    if (chat.interactive && chat.host_asked) {
        ask_address();
    } else {
        quit(1);
    }
}

/* Connects to the address the round is at; the outcome goes to on_connected(). */
static void connect_current(void)
{
    const struct host_addr *a = hosts_current(&chat.opts->hosts);
    int r = conn_connect(&chat.conn, a->host, a->port);
    update_prompt(); /* the status names the server being tried */
    if (r < 0) {
        on_connected(&chat.conn, r);
    }
}

/* Starts a round through the addresses: at start, from the first one; after a lost
 * connection, from the one after the server lost, which is tried last (hosts.h). */
static void start_connect(void)
{
    bool reconnecting = chat.phase == PHASE_OFFLINE;
    chat.phase = PHASE_CONNECTING;
    if (chat.interactive && !reconnecting) {
        tty_pause();
    }
    hosts_start_round(&chat.opts->hosts, reconnecting);
    connect_current();
}

/* ---------------------------------------------------------------- the user */

/* Asks for the address, or a list of them; in brackets, what an empty answer connects to:
 * the addresses given last, or the default host on --port's port. */
static void ask_address(void)
{
    chat.phase = PHASE_ASK_ADDRESS;
    chat.host_asked = true;
    if (!chat.interactive) {
        pump_input();
        return;
    }
    struct buf addrs = BUF_INIT;
    if (chat.opts->hosts.count > 0) {
        hosts_format(&chat.opts->hosts, &addrs);
    } else {
        buf_appendf(&addrs, "%s:%d", DEFAULT_HOST, chat.opts->port);
    }
    struct buf prompt = BUF_INIT;
    buf_appendf(&prompt, "Adresse du serveur [%s] : ", addrs.data);
    tty_ask(prompt.data);
    buf_release(&prompt);
    buf_release(&addrs);
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

/* The answer to the address prompt: a list (hosts.h), whose addresses without a port take
 * --port's; an empty answer keeps the list given last, or the default host. */
static void address_line(const char *line)
{
    echo_answer(line);
    struct buf err = BUF_INIT;
    const char *text = line;
    if (line[strspn(line, " \t\r\n")] == '\0') {
        text = chat.opts->hosts.count > 0 ? NULL : DEFAULT_HOST;
    }
    if (text && hosts_parse(&chat.opts->hosts, text, chat.opts->port, &err) < 0) {
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

/* ---------------------------------------------------------------- the secret prompt */

/* The answer to a secret prompt, borrowed: sent at once, never shown, remembered or kept
 * (the caller wipes it). Sent outside the outbox, since the server reads it before any
 * other line and a line that waits there could outlive the connection and go out, after a
 * reconnection, as a message; in the chat it costs a line of the flood allowance the
 * outbox does not count, which pace.c's reserve absorbs. The echo is the prompt alone. */
static void secret_answered(const char *answer, size_t len)
{
    echo_answer("");
    conn_send_secret(&chat.conn, answer, len);
    if (chat.phase != PHASE_ASK_SECRET) {
        update_prompt(); /* the chat's status again */
        return;
    }
    chat.phase = PHASE_JOINING;
    if (chat.interactive && !chat.coming_back) {
        tty_pause();
    } else {
        update_prompt(); /* reconnecting: the status, and typing goes on */
    }
}

static void on_user_line(char *line);

/* From tty.c: the answer typed unseen, or NULL for Ctrl-D. */
static void on_secret(const char *answer, size_t len)
{
    if (!answer) {
        on_user_line(NULL);
        return;
    }
    secret_answered(answer, len);
}

/* The server waits for a secret: during the handshake, for the pseudo given; in the chat,
 * for a command's sake. The next line answers it: typed unseen on a terminal, the next
 * piped line otherwise. */
static void ask_secret(const char *server_prompt, size_t len)
{
    if (chat.phase != PHASE_CHAT) {
        chat.phase = PHASE_ASK_SECRET;
        chat.secret_asked = true; /* a refusal may be the password's */
    }
    if (!chat.interactive) {
        pump_input();
        return;
    }
    struct buf p = BUF_INIT;
    sanitize_append(&p, server_prompt, len);
    buf_append_char(&p, ' ');
    tty_ask_secret(p.data, on_secret);
    buf_release(&p);
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
    case PHASE_AWAIT_CAP:
    case PHASE_JOINING:
    case PHASE_RECLAIMING:
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
           chat.phase == PHASE_ASK_SECRET || chat.phase == PHASE_CHAT;
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
    } else if (chat.phase == PHASE_ASK_SECRET) {
        screen_error("Fin de l'entrée : le mot de passe demandé n'a pas été donné.");
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
        if (chat.phase == PHASE_ASK_SECRET) {
            secret_answered(line, len);
            piped_forget_line(); /* wiped where it was read */
            continue;
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

void chat_start(uv_loop_t *loop, struct client_options *opts, struct tls_config *tls,
                bool interactive)
{
    chat.loop = loop;
    chat.opts = opts;
    chat.interactive = interactive;
    set_style();
    screen_init(interactive, &chat.style);
    roster_init(&chat.roster);
    conn_init(&chat.conn, loop);
    chat.conn.tls_config = tls;
    chat.conn.on_connected = on_connected;
    chat.conn.on_line = on_line;
    chat.conn.on_closed = on_closed;
    chat.conn.on_drained = on_drained;
    outbox_init(&chat.out, loop, opts->flood_burst, opts->flood_rate);
    chat.out.on_send = on_send;
    chat.out.on_change = on_waiting_changed;
    uv_timer_init(loop, &chat.retry);
    uv_timer_init(loop, &chat.reclaim_timer);
    reclaim_reset(&chat.reclaim);
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
    if (opts->hosts.count > 0) {
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
    free(chat.held_prompt);
    roster_release(&chat.roster);
    return chat.exit_status;
}
