/* login.c - passwords in the line protocol; see login.h.
 *
 * A login is a small record on its loop's list, made when a registered pseudo is given and
 * gone when the password has been judged: the session itself has no field for it, since
 * every connection would pay for one. Its life:
 *
 *   pseudo given ──> '%' prompt ──> password line ──> checked on the thread pool
 *        │ (plaintext from afar, too many tries: refused, back to the pseudo)
 *        ▼
 *   right: joins; or, if the pseudo is held elsewhere, that connection is told and closed
 *   on its own loop, which posts back here, and this one joins in the room it had.
 *   wrong: counted (guard.c), "! Mot de passe incorrect.", back to the pseudo.
 *
 * The commands (/register, /password, /unregister) hash and check on the thread pool the
 * same way, the connection held meanwhile. Each password is wiped where it lay once
 * copied for Argon2 (password.c wipes its own copy).
 */
#include "login.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "client.h"
#include "common/addr.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "common/utf8.h"
#include "common/wipe.h"
#include "common/xalloc.h"
#include "guard.h"
#include "loop.h"
#include "options.h"
#include "owners.h"
#include "password.h"
#include "registry.h"
#include "room.h"
#include "session.h"

/* A pseudo's bytes at most, folded or not: 4 per character. */
#define PSEUDO_BYTES_MAX (PSEUDO_MAX_CHARS * 4)

/* A registered pseudo given at the prompt, whose password is awaited or being checked. */
struct pending {
    struct pending *next; /* the loop's list */
    struct session *s;
    bool checking;                 /* the password is on the thread pool; s is held */
    bool check_only;               /* login_check()'s: the verdict is told, nobody joins */
    char hash[PASSWORD_HASH_SIZE]; /* the account's, as it was when the pseudo was given */
    char host[ADDR_NAME_MAX];      /* where the guesses come from, for guard.c */
    size_t pseudo_len;
    char text[]; /* the pseudo as typed, NUL, its folded key, NUL */
};

struct login_loop {
    struct pending *pending;
    struct log_limit guard_log; /* the log lines of slowed guessing, per second */
} __attribute__((aligned(64)));

static const struct server_options *opts;
static struct loop *event_loops;
static struct login_loop *loops;
static unsigned n_loops;

void login_init(const struct server_options *o, struct loop *l, unsigned loops_count)
{
    opts = o;
    event_loops = l;
    n_loops = loops_count;
    loops = xaligned_calloc(n_loops, sizeof(*loops), 64);
}

void login_shutdown(void)
{
    for (unsigned i = 0; i < n_loops; i++) {
        while (loops[i].pending) { /* sessions still in a login when the server stopped */
            struct pending *p = loops[i].pending;
            loops[i].pending = p->next;
            wipe_bytes(p->hash, sizeof(p->hash));
            free(p);
        }
    }
    free(loops);
    loops = NULL;
}

static struct client *conn(struct session *s)
{
    return session_client(s);
}

static struct login_loop *state(struct session *s)
{
    return &loops[client_loop(conn(s))->index];
}

static uint64_t now_s(struct session *s)
{
    return loop_now(client_loop(conn(s))) / 1000;
}

static const char *key_of(const struct pending *p)
{
    return p->text + p->pseudo_len + 1;
}

static struct pending **find(struct session *s)
{
    struct pending **pp = &state(s)->pending;
    while (*pp && (*pp)->s != s) {
        pp = &(*pp)->next;
    }
    return pp;
}

static void unlink_pending(struct pending *p)
{
    struct pending **pp = find(p->s);
    if (*pp == p) {
        *pp = p->next;
    }
    wipe_bytes(p->hash, sizeof(p->hash));
    free(p);
}

void login_forget(struct session *s)
{
    struct pending *p = *find(s);
    if (p) {
        unlink_pending(p);
    }
}

/* Whether a password may cross s's connection: encrypted, or from this very machine, or
 * the operator said plaintext will do. */
static bool passwords_allowed(struct session *s)
{
    char host[ADDR_NAME_MAX];
    return client_encrypted(conn(s)) || client_peer_host(conn(s), host, sizeof(host)) ||
           opts->allow_plaintext_passwords;
}

/* How to send a password safely here, after what refuses it (a sentence without its
 * final stop). */
static void refuse_plaintext(struct session *s, const char *refusal)
{
    if (opts->tls_cert) {
        session_reply(s, PROTO_ERROR,
                      "%s : connectez-vous avec TLS (causerie --tls, ou la page web en https).",
                      refusal);
    } else {
        session_reply(s, PROTO_ERROR,
                      "%s, et ce serveur n'a pas TLS : son opérateur peut l'activer (--tls-cert) "
                      "ou accepter les mots de passe en clair (--allow-plaintext-passwords).",
                      refusal);
    }
}

