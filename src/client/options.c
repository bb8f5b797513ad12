/* options.c - the client's command line; see options.h for the contract.
 *
 * The client's only thread, at start-up; unit tests call it too. getopt_long() keeps its
 * state in globals, so each parse resets optind to 0 (glibc's full restart) and clears
 * opterr: errors are written here, in French, into the caller's buffer. The address list,
 * nick and file name it stores are owned by struct client_options. Ports, in --port and
 * in --host's addresses, are read by hosts.c alone: digits only, 1 to 65535.
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
    "  -H, --host ADRESSES    adresse du serveur : IPv4, IPv6 ou nom, suivi ou non d'un port\n"
    "                         (hôte, hôte:port, [ipv6]:port) ; plusieurs adresses séparées\n"
    "                         par des virgules sont essayées à tour de rôle, au démarrage\n"
    "                         comme après une connexion perdue (défaut : " DEFAULT_HOST ")\n"
    "  -p, --port PORT        port des adresses qui n'en donnent pas (défaut : 1234, ou\n"
    "                         1235 avec --tls)\n"
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

/* --host's list, once the port its addresses default to is settled. */
static int parse_hosts(struct client_options *o, const char *text, struct buf *out)
{
    struct buf why = BUF_INIT;
    int r = hosts_parse(&o->hosts, text, o->port, &why);
    if (r < 0) {
        r = invalid(out, "causerie : valeur invalide pour --host. %s\n", why.data);
    }
    buf_release(&why);
    return r < 0 ? r : OPTIONS_RUN;
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
    const char *host_arg = NULL; /* borrowed from argv: the last --host */
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
            host_arg = optarg; /* read once --port is known */
            break;
        case 'p':
            if (!hosts_parse_port(optarg, strlen(optarg), &o->port)) {
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
    int r = settle_tls(o, port_given, out);
    if (r == OPTIONS_RUN && host_arg) {
        r = parse_hosts(o, host_arg, out);
    }
    return r;
}

void options_release(struct client_options *o)
{
    hosts_release(&o->hosts);
    free(o->nick);
    free(o->tls_ca);
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
