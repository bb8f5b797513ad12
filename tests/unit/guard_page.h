/* guard_page.h - a buffer whose end is followed by an unmapped page, for parser tests.
 *
 * Included by the unit tests of the parsers that must read nothing past the bytes they are
 * given (STYLE 3.17, after picohttpparser's test.c): input copied by at_page_end() ends on
 * the last readable byte, so one byte more read is a fault. Use map_guard_page() and
 * unmap_guard_page() as a cmocka group's setup and teardown, after defining
 * GUARD_PAGE_BYTES, the most a test copies there. Single-threaded.
 */
#ifndef CAUSERIE_TEST_GUARD_PAGE_H
#define CAUSERIE_TEST_GUARD_PAGE_H

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *region;       /* mapped: readable bytes, then one PROT_NONE page */
static size_t readable;    /* bytes before the guard page: GUARD_PAGE_BYTES, rounded up */
static size_t region_size; /* readable plus the guard page */

static int map_guard_page(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    readable = ((size_t)GUARD_PAGE_BYTES + page - 1) / page * page;
    region_size = readable + page;
    void *p = mmap(NULL, region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return -1;
    }
    region = p;
    return mprotect(region + readable, page, PROT_NONE);
}

static int unmap_guard_page(void **state)
{
    (void)state;
    return munmap(region, region_size);
}

/* Copies s[0..len) so that its last byte is the last readable one; returns the copy. */
static const char *at_page_end(const char *s, size_t len)
{
    assert_true(len <= readable);
    char *p = region + readable - len;
    memcpy(p, s, len);
    return p;
}

#endif
