/* command.c - command lines cut into name and words; see command.h for the contract.
 *
 * Linked into both programs; pure and stateless, so any thread may call it. Every scan is
 * bounded by the length it was given and returns pointers into the caller's line: a
 * command costs one pass over its bytes and no copy. The server's dispatcher
 * (src/server/commands.c) is the first user; commands that take words ("/msg PSEUDO
 * TEXT") use command_next_word().
 */
#include "command.h"

bool command_is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The number of blanks at the start of s[0..len). */
static size_t blanks(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && command_is_blank(s[n])) {
        n++;
    }
    return n;
}

/* The number of non-blank bytes at the start of s[0..len). */
static size_t non_blanks(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && !command_is_blank(s[n])) {
        n++;
    }
    return n;
}

bool command_split(const char *line, size_t len, struct command_line *out)
{
    if (len == 0 || line[0] != '/' || (len >= 2 && line[1] == '/')) {
        return false;
    }
    const char *name = line + 1;
    size_t rest = len - 1;
    size_t name_len = non_blanks(name, rest);
    size_t gap = blanks(name + name_len, rest - name_len);
    out->name = name;
    out->name_len = name_len;
    out->args = name + name_len + gap;
    out->args_len = rest - name_len - gap;
    return true;
}

bool command_next_word(const char **args, size_t *args_len, const char **word, size_t *word_len)
{
    if (*args_len == 0) {
        return false; /* *args is at the end already, and may be any pointer */
    }
    size_t skip = blanks(*args, *args_len);
    const char *start = *args + skip;
    size_t left = *args_len - skip;
    if (left == 0) {
        *args = start;
        *args_len = 0;
        return false;
    }
    size_t n = non_blanks(start, left);
    size_t gap = blanks(start + n, left - n);
    *word = start;
    *word_len = n;
    *args = start + n + gap;
    *args_len = left - n - gap;
    return true;
}

void command_unescape(const char **text, size_t *len)
{
    if (*len >= 2 && (*text)[0] == '/' && (*text)[1] == '/') {
        (*text)++;
        (*len)--;
    }
}
