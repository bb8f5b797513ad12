/* irc.h - what a connection to the IRC listener says: IRC's client protocol on the core's
 * events.
 *
 * The protocol layer, beside session.c, with which it is a sanctioned pair (as commands.c
 * and login.c are): an IRC connection is a session like any other (session.h), opened by
 * the --irc-port listener, whose lines session.c hands here and whose events reach it in
 * IRC's form. irc.c registers the client (CAP, PASS, AUTHENTICATE, NICK, USER), answers
 * IRC's own commands, and turns the others into what causerie already does (a chat line,
 * /join, /nick, /msg...) through session.c, so that rooms, pseudos, flood control, history
 * and the limits are the same code for both protocols. What the line protocol's code says to
 * an IRC client (session_reply()) reaches it as a NOTICE from the server.
 *
 * Each event is rendered once for IRC (rendering IRC_RENDERING, event.h) and that message
 * is shared by every IRC recipient, as the line protocol's rendering is by the others; only
 * what names its one recipient (a private message, an invitation) is rendered for it.
 * docs/IRC.md says what is mapped to what.
 *
 * Loop thread of the session, but for irc_init() (main thread, before any event).
 */
#ifndef CAUSERIE_IRC_H
#define CAUSERIE_IRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/pseudo.h"
#include "render.h"
#include "room.h"

struct buf;
struct event;
struct person;
struct room_view;
struct server_options;
struct session;

/* The renderings of events IRC clients are sent, after the line protocol's two: plain;
 * with each line's time in a tag, for clients that asked for IRCv3's server-time; with its
 * msgid and time, for those that asked for message-tags (which read any tag). */
#define IRC_RENDERING        2
#define IRC_RENDERING_TIMED  3
#define IRC_RENDERING_TAGGED 4
_Static_assert(IRC_RENDERING > RENDER_EVENTS, "IRC's rendering is its own");
_Static_assert(IRC_RENDERING_TAGGED < EVENT_RENDERINGS, "an event has room for IRC's three");

/* Whether rendering r is one of IRC's: the member reading it speaks IRC. */
static inline bool irc_rendering(unsigned r)
{
    return r == IRC_RENDERING || r == IRC_RENDERING_TIMED || r == IRC_RENDERING_TAGGED;
}

/* The IRCv3 capabilities a client may ask for (CAP REQ), as bits of irc_state.caps. */
enum irc_cap {
    IRC_CAP_CAP_NOTIFY = 1 << 0,        /* cap-notify: nothing to notify, the list never changes */
    IRC_CAP_ECHO_MESSAGE = 1 << 1,      /* echo-message: its own lines come back, in order */
    IRC_CAP_MULTI_PREFIX = 1 << 2,      /* multi-prefix: every prefix (causerie has one, @) */
    IRC_CAP_SERVER_TIME = 1 << 3,       /* server-time: @time on what it is sent */
    IRC_CAP_USERHOST_IN_NAMES = 1 << 4, /* names as nick!user@host */
    IRC_CAP_SASL = 1 << 5,              /* sasl: AUTHENTICATE PLAIN before registration */
    IRC_CAP_MESSAGE_TAGS = 1 << 6,      /* message-tags: msgid (and time) on events */
    IRC_CAP_BATCH = 1 << 7,             /* batch: history in a chathistory batch */
    IRC_CAP_CHATHISTORY = 1 << 8,       /* draft/chathistory: CHATHISTORY may be asked */
};

/* Where a client is in a SASL exchange (AUTHENTICATE). */
enum irc_sasl {
    IRC_SASL_NONE,     /* none begun */
    IRC_SASL_PAYLOAD,  /* PLAIN chosen: its credentials are awaited, perhaps in pieces */
    IRC_SASL_CHECKING, /* its password is being checked (login.h); s is held meanwhile */
};

/* What an IRC connection keeps beyond its session, in the same allocation, after it: the
 * line protocol's sessions do not carry it. */
