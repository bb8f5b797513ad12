/* fuzz_history.c - libFuzzer harness for the history file reader (src/server/history_record.c).
 *
 * The first byte picks a chunk size; the rest is a history file, fed to the reader once
 * whole and once in chunks. After each input it checks the reader's contract: both feedings
 * report the same records and damage in the same order, line numbers only grow, the reader
 * never holds more than HISTORY_RECORD_MAX bytes of a line, and every record it returns is
 * valid and canonical (encoding it gives back the bytes of its line, which parse again).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "server/history_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct log {
    struct buf text; /* "R<time>:<room>:<line>|" per record, "D<n>:<why>|" per damage */
    size_t last_line_no;
};

static void on_record(const struct history_record *r, void *ctx)
{
    struct log *log = ctx;
    assert(history_record_valid(r, NULL));
    struct buf encoded = BUF_INIT;
    history_record_encode(&encoded, r);
    struct history_record again;
    const char *why;
    assert(history_record_parse(encoded.data, encoded.len - 1, &again, &why) == 0);
    assert(again.time == r->time && again.line_len == r->line_len &&
           memcmp(again.line, r->line, r->line_len) == 0);
    buf_release(&encoded);
    buf_appendf(&log->text, "R%" PRId64 ":%.*s:%.*s|", r->time, (int)r->room_len, r->room,
                (int)r->line_len, r->line);
}

static void on_damage(size_t line_no, const char *why, void *ctx)
{
    struct log *log = ctx;
    assert(line_no > log->last_line_no);
    assert(why && *why);
    log->last_line_no = line_no;
    buf_appendf(&log->text, "D%zu:%s|", line_no, why);
}

static void read_all(const char *in, size_t len, size_t chunk, struct log *log)
{
    struct history_record_reader reader;
    history_record_reader_init(&reader, on_record, on_damage, log);
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        history_record_reader_feed(&reader, in + off, n);
        assert(reader.partial.len <= HISTORY_RECORD_MAX);
    }
    if (history_record_reader_finish(&reader)) {
        buf_append_str(&log->text, "M|");
    }
    history_record_reader_release(&reader);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t chunk = 1 + data[0] % 32;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    struct log whole = {BUF_INIT, 0}, chunked = {BUF_INIT, 0};
    read_all(in, len, len ? len : 1, &whole);
    read_all(in, len, chunk, &chunked);
    assert(whole.text.len == chunked.text.len &&
           memcmp(whole.text.data, chunked.text.data, whole.text.len) == 0);
    buf_release(&whole.text);
    buf_release(&chunked.text);
    return 0;
}
