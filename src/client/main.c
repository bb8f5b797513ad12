/* main.c - causerie, the client: address, pseudo, then the chat.
 *
 * One thread, one uv loop. The user's lines come from readline on a terminal (tty.c) or
 * from a pipe or file (piped.c); the server's lines from conn.c; everything shown goes
 * through screen.c. This file is the conversation between them: a small state machine
 * from the address prompt to the chat, the same for both kinds of input.
 */
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <readline/readline.h>

#include "common/buf.h"
#include "common/fr.h"
#include "common/proto.h"
#include "common/sanitize.h"
#include "common/xalloc.h"
#include "conn.h"
#include "options.h"
#include "piped.h"
#include "screen.h"
#include "tty.h"

/* How long to wait for the server to close after we said goodbye. */
#define LEAVE_TIMEOUT_MS 3000
/* Piped input is read ahead only while less than this is waiting to be sent. */
#define PIPED_UNSENT_MAX (256 * 1024)

enum phase {
    PHASE_ASK_ADDRESS,  /* waiting for the user to give the server's address */
    PHASE_CONNECTING,   /* resolving and connecting */
    PHASE_AWAIT_PROMPT, /* connected, waiting for the server to ask for the pseudo */
    PHASE_ASK_PSEUDO,   /* waiting for the user to give a pseudo */
    PHASE_JOINING,      /* pseudo sent, waiting for the verdict */
    PHASE_CHAT,
    PHASE_LEAVING, /* goodbye said; waiting for the server to close */
    PHASE_DONE,
};

/* Input lines not yet used: piped input arrives when it likes, the phases take it when
 * they are ready. */
struct line_queue {
    char **items; /* owned strings */
    size_t head, len, cap;
};

static struct app {
    uv_loop_t *loop;
    struct client_options opts;
    bool interactive; /* stdin and stdout are a terminal */
    bool host_asked;  /* the address came from the prompt, so it may be asked again */
    bool nick_tried;  /* --nick was proposed once already */
    bool input_eof;
    enum phase phase;
    struct conn conn;
    struct line_queue input;
    uv_signal_t signals[6];
    char *pseudo; /* owned: the pseudo proposed, then ours */
    char *prompt; /* owned: the chat prompt, "alice> " */
    int exit_status;
} app;

static void pump_input(void);

/* ---------------------------------------------------------------- leaving */

