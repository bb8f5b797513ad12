/* test_history_record.c - unit tests for history file records (src/server/history_record.c).
 *
 * The contract from history_record.h: a record encodes to one canonical line and parses
 * back to the same fields; every kind of damage is refused with its reason; the parser
 * reads nothing past the bytes it is given (checked against a guard page); the reader
 * gives the same records and damage reports however the file is split (at every byte
 * boundary, and byte by byte), keeps the records around a damaged line, and reports a
 * cut-off last line. Runs single-threaded.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, for the guard page */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/buf.h"
#include "server/history_record.h"

/* ------------------------------------------------------------ guard page */

#define GUARD_PAGE_BYTES (4 * 4096)
#include "guard_page.h"

/* ------------------------------------------------------------ helpers */

static struct history_record record(int64_t time, const char *room, const char *line)
{
    return (struct history_record){time, room, strlen(room), line, strlen(line)};
}

/* The encoded record without its '\n', as a NUL-terminated string in out. */
static void encode_line(const struct history_record *r, struct buf *out)
{
    buf_reset(out);
    history_record_encode(out, r);
    assert_true(out->len > 0 && out->data[out->len - 1] == '\n');
    out->data[--out->len] = '\0';
}

/* Parses line (a NUL-terminated string) from the end of the readable region and returns
 * the result; *why is set for a damaged record. */
static int parse_at_page_end(const char *line, struct history_record *out, const char **why)
{
    size_t len = strlen(line);
    return history_record_parse(at_page_end(line, len), len, out, why);
}

static void assert_damaged(const char *line, const char *why_expected)
{
    struct history_record r;
    const char *why = NULL;
    assert_int_equal(parse_at_page_end(line, &r, &why), -EBADMSG);
    assert_non_null(why);
    assert_string_equal(why, why_expected);
}

/* Replaces the 8 CRC digits of an encoded record (the fourth field) with the right ones
 * for the rest of it, so that a test can damage one other field alone. */
static void fix_crc(struct buf *line)
{
    char *p = line->data;
    char *fields[4];
    for (int i = 0; i < 4; i++) {
        fields[i] = p;
        p = strchr(p, ' ');
        assert_non_null(p);
        p++;
    }
    char *crc = fields[3];
    uint32_t sum = history_record_crc32(0, line->data, (size_t)(crc - line->data));
    sum = history_record_crc32(sum, p, strlen(p));
    char digits[9];
    snprintf(digits, sizeof(digits), "%08" PRIx32, sum);
    memcpy(crc, digits, 8);
}

/* ------------------------------------------------------------ CRC */

