/* session.c - the line protocol's conversation: pseudo, chat lines, leaving; see
 * session.h.
 *
 * Loop thread, but for session_kick() and session_say(). Each loop has a state of its own
 * here: the scratch buffer lines are sanitised into, the flood refusals of the read being
 * handled, and the count of clients told of a stop. The texts users read are here and in
 * commands.c and render.c, in French, each sentence whole.
 */
#include "session.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "cluster.h"
#include "commands.h"
#include "common/addr.h"
#include "common/buf.h"
#include "common/command.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/sanitize.h"
#include "common/utf8.h"
#include "common/wipe.h"
#include "common/xalloc.h"
#include "event.h"
#include "irc.h"
#include "login.h"
#include "loop.h"
#include "msg.h"
#include "options.h"
#include "owners.h"
#include "peers.h"
#include "registry.h"
#include "render.h"
#include "room.h"
#include "store.h"

/* What this file keeps per loop; that loop's thread only. Aligned so that two loops'
 * states never share a cache line. */
struct session_loop {
    struct buf scratch;         /* sanitised text of the line being handled */
    size_t flood_refused;       /* lines refused by flood control in the read being handled */
    struct log_limit flood_log; /* flood control's log lines, per second */
    size_t told;                /* clients sent the notice of the stop */
} __attribute__((aligned(64)));

/* Set by session_init(), then only read. */
static const struct server_options *opts;
static struct store *store;      /* borrowed, from session_start() to the end; NULL: none */
static struct loop *event_loops; /* borrowed: where people's loops are found */
static struct session_loop *loops;
static unsigned n_loops;
/* Sent to every new connection: one message for all of them, held for the process's life. */
static struct msg *pseudo_prompt;

static struct session_loop *state(struct session *s)
{
    return &loops[client_loop(session_client(s))->index];
}

static bool joined(const struct session *s)
{
    return s->person != NULL;
}

bool session_events(const struct session *s)
{
    return s->member.rendering == RENDER_EVENTS;
}

bool session_irc(const struct session *s)
{
    return irc_rendering(s->member.rendering);
}

void session_send_raw(struct session *s, const char *data, size_t len)
{
    struct msg *m = msg_new_lines(data, len);
    client_send(session_client(s), m);
    msg_unref(m);
}

void session_send_lines(struct session *s, const char *data, size_t len)
{
    if (session_irc(s)) {
        irc_notices(s, data, len);
        return;
    }
    session_send_raw(s, data, len);
}

void session_reply(struct session *s, char kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct msg *m = msg_vnewf(kind, fmt, ap);
    va_end(ap);
    if (session_irc(s)) {
        irc_notices(s, m->data, m->len);
    } else {
        client_send(session_client(s), m);
    }
    msg_unref(m);
}

/* Asks the line protocol's client for its pseudo; an IRC client, which has no prompt, gives
 * another NICK when it wants to. */
static void ask_pseudo(struct session *s)
{
    if (!session_irc(s)) {
        client_send(session_client(s), pseudo_prompt);
    }
}

void session_ask_pseudo(struct session *s)
{
    if (session_irc(s)) {
        irc_pseudo_refused(s); /* a login failed: IRC is told in its way */
        return;
    }
    ask_pseudo(s);
}

/* "127.0.0.1:53422", for the operator's log. */
static void peer_name(struct session *s, char *out, size_t size)
{
    client_peer_name(session_client(s), out, size);
}

/* The start of text, cut at a character boundary, to name a refused line to its sender or
 * a reason in the log. */
static int quoted_length(const char *text, size_t len)
{
    enum { QUOTE_MAX = 40 };
    return (int)utf8_prefix(text, len, QUOTE_MAX);
}

/* ---------------------------------------------------------------- flood control */

/* Whether s may send one more line now (--flood-burst, --flood-rate), and if so counts
 * it. This is the token bucket in its GCRA form, which needs one number per client: the
 * time at which its allowance would be whole again, each line pushing it one interval
 * further, and a line refused when that is more than burst - 1 intervals away. Refused
 * lines cost nothing, so a flooder that keeps sending is not locked out for longer. */
static bool flood_allows(struct session *s)
{
    if (s->line_paid) { /* session_flood_charge() counted it: once, however many it sends */
        s->line_paid = 0;
        return true;
    }
    if (opts->flood_rate == 0 || opts->flood_burst == 0) {
        return true;
    }
    uint64_t interval = 1000000 / opts->flood_rate; /* µs per line */
    uint64_t now = loop_now(client_loop(session_client(s))) * 1000;
    uint64_t tat = s->flood_tat > now ? s->flood_tat : now;
    if (tat - now > (uint64_t)(opts->flood_burst - 1) * interval) {
        return false;
    }
    s->flood_tat = tat + interval;
    return true;
}

/* Refuses a line from a flooder. The first refusal of a read names the line; the others
 * of that read are counted and told in one line when the read is done, so that a flooder
 * gets at most two notices per read rather than one per line it sent. Text is sanitised. */
static void flood_refuse(struct session *s, const char *text, size_t len)
{
    if (state(s)->flood_refused++ > 0) {
        return;
    }
    int n = quoted_length(text, len);
    session_reply(s, PROTO_ERROR,
                  "Trop de messages (%u d'affilée, puis %u par seconde au plus) : « %.*s%s » a "
                  "été refusé, renvoyez-le plus tard.",
                  opts->flood_burst, opts->flood_rate, n, text, (size_t)n < len ? "…" : "");
}

