/* options.c - the server's command line and --help; see options.h for the contract.
 *
 * Main thread, once at start-up, before any loop thread exists; unit tests call it too.
 * getopt_long() keeps its state in globals, so each parse resets optind to 0 (glibc's full
 * restart) and clears opterr: errors are written here, in French, into the caller's buffer.
 * Numbers go through strtoull() only after a leading digit is seen, since strtoull() would
 * accept a sign or spaces; every bound is checked and trailing characters are refused.
 * The host string it stores is owned by struct server_options.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pseudo.h"
#include "common/xalloc.h"

static const char usage[] =
    "Usage : causerie-server [OPTION]...\n"
    "Serveur de discussion causerie. Sans --host, demande l'adresse IP d'écoute.\n"
    "\n"
    "  -H, --host ADRESSE       adresse d'écoute : IPv4, IPv6 ou nom (défaut : " DEFAULT_HOST ")\n"
    "  -p, --port PORT          port d'écoute, 0 pour un port libre (défaut : 1234)\n"
    "  -t, --threads N          nombre de fils d'exécution (défaut : nombre de processeurs)\n"
    "      --max-line OCTETS    longueur maximale d'une ligne reçue (défaut : 4096)\n"
    "      --max-backlog OCTETS file d'attente maximale d'un client lent, au-delà il est\n"
    "                           déconnecté (défaut : 1048576)\n"
    "      --announce-max N     annonce arrivées et départs tant qu'au plus N personnes\n"
    "                           sont dans le salon, 0 pour toujours (défaut : 1000)\n"
    "\n"
    "Salons et historique :\n"
    "      --max-rooms N        salons à la fois, #général compris (défaut : 256)\n"
    "      --history N          derniers messages gardés par salon et envoyés à qui\n"
    "                           arrive, 0 pour aucun (défaut : 50)\n"
    "      --history-days N     jours pendant lesquels la base garde les messages,\n"
    "                           0 pour toujours (défaut : 30)\n"
    "      --db CHEMIN          base de données du serveur (SQLite), :memory: pour ne\n"
    "                           rien garder sur disque (défaut :\n"
    "                           $XDG_STATE_HOME/causerie/server.db)\n"
    "      --max-topic OCTETS   longueur maximale du sujet d'un salon (défaut : 390)\n"
    "      --max-room-list N    opérateurs, bannis et invités par salon, pour chaque\n"
    "                           liste (défaut : 100)\n"
    "      --max-owned-rooms N  salons qu'un compte peut fonder, 0 pour aucun\n"
    "                           (défaut : 10)\n"
    "\n"
    "Chiffrement et page web :\n"
    "      --tls-cert FICHIER   certificat TLS (PEM, chaîne acceptée) : ouvre un port\n"
    "                           chiffré et chiffre la page web (défaut : aucun)\n"
    "      --tls-key FICHIER    clé privée du certificat (PEM)\n"
    "      --tls-port PORT      port TLS, 0 pour un port libre (défaut : 1235)\n"
    "      --web-port PORT      port de la page web et de son WebSocket, 0 pour un port\n"
    "                           libre (défaut : 8080)\n"
    "      --no-web             pas de page web\n"
    "      --web-origin ORIGINE autorise le WebSocket depuis une autre origine, par\n"
    "                           exemple https://chat.example.org (répétable)\n"
    "      --irc-port PORT      ouvre un port IRC (6667 d'habitude), 0 pour un port\n"
    "                           libre (défaut : aucun)\n"
    "      --irc-tls-port PORT  ouvre un port IRC chiffré (6697 d'habitude), avec\n"
    "                           --tls-cert (défaut : aucun)\n"
    "      --irc-ping SECONDES  un client IRC muet depuis ce délai reçoit PING, et\n"
    "                           part s'il reste muet autant ; 0 pour jamais (défaut : 120)\n"
    "      --irc-name NOM       nom du serveur pour les clients IRC (défaut : causerie)\n"
    "\n"
    "Comptes :\n"
    "      --admin PSEUDO       ce compte enregistré a les pouvoirs de la console\n"
    "                           depuis la discussion (répétable)\n"
    "      --allow-plaintext-passwords\n"
    "                           accepte les mots de passe sur une connexion non\n"
    "                           chiffrée d'une autre machine (déconseillé)\n"
    "      --login-tries N      échecs de mot de passe avant le ralentissement, par\n"
    "                           compte et par adresse, en 10 minutes (défaut : 5)\n"
    "      --login-delay SECONDES\n"
    "                           ensuite, un essai par délai (défaut : 10)\n"
    "      --hash-threads N     mots de passe vérifiés à la fois (défaut : la moitié\n"
    "                           des processeurs, au moins 1)\n"
    "\n"
    "Grappe (plusieurs serveurs, une discussion) :\n"
    "      --cluster URL[,URL]...\n"
    "                           rejoint la grappe par NATS JetStream, par exemple\n"
    "                           nats://127.0.0.1:4222 (défaut : seul)\n"
    "      --cluster-creds FICHIER\n"
    "                           fichier d'identifiants NATS (.creds)\n"
    "      --node NOM           nom de ce serveur dans la grappe (défaut : hôte:port)\n"
    "      --node-ttl SECONDES  un serveur muet depuis ce délai est tenu pour mort et\n"
    "                           ses gens sont annoncés partis (défaut : 10)\n"
    "      --cluster-backlog N  événements gardés quand la grappe est injoignable ;\n"
    "                           au-delà, les messages sont refusés (défaut : 10000)\n"
    "\n"
    "Limites contre les clients hostiles (0 désactive la limite) :\n"
    "      --max-clients N      connexions simultanées au plus (défaut : 10000)\n"
    "      --max-per-ip N       connexions depuis une même adresse (défaut : 16)\n"
    "      --handshake-timeout SECONDES\n"
    "                           délai pour donner un pseudo valide (défaut : 30)\n"
    "      --idle-timeout SECONDES\n"
    "                           déconnecte qui n'envoie rien pendant ce délai (défaut : 0)\n"
    "      --flood-burst N      lignes acceptées d'un coup (défaut : 10)\n"
    "      --flood-rate N       lignes par seconde ensuite ; au-delà, une ligne est refusée\n"
    "                           avec un avis (défaut : 5)\n"
    "\n"
    "  -h, --help               affiche cette aide et quitte\n"
    "  -V, --version            affiche la version et quitte\n"
    "\n"
    "Documentation : causerie-server(1), docs/PROTOCOL.md, docs/SECURITY.md.\n";

enum {
    OPT_MAX_LINE = 256,
    OPT_MAX_BACKLOG,
    OPT_ANNOUNCE_MAX,
    OPT_MAX_CLIENTS,
    OPT_MAX_PER_IP,
    OPT_HANDSHAKE_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_FLOOD_BURST,
    OPT_FLOOD_RATE,
    OPT_HISTORY,
    OPT_HISTORY_DAYS,
    OPT_DB,
    OPT_MAX_ROOMS,
    OPT_MAX_TOPIC,
    OPT_MAX_ROOM_LIST,
    OPT_MAX_OWNED_ROOMS,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_TLS_PORT,
    OPT_WEB_PORT,
    OPT_NO_WEB,
    OPT_WEB_ORIGIN,
    OPT_IRC_PORT,
    OPT_IRC_TLS_PORT,
    OPT_IRC_PING,
    OPT_IRC_NAME,
    OPT_ADMIN,
    OPT_ALLOW_PLAINTEXT_PASSWORDS,
    OPT_LOGIN_TRIES,
    OPT_LOGIN_DELAY,
    OPT_HASH_THREADS,
    OPT_CLUSTER,
    OPT_CLUSTER_CREDS,
    OPT_NODE,
    OPT_NODE_TTL,
    OPT_CLUSTER_BACKLOG,
};

static const struct option long_options[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"threads", required_argument, NULL, 't'},
    {"max-line", required_argument, NULL, OPT_MAX_LINE},
    {"max-backlog", required_argument, NULL, OPT_MAX_BACKLOG},
    {"announce-max", required_argument, NULL, OPT_ANNOUNCE_MAX},
    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
    {"max-per-ip", required_argument, NULL, OPT_MAX_PER_IP},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"flood-burst", required_argument, NULL, OPT_FLOOD_BURST},
    {"flood-rate", required_argument, NULL, OPT_FLOOD_RATE},
    {"history", required_argument, NULL, OPT_HISTORY},
    {"history-days", required_argument, NULL, OPT_HISTORY_DAYS},
    {"db", required_argument, NULL, OPT_DB},
    {"max-rooms", required_argument, NULL, OPT_MAX_ROOMS},
    {"max-topic", required_argument, NULL, OPT_MAX_TOPIC},
    {"max-room-list", required_argument, NULL, OPT_MAX_ROOM_LIST},
    {"max-owned-rooms", required_argument, NULL, OPT_MAX_OWNED_ROOMS},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"tls-port", required_argument, NULL, OPT_TLS_PORT},
    {"web-port", required_argument, NULL, OPT_WEB_PORT},
    {"no-web", no_argument, NULL, OPT_NO_WEB},
    {"irc-port", required_argument, NULL, OPT_IRC_PORT},
    {"irc-tls-port", required_argument, NULL, OPT_IRC_TLS_PORT},
    {"irc-ping", required_argument, NULL, OPT_IRC_PING},
    {"irc-name", required_argument, NULL, OPT_IRC_NAME},
    {"web-origin", required_argument, NULL, OPT_WEB_ORIGIN},
    {"admin", required_argument, NULL, OPT_ADMIN},
    {"allow-plaintext-passwords", no_argument, NULL, OPT_ALLOW_PLAINTEXT_PASSWORDS},
    {"login-tries", required_argument, NULL, OPT_LOGIN_TRIES},
    {"login-delay", required_argument, NULL, OPT_LOGIN_DELAY},
    {"hash-threads", required_argument, NULL, OPT_HASH_THREADS},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    {"cluster-creds", required_argument, NULL, OPT_CLUSTER_CREDS},
    {"node", required_argument, NULL, OPT_NODE},
    {"node-ttl", required_argument, NULL, OPT_NODE_TTL},
    {"cluster-backlog", required_argument, NULL, OPT_CLUSTER_BACKLOG},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Parses a whole decimal number within [min, max]; no sign, no trailing garbage. */
