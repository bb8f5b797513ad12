/* options.h - the client's command line.
 *
 * Pure: parsing writes no output and calls no exit(), so unit tests drive it directly;
 * main.c prints what it returns. The address list of --host is read by hosts.h, as the
 * answer to the address prompt is.
 */
#ifndef CAUSERIE_CLIENT_OPTIONS_H
#define CAUSERIE_CLIENT_OPTIONS_H

#include <stdbool.h>

#include "common/buf.h"
#include "hosts.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 1234
/* The port with --tls, unless --port or the address gives one. */
#define DEFAULT_TLS_PORT 1235
/* Seconds to wait for a TCP connection before giving up on an address. */
#define CONNECT_TIMEOUT_S 10
/* The client paces its lines as the server's flood control counts them, with the server's
 * defaults: lines at once, then lines per second; --flood-burst, --flood-rate (0: off). */
#define DEFAULT_FLOOD_BURST 10
#define DEFAULT_FLOOD_RATE  5
/* Sent lines kept in the history file for Up and Down across runs; --history-size (0: no
 * file is read or written). */
#define DEFAULT_HISTORY_SIZE 1000
/* The largest value a numeric option takes. */
#define OPTIONS_NUMBER_MAX 1000000

struct client_options {
    struct hosts hosts;    /* --host's list; empty until given (then chat.c asks for it) */
    int port;              /* 1..65535: the port of an address that gives none */
    char *nick;            /* owned; NULL until given (then chat.c asks for it) */
    unsigned flood_burst;  /* lines; 0: no pacing */
    unsigned flood_rate;   /* lines per second; 0: no pacing */
    unsigned history_size; /* lines; 0: no history file */
    bool no_color;         /* --no-color: no colours or attributes, even on a terminal */
    bool no_reconnect;     /* --no-reconnect: a lost connection ends the program (status 1) */
    bool tls;              /* --tls, or implied by --tls-ca or --tls-insecure */
    char *tls_ca;          /* owned: --tls-ca FILE, an authority trusted besides the system's */
    bool tls_insecure;     /* --tls-insecure: the server's certificate is not verified */
};

enum options_result {
    OPTIONS_RUN = 0,  /* start the client */
    OPTIONS_EXIT = 1, /* --help or --version: print out, exit 0 */
};

/* Parses argv. Returns OPTIONS_RUN or OPTIONS_EXIT with text to print in *out, or
 * -EINVAL with a French error message in *out (exit status 2). --tls-ca and --tls-insecure
 * imply --tls, and refuse each other; with --tls the port is DEFAULT_TLS_PORT unless
 * --port gives one. --host is a list of addresses (hosts_parse()), read once every option
 * is, so that its addresses without a port take the port whatever the order of the
 * options. The --tls-ca file is not read here (main.c does, through tls.h). */
int options_parse(struct client_options *o, int argc, char **argv, struct buf *out);
void options_release(struct client_options *o);

/* Where the history of sent lines is kept: $XDG_STATE_HOME/causerie/history, or, when
 * that is unset, empty or not absolute (as the XDG specification asks),
 * $HOME/.local/state/causerie/history. xdg and home are the variables' values (NULL if
 * unset). Returns 0 with the path appended to out, or -ENOENT if neither gives a place. */
int options_history_path(const char *xdg, const char *home, struct buf *out);

#endif
