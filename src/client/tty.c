/* tty.c - readline's callback interface on the uv loop; see tty.h for the contract.
 *
 * Client thread only. readline keeps its state in globals, so this module does too: one
 * stdin watcher, one line callback, and flags saying whether the handler is installed
 * (the terminal is in readline's mode) and whether stdin is being watched. readline's own
 * signal handlers are off: main.c takes signals on the loop, and a handler of readline's
 * could run in the middle of one of its callbacks. Enter is bound again after every
 * install, since installing reads ~/.inputrc, which may rebind it. tty_restore() stays
 * safe to call twice: main.c and atexit() may both run it.
 */
#include "tty.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "common/xalloc.h"

/* Lines kept for Up and Down. */
#define HISTORY_MAX 500

static uv_poll_t stdin_watch;
static tty_line_cb line_cb;
static bool installed; /* the callback handler is installed: the terminal is ours */
static bool watching;

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

/* Enter is ours in every keymap, so that vi mode sends lines the same way as emacs mode. */
static void bind_enter(void)
{
    Keymap maps[] = {emacs_standard_keymap, vi_insertion_keymap, vi_movement_keymap};
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        rl_bind_key_in_map('\r', on_enter, maps[i]);
        rl_bind_key_in_map('\n', on_enter, maps[i]);
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
    rl_callback_read_char();
}

void tty_init(uv_loop_t *loop, tty_line_cb on_line)
{
    line_cb = on_line;
    /* Signals are ours (main.c handles them on the loop); readline must not install
     * handlers of its own that would run in the middle of a callback. */
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_readline_name = "causerie";
    rl_initialize();
    bind_enter();
    stifle_history(HISTORY_MAX);
    uv_poll_init(loop, &stdin_watch, STDIN_FILENO);
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
    return rl_end == 0;
}

void tty_clear_line(void)
{
    rl_replace_line("", 1);
    rl_point = 0;
    rl_redisplay();
}

void tty_remember(const char *line)
{
    add_history(line);
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
