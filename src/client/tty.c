/* tty.c - readline's callback interface on the uv loop; see tty.h for the contract.
 *
 * Client thread only. readline keeps its state in globals, so this module does too: one
 * stdin watcher, one line callback, one completion callback, and flags saying whether the
 * handler is installed (the terminal is in readline's mode) and whether stdin is being
 * watched. readline's own signal handlers are off: main.c takes signals on the loop, and a
 * handler of readline's could run in the middle of one of its callbacks. Enter is bound
 * again after every install, since installing reads ~/.inputrc, which may rebind it. The
 * history file is readline's own format, appended to line by line and cut back to its
 * bound when the program ends. tty_restore() stays safe to call twice: chat.c and
 * atexit() may both run it. A secret prompt leaves readline installed, the terminal in
 * its mode (no echo, keys one by one) and its line empty, so that screen.c's redraws show
 * the prompt alone; the keys are read here, a byte at a time, and given to secret.c, so
 * that what follows the answer in the terminal's queue is still there for readline.
 */
#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "common/fr.h"
#include "common/wipe.h"
#include "common/xalloc.h"
#include "complete.h"
#include "screen.h"
#include "secret.h"

/* Lines kept for Up and Down when no history file is used (--history-size 0). */
#define HISTORY_MAX 500

static uv_poll_t stdin_watch;
static tty_line_cb line_cb;
static tty_complete_cb complete_cb;
static bool installed; /* the callback handler is installed: the terminal is ours */
static bool watching;
static char *history_path; /* owned; NULL: no history file */
static unsigned history_max;

/* The secret prompt, while one waits for its answer. */
static bool asking_secret;
static struct secret secret; /* the answer being typed */
static tty_secret_cb secret_cb;
static char *set_aside; /* owned: the line being typed when the prompt came, or NULL */
static int set_aside_point;

/* Hands over a line that may hold several: a bracketed paste inserts its newlines into
 * the line buffer, and each pasted line is a message of its own. */
static void hand_over(const char *text)
{
    if (text[strcspn(text, "\r\n")] == '\0') {
        line_cb(xstrdup(text)); /* the usual case, an empty line included */
        return;
    }
    while (*text != '\0' && installed) { /* the callee may have ended the program */
        size_t len = strcspn(text, "\r\n");
        if (len > 0) { /* the blank lines of a paste are not messages */
            line_cb(xmemdup0(text, len));
        }
        text += len + (text[len] != '\0');
    }
}

/* readline's own accept-line: Ctrl-D on an empty line (NULL), or a key bound to
 * accept-line that is not ours (operate-and-get-next, an inputrc binding). */
static void on_eof_or_line(char *line)
{
    if (!line) {
        line_cb(NULL);
        return;
    }
    hand_over(line);
    free(line);
}

static int on_enter(int count, int key)
{
    (void)count;
    (void)key;
    char *line = xstrdup(rl_line_buffer);
    rl_replace_line("", 1);
    rl_point = 0;
    using_history(); /* the next Up starts from the newest line again */
    hand_over(line);
    free(line);
    if (installed) {
        rl_redisplay();
    }
    return 0;
}

/* Enter is ours in every keymap, so that vi mode sends lines the same way as emacs mode;
 * completion ignores case, as the server compares pseudos. */
static void bind_enter(void)
{
    rl_variable_bind("completion-ignore-case", "on");
    Keymap maps[] = {emacs_standard_keymap, vi_insertion_keymap, vi_movement_keymap};
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        rl_bind_key_in_map('\r', on_enter, maps[i]);
        rl_bind_key_in_map('\n', on_enter, maps[i]);
    }
}

/* ---------------------------------------------------------------- completion */

static struct complete_list candidates;
static size_t next_candidate;

/* readline's generator: the candidates complete_cb gave, one per call, then NULL. */
static char *next_match(const char *text, int state)
{
    (void)text;
    if (state == 0) {
        next_candidate = 0;
    }
    if (next_candidate >= candidates.n) {
        return NULL;
    }
    return xstrdup(candidates.items[next_candidate++]); /* readline frees it */
}

