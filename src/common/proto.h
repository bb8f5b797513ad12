/* proto.h - causerie's wire protocol: line framing and line kinds.
 *
 * Linked into both programs; pure, no I/O, and no allocation while lines arrive whole.
 * The protocol is UTF-8 text, one line per '\n' (a '\r' before it is dropped), so that
 * `nc` is a usable client. Every line from the server starts with one kind character and a
 * space, so that a program tells a chat message from a notice without reading French.
 * docs/PROTOCOL.md is the reference; keep it in step with this file.
 */
#ifndef CAUSERIE_PROTO_H
#define CAUSERIE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kind of a server line: its first byte. A client shows a kind it does not know as a
 * notice, so that servers can add kinds without breaking older clients. The texts of "?",
 * "+", "!" and "*" lines are French sentences for people, never matched by programs; every
 * other kind has a form that programs read, given with each kind below and parsed by the
 * functions at the end of this file. */
enum proto_kind {
    PROTO_PROMPT = '?',  /* the server waits for an answer: "? Entrez votre pseudo :" */
    PROTO_SECRET = '%',  /* the server waits for a secret answer (a password): the client hides
                          * what is typed and never keeps it: "% Mot de passe pour « alice » :" */
    PROTO_OK = '+',      /* the last request succeeded: "+ Bienvenue, alice !" */
    PROTO_ERROR = '!',   /* the last request failed and why: "! Ce pseudo est déjà pris." */
    PROTO_NOTICE = '*',  /* something happened: "* bob est déconnecté" */
    PROTO_MESSAGE = '>', /* a chat message: "> PSEUDO: TEXT" */
    PROTO_ACTION = '&',  /* an action (/me): "& PSEUDO TEXT" */
    PROTO_PRIVATE = '@', /* a private message for us (/msg): "@ PSEUDO: TEXT" */
    PROTO_HISTORY = '~', /* a line of a room's history: "~ TIME LINE", LINE a '>' or '&' line */
    PROTO_WHO = '=',     /* who is in a room: "= #ROOM COUNT : PSEUDO @PSEUDO ..." */
    /* With the events capability (PROTO_CAP_EVENTS), these replace the notices and answers
     * that say the same in French, each as "K FIELD... : SENTENCE" (proto_parse_fields()). */
    PROTO_ENTER = '^',     /* someone came into our room: "^ PSEUDO #ROOM : ..." */
    PROTO_LEAVE = '-',     /* someone left our room, or the server: "- PSEUDO #ROOM : ..." */
    PROTO_RENAME = '|',    /* someone, or we, changed pseudo: "| OLD NEW : ..." */
    PROTO_ROOM = '#',      /* we are in a room now (arrival, /join): "# #ROOM : ..." */
    PROTO_ROOM_ITEM = '$', /* one room of the list /rooms gives: "$ #ROOM COUNT : ..." */
};

/* The room everyone enters on arrival, without its '#'. */
#define PROTO_DEFAULT_ROOM "général"
/* Pseudos named at most by a "=" line: 500 pseudos of at most 128 bytes are 64 KiB, which
 * any client reads in one go; the count before them says if more are in. */
#define PROTO_WHO_MAX 500
/* Before a pseudo in a "=" line: that person is an operator of the room. No pseudo starts
 * with it (pseudo.h). */
#define PROTO_OPERATOR_MARK '@'
/* The capability a client asks for with "/cap events" before its pseudo, to receive the
 * '^', '-', '|', '#' and '$' lines (docs/PROTOCOL.md, "Events"). */
#define PROTO_CAP_EVENTS "events"

/* An incremental line framer. It keeps only the unfinished tail of a line between reads,
 * never more than max_line bytes of it, so a peer cannot grow it by withholding '\n'. */
/* It is part of every server connection, so it is kept to 16 bytes: the partial line is a
 * bare pointer whose capacity follows from its length (see proto.c), its length and the
 * two flags share 32 bits, since max_line is at most PROTO_MAX_LINE_CEILING and the
 * partial line at most one byte longer. */
