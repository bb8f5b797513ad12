/* hosts.c - the address list and the turn through it; see hosts.h for the contract.
 *
 * Client thread only (and unit tests). A list is parsed whole into a new array before it
 * replaces the old one, so a refused answer leaves the addresses that were there. An IPv6
 * address takes a port only in brackets, since a bare one is all colons; commas cannot be
 * part of any address, so they separate entries whatever their form. No host has a blank,
 * a control character or a bracket in it either, so none is taken: every list formatted
 * reads back as itself. A port is digits only, so "+80" and " 80" are refused rather than
 * guessed at.
 */
#include "hosts.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xalloc.h"

/* Room for a host name (253 bytes at most in the DNS), its brackets, a port and a NUL; a
 * longer host is cut when formatted, never when parsed. */
#define FORMATTED_MAX 272

static const char blanks[] = " \t\r\n";

bool hosts_parse_port(const char *s, size_t len, int *port)
{
    if (len == 0 || len > 5) {
        return false;
    }
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) {
        return false;
    }
    *port = v;
    return true;
}

/* Whether host[0..len) may name a host: not empty, and no byte of it a blank, a control
 * character or a bracket (bytes past 0x7f are UTF-8, for names in any script). */
static bool host_ok(const char *host, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c == 0x7f || c == '[' || c == ']') {
            return false;
        }
    }
    return len > 0;
}

static void add(struct hosts *h, const char *host, size_t len, int port)
{
    h->list = xreallocarray(h->list, h->count + 1, sizeof(*h->list));
    h->list[h->count++] = (struct host_addr){.host = xmemdup0(host, len), .port = port};
}

static int bad_address(const char *s, size_t len, struct buf *err)
{
    buf_appendf(err,
                "Adresse invalide : « %.*s » (exemples : 127.0.0.1, exemple.org:1234, "
                "[::1]:1234).",
                (int)len, s);
    return -EINVAL;
}

static int bad_port(const char *s, size_t len, struct buf *err)
{
    buf_appendf(err, "Port invalide dans « %.*s » (attendu : un nombre de 1 à 65535).", (int)len,
                s);
    return -EINVAL;
}

/* "[v6]" or "[v6]:port", s[0] being '['. */
static int parse_bracketed(struct hosts *h, const char *s, size_t len, int port, struct buf *err)
{
    const char *close = memchr(s, ']', len);
    if (!close || close == s + 1) {
        return bad_address(s, len, err);
    }
    size_t rest = len - (size_t)(close + 1 - s);
    if (rest > 0 && close[1] != ':') {
        return bad_address(s, len, err);
    }
    if (!host_ok(s + 1, (size_t)(close - s - 1))) {
        return bad_address(s, len, err);
    }
    if (rest > 0 && !hosts_parse_port(close + 2, rest - 1, &port)) {
        return bad_port(s, len, err);
    }
    add(h, s + 1, (size_t)(close - s - 1), port);
    return 0;
}

/* One address, s[0..len) with its blanks already trimmed and no comma in it. */
static int parse_one(struct hosts *h, const char *s, size_t len, int port, struct buf *err)
{
    if (s[0] == '[') {
        return parse_bracketed(h, s, len, port, err);
    }
    const char *colon = memchr(s, ':', len);
    size_t host_len = len;
    if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) {
        colon = NULL; /* two colons or more: a bare IPv6 address, with no port */
    } else if (colon) {
        host_len = (size_t)(colon - s);
    }
    if (!host_ok(s, host_len)) {
        return bad_address(s, len, err); /* a port without a host, or no host at all */
    }
    if (colon && !hosts_parse_port(colon + 1, len - host_len - 1, &port)) {
        return bad_port(s, len, err);
    }
    add(h, s, host_len, port);
    return 0;
}

/* An empty address: nothing at all, or nothing between two commas or at either end. */
static int empty_address(const char *text, struct buf *err)
{
    if (text[strspn(text, blanks)] == '\0') {
        buf_append_str(err, "Aucune adresse donnée.");
    } else {
        buf_appendf(err,
                    "Adresse vide dans la liste « %s » : deux virgules de suite, ou une virgule "
                    "au début ou à la fin.",
                    text);
    }
    return -EINVAL;
}

/* s[0..*len), moved past its blanks at both ends. */
static const char *trim(const char *s, size_t *len)
{
    while (*len > 0 && strchr(blanks, s[*len - 1])) {
        (*len)--;
    }
    while (*len > 0 && strchr(blanks, *s)) {
        s++;
        (*len)--;
    }
    return s;
}

int hosts_parse(struct hosts *h, const char *text, int default_port, struct buf *err)
{
    struct hosts parsed = {0};
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *entry = trim(p, &len);
        int r =
            len == 0 ? empty_address(text, err) : parse_one(&parsed, entry, len, default_port, err);
        if (r < 0) {
            hosts_release(&parsed);
            return r;
        }
        if (!comma) {
            break;
        }
        p = comma + 1;
    }
    hosts_release(h);
    *h = parsed;
    return 0;
}

void hosts_release(struct hosts *h)
{
    for (size_t i = 0; i < h->count; i++) {
        free(h->list[i].host);
    }
    free(h->list);
    *h = (struct hosts){0};
}

void hosts_format(const struct hosts *h, struct buf *out)
{
    for (size_t i = 0; i < h->count; i++) {
        char name[FORMATTED_MAX];
        addr_format_host(h->list[i].host, h->list[i].port, name, sizeof(name));
        if (i > 0) {
            buf_append_char(out, ',');
        }
        buf_append_str(out, name);
    }
}

void hosts_start_round(struct hosts *h, bool after_current)
{
    assert(h->count > 0);
    h->current = after_current ? (h->current + 1) % h->count : 0;
    h->left = h->count - 1;
}

bool hosts_next(struct hosts *h)
{
    if (h->left == 0) {
        return false;
    }
    h->left--;
    h->current = (h->current + 1) % h->count;
    return true;
}

const struct host_addr *hosts_current(const struct hosts *h)
{
    assert(h->current < h->count);
    return &h->list[h->current];
}