static void too_many_tries(struct session *s, unsigned wait)
{
    session_reply(s, PROTO_ERROR, "Trop d'essais : réessayez dans %u s.", wait);
}

/* A wrong password for key from host: counted, and the start of a slowing logged. */
static void wrong(struct session *s, const char *key, const char *host, const char *pseudo)
{
    if (guard_failed(key, host, now_s(s))) {
        size_t skipped;
        if (log_limit_allow(&state(s)->guard_log, loop_now(client_loop(conn(s))), &skipped)) {
            log_warn("mots de passe : %u échecs pour %s ou depuis %s, un essai toutes les %u s "
                     "désormais%s",
                     opts->login_tries, pseudo, host, opts->login_delay,
                     skipped ? " (et d'autres ralentissements non journalisés)" : "");
        }
    }
    session_reply(s, PROTO_ERROR, "Mot de passe incorrect.");
}

bool login_pseudo(struct session *s, const char *pseudo, size_t len)
{
    struct buf key = BUF_INIT;
    pseudo_fold(pseudo, len, &key);
    char hash[PASSWORD_HASH_SIZE];
    if (!accounts_find(key.data, hash)) {
        buf_release(&key);
        return false;
    }
    char host[ADDR_NAME_MAX];
    client_peer_host(conn(s), host, sizeof(host));
    unsigned wait = guard_wait(key.data, host, now_s(s));
    if (!passwords_allowed(s)) {
        char refusal[256];
        snprintf(refusal, sizeof(refusal),
                 "Le pseudo « %.*s » est protégé par un mot de passe, qui ne passe pas en clair",
                 (int)len, pseudo);
        refuse_plaintext(s, refusal);
        session_ask_pseudo(s);
    } else if (wait > 0) {
        too_many_tries(s, wait);
        session_ask_pseudo(s);
    } else {
        login_forget(s); /* a pseudo given again while a password was awaited */
        struct pending *p = xcalloc(1, sizeof(*p) + len + 1 + key.len + 1);
        p->s = s;
        memcpy(p->hash, hash, sizeof(hash));
        memcpy(p->host, host, sizeof(host));
        p->pseudo_len = len;
        memcpy(p->text, pseudo, len);
        memcpy(p->text + len + 1, key.data, key.len + 1);
        p->next = state(s)->pending;
        state(s)->pending = p;
        session_reply(s, PROTO_SECRET, "Mot de passe pour « %.*s » :", (int)len, pseudo);
    }
    wipe_bytes(hash, sizeof(hash));
    buf_release(&key);
    return true;
}

/* ---------------------------------------------------------------- the move */

/* A person logs in while its pseudo is held by another connection: that one is closed on
 * its own loop, and this one joins back on its loop, in the room the other had. */
struct takeover {
    struct person *old;           /* ref held: who holds the pseudo */
    struct session *s;            /* held: the one logging in */
    unsigned s_loop;              /* s's loop */
    bool admin;                   /* s gets the console's powers */
    char room[ROOM_NAME_MAX + 1]; /* the room old was in, or "" */
    size_t pseudo_len;
    char pseudo[];
};

/* s joins as the owner of its pseudo; false if someone holds it. */
static bool join(struct session *s, const char *pseudo, size_t len, const char *room, bool admin)
{
    return session_join(s, pseudo, len, room[0] ? room : NULL,
                        admin ? SESSION_ADMIN : SESSION_LOGGED_IN);
}

static void free_takeover(struct takeover *t)
{
    person_unref(t->old);
    client_unhold(conn(t->s)); /* may free s, if it closed meanwhile */
    free(t);
}

static void run_rejoin(struct loop *l, void *arg)
{
    (void)l;
    struct takeover *t = arg;
    if (client_is_open(conn(t->s)) && !join(t->s, t->pseudo, t->pseudo_len, t->room, t->admin)) {
        session_refuse_pseudo(t->s, t->pseudo, t->pseudo_len);
        session_ask_pseudo(t->s);
    }
    free_takeover(t);
}

static void drop_rejoin(void *arg)
{
    free_takeover(arg);
}

static const struct loop_task rejoin_task = {run_rejoin, drop_rejoin};