static void test_crc32_matches_zlib_check_value(void **state)
{
    (void)state;
    assert_int_equal(history_record_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(history_record_crc32(0, "", 0), 0);
}

static void test_crc32_continues_across_pieces(void **state)
{
    (void)state;
    uint32_t whole = history_record_crc32(0, "1 17 général > bob: salut", 26);
    uint32_t part = history_record_crc32(0, "1 17 gén", 9);
    assert_int_equal(history_record_crc32(part, "éral > bob: salut", 17), whole);
}

/* ------------------------------------------------------------ encode and parse */

static void test_encode_writes_the_documented_form(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    struct history_record r = record(1764079392, "général", "> bob: salut");
    encode_line(&r, &out);
    uint32_t sum = history_record_crc32(0, "1 1764079392 général > bob: salut",
                                        strlen("1 1764079392 général > bob: salut"));
    char want[128];
    snprintf(want, sizeof(want), "1 1764079392 général %08" PRIx32 " > bob: salut", sum);
    assert_string_equal(out.data, want);
    buf_release(&out);
}

static void test_parse_gives_back_what_was_encoded(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    struct history_record r = record(1764079392, "jeux", "& bob range son bureau 日本語 😀");
    encode_line(&r, &out);
    struct history_record back;
    const char *why = NULL;
    assert_int_equal(parse_at_page_end(out.data, &back, &why), 0);
    assert_int_equal(back.time, r.time);
    assert_int_equal(back.room_len, r.room_len);
    assert_memory_equal(back.room, r.room, r.room_len);
    assert_int_equal(back.line_len, r.line_len);
    assert_memory_equal(back.line, r.line, r.line_len);
    buf_release(&out);
}

static void test_parse_then_encode_is_the_same_bytes(void **state)
{
    (void)state;
    struct buf first = BUF_INIT, second = BUF_INIT;
    struct history_record r = record(-1, "a", "> x: a line with  two spaces and a trailing one ");
    encode_line(&r, &first);
    struct history_record back;
    const char *why;
    assert_int_equal(parse_at_page_end(first.data, &back, &why), 0);
    encode_line(&back, &second);
    assert_string_equal(first.data, second.data);
    buf_release(&first);
    buf_release(&second);
}

static void test_parse_takes_the_extreme_times(void **state)
{
    (void)state;
    const int64_t times[] = {0, 1, -1, INT64_MAX, INT64_MIN};
    struct buf out = BUF_INIT;
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        struct history_record r = record(times[i], "général", "> a: b");
        encode_line(&r, &out);
        struct history_record back;
        const char *why;
        assert_int_equal(parse_at_page_end(out.data, &back, &why), 0);
        assert_true(back.time == times[i]);
    }
    buf_release(&out);
}

static void test_parse_refuses_a_record_with_a_missing_field(void **state)
{
    (void)state;
    assert_damaged("", "champ manquant");
    assert_damaged("1", "champ manquant");
    assert_damaged("1 17", "champ manquant");
    assert_damaged("1 17 général", "champ manquant");
    assert_damaged("1 17 général 00000000", "champ manquant");
    assert_damaged("1 17 général 00000000 ", "champ manquant"); /* an empty line */
}

static void test_parse_refuses_an_unknown_version(void **state)
{
    (void)state;
    struct buf line = BUF_INIT;
    struct history_record r = record(17, "général", "> a: b");
    encode_line(&r, &line);
    line.data[0] = '2';
    fix_crc(&line);
    assert_damaged(line.data, "version inconnue");
    assert_damaged("11 17 général 00000000 > a: b", "version inconnue");
    buf_release(&line);
}

static void test_parse_refuses_times_not_in_canonical_decimal(void **state)
{
    (void)state;
    const char *bad[] = {"017",
                         "-0",
                         "+17",
                         "1x",
                         "-",
                         "9223372036854775808",
                         "-9223372036854775809",
                         "12345678901234567890"};
    struct buf line = BUF_INIT;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf_reset(&line);
        buf_appendf(&line, "1 %s général 00000000 > a: b", bad[i]);
        fix_crc(&line);
        assert_damaged(line.data, "horodatage invalide");
    }
    assert_damaged("1  général 00000000 > a: b", "horodatage invalide"); /* empty time */
    buf_release(&line);
}

static void test_parse_refuses_an_invalid_room(void **state)
{
    (void)state;
    struct buf line = BUF_INIT;
    buf_append_str(&line, "1 17 g\x1b[31m 00000000 > a: b");
    fix_crc(&line);
    assert_damaged(line.data, "nom de salon invalide");
    buf_reset(&line);
    buf_append_str(&line, "1 17 \xff 00000000 > a: b");
    fix_crc(&line);
    assert_damaged(line.data, "nom de salon invalide");
    assert_damaged("1 17  00000000 > a: b", "nom de salon invalide"); /* empty room */
    buf_release(&line);
}

static void test_parse_refuses_a_crc_not_in_lowercase_hex(void **state)
{
    (void)state;
    assert_damaged("1 17 général ABCDEF01 > a: b", "somme de contrôle mal formée");
    assert_damaged("1 17 général abcdef0 > a: b", "somme de contrôle mal formée");
    assert_damaged("1 17 général abcdef012 > a: b", "somme de contrôle mal formée");
    assert_damaged("1 17 général abcdefgh > a: b", "somme de contrôle mal formée");
}

