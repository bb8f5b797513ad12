/* main.c - causerie-server: the address prompt, the loop threads, and shutdown.
 *
 * The main thread parses options, asks for the address to listen on (as the original
 * did), binds, starts one loop thread per --threads, and then only waits for a signal.
 * SIGINT, SIGTERM and SIGHUP are blocked in every thread and taken here with sigwait(),
 * so no loop is ever interrupted by a handler; shutdown posts INBOX_STOP to each loop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "admission.h"
#include "broadcast.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "listener.h"
#include "loop.h"
#include "options.h"
#include "pseudo.h"
#include "registry.h"
#include "session.h"

/* Reads one line from stdin; returns false at end of input. The line is trimmed, and
 * brackets around an IPv6 address ("[::1]") are removed. */
static bool read_host(struct buf *host)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    buf_reset(host);
    if (n < 0) {
        free(line);
        return false;
    }
    char *start = line;
    while (*start == ' ' || *start == '\t') {
        start++;
    }
    size_t len = strlen(start);
    while (len > 0 && strchr(" \t\r\n", start[len - 1])) {
        len--;
    }
    if (len >= 2 && start[0] == '[' && start[len - 1] == ']') {
        start++;
        len -= 2;
    }
    buf_append(host, start, len);
    free(line);
    return true;
}

/* Binds the listener: on --host, or on the address typed at the prompt, asked again after
 * a failure while the prompt is a terminal. Returns 0 or a negative error, reported. */
static int open_listener(const struct server_options *o, struct listener *ls)
{
    bool interactive = !o->host && isatty(STDIN_FILENO);
    struct buf host = BUF_INIT;
    int r;
    for (;;) {
        if (o->host) {
            buf_reset(&host);
            buf_append_str(&host, o->host);
        } else {
            printf("Entrez l'adresse IP d'écoute [%s] : ", DEFAULT_HOST);
            fflush(stdout);
            if (!read_host(&host)) {
                /* End of input: the default, and no more asking. The prompt's line is ended
                 * now, since log lines bypass stdio. */
                putchar('\n');
                fflush(stdout);
                interactive = false;
            }
            if (host.len == 0) {
                buf_append_str(&host, DEFAULT_HOST);
            }
        }
        struct buf err = BUF_INIT;
        r = listener_bind(ls, host.data, o->port, &err);
        if (r < 0) {
            fprintf(stderr, "%s\n", err.data);
        }
        buf_release(&err);
        if (r == 0 || !interactive) {
            break;
        }
    }
    buf_release(&host);
    return r;
}

/* Each connection is a descriptor: lift the soft limit to the hard one, as servers do. */
/* Descriptors kept for what is not a client: the listening socket, the loops' epoll,
 * event and signal descriptors, libuv's spare, the standard streams. */
#define FD_RESERVE 64

/* Raises the soft descriptor limit to the hard one, and says so if --max-clients cannot
 * be reached under it: the server would run out of descriptors first, and new
 * connections would wait in the kernel's queue rather than be told the server is full. */
static void raise_fd_limit(const struct server_options *o)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            getrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    if (rl.rlim_cur == RLIM_INFINITY) {
        return;
    }
    size_t room = rl.rlim_cur > FD_RESERVE ? (size_t)rl.rlim_cur - FD_RESERVE : 0;
    if (o->max_clients == 0) {
        log_warn("la limite de descripteurs (%llu) permet environ %zu connexions et "
                 "--max-clients n'en fixe aucune : au-delà, les nouvelles connexions attendront "
                 "au lieu d'être refusées",
                 (unsigned long long)rl.rlim_cur, room);
    } else if (o->max_clients > room) {
        log_warn("--max-clients %zu dépasse ce que permet la limite de descripteurs (%llu, "
                 "environ %zu connexions) : relevez-la (ulimit -n) ou baissez --max-clients",
                 o->max_clients, (unsigned long long)rl.rlim_cur, room);
    }
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) {
        return 1;
    }
    return n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

/* Runs the loops until a signal asks us to stop. Returns the process's exit status. */
static int serve(const struct server_options *o, struct listener *ls)
{
    unsigned n = o->threads ? o->threads : default_threads();
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    /* Blocked before any thread starts, so every thread inherits the mask. */
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    struct loop *loops = xcalloc(n, sizeof(*loops));
    for (unsigned i = 0; i < n; i++) {
        int r = loop_init(&loops[i], i, o);
        if (r < 0) {
            log_error("impossible de créer la boucle %u : %s", i, uv_strerror(r));
            exit(1);
        }
    }
    broadcast_init(loops, n);
    listener_start(ls, loops, n);
    for (unsigned i = 0; i < n; i++) {
        int r = loop_start(&loops[i]);
        if (r < 0) {
            log_error("impossible de démarrer le fil %u : %s", i, strerror(-r));
            exit(1);
        }
    }
    log_info("En écoute sur %s (%u fil%s d'exécution)", ls->name, n, n > 1 ? "s" : "");

    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_info("Arrêt du serveur (signal %s)", sig == SIGINT    ? "SIGINT"
                                             : sig == SIGTERM ? "SIGTERM"
                                                              : "SIGHUP");
    for (unsigned i = 0; i < n; i++) {
        if (loop_post(&loops[i], (struct inbox_item){.kind = INBOX_STOP})) {
            loop_wake(&loops[i]);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        loop_join(&loops[i]);
    }
    for (unsigned i = 0; i < n; i++) {
        loop_release(&loops[i]);
    }
    broadcast_shutdown();
    free(loops);
    return 0;
}

int main(int argc, char **argv)
{
    struct server_options o;
    struct buf out = BUF_INIT;
    int r = options_parse(&o, argc, argv, &out);
    if (r != OPTIONS_RUN) {
        fputs(out.data, r < 0 ? stderr : stdout);
        buf_release(&out);
        options_release(&o);
        return r < 0 ? 2 : 0;
    }
    buf_release(&out);

    signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error code, never a death */
    tzset();
    raise_fd_limit(&o);

    struct listener ls;
    if (open_listener(&o, &ls) < 0) {
        options_release(&o);
        return 1;
    }
    pseudo_init();
    registry_init();
    admission_init(o.max_clients, o.max_per_ip);
    session_init();

    int status = serve(&o, &ls);

    listener_release(&ls);
    session_shutdown();
    registry_shutdown();
    admission_shutdown();
    pseudo_shutdown();
    options_release(&o);
    return status;
}