struct irc_state {
    char *password; /* PASS's, owned and wiped, until registration */
    size_t password_len;
    char *sasl_data; /* AUTHENTICATE's base64 so far, owned and wiped; NULL none */
    size_t sasl_len;
    char nick[4 * PSEUDO_MAX_CHARS + 1];    /* NICK's, until registration; "" none */
    char account[4 * PSEUDO_MAX_CHARS + 1]; /* SASL's account, once being checked; "" none */
    struct person *away_person; /* the person away.h holds away for s; NULL if s is not away */
    char history_verb[8];       /* CHATHISTORY's subcommand whose read is on its way */
    char history_target[ROOM_NAME_MAX + 2]; /* and the channel it is for, "#name" */
    uint32_t batches;                       /* batches opened: their references' numbers */
    char channel[ROOM_NAME_MAX + 1];        /* the room the client was told it is in */
    uint64_t last_line_ms;                  /* loop time of its last line, once joined */
    uint8_t cap_negotiating : 1;            /* CAP LS or REQ came, CAP END not yet */
    uint8_t user_given : 1;                 /* USER came */
    uint8_t pinged : 1;                     /* sent PING since its last line */
    uint8_t cap_302 : 1;                    /* CAP LS 302: capabilities are listed with values */
    uint8_t sasl : 2;                       /* enum irc_sasl */
    uint8_t account_checked : 1;            /* SASL proved account: registration logs in to it */
    uint16_t caps;                          /* enum irc_cap bits it asked for */
};
#define IRC_STATE_SIZE sizeof(struct irc_state)

/* Main thread, before any event: installs IRC's rendering; o is borrowed for the
 * process's life. */
void irc_init(const struct server_options *o);

/* For session.c. s speaks IRC (session_irc()). */
/* Sets up the state after s, in a new session. */
void irc_state_init(struct session *s);
/* s is being freed: a password it gave (PASS, SASL) is wiped. */
void irc_state_forget(struct session *s);
/* One line from the client, without its '\n' (a '\r' before it is dropped here). */
void irc_line(struct session *s, const char *line, size_t len);
/* A line over the limit was dropped. */
void irc_overlong(struct session *s);
/* The password SASL gave was right (session_password_checked()). */
void irc_password_checked(struct session *s);
/* s, joined, sent a line (or just joined): its deadline is set again, to the nearer of
 * --irc-ping and --idle-timeout. */
void irc_alive(struct session *s);
/* s's deadline passed: returns false if it is --idle-timeout's, for session.c to apply;
 * otherwise s was sent PING, or dropped for not answering it, or the wait goes on. */
bool irc_deadline(struct session *s);
/* Lines of the line protocol ("K text\n"...) for s, as NOTICEs from the server; prompts
 * are left out (IRC has its own ways of asking). */
void irc_notices(struct session *s, const char *lines, size_t len);
/* The pseudo s gave could not be taken (the reason was sent): it may give another. */
void irc_pseudo_refused(struct session *s);
/* s has its pseudo: the welcome numerics, count people being connected. */
void irc_welcome(struct session *s, size_t count);
/* s entered the room of v: appends its JOIN (after a PART of the room it was in), the
 * room's topic and its names to out. */
void irc_moved(struct session *s, const struct room_view *v, struct buf *out);
/* As render_history() (render.h), in IRC's form for s: the newest of the n events that fit
 * in budget bytes, as time-prefixed NOTICEs to the room; returns the index of the first
 * written. */
size_t irc_history(struct session *s, struct event *const *history, size_t n, size_t budget,
                   struct buf *out);
/* The answer to CHATHISTORY (session_read_range()): status 0 and lines[0..n), oldest first,
 * or a negative errno; sent in a chathistory batch, or as the replay's notices to a client
 * without batch. */
struct store_line;
void irc_history_found(struct session *s, int status, const struct store_line *lines, size_t n);
/* Sends s an event meant for it alone (a private message, an invitation): IRC names its
 * recipient, so it is rendered for s. */
void irc_deliver(struct session *s, struct event *e);
/* s's private message text (len bytes, sanitised) to `to` is on its way: echoed to s if it
 * asked for echo-message, else nothing (IRC confirms nothing). */
void irc_private_sent(struct session *s, const char *to, const char *text, size_t len);

#endif