static void test_parse_refuses_any_changed_byte(void **state)
{
    (void)state;
    struct buf line = BUF_INIT;
    struct history_record r = record(1764079392, "général", "> bob: salut à tous");
    encode_line(&r, &line);
    size_t len = line.len;
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, line.data, len + 1);
        copy[i] ^= 0x01;
        struct history_record back;
        const char *why = NULL;
        /* Every field is checked or summed, so no single flipped bit passes. */
        assert_int_equal(parse_at_page_end(copy, &back, &why), -EBADMSG);
    }
    free(copy);
    buf_release(&line);
}

static void test_parse_refuses_a_line_with_invalid_utf8_or_controls(void **state)
{
    (void)state;
    struct buf line = BUF_INIT;
    buf_append_str(&line, "1 17 général 00000000 > a: \xc3(");
    fix_crc(&line);
    assert_damaged(line.data, "UTF-8 invalide dans le message");
    buf_reset(&line);
    buf_append_str(&line, "1 17 général 00000000 > a: \x1b[2J");
    fix_crc(&line);
    assert_damaged(line.data, "caractère de contrôle dans le message");
    buf_reset(&line);
    buf_append_str(&line, "1 17 général 00000000 > a:\tb");
    fix_crc(&line);
    assert_damaged(line.data, "caractère de contrôle dans le message");
    buf_reset(&line);
    buf_append_str(&line, "1 17 général 00000000 > a: \xe2\x80\xae"
                          "b"); /* U+202E */
    fix_crc(&line);
    assert_damaged(line.data, "caractère de contrôle dans le message");
    buf_release(&line);
}

static void test_parse_refuses_an_overlong_record_before_reading_it(void **state)
{
    (void)state;
    struct history_record r;
    const char *why = NULL;
    /* Only the length is looked at: the region has far fewer readable bytes than that, so
     * reading any of them past its end would fault. */
    assert_int_equal(history_record_parse(region, HISTORY_RECORD_MAX + 1, &r, &why), -EBADMSG);
    assert_string_equal(why, "enregistrement trop long");
}

static void test_valid_refuses_what_cannot_be_stored(void **state)
{
    (void)state;
    const char *why = NULL;
    struct history_record r = record(1, "", "> a: b");
    assert_false(history_record_valid(&r, &why));
    assert_string_equal(why, "nom de salon invalide");
    r = record(1, "deux mots", "> a: b");
    assert_false(history_record_valid(&r, &why));
    assert_string_equal(why, "nom de salon invalide");
    r = record(1, "général", "");
    assert_false(history_record_valid(&r, &why));
    assert_string_equal(why, "champ manquant");
    r = record(1, "général", "> a:\tb");
    assert_false(history_record_valid(&r, &why));
    assert_string_equal(why, "caractère de contrôle dans le message");
    r = record(1, "général", "> a: b");
    assert_true(history_record_valid(&r, NULL));
}

/* ------------------------------------------------------------ the reader */

/* What the reader reported, as one string: "R<time>:<room>:<line>|" per record and
 * "D<line_no>:<why>|" per damaged line. */
static void on_record(const struct history_record *r, void *ctx)
{
    buf_appendf(ctx, "R%" PRId64 ":%.*s:%.*s|", r->time, (int)r->room_len, r->room,
                (int)r->line_len, r->line);
}

static void on_damage(size_t line_no, const char *why, void *ctx)
{
    buf_appendf(ctx, "D%zu:%s|", line_no, why);
}

/* Feeds in[0..len) as pieces cut at the given offsets (ascending, within len), finishes
 * the reader and appends "M|" if it said the input ended mid-line. */