static bool parse_number(const char *s, unsigned long long min, unsigned long long max,
                         unsigned long long *out)
{
    if (*s < '0' || *s > '9') {
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

static int bad_value(struct buf *out, const char *option, const char *value, const char *want)
{
    buf_appendf(out, "causerie-server : valeur invalide pour %s : « %s » (attendu : %s)\n", option,
                value, want);
    return -EINVAL;
}

static void set_defaults(struct server_options *o)
{
    o->host = NULL;
    o->port = DEFAULT_PORT;
    o->threads = 0;
    o->max_line = DEFAULT_MAX_LINE;
    o->max_backlog = DEFAULT_MAX_BACKLOG;
    o->announce_max = DEFAULT_ANNOUNCE_MAX;
    o->max_clients = DEFAULT_MAX_CLIENTS;
    o->max_per_ip = DEFAULT_MAX_PER_IP;
    o->handshake_timeout = DEFAULT_HANDSHAKE_TIMEOUT;
    o->idle_timeout = DEFAULT_IDLE_TIMEOUT;
    o->flood_burst = DEFAULT_FLOOD_BURST;
    o->flood_rate = DEFAULT_FLOOD_RATE;
    o->history = DEFAULT_HISTORY;
    o->max_rooms = DEFAULT_MAX_ROOMS;
    o->history_days = DEFAULT_HISTORY_DAYS;
    o->max_topic = DEFAULT_MAX_TOPIC;
    o->max_room_list = DEFAULT_MAX_ROOM_LIST;
    o->max_owned_rooms = DEFAULT_MAX_OWNED_ROOMS;
    o->db = NULL;
    o->tls_cert = NULL;
    o->tls_key = NULL;
    o->tls_port = DEFAULT_TLS_PORT;
    o->web_port = DEFAULT_WEB_PORT;
    o->irc_port = -1;
    o->irc_tls_port = -1;
    o->irc_ping = DEFAULT_IRC_PING;
    snprintf(o->irc_name, sizeof(o->irc_name), "%s", DEFAULT_IRC_NAME);
    o->n_web_origins = 0;
    o->n_admins = 0;
    o->allow_plaintext_passwords = false;
    o->login_tries = DEFAULT_LOGIN_TRIES;
    o->login_delay = DEFAULT_LOGIN_DELAY;
    o->hash_threads = DEFAULT_HASH_THREADS;
    o->cluster = NULL;
    o->cluster_creds = NULL;
    o->node = NULL;
    o->node_ttl = DEFAULT_NODE_TTL;
    o->cluster_backlog = DEFAULT_CLUSTER_BACKLOG;
}

/* An origin as a browser sends it: a scheme, "://", a host and maybe a port, nothing
 * after; spaces and controls would never match anything a browser sends. */
static bool valid_origin(const char *s)
{
    const char *rest = !strncmp(s, "http://", 7)    ? s + 7
                       : !strncmp(s, "https://", 8) ? s + 8
                                                    : NULL;
    if (!rest || *rest == '\0' || strchr(rest, '/')) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7F) {
            return false;
        }
    }
    return true;
}

