/* main.c - causerie-server: the address prompt, the loop threads, and shutdown.
 *
 * The main thread parses options, asks for the address to listen on (as the original
 * did), binds, starts one loop thread per --threads, and then only waits: for a stop
 * signal, or for the operator's console (console.h) to say /quit. SIGINT, SIGTERM and
 * SIGHUP are blocked in every thread and read from a signalfd here, so no thread is ever
 * interrupted by a handler; shutdown posts a stop entry to each loop with the event every
 * client is told, and waits for the loops to finish. It is also where the layers are wired:
 * each is set up here, bottom first, and given the handlers of the layer above.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "admission.h"
#include "away.h"
#include "broadcast.h"
#include "client.h"
#include "cluster.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "common/xalloc.h"
#include "console.h"
#include "event.h"
#include "guard.h"
#include "irc.h"
#include "listener.h"
#include "login.h"
#include "loop.h"
#include "options.h"
#include "owners.h"
#include "password.h"
#include "peers.h"
#include "registry.h"
#include "render.h"
#include "room.h"
#include "session.h"
#include "store_cluster.h"
#include "store_sqlite.h"
#include "tcp.h"
#include "tls.h"
#include "web.h"

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

/* Binds the line protocol's listener: on --host, or on the address typed at the prompt,
 * asked again after a failure while the prompt is a terminal. Returns 0 or a negative
 * error, reported; host is then the address bound. */
static int open_listener(const struct server_options *o, struct listener *ls, struct buf *host)
{
    bool interactive = !o->host && isatty(STDIN_FILENO);
    int r;
    for (;;) {
        if (o->host) {
            buf_reset(host);
            buf_append_str(host, o->host);
        } else {
            printf("Entrez l'adresse IP d'écoute [%s] : ", DEFAULT_HOST);
            fflush(stdout);
            if (!read_host(host)) {
                /* End of input: the default, and no more asking. The prompt's line is ended
                 * now, since log lines bypass stdio. */
                putchar('\n');
                fflush(stdout);
                interactive = false;
            }
            if (host->len == 0) {
                buf_append_str(host, DEFAULT_HOST);
            }
        }
        struct buf err = BUF_INIT;
        r = listener_bind(ls, host->data, o->port, tcp_open, SESSION_LINE, REFUSE_LINE, &err);
        if (r < 0) {
            fprintf(stderr, "%s\n", err.data);
        }
        buf_release(&err);
        if (r == 0 || !interactive) {
            break;
        }
    }
    return r;
}

/* The listening sockets: the line protocol's, then, if on, the TLS port's, the web port's
 * and IRC's, plain and in TLS, all on the same address. */
struct listeners {
    struct listener all[5];
    unsigned n;
    struct listener *tls, *web, *irc, *irc_tls; /* among all, or NULL */
};

/* Binds one more listener on host; exits with status 1 if it cannot. */
static struct listener *add_listener(struct listeners *ls, const char *host, int port,
                                     transport_open_fn open, enum session_protocol protocol,
                                     enum listener_refusal refusal)
{
    struct listener *l = &ls->all[ls->n];
    struct buf err = BUF_INIT;
    if (listener_bind(l, host, port, open, protocol, refusal, &err) < 0) {
        fprintf(stderr, "%s\n", err.data);
        exit(1);
    }
    buf_release(&err);
    ls->n++;
    return l;
}

/* Binds every listener the options ask for. Returns 0, or a negative error, reported. */
static int open_listeners(const struct server_options *o, struct listeners *ls)
{
    *ls = (struct listeners){.n = 0};
    struct buf host = BUF_INIT;
    int r = open_listener(o, &ls->all[0], &host);
    if (r == 0) {
        ls->n = 1;
        if (o->tls_cert) {
            ls->tls =
                add_listener(ls, host.data, o->tls_port, tls_open, SESSION_LINE, REFUSE_SILENT);
        }
        if (o->web_port >= 0) {
            ls->web =
                add_listener(ls, host.data, o->web_port, o->tls_cert ? web_tls_open : web_open,
                             SESSION_LINE, o->tls_cert ? REFUSE_SILENT : REFUSE_HTTP);
        }
        if (o->irc_port >= 0) {
            ls->irc = add_listener(ls, host.data, o->irc_port, tcp_open, SESSION_IRC, REFUSE_IRC);
        }
        if (o->irc_tls_port >= 0 && o->tls_cert) {
            ls->irc_tls =
                add_listener(ls, host.data, o->irc_tls_port, tls_open, SESSION_IRC, REFUSE_SILENT);
        }
    }
    buf_release(&host);
    return r;
}