struct proto_framer {
    char *partial;             /* owned, NULL when empty: start of a line whose '\n' is to come */
    uint32_t partial_len : 30; /* bytes in partial */
    uint32_t discarding : 1;   /* an overlong line was reported; skip to its '\n' */
    uint32_t partial_done : 1; /* the last line returned lives in partial: clear it first */
    uint32_t max_line;         /* longest accepted line, in bytes, without "\r\n" */
};

/* The largest max_line a framer takes: its partial line, one byte longer at most, must fit
 * in partial_len. */
#define PROTO_MAX_LINE_CEILING ((1u << 29) - 1)

/* max_line is at most PROTO_MAX_LINE_CEILING. */
void proto_framer_init(struct proto_framer *f, size_t max_line);
void proto_framer_release(struct proto_framer *f);

/* Takes the next line from the input at *in (of *in_len bytes) and advances both past what
 * it consumed. Returns:
 *   0          a line is ready: *line and *line_len (no '\n', no trailing '\r'). It points
 *              into the input or into the framer, and stays valid until the next call.
 *   -EAGAIN    the input is used up; an unfinished line was kept for the next call.
 *   -EMSGSIZE  a line grew past max_line. It is reported once, as soon as it is known, and
 *              the rest of it, up to and including its '\n', is skipped silently.
 * Call it until it returns -EAGAIN; the same lines come out however the input was split. */
int proto_framer_next(struct proto_framer *f, const char **in, size_t *in_len, const char **line,
                      size_t *line_len);

/* True while the framer holds the start of a line (the peer is mid-line). */
bool proto_framer_mid_line(const struct proto_framer *f);

/* Splits a server line into its kind and its text (what follows "K "). Returns false if
 * the line is too short to have a kind; then the whole line is the text. */
bool proto_split_kind(const char *line, size_t len, char *kind, const char **text,
                      size_t *text_len);

/* ---------------------------------------------------------------- reading server lines
 *
 * Parsers of the forms above for the programs that read them. Each takes the text of a
 * line (what follows "K ", from proto_split_kind()), reads nothing outside it, allocates
 * nothing, and returns false, with the outputs unspecified, for a text not of its form. The
 * spans point into the text. */
struct proto_span {
    const char *p;
    size_t len;
};

/* "PSEUDO: TEXT" ('>' and '@'): the pseudo is everything before the first ": ", which a
 * pseudo cannot hold, and must not be empty; TEXT may be. */
bool proto_parse_message(const char *text, size_t len, struct proto_span *pseudo,
                         struct proto_span *body);
/* "PSEUDO TEXT" ('&'): the pseudo is the first word, not empty; TEXT may be missing. */
bool proto_parse_action(const char *text, size_t len, struct proto_span *pseudo,
                        struct proto_span *body);
/* "TIME LINE" ('~'): TIME is the first word (not checked here), LINE the rest, at least a
 * kind and a space. */
bool proto_parse_history(const char *text, size_t len, struct proto_span *time,
                         struct proto_span *line);
/* "F1 F2 ... Fn : SENTENCE", or "F1 ... Fn :" with no sentence: n non-empty fields without
 * spaces, single spaces between them, then " :" and, if anything follows, a space and the
 * sentence (which may hold anything, " : " too). fields has room for n spans. The '=' line
 * is this form with n = 2 and the pseudos as the sentence. */
bool proto_parse_fields(const char *text, size_t len, size_t n, struct proto_span *fields,
                        struct proto_span *sentence);
/* A "#ROOM" field: the name after '#', which must not be empty. */
bool proto_room_field(struct proto_span field, struct proto_span *room);
/* A COUNT field: decimal digits only, at most 9 of them. */
bool proto_count_field(struct proto_span field, unsigned *count);

#endif
