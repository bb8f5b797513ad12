/* test_buf.c - unit tests for the growable byte buffer (src/common/buf.c).
 *
 * Checks the invariants buf.h promises after every kind of call: data[len] is '\0',
 * len < alloc once memory is owned, and an empty buffer that never grew owns no memory
 * (data is buf_empty_string). Covers append, appendf past the current allocation, consume,
 * reset and release. Runs single-threaded; leaks are left for ASan to report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

/* What must hold after any call, whatever the buffer holds. */
static void assert_invariants(const struct buf *b)
{
    assert_non_null(b->data);
    assert_int_equal(b->data[b->len], '\0');
    if (b->alloc == 0) {
        assert_ptr_equal(b->data, buf_empty_string);
        assert_int_equal(b->len, 0);
    } else {
        assert_ptr_not_equal(b->data, buf_empty_string);
        assert_true(b->len < b->alloc);
    }
    assert_int_equal(buf_empty_string[0], '\0');
}

static void assert_contents(const struct buf *b, const char *want, size_t want_len)
{
    assert_invariants(b);
    assert_int_equal(b->len, want_len);
    assert_memory_equal(b->data, want, want_len);
}

/* A variadic wrapper, so buf_vappendf() is called as real callers call it. */
static void __attribute__((format(printf, 2, 3)))
appendf_via_va_list(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(b, fmt, ap);
    va_end(ap);
}

static void test_init_owns_no_memory(void **state)
{
    (void)state;
    struct buf b;
    memset(&b, 0xA5, sizeof(b));
    buf_init(&b);
    assert_int_equal(b.alloc, 0);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, buf_empty_string);
    assert_invariants(&b);
}

static void test_static_initializer_owns_no_memory(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(b.alloc, 0);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, buf_empty_string);
}

static void test_append_copies_bytes(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append(&b, "hello", 5);
    assert_contents(&b, "hello", 5);
    buf_append(&b, ", world", 7);
    assert_contents(&b, "hello, world", 12);
    buf_release(&b);
}

static void test_append_nothing_to_empty_buffer_owns_no_memory(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append(&b, "", 0);
    assert_int_equal(b.alloc, 0);
    assert_ptr_equal(b.data, buf_empty_string);
    assert_invariants(&b);
}

static void test_append_keeps_embedded_nul_bytes(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append(&b, "a\0b", 3);
    assert_contents(&b, "a\0b", 3);
    buf_release(&b);
}

static void test_append_grows_one_byte_at_a_time(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < 10000; i++) {
        buf_append_char(&b, (char)('a' + i % 26));
        assert_int_equal(b.len, i + 1);
        assert_invariants(&b);
    }
    for (size_t i = 0; i < 10000; i++) {
        assert_int_equal(b.data[i], 'a' + i % 26);
    }
    buf_release(&b);
}

static void test_append_str_appends_without_nul(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_str(&b, "ab");
    buf_append_str(&b, "");
    buf_append_str(&b, "cd");
    assert_contents(&b, "abcd", 4);
    buf_release(&b);
}

static void test_append_char_appends_one_byte(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_char(&b, 'x');
    buf_append_char(&b, '\0');
    buf_append_char(&b, 'y');
    assert_contents(&b, "x\0y", 3);
    buf_release(&b);
}

static void test_appendf_formats_into_empty_buffer(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_appendf(&b, "%s a %d ans", "alice", 30);
    assert_contents(&b, "alice a 30 ans", 14);
    buf_release(&b);
}

static void test_appendf_appends_after_existing_content(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_str(&b, "> ");
    buf_appendf(&b, "%s: %s", "bob", "salut");
    assert_contents(&b, "> bob: salut", 12);
    buf_release(&b);
}

static void test_appendf_longer_than_allocation(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_str(&b, "ab");
    size_t alloc_before = b.alloc;
    char big[1001];
    memset(big, 'z', 1000);
    big[1000] = '\0';

    buf_appendf(&b, "[%s]", big);

    assert_true(alloc_before < 1003);
    assert_int_equal(b.len, 2 + 1 + 1000 + 1);
    assert_invariants(&b);
    assert_memory_equal(b.data, "ab[", 3);
    assert_memory_equal(b.data + 3, big, 1000);
    assert_int_equal(b.data[1003], ']');
    buf_release(&b);
}

/* vsnprintf() needs room for the NUL too: a text that fills the allocation exactly, and
 * one a byte longer, are the two sides of the "does it fit" test. */
static void test_appendf_at_the_allocation_boundary(void **state)
{
    (void)state;
    for (size_t extra = 0; extra < 3; extra++) {
        struct buf b = BUF_INIT;
        buf_append_str(&b, "x");
        size_t room = b.alloc - b.len - 1; /* bytes that fit before the NUL */
        size_t n = room + extra;
        char text[256];
        assert_true(n < sizeof(text));
        memset(text, 'q', n);
        text[n] = '\0';

        buf_appendf(&b, "%s", text);

        assert_int_equal(b.len, 1 + n);
        assert_invariants(&b);
        assert_int_equal(b.data[0], 'x');
        assert_memory_equal(b.data + 1, text, n);
        buf_release(&b);
    }
}

