/* listener.c - accept on loop 0 and deal connections to the loops; see listener.h.
 *
 * listener_bind() and listener_start() run on the main thread before the loops; the
 * callbacks and listener_stop() run on loop 0's thread. A connection for another loop
 * travels in an entry of that loop's inbox whose task opens its session there.
 */
#define _GNU_SOURCE /* accept4(): the socket arrives non-blocking and close-on-exec */
#include "listener.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admission.h"
#include "common/addr.h"
#include "common/fr.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "loop.h"
#include "options.h"
#include "session.h"
#include "web.h"

/* Connections accepted per readiness event before the loop serves its clients again:
 * enough to absorb a burst of connects, small enough not to starve the others. */
#define ACCEPT_BATCH 64
/* After EMFILE, wait this long before accepting again instead of spinning on a
 * listening socket that stays readable. */
#define ACCEPT_RETRY_MS 100
/* Connections the kernel queues before we accept them; it caps this at somaxconn. */
#define LISTEN_BACKLOG 4096

/* Binds and listens on one address; returns the socket or a negative errno. */
static int bind_one(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    /* Restarting the server must not wait for old connections' TIME_WAIT to expire. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int listener_bind(struct listener *ls, const char *host, int port, transport_open_fn open,
                  enum session_protocol protocol, enum listener_refusal refusal, struct buf *err)
{
    *ls = (struct listener){.fd = -1, .open = open, .protocol = protocol, .refusal = refusal};
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        int e = gai == EAI_NONAME ? UV_EAI_NONAME : gai == EAI_AGAIN ? UV_EAI_AGAIN : UV_EINVAL;
        buf_appendf(err, "Adresse « %s » invalide : %s.", host, fr_strerror(e));
        return e;
    }
    int first_error = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = bind_one(ai);
        if (fd >= 0) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof(ss);
            getsockname(fd, (struct sockaddr *)&ss, &len);
            addr_format((const struct sockaddr *)&ss, ls->name, sizeof(ls->name));
            ls->fd = fd;
            freeaddrinfo(res);
            return 0;
        }
        if (!first_error) {
            first_error = fd;
        }
    }
    freeaddrinfo(res);
    buf_appendf(err, "Impossible d'écouter sur %s, port %d : %s.", host, port,
                fr_strerror(first_error));
    return first_error;
}

/* An accepted connection on its way to another loop. */
struct adoption {
    int fd;                 /* owned */
    uint32_t ticket;        /* owned: its admission */
    transport_open_fn open; /* its listener's transport */
    enum session_protocol protocol;
};

static void adopt(struct loop *l, void *arg)
{
    struct adoption *a = arg;
    session_open(l, a->fd, a->ticket, a->open, a->protocol);
    free(a);
}

static void drop_adoption(void *arg)
{
    struct adoption *a = arg;
    close(a->fd);
    admission_release(a->ticket);
    free(a);
}

static const struct loop_task adopt_task = {adopt, drop_adoption};

static void on_readable(uv_poll_t *h, int status, int events);

static void on_retry(uv_timer_t *t)
{
    struct listener *ls = t->data;
    uv_poll_start(&ls->poll, UV_READABLE, on_readable);
}

/* Out of descriptors: stop watching the socket for a while, or it would wake us at once
 * forever. Clients already connected go on being served. Logged when accepting stops and
 * when it resumes, not at every retry: running out can last, and must not fill the log. */
static void pause_accepting(struct listener *ls, int err)
{
    if (ls->accept_failures++ == 0) {
        log_warn("impossible d'accepter une connexion : %s ; nouvel essai toutes les %d ms",
                 fr_strerror(-err), ACCEPT_RETRY_MS);
    }
    uv_poll_stop(&ls->poll);
    uv_timer_start(&ls->retry, on_retry, ACCEPT_RETRY_MS, 0);
}

/* Logs a refused connection, within a budget per second (log_limit_allow()): a crowd
 * knocking on a full server must not turn into a flood of log lines. */
static void log_refusal(struct listener *ls, const char *peer, const char *why)
{
    size_t skipped;
    if (!log_limit_allow(&ls->refusal_log, uv_now(&ls->loops[0].uv), &skipped)) {
        return;
    }
    if (skipped > 0) {
        log_warn("connexion refusée (%s) : %s ; et %zu autres refus non journalisés", peer, why,
                 skipped);
    } else {
        log_warn("connexion refusée (%s) : %s", peer, why);
    }
}

/* Tells a connection the limits turn away why, in its listener's way, if its socket takes
 * it at once (a new socket always has room), and closes it. */
static void refuse(struct listener *ls, int fd, const struct sockaddr *peer,
                   enum admission_verdict v)
{
    const struct server_options *o = ls->opts;
    char text[128], notice[2048], why[96], name[80];
    if (v == ADMISSION_FULL) {
        snprintf(text, sizeof(text), "Serveur plein (%zu connexions) : réessayez plus tard.",
                 o->max_clients);
        snprintf(why, sizeof(why), "serveur plein (%zu connexions)", o->max_clients);
    } else {
        snprintf(text, sizeof(text),
                 "Trop de connexions depuis votre adresse (%zu au plus) : réessayez plus tard.",
                 o->max_per_ip);
        snprintf(why, sizeof(why), "trop de connexions depuis cette adresse (%zu au plus)",
                 o->max_per_ip);
    }
    size_t len = 0;
    if (ls->refusal == REFUSE_LINE) {
        len = (size_t)snprintf(notice, sizeof(notice), "! %s\n", text);
    } else if (ls->refusal == REFUSE_IRC) {
        len = (size_t)snprintf(notice, sizeof(notice), "ERROR :%s\r\n", text);
    } else if (ls->refusal == REFUSE_HTTP) {
        len = web_refusal(notice, sizeof(notice), text);
    }
    if (len > 0) {
        (void)!send(fd, notice, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    close(fd);
    addr_format(peer, name, sizeof(name));
    log_refusal(ls, name, why);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)events;
    struct listener *ls = h->data;
    if (status < 0) {
        log_error("socket d'écoute : %s", fr_strerror(status));
        return;
    }
    bool wake[MAX_THREADS] = {false};
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof(peer);
        int fd = accept4(ls->fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                pause_accepting(ls, errno);
            } else if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            break; /* EAGAIN: no more waiting */
        }
        if (ls->accept_failures > 0) {
            log_info("connexions acceptées à nouveau, après %zu essais manqués",
                     ls->accept_failures);
            ls->accept_failures = 0;
        }
        uint32_t ticket;
        enum admission_verdict v = admission_admit((struct sockaddr *)&peer, &ticket);
        if (v != ADMISSION_OK) {
            refuse(ls, fd, (struct sockaddr *)&peer, v);
            continue;
        }
        struct loop *l = &ls->loops[ls->next];
        ls->next = (ls->next + 1) % ls->n_loops;
        if (l == &ls->loops[0]) {
            session_open(l, fd, ticket, ls->open, ls->protocol);
        } else {
            struct adoption *a = xmalloc(sizeof(*a));
            *a = (struct adoption){fd, ticket, ls->open, ls->protocol};
            wake[l->index] |= loop_post(l, &adopt_task, a);
        }
    }
    for (unsigned i = 1; i < ls->n_loops; i++) {
        if (wake[i]) {
            loop_wake(&ls->loops[i]);
        }
    }
}

void listener_start(struct listener *ls, struct loop *loops, unsigned n_loops,
                    const struct server_options *o)
{
    ls->opts = o;
    ls->loops = loops;
    ls->n_loops = n_loops;
    ls->next = 0;
    uv_poll_init_socket(&loops[0].uv, &ls->poll, ls->fd);
    ls->poll.data = ls;
    uv_timer_init(&loops[0].uv, &ls->retry);
    ls->retry.data = ls;
    uv_poll_start(&ls->poll, UV_READABLE, on_readable);
}

void listener_stop(struct listener *ls)
{
    uv_close((uv_handle_t *)&ls->poll, NULL);
    uv_close((uv_handle_t *)&ls->retry, NULL);
}

void listener_release(struct listener *ls)
{
    if (ls->fd >= 0) {
        close(ls->fd);
        ls->fd = -1;
    }
}