static void on_read_done(struct client *c)
{
    struct session *s = session_of(c);
    struct session_loop *l = state(s);
    if (l->flood_refused == 0) {
        return;
    }
    if (!client_is_closing(c)) { /* after a /quit in the same read too: it still reads this */
        if (l->flood_refused > 1) {
            session_reply(s, PROTO_ERROR, "Et %zu autres messages refusés : trop de messages.",
                          l->flood_refused - 1);
        }
        if (!joined(s)) {
            ask_pseudo(s);
        }
    }
    size_t skipped;
    if (log_limit_allow(&l->flood_log, loop_now(client_loop(c)), &skipped)) {
        char peer[ADDR_NAME_MAX];
        peer_name(s, peer, sizeof(peer));
        log_warn("%s (%s) : %zu messages refusés, trop de messages%s",
                 joined(s) ? person_pseudo(s->person) : "?", peer, l->flood_refused,
                 skipped ? " (et d'autres refus non journalisés)" : "");
    }
    l->flood_refused = 0;
}

/* ---------------------------------------------------------------- leaving */

/* s leaves the chat, if it joined: logged with log_reason and told to its room as kind
 * with reason; unless log_reason is NULL (the server stops): nobody is told. */
static void leave(struct session *s, const char *log_reason, enum event_kind kind,
                  const char *reason, size_t len)
{
    if (!joined(s)) {
        return; /* never joined: nobody knew of it, it leaves silently */
    }
    struct person *p = s->person;
    if (log_reason) {
        log_info("%s est déconnecté (%s)", person_pseudo(p), log_reason);
    }
    room_depart(p, kind, reason, len, log_reason != NULL);
    /* Released only now, after the leave has its place in the order: a client on another
     * loop that claims the pseudo next must be announced after this leave, not before. */
    peers_release(person_key(p)); /* after the leave too, for the same reason */
    registry_release(p);
    s->person = NULL;
}

void session_quit(struct session *s, const char *reason, size_t len)
{
    if (len == 0) {
        leave(s, "/quit", EVENT_QUIT, "", 0);
    } else {
        char log_reason[96];
        int q = quoted_length(reason, len);
        snprintf(log_reason, sizeof(log_reason), "/quit : %.*s%s", q, reason,
                 (size_t)q < len ? "…" : "");
        leave(s, log_reason, EVENT_QUIT, reason, len);
    }
    client_finish(session_client(s), SESSION_LINGER_MS);
}

void session_drop(struct session *s, const char *log_reason, const char *reason)
{
    leave(s, log_reason, EVENT_QUIT, reason, strlen(reason));
    client_finish(session_client(s), SESSION_LINGER_MS);
}

static void on_close(struct client *c, const char *reason)
{
    leave(session_of(c), reason, EVENT_QUIT, "", 0);
}

/* ---------------------------------------------------------------- deadlines */

static void on_deadline(struct client *c)
{
    struct session *s = session_of(c);
    if (!joined(s)) {
        session_reply(s, PROTO_ERROR, "Délai dépassé : aucun pseudo valide reçu en %u s.",
                      opts->handshake_timeout);
        char peer[ADDR_NAME_MAX];
        peer_name(s, peer, sizeof(peer));
        log_info("connexion fermée (%s) : pas de pseudo valide en %u s", peer,
                 opts->handshake_timeout);
        client_finish(c, SESSION_LINGER_MS);
        return;
    }
    if (session_irc(s) && irc_deadline(s)) {
        return; /* IRC's PING, or its missing answer */
    }
    char reason[64];
    session_reply(s, PROTO_ERROR, "Aucun message depuis %u s : déconnexion.", opts->idle_timeout);
    snprintf(reason, sizeof(reason), "inactif depuis %u s", opts->idle_timeout);
    leave(s, reason, EVENT_QUIT, "", 0);
    client_finish(c, SESSION_LINGER_MS);
}

static void push_idle_deadline(struct session *s)
{
    if (opts->idle_timeout > 0) {
        client_set_deadline(session_client(s), (uint64_t)opts->idle_timeout * 1000);
    }
}

/* ---------------------------------------------------------------- the handshake */

static void welcome(struct session *s, size_t count)
{
    if (session_irc(s)) {
        irc_welcome(s, count);
        return;
    }
    const char *pseudo = person_pseudo(s->person);
    if (count <= 1) {
        session_reply(s, PROTO_OK,
                      "Bienvenue, %s ! Personne d'autre n'est connecté pour l'instant.", pseudo);
    } else {
        session_reply(s, PROTO_OK, "Bienvenue, %s ! %zu personnes connectées.", pseudo, count);
    }
}

/* "/cap NAME...", before the pseudo: every name must be one this server knows. */
static void capabilities(struct session *s, const char *args, size_t len)
{
    const char *w;
    size_t wlen;
    bool events = false, any = false;
    while (command_next_word(&args, &len, &w, &wlen)) {
        any = true;
        if (wlen == strlen(PROTO_CAP_EVENTS) && memcmp(w, PROTO_CAP_EVENTS, wlen) == 0) {
            events = true;
        } else {
            session_reply(s, PROTO_ERROR, "Capacité inconnue : %.*s.", (int)wlen, w);
            return;
        }
    }
    if (!any) {
        session_reply(s, PROTO_ERROR, "Usage : /cap %s", PROTO_CAP_EVENTS);
        return;
    }
    if (events) {
        s->member.rendering = RENDER_EVENTS;
    }
    session_reply(s, PROTO_OK, "Capacité activée : %s.", PROTO_CAP_EVENTS);
}

/* With a cluster, the pseudo this server just gave s (key, folded) is claimed across the
 * cluster too; if another server holds it, or the engine cannot tell, it is given back
 * here. Returns 0, -EEXIST or -EIO. */