static char **on_complete(const char *text, int start, int end)
{
    (void)text;
    complete_list_release(&candidates);
    complete_cb(rl_line_buffer, (size_t)start, (size_t)end, &candidates);
    rl_attempted_completion_over = 1; /* never fall back to file names */
    if (candidates.n == 0) {
        return NULL;
    }
    return rl_completion_matches(text, next_match);
}

/* ---------------------------------------------------------------- history */

/* A history problem is told once: Up and Down still work, from memory. */
static void history_failed(const char *what, int err)
{
    screen_error("Historique des lignes envoyées : impossible de %s %s (%s) ; il ne sera pas "
                 "gardé pour la prochaine fois.",
                 what, history_path, fr_strerror(err));
    free(history_path);
    history_path = NULL;
}

/* mkdir -p of the directories above path, mode 0700: the history is the user's alone. */
static int make_parents(const char *path)
{
    char *dir = xstrdup(path);
    int r = 0;
    for (char *p = strchr(dir + 1, '/'); p && r == 0; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            r = -errno;
        }
        *p = '/';
    }
    free(dir);
    return r;
}

void tty_history_open(const char *path, unsigned max)
{
    if (max == 0) {
        return;
    }
    history_path = xstrdup(path);
    history_max = max;
    stifle_history((int)max);
    int r = read_history(path); /* readline returns an errno */
    if (r != 0 && r != ENOENT) {
        history_failed("lire", -r);
        return;
    }
    r = make_parents(path);
    if (r == 0 && access(path, F_OK) != 0) {
        FILE *f = fopen(path, "a");
        r = f ? 0 : -errno;
        if (f) {
            fclose(f);
            chmod(path, 0600);
        }
    }
    if (r < 0) {
        history_failed("créer", r);
    }
}

/* ---------------------------------------------------------------- the secret prompt */

/* The line set aside goes back into readline, as it was. */
static void bring_back_line(void)
{
    if (!set_aside) {
        return;
    }
    rl_replace_line(set_aside, 1);
    rl_point = set_aside_point <= rl_end ? set_aside_point : rl_end;
    free(set_aside);
    set_aside = NULL;
    if (watching) {
        rl_redisplay();
    }
}

void tty_ask_secret(const char *prompt, tty_secret_cb on_answer)
{
    if (!asking_secret) {
        secret_init(&secret);
        /* Readline's line is set aside (it is not the secret) and left empty, so that any
         * redraw shows the prompt alone. */
        if (installed && rl_end > 0) {
            set_aside = xstrdup(rl_line_buffer);
            set_aside_point = rl_point;
            rl_replace_line("", 1);
            rl_point = 0;
        }
        asking_secret = true;
    }
    secret_cb = on_answer;
    if (installed && watching) {
        rl_clear_visible_line(); /* the status prompt and the line set aside */
    }
    tty_ask(prompt);
}

void tty_cancel_secret(void)
{
    if (!asking_secret) {
        return;
    }
    asking_secret = false;
    secret_clear(&secret);
    bring_back_line();
}

bool tty_asking_secret(void)
{
    return asking_secret;
}

/* One byte of the answer; Enter or Ctrl-D hands it over, then wipes it. */
static void read_secret_key(void)
{
    unsigned char key;
    ssize_t n = read(STDIN_FILENO, &key, 1);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    enum secret_step step = n == 1 ? secret_feed(&secret, key) : SECRET_END;
    wipe_bytes(&key, sizeof(key));
    if (step == SECRET_MORE) {
        return;
    }
    asking_secret = false;
    tty_secret_cb cb = secret_cb;
    cb(step == SECRET_DONE ? secret.text : NULL, secret.len);
    secret_clear(&secret);
    if (installed && !asking_secret) {
        bring_back_line(); /* after the callback, which has set the prompt */
    }
}

static void on_stdin(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)events;
    if (status < 0) {
        line_cb(NULL);
        return;
    }
    if (asking_secret) {
        read_secret_key();
        return;
    }
    rl_callback_read_char();
}

