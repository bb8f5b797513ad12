/* screen.c - the only code that prints; see screen.h for the contract.
 *
 * Client thread only. Its one piece of state is whether stdin and stdout are a terminal;
 * even then, text is drawn above readline's line only once a prompt is installed
 * (rl_prompt set), and written plainly before that. Every line is flushed at once, and
 * stdout before an error goes to stderr, so the two streams keep their order when
 * redirected. Server lines lose their kind character here: "> " messages show bare, "! "
 * errors keep their mark, and every other kind, unknown ones included, is a "* " notice.
 */
#include "screen.h"

#include <stdarg.h>
#include <stdio.h>

#include <readline/readline.h>

#include "common/buf.h"
#include "common/proto.h"
#include "common/sanitize.h"

static bool interactive;

void screen_init(bool is_interactive)
{
    interactive = is_interactive;
}

/* Prints text and a newline to f, above readline's line when there is one. */
static void print_above(FILE *f, const char *text)
{
    if (interactive && rl_prompt) {
        rl_clear_visible_line(); /* hide the prompt and the line being typed */
        fputs(text, f);
        fputc('\n', f);
        fflush(f);
        rl_on_new_line(); /* readline's display starts afresh below it */
        rl_redisplay();   /* prompt, typed text and cursor come back */
    } else {
        fputs(text, f);
        fputc('\n', f);
        fflush(f);
    }
}

void screen_print(const char *text)
{
    print_above(stdout, text);
}

void screen_error(const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    fflush(stdout); /* keep stdout's earlier lines before this one */
    print_above(stderr, b.data);
    buf_release(&b);
}

void screen_show_server_line(const char *line, size_t len)
{
    char kind;
    const char *text;
    size_t text_len;
    proto_split_kind(line, len, &kind, &text, &text_len);
    struct buf out = BUF_INIT;
    switch (kind) {
    case PROTO_MESSAGE:
        break; /* "bob: salut" */
    case PROTO_ERROR:
        buf_append_str(&out, "! ");
        break;
    default:
        buf_append_str(&out, "* "); /* notices, and kinds this client does not know */
        break;
    }
    sanitize_append(&out, text, text_len);
    print_above(stdout, out.data);
    buf_release(&out);
}