/* Loads the certificate and the key before anything is asked: a bad one is an error at
 * start, exit status 1. */
static void setup_tls(const struct server_options *o, unsigned n_loops)
{
    if (!o->tls_cert) {
        return;
    }
    struct buf err = BUF_INIT;
    if (tls_setup(o->tls_cert, o->tls_key, n_loops, &err) < 0) {
        fprintf(stderr, "%s\n", err.data);
        buf_release(&err);
        exit(1);
    }
    buf_release(&err);
}

/* Descriptors kept for what is not a client: the listening socket, the loops' epoll,
 * event and signal descriptors, libuv's spare, the standard streams. */
#define FD_RESERVE 64

/* Each connection is a descriptor: raises the soft limit to the hard one, as servers do,
 * and says so if --max-clients cannot be reached under it: the server would run out of
 * descriptors first, and new connections would wait in the kernel's queue rather than be
 * told the server is full. */
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

/* The signals that stop the server gracefully. SIGHUP too: the terminal the operator
 * watched is gone, and the clients are better told than left hanging. */
static const int stop_signal_list[] = {SIGINT, SIGTERM, SIGHUP};
#define N_STOP_SIGNALS (sizeof(stop_signal_list) / sizeof(stop_signal_list[0]))

static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
}

/* The stop signal read from the signalfd sfd, or 0 if none was pending. */
static int take_stop_signal(int sfd)
{
    struct signalfd_siginfo si;
    ssize_t n = read(sfd, &si, sizeof(si));
    return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

/* Waits for a stop signal or the console's /quit, running console commands meanwhile, and
 * writes which it was into why, for the log. The stop signals stay blocked in every thread
 * and are read from a signalfd, polled together with the console's descriptor: no handler
 * ever interrupts a command or a loop thread, a signal that arrives while a command runs
 * is read at the next wait, and nothing depends on how a sanitizer defers handlers. */
static void wait_for_stop(const sigset_t *stop_signals, struct console *k, char *why, size_t size)
{
    int sfd = signalfd(-1, stop_signals, SFD_CLOEXEC);
    if (sfd < 0) {
        log_error("impossible d'attendre les signaux d'arrêt (%s)", strerror(errno));
        exit(1);
    }
    /* A server sent to the background would be stopped whole (every loop with it) by
     * reading its terminal; ignored, the read fails with EIO and only the console stops. */
    signal(SIGTTIN, SIG_IGN);
    int sig = 0;
    while (sig == 0 && !k->quit) {
        struct pollfd fds[2] = {{.fd = sfd, .events = POLLIN},
                                {.fd = console_fd(k), .events = POLLIN}};
        int r = poll(fds, fds[1].fd >= 0 ? 2 : 1, -1);
        if (r < 0 && errno != EINTR) {
            log_error("attente des signaux d'arrêt impossible (%s)", strerror(errno));
            exit(1);
        }
        if (r > 0 && fds[0].revents) {
            sig = take_stop_signal(sfd);
        } else if (r > 0 && fds[1].revents) {
            console_on_readable(k); /* also at end of input or on an error: it then stops */
        }
    }
    close(sfd);
    if (sig != 0) {
        snprintf(why, size, "signal %s", signal_name(sig));
    } else {
        snprintf(why, size, "commande /quit de la console");
    }
}

/* Logs how many clients were told the server stops, if any: the shutdown's last line. */
static void log_told(const struct loop *loops, unsigned n)
{
    size_t told = 0, cut = 0;
    for (unsigned i = 0; i < n; i++) {
        told += session_told_at_stop(&loops[i]);
        cut += client_cut_at_stop(&loops[i]);
    }
    if (cut == 1) {
        log_warn("1 connexion fermée avant d'avoir lu tout ce qui lui restait, au bout de %d ms",
                 SESSION_STOP_FLUSH_MS);
    } else if (cut > 1) {
        log_warn("%zu connexions fermées avant d'avoir lu tout ce qui leur restait, au bout de "
                 "%d ms",
                 cut, SESSION_STOP_FLUSH_MS);
    }
    /* Nothing when nobody was connected: "Arrêt du serveur" stays the last line then. */
    if (told == 1) {
        log_info("Serveur arrêté : 1 client prévenu.");
    } else if (told > 1) {
        log_info("Serveur arrêté : %zu clients prévenus.", told);
    }
}

/* The listeners, for the stop entry of loop 0, which closes them. */
static struct listeners *listeners;

/* On each loop's thread, in the order of its inbox: loop 0 stops accepting; every client
 * is told the server stops, and closes once that is written (within
 * SESSION_STOP_FLUSH_MS); the loop's thread returns once the last is closed. */
static void run_stop(struct loop *l, void *arg)
{
    struct event *notice = arg;
    if (l->index == 0) {
        for (unsigned i = 0; i < listeners->n; i++) {
            listener_stop(&listeners->all[i]);
        }
    }
    broadcast_stop_loop(l);
    session_stop_loop(l, notice);
    loop_stop(l);
    event_unref(notice);
}

static void drop_stop(void *arg)
{
    event_unref(arg);
}

static const struct loop_task stop_task = {run_stop, drop_stop};

/* Asks every loop to stop, with one event for all of their clients. */
static void stop_loops(struct loop *loops, unsigned n)
{
    struct event_fields f = {.kind = EVENT_SHUTDOWN, .room = EVENT_ALL_ROOMS};
    struct event *notice = event_new(&f);
    if (n > 1) {
        event_ref_many(notice, n - 1); /* one per stop entry */
    }
    for (unsigned i = 0; i < n; i++) {
        loop_send(&loops[i], &stop_task, notice);
    }
}

/* ---------------------------------------------------------------- the store */

struct store_load {
    const struct server_options *o;
    size_t lines, skipped;
    long accounts, owned;
};

/* A line read back from the database goes into its room's history, unless it is not one
 * the server could have written (the file may have been edited by hand): its pseudo and
 * text are checked as a client's would be. */
static void on_stored_line(const struct store_line *l, void *ctx)
{
    struct store_load *load = ctx;
    struct event_fields f = {.kind = l->kind,
                             .dated = true,
                             .time = l->time,
                             .who = l->who,
                             .who_len = l->who_len,
                             .text = l->text,
                             .text_len = l->text_len};
    const char *why = "pseudo invalide";
    if (pseudo_check(l->who, l->who_len) == PSEUDO_OK) {
        why = "texte invalide";
        if (l->text_len <= load->o->max_line && sanitize_is_clean(l->text, l->text_len)) {
            why = "nom de salon invalide";
            if (room_restore(l->room, l->room_len, &f, l->id)) {
                load->lines++;
                return;
            }
        }
    }
    load->skipped++;
    log_warn("base de données %s : message %" PRIu64 " : %s ; il n'est pas relu", load->o->db,
             l->id, why);
}

/* An owned room takes a slot, if one is free, so that /rooms lists it. */
static void restore_owned(const char *name, void *ctx)
{
    (void)ctx;
    room_restore_owned(name);
}

/* In a cluster, the other servers' changes to accounts and owned rooms. */
static const struct store_follower store_followers = {
    .account = accounts_followed,
    .account_gone = accounts_followed_gone,
    .room = owners_followed,
    .room_gone = owners_followed_gone,
};

/* Opens the database and puts each room's last lines back in memory; *read is how many.
 * In a cluster (open already), the accounts and owned rooms are the cluster's. Exits with
 * status 1 if the database cannot be opened, upgraded or read. */
static struct store *open_store(const struct server_options *o, struct store_load *read)
{
    struct store *s;
    struct buf err = BUF_INIT;
    if (store_sqlite_open(o->db, o->history_days, &s, &err) < 0) {
        log_error("%s", err.data);
        buf_release(&err);
        exit(1);
    }
    buf_release(&err);
    if (o->cluster) {
        s = store_cluster_open(s);
    }
    struct store_load load = {.o = o};
    if (o->history > 0 &&
        store_load_recent(s, o->max_rooms, o->history, on_stored_line, &load) < 0) {
        store_close(s);
        exit(1);
    }
    load.accounts = accounts_init(s);
    struct owners_limits limits = {o->max_topic, o->max_room_list, o->max_owned_rooms};
    load.owned =
        load.accounts < 0 ? -1 : owners_init(s, &limits, room_default_key(), ROOM_DEFAULT_NAME);
    if (load.owned < 0) {
        owners_shutdown();
        accounts_shutdown();
        store_close(s);
        exit(1);
    }
    owners_each(restore_owned, NULL);
    store_follow(s, &store_followers);
    *read = load;
    return s;
}

/* Sets up the layers, bottom first, each given the handlers of the one above: the
 * renderings, the order, the presence, the connections, the loops, the protocol. */
static struct loop *setup_layers(const struct server_options *o, unsigned n)
{
    render_init();
    irc_init(o);
    broadcast_init(n, o->max_rooms, o->history, &session_broadcast_handlers);
    room_init(o->max_rooms, o->announce_max);
    client_setup(&session_client_handlers, n, o->max_line, o->max_backlog);
    struct loop *loops = xcalloc(n, sizeof(*loops));
    for (unsigned i = 0; i < n; i++) {
        int r = loop_init(&loops[i], i, &client_loop_hooks);
        if (r < 0) {
            log_error("impossible de créer la boucle %u : %s", i, uv_strerror(r));
            exit(1);
        }
    }
    session_init(o, loops, n);
    login_init(o, loops, n);
    return loops;
}

/* What setup_layers() made, released top first, once the loops have been joined. */
static void teardown_layers(struct loop *loops, unsigned n)
{
    /* Until a whole round drops nothing: a drop may post to a loop already visited. */
    for (size_t dropped = 1; dropped > 0;) {
        dropped = 0;
        for (unsigned i = 0; i < n; i++) {
            dropped += loop_drop_pending(&loops[i]);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        loop_release(&loops[i]);
    }
    login_shutdown();
    session_shutdown();
    client_teardown();
    room_shutdown();
    broadcast_shutdown();
    free(loops);
}

/* The start-up lines that say where the server is reached. */
static void log_listening(const struct listeners *ls, unsigned n)
{
    log_info("En écoute sur %s (%u fil%s d'exécution)", ls->all[0].name, n, n > 1 ? "s" : "");
    if (ls->tls) {
        log_info("Port chiffré (TLS) : %s", ls->tls->name);
    }
    if (ls->web) {
        log_info("Page web : %s://%s/", ls->tls ? "https" : "http", ls->web->name);
    }
    if (ls->irc) {
        log_info("Port IRC : %s", ls->irc->name);
    }
    if (ls->irc_tls) {
        log_info("Port IRC chiffré (TLS) : %s", ls->irc_tls->name);
    }
}

/* The cluster's handlers: its stream feeds the order, its news the presence layer. */
static const struct cluster_handlers cluster_handlers = {
    .event = broadcast_from_cluster,
    .link = peers_link,
    .reaped = peers_reaped,
    .rooms = room_summary,
    .names = room_names_here,
};

/* A node's default name: the listening address, or the hostname and port if it listens on
 * every address (options_default_node()). */
static void default_node(const struct listeners *ls, char *out, size_t size)
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0) {
        host[0] = '\0';
    }
    options_default_node(ls->all[0].name, host, out, size);
}