static void run_takeover(struct loop *l, void *arg)
{
    (void)l;
    struct takeover *t = arg;
    struct session *old = (struct session *)person_current(t->old)->member; /* NULL: gone */
    if (old && client_is_open(conn(old))) {
        session_replaced(old, t->room);
    }
    loop_send(&event_loops[t->s_loop], &rejoin_task, t);
}

/* Dropped because the old one's loop stops: s is released on its own loop all the same. */
static void drop_takeover(void *arg)
{
    struct takeover *t = arg;
    loop_send(&event_loops[t->s_loop], &rejoin_task, t);
}

static const struct loop_task takeover_task = {run_takeover, drop_takeover};

static bool is_admin(const char *key)
{
    for (unsigned i = 0; i < opts->n_admins; i++) {
        if (pseudo_equal(opts->admins[i], strlen(opts->admins[i]), key, strlen(key))) {
            return true;
        }
    }
    return false;
}

/* The right password for pseudo (len bytes, as typed; key, folded): s joins, or takes
 * its pseudo over from where it is held. */
static void logged_in(struct session *s, const char *pseudo, size_t len, const char *key)
{
    bool admin = is_admin(key);
    if (join(s, pseudo, len, "", admin)) {
        return;
    }
    struct person *old = registry_find(key);
    if (!old || !client_can_hold(conn(s))) {
        if (old) {
            person_unref(old);
        }
        session_reply(s, PROTO_ERROR, "Le pseudo « %.*s » est déjà pris.", (int)len, pseudo);
        session_ask_pseudo(s);
        return;
    }
    struct takeover *t = xcalloc(1, sizeof(*t) + len + 1);
    t->old = old;
    t->s = s;
    t->s_loop = client_loop(conn(s))->index;
    t->admin = admin;
    t->pseudo_len = len;
    memcpy(t->pseudo, pseudo, len);
    client_hold(conn(s)); /* what s sends meanwhile waits for its join */
    loop_send(&event_loops[old->loop], &takeover_task, t);
}

static void checked_at_login(void *arg, bool ok)
{
    struct pending *p = arg;
    struct session *s = p->s;
    struct client *c = conn(s);
    if (client_is_open(c)) {
        if (ok) {
            guard_succeeded(key_of(p));
            if (p->check_only) {
                session_password_checked(s);
            } else {
                logged_in(s, p->text, p->pseudo_len, key_of(p));
            }
        } else {
            wrong(s, key_of(p), p->host, p->text);
            session_ask_pseudo(s);
        }
    }
    unlink_pending(p);
    client_unhold(c); /* last: may free s */
}

bool login_awaits(struct session *s)
{
    return *find(s) != NULL;
}

bool login_line(struct session *s, const char *line, size_t len)
{
    struct pending *p = *find(s);
    if (!p || p->checking) {
        return p != NULL;
    }
    if (len == 5 && memcmp(line, "/quit", 5) == 0) {
        unlink_pending(p);
        client_finish(conn(s), SESSION_LINGER_MS);
        return true;
    }
    unsigned wait = guard_wait(key_of(p), p->host, now_s(s));
    if (wait > 0) {
        too_many_tries(s, wait);
        unlink_pending(p);
        session_ask_pseudo(s);
    } else if (len > PASSWORD_MAX_BYTES || !client_can_hold(conn(s))) {
        wrong(s, key_of(p), p->host, p->text);
        unlink_pending(p);
        session_ask_pseudo(s);
    } else {
        p->checking = true;
        client_hold(conn(s)); /* what it sends next waits for the verdict */
        /* Read as /register read it: sanitised like any line. */
        struct buf pw = BUF_INIT;
        sanitize_append(&pw, line, len);
        int r = password_check(&client_loop(conn(s))->uv, p->hash, pw.data, pw.len,
                               checked_at_login, p);
        wipe_bytes(pw.data, pw.len);
        buf_release(&pw);
        if (r < 0) {
            session_reply(s, PROTO_ERROR, "Vérification impossible pour le moment : réessayez.");
            unlink_pending(p);
            session_ask_pseudo(s);
            client_unhold(conn(s));
        }
    }
    wipe_bytes((char *)line, len); /* the loop's read buffer, or the framer's: ours to clear */
    return true;
}

int login_check(struct session *s, const char *pseudo, size_t len, char *password,
                size_t password_len)
{
    if (!login_pseudo(s, pseudo, len)) {
        wipe_bytes(password, password_len);
        return -ENOENT;
    }
    struct pending *p = *find(s);
    if (!p) { /* refused: in clear text off loopback, or too many tries; s was told */
        wipe_bytes(password, password_len);
        return -EACCES;
    }
    p->check_only = true;
    login_line(s, password, password_len); /* wipes it */
    return 0;
}