/* Applies one of the options of TLS and the web page; returns 0 or -EINVAL. */
static int apply_web(struct server_options *o, int opt, const char *arg, struct buf *out)
{
    unsigned long long v;
    switch (opt) {
    case OPT_TLS_CERT:
    case OPT_TLS_KEY:
        if (*arg == '\0') {
            return bad_value(out, opt == OPT_TLS_CERT ? "--tls-cert" : "--tls-key", arg,
                             "un chemin de fichier PEM");
        }
        char **field = opt == OPT_TLS_CERT ? &o->tls_cert : &o->tls_key;
        free(*field);
        *field = xstrdup(arg);
        return 0;
    case OPT_TLS_PORT:
    case OPT_WEB_PORT:
        if (!parse_number(arg, 0, 65535, &v)) {
            return bad_value(out, opt == OPT_TLS_PORT ? "--tls-port" : "--web-port", arg,
                             "un nombre de 0 à 65535");
        }
        *(opt == OPT_TLS_PORT ? &o->tls_port : &o->web_port) = (int)v;
        return 0;
    case OPT_NO_WEB:
        o->web_port = -1;
        return 0;
    case OPT_IRC_PORT:
    case OPT_IRC_TLS_PORT:
        if (!parse_number(arg, 0, 65535, &v)) {
            return bad_value(out, opt == OPT_IRC_PORT ? "--irc-port" : "--irc-tls-port", arg,
                             "un nombre de 0 à 65535");
        }
        *(opt == OPT_IRC_PORT ? &o->irc_port : &o->irc_tls_port) = (int)v;
        return 0;
    case OPT_IRC_PING:
        if (!parse_number(arg, 0, MAX_TIMEOUT, &v)) {
            return bad_value(out, "--irc-ping", arg,
                             "un nombre de secondes de 0 à 2678400, 0 pour jamais");
        }
        o->irc_ping = (unsigned)v;
        return 0;
    case OPT_IRC_NAME:
        /* A host name's characters: it is the prefix of every numeric, where a space or a
         * ':' would cut the line, and the host part of everyone's prefix. */
        if (*arg == '\0' || strlen(arg) > IRC_NAME_MAX ||
            strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                strlen(arg)) {
            return bad_value(out, "--irc-name", arg,
                             "un nom d'hôte : 1 à 63 lettres ASCII, chiffres, points et tirets");
        }
        snprintf(o->irc_name, sizeof(o->irc_name), "%s", arg);
        return 0;
    default: /* OPT_WEB_ORIGIN */
        if (!valid_origin(arg)) {
            return bad_value(out, "--web-origin", arg,
                             "une origine comme https://chat.example.org ou http://hôte:port");
        }
        if (o->n_web_origins == MAX_WEB_ORIGINS) {
            return bad_value(out, "--web-origin", arg, "16 origines au plus");
        }
        o->web_origins[o->n_web_origins++] = xstrdup(arg);
        return 0;
    }
}

