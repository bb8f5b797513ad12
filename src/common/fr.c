/* fr.c - French wording for system and libuv errors; see fr.h for the contract.
 *
 * Linked into both programs; pure, so any thread may call it: the server's main and
 * loop threads, the client's only thread. One switch over UV_E* codes returns string
 * constants, with nothing allocated or formatted and no locale consulted, so the text is
 * the same whatever LANG says. A code without a sentence of its own falls back to libuv's
 * error name ("EBADF"), which is English but exact.
 */
#include "fr.h"

#include <uv.h>

const char *fr_strerror(int err)
{
    switch (err) {
    case UV_EADDRINUSE:
        return "adresse déjà utilisée (un autre serveur écoute-t-il sur ce port ?)";
    case UV_EADDRNOTAVAIL:
        return "cette adresse n'appartient pas à cette machine";
    case UV_EACCES:
    case UV_EPERM:
        return "permission refusée (les ports sous 1024 demandent des droits)";
    case UV_ECONNREFUSED:
        return "connexion refusée (aucun serveur n'écoute à cette adresse)";
    case UV_ETIMEDOUT:
        return "délai dépassé";
    case UV_EHOSTUNREACH:
        return "machine injoignable";
    case UV_ENETUNREACH:
        return "réseau injoignable";
    case UV_ECONNRESET:
        return "connexion réinitialisée par l'autre côté";
    case UV_EPIPE:
        return "connexion fermée par l'autre côté";
    case UV_EOF:
        return "fin de connexion";
    case UV_EPROTO:
        return "erreur de protocole";
    case UV_EAI_NONAME:
    case UV_EAI_NODATA:
        return "nom de machine inconnu";
    case UV_EAI_AGAIN:
        return "résolution de nom impossible pour l'instant";
    case UV_EAI_FAMILY:
    case UV_EAFNOSUPPORT:
        return "famille d'adresses non prise en charge";
    case UV_EINVAL:
        return "adresse ou port invalide";
    case UV_EMFILE:
    case UV_ENFILE:
        return "trop de fichiers ouverts";
    case UV_ENOMEM:
    case UV_ENOBUFS:
        return "mémoire insuffisante";
    case UV_ECANCELED:
        return "opération annulée";
    default:
        return uv_err_name(err);
    }
}