/* --cluster: connects to the engine, before the store, which reads the shared tables
 * there. Exits 1, saying why, if the engine cannot be used: a server that was asked to
 * share the chat must not run alone. */
static void open_cluster(const struct server_options *o, const struct listeners *ls)
{
    char name[MAX_NODE_NAME + 1];
    if (o->node) {
        snprintf(name, sizeof(name), "%s", o->node);
    } else {
        default_node(ls, name, sizeof(name));
    }
    struct cluster_config c = {o->cluster, o->cluster_creds, name, o->node_ttl, o->cluster_backlog};
    struct buf err = BUF_INIT;
    if (cluster_open(&c, &err) < 0) {
        log_error("causerie-server : grappe : %s", err.data);
        buf_release(&err);
        cluster_close();
        exit(1);
    }
    buf_release(&err);
    log_info("Grappe : %s, moteur %s (flux CAUSERIE)", name, o->cluster);
}

/* Takes the order from the engine and catches up with the stream from where the database
 * stops. Exits 1 if the stream cannot be followed. */
static void join_cluster(const struct server_options *o, struct store *store)
{
    broadcast_use_cluster(o->max_line);
    peers_init();
    if (cluster_start(store_last_id(store), &cluster_handlers) < 0) {
        store_cluster_stop_sharing(store); /* its threads use the engine */
        cluster_close();
        exit(1);
    }
}