/* Applies one of the options of accounts; returns 0 or -EINVAL. */
static int apply_accounts(struct server_options *o, int opt, const char *arg, struct buf *out)
{
    unsigned long long v;
    switch (opt) {
    case OPT_ADMIN:
        if (pseudo_check(arg, strlen(arg)) != PSEUDO_OK) {
            return bad_value(out, "--admin", arg, "un pseudo valide");
        }
        if (o->n_admins == MAX_ADMINS) {
            return bad_value(out, "--admin", arg, "16 administrateurs au plus");
        }
        o->admins[o->n_admins++] = xstrdup(arg);
        return 0;
    case OPT_ALLOW_PLAINTEXT_PASSWORDS:
        o->allow_plaintext_passwords = true;
        return 0;
    case OPT_LOGIN_TRIES:
        if (!parse_number(arg, 0, MAX_LOGIN_TRIES, &v)) {
            return bad_value(out, "--login-tries", arg, "un nombre d'essais de 0 à 1000");
        }
        o->login_tries = (unsigned)v;
        return 0;
    case OPT_HASH_THREADS:
        if (!parse_number(arg, 1, MAX_HASH_THREADS, &v)) {
            return bad_value(out, "--hash-threads", arg, "un nombre de 1 à 64");
        }
        o->hash_threads = (unsigned)v;
        return 0;
    default: /* OPT_LOGIN_DELAY */
        if (!parse_number(arg, 0, MAX_TIMEOUT, &v)) {
            return bad_value(out, "--login-delay", arg, "un nombre de secondes");
        }
        o->login_delay = (unsigned)v;
        return 0;
    }
}

