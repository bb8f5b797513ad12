/* options.c - the client's command line and address syntax; see options.h for the contract.
 *
 * The client's only thread, at start-up and at the address prompt; unit tests call it too.
 * getopt_long() keeps its state in globals, so each parse resets optind to 0 (glibc's full
 * restart) and clears opterr: errors are written here, in French, into the caller's buffer.
 * The host and nick strings it stores are owned by struct client_options. An IPv6 address
 * takes a port only in brackets, since a bare one is all colons; a port is digits only,
 * 1 to 65535, so "+80" and " 80" are refused rather than guessed at.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static const char usage[] =
    "Usage : causerie [OPTION]...\n"
    "Client de discussion causerie. Sans option, demande l'adresse du serveur puis le pseudo.\n"
    "\n"
    "  -H, --host ADRESSE     adresse du serveur : IPv4, IPv6 ou nom (défaut : " DEFAULT_HOST ")\n"
    "  -p, --port PORT        port du serveur (défaut : 1234, ou 1235 avec --tls)\n"
    "  -n, --nick PSEUDO      pseudo à utiliser\n"
    "      --flood-burst N    lignes envoyées d'un coup (défaut : 10)\n"
    "      --flood-rate N     lignes par seconde ensuite, comme le contrôle de flot du\n"
    "                         serveur (défaut : 5) ; 0 : tout envoyer sans attendre\n"
    "      --history-size N   lignes envoyées gardées d'une session à l'autre dans\n"
    "                         $XDG_STATE_HOME/causerie/history (défaut : 1000 ; 0 : aucune)\n"
    "      --no-color         ni couleur ni attribut, même sur un terminal (comme NO_COLOR)\n"
    "      --no-reconnect     connexion perdue : quitter (code 1) au lieu de se reconnecter\n"
    "      --tls              connexion chiffrée (TLS 1.2 ou 1.3) ; le certificat du serveur\n"
    "                         est vérifié avec les autorités du système et doit porter le\n"
    "                         nom ou l'adresse donnés\n"
    "      --tls-ca FICHIER   fait aussi confiance à l'autorité de FICHIER (PEM), par\n"
    "                         exemple celle d'un serveur au certificat auto-signé ;\n"
    "                         implique --tls\n"
    "      --tls-insecure     ne vérifie pas le certificat du serveur (déconseillé :\n"
    "                         n'importe qui peut se faire passer pour lui) ; implique --tls\n"
    "  -h, --help             affiche cette aide et quitte\n"
    "  -V, --version          affiche la version et quitte\n"
    "\n"
    "Quand l'entrée standard n'est pas un terminal, chaque ligne lue est envoyée et les\n"
    "lignes reçues sont écrites sur la sortie standard ; sans --host et --nick, les deux\n"
    "premières lignes donnent l'adresse et le pseudo.\n"
    "\n"
    "Dans la discussion : /help pour l'aide du client et du serveur, /quit (ou Ctrl-D) pour\n"
    "quitter, Tab pour compléter un pseudo ou une commande.\n";

enum {
    OPT_FLOOD_BURST = 256, /* long options without a letter */
    OPT_FLOOD_RATE,
    OPT_HISTORY_SIZE,
    OPT_NO_COLOR,
    OPT_NO_RECONNECT,
    OPT_TLS,
    OPT_TLS_CA,
    OPT_TLS_INSECURE,
};

static const struct option long_options[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"nick", required_argument, NULL, 'n'},
    {"flood-burst", required_argument, NULL, OPT_FLOOD_BURST},
    {"flood-rate", required_argument, NULL, OPT_FLOOD_RATE},
    {"history-size", required_argument, NULL, OPT_HISTORY_SIZE},
    {"no-color", no_argument, NULL, OPT_NO_COLOR},
    {"no-reconnect", no_argument, NULL, OPT_NO_RECONNECT},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tls-ca", required_argument, NULL, OPT_TLS_CA},
    {"tls-insecure", no_argument, NULL, OPT_TLS_INSECURE},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* A port: a whole decimal number from 1 to 65535. */
static bool parse_port(const char *s, size_t len, int *port)
{
    if (len == 0 || len > 5) {
        return false;
    }
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) {
        return false;
    }
    *port = v;
    return true;
}

/* A count: a whole decimal number from 0 to OPTIONS_NUMBER_MAX. */
static bool parse_number(const char *s, unsigned *out)
{
    size_t len = strlen(s);
    if (len == 0 || len > 7) {
        return false;
    }
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > OPTIONS_NUMBER_MAX) {
        return false;
    }
    *out = v;
    return true;
}

static void set_host(char **host, const char *s, size_t len)
{
    free(*host);
    *host = xmemdup0(s, len);
}

int options_parse_address(const char *text, char **host, int *port, struct buf *err)
{
    size_t len = strlen(text);
    while (len > 0 && strchr(" \t\r\n", text[len - 1])) {
        len--;
    }
    while (len > 0 && (*text == ' ' || *text == '\t')) {
        text++;
        len--;
    }
    if (len == 0) {
        return 0;
    }
    const char *colon = memchr(text, ':', len);
    if (text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (!close || close == text + 1) {
            goto bad;
        }
        size_t rest = len - (size_t)(close + 1 - text);
        if (rest > 0 && (close[1] != ':' || !parse_port(close + 2, rest - 1, port))) {
            goto bad;
        }
        set_host(host, text + 1, (size_t)(close - text - 1));
        return 0;
    }
    if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - text))) {
        set_host(host, text, len); /* two colons or more: a bare IPv6 address */
        return 0;
    }
    if (colon) {
        if (colon == text || !parse_port(colon + 1, len - (size_t)(colon + 1 - text), port)) {
            goto bad;
        }
        len = (size_t)(colon - text);
    }
    set_host(host, text, len);
    return 0;
