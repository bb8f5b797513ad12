/* irc_parse.h - one IRC line into its parts; pure, no allocation, no I/O.
 *
 * The IRC listener's connections send lines in the client protocol of RFC 1459 and 2812 as
 * modern clients speak it (modern.ircdocs.horse), with IRCv3 message tags in front:
 *
 *     [@tags SPACE] [:source SPACE] command [SPACE param]... [SPACE :trailing]
 *
 * irc_parse() cuts one line, as the framer hands it (without its "\r\n"), into slices of
 * that line: nothing is copied, so the message lives as long as the line does. It checks
 * only what IRC itself says of a line's shape, and leaves what the words mean (a nick's
 * rules, a channel's) to the protocol above. Tag values are escaped on the wire; they are
 * read with irc_tag_next() and irc_tag_unescape().
 */
#ifndef CAUSERIE_IRC_PARSE_H
#define CAUSERIE_IRC_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* The most parameters a message has: after 14 middle ones, the rest of the line is the
 * 15th, as RFC 2812 says, whether or not it starts with ':'. */
#define IRC_PARAMS_MAX 15
/* The most bytes of a line without its tags, "\r\n" included (RFC 1459). */
#define IRC_LINE_MAX 512
/* The most bytes of tag data a client may send, without the '@' and the space after them
 * (IRCv3 message-tags). */
#define IRC_TAGS_MAX 4094
/* The longest line a connection may send: the tags, '@' and space, then a line. */
#define IRC_INPUT_MAX (1 + IRC_TAGS_MAX + 1 + IRC_LINE_MAX)

/* Bytes of the line given to irc_parse(): p is not NUL-terminated. */
struct irc_slice {
    const char *p;
    size_t len;
};

struct irc_message {
    struct irc_slice tags;    /* without the '@' and the space; len 0: none */
    struct irc_slice source;  /* without the ':'; len 0: none (clients rarely send one) */
    struct irc_slice command; /* letters, or three digits */
    unsigned n_params;
    struct irc_slice params[IRC_PARAMS_MAX];
    bool trailing; /* the last parameter came after a ':' (it may be empty, or hold spaces) */
};

enum irc_parse_result {
    IRC_PARSE_OK,
    IRC_PARSE_EMPTY,         /* nothing but spaces: ignored, as servers do */
    IRC_PARSE_TAGS_TOO_LONG, /* tag data over IRC_TAGS_MAX: ERR_INPUTTOOLONG (417) */
    IRC_PARSE_TOO_LONG,      /* the rest over IRC_LINE_MAX - 2: ERR_INPUTTOOLONG (417) */
    IRC_PARSE_NO_COMMAND,    /* tags or a source, then nothing */
    IRC_PARSE_BAD_COMMAND,   /* a command that is neither letters nor three digits: 421;
                              * m->command is set */
};

/* Parses line[0..len) (without "\r\n") into m. On IRC_PARSE_OK every field of m is set and
 * each slice lies within the line; m->command is set for IRC_PARSE_BAD_COMMAND too. */
enum irc_parse_result irc_parse(const char *line, size_t len, struct irc_message *m);

/* Whether s is word, compared without case in ASCII (IRC commands are). */
bool irc_slice_is(struct irc_slice s, const char *word);

/* The next tag of *rest (a message's tags, as irc_parse() gave them), which is advanced past
 * it: its key (with any '+' of a client-only tag, and any vendor prefix) and its escaped
 * value (len 0 if it has none, or an empty one). False when no tag is left. */
bool irc_tag_next(struct irc_slice *rest, struct irc_slice *key, struct irc_slice *value);

/* Writes value unescaped ("\:" is ';', "\s" a space, "\\" a backslash, "\r" and "\n" CR and
 * LF, '\' before any other character is dropped, and so is a '\' at the end) into out, of
 * size bytes, NUL-terminated; returns the unescaped length, which is size or more if it did
 * not fit (then out holds its first size - 1 bytes). */
size_t irc_tag_unescape(struct irc_slice value, char *out, size_t size);

#endif