/* Applies one of the limits meant for hostile clients; returns 0 or -EINVAL. */
static int apply_limit(struct server_options *o, int opt, const char *arg, struct buf *out)
{
    unsigned long long v;
    switch (opt) {
    case OPT_MAX_CLIENTS:
        if (!parse_number(arg, 0, UINT32_MAX, &v)) {
            return bad_value(out, "--max-clients", arg,
                             "un nombre de connexions, 0 pour aucune limite");
        }
        o->max_clients = (size_t)v;
        return 0;
    case OPT_MAX_PER_IP:
        if (!parse_number(arg, 0, UINT32_MAX, &v)) {
            return bad_value(out, "--max-per-ip", arg,
                             "un nombre de connexions, 0 pour aucune limite");
        }
        o->max_per_ip = (size_t)v;
        return 0;
    case OPT_HANDSHAKE_TIMEOUT:
    case OPT_IDLE_TIMEOUT:
        if (!parse_number(arg, 0, MAX_TIMEOUT, &v)) {
            return bad_value(out,
                             opt == OPT_IDLE_TIMEOUT ? "--idle-timeout" : "--handshake-timeout",
                             arg, "un nombre de secondes de 0 à 2678400, 0 pour aucun délai");
        }
        *(opt == OPT_IDLE_TIMEOUT ? &o->idle_timeout : &o->handshake_timeout) = (unsigned)v;
        return 0;
    default: /* OPT_FLOOD_BURST, OPT_FLOOD_RATE */
        if (!parse_number(arg, 0, MAX_FLOOD, &v)) {
            return bad_value(out, opt == OPT_FLOOD_RATE ? "--flood-rate" : "--flood-burst", arg,
                             "un nombre de 0 à 1000000, 0 pour aucun contrôle");
        }
        *(opt == OPT_FLOOD_RATE ? &o->flood_rate : &o->flood_burst) = (unsigned)v;
        return 0;
    }
}

/* Applies one of the options of rooms and history; returns 0 or -EINVAL. */
static int apply_rooms(struct server_options *o, int opt, const char *arg, struct buf *out)
{
    unsigned long long v;
    switch (opt) {
    case OPT_HISTORY:
        if (!parse_number(arg, 0, MAX_HISTORY, &v)) {
            return bad_value(out, "--history", arg, "un nombre de messages de 0 à 10000");
        }
        o->history = (unsigned)v;
        return 0;
    case OPT_MAX_ROOMS:
        if (!parse_number(arg, 1, MAX_ROOMS_CEILING, &v)) {
            return bad_value(out, "--max-rooms", arg, "un nombre de salons de 1 à 4096");
        }
        o->max_rooms = (unsigned)v;
        return 0;
    case OPT_HISTORY_DAYS:
        if (!parse_number(arg, 0, MAX_HISTORY_DAYS, &v)) {
            return bad_value(out, "--history-days", arg, "un nombre de jours de 0 à 36500");
        }
        o->history_days = (unsigned)v;
        return 0;
    default: /* OPT_DB */
        if (*arg == '\0') {
            return bad_value(out, "--db", arg, "un chemin de fichier, ou :memory:");
        }
        free(o->db);
        o->db = xstrdup(arg);
        return 0;
    }
}