static int cluster_claim_for(struct session *s, const char *key, const char *pseudo, size_t len)
{
    if (!peers_clustered()) {
        return 0;
    }
    char typed[4 * PSEUDO_MAX_CHARS + 1];
    snprintf(typed, sizeof(typed), "%.*s", (int)len, pseudo);
    int r = peers_claim(key, typed, ROOM_DEFAULT_NAME);
    if (r < 0) {
        registry_release(s->person);
        s->person = NULL;
    }
    return r;
}

void session_refuse_pseudo(struct session *s, const char *pseudo, size_t len)
{
    if (s->unlinked) {
        session_reply(s, PROTO_ERROR, "%s", SESSION_UNLINKED_PSEUDO);
    } else {
        session_reply(s, PROTO_ERROR, "Le pseudo « %.*s » est déjà pris.", (int)len, pseudo);
    }
}

/* Claims the pseudo (len bytes, checked) for s, logged in to its account or not; false if
 * someone has it. */
static bool claim(struct session *s, const char *pseudo, size_t len, enum session_login login)
{
    struct buf key = BUF_INIT;
    pseudo_fold(pseudo, len, &key);
    size_t count;
    unsigned loop = client_loop(session_client(s))->index;
    char host[ADDR_NAME_MAX];
    client_peer_host(session_client(s), host, sizeof(host));
    s->person = registry_claim(key.data, pseudo, len, host, loop, &s->member, &count);
    s->unlinked = 0;
    int r = s->person ? cluster_claim_for(s, key.data, pseudo, len) : -EEXIST;
    buf_release(&key);
    if (r < 0) {
        s->unlinked = r == -EIO;
        return false;
    }
    /* Before the person enters a room: who may enter which is decided by them. */
    s->person->logged_in = login != SESSION_GUEST;
    s->person->admin = login == SESSION_ADMIN;
    s->flood_tat = 0; /* the chat starts with a whole allowance, whatever the handshake took */
    if (session_irc(s)) {
        irc_alive(s);
    } else if (opts->idle_timeout > 0) {
        push_idle_deadline(s);
    } else {
        client_clear_deadline(session_client(s)); /* the handshake's */
    }
    if (peers_clustered()) {
        /* Welcomed when its arrival has its place in the stream (on_moved()): whoever comes
         * after the welcome, on any server, comes after it in the order too. Its input waits
         * until then (the move holds the connection). */
        s->welcome_due = 1;
        s->welcome_count =
            count > SESSION_WELCOME_COUNT_MAX ? SESSION_WELCOME_COUNT_MAX : (uint32_t)count;
    } else {
        welcome(s, count);
    }
    return true;
}

/* A line before the pseudo: /quit, /cap, or a proposed pseudo, refused with the reason and
 * asked again, or claimed and announced. */
static void handshake(struct session *s, const char *line, size_t len)
{
    if (len == 5 && memcmp(line, "/quit", 5) == 0) {
        client_finish(session_client(s), SESSION_LINGER_MS);
        return;
    }
    struct buf *text = &state(s)->scratch;
    buf_reset(text);
    sanitize_append(text, line, len);
    if (!flood_allows(s)) {
        flood_refuse(s, text->data, text->len);
        return;
    }
    struct command_line cmd;
    if (command_split(text->data, text->len, &cmd) && cmd.name_len == 3 &&
        memcmp(cmd.name, "cap", 3) == 0) {
        capabilities(s, cmd.args, cmd.args_len);
        return;
    }
    enum pseudo_verdict v = pseudo_check(line, len);
    if (v != PSEUDO_OK) {
        session_reply(s, PROTO_ERROR, "%s", pseudo_verdict_text(v));
        ask_pseudo(s);
        return;
    }
    if (login_pseudo(s, line, len)) {
        return; /* a registered pseudo: its password first */
    }
    if (!session_join(s, line, len, NULL, SESSION_GUEST)) {
        session_refuse_pseudo(s, line, len);
        ask_pseudo(s);
    }
}

bool session_join(struct session *s, const char *pseudo, size_t len, const char *room,
                  enum session_login login)
{
    if (!claim(s, pseudo, len, login)) {
        return false;
    }
    char peer[ADDR_NAME_MAX];
    peer_name(s, peer, sizeof(peer));
    log_info("%s a rejoint la discussion (%s)", person_pseudo(s->person), peer);
    /* The others are told; the history follows, after the room and its people if the
     * client reads events (the plain protocol tells nothing of an arrival but the welcome). */
    room_arrive(s->person, room, session_events(s) || session_irc(s) ? PROTO_WHO_MAX : 0);
    return true;
}

int session_give_pseudo(struct session *s, const char *pseudo, size_t len, char *password,
                        size_t password_len, const char **why)
{
    if (!flood_allows(s)) { /* each try may ask the cluster: as costly as a chat line */
        flood_refuse(s, pseudo, len);
        wipe_bytes(password, password_len);
        return -EAGAIN;
    }
    enum pseudo_verdict v = pseudo_check(pseudo, len);
    if (v != PSEUDO_OK) {
        *why = pseudo_verdict_text(v);
        wipe_bytes(password, password_len);
        return -EINVAL;
    }
    if (login_pseudo(s, pseudo, len)) { /* registered: its password, or why it cannot be */
        if (!login_awaits(s)) {
            wipe_bytes(password, password_len);
            return -EAGAIN; /* not here, or not now: login.c said why */
        }
        if (password_len > 0) {
            login_line(s, password, password_len); /* checked on the pool; wipes its copy */
            wipe_bytes(password, password_len);
            return 0;
        }
        login_forget(s);
        wipe_bytes(password, password_len);
        *why = "Ce pseudo est protégé par un mot de passe : donnez-le avec PASS.";
        return -EACCES;
    }
    wipe_bytes(password, password_len);
    if (!session_join(s, pseudo, len, NULL, SESSION_GUEST)) {
        *why = s->unlinked ? SESSION_UNLINKED_PSEUDO : "Ce pseudo est déjà pris.";
        return -EEXIST;
    }
    return 0;
}

