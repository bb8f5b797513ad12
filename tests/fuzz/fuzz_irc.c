/* fuzz_irc.c - libFuzzer harness for reading an IRC line (src/server/irc_parse.c).
 *
 * The input is one line, as the framer hands it (any bytes, the IRC listener's limit at
 * most), copied into a buffer of exactly its size so that ASan sees a read past its end.
 * After each parse: every slice lies within the line; on IRC_PARSE_OK the tags hold at most
 * IRC_TAGS_MAX bytes and the rest of the line at most IRC_LINE_MAX - 2, the command is
 * letters or three digits, there are at most IRC_PARAMS_MAX parameters, and every one but
 * a last trailing one is a non-empty word without spaces; a second parse gives the same
 * message. Then every tag is read and unescaped, into a buffer of its size and one too
 * small: keys and values lie within the tags, the unescaped length is at most the escaped
 * one, and the output is NUL-terminated.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/irc_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_within(struct irc_slice s, const char *line, size_t len)
{
    assert(s.len == 0 || (s.p >= line && s.p + s.len <= line + len));
}

static bool same_slice(struct irc_slice a, struct irc_slice b)
{
    return a.p == b.p && a.len == b.len;
}

/* Field by field: the struct has padding, which memcmp() would read. */
static bool same_message(const struct irc_message *a, const struct irc_message *b)
{
    if (!same_slice(a->tags, b->tags) || !same_slice(a->source, b->source) ||
        !same_slice(a->command, b->command) || a->n_params != b->n_params ||
        a->trailing != b->trailing) {
        return false;
    }
    for (unsigned i = 0; i < a->n_params; i++) {
        if (!same_slice(a->params[i], b->params[i])) {
            return false;
        }
    }
    return true;
}

static void check_tags(struct irc_slice tags)
{
    struct irc_slice rest = tags, key, value;
    size_t seen = 0;
    while (irc_tag_next(&rest, &key, &value)) {
        assert(key.p >= tags.p && key.p + key.len <= tags.p + tags.len);
        assert(value.len == 0 || (value.p >= tags.p && value.p + value.len <= tags.p + tags.len));
        assert(memchr(key.p, ';', key.len) == NULL);
        assert(++seen <= tags.len);
        char *out = malloc(value.len + 1);
        size_t n = irc_tag_unescape(value, out, value.len + 1);
        assert(n <= value.len);
        assert(out[n] == '\0');
        char small[2];
        size_t m = irc_tag_unescape(value, small, sizeof(small));
        assert(m == n);
        assert(memchr(small, '\0', sizeof(small)) != NULL);
        free(out);
    }
    assert(rest.len == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > IRC_INPUT_MAX + 64) {
        return 0;
    }
    char *line = malloc(size ? size : 1);
    memcpy(line, data, size);
    struct irc_message m, again;
    enum irc_parse_result r = irc_parse(line, size, &m);
    check_within(m.tags, line, size);
    check_within(m.source, line, size);
    check_within(m.command, line, size);
    assert(m.n_params <= IRC_PARAMS_MAX);
    for (unsigned i = 0; i < m.n_params; i++) {
        check_within(m.params[i], line, size);
    }
    if (r == IRC_PARSE_OK) {
        assert(m.tags.len <= IRC_TAGS_MAX);
        assert(m.command.len > 0);
        size_t rest = (size_t)(line + size - m.command.p);
        assert(rest <= IRC_LINE_MAX - 2);
        if (m.command.len == 3 && m.command.p[0] >= '0' && m.command.p[0] <= '9') {
            for (size_t i = 0; i < 3; i++) {
                assert(m.command.p[i] >= '0' && m.command.p[i] <= '9');
            }
        } else {
            for (size_t i = 0; i < m.command.len; i++) {
                char c = m.command.p[i];
                assert((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
            }
        }
        for (unsigned i = 0; i < m.n_params; i++) {
            bool last = i + 1 == m.n_params;
            if (!last || (!m.trailing && m.n_params < IRC_PARAMS_MAX)) {
                assert(m.params[i].len > 0);
                assert(memchr(m.params[i].p, ' ', m.params[i].len) == NULL);
                assert(m.params[i].p[0] != ':');
            }
        }
        assert(irc_parse(line, size, &again) == IRC_PARSE_OK);
        assert(same_message(&m, &again));
        check_tags(m.tags);
    } else if (r == IRC_PARSE_BAD_COMMAND) {
        assert(m.command.len > 0);
    }
    free(line);
    return 0;
}
