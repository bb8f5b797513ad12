/* roster.c - who is in our room; see roster.h for the contract.
 *
 * A small array with linear searches: a room's list holds the names of a "=" line (at most
 * PROTO_WHO_MAX) plus the arrivals since, and it is searched when an event comes or Tab is
 * pressed. Every line is read with proto.h's parsers, field by field; the sentence after
 * " : " is for people and is never looked at, but for the names of a "=" line. A name or
 * a room is kept only if it is one the server could have accepted (pseudo_check()): the
 * client's status and input line show them, and a NUL would cut them short.
 */
#include "roster.h"

#include <stdlib.h>
#include <string.h>

#include "common/command.h"
#include "common/pseudo.h"
#include "common/xalloc.h"

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

static ptrdiff_t find(const struct roster *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->n; i++) {
        if (pseudo_equal(r->names[i], strlen(r->names[i]), name, len)) {
            return (ptrdiff_t)i;
        }
    }
    return -1;
}

bool roster_has(const struct roster *r, const char *name, size_t len)
{
    return find(r, name, len) >= 0;
}

/* Whether a pseudo or a room's name is one the server could have given. */
static bool valid_name(struct proto_span s)
{
    return pseudo_check(s.p, s.len) == PSEUDO_OK;
}

/* Whether a "#ROOM" field names the room we are in. */
static bool our_room(const struct roster *r, struct proto_span field)
{
    struct proto_span room;
    return r->room && proto_room_field(field, &room) &&
           pseudo_equal(room.p, room.len, r->room, strlen(r->room));
}

static void add_name(struct roster *r, const char *name, size_t len)
{
    r->names = xgrow(r->names, &r->cap, r->n + 1, sizeof(*r->names), 16);
    r->names[r->n++] = xmemdup0(name, len);
}

/* "^ PSEUDO #ROOM : ...": someone came into our room. */
static bool enter_line(struct roster *r, const char *text, size_t len)
{
    struct proto_span f[2], sentence;
    if (!proto_parse_fields(text, len, 2, f, &sentence) || !our_room(r, f[1]) ||
        !valid_name(f[0])) {
        return false;
    }
    if (find(r, f[0].p, f[0].len) >= 0) {
        return false; /* already listed: a "=" line came after the arrival it tells */
    }
    if (r->n < ROSTER_NAMES_MAX) {
        add_name(r, f[0].p, f[0].len);
    }
    r->count++;
    return true;
}

/* "- PSEUDO #ROOM : ...": someone left our room, or the server. */
static bool leave_line(struct roster *r, const char *text, size_t len)
{
    struct proto_span f[2], sentence;
    if (!proto_parse_fields(text, len, 2, f, &sentence) || !our_room(r, f[1])) {
        return false;
    }
    ptrdiff_t i = find(r, f[0].p, f[0].len);
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

/* "| OLD NEW : ...": someone, anywhere on the server, or we, changed pseudo. */
static struct roster_update rename_line(struct roster *r, const char *text, size_t len,
                                        const char *self)
{
    struct roster_update u = {0};
    struct proto_span f[2], sentence;
    if (!proto_parse_fields(text, len, 2, f, &sentence) || !valid_name(f[1])) {
        return u;
    }
    if (self && pseudo_equal(f[0].p, f[0].len, self, strlen(self))) {
        u.renamed_self = true;
        u.new_self = f[1];
    }
    ptrdiff_t i = find(r, f[0].p, f[0].len);
    if (i >= 0) {
        free(r->names[i]);
        r->names[i] = xmemdup0(f[1].p, f[1].len);
        u.changed = true;
    }
    return u;
}

/* "# #ROOM : ...": we are in ROOM now; its "=" line follows. */
static bool room_line(struct roster *r, const char *text, size_t len)
{
    struct proto_span f[1], sentence, room;
    if (!proto_parse_fields(text, len, 1, f, &sentence) || !proto_room_field(f[0], &room) ||
        !valid_name(room)) {
        return false;
    }
    clear_names(r);
    free(r->room);
    r->room = xmemdup0(room.p, room.len);
    r->listed = false;
    return true;
}

/* "= #ROOM COUNT : A @B C" for our room: the whole list again, operators' marks dropped. */
static bool list_line(struct roster *r, const char *text, size_t len)
{
    struct proto_span f[2], names;
    unsigned count;
    if (!proto_parse_fields(text, len, 2, f, &names) || !our_room(r, f[0]) ||
        !proto_count_field(f[1], &count)) {
        return false;
    }
    clear_names(r);
    const char *w;
    size_t wlen;
    while (r->n < PROTO_WHO_MAX && command_next_word(&names.p, &names.len, &w, &wlen)) {
        if (wlen > 1 && w[0] == PROTO_OPERATOR_MARK) { /* an operator: the pseudo follows */
            w++;
            wlen--;
        }
        if (valid_name((struct proto_span){w, wlen})) {
            add_name(r, w, wlen); /* the others are still counted */
        }
    }
    r->count = count > r->n ? count : (unsigned)r->n;
    r->listed = true;
    return true;
}

struct roster_update roster_on_line(struct roster *r, const char *line, size_t len,
                                    const char *self)
{
    struct roster_update u = {0};
    char kind;
    const char *text;
    size_t text_len;
    if (!proto_split_kind(line, len, &kind, &text, &text_len)) {
        return u;
    }
    switch (kind) {
    case PROTO_ENTER:
        u.changed = enter_line(r, text, text_len);
        break;
    case PROTO_LEAVE:
        u.changed = leave_line(r, text, text_len);
        break;
    case PROTO_RENAME:
        u = rename_line(r, text, text_len, self);
        break;
    case PROTO_ROOM:
        u.changed = room_line(r, text, text_len);
        break;
    case PROTO_WHO:
        u.changed = list_line(r, text, text_len);
        break;
    default:
        break;
    }
    return u;
}