bool session_logging_in(const struct session *s)
{
    return login_awaits((struct session *)s);
}

int session_check_password(struct session *s, const char *pseudo, size_t len, char *password,
                           size_t password_len)
{
    return login_check(s, pseudo, len, password, password_len);
}

void session_password_checked(struct session *s)
{
    if (session_irc(s)) { /* the only protocol that checks before it names */
        irc_password_checked(s);
    }
}

void session_enter_checked(struct session *s, const char *pseudo, size_t len)
{
    login_enter(s, pseudo, len);
}

void session_replaced(struct session *s, char room[ROOM_NAME_MAX + 1])
{
    snprintf(room, ROOM_NAME_MAX + 1, "%s", room_name(s->person->room));
    session_reply(s, PROTO_ERROR, "Vous vous êtes connecté ailleurs.");
    static const char why[] = "connecté ailleurs";
    leave(s, why, EVENT_QUIT, why, sizeof(why) - 1);
    client_finish(session_client(s), SESSION_LINGER_MS);
}

/* ---------------------------------------------------------------- chat */

/* A line the cluster's backlog had no room for: its sender is told, never left guessing. */
static void refuse_unlinked(struct session *s)
{
    session_reply(s, PROTO_ERROR,
                  "Message refusé : la liaison avec le reste de la discussion est coupée depuis "
                  "trop longtemps. Réessayez plus tard.");
}

void session_publish(struct session *s, int kind, const char *text, size_t len)
{
    const struct person *p = s->person;
    const char *who = person_pseudo(p);
    const char *where = room_name(p->room); /* ours: its name cannot change under us */
    struct event_fields f = {.kind = (enum event_kind)kind,
                             .room = room_slot(p->room),
                             .origin = session_client(s)->id,
                             .who = who,
                             .who_len = strlen(who),
                             .where = where,
                             .where_len = strlen(where),
                             .text = text,
                             .text_len = len};
    if (broadcast_publish(event_new(&f)) < 0) {
        refuse_unlinked(s);
    }
}

/* A joined client's line: a command, or a message for everyone else in its room. */
void session_command(struct session *s, const char *line, size_t len)
{
    struct buf *text = &state(s)->scratch;
    buf_reset(text);
    sanitize_append(text, line, len);
    if (text->len == 0) {
        return; /* an empty line (or one of control characters only) says nothing */
    }
    const char *t = text->data;
    size_t n = text->len;
    struct command_line cmd;
    bool is_command = command_split(t, n, &cmd);
    /* Leaving is never refused: a flooder that wants to stop must be able to. */
    bool quits = is_command && cmd.name_len == 4 && memcmp(cmd.name, "quit", 4) == 0;
    if (!quits && !flood_allows(s)) {
        flood_refuse(s, t, n);
        return;
    }
    if (is_command) {
        bool secret = commands_is_secret(&cmd);
        commands_run(s, &cmd);
        if (secret) { /* the line as read, and as sanitised: both held a password */
            wipe_bytes((char *)line, len);
            wipe_bytes(text->data, text->len);
        }
        return;
    }
    command_unescape(&t, &n); /* "//texte" sends "/texte": a message starting with a slash */
    session_publish(s, EVENT_CHAT, t, n);
}

void session_chat(struct session *s, int kind, const char *text, size_t len)
{
    struct buf *clean = &state(s)->scratch;
    buf_reset(clean);
    sanitize_append(clean, text, len);
    if (clean->len == 0) {
        return;
    }
    if (!flood_allows(s)) {
        flood_refuse(s, clean->data, clean->len);
        return;
    }
    session_publish(s, kind, clean->data, clean->len);
}

bool session_flood_charge(struct session *s, const char *what, size_t len)
{
    if (!flood_allows(s)) {
        flood_refuse(s, what, len);
        return false;
    }
    s->line_paid = 1;
    return true;
}

static void on_line(struct client *c, const char *line, size_t len)
{
    struct session *s = session_of(c);
    if (session_irc(s)) {
        if (joined(s)) {
            irc_alive(s); /* any line is a sign of life */
        }
        irc_line(s, line, len);
        s->line_paid = 0; /* a prepaid line that did nothing lends nothing to the next */
        return;
    }
    if (!joined(s)) {
        if (!login_line(s, line, len)) {
            handshake(s, line, len);
        }
        return;
    }
    push_idle_deadline(s); /* any line is a sign of life */
    session_command(s, line, len);
}

static void on_overlong(struct client *c)
{
    struct session *s = session_of(c);
    if (session_irc(s)) {
        irc_overlong(s);
        return;
    }
    session_reply(s, PROTO_ERROR, "Ligne trop longue (%zu octets au maximum) : elle a été ignorée.",
                  opts->max_line);
    if (!joined(s)) {
        ask_pseudo(s);
    }
}

/* ---------------------------------------------------------------- moves */

/* A move ran: what the client needs of its new room, in one message: its name and who is
 * in it (the view, when one was asked for), then as much of its history as half the
 * backlog allows, so that the history alone never gets a newcomer dropped as slow. */