/* Applies one of the limits of owned rooms; returns 0 or -EINVAL. */
static int apply_owned(struct server_options *o, int opt, const char *arg, struct buf *out)
{
    unsigned long long v;
    switch (opt) {
    case OPT_MAX_TOPIC:
        if (!parse_number(arg, 1, MAX_LINE_CEILING, &v)) {
            return bad_value(out, "--max-topic", arg, "un nombre d'octets de 1 à 1048576");
        }
        o->max_topic = (size_t)v;
        return 0;
    case OPT_MAX_ROOM_LIST:
        if (!parse_number(arg, 1, MAX_ROOM_LIST_CEILING, &v)) {
            return bad_value(out, "--max-room-list", arg, "un nombre d'entrées de 1 à 10000");
        }
        o->max_room_list = (unsigned)v;
        return 0;
    default: /* OPT_MAX_OWNED_ROOMS */
        if (!parse_number(arg, 0, MAX_ROOMS_CEILING, &v)) {
            return bad_value(out, "--max-owned-rooms", arg, "un nombre de salons de 0 à 4096");
        }
        o->max_owned_rooms = (unsigned)v;
        return 0;
    }
}

/* Whether s is a list of engine URLs: nats:// or tls:// each, comma-separated, with a host
 * and no space or control character; nats.c checks the rest when it connects. */
static bool valid_cluster_urls(const char *s)
{
    const char *p = s;
    do {
        const char *rest = !strncmp(p, "nats://", 7)  ? p + 7
                           : !strncmp(p, "tls://", 6) ? p + 6
                                                      : NULL;
        if (!rest || *rest == ',' || *rest == '\0') {
            return false;
        }
        p = rest + strcspn(rest, ",");
        for (const char *c = rest; c < p; c++) {
            if ((unsigned char)*c <= ' ' || *c == 0x7F) {
                return false;
            }
        }
    } while (*p++ == ',');
    return true;
}

/* A node's name: 1 to MAX_NODE_NAME letters, digits, '-', '_', '.' or ':' (a key in a
 * JetStream bucket, and safe in a log line). */
static bool valid_node_name(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= MAX_NODE_NAME &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") == n;
}

static void set_string(char **field, const char *arg)
{
    free(*field);
    *field = xstrdup(arg);
}

/* Applies one of the options of the cluster; returns 0 or -EINVAL. */
static int apply_cluster(struct server_options *o, int opt, const char *arg, struct buf *out)
{
    unsigned long long v;
    switch (opt) {
    case OPT_CLUSTER:
        if (!valid_cluster_urls(arg)) {
            return bad_value(out, "--cluster", arg,
                             "des adresses nats://HÔTE:PORT séparées par des virgules");
        }
        set_string(&o->cluster, arg);
        return 0;
    case OPT_CLUSTER_CREDS:
        if (*arg == '\0') {
            return bad_value(out, "--cluster-creds", arg, "un chemin de fichier .creds");
        }
        set_string(&o->cluster_creds, arg);
        return 0;
    case OPT_NODE:
        if (!valid_node_name(arg)) {
            return bad_value(out, "--node", arg,
                             "1 à 64 lettres, chiffres, « - », « _ », « . » ou « : »");
        }
        set_string(&o->node, arg);
        return 0;
    case OPT_NODE_TTL:
        if (!parse_number(arg, 1, MAX_NODE_TTL, &v)) {
            return bad_value(out, "--node-ttl", arg, "un nombre de secondes de 1 à 3600");
        }
        o->node_ttl = (unsigned)v;
        return 0;
    default: /* OPT_CLUSTER_BACKLOG */
        if (!parse_number(arg, 1, MAX_CLUSTER_BACKLOG, &v)) {
            return bad_value(out, "--cluster-backlog", arg,
                             "un nombre d'événements de 1 à 1000000");
        }
        o->cluster_backlog = (unsigned)v;
        return 0;
    }
}

