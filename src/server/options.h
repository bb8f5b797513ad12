/* options.h - the server's command line: defaults, limits, parsing, --help.
 *
 * Pure: parsing writes no output and calls no exit(), so unit tests drive it directly;
 * main.c prints what it returns. Every limit a client or operator can meet has its
 * default here, with its unit and its option; docs/SECURITY.md lists them again.
 */
#ifndef CAUSERIE_SERVER_OPTIONS_H
#define CAUSERIE_SERVER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define DEFAULT_HOST     "127.0.0.1"
#define DEFAULT_PORT     1234
#define DEFAULT_TLS_PORT 1235 /* the TLS listener's, with --tls-cert; --tls-port */
#define DEFAULT_WEB_PORT 8080 /* the web page and its WebSocket; --web-port, --no-web */
/* An IRC client silent this long is sent PING, and dropped if still silent as long again:
 * IRC's way of finding a dead link, which IRC clients expect; --irc-ping. */
#define DEFAULT_IRC_PING 120
/* The server's name to IRC clients (the prefix of its numerics); --irc-name. */
#define DEFAULT_IRC_NAME "causerie"
#define IRC_NAME_MAX     63
/* Origins a browser page may open the WebSocket from, besides the server's own;
 * --web-origin, repeated. */
#define MAX_WEB_ORIGINS 16
/* Accounts (docs/SECURITY.md): --admin at most this many times; the slowing of password
 * guessing, per account and per address (guard.h). */
#define MAX_ADMINS          16
#define DEFAULT_LOGIN_TRIES 5  /* wrong passwords in 10 minutes before the slowing */
#define DEFAULT_LOGIN_DELAY 10 /* seconds between tries once slowed */
#define MAX_LOGIN_TRIES     1000
/* Password hashes and checks running at once (--hash-threads): 0 picks half the online
 * CPUs, at least one, so that logins never take every core from the loops. */
#define DEFAULT_HASH_THREADS 0
#define MAX_HASH_THREADS     64
#define DEFAULT_MAX_LINE     4096      /* bytes per input line; --max-line */
#define DEFAULT_MAX_BACKLOG  (1 << 20) /* bytes queued for one client; --max-backlog */
#define MAX_THREADS          64        /* --threads ceiling: far past any useful value */
#define MAX_LINE_CEILING     (1 << 20) /* --max-line ceiling: a line is a chat message */
#define MIN_MAX_BACKLOG      1024      /* --max-backlog floor: room for a few lines */
/* Joins and leaves are announced while at most this many are connected; --announce-max.
 * Announcing every join to everyone costs N²/2 deliveries for N people: 500,000 to fill a
 * room of 1,000, fifty million for 10,000 (docs/PERFORMANCE.md). */
#define DEFAULT_ANNOUNCE_MAX 1000
/* Limits meant for hostile clients (docs/SECURITY.md); 0 turns each one off. */
#define DEFAULT_MAX_CLIENTS       10000 /* connections at once; --max-clients */
#define DEFAULT_MAX_PER_IP        16    /* connections from one address; --max-per-ip */
#define DEFAULT_HANDSHAKE_TIMEOUT 30    /* seconds to give a valid pseudo; --handshake-timeout */
#define DEFAULT_IDLE_TIMEOUT      0     /* seconds without a line once joined; --idle-timeout */
#define DEFAULT_FLOOD_BURST       10    /* lines at once; --flood-burst */
#define DEFAULT_FLOOD_RATE        5     /* lines per second after the burst; --flood-rate */
#define MAX_TIMEOUT               (31 * 24 * 3600) /* a month: timeouts' ceiling, seconds */
#define MAX_FLOOD                 1000000          /* --flood-burst and --flood-rate ceiling */
/* Rooms and their history (docs/PROTOCOL.md). A room keeps references to its last lines:
 * at most --max-rooms × --history lines of up to --max-line bytes stay in memory. */
#define DEFAULT_HISTORY   50    /* lines a room keeps and sends to a newcomer; --history */
#define DEFAULT_MAX_ROOMS 256   /* rooms at once, the default one included; --max-rooms */
#define MAX_HISTORY       10000 /* --history ceiling: a newcomer reads it in one go */
/* The database keeps every line for --history-days days (0: forever), and a month is what
 * people expect of a chat's search; the ceiling is a century. */
#define DEFAULT_HISTORY_DAYS 30
#define MAX_HISTORY_DAYS     36500
/* --max-rooms ceiling. A room costs a slot per loop thread from the start, and looking
 * one up by name walks the rooms: both stay small up to a few thousand. */
#define MAX_ROOMS_CEILING 4096
/* Owned rooms (docs/SECURITY.md): a topic's bytes, as IRC's usual TOPICLEN; entries in each
 * of a room's lists (operators, bans, invitations), which are searched in order; rooms an
 * account may found, so that no one account fills the table of --max-rooms. */