static void on_moved(struct member *m, void *note, struct event *const *history, size_t n,
                     uint64_t seq)
{
    struct session *s = (struct session *)m; /* the member is the session's first member */
    if (s->welcome_due && s->person) {
        s->welcome_due = 0;
        welcome(s, s->welcome_count);
    }
    struct buf block = BUF_INIT;
    if (note && session_irc(s)) {
        irc_moved(s, note, &block);
    } else if (note) {
        render_moved((enum render_form)m->rendering, note, &block);
    }
    size_t budget = opts->max_backlog / 2;
    if (budget > MSG_MAX_LEN - block.len) {
        budget = MSG_MAX_LEN - block.len; /* one message holds it all: it has a ceiling too */
    }
    size_t first = session_irc(s) ? irc_history(s, history, n, budget, &block)
                                  : render_history(history, n, budget, &block);
    if (s->person) {
        /* /history goes on from the oldest line sent; with none, from the move itself. */
        s->person->history_from = first < n ? history[first]->seq : seq;
        peers_moved(person_key(s->person), person_pseudo(s->person), room_name(s->person->room));
    }
    if (block.len > 0) {
        session_send_raw(s, block.data, block.len);
    }
    buf_release(&block);
}

/* ---------------------------------------------------------------- the store */

/* A read of the store on its way for a person: answered on the person's loop, to whoever
 * holds its pseudo then, if anyone. */
struct store_ask {
    struct person *p; /* ref held */
    bool paging;      /* /history: the answer moves history_from back */
    unsigned asked;   /* /history: lines asked for; fewer found means the start is reached */
    size_t words_len; /* /search: what was looked for, for the notice if nothing matched */
    char words[];
};

/* The lines a read found, as "~ TIME LINE" lines, as many as half the backlog holds (the
 * newest of them); returns the id of the oldest sent. */
static uint64_t send_found(struct session *s, const struct store_line *lines, size_t n)
{
    struct event **events = xcalloc(n, sizeof(*events));
    for (size_t i = 0; i < n; i++) {
        struct event_fields f = {.kind = lines[i].kind,
                                 .room = EVENT_NO_ROOM,
                                 .dated = true,
                                 .time = lines[i].time,
                                 .who = lines[i].who,
                                 .who_len = lines[i].who_len,
                                 .where = lines[i].room,
                                 .where_len = lines[i].room_len,
                                 .text = lines[i].text,
                                 .text_len = lines[i].text_len};
        events[i] = event_new(&f);
    }
    struct buf block = BUF_INIT;
    size_t budget = opts->max_backlog / 2;
    size_t first = render_history(events, n, budget < MSG_MAX_LEN ? budget : MSG_MAX_LEN, &block);
    session_send_lines(s, block.data, block.len);
    buf_release(&block);
    for (size_t i = 0; i < n; i++) {
        event_unref(events[i]);
    }
    free(events);
    return first < n ? lines[first].id : lines[0].id;
}

static void on_found(void *arg, int status, const struct store_line *lines, size_t n)
{
    struct store_ask *ask = arg;
    struct person *p = person_current(ask->p);
    struct session *s = (struct session *)p->member; /* NULL once it left */
    if (s && joined(s) && client_is_open(session_client(s))) {
        p->store_busy = 0;
        const char *room = room_name(p->room);
        if (status < 0) {
            session_reply(s, PROTO_ERROR,
                          "La base de données ne répond pas pour le moment : réessayez.");
        } else if (n == 0 && !ask->paging) {
            session_reply(s, PROTO_NOTICE, "Aucun message de #%s ne contient « %.*s ».", room,
                          (int)ask->words_len, ask->words);
        } else {
            uint64_t oldest = n > 0 ? send_found(s, lines, n) : p->history_from;
            if (ask->paging && oldest < p->history_from) {
                p->history_from = oldest;
            }
            if (ask->paging && n < ask->asked) {
                session_reply(s, PROTO_NOTICE, "Rien de plus ancien dans #%s.", room);
            }
        }
    }
    person_unref(ask->p);
    free(ask);
}

/* The answer to session_read_range(): for IRC (arg, a reference to the person asking). */
static void on_range(void *arg, int status, const struct store_line *lines, size_t n)
{
    struct person *asked_by = arg;
    struct person *p = person_current(asked_by);
    struct session *s = (struct session *)p->member; /* NULL once it left */
    if (s && joined(s) && client_is_open(session_client(s))) {
        p->store_busy = 0;
        if (session_irc(s)) {
            irc_history_found(s, status, lines, n);
        }
    }
    person_unref(asked_by);
}

int session_read_range(struct session *s, const struct store_range *range)
{
    if (!store) {
        return -ENOSYS;
    }
    if (s->person->store_busy) {
        return -EBUSY;
    }
    const char *room = room_name(s->person->room);
    person_ref(s->person);
    int r = store_lines_range(store, &client_loop(session_client(s))->uv, room, strlen(room), range,
                              on_range, s->person);
    if (r < 0) {
        person_unref(s->person);
        return r;
    }
    s->person->store_busy = 1;
    return 0;
}

/* A read's request for s, asking for at most asked lines; NULL (and a reply to s) if none
 * can be made now. */
static struct store_ask *ask_store(struct session *s, const char *words, size_t len, unsigned asked)
{
    if (!store) {
        session_reply(s, PROTO_ERROR, "Ce serveur ne garde pas d'historique.");
        return NULL;
    }
    if (s->person->store_busy) {
        session_reply(s, PROTO_ERROR, "Une recherche est déjà en cours : attendez sa réponse.");
        return NULL;
    }
    struct store_ask *ask = xmalloc(sizeof(*ask) + len + 1);
    ask->p = s->person;
    ask->paging = words == NULL;
    ask->asked = asked;
    ask->words_len = len;
    memcpy(ask->words, words ? words : "", len);
    ask->words[len] = '\0';
    person_ref(ask->p);
    return ask;
}

