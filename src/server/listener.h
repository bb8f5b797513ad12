/* listener.h - the listening socket, and how an accepted connection reaches a loop.
 *
 * The socket is bound by the main thread (so a bad address is reported at the prompt)
 * and then watched by loop 0, which accepts in batches and deals connections to the loops
 * in turn: its own are opened at once, the others' are posted to their inboxes. One
 * listening socket rather than one per loop with SO_REUSEPORT, so that a port already in
 * use is an error instead of a silently shared port. Each listener serves one kind of
 * transport (the line protocol in plain TCP or in TLS, the web port in HTTP or HTTPS):
 * the transport's open function, and how a connection the limits refuse is told why.
 */
#ifndef CAUSERIE_LISTENER_H
#define CAUSERIE_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/addr.h"
#include "common/buf.h"
#include "common/log.h"

#include "session.h"
#include "transport.h"

struct loop;
struct server_options;

/* How a connection the limits refuse is told why, before it is closed. */
enum listener_refusal {
    REFUSE_LINE,   /* one "! ..." line of the line protocol */
    REFUSE_IRC,    /* one "ERROR :..." line of IRC */
    REFUSE_HTTP,   /* an HTTP 503 answer, for the plain web port */
    REFUSE_SILENT, /* nothing can be said before a TLS handshake: closed, and logged */
};

struct listener {
    int fd;                            /* owned listening socket */
    uv_poll_t poll;                    /* on loops[0]: readable means connections wait */
    uv_timer_t retry;                  /* on loops[0]: resumes accepting after EMFILE */
    struct loop *loops;                /* borrowed */
    const struct server_options *opts; /* borrowed: the limits it tells refused peers */
    unsigned n_loops;
    unsigned next;                  /* the loop that gets the next connection */
    char name[ADDR_NAME_MAX];       /* "127.0.0.1:1234", "[::1]:1234": what we listen on */
    size_t accept_failures;         /* retries since accepting ran out of descriptors, 0 if not */
    struct log_limit refusal_log;   /* refused connections' log lines, per second */
    transport_open_fn open;         /* the transport its connections are served over */
    enum session_protocol protocol; /* and the protocol they speak */
    enum listener_refusal refusal;
};

/* Resolves host and binds and listens on the first address that accepts (port 0: any free
 * port), for connections served over open, speaking protocol, and refused as refusal
 * says. Returns 0, or a negative error with a French explanation appended to err. */
int listener_bind(struct listener *ls, const char *host, int port, transport_open_fn open,
                  enum session_protocol protocol, enum listener_refusal refusal, struct buf *err);
/* Starts watching on loops[0] (main thread, before the loop threads start). */
void listener_start(struct listener *ls, struct loop *loops, unsigned n_loops,
                    const struct server_options *o);
/* Stops watching: no more connections. Loop 0's thread, when it stops. */
void listener_stop(struct listener *ls);
/* Closes the socket, once loop 0 has been joined. */
void listener_release(struct listener *ls);

#endif