void login_enter(struct session *s, const char *pseudo, size_t len)
{
    struct buf key = BUF_INIT;
    pseudo_fold(pseudo, len, &key);
    char hash[PASSWORD_HASH_SIZE];
    if (accounts_find(key.data, hash)) {
        logged_in(s, pseudo, len, key.data);
    } else { /* forgotten since its password was checked */
        session_reply(s, PROTO_ERROR, "Le compte « %.*s » n'existe plus.", (int)len, pseudo);
        session_ask_pseudo(s);
    }
    wipe_bytes(hash, sizeof(hash));
    buf_release(&key);
}

/* ---------------------------------------------------------------- the commands */

/* A command's work on the thread pool: check a password, then perhaps hash another. */
enum step { REGISTER, CHANGE, UNREGISTER };

struct job {
    struct session *s; /* held */
    enum step step;
    char key[PSEUDO_BYTES_MAX + 1];
    char name[PSEUDO_BYTES_MAX + 1];
    char host[ADDR_NAME_MAX];
    size_t new_len;
    char *new_pw; /* CHANGE: the new password, wiped and freed once hashed */
};

static void end_job(struct job *j)
{
    struct client *c = conn(j->s);
    wipe_free_str(j->new_pw);
    free(j);
    client_unhold(c); /* last: may free s */
}

/* Whether s may use a password here and now; if not, it was told why. */
static bool may_send_password(struct session *s)
{
    if (!passwords_allowed(s)) {
        refuse_plaintext(s, "Un mot de passe ne passe pas en clair");
        return false;
    }
    if (!client_can_hold(conn(s))) {
        session_reply(s, PROTO_ERROR, "Trop de demandes à la fois : réessayez.");
        return false;
    }
    return true;
}

static struct job *new_job(struct session *s, enum step step)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->s = s;
    j->step = step;
    const char *pseudo = person_pseudo(session_person(s));
    snprintf(j->name, sizeof(j->name), "%s", pseudo);
    struct buf key = BUF_INIT;
    pseudo_fold(pseudo, strlen(pseudo), &key);
    snprintf(j->key, sizeof(j->key), "%s", key.data);
    buf_release(&key);
    client_peer_host(conn(s), j->host, sizeof(j->host));
    client_hold(conn(s));
    return j;
}

/* The person s is now, if it is still in the chat. */
static struct person *still_here(struct session *s)
{
    return client_is_open(conn(s)) ? session_person(s) : NULL;
}

static void hashed(void *arg, int status, const char *hash)
{
    struct job *j = arg;
    struct person *p = still_here(j->s);
    if (!p) {
        end_job(j);
        return;
    }
    if (status < 0) {
        session_reply(j->s, PROTO_ERROR, "Pas assez de mémoire pour le mot de passe : réessayez.");
    } else if (j->step == REGISTER) {
        if (accounts_add(j->key, j->name, hash) == 0) {
            p->logged_in = 1;
            p->admin = is_admin(j->key);
            log_info("%s a enregistré son pseudo", j->name);
            session_reply(j->s, PROTO_OK,
                          "Le pseudo « %s » est enregistré : son mot de passe vous sera "
                          "demandé à chaque connexion.",
                          j->name);
        } else {
            session_reply(j->s, PROTO_ERROR, "Le pseudo « %s » est déjà enregistré.", j->name);
        }
    } else if (accounts_set_hash(j->key, hash) == 0) {
        log_info("%s a changé de mot de passe", j->name);
        session_reply(j->s, PROTO_OK, "Mot de passe changé.");
    } else {
        session_reply(j->s, PROTO_ERROR, "Le pseudo « %s » n'est pas enregistré.", j->name);
    }
    end_job(j);
}

static void checked(void *arg, bool ok)
{
    struct job *j = arg;
    struct person *p = still_here(j->s);
    if (!p) {
        end_job(j);
        return;
    }
    if (!ok) {
        wrong(j->s, j->key, j->host, j->name);
        end_job(j);
        return;
    }
    guard_succeeded(j->key);
    if (j->step == UNREGISTER) {
        if (accounts_remove(j->key) == 0) {
            owners_forget_account(j->key); /* whoever registers it later inherits no room */
            p->logged_in = 0;
            p->admin = 0;
            log_info("%s a supprimé son compte", j->name);
            session_reply(j->s, PROTO_OK, "Le pseudo « %s » n'est plus enregistré.", j->name);
        } else {
            session_reply(j->s, PROTO_ERROR, "Le pseudo « %s » n'est pas enregistré.", j->name);
        }
        end_job(j);
        return;
    }
    if (password_hash(&client_loop(conn(j->s))->uv, j->new_pw, j->new_len, hashed, j) < 0) {
        session_reply(j->s, PROTO_ERROR, "Vérification impossible pour le moment : réessayez.");
        end_job(j);
    }
}