static void asked(struct session *s, struct store_ask *ask, int r)
{
    if (r < 0) {
        person_unref(ask->p);
        free(ask);
        session_reply(s, PROTO_ERROR,
                      "La base de données ne répond pas pour le moment : réessayez.");
        return;
    }
    s->person->store_busy = 1;
}

/* A /who waiting for the other servers' answers. */
struct who_ask {
    struct person *p; /* ref held */
    struct room_view v;
};

static void send_who(struct session *s, const struct room_view *v)
{
    struct buf line = BUF_INIT;
    render_who(v, &line);
    session_send_lines(s, line.data, line.len);
    buf_release(&line);
}

static void on_others_answered(void *arg, uint32_t count, const char *names, size_t len)
{
    struct who_ask *ask = arg;
    struct person *p = person_current(ask->p);
    struct session *s = (struct session *)p->member; /* NULL once it left */
    p->who_busy = 0;
    if (s && joined(s) && client_is_open(session_client(s))) {
        room_view_add_others(&ask->v, count, names, len);
        send_who(s, &ask->v);
    }
    room_view_release(&ask->v);
    person_unref(ask->p);
    free(ask);
}

void session_who(struct session *s, struct room_view *v, size_t max_names)
{
    if (peers_clustered() && s->person->who_busy) {
        /* One question in flight a person: a burst of /who cannot fill libuv's pool. */
        session_reply(s, PROTO_ERROR, "Une liste est déjà demandée : attendez sa réponse.");
        room_view_release(v);
        return;
    }
    if (peers_clustered()) {
        struct who_ask *ask = xmalloc(sizeof(*ask));
        ask->p = s->person;
        ask->v = *v;
        person_ref(ask->p);
        size_t left = max_names > v->named ? max_names - v->named : 0;
        if (cluster_ask_names_later(&client_loop(session_client(s))->uv, v->key,
                                    max_names == 0 ? SIZE_MAX : left, on_others_answered,
                                    ask) == 0) {
            s->person->who_busy = 1;
            return;
        }
        person_unref(ask->p);
        free(ask); /* v still owns what ask borrowed: this server's people are answered */
    }
    send_who(s, v);
    room_view_release(v);
}

void session_history(struct session *s, unsigned n)
{
    struct store_ask *ask = ask_store(s, NULL, 0, n);
    if (ask) {
        const char *room = room_name(s->person->room);
        int r = store_lines_before(store, &client_loop(session_client(s))->uv, room, strlen(room),
                                   s->person->history_from, n, on_found, ask);
        asked(s, ask, r);
    }
}

void session_search(struct session *s, const char *words, size_t len, unsigned n)
{
    struct store_ask *ask = ask_store(s, words, len, n);
    if (ask) {
        const char *room = room_name(s->person->room);
        int r = store_search(store, &client_loop(session_client(s))->uv, room, strlen(room), words,
                             len, n, on_found, ask);
        if (r == -EINVAL) {
            person_unref(ask->p);
            free(ask);
            session_reply(s, PROTO_ERROR, "Usage : /search MOTS");
            return;
        }
        asked(s, ask, r);
    }
}

void session_register(struct session *s, char *password, size_t len)
{
    login_register(s, password, len);
}

void session_change_password(struct session *s, char *old, size_t old_len, char *new_pw,
                             size_t new_len)
{
    login_change(s, old, old_len, new_pw, new_len);
}

void session_unregister(struct session *s, char *password, size_t len)
{
    login_unregister(s, password, len);
}

void session_start(struct store *s)
{
    store = s;
}

/* ---------------------------------------------------------------- one person */

/* What is on its way to a person's loop. */
enum to_person_kind {
    TO_PERSON_EVENT,    /* a private message or an invitation: e */
    TO_PERSON_KICK,     /* the operator's /kick: off the server, told reason */
    TO_PERSON_SEND_OUT, /* a room operator's /kick or /ban: out of room, by by, told reason */
};

struct to_person {
    struct person *p; /* ref held */
    enum to_person_kind kind;
    struct event *e;                   /* ref held: TO_PERSON_EVENT's; NULL otherwise */
    bool spare_operators;              /* a send-out leaves the room's operators there */
    char room[ROOM_NAME_MAX + 1];      /* the room's key, for a send-out */
    char by[PSEUDO_MAX_CHARS * 4 + 1]; /* the room operator's pseudo */
    char reason[];                     /* sanitised, "" for none */
};

static void drop_to_person(void *arg)
{
    struct to_person *t = arg;
    person_unref(t->p);
    if (t->e) {
        event_unref(t->e);
    }
    free(t);
}

/* The operator's /kick reached s's loop: s is told why, its room too, and it goes. */
static void kicked(struct session *s, const char *why)
{
    size_t len = strlen(why);
    if (len > 0) {
        session_reply(s, PROTO_ERROR, "Vous avez été expulsé par l'opérateur (%s).", why);
    } else {
        session_reply(s, PROTO_ERROR, "Vous avez été expulsé par l'opérateur.");
    }
    char log_reason[96];
    int q = quoted_length(why, len);
    snprintf(log_reason, sizeof(log_reason), "expulsé par l'opérateur%s%.*s%s", len ? " : " : "", q,
             why, (size_t)q < len ? "…" : "");
    leave(s, log_reason, EVENT_KICK, why, len);
    client_finish(session_client(s), SESSION_LINGER_MS);
}

