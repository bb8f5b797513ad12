/* history_record.c - history file records: CRC, parsing, encoding, the incremental reader.
 *
 * Pure: no I/O, no global state; the reader allocates only its unfinished line. See
 * history_record.h for the format and the contracts. history_file.c does the file's I/O
 * with these; tests and the fuzzer drive them directly.
 */
#include "history_record.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/utf8.h"

/* The reasons a record is damaged, as the operator reads them in the log. */
#define WHY_OVERLONG  "enregistrement trop long"
#define WHY_MISSING   "champ manquant"
#define WHY_VERSION   "version inconnue"
#define WHY_TIME      "horodatage invalide"
#define WHY_ROOM      "nom de salon invalide"
#define WHY_CRC_FORM  "somme de contrôle mal formée"
#define WHY_CRC       "somme de contrôle incorrecte"
#define WHY_UTF8      "UTF-8 invalide dans le message"
#define WHY_CONTROL   "caractère de contrôle dans le message"
#define WHY_TRUNCATED "ligne tronquée"

/* ------------------------------------------------------------------------------------- */
/* CRC-32, four bits at a time: a 16-entry table, written out, instead of 256 entries or a
 * run-time initialisation. About 1 GB/s, far more than a history file needs. */

static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t history_record_crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}

/* ------------------------------------------------------------------------------------- */
/* Records: validation, parsing, encoding. */

/* Checks text[0..len) as sanitize.c leaves text: NULL if clean, else the reason. */
static const char *check_text(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c < 0x7F) {
            i++;
            continue;
        }
        uint32_t cp;
        i += utf8_decode(text + i, len - i, &cp);
        if (cp == UTF8_INVALID) {
            return WHY_UTF8;
        }
        if (cp == '\t' || sanitize_is_control(cp) || sanitize_is_bidi_override(cp)) {
            return WHY_CONTROL;
        }
    }
    return NULL;
}

static bool room_valid(const char *room, size_t len)
{
    return len >= 1 && len <= HISTORY_RECORD_ROOM_MAX && !memchr(room, ' ', len) &&
           check_text(room, len) == NULL;
}

bool history_record_valid(const struct history_record *r, const char **why)
{
    const char *fault = NULL;
    if (!room_valid(r->room, r->room_len)) {
        fault = WHY_ROOM;
    } else if (r->line_len == 0) {
        fault = WHY_MISSING;
    } else if (r->line_len > HISTORY_RECORD_LINE_MAX) {
        fault = WHY_OVERLONG;
    } else {
        fault = check_text(r->line, r->line_len);
    }
    if (fault && why) {
        *why = fault;
    }
    return fault == NULL;
}

/* Takes the bytes from *p up to the next space as a field and moves *p past that space.
 * False if no space follows: the record lacks this field or the ones after it. */
static bool next_field(const char **p, const char *end, const char **field, size_t *len)
{
    const char *space = memchr(*p, ' ', (size_t)(end - *p));
    if (!space) {
        return false;
    }
    *field = *p;
    *len = (size_t)(space - *p);
    *p = space + 1;
    return true;
}

/* Canonical decimal int64: "0", or an optional '-', a digit 1-9 and at most 18 more. */
static bool parse_time(const char *s, size_t len, int64_t *out)
{
    bool negative = len > 0 && s[0] == '-';
    s += negative;
    len -= negative;
    if (len == 0 || len > 19 || (s[0] == '0' && (len > 1 || negative))) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits fit in 64 bits */
    }
    if (v > (uint64_t)INT64_MAX + negative) {
        return false;
    }
    /* -v computed in unsigned arithmetic, so that INT64_MIN does not overflow. */
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Exactly 8 lowercase hexadecimal digits, the only form the encoder writes. */
static bool parse_crc(const char *s, size_t len, uint32_t *out)
{
    if (len != 8) {
        return false;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        const char *digit = memchr("0123456789abcdef", s[i], 16);
        if (!digit) {
            return false;
        }
        v = v << 4 | (uint32_t)(digit - "0123456789abcdef");
    }
    *out = v;
    return true;
}

static int damaged(const char **why, const char *reason)
{
    *why = reason;
    return -EBADMSG;
}