static void test_vappendf_grows_like_appendf(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    appendf_via_va_list(&b, "%d", 1);
    for (int i = 2; i <= 300; i++) {
        appendf_via_va_list(&b, ",%d", i);
        assert_invariants(&b);
    }
    assert_true(strncmp(b.data, "1,2,3,", 6) == 0);
    assert_int_equal(b.len, strlen(b.data));
    assert_string_equal(b.data + b.len - 8, ",299,300");
    buf_release(&b);
}

static void test_grow_reserves_room_without_changing_len(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_grow(&b, 100);
    assert_true(b.alloc >= 101);
    assert_int_equal(b.len, 0);
    assert_invariants(&b);

    buf_append_str(&b, "abc");
    buf_grow(&b, 500);
    assert_true(b.alloc >= 3 + 500 + 1);
    assert_contents(&b, "abc", 3);
    buf_release(&b);
}

static void test_consume_moves_rest_to_front(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_str(&b, "line one\nline two");
    buf_consume(&b, 9);
    assert_contents(&b, "line two", 8);
    buf_release(&b);
}

static void test_consume_everything_leaves_empty_string(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_str(&b, "abc");
    buf_consume(&b, 3);
    assert_contents(&b, "", 0);
    assert_string_equal(b.data, "");
    buf_release(&b);
}

static void test_consume_nothing_changes_nothing(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_consume(&b, 0);
    assert_int_equal(b.alloc, 0);
    assert_invariants(&b);
    buf_append_str(&b, "abc");
    buf_consume(&b, 0);
    assert_contents(&b, "abc", 3);
    buf_release(&b);
}

static void test_reset_empties_and_keeps_memory(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_str(&b, "some text");
    size_t alloc = b.alloc;
    char *data = b.data;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, alloc);
    assert_ptr_equal(b.data, data);
    assert_invariants(&b);
    buf_append_str(&b, "new");
    assert_contents(&b, "new", 3);
    buf_release(&b);
}

static void test_reset_of_empty_buffer_owns_no_memory(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_reset(&b);
    assert_int_equal(b.alloc, 0);
    assert_ptr_equal(b.data, buf_empty_string);
    assert_invariants(&b);
}

static void test_release_leaves_empty_buffer(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_str(&b, "to be freed");
    buf_release(&b);
    assert_int_equal(b.alloc, 0);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, buf_empty_string);
    assert_invariants(&b);
}

static void test_release_twice_is_harmless(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_release(&b);
    buf_append_str(&b, "x");
    buf_release(&b);
    buf_release(&b);
    assert_int_equal(b.alloc, 0);
    assert_ptr_equal(b.data, buf_empty_string);
}

static void test_released_buffer_can_be_reused(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_str(&b, "first");
    buf_release(&b);
    buf_append_str(&b, "second");
    assert_contents(&b, "second", 6);
    buf_release(&b);
}

static void test_detach_hands_over_the_bytes(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append_str(&b, "salut");
    char *s = buf_detach(&b);
    assert_string_equal(s, "salut");
    assert_invariants(&b);
    assert_int_equal(b.alloc, 0); /* b owns nothing now */
    free(s);
}

static void test_detach_of_empty_buffer_is_an_owned_empty_string(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    char *s = buf_detach(&b);
    assert_ptr_not_equal(s, buf_empty_string);
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_owns_no_memory),
        cmocka_unit_test(test_static_initializer_owns_no_memory),
        cmocka_unit_test(test_append_copies_bytes),
        cmocka_unit_test(test_append_nothing_to_empty_buffer_owns_no_memory),
        cmocka_unit_test(test_append_keeps_embedded_nul_bytes),
        cmocka_unit_test(test_append_grows_one_byte_at_a_time),
        cmocka_unit_test(test_append_str_appends_without_nul),
        cmocka_unit_test(test_append_char_appends_one_byte),
        cmocka_unit_test(test_appendf_formats_into_empty_buffer),
        cmocka_unit_test(test_appendf_appends_after_existing_content),
        cmocka_unit_test(test_appendf_longer_than_allocation),
        cmocka_unit_test(test_appendf_at_the_allocation_boundary),
        cmocka_unit_test(test_vappendf_grows_like_appendf),
        cmocka_unit_test(test_grow_reserves_room_without_changing_len),
        cmocka_unit_test(test_consume_moves_rest_to_front),
        cmocka_unit_test(test_consume_everything_leaves_empty_string),
        cmocka_unit_test(test_consume_nothing_changes_nothing),
        cmocka_unit_test(test_reset_empties_and_keeps_memory),
        cmocka_unit_test(test_reset_of_empty_buffer_owns_no_memory),
        cmocka_unit_test(test_release_leaves_empty_buffer),
        cmocka_unit_test(test_release_twice_is_harmless),
        cmocka_unit_test(test_released_buffer_can_be_reused),
        cmocka_unit_test(test_detach_hands_over_the_bytes),
        cmocka_unit_test(test_detach_of_empty_buffer_is_an_owned_empty_string),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
