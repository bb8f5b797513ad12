/* irc_parse.c - one IRC line into its parts; see irc_parse.h.
 *
 * One pass from the left, in the order the grammar gives: tags, source, command, then the
 * parameters. Spaces between parts may be several, as clients sometimes send them and
 * servers accept them; inside the trailing parameter they are the text's own.
 */
#include "irc_parse.h"

#include <string.h>

static size_t skip_spaces(const char *line, size_t len, size_t i)
{
    while (i < len && line[i] == ' ') {
        i++;
    }
    return i;
}

/* The end of the word that starts at i: the next space, or the end of the line. */
static size_t word_end(const char *line, size_t len, size_t i)
{
    const char *space = memchr(line + i, ' ', len - i);
    return space ? (size_t)(space - line) : len;
}

static bool is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A command is letters, or three digits (a numeric, which only servers send). */
static bool command_valid(struct irc_slice c)
{
    if (c.len == 3 && is_digit(c.p[0]) && is_digit(c.p[1]) && is_digit(c.p[2])) {
        return true;
    }
    for (size_t i = 0; i < c.len; i++) {
        if (!is_letter(c.p[i])) {
            return false;
        }
    }
    return c.len > 0;
}

enum irc_parse_result irc_parse(const char *line, size_t len, struct irc_message *m)
{
    *m = (struct irc_message){0};
    size_t i = 0;
    bool tagged = len > 0 && line[0] == '@';
    if (tagged) {
        size_t end = word_end(line, len, 1);
        m->tags = (struct irc_slice){line + 1, end - 1};
        if (m->tags.len > IRC_TAGS_MAX) {
            return IRC_PARSE_TAGS_TOO_LONG;
        }
        i = end;
    }
    i = skip_spaces(line, len, i);
    if (len - i > IRC_LINE_MAX - 2) {
        return IRC_PARSE_TOO_LONG;
    }
    if (i == len) {
        return tagged ? IRC_PARSE_NO_COMMAND : IRC_PARSE_EMPTY;
    }
    if (line[i] == ':') {
        size_t end = word_end(line, len, i + 1);
        m->source = (struct irc_slice){line + i + 1, end - i - 1};
        i = skip_spaces(line, len, end);
        if (i == len) {
            return IRC_PARSE_NO_COMMAND;
        }
    }
    size_t end = word_end(line, len, i);
    m->command = (struct irc_slice){line + i, end - i};
    if (!command_valid(m->command)) {
        return IRC_PARSE_BAD_COMMAND;
    }
    i = end;
    for (;;) {
        i = skip_spaces(line, len, i);
        if (i == len) {
            break;
        }
        if (line[i] == ':' || m->n_params == IRC_PARAMS_MAX - 1) {
            if (line[i] == ':') {
                m->trailing = true;
                i++;
            }
            m->params[m->n_params++] = (struct irc_slice){line + i, len - i};
            break;
        }
        end = word_end(line, len, i);
        m->params[m->n_params++] = (struct irc_slice){line + i, end - i};
        i = end;
    }
    return IRC_PARSE_OK;
}

bool irc_slice_is(struct irc_slice s, const char *word)
{
    size_t n = strlen(word);
    if (s.len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char a = s.p[i], b = word[i];
        if (a >= 'a' && a <= 'z') {
            a = (char)(a - 'a' + 'A');
        }
        if (b >= 'a' && b <= 'z') {
            b = (char)(b - 'a' + 'A');
        }
        if (a != b) {
            return false;
        }
    }
    return true;
}

bool irc_tag_next(struct irc_slice *rest, struct irc_slice *key, struct irc_slice *value)
{
    while (rest->len > 0) {
        const char *semi = memchr(rest->p, ';', rest->len);
        size_t tag_len = semi ? (size_t)(semi - rest->p) : rest->len;
        struct irc_slice tag = {rest->p, tag_len};
        size_t skip = semi ? tag_len + 1 : tag_len;
        rest->p += skip;
        rest->len -= skip;
        if (tag.len == 0) {
            continue; /* ";;": an empty tag says nothing */
        }
        const char *eq = memchr(tag.p, '=', tag.len);
        if (eq) {
            *key = (struct irc_slice){tag.p, (size_t)(eq - tag.p)};
            *value = (struct irc_slice){eq + 1, tag.len - key->len - 1};
        } else {
            *key = tag;
            *value = (struct irc_slice){tag.p + tag.len, 0};
        }
        return true;
    }
    return false;
}

size_t irc_tag_unescape(struct irc_slice value, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < value.len; i++) {
        char c = value.p[i];
        if (c == '\\') {
            if (++i == value.len) {
                break; /* a lone '\' at the end is dropped */
            }
            switch (value.p[i]) {
            case ':':
                c = ';';
                break;
            case 's':
                c = ' ';
                break;
            case 'r':
                c = '\r';
                break;
            case 'n':
                c = '\n';
                break;
            default:
                c = value.p[i]; /* "\\" is '\', and "\x" is 'x' */
                break;
            }
        }
        if (n + 1 < size) {
            out[n] = c;
        }
        n++;
    }
    if (size > 0) {
        out[n < size ? n : size - 1] = '\0';
    }
    return n;
}