#define DEFAULT_MAX_TOPIC       390 /* bytes; --max-topic */
#define DEFAULT_MAX_ROOM_LIST   100 /* entries per list; --max-room-list */
#define DEFAULT_MAX_OWNED_ROOMS 10  /* rooms founded per account; --max-owned-rooms */
#define MAX_ROOM_LIST_CEILING   10000
/* The cluster (docs/ARCHITECTURE.md): a node whose heartbeat is not seen for --node-ttl
 * seconds is taken for dead, and its people are announced gone; --cluster-backlog events
 * of this server's may wait for the engine while it is out of reach, then lines are
 * refused with a notice. */
#define DEFAULT_NODE_TTL        10
#define MAX_NODE_TTL            3600
#define DEFAULT_CLUSTER_BACKLOG 10000
#define MAX_CLUSTER_BACKLOG     1000000
/* Bytes in a node's name (--node): a JetStream key's, and what a log line shows. */
#define MAX_NODE_NAME 64

struct server_options {
    char *host;                         /* owned; NULL until given (then main.c asks for it) */
    int port;                           /* 0..65535; 0 lets the system choose (tests use it) */
    unsigned threads;                   /* event-loop threads; 0 until given (then: online CPUs) */
    size_t max_line;                    /* bytes */
    size_t max_backlog;                 /* bytes */
    size_t announce_max;                /* people connected; 0: always announce */
    size_t max_clients;                 /* connections; 0: no limit */
    size_t max_per_ip;                  /* connections from one address; 0: no limit */
    unsigned handshake_timeout;         /* seconds; 0: none */
    unsigned idle_timeout;              /* seconds; 0: none */
    unsigned flood_burst;               /* lines; 0: no flood control */
    unsigned flood_rate;                /* lines per second; 0: no flood control */
    unsigned history;                   /* lines kept per room; 0: none */
    unsigned max_rooms;                 /* rooms at once, the default one included */
    unsigned history_days;              /* days the database keeps lines; 0: forever */
    size_t max_topic;                   /* bytes in an owned room's topic */
    unsigned max_room_list;             /* operators, bans, invitations: each, per room */
    unsigned max_owned_rooms;           /* rooms one account may found; 0: none owned */
    char *db;                           /* owned: the database's path, or ":memory:" */
    char *tls_cert;                     /* owned PEM path (a chain is accepted); NULL: no TLS */
    char *tls_key;                      /* owned PEM path; given with tls_cert */
    int tls_port;                       /* 0..65535, with tls_cert */
    int web_port;                       /* 0..65535; -1: --no-web */
    int irc_port;                       /* 0..65535; -1: none (the default) */
    int irc_tls_port;                   /* 0..65535, with tls_cert; -1: none */
    unsigned irc_ping;                  /* seconds of silence before an IRC PING; 0: none */
    char irc_name[IRC_NAME_MAX + 1];    /* the server's name to IRC clients */
    char *web_origins[MAX_WEB_ORIGINS]; /* owned: "https://example.org", as browsers send them */
    unsigned n_web_origins;
    char *admins[MAX_ADMINS]; /* owned: pseudos as given; powers once logged in */
    unsigned n_admins;
    bool allow_plaintext_passwords; /* passwords accepted unencrypted from another host */
    unsigned login_tries;           /* 0: never slowed */
    unsigned login_delay;           /* seconds */
    unsigned hash_threads;          /* 0 until given (then: half the online CPUs) */
    char *cluster;                  /* owned: the engine's URLs, comma-separated; NULL: alone */
    char *cluster_creds;            /* owned: a NATS credentials file; NULL: none */
    char *node;                     /* owned: this server's name; NULL: host:port */
    unsigned node_ttl;              /* seconds */
    unsigned cluster_backlog;       /* events */
};

enum options_result {
    OPTIONS_RUN = 0,  /* start the server */
    OPTIONS_EXIT = 1, /* --help or --version: print out, exit 0 */
};

/* Parses argv. Returns OPTIONS_RUN or OPTIONS_EXIT, with text to print in *out (help or
 * version), or -EINVAL with a French error message in *out (exit status 2). */
int options_parse(struct server_options *o, int argc, char **argv, struct buf *out);
void options_release(struct server_options *o);

/* --node's default, in out (size bytes, MAX_NODE_NAME + 1 at least): the listening
 * address ("host:port", "[v6]:port"), with the machine's hostname in place of a wildcard
 * host (0.0.0.0, [::]) that every machine of a cluster would share, and what a bucket's
 * key refuses ('[', ']', '%'...) made '-'. */
void options_default_node(const char *listening, const char *hostname, char *out, size_t size);

#endif