/* The database's default path: $XDG_STATE_HOME/causerie/server.db, or
 * ~/.local/state/causerie/server.db when XDG_STATE_HOME is unset or not absolute (as the
 * XDG Base Directory specification says). Returns 0, or -EINVAL with why in out. */
static int default_db(struct server_options *o, struct buf *out)
{
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    struct buf path = BUF_INIT;
    if (state && state[0] == '/') {
        buf_appendf(&path, "%s/causerie/server.db", state);
    } else if (home && home[0] == '/') {
        buf_appendf(&path, "%s/.local/state/causerie/server.db", home);
    } else {
        buf_append_str(out, "causerie-server : ni XDG_STATE_HOME ni HOME ne disent où garder la "
                            "base de données : donnez --db CHEMIN (ou --db :memory:)\n");
        return -EINVAL;
    }
    o->db = buf_detach(&path);
    return 0;
}

/* Applies one parsed option; returns 0, OPTIONS_EXIT or -EINVAL. */
static int apply(struct server_options *o, int opt, const char *arg, struct buf *out)
{
    unsigned long long v;
    switch (opt) {
    case 'H':
        if (*arg == '\0') {
            return bad_value(out, "--host", arg, "une adresse IP ou un nom");
        }
        free(o->host);
        o->host = xstrdup(arg);
        return 0;
    case 'p':
        if (!parse_number(arg, 0, 65535, &v)) {
            return bad_value(out, "--port", arg, "un nombre de 0 à 65535");
        }
        o->port = (int)v;
        return 0;
    case 't':
        if (!parse_number(arg, 1, MAX_THREADS, &v)) {
            return bad_value(out, "--threads", arg, "un nombre de 1 à 64");
        }
        o->threads = (unsigned)v;
        return 0;
    case OPT_MAX_LINE:
        if (!parse_number(arg, 1, MAX_LINE_CEILING, &v)) {
            return bad_value(out, "--max-line", arg, "un nombre d'octets de 1 à 1048576");
        }
        o->max_line = (size_t)v;
        return 0;
    case OPT_MAX_BACKLOG:
        if (!parse_number(arg, MIN_MAX_BACKLOG, SIZE_MAX / 2, &v)) {
            return bad_value(out, "--max-backlog", arg, "un nombre d'octets, 1024 au moins");
        }
        o->max_backlog = (size_t)v;
        return 0;
    case OPT_ANNOUNCE_MAX:
        if (!parse_number(arg, 0, SIZE_MAX / 2, &v)) {
            return bad_value(out, "--announce-max", arg, "un nombre de personnes, 0 pour toujours");
        }
        o->announce_max = (size_t)v;
        return 0;
    case OPT_MAX_CLIENTS:
    case OPT_MAX_PER_IP:
    case OPT_HANDSHAKE_TIMEOUT:
    case OPT_IDLE_TIMEOUT:
    case OPT_FLOOD_BURST:
    case OPT_FLOOD_RATE:
        return apply_limit(o, opt, arg, out);
    case OPT_HISTORY:
    case OPT_MAX_ROOMS:
    case OPT_HISTORY_DAYS:
    case OPT_DB:
        return apply_rooms(o, opt, arg, out);
    case OPT_MAX_TOPIC:
    case OPT_MAX_ROOM_LIST:
    case OPT_MAX_OWNED_ROOMS:
        return apply_owned(o, opt, arg, out);
    case OPT_TLS_CERT:
    case OPT_TLS_KEY:
    case OPT_TLS_PORT:
    case OPT_WEB_PORT:
    case OPT_NO_WEB:
    case OPT_WEB_ORIGIN:
    case OPT_IRC_PORT:
    case OPT_IRC_TLS_PORT:
    case OPT_IRC_PING:
    case OPT_IRC_NAME:
        return apply_web(o, opt, arg, out);
    case OPT_ADMIN:
    case OPT_ALLOW_PLAINTEXT_PASSWORDS:
    case OPT_LOGIN_TRIES:
    case OPT_LOGIN_DELAY:
    case OPT_HASH_THREADS:
        return apply_accounts(o, opt, arg, out);
    case OPT_CLUSTER:
    case OPT_CLUSTER_CREDS:
    case OPT_NODE:
    case OPT_NODE_TTL:
    case OPT_CLUSTER_BACKLOG:
        return apply_cluster(o, opt, arg, out);
    case 'h':
        buf_append_str(out, usage);
        return OPTIONS_EXIT;
    case 'V':
        buf_append_str(out, "causerie-server " CAUSERIE_VERSION "\n");
        return OPTIONS_EXIT;
    default:
        return -EINVAL;
    }
}