int history_record_parse(const char *line, size_t len, struct history_record *out, const char **why)
{
    if (len > HISTORY_RECORD_MAX) {
        return damaged(why, WHY_OVERLONG);
    }
    const char *p = line;
    const char *end = line + len;
    const char *version, *time, *crc;
    size_t version_len, time_len, crc_len;
    if (!next_field(&p, end, &version, &version_len) || !next_field(&p, end, &time, &time_len) ||
        !next_field(&p, end, &out->room, &out->room_len) || !next_field(&p, end, &crc, &crc_len) ||
        p == end) {
        return damaged(why, WHY_MISSING);
    }
    out->line = p;
    out->line_len = (size_t)(end - p);
    uint32_t stored;
    if (version_len != 1 || version[0] != '0' + HISTORY_RECORD_VERSION) {
        return damaged(why, WHY_VERSION);
    } else if (!parse_time(time, time_len, &out->time)) {
        return damaged(why, WHY_TIME);
    } else if (!room_valid(out->room, out->room_len)) {
        return damaged(why, WHY_ROOM);
    } else if (!parse_crc(crc, crc_len, &stored)) {
        return damaged(why, WHY_CRC_FORM);
    } else if (out->line_len > HISTORY_RECORD_LINE_MAX) {
        return damaged(why, WHY_OVERLONG);
    }
    /* The checksum covers the record without "CRC ": what comes before it, then the line. */
    uint32_t sum = history_record_crc32(0, line, (size_t)(crc - line));
    if (history_record_crc32(sum, out->line, out->line_len) != stored) {
        return damaged(why, WHY_CRC);
    }
    const char *fault = check_text(out->line, out->line_len);
    return fault ? damaged(why, fault) : 0;
}

/* Writes "VERSION TIME ROOM CRC " for r into out and returns its length: the record is
 * that, then the line, then '\n'. */
size_t history_record_header(char out[HISTORY_RECORD_HEADER_MAX + 1],
                             const struct history_record *r)
{
    int n = snprintf(out, HISTORY_RECORD_HEADER_MAX + 1, "%d %" PRId64 " %.*s ",
                     HISTORY_RECORD_VERSION, r->time, (int)r->room_len, r->room);
    assert(n > 0 && (size_t)n + 9 <= HISTORY_RECORD_HEADER_MAX);
    uint32_t sum = history_record_crc32(0, out, (size_t)n);
    sum = history_record_crc32(sum, r->line, r->line_len);
    n += snprintf(out + n, HISTORY_RECORD_HEADER_MAX + 1 - (size_t)n, "%08" PRIx32 " ", sum);
    return (size_t)n;
}

void history_record_encode(struct buf *out, const struct history_record *r)
{
    assert(history_record_valid(r, NULL));
    char header[HISTORY_RECORD_HEADER_MAX + 1];
    size_t n = history_record_header(header, r);
    buf_grow(out, n + r->line_len + 1);
    buf_append(out, header, n);
    buf_append(out, r->line, r->line_len);
    buf_append_char(out, '\n');
}

/* ------------------------------------------------------------------------------------- */
/* The reader. A line found whole in the input is parsed where it lies; only a line split
 * across pieces is copied, into partial, which never exceeds HISTORY_RECORD_MAX. */

void history_record_reader_init(struct history_record_reader *r, history_record_cb on_record,
                                history_record_damage_cb on_damage, void *ctx)
{
    assert(on_record && on_damage);
    *r = (struct history_record_reader){.on_record = on_record, .on_damage = on_damage, .ctx = ctx};
    buf_init(&r->partial);
}

void history_record_reader_release(struct history_record_reader *r)
{
    buf_release(&r->partial);
}

/* A whole line, number r->line_no + 1, without its '\n'. */
static void take_line(struct history_record_reader *r, const char *line, size_t len)
{
    struct history_record rec;
    const char *why;
    if (history_record_parse(line, len, &rec, &why) == 0) {
        r->on_record(&rec, r->ctx);
    } else {
        r->on_damage(r->line_no + 1, why, r->ctx);
    }
}

/* The line being read grew past the maximum: report it now, skip the rest of it. */
static void overlong(struct history_record_reader *r)
{
    r->on_damage(r->line_no + 1, WHY_OVERLONG, r->ctx);
    r->discarding = true;
    buf_release(&r->partial);
}

void history_record_reader_feed(struct history_record_reader *r, const char *data, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        if (r->discarding) {
            r->discarding = !nl;
        } else if (r->partial.len + n > HISTORY_RECORD_MAX) {
            overlong(r);
            r->discarding = !nl;
        } else if (!nl) {
            buf_append(&r->partial, data, n);
        } else if (r->partial.len == 0) {
            take_line(r, data, n); /* the usual case: no copy */
        } else {
            buf_append(&r->partial, data, n);
            take_line(r, r->partial.data, r->partial.len);
            buf_reset(&r->partial);
        }
        if (nl) {
            r->line_no++;
            n++;
        }
        data += n;
        len -= n;
    }
}

bool history_record_reader_finish(struct history_record_reader *r)
{
    bool mid_line = r->discarding || r->partial.len > 0;
    if (r->partial.len > 0) {
        r->on_damage(r->line_no + 1, WHY_TRUNCATED, r->ctx);
    }
    buf_release(&r->partial);
    r->discarding = false;
    return mid_line;
}
