/* screen.c - the only code that prints; see screen.h for the contract.
 *
 * Client thread only. Its state is whether stdin and stdout are a terminal and the style
 * lines are dressed in; even on a terminal, text is drawn above readline's line only once
 * a prompt is installed (rl_prompt set), and written plainly before that. Every line is
 * flushed at once, and stdout before an error goes to stderr, so the two streams keep their
 * order when redirected. The bell is written after the line it is for, once.
 */
#include "screen.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <readline/readline.h>

#include "common/buf.h"
#include "style.h"

static bool interactive;
static const struct style *style; /* borrowed */

void screen_init(bool is_interactive, const struct style *st)
{
    interactive = is_interactive;
    style = st;
}

/* Prints text and a newline to f, above readline's line when there is one. */
static void print_above(FILE *f, const char *text, bool bell)
{
    if (interactive && rl_prompt) {
        rl_clear_visible_line();                      /* hide the prompt and the line being typed */
        fflush(rl_outstream ? rl_outstream : stdout); /* before text on another stream */
        fputs(text, f);
        fputc('\n', f);
        if (bell) {
            fputc('\a', f);
        }
        fflush(f);
        rl_on_new_line(); /* readline's display starts afresh below it */
        rl_redisplay();   /* prompt, typed text and cursor come back */
    } else {
        fputs(text, f);
        fputc('\n', f);
        if (bell && interactive) {
            fputc('\a', f);
        }
        fflush(f);
    }
}

void screen_print(const char *text)
{
    print_above(stdout, text, false);
}

/* A line of the client's own: an error (on stderr) or a notice (on stdout), dressed on a
 * terminal, plain ("text" or "* text") otherwise. */
__attribute__((format(printf, 2, 0))) static void own_line(bool error, const char *fmt, va_list ap)
{
    struct buf text = BUF_INIT, out = BUF_INIT;
    buf_vappendf(&text, fmt, ap);
    if (interactive && style) {
        (error ? style_error : style_notice)(style, text.data, time(NULL), &out);
    } else {
        buf_appendf(&out, "%s%s", error ? "" : "* ", text.data);
    }
    if (error) {
        fflush(stdout); /* keep stdout's earlier lines before this one */
    }
    print_above(error ? stderr : stdout, out.data, false);
    buf_release(&out);
    buf_release(&text);
}

void screen_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    own_line(true, fmt, ap);
    va_end(ap);
}

void screen_notice(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    own_line(false, fmt, ap);
    va_end(ap);
}

void screen_show_server_line(const char *line, size_t len)
{
    struct buf out = BUF_INIT;
    bool bell = false;
    if (interactive && style) {
        struct style_marks marks = style_server_line(style, line, len, time(NULL), &out);
        bell = marks.mention || marks.private_msg;
    } else {
        style_plain_line(line, len, &out);
    }
    print_above(stdout, out.data, bell);
    buf_release(&out);
}

void screen_own(const char *text, size_t len, bool action)
{
    if (!interactive || !style) {
        return;
    }
    struct buf out = BUF_INIT;
    style_own_line(style, text, len, action, time(NULL), &out);
    print_above(stdout, out.data, false);
    buf_release(&out);
}

void screen_clear(void)
{
    if (!interactive) {
        return;
    }
    rl_clear_visible_line();
    fputs("\033[H\033[2J", stdout); /* home, then erase the screen */
    fflush(stdout);
    rl_on_new_line();
    rl_redisplay();
}