static void close_signal(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (h->type == UV_SIGNAL && !uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

/* Ends the program with status once the loop returns. */
static void quit(int status)
{
    if (app.phase == PHASE_DONE) {
        return;
    }
    app.phase = PHASE_DONE;
    app.exit_status = status;
    if (app.interactive) {
        tty_restore();
    }
    conn_close(&app.conn);
    uv_walk(app.loop, close_signal, NULL);
    /* A piped read may be blocked in the thread pool on a stdin that never ends: stop the
     * loop rather than wait for it. */
    uv_stop(app.loop);
}

/* Says goodbye (with quit_line, "/quit" and maybe a reason, or without a word when NULL):
 * the server closes, and on_closed() ends the program with status 0. */
static void leave(const char *quit_line)
{
    if (app.phase == PHASE_LEAVING || app.phase == PHASE_DONE) {
        return;
    }
    if (!app.conn.connected) {
        quit(0);
        return;
    }
    if (app.interactive) {
        tty_pause();
    }
    app.phase = PHASE_LEAVING;
    if (quit_line) {
        conn_send_line(&app.conn, quit_line, strlen(quit_line));
    }
    conn_finish(&app.conn, LEAVE_TIMEOUT_MS);
}

/* ---------------------------------------------------------------- the server */

static void on_closed(struct conn *c, int status)
{
    (void)c;
    (void)status;
    if (app.phase == PHASE_LEAVING) {
        quit(0);
        return;
    }
    screen_error("Connexion au serveur perdue.");
    quit(1);
}

static void ask_pseudo(const char *server_prompt, size_t len)
{
    if (app.opts.nick && !app.nick_tried) {
        app.nick_tried = true;
        free(app.pseudo);
        app.pseudo = xstrdup(app.opts.nick);
        conn_send_line(&app.conn, app.pseudo, strlen(app.pseudo));
        app.phase = PHASE_JOINING;
        return;
    }
    app.phase = PHASE_ASK_PSEUDO;
    if (app.interactive) {
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
    screen_show_server_line(line, len);
    app.phase = PHASE_CHAT;
    free(app.prompt);
    struct buf p = BUF_INIT;
    buf_appendf(&p, "%s> ", app.pseudo);
    app.prompt = p.data; /* the buffer's memory, now ours */
    if (app.interactive) {
        tty_ask(app.prompt);
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
    } else if (kind == PROTO_ERROR && !app.interactive) {
        struct buf t = BUF_INIT;
        sanitize_append(&t, text, text_len);
        screen_error("%s", t.data); /* no one to ask again: give up */
        buf_release(&t);
        quit(1);
    } else {
        screen_show_server_line(line, len); /* the refusal; the prompt follows */
    }
}

static void on_line(struct conn *c, const char *line, size_t len)
{
    (void)c;
    char kind;
    const char *text;
    size_t text_len;
    proto_split_kind(line, len, &kind, &text, &text_len);
    if (app.phase == PHASE_AWAIT_PROMPT || app.phase == PHASE_JOINING ||
        app.phase == PHASE_ASK_PSEUDO) {
        handshake_line(kind, text, text_len, line, len);
    } else if (app.phase != PHASE_DONE) {
        screen_show_server_line(line, len);
    }
}

static void on_drained(struct conn *c)
{
    (void)c;
    pump_input(); /* piped input waits while much is unsent */
}

static void ask_address(void);

static void on_connected(struct conn *c, int status)
{
    if (status == 0) {
        app.phase = PHASE_AWAIT_PROMPT;
        return;
    }
    screen_error("Impossible de se connecter à %s : %s.", c->name, fr_strerror(status));
    if (app.interactive && app.host_asked) {
        ask_address();
    } else {
        quit(1);
    }
}

static void start_connect(void)
{
    app.phase = PHASE_CONNECTING;
    if (app.interactive) {
        tty_pause();
    }
    int r = conn_connect(&app.conn, app.opts.host, app.opts.port);
    if (r < 0) {
        on_connected(&app.conn, r);
    }
}

/* ---------------------------------------------------------------- the user */

static void ask_address(void)
{
    app.phase = PHASE_ASK_ADDRESS;
    app.host_asked = true;
    if (app.interactive) {
        char prompt[96];
        snprintf(prompt, sizeof(prompt), "Adresse du serveur [%s:%d] : ", DEFAULT_HOST,
                 app.opts.port);
        tty_ask(prompt);
    } else {
        pump_input();
    }
}

/* Shows what was typed at a prompt, since Enter clears the input line. */
static void echo_answer(const char *line)
{
    if (app.interactive) {
        struct buf b = BUF_INIT;
        buf_append_str(&b, rl_prompt ? rl_prompt : "");
        sanitize_append(&b, line, strlen(line));
        screen_print(b.data);
        buf_release(&b);
    }
}

static void address_line(const char *line)
{
    echo_answer(line);
    struct buf err = BUF_INIT;
    if (!app.opts.host) {
        app.opts.host = xstrdup(DEFAULT_HOST);
    }
    if (options_parse_address(line, &app.opts.host, &app.opts.port, &err) < 0) {
        screen_error("%s", err.data);
        buf_release(&err);
        if (app.interactive) {
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
    free(app.pseudo);
    app.pseudo = xstrdup(line);
    app.phase = PHASE_JOINING;
    if (app.interactive) {
        tty_pause();
    }
    conn_send_line(&app.conn, line, strlen(line));
}

static void chat_line(const char *line)
{
    size_t len = strlen(line);
    if (len == 0) {
        return;
    }
    if (app.interactive) {
        tty_remember(line);
    }
    if (strcmp(line, "/quit") == 0 || strncmp(line, "/quit ", 6) == 0) {
        leave(line); /* the reason, if any, goes with it */
        return;
    }
    conn_send_line(&app.conn, line, len);
    if (line[0] == '/' && line[1] != '/') {
        return; /* a command for the server: its answer is what the user sees */
    }
    if (app.interactive) {
        const char *text = line[0] == '/' ? line + 1 : line; /* "//x" is the message "/x" */
        struct buf b = BUF_INIT;
        buf_appendf(&b, "%s: ", app.pseudo);
        sanitize_append(&b, text, strlen(text));
        screen_print(b.data);
        buf_release(&b);
    }
}

/* One line from the user, whatever the input; NULL is the end of input (Ctrl-D). */
static void on_user_line(char *line)
{
    if (!line) {
        if (app.phase == PHASE_ASK_ADDRESS) {
            quit(0);
        } else {
            leave(app.phase == PHASE_CHAT ? "/quit" : NULL);
        }
        return;
    }
    switch (app.phase) {
    case PHASE_ASK_ADDRESS:
        address_line(line);
        break;
    case PHASE_ASK_PSEUDO:
        pseudo_line(line);
        break;
    case PHASE_CHAT:
        chat_line(line);
        break;
    default:
        break; /* keys typed while we wait are not meant for anything */
    }
    free(line);
}

/* ---------------------------------------------------------------- piped input */

static void queue_push(struct line_queue *q, char *line)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        char **items = xreallocarray(NULL, cap, sizeof(*items));
        for (size_t i = 0; i < q->len; i++) {
            items[i] = q->items[(q->head + i) % q->cap];
        }
        free(q->items);
        q->items = items;
        q->cap = cap;
        q->head = 0;
    }
    q->items[(q->head + q->len++) % q->cap] = line;
}

static char *queue_pop(struct line_queue *q)
{
    char *line = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return line;
}

static bool phase_takes_input(void)
{
    return app.phase == PHASE_ASK_ADDRESS || app.phase == PHASE_ASK_PSEUDO ||
           app.phase == PHASE_CHAT;
}

/* Feeds queued piped lines to the phases that want them, then reads more if it can. */
static void pump_input(void)
{
    if (app.interactive) {
        return;
    }
    while (app.input.len > 0 && phase_takes_input()) {
        on_user_line(queue_pop(&app.input));
    }
    if (app.input.len > 0 || !phase_takes_input()) {
        return;
    }
    if (!app.input_eof) {
        if (app.conn.unsent < PIPED_UNSENT_MAX) {
            piped_read_more();
        }
        return;
    }
    if (app.phase == PHASE_ASK_ADDRESS) {
        on_user_line(xstrdup("")); /* no address given: the default, as at the prompt */
    } else if (app.phase == PHASE_ASK_PSEUDO) {
        screen_error("Fin de l'entrée : aucun pseudo n'a été donné.");
        quit(1);
    } else {
        leave(NULL); /* everything is sent: half-close, the server closes, we exit 0 */
    }
}

static void on_piped_line(const char *line, size_t len)
{
    queue_push(&app.input, xmemdup0(line, len));
}

static void on_piped_chunk(int status)
{
    if (status < 0 && status != UV_EOF) {
        screen_error("Impossible de lire l'entrée standard : %s.", fr_strerror(status));
        quit(1);
        return;
    }
    app.input_eof = status == UV_EOF;
    pump_input();
}

/* ---------------------------------------------------------------- signals and main */

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h;
    if (signum == SIGWINCH) {
        rl_resize_terminal();
    } else if (signum == SIGTSTP) {
        tty_suspend();
    } else if (signum == SIGINT && app.interactive && !tty_line_is_empty()) {
        tty_clear_line(); /* Ctrl-C drops the line being typed */
    } else if (signum == SIGINT && app.interactive) {
        leave(app.phase == PHASE_CHAT ? "/quit" : NULL);
    } else {
        quit(128 + signum);
    }
}

static void start_signals(void)
{
    /* SIGQUIT (Ctrl-\\) ends the program like the others, terminal restored, instead of
     * dumping core with the terminal left raw. The last two only concern a terminal. */
    static const int signums[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP};
    for (size_t i = 0; i < sizeof(signums) / sizeof(signums[0]); i++) {
        if ((signums[i] == SIGWINCH || signums[i] == SIGTSTP) && !app.interactive) {
            continue;
        }
        uv_signal_init(app.loop, &app.signals[i]);
        uv_signal_start(&app.signals[i], on_signal, signums[i]);
    }
}

/* The protocol is UTF-8: readline must count characters, not bytes, whatever the
 * environment says. */
static void use_utf8_locale(void)
{
    setlocale(LC_ALL, "");
    const char *codeset = nl_langinfo(CODESET);
    if (strcasecmp(codeset, "UTF-8") != 0 && strcasecmp(codeset, "utf8") != 0) {
        setlocale(LC_CTYPE, "C.UTF-8");
    }
}

int main(int argc, char **argv)
{
    struct buf out = BUF_INIT;
    int r = options_parse(&app.opts, argc, argv, &out);
    if (r != OPTIONS_RUN) {
        fputs(out.data, r < 0 ? stderr : stdout);
        buf_release(&out);
        options_release(&app.opts);
        return r < 0 ? 2 : 0;
    }
    buf_release(&out);
    signal(SIGPIPE, SIG_IGN);
    use_utf8_locale();

    app.loop = uv_default_loop();
    app.interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    screen_init(app.interactive);
    conn_init(&app.conn, app.loop);
    app.conn.on_connected = on_connected;
    app.conn.on_line = on_line;
    app.conn.on_closed = on_closed;
    app.conn.on_drained = on_drained;
    start_signals();
    if (app.interactive) {
        tty_init(app.loop, on_user_line);
    } else {
        piped_init(app.loop, on_piped_line, on_piped_chunk);
    }

    if (app.opts.host) {
        start_connect();
    } else {
        ask_address();
    }
    uv_run(app.loop, UV_RUN_DEFAULT);

    if (app.interactive) {
        tty_restore();
    } else {
        piped_release();
    }
    while (app.input.len > 0) {
        free(queue_pop(&app.input));
    }
    free(app.input.items);
    free(app.pseudo);
    free(app.prompt);
    options_release(&app.opts);
    if (!app.interactive && piped_read_in_flight()) {
        /* exit() would run libuv's destructor, which joins its thread pool, where a read of
         * a silent stdin may never return: leave without waiting for it. Everything else
         * has been released above. */
        fflush(NULL);
        _exit(app.exit_status);
    }
    return app.exit_status;
}