/* Checks the password rules; false (and s told) if pw breaks them. */
static bool acceptable(struct session *s, const char *pw, size_t len)
{
    size_t chars = 0;
    for (size_t at = 0; at < len && chars < PASSWORD_MIN_CHARS; chars++) {
        uint32_t cp;
        at += utf8_decode(pw + at, len - at, &cp);
    }
    if (chars < PASSWORD_MIN_CHARS) {
        session_reply(s, PROTO_ERROR, "Mot de passe trop court : %d caractères au moins.",
                      PASSWORD_MIN_CHARS);
        return false;
    }
    if (len > PASSWORD_MAX_BYTES) {
        session_reply(s, PROTO_ERROR, "Mot de passe trop long : %d octets au plus.",
                      PASSWORD_MAX_BYTES);
        return false;
    }
    return true;
}

/* The current account of s for a command that needs one: s must be logged in to it. */
static bool owns_account(struct session *s)
{
    struct person *p = session_person(s);
    const char *pseudo = person_pseudo(p);
    struct buf key = BUF_INIT;
    pseudo_fold(pseudo, strlen(pseudo), &key);
    bool registered = accounts_find(key.data, NULL);
    buf_release(&key);
    if (!registered) {
        session_reply(s, PROTO_ERROR, "Le pseudo « %s » n'est pas enregistré (/register).", pseudo);
        return false;
    }
    if (!p->logged_in) {
        session_reply(s, PROTO_ERROR, "Connectez-vous d'abord avec le mot de passe de « %s ».",
                      pseudo);
        return false;
    }
    return true;
}

void login_register(struct session *s, char *pw, size_t len)
{
    const char *pseudo = person_pseudo(session_person(s));
    struct buf key = BUF_INIT;
    pseudo_fold(pseudo, strlen(pseudo), &key);
    bool taken = accounts_find(key.data, NULL);
    buf_release(&key);
    if (taken) {
        session_reply(s, PROTO_ERROR, "Le pseudo « %s » est déjà enregistré.", pseudo);
    } else if (acceptable(s, pw, len) && may_send_password(s)) {
        struct job *j = new_job(s, REGISTER);
        if (password_hash(&client_loop(conn(s))->uv, pw, len, hashed, j) < 0) {
            session_reply(s, PROTO_ERROR, "Vérification impossible pour le moment : réessayez.");
            end_job(j);
        }
    }
    wipe_bytes(pw, len);
}

/* Checks pw against s's account, then goes on at step. */
static void check_then(struct session *s, enum step step, char *pw, size_t len, char *new_pw,
                       size_t new_len)
{
    char hash[PASSWORD_HASH_SIZE];
    struct job *j = new_job(s, step);
    unsigned wait = guard_wait(j->key, j->host, now_s(s));
    if (wait > 0) {
        too_many_tries(s, wait);
        end_job(j);
        return;
    }
    if (!accounts_find(j->key, hash)) {
        session_reply(s, PROTO_ERROR, "Le pseudo « %s » n'est pas enregistré.", j->name);
        end_job(j);
        return;
    }
    if (new_pw) {
        j->new_pw = xmalloc(new_len + 1);
        memcpy(j->new_pw, new_pw, new_len);
        j->new_pw[new_len] = '\0';
        j->new_len = new_len;
    }
    if (password_check(&client_loop(conn(s))->uv, hash, pw, len, checked, j) < 0) {
        session_reply(s, PROTO_ERROR, "Vérification impossible pour le moment : réessayez.");
        end_job(j);
    }
    wipe_bytes(hash, sizeof(hash));
}

void login_change(struct session *s, char *old, size_t old_len, char *new_pw, size_t new_len)
{
    if (owns_account(s) && acceptable(s, new_pw, new_len) && may_send_password(s)) {
        check_then(s, CHANGE, old, old_len, new_pw, new_len);
    }
    wipe_bytes(old, old_len);
    wipe_bytes(new_pw, new_len);
}

void login_unregister(struct session *s, char *pw, size_t len)
{
    if (owns_account(s) && may_send_password(s)) {
        check_then(s, UNREGISTER, pw, len, NULL, 0);
    }
    wipe_bytes(pw, len);
}
