/* fuzz_hosts.c - libFuzzer harness for the client's address list (src/client/hosts.c).
 *
 * The input, up to its first NUL, is what --host or the address prompt could be given.
 * After each input it checks hosts.h's contract: a refusal leaves the list there before it
 * untouched and says why in one sentence; an accepted list has one address per comma plus
 * one, each host non-empty with no blank, control byte, bracket or comma, each port from 1
 * to 65535, and, formatted, reads back as the same list (hosts shorter than the formatter's
 * room; a longer one is cut when written, by design). A round from the first address, and
 * one from after each, visits every address exactly once.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/hosts.h"
#include "common/buf.h"
#include "common/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Hosts longer than this are cut by hosts_format(): no round trip is asked of them. */
#define ROUND_TRIP_HOST_MAX 250

static void check_host(const struct host_addr *a)
{
    size_t len = strlen(a->host);
    assert(len > 0);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)a->host[i];
        assert(c > ' ' && c != 0x7f && c != '[' && c != ']' && c != ',');
    }
    assert(a->port >= 1 && a->port <= 65535);
}

static bool same(const struct hosts *a, const struct hosts *b)
{
    if (a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        if (strcmp(a->list[i].host, b->list[i].host) != 0 || a->list[i].port != b->list[i].port) {
            return false;
        }
    }
    return true;
}

static void check_round_trip(const struct hosts *h)
{
    for (size_t i = 0; i < h->count; i++) {
        if (strlen(h->list[i].host) > ROUND_TRIP_HOST_MAX) {
            return;
        }
    }
    struct buf text = BUF_INIT;
    struct buf err = BUF_INIT;
    struct hosts again = {0};
    hosts_format(h, &text);
    assert(hosts_parse(&again, text.data, 1, &err) == 0);
    assert(same(h, &again));
    hosts_release(&again);
    buf_release(&err);
    buf_release(&text);
}

/* Every address is visited once in a round, wherever it starts. */
static void check_rounds(struct hosts *h)
{
    bool *seen = xcalloc(h->count, sizeof(*seen));
    for (size_t start = 0; start <= h->count; start++) {
        hosts_start_round(h, start > 0); /* from the first, then after each in turn */
        memset(seen, 0, h->count * sizeof(*seen));
        size_t visits = 0;
        do {
            assert(!seen[h->current]);
            seen[h->current] = true;
            visits++;
        } while (hosts_next(h));
        assert(visits == h->count);
    }
    free(seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xmemdup0(data, size); /* cut at the first NUL, as a C string is */
    struct hosts h = {0};
    struct buf err = BUF_INIT;
    assert(hosts_parse(&h, "avant:1", 1, &err) == 0);
    int r = hosts_parse(&h, text, 1234, &err);
    if (r < 0) {
        assert(r == -EINVAL);
        assert(err.len > 0 && err.data[err.len - 1] == '.');
        assert(h.count == 1 && strcmp(h.list[0].host, "avant") == 0 && h.list[0].port == 1);
    } else {
        assert(r == 0 && err.len == 0);
        size_t commas = 0;
        for (const char *p = text; *p; p++) {
            commas += *p == ',';
        }
        assert(h.count == commas + 1);
        for (size_t i = 0; i < h.count; i++) {
            check_host(&h.list[i]);
        }
        check_round_trip(&h);
        check_rounds(&h);
    }
    hosts_release(&h);
    buf_release(&err);
    free(text);
    return 0;
}
