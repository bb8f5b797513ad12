/* style.h - how the client dresses lines on a terminal: times, colours, mentions, prompt.
 *
 * Pure: it decides what the terminal can show from what the environment says, and turns a
 * server line (or a line of our own) into the text to print, escape sequences included
 * when colours are on; it prints nothing, reads no variable and keeps no state. screen.c
 * prints what it returns; chat.c builds the prompt with it. Every piece of peer text goes
 * through sanitize_append() here, so no escape sequence but ours reaches the terminal.
 * Pseudos are compared and hashed in their folded form (common/pseudo.h), as the server
 * compares them, so main.c must have called pseudo_init(); word boundaries use the C
 * library's iswalnum(), so it must also have set a UTF-8 locale.
 *
 * A pseudo's colour comes from a hash of its case-folded form, so everyone sees the same
 * person in the same colour; the palettes hold only colours readable on dark and on light
 * backgrounds (no black, white, grey, bright yellow or dark blue).
 */
#ifndef CAUSERIE_STYLE_H
#define CAUSERIE_STYLE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/buf.h"

/* How lines are dressed. Without colour nothing but text is written: no escape sequence. */
struct style {
    bool colour;      /* SGR sequences (colours, bold, dim, reverse) */
    bool palette256;  /* the terminal has 256 colours; otherwise 6 of the basic 8 */
    bool clock;       /* each line starts with the local time, "14:03 " */
    const char *self; /* borrowed: our pseudo, for mentions and our own lines; may be NULL */
};

/* What the environment and the options say about the terminal, as the caller read them:
 * each variable's value, or NULL when it is not set. */
struct style_terminal {
    bool interactive;      /* stdin and stdout are a terminal */
    bool no_color_option;  /* --no-color */
    const char *no_color;  /* $NO_COLOR: any value but the empty one turns colours off */
    const char *term;      /* $TERM */
    const char *colorterm; /* $COLORTERM: set by terminals with more than 256 colours */
};

/* The style for that terminal. Colours only on a terminal, and not with --no-color, a
 * non-empty NO_COLOR (no-color.org), a TERM of "dumb" or no TERM at all; 256 colours when
 * TERM names them ("xterm-256color") or COLORTERM is set; the clock on a terminal only. No
 * pseudo yet (self is NULL). */
struct style style_for_terminal(const struct style_terminal *t);

/* What a rendered line asks of the terminal besides its text. */
struct style_marks {
    bool mention;     /* someone else's line names us: highlighted, and the bell rings */
    bool private_msg; /* a private message for us: the bell rings too */
};

/* The SGR colour parameter for a pseudo: "38;5;N" on a 256-colour terminal, "3N" on the
 * others, written into out (at least 12 bytes). The same for every case of the pseudo. */
void style_pseudo_colour(const char *pseudo, size_t len, bool palette256, char *out,
                         size_t out_size);
/* Finds pseudo in text, without case, as a whole word: the characters around it (if any)
 * are neither letters nor digits nor '_'. Returns true with the first match's byte offset
 * and length in text. */
bool style_find_mention(const char *text, size_t len, const char *pseudo, size_t pseudo_len,
                        size_t *at, size_t *match_len);
/* Writes the local time of t as "HH:MM" into out. */
void style_clock(time_t t, char out[6]);
/* Parses an ISO 8601 UTC time, "2026-11-25T14:03:12Z". Returns 0 with *t set, or -EINVAL. */
int style_parse_utc(const char *s, size_t len, time_t *t);

/* Appends the display form of a server line, without '\n', to out; now is the time of its
 * arrival. Returns the marks the caller acts on (the bell). */
struct style_marks style_server_line(const struct style *st, const char *line, size_t len,
                                     time_t now, struct buf *out);
/* The plain form of a server line, for a pipe: what the client has always printed there,
 * "bob: salut", "! ..." for errors and "* ..." for everything else, an event line as the
 * sentence it carries ("* bob a rejoint #jeux"); no time, no escape sequence. */
void style_plain_line(const char *line, size_t len, struct buf *out);
/* Our own message (text as sent, "//" already undone), or our own /me action. */
void style_own_line(const struct style *st, const char *text, size_t len, bool action, time_t now,
                    struct buf *out);
/* A notice of the client's own ("Connexion perdue…"), dim, with a "* " mark. */
void style_notice(const struct style *st, const char *text, time_t now, struct buf *out);
/* An error of the client's own, with a "! " mark, in red. */
void style_error(const struct style *st, const char *text, time_t now, struct buf *out);

/* The chat prompt, which is the status: "[alice@127.0.0.1:1234 #général 3] ". room may
 * be NULL (not known yet); count 0 means unknown. Lines waiting to be sent are named when
 * there are any; offline replaces the count with the time until the next attempt. A TLS
 * link is marked after the count, "· tls" (green), or "· tls non vérifié" (red) when the
 * certificate is not verified; without TLS the prompt is as it always was.
 * Escape sequences are wrapped in readline's \001 \002 so that it measures the prompt. */
struct style_status {
    const char *pseudo;
    const char *server;
    const char *room; /* may be NULL */
    unsigned count;
    size_t waiting;
    bool offline;
    unsigned retry_s;    /* offline: seconds until the next attempt; 0: trying now */
    bool tls;            /* the link is (or, offline, will be) TLS */
    bool tls_unverified; /* --tls-insecure: encrypted, but the server is not verified */
};
void style_prompt(const struct style *st, const struct style_status *s, struct buf *out);

#endif