/* Runs the loops until a signal or the console asks us to stop. Returns the process's
 * exit status. */
static int serve(const struct server_options *o, struct listeners *ls, unsigned n, bool console)
{
    struct loop *loops = setup_layers(o, n);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    for (size_t i = 0; i < N_STOP_SIGNALS; i++) {
        sigaddset(&stop_signals, stop_signal_list[i]);
    }
    /* Blocked before any thread starts, so every thread inherits the mask. */
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    if (o->cluster) {
        open_cluster(o, ls);
    }
    struct store_load read;
    struct store *store = open_store(o, &read); /* its writer thread too */

    broadcast_start(loops, store);
    session_start(store);
    if (o->cluster) {
        join_cluster(o, store);
    }
    listeners = ls;
    for (unsigned i = 0; i < ls->n; i++) {
        listener_start(&ls->all[i], loops, n, o);
    }
    for (unsigned i = 0; i < n; i++) {
        int r = loop_start(&loops[i]);
        if (r < 0) {
            log_error("impossible de démarrer le fil %u : %s", i, strerror(-r));
            exit(1);
        }
    }
    log_listening(ls, n);
    log_info("Base de données : %s (%zu messages relus%s, %ld compte%s, %ld salon%s avec "
             "propriétaire)",
             o->db, read.lines, read.skipped ? ", d'autres, invalides, ignorés" : "", read.accounts,
             read.accounts > 1 ? "s" : "", read.owned, read.owned > 1 ? "s" : "");

    struct console k;
    console_init(&k, console);
    char why[64];
    wait_for_stop(&stop_signals, &k, why, sizeof(why));
    console_release(&k);
    log_info("Arrêt du serveur (%s)", why);
    stop_loops(loops, n);
    for (unsigned i = 0; i < n; i++) {
        loop_join(&loops[i]);
    }
    log_told(loops, n);
    if (o->cluster) {
        store_cluster_stop_sharing(store); /* needs the engine: before it closes */
        cluster_close();                   /* what the leaving clients published is flushed first */
        peers_shutdown();
    }
    teardown_layers(loops, n);
    owners_shutdown();
    accounts_shutdown();
    store_close(store); /* what was queued is written first */
    return 0;
}