static void read_pieces(const char *in, size_t len, const size_t *cuts, size_t n_cuts,
                        struct buf *log)
{
    struct history_record_reader reader;
    history_record_reader_init(&reader, on_record, on_damage, log);
    size_t at = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        history_record_reader_feed(&reader, in + at, end - at);
        at = end;
    }
    if (history_record_reader_finish(&reader)) {
        buf_append_str(log, "M|");
    }
    history_record_reader_release(&reader);
}

/* STYLE 3.17: the same reports whole, cut at every byte boundary, and byte by byte. */
static void assert_read_however_split(const char *in, size_t len, const char *want)
{
    struct buf log = BUF_INIT;
    read_pieces(in, len, NULL, 0, &log);
    assert_string_equal(log.data, want);
    for (size_t cut = 0; cut <= len; cut++) {
        buf_reset(&log);
        read_pieces(in, len, &cut, 1, &log);
        if (strcmp(log.data, want) != 0) {
            print_error("input cut at byte %zu of %zu\n", cut, len);
        }
        assert_string_equal(log.data, want);
    }
    size_t *every = malloc((len ? len : 1) * sizeof(*every));
    assert_non_null(every);
    for (size_t i = 0; i < len; i++) {
        every[i] = i;
    }
    buf_reset(&log);
    read_pieces(in, len, every, len, &log);
    assert_string_equal(log.data, want);
    free(every);
    buf_release(&log);
}

static void test_reader_gives_every_record_in_order(void **state)
{
    (void)state;
    struct buf file = BUF_INIT;
    struct history_record a = record(10, "général", "> alice: bonjour");
    struct history_record b = record(11, "jeux", "& bob lance les dés");
    struct history_record c = record(12, "général", "> carol: ça va ?");
    history_record_encode(&file, &a);
    history_record_encode(&file, &b);
    history_record_encode(&file, &c);
    assert_read_however_split(file.data, file.len,
                              "R10:général:> alice: bonjour|R11:jeux:& bob lance les dés|"
                              "R12:général:> carol: ça va ?|");
    buf_release(&file);
}

static void test_reader_skips_a_damaged_line_and_keeps_its_neighbours(void **state)
{
    (void)state;
    struct buf file = BUF_INIT;
    struct history_record a = record(10, "général", "> alice: un");
    struct history_record b = record(11, "général", "> bob: deux");
    struct history_record c = record(12, "général", "> carol: trois");
    history_record_encode(&file, &a);
    history_record_encode(&file, &b);
    size_t third = file.len;
    history_record_encode(&file, &c);
    file.data[third - 3] ^= 0x20; /* in b's text, "deux": 'u' becomes 'U' */
    assert_read_however_split(file.data, file.len,
                              "R10:général:> alice: un|D2:somme de contrôle incorrecte|"
                              "R12:général:> carol: trois|");
    buf_release(&file);
}

static void test_reader_reports_garbage_lines_by_number(void **state)
{
    (void)state;
    struct buf file = BUF_INIT;
    struct history_record a = record(10, "général", "> alice: un");
    buf_append_str(&file, "pas un enregistrement\n\n");
    history_record_encode(&file, &a);
    buf_append_str(&file, "1 x\n");
    assert_read_however_split(file.data, file.len,
                              "D1:champ manquant|D2:champ manquant|R10:général:> alice: un|"
                              "D4:champ manquant|");
    buf_release(&file);
}

static void test_reader_reports_a_cut_off_last_line(void **state)
{
    (void)state;
    struct buf file = BUF_INIT;
    struct history_record a = record(10, "général", "> alice: un");
    struct history_record b = record(11, "général", "> bob: deux");
    history_record_encode(&file, &a);
    history_record_encode(&file, &b);
    file.len -= 5; /* a crash in the middle of the second write */
    file.data[file.len] = '\0';
    assert_read_however_split(file.data, file.len, "R10:général:> alice: un|D2:ligne tronquée|M|");
    buf_release(&file);
}

