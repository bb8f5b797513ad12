/* main.c - causerie, the client: options, locale, signals, and the loop.
 *
 * One thread, one uv loop. The conversation itself (address, pseudo, chat, reconnection)
 * is chat.c's; this file parses the command line, reads the TLS settings (a --tls-ca file
 * that cannot be used is a command-line error, status 2), makes sure the terminal speaks
 * UTF-8, turns signals into loop events, and runs the loop until chat.c says it is over.
 */
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "common/buf.h"
#include "common/pseudo.h"
#include "options.h"
#include "piped.h"
#include "tls.h"
#include "tty.h"

static uv_signal_t signals[6];
static bool interactive;

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h;
    if (signum == SIGWINCH) {
        tty_resize();
    } else if (signum == SIGTSTP) {
        tty_suspend();
    } else if (signum == SIGINT && interactive) {
        if (!chat_on_ctrl_c()) {
            chat_on_interrupt(true, 0); /* a second Ctrl-C, on the empty line: leave */
        }
    } else {
        chat_on_interrupt(false, 128 + signum);
    }
}

static void start_signals(uv_loop_t *loop)
{
    /* SIGQUIT (Ctrl-\\) ends the program like the others, terminal restored, instead of
     * dumping core with the terminal left raw. The last two only concern a terminal. */
    static const int signums[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP};
    for (size_t i = 0; i < sizeof(signums) / sizeof(signums[0]); i++) {
        if ((signums[i] == SIGWINCH || signums[i] == SIGTSTP) && !interactive) {
            continue;
        }
        uv_signal_init(loop, &signals[i]);
        uv_signal_start(&signals[i], on_signal, signums[i]);
    }
}

/* The protocol is UTF-8: readline must count characters, not bytes, and case folding must
 * know accents, whatever the environment says. */
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
    struct client_options opts;
    struct tls_config *tls = NULL;
    struct buf out = BUF_INIT;
    int r = options_parse(&opts, argc, argv, &out);
    if (r == OPTIONS_RUN && opts.tls) {
        r = tls_config_new(opts.tls_ca, !opts.tls_insecure, &tls, &out);
    }
    if (r != OPTIONS_RUN) {
        fputs(out.data, r < 0 ? stderr : stdout);
        buf_release(&out);
        options_release(&opts);
        return r < 0 ? 2 : 0;
    }
    buf_release(&out);
    signal(SIGPIPE, SIG_IGN);
    use_utf8_locale();
    pseudo_init(); /* fold pseudos as the server does, whatever the locale */
    tzset();

    uv_loop_t *loop = uv_default_loop();
    interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    start_signals(loop);
    chat_start(loop, &opts, tls, interactive);
    uv_run(loop, UV_RUN_DEFAULT);

    bool read_pending = !interactive && piped_read_in_flight();
    int status = chat_finish();
    tls_config_free(tls);
    options_release(&opts);
    pseudo_shutdown();
    if (read_pending) {
        /* exit() would run libuv's destructor, which joins its thread pool, where a read of
         * a silent stdin may never return: leave without waiting for it. Everything else
         * has been released above. */
        fflush(NULL);
        _exit(status);
    }
    return status;
}