static void run_to_person(struct loop *l, void *arg)
{
    (void)l;
    struct to_person *t = arg;
    /* This loop's own: through a change of pseudo to whoever p is now; NULL if p left. */
    struct person *now = person_current(t->p);
    struct member *m = now->member;
    struct session *s = (struct session *)m;
    if (s && joined(s) && client_is_open(session_client(s))) {
        switch (t->kind) {
        case TO_PERSON_EVENT:
            if (session_irc(s)) {
                irc_deliver(s, t->e); /* IRC names the one it is for: rendered for s */
            } else {
                client_send(session_client(s), event_rendering(t->e, m->rendering));
            }
            break;
        case TO_PERSON_KICK:
            kicked(s, t->reason);
            break;
        case TO_PERSON_SEND_OUT:
            room_send_out(now, t->room, t->by, t->reason, strlen(t->reason), t->spare_operators);
            break;
        }
    }
    drop_to_person(t);
}

static const struct loop_task to_person_task = {run_to_person, drop_to_person};

static struct to_person *to_person_new(struct person *p, enum to_person_kind kind,
                                       const char *reason)
{
    size_t len = reason ? strlen(reason) : 0;
    struct to_person *t = xcalloc(1, sizeof(*t) + len + 1);
    t->p = p;
    t->kind = kind;
    memcpy(t->reason, reason ? reason : "", len + 1);
    return t;
}

static void post_to_person(struct to_person *t)
{
    loop_send(&event_loops[t->p->loop], &to_person_task, t);
}

/* s's private message text (len bytes), as an event with one reference. */
static struct event *private_from(struct session *s, const char *text, size_t len)
{
    const char *who = person_pseudo(s->person);
    struct event_fields f = {.kind = EVENT_PRIVATE,
                             .room = EVENT_NO_ROOM,
                             .origin = session_client(s)->id,
                             .who = who,
                             .who_len = strlen(who),
                             .text = text,
                             .text_len = len};
    return event_new(&f);
}

/* Tells s its private message to `to` is on its way: the line protocol's "+" line, or
 * IRC's echo of it when the client asked for echoes. */
static void private_sent(struct session *s, const char *to, const char *text, size_t len)
{
    if (session_irc(s)) {
        irc_private_sent(s, to, text, len);
        return;
    }
    session_reply(s, PROTO_OK, "Message privé pour %s : %.*s", to, (int)len, text);
}

void session_send_private(struct session *s, struct person *p, const char *text, size_t len)
{
    private_sent(s, person_pseudo(p), text, len);
    struct to_person *t = to_person_new(p, TO_PERSON_EVENT, NULL);
    t->e = private_from(s, text, len);
    post_to_person(t);
}

void session_send_private_remote(struct session *s, const char *to, const char *text, size_t len)
{
    private_sent(s, to, text, len);
    if (broadcast_publish_to(private_from(s, text, len), to) < 0) {
        refuse_unlinked(s);
    }
}

/* An event for one person of this server that came through the cluster. */
static void on_to_person(struct event *e, const char *to)
{
    struct buf key = BUF_INIT;
    pseudo_fold(to, strlen(to), &key);
    struct person *p = registry_find(key.data);
    buf_release(&key);
    if (!p) {
        event_unref(e); /* gone meanwhile, or on another server */
        return;
    }
    if (e->kind == EVENT_SENT_OUT) { /* a room's operator on another server: to #général */
        char *reason = xmemdup0(e->text, e->text_len);
        struct to_person *t = to_person_new(p, TO_PERSON_SEND_OUT, reason); /* takes p's ref */
        free(reason);
        snprintf(t->room, sizeof(t->room), "%.*s", (int)e->where_len, e->where);
        snprintf(t->by, sizeof(t->by), "%.*s", (int)e->who_len, e->who);
        event_unref(e);
        post_to_person(t);
        return;
    }
    if (e->kind == EVENT_KICK) { /* the operator of another server: off this one */
        char *reason = xmemdup0(e->text, e->text_len);
        post_to_person(to_person_new(p, TO_PERSON_KICK, reason)); /* takes p's reference */
        free(reason);
        event_unref(e);
        return;
    }
    struct to_person *t = to_person_new(p, TO_PERSON_EVENT, NULL); /* takes p's reference */
    t->e = e;
    post_to_person(t);
}

void session_invite(struct session *s, struct person *p, const char *room)
{
    const char *who = person_pseudo(s->person);
    struct event_fields f = {.kind = EVENT_INVITE,
                             .room = EVENT_NO_ROOM,
                             .who = who,
                             .who_len = strlen(who),
                             .where = room,
                             .where_len = strlen(room)};
    struct to_person *t = to_person_new(p, TO_PERSON_EVENT, NULL);
    t->e = event_new(&f);
    post_to_person(t);
}

void session_send_out(struct session *s, struct person *p, const char *room, const char *reason,
                      bool spare_operators)
{
    struct to_person *t = to_person_new(p, TO_PERSON_SEND_OUT, reason);
    t->spare_operators = spare_operators;
    snprintf(t->room, sizeof(t->room), "%s", room);
    snprintf(t->by, sizeof(t->by), "%s", person_pseudo(s->person));
    post_to_person(t);
}

int session_send_out_remote(struct session *s, const char *to, const char *room, const char *reason)
{
    const char *by = person_pseudo(s->person);
    struct event_fields f = {.kind = EVENT_SENT_OUT,
                             .room = EVENT_NO_ROOM,
                             .who = by,
                             .who_len = strlen(by),
                             .where = room,
                             .where_len = strlen(room),
                             .text = reason ? reason : "",
                             .text_len = reason ? strlen(reason) : 0};
    if (broadcast_publish_to(event_new(&f), to) < 0) {
        refuse_unlinked(s);
        return -EAGAIN;
    }
    return 0;
}

