/* command.h - telling a command line from a message, and splitting it into words.
 *
 * Linked into both programs; pure, no I/O, no allocation, so any thread may call it and
 * tests and fuzzers drive it directly. A chat line starting with a single '/' is a command,
 * "/name arguments"; one starting with "//" is a message whose first '/' escapes the second.
 * Every pointer returned points into the caller's line, which must outlive it; nothing here
 * reads a byte outside line[0..len), so the line need not be NUL-terminated.
 * docs/PROTOCOL.md describes commands; src/server/commands.c runs them.
 */
#ifndef CAUSERIE_COMMAND_H
#define CAUSERIE_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

/* A space or a tab separates a command's name and words. The server only ever sees spaces
 * (sanitize.c turns a tab into one); tabs count too so that the client, which reads the
 * user's raw input, splits a line as the server will once it is sanitised. */
bool command_is_blank(char ch);

/* A command line, "/name arguments", cut in place. */
struct command_line {
    const char *name; /* borrowed: just after the '/' */
    size_t name_len;  /* up to the first blank or the end; 0 for "/" or "/ x" */
    const char *args; /* borrowed: after the name and the blanks that follow it */
    size_t args_len;  /* to the end of the line: trailing blanks are kept, they may be text */
};

/* True if line[0..len) is a command: it starts with '/' and its second byte, if any, is not
 * '/'. Then *out holds its name and arguments; name_len + args_len < len, and the bytes in
 * between are the '/' and blanks only. False for any other line (the empty one included),
 * which is a message; *out is then left untouched. */
bool command_split(const char *line, size_t len, struct command_line *out);

/* Takes the next word from the arguments at *args (of *args_len bytes): skips blanks,
 * stores the word (a run of non-blank bytes, never empty) in *word and *word_len, and
 * advances *args and *args_len past it and the blanks after it, so that what is left is
 * the rest of the line as typed ("/msg bob  salut !" gives "bob", then "salut !").
 * Returns false when only blanks are left: then *args_len becomes 0, *args points at the
 * end, and *word and *word_len are left untouched. Each true return consumes at least one
 * byte, so a loop until false ends, having consumed everything. */
bool command_next_word(const char **args, size_t *args_len, const char **word, size_t *word_len);

/* The text a message line sends: when *text (of *len bytes) starts with "//", drops the
 * first '/' ("//etc" sends "/etc"); otherwise leaves both unchanged. Meant for lines
 * command_split() said are not commands. */
void command_unescape(const char **text, size_t *len);

#endif