bad:
    buf_appendf(err,
                "Adresse invalide : « %.*s » (exemples : 127.0.0.1, exemple.org:1234, "
                "[::1]:1234).",
                (int)len, text);
    return -EINVAL;
}

static int invalid(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int invalid(struct buf *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(out, fmt, ap);
    va_end(ap);
    buf_append_str(out, "Essayez « causerie --help ».\n");
    return -EINVAL;
}

/* The options that take a count: where each one goes. */
static unsigned *number_option(struct client_options *o, int opt, const char **name)
{
    switch (opt) {
    case OPT_FLOOD_BURST:
        *name = "--flood-burst";
        return &o->flood_burst;
    case OPT_FLOOD_RATE:
        *name = "--flood-rate";
        return &o->flood_rate;
    case OPT_HISTORY_SIZE:
        *name = "--history-size";
        return &o->history_size;
    default:
        return NULL;
    }
}

/* What the TLS options imply once all are read: --tls, and its port. */
static int settle_tls(struct client_options *o, bool port_given, struct buf *out)
{
    if (o->tls_ca && o->tls_insecure) {
        return invalid(out,
                       "causerie : --tls-ca et --tls-insecure s'excluent : l'un fait "
                       "confiance à une autorité, l'autre ne vérifie rien%s\n",
                       "");
    }
    o->tls = o->tls || o->tls_ca || o->tls_insecure;
    if (o->tls && !port_given) {
        o->port = DEFAULT_TLS_PORT;
    }
    return OPTIONS_RUN;
}

int options_parse(struct client_options *o, int argc, char **argv, struct buf *out)
{
    *o = (struct client_options){
        .port = DEFAULT_PORT,
        .flood_burst = DEFAULT_FLOOD_BURST,
        .flood_rate = DEFAULT_FLOOD_RATE,
        .history_size = DEFAULT_HISTORY_SIZE,
    };
    optind = 0; /* glibc: start afresh, so the parser can run more than once */
    opterr = 0; /* we report errors ourselves, in French */
    bool port_given = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ":H:p:n:hV", long_options, NULL)) != -1) {
        const char *name;
        unsigned *number = number_option(o, opt, &name);
        if (number) {
            if (!parse_number(optarg, number)) {
                return invalid(out,
                               "causerie : valeur invalide pour %s : « %s » (attendu : un nombre "
                               "de 0 à %d)\n",
                               name, optarg, OPTIONS_NUMBER_MAX);
            }
            continue;
        }
        switch (opt) {
        case 'H':
            if (*optarg == '\0') {
                return invalid(out, "causerie : --host demande une adresse%s\n", "");
            }
            set_host(&o->host, optarg, strlen(optarg));
            break;
        case 'p':
            if (!parse_port(optarg, strlen(optarg), &o->port)) {
                return invalid(out,
                               "causerie : valeur invalide pour --port : « %s » (attendu : un "
                               "nombre de 1 à 65535)\n",
                               optarg);
            }
            port_given = true;
            break;
        case 'n':
            free(o->nick);
            o->nick = xstrdup(optarg);
            break;
        case OPT_NO_COLOR:
            o->no_color = true;
            break;
        case OPT_NO_RECONNECT:
            o->no_reconnect = true;
            break;
        case OPT_TLS:
            o->tls = true;
            break;
        case OPT_TLS_CA:
            if (*optarg == '\0') {
                return invalid(out, "causerie : --tls-ca demande un fichier%s\n", "");
            }
            free(o->tls_ca);
            o->tls_ca = xstrdup(optarg);
            break;
        case OPT_TLS_INSECURE:
            o->tls_insecure = true;
            break;
        case 'h':
            buf_append_str(out, usage);
            return OPTIONS_EXIT;
        case 'V':
            buf_append_str(out, "causerie " CAUSERIE_VERSION "\n");
            return OPTIONS_EXIT;
        case ':':
            return invalid(out, "causerie : l'option %s demande une valeur\n", argv[optind - 1]);
        default:
            if (optopt) { /* a letter, maybe inside a group ("-zV"): name the letter */
                return invalid(out, "causerie : option inconnue : -%c\n", optopt);
            }
            return invalid(out, "causerie : option inconnue : %s\n", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return invalid(out, "causerie : argument inattendu : %s\n", argv[optind]);
    }
    return settle_tls(o, port_given, out);
}

void options_release(struct client_options *o)
{
    free(o->host);
    free(o->nick);
    free(o->tls_ca);
    o->host = NULL;
    o->nick = NULL;
    o->tls_ca = NULL;
}

int options_history_path(const char *xdg, const char *home, struct buf *out)
{
    if (xdg && xdg[0] == '/') {
        buf_appendf(out, "%s/causerie/history", xdg);
        return 0;
    }
    if (home && home[0] == '/') {
        buf_appendf(out, "%s/.local/state/causerie/history", home);
        return 0;
    }
    return -ENOENT;
}
