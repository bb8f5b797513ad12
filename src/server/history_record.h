/* history_record.h - one kept chat line as the history file stores it, and its reader.
 *
 * Pure: no I/O, no global state, so any thread may call it and the unit tests and the
 * fuzzer drive it directly. history_file.c writes records built here and reads the file
 * back through the incremental reader; room.c turns records into rooms' history. The
 * format is stated here and in docs/ARCHITECTURE.md, "The history file".
 */
#ifndef CAUSERIE_HISTORY_RECORD_H
#define CAUSERIE_HISTORY_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* A record is one line of text:
 *
 *     1 1764079392 général ad79c55e > bob: salut
 *
 * VERSION TIME ROOM CRC LINE, separated by single spaces, ended by '\n'. VERSION is "1".
 * TIME is seconds since the epoch (UTC) in canonical decimal ("0", or an optional '-' and
 * no leading zero). ROOM is the room's name without '#'. CRC is 8 lowercase hexadecimal
 * digits: the CRC-32 (zlib's, IEEE 802.3) of the record without its CRC field, its
 * following space and its '\n', i.e. of "1 1764079392 général > bob: salut". LINE is the
 * wire line as sent, to the end of the record. Every field is canonical, so a record that
 * parses encodes back to the same bytes. */
#define HISTORY_RECORD_VERSION  1
#define HISTORY_RECORD_ROOM_MAX 128 /* bytes in a room name; rooms are 32 characters at most */
/* Bytes in a record's line: far above --max-line's ceiling of use, so that no line the
 * server kept is refused, and small enough that the reader's memory stays bounded. */
#define HISTORY_RECORD_LINE_MAX (1024 * 1024)
/* Bytes before the line: "1 ", a time of up to 20 characters and a space, the room and a
 * space, the CRC and a space. */
#define HISTORY_RECORD_HEADER_MAX (2 + 21 + HISTORY_RECORD_ROOM_MAX + 1 + 9)
/* The longest record, '\n' excluded. A longer one is damaged and skipped to its '\n'. */
#define HISTORY_RECORD_MAX (HISTORY_RECORD_HEADER_MAX + HISTORY_RECORD_LINE_MAX)

/* One kept chat line. Pointers are borrowed: from the caller for the encoder (which copies
 * what it needs), from the parsed bytes for history_record_parse() and the reader's
 * callbacks (valid only during the call). */
struct history_record {
    int64_t time;     /* seconds since the epoch, UTC */
    const char *room; /* borrowed: room name without '#', room_len bytes */
    size_t room_len;
    const char *line; /* borrowed: the wire line without '\n', e.g. "> bob: salut" */
    size_t line_len;
};

/* CRC-32 as zlib's crc32(): start with crc = 0, pass the result back in to continue. */
uint32_t history_record_crc32(uint32_t crc, const void *data, size_t len);

/* Whether r can be stored: a room of 1 to HISTORY_RECORD_ROOM_MAX bytes and a line of 1 to
 * HISTORY_RECORD_LINE_MAX bytes, both valid UTF-8 without control character (tab included)
 * or bidi override, as sanitize.c leaves them, and no space in the room. If not, and why
 * is not NULL, *why is a French phrase naming the fault (a static string). */
bool history_record_valid(const struct history_record *r, const char **why);

/* Parses one record, line[0..len) without its '\n'. Reads only those bytes, allocates
 * nothing. Returns 0 with *out filled in, its room and line pointing into line; or
 * -EBADMSG for a damaged record, with *why a French phrase saying what is wrong (a static
 * string, e.g. "somme de contrôle incorrecte") and *out unspecified. A record that parses
 * satisfies history_record_valid(). */
int history_record_parse(const char *line, size_t len, struct history_record *out,
                         const char **why);

/* Writes "VERSION TIME ROOM CRC " for r into out, NUL-terminated, and returns its length:
 * the record is that, then r's line, then '\n'. r must satisfy history_record_valid(). */
size_t history_record_header(char out[HISTORY_RECORD_HEADER_MAX + 1],
                             const struct history_record *r);
/* Appends the whole record r, '\n' included, to out. r must satisfy history_record_valid()
 * (asserted). */
void history_record_encode(struct buf *out, const struct history_record *r);

/* Called for each good record, in file order; r is valid only during the call. */
typedef void (*history_record_cb)(const struct history_record *r, void *ctx);
/* Called for each damaged line, in file order: its number (from 1) and why, in French. */
typedef void (*history_record_damage_cb)(size_t line_no, const char *why, void *ctx);

/* An incremental reader: file bytes in, in pieces of any size; records and damage out, in
 * file order, through the callbacks, the same whatever the pieces. It holds at most
 * HISTORY_RECORD_MAX bytes of an unfinished line; a line longer than that is reported as
 * soon as it is known and skipped to its '\n'. One thread at a time. */
struct history_record_reader {
    struct buf partial; /* owned: the start of a line whose '\n' is to come */
    size_t line_no;     /* lines ended so far */
    bool discarding;    /* the current line was reported overlong: skip to its '\n' */
    history_record_cb on_record;
    history_record_damage_cb on_damage;
    void *ctx; /* borrowed: passed to the callbacks */
};

void history_record_reader_init(struct history_record_reader *r, history_record_cb on_record,
                                history_record_damage_cb on_damage, void *ctx);
void history_record_reader_feed(struct history_record_reader *r, const char *data, size_t len);
/* The end of the input. A last line without '\n' (a write cut short by a crash) is
 * reported as damaged, "ligne tronquée", unless already reported as overlong. Returns true
 * if the input ended mid-line, i.e. the next record appended must start with a '\n'. */
bool history_record_reader_finish(struct history_record_reader *r);
void history_record_reader_release(struct history_record_reader *r);

#endif