int options_parse(struct server_options *o, int argc, char **argv, struct buf *out)
{
    set_defaults(o);
    optind = 0; /* glibc: start afresh, so the parser can run more than once */
    opterr = 0; /* we report errors ourselves, in French */
    int opt;
    while ((opt = getopt_long(argc, argv, ":H:p:t:hV", long_options, NULL)) != -1) {
        if (opt == '?' && optopt) {
            /* An unknown short option, maybe inside a group ("-zV"): argv[optind - 1] is
             * not necessarily the argument it came from, optopt is the letter itself. */
            buf_appendf(out, "causerie-server : option inconnue : -%c\n", optopt);
            buf_append_str(out, "Essayez « causerie-server --help ».\n");
            return -EINVAL;
        }
        if (opt == '?' || opt == ':') {
            const char *what = argv[optind - 1];
            buf_appendf(out,
                        opt == '?' ? "causerie-server : option inconnue : %s\n"
                                   : "causerie-server : l'option %s demande une valeur\n",
                        what);
            buf_append_str(out, "Essayez « causerie-server --help ».\n");
            return -EINVAL;
        }
        int r = apply(o, opt, optarg, out);
        if (r != 0) {
            return r;
        }
    }
    if (optind < argc) {
        buf_appendf(out, "causerie-server : argument inattendu : %s\n", argv[optind]);
        buf_append_str(out, "Essayez « causerie-server --help ».\n");
        return -EINVAL;
    }
    if (!o->tls_cert != !o->tls_key) {
        buf_appendf(out, "causerie-server : %s demande aussi %s\n",
                    o->tls_cert ? "--tls-cert" : "--tls-key",
                    o->tls_cert ? "--tls-key (la clé privée du certificat)" : "--tls-cert");
        return -EINVAL;
    }
    if (o->irc_tls_port >= 0 && !o->tls_cert) {
        buf_appendf(out, "causerie-server : --irc-tls-port demande aussi --tls-cert et "
                         "--tls-key\n");
        return -EINVAL;
    }
    if (!o->cluster && (o->cluster_creds || o->node)) {
        buf_appendf(out, "causerie-server : %s demande aussi --cluster\n",
                    o->node ? "--node" : "--cluster-creds");
        return -EINVAL;
    }
    if (!o->db && default_db(o, out) < 0) {
        return -EINVAL;
    }
    return OPTIONS_RUN;
}

void options_release(struct server_options *o)
{
    free(o->host);
    o->host = NULL;
    free(o->db);
    o->db = NULL;
    free(o->tls_cert);
    o->tls_cert = NULL;
    free(o->tls_key);
    o->tls_key = NULL;
    for (unsigned i = 0; i < o->n_web_origins; i++) {
        free(o->web_origins[i]);
    }
    o->n_web_origins = 0;
    for (unsigned i = 0; i < o->n_admins; i++) {
        free(o->admins[i]);
    }
    o->n_admins = 0;
    free(o->cluster);
    o->cluster = NULL;
    free(o->cluster_creds);
    o->cluster_creds = NULL;
    free(o->node);
    o->node = NULL;
}

void options_default_node(const char *listening, const char *hostname, char *out, size_t size)
{
    const char *port = strrchr(listening, ':');
    size_t host_len = port ? (size_t)(port - listening) : strlen(listening);
    bool wildcard = (host_len == 7 && strncmp(listening, "0.0.0.0", 7) == 0) ||
                    (host_len == 4 && strncmp(listening, "[::]", 4) == 0);
    if (wildcard && hostname && hostname[0]) {
        snprintf(out, size, "%s%s", hostname, port ? port : "");
    } else {
        snprintf(out, size, "%s", listening);
    }
    for (char *p = out; *p; p++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:", *p)) {
            *p = '-';
        }
    }
}