int session_kick(const char *pseudo, size_t len, const char *reason)
{
    if (pseudo_check(pseudo, len) != PSEUDO_OK) {
        return -ENOENT;
    }
    struct buf key = BUF_INIT;
    pseudo_fold(pseudo, len, &key);
    struct person *p = registry_find(key.data);
    char typed[4 * PSEUDO_MAX_CHARS + 1];
    int elsewhere = p ? -ENOENT : peers_find(key.data, typed, sizeof(typed));
    buf_release(&key);
    if (elsewhere == 0) {
        /* On another server: the kick goes to it through the engine, and that server
         * disconnects its client and tells the room, as it would for its own operator. */
        struct event_fields f = {.kind = EVENT_KICK,
                                 .room = EVENT_NO_ROOM,
                                 .text = reason ? reason : "",
                                 .text_len = reason ? strlen(reason) : 0};
        return broadcast_publish_to(event_new(&f), typed) < 0 ? -EAGAIN : 0;
    }
    if (!p) {
        return -ENOENT;
    }
    post_to_person(to_person_new(p, TO_PERSON_KICK, reason)); /* p's loop checks it is there */
    return 0;
}

void session_say(const char *text, size_t len)
{
    struct event_fields f = {
        .kind = EVENT_NOTICE, .room = EVENT_ALL_ROOMS, .text = text, .text_len = len};
    broadcast_publish(event_new(&f));
}

/* ---------------------------------------------------------------- life cycle */

static void on_open(struct client *c)
{
    struct session *s = session_of(c);
    if (!session_irc(s)) {
        ask_pseudo(s); /* an IRC client speaks first */
    }
    if (opts->handshake_timeout > 0) {
        client_set_deadline(c, (uint64_t)opts->handshake_timeout * 1000);
    }
}

/* Every connection has a session: what it adds to its member is kept to 24 bytes. */
_Static_assert(sizeof(struct session) == sizeof(struct member) + 24, "a session grew");

static void on_free(struct client *c)
{
    struct session *s = session_of(c);
    assert(!s->person); /* leave() released it */
    login_forget(s);
    if (session_irc(s)) {
        irc_state_forget(s);
    }
    admission_release(s->admission);
    free(s);
}

void session_open(struct loop *l, int fd, uint32_t ticket, transport_open_fn open,
                  enum session_protocol protocol)
{
    /* An IRC connection's registration state follows its session, in the same chunk: the
     * line protocol's sessions do not grow for it. */
    bool irc = protocol == SESSION_IRC;
    struct session *s = xmalloc(sizeof(*s) + (irc ? IRC_STATE_SIZE : 0));
    s->person = NULL;
    s->flood_tat = 0;
    s->admission = ticket;
    s->unlinked = 0;
    s->welcome_due = 0;
    s->welcome_count = 0;
    s->line_paid = 0;
    member_init(&s->member);
    if (irc) {
        s->member.rendering = IRC_RENDERING;
        s->member.sees_own_topic = 1; /* IRC clients show a topic once the server echoes it */
        irc_state_init(s);
    }
    client_open(session_client(s), l, fd, open); /* on_open() or, on failure, on_free() */
}

struct stop_walk {
    struct event *notice; /* borrowed */
    size_t told;
};

static void stop_one(struct client *c, void *arg)
{
    struct stop_walk *w = arg;
    struct session *s = session_of(c);
    if (!client_is_open(c)) {
        return; /* leaving already: it closes within SESSION_LINGER_MS */
    }
    if (peers_clustered()) {
        /* The others in the cluster stay: they are told, as of a /quit. */
        static const char why[] = "arrêt de son serveur";
        leave(s, why, EVENT_QUIT, why, sizeof(why) - 1);
    } else {
        leave(s, NULL, EVENT_QUIT, "", 0); /* nobody is left to tell */
    }
    if (client_send(c, event_rendering(w->notice, s->member.rendering))) {
        w->told++;
    }
    client_finish(c, SESSION_STOP_FLUSH_MS);
}

void session_stop_loop(struct loop *l, struct event *notice)
{
    struct stop_walk w = {notice, 0};
    client_each(l, stop_one, &w);
    loops[l->index].told += w.told;
}

size_t session_told_at_stop(const struct loop *l)
{
    return loops[l->index].told;
}

const struct client_handlers session_client_handlers = {
    .on_open = on_open,
    .on_line = on_line,
    .on_overlong = on_overlong,
    .on_read_done = on_read_done,
    .on_deadline = on_deadline,
    .on_close = on_close,
    .on_free = on_free,
};

const struct broadcast_handlers session_broadcast_handlers = {
    .moved = on_moved,
    .locate = room_locate,
    .to_person = on_to_person,
};

void session_init(const struct server_options *o, struct loop *l, unsigned loops_count)
{
    opts = o;
    event_loops = l;
    n_loops = loops_count;
    loops = xaligned_calloc(n_loops, sizeof(*loops), 64);
    for (unsigned i = 0; i < n_loops; i++) {
        buf_init(&loops[i].scratch);
    }
    static const char text[] = "Entrez votre pseudo :";
    pseudo_prompt = msg_new(PROTO_PROMPT, text, sizeof(text) - 1);
}

void session_shutdown(void)
{
    for (unsigned i = 0; i < n_loops; i++) {
        buf_release(&loops[i].scratch);
    }
    free(loops);
    loops = NULL;
    msg_unref(pseudo_prompt);
    pseudo_prompt = NULL;
}