static void test_reader_skips_an_overlong_line_to_its_newline(void **state)
{
    (void)state;
    struct buf file = BUF_INIT;
    struct history_record a = record(10, "général", "> alice: avant");
    struct history_record b = record(11, "général", "> bob: après");
    history_record_encode(&file, &a);
    size_t junk = HISTORY_RECORD_MAX + 10;
    buf_grow(&file, junk + 1);
    memset(file.data + file.len, 'x', junk);
    file.len += junk;
    buf_append_char(&file, '\n');
    history_record_encode(&file, &b);

    struct buf log = BUF_INIT;
    size_t cuts[] = {1, file.len / 2, file.len - 3};
    read_pieces(file.data, file.len, cuts, 3, &log);
    assert_string_equal(log.data, "R10:général:> alice: avant|D2:enregistrement trop long|"
                                  "R11:général:> bob: après|");
    buf_reset(&log);
    read_pieces(file.data, file.len, NULL, 0, &log);
    assert_string_equal(log.data, "R10:général:> alice: avant|D2:enregistrement trop long|"
                                  "R11:général:> bob: après|");
    buf_release(&log);
    buf_release(&file);
}

static void test_reader_holds_at_most_a_record_of_an_unfinished_line(void **state)
{
    (void)state;
    struct buf log = BUF_INIT;
    struct history_record_reader reader;
    history_record_reader_init(&reader, on_record, on_damage, &log);
    char chunk[4096];
    memset(chunk, 'y', sizeof(chunk));
    for (size_t fed = 0; fed < 2 * (size_t)HISTORY_RECORD_MAX; fed += sizeof(chunk)) {
        history_record_reader_feed(&reader, chunk, sizeof(chunk));
        assert_true(reader.partial.len <= HISTORY_RECORD_MAX);
    }
    assert_true(history_record_reader_finish(&reader)); /* mid-line, reported once only */
    history_record_reader_release(&reader);
    assert_string_equal(log.data, "D1:enregistrement trop long|");
    buf_release(&log);
}

static void test_reader_of_an_empty_file_reports_nothing(void **state)
{
    (void)state;
    assert_read_however_split("", 0, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_matches_zlib_check_value),
        cmocka_unit_test(test_crc32_continues_across_pieces),
        cmocka_unit_test(test_encode_writes_the_documented_form),
        cmocka_unit_test(test_parse_gives_back_what_was_encoded),
        cmocka_unit_test(test_parse_then_encode_is_the_same_bytes),
        cmocka_unit_test(test_parse_takes_the_extreme_times),
        cmocka_unit_test(test_parse_refuses_a_record_with_a_missing_field),
        cmocka_unit_test(test_parse_refuses_an_unknown_version),
        cmocka_unit_test(test_parse_refuses_times_not_in_canonical_decimal),
        cmocka_unit_test(test_parse_refuses_an_invalid_room),
        cmocka_unit_test(test_parse_refuses_a_crc_not_in_lowercase_hex),
        cmocka_unit_test(test_parse_refuses_any_changed_byte),
        cmocka_unit_test(test_parse_refuses_a_line_with_invalid_utf8_or_controls),
        cmocka_unit_test(test_parse_refuses_an_overlong_record_before_reading_it),
        cmocka_unit_test(test_valid_refuses_what_cannot_be_stored),
        cmocka_unit_test(test_reader_gives_every_record_in_order),
        cmocka_unit_test(test_reader_skips_a_damaged_line_and_keeps_its_neighbours),
        cmocka_unit_test(test_reader_reports_garbage_lines_by_number),
        cmocka_unit_test(test_reader_reports_a_cut_off_last_line),
        cmocka_unit_test(test_reader_skips_an_overlong_line_to_its_newline),
        cmocka_unit_test(test_reader_holds_at_most_a_record_of_an_unfinished_line),
        cmocka_unit_test(test_reader_of_an_empty_file_reports_nothing),
    };
    return cmocka_run_group_tests_name("history_record", tests, map_guard_page, unmap_guard_page);
}