void tty_init(uv_loop_t *loop, tty_line_cb on_line, tty_complete_cb on_complete_words)
{
    line_cb = on_line;
    complete_cb = on_complete_words;
    /* Signals are ours (main.c handles them on the loop); readline must not install
     * handlers of its own that would run in the middle of a callback. */
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_readline_name = "causerie";
    rl_attempted_completion_function = on_complete;
    /* Words are separated by blanks only: "/msg" and "bob:" are words to complete whole. */
    rl_basic_word_break_characters = " \t";
    rl_initialize();
    bind_enter();
    stifle_history(HISTORY_MAX); /* until tty_history_open() sets the file's bound */
    int flags = fcntl(STDIN_FILENO, F_GETFL);
    uv_poll_init(loop, &stdin_watch, STDIN_FILENO);
    /* uv_poll_init() made the descriptor non-blocking, and stdout shares its open file
     * description with stdin on a terminal: a burst of output larger than the terminal's
     * buffer would then fail half-written (EAGAIN) and be lost. Blocking again, as it was:
     * readline reads only when the watcher says a key is there, and printing waits for a
     * slow terminal rather than losing lines. The shell gets its terminal back as it was. */
    if (flags >= 0) {
        fcntl(STDIN_FILENO, F_SETFL, flags);
    }
    atexit(tty_restore);
}

void tty_ask(const char *prompt)
{
    if (!installed) {
        rl_callback_handler_install(prompt, on_eof_or_line);
        /* Bound again: installing reads ~/.inputrc, which may bind Enter itself. */
        bind_enter();
        installed = true;
    } else {
        rl_set_prompt(prompt);
        rl_on_new_line();
        rl_redisplay();
    }
    if (!watching) {
        uv_poll_start(&stdin_watch, UV_READABLE, on_stdin);
        watching = true;
    }
}

void tty_set_prompt(const char *prompt)
{
    if (!installed) {
        return;
    }
    rl_set_prompt(prompt);
    rl_redisplay();
}

const char *tty_prompt(void)
{
    return rl_prompt ? rl_prompt : "";
}

void tty_resize(void)
{
    rl_resize_terminal(); /* readline is initialised (tty_init()) even before a prompt */
}

void tty_pause(void)
{
    if (watching) {
        uv_poll_stop(&stdin_watch);
        watching = false;
    }
    if (installed) {
        rl_set_prompt("");
        rl_clear_visible_line();
    }
}

bool tty_line_is_empty(void)
{
    return asking_secret ? secret.len == 0 : rl_end == 0;
}

void tty_clear_line(void)
{
    if (asking_secret) {
        secret_clear(&secret); /* nothing was drawn: nothing to redraw */
        return;
    }
    rl_replace_line("", 1);
    rl_point = 0;
    rl_redisplay();
}

void tty_remember(const char *line)
{
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last && strcmp(last->line, line) == 0) {
        return; /* the same line again: once is enough for Up */
    }
    add_history(line);
    using_history(); /* the next Up starts from this newest line */
    if (history_path) {
        int r = append_history(1, history_path);
        if (r != 0) {
            history_failed("écrire dans", -r);
        }
    }
}

void tty_suspend(void)
{
    if (installed) {
        rl_clear_visible_line();
        rl_deprep_terminal();
        fflush(stdout);
    }
    raise(SIGSTOP); /* returns once continued (fg) */
    if (installed) {
        rl_prep_terminal(1);
        rl_forced_update_display();
    }
}

void tty_restore(void)
{
    if (asking_secret) {
        asking_secret = false;
        secret_clear(&secret);
    }
    free(set_aside);
    set_aside = NULL;
    if (history_path) {
        history_truncate_file(history_path, (int)history_max); /* back to its bound */
        free(history_path);
        history_path = NULL;
    }
    complete_list_release(&candidates);
    if (installed) {
        rl_clear_visible_line();
        rl_callback_handler_remove(); /* puts the terminal modes back */
        installed = false;
        fflush(stdout);
    }
    if (watching) {
        uv_poll_stop(&stdin_watch);
        watching = false;
    }
    if (!uv_is_closing((uv_handle_t *)&stdin_watch) && stdin_watch.loop) {
        uv_close((uv_handle_t *)&stdin_watch, NULL);
    }
}