/* How many password hashes may run at once: --hash-threads, or half the online CPUs. libuv's
 * pool (4 threads unless UV_THREADPOOL_SIZE says otherwise) is made two threads larger than
 * that if need be, so that the store's reads always find one free. */
static unsigned hash_threads(const struct server_options *o)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = o->hash_threads ? o->hash_threads : cpus > 1 ? (unsigned)(cpus / 2) : 1;
    if (n + 2 > 4 && !getenv("UV_THREADPOOL_SIZE")) {
        char size[16];
        snprintf(size, sizeof(size), "%u", n + 2);
        setenv("UV_THREADPOOL_SIZE", size, 0); /* read by libuv when the pool first starts */
    }
    return n;
}

int main(int argc, char **argv)
{
    bool console = console_check_stdin(); /* before anything opens a descriptor */
    pseudo_init();                        /* --admin's pseudos are checked as they are parsed */
    /* The console reads descriptor 0 itself after the address prompt: stdio must not read
     * ahead past the address line, or the commands piped after it would be lost. */
    setvbuf(stdin, NULL, _IONBF, 0);
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
    if (password_init(hash_threads(&o)) < 0) {
        log_error("causerie-server : libsodium ne peut pas fonctionner ici");
        options_release(&o);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error code, never a death */
    tzset();
    raise_fd_limit(&o);

    unsigned n = o.threads ? o.threads : default_threads();
    setup_tls(&o, n);
    struct listeners ls;
    if (open_listeners(&o, &ls) < 0) {
        options_release(&o);
        tls_teardown();
        return 1;
    }
    registry_init();
    away_init();
    guard_init(o.login_tries, o.login_delay);
    admission_init(o.max_clients, o.max_per_ip);
    web_setup(&o, n);

    int status = serve(&o, &ls, n, console);

    for (unsigned i = 0; i < ls.n; i++) {
        listener_release(&ls.all[i]);
    }
    web_teardown();
    tls_teardown();
    away_shutdown(); /* drops its references to people, before the registry goes */
    registry_shutdown();
    guard_shutdown();
    admission_shutdown();
    pseudo_shutdown();
    options_release(&o);
    return status;
}
