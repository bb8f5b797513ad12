/* roster.c - who is in our room; see roster.h for the contract.
 *
 * A small array with linear searches: a room's list holds at most the 500 names of a "="
 * line plus the arrivals since, and it is searched when a notice comes or Tab is pressed.
 * Each notice form is matched whole after its pseudo, so a message that merely looks like
 * a notice ("* serveur : bob a rejoint #jeux", from the operator) changes nothing.
 */
#include "roster.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/command.h"
#include "common/proto.h"
#include "common/pseudo.h"
#include "common/xalloc.h"
#include "style.h"

void roster_init(struct roster *r)
{
    *r = (struct roster){0};
}

static void clear_names(struct roster *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->names[i]);
    }
    r->n = 0;
    r->count = 0;
}

void roster_release(struct roster *r)
{
    clear_names(r);
    free(r->names);
    free(r->room);
    *r = (struct roster){0};
}

void roster_enter(struct roster *r, const char *room)
{
    clear_names(r);
    free(r->room);
    r->room = xstrdup(room);
    r->listed = false;
}

static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    return pseudo_equal(a, alen, b, blen);
}

static ptrdiff_t find(const struct roster *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->n; i++) {
        if (same_name(r->names[i], strlen(r->names[i]), name, len)) {
            return (ptrdiff_t)i;
        }
    }
    return -1;
}

bool roster_has(const struct roster *r, const char *name, size_t len)
{
    return find(r, name, len) >= 0;
}

static void add_name(struct roster *r, const char *name, size_t len)
{
    r->names = xgrow(r->names, &r->cap, r->n + 1, sizeof(*r->names), 16);
    r->names[r->n++] = xmemdup0(name, len);
}

static bool arrive(struct roster *r, const char *name, size_t len)
{
    if (find(r, name, len) >= 0) {
        return false; /* already listed: a "=" line came after the arrival it announces */
    }
    add_name(r, name, len);
    r->count++;
    return true;
}

static bool depart(struct roster *r, const char *name, size_t len)
{
    ptrdiff_t i = find(r, name, len);
    if (i >= 0) {
        free(r->names[i]);
        r->names[i] = r->names[--r->n];
        r->count -= r->count > 0;
        return true;
    }
    if (r->count > r->n) {
        r->count--; /* one of those a long "=" line left out */
        return true;
    }
    return false;
}

static bool rename_name(struct roster *r, const char *from, size_t from_len, const char *to,
                        size_t to_len)
{
    ptrdiff_t i = find(r, from, from_len);
    if (i < 0) {
        return false;
    }
    free(r->names[i]);
    r->names[i] = xmemdup0(to, to_len);
    return true;
}

/* "= #ROOM COUNT : A B C" for our room: the whole list again. */
static bool list_line(struct roster *r, const char *text, size_t len)
{
    if (len < 2 || text[0] != '#') {
        return false;
    }
    const char *room = text + 1;
    const char *space = memchr(room, ' ', len - 1);
    if (!space || !r->room || !same_name(room, (size_t)(space - room), r->room, strlen(r->room))) {
        return false;
    }
    const char *end = text + len;
    char *after;
    unsigned long count = strtoul(space + 1, &after, 10);
    if (after == space + 1 || end - after < 2 || after[0] != ' ' || after[1] != ':') {
        return false;
    }
    clear_names(r);
    const char *names = after + 2, *w;
    size_t names_len = (size_t)(end - names), wlen;
    while (command_next_word(&names, &names_len, &w, &wlen)) {
        add_name(r, w, wlen);
    }
    r->count = count > r->n ? (unsigned)count : (unsigned)r->n;
    r->listed = true;
    return true;
}

/* Whether text[0..len) is exactly prefix followed by anything in brackets, or nothing. */
static bool is_form(const char *text, size_t len, const char *form, bool reason_allowed)
{
    size_t n = strlen(form);
    if (len < n || memcmp(text, form, n) != 0) {
        return false;
    }
    if (len == n) {
        return true;
    }
    return reason_allowed && len >= n + 3 && text[n] == ' ' && text[n + 1] == '(' &&
           text[len - 1] == ')';
}

static bool starts_with(const char *text, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(text, prefix, n) == 0;
}

/* Whether rest is prefix then one word (a room's name). */
static bool form_with_room(const char *rest, size_t rlen, const char *prefix)
{
    size_t n = strlen(prefix);
    return starts_with(rest, rlen, prefix) && rlen > n && !memchr(rest + n, ' ', rlen - n);
}

/* "* X ..." notices about a person of our room (or, for changes of pseudo, anyone). */
static bool notice_line(struct roster *r, const char *text, size_t len)
{
    const char *space = memchr(text, ' ', len);
    if (!space || space == text) {
        return false; /* no pseudo: not a notice about a person */
    }
    size_t nlen = (size_t)(space - text);
    const char *rest = space + 1;
    size_t rlen = len - nlen - 1;
    if (is_form(rest, rlen, "a rejoint la discussion", false) ||
        form_with_room(rest, rlen, "a rejoint #")) {
        return arrive(r, text, nlen);
    }
    if (form_with_room(rest, rlen, "a quitté #") || is_form(rest, rlen, "est déconnecté", true) ||
        is_form(rest, rlen, "a été expulsé", true)) {
        return depart(r, text, nlen);
    }
    static const char renamed[] = "s'appelle maintenant ";
    if (form_with_room(rest, rlen, renamed)) {
        size_t n = strlen(renamed);
        return rename_name(r, text, nlen, rest + n, rlen - n);
    }
    return false;
}

/* "+ ..." answers to us: a new room, or a new pseudo of ours. */
static bool answer_line(struct roster *r, const char *text, size_t len, const char *self)
{
    static const char moved[] = "Vous êtes maintenant dans #";
    static const char renamed[] = "Vous vous appelez maintenant ";
    size_t mlen = strlen(moved), nlen = strlen(renamed);
    if (starts_with(text, len, moved) && len > mlen + 1 && text[len - 1] == '.') {
        char *room = xmemdup0(text + mlen, len - mlen - 1);
        roster_enter(r, room);
        free(room);
        return true;
    }
    if (starts_with(text, len, "Bienvenue, ")) {
        roster_enter(r, "général"); /* everyone arrives there (docs/PROTOCOL.md) */
        return true;
    }
    if (self && starts_with(text, len, renamed) && len > nlen + 1 && text[len - 1] == '.') {
        return rename_name(r, self, strlen(self), text + nlen, len - nlen - 1);
    }
    return false;
}

bool roster_on_line(struct roster *r, const char *line, size_t len, const char *self)
{
    char kind;
    const char *text;
    size_t text_len;
    if (!proto_split_kind(line, len, &kind, &text, &text_len)) {
        return false;
    }
    switch (kind) {
    case '=':
        return list_line(r, text, text_len);
    case PROTO_NOTICE:
        return notice_line(r, text, text_len);
    case PROTO_OK:
        return answer_line(r, text, text_len, self);
    default:
        return false;
    }
}
