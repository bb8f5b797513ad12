/* test_owners.c - who runs which room (owners.c), without a store.
 *
 * Founding and its bound per account; roles; bans by account and by address, which spare
 * operators; invitations used up on entering; the lists' bound; the founder who cannot be
 * removed; an unregistered account giving up its rooms; many rooms kept in key order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/owners.h"

static int setup(void **state)
{
    (void)state;
    struct owners_limits limits = {.max_topic = 10, .max_list = 2, .max_founded = 2};
    assert_int_equal(owners_init(NULL, &limits, "général", "général"), 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    owners_shutdown();
    return 0;
}

static void test_the_default_room_is_the_servers(void **state)
{
    (void)state;
    assert_true(owners_is_owned("général"));
    assert_int_equal(owners_role("général", "alice"), OWNERS_NOBODY);
    assert_int_equal(owners_found("général", "général", "alice"), -EEXIST);
    owners_forget_account(""); /* no account is the server */
    assert_true(owners_is_owned("général"));
}

static void test_founding_is_bounded_per_account(void **state)
{
    (void)state;
    assert_int_equal(owners_found("a", "A", "alice"), 0);
    assert_int_equal(owners_found("b", "B", "alice"), 0);
    assert_int_equal(owners_found("c", "C", "alice"), -EDQUOT);
    assert_false(owners_is_owned("c"));
    assert_int_equal(owners_found("c", "C", OWNERS_SERVER), 0); /* the server has no bound */
    assert_int_equal(owners_role("a", "alice"), OWNERS_FOUNDER);
    assert_int_equal(owners_role("a", NULL), OWNERS_NOBODY);
    assert_int_equal(owners_role("nulle", "alice"), OWNERS_NOBODY);
}

static void test_operators_and_the_founder(void **state)
{
    (void)state;
    owners_found("jeux", "Jeux", "alice");
    assert_int_equal(owners_add_operator("jeux", "bob"), 0);
    assert_int_equal(owners_add_operator("jeux", "bob"), -EALREADY);
    assert_int_equal(owners_add_operator("jeux", "alice"), -EALREADY); /* the founder */
    assert_int_equal(owners_add_operator("jeux", "carol"), 0);
    assert_int_equal(owners_add_operator("jeux", "dave"), -ENOSPC);
    assert_int_equal(owners_role("jeux", "bob"), OWNERS_OPERATOR);
    assert_int_equal(owners_remove_operator("jeux", "alice"), -EPERM);
    assert_int_equal(owners_remove_operator("jeux", "bob"), 0);
    assert_int_equal(owners_remove_operator("jeux", "bob"), -ESRCH);
    assert_int_equal(owners_role("jeux", "bob"), OWNERS_NOBODY);
    assert_int_equal(owners_add_operator("libre", "bob"), -ENOENT);
}

static void test_an_account_and_an_address_under_one_pseudo_are_two_bans(void **state)
{
    (void)state;
    owners_found("jeux", "Jeux", "alice");
    assert_int_equal(owners_ban("jeux", "carol", "carol", "192.0.2.5"), 0);
    assert_int_equal(owners_ban("jeux", "carol", "carol", ""), 0);
    assert_int_equal(owners_ban("jeux", "carol", "carol", ""), -EALREADY);
    assert_int_equal(owners_add_operator("jeux", "carol"), 0); /* lifts the account's only */
    assert_true(owners_banned("jeux", NULL, "192.0.2.5"));
    owners_remove_operator("jeux", "carol");
    assert_int_equal(owners_unban("jeux", "carol"), 0);
    assert_false(owners_banned("jeux", NULL, "192.0.2.5"));
}

static void test_bans_by_account_and_by_address(void **state)
{
    (void)state;
    owners_found("jeux", "Jeux", "alice");
    owners_add_operator("jeux", "bob");
    assert_int_equal(owners_ban("jeux", "bob", "bob", ""), -EPERM); /* an operator */
    assert_int_equal(owners_ban("jeux", "carol", "Carol", ""), 0);
    assert_int_equal(owners_ban("jeux", "carol", "Carol", ""), -EALREADY);
    assert_int_equal(owners_ban("jeux", "troll", "troll", "203.0.113.9"), 0);
    assert_int_equal(owners_ban("jeux", "eve", "eve", ""), -ENOSPC);
    /* An account's ban follows the account, from anywhere. */
    assert_int_equal(owners_enter("jeux", "carol", "carol", "192.0.2.1"), OWNERS_BANNED);
    assert_int_equal(owners_enter("jeux", "carol", NULL, "192.0.2.1"), OWNERS_ENTER);
    /* An address's keeps out everyone from it, registered or not, but operators. */
    assert_int_equal(owners_enter("jeux", "dave", NULL, "203.0.113.9"), OWNERS_BANNED);
    assert_int_equal(owners_enter("jeux", "erin", "erin", "203.0.113.9"), OWNERS_BANNED);
    assert_int_equal(owners_enter("jeux", "bob", "bob", "203.0.113.9"), OWNERS_ENTER);
    assert_false(owners_banned("jeux", "bob", "203.0.113.9"));
    assert_true(owners_banned("jeux", NULL, "203.0.113.9"));
    struct buf list = BUF_INIT;
    assert_int_equal(owners_bans("jeux", &list), 2);
    assert_string_equal(list.data, "Carol\ntroll 203.0.113.9\n");
    buf_release(&list);
    assert_int_equal(owners_unban("jeux", "carol"), 0);
    assert_int_equal(owners_unban("jeux", "carol"), -ESRCH);
    assert_int_equal(owners_enter("jeux", "carol", "carol", "192.0.2.1"), OWNERS_ENTER);
    /* Naming a banned account an operator lifts its ban. */
    owners_ban("jeux", "carol", "carol", "");
    assert_int_equal(owners_add_operator("jeux", "carol"), 0);
    assert_int_equal(owners_enter("jeux", "carol", "carol", "192.0.2.1"), OWNERS_ENTER);
}

static void test_invitations_are_used_up_on_entering(void **state)
{
    (void)state;
    owners_found("club", "Club", "alice");
    assert_false(owners_invite_only("club"));
    assert_int_equal(owners_set_invite_only("club", true), 0);
    assert_int_equal(owners_set_invite_only("club", true), -EALREADY);
    assert_int_equal(owners_enter("club", "bob", NULL, "192.0.2.1"), OWNERS_INVITE_ONLY);
    assert_int_equal(owners_enter("club", "alice", "alice", "192.0.2.1"), OWNERS_ENTER);
    assert_int_equal(owners_invite("club", "bob"), 0);
    assert_int_equal(owners_invite("club", "bob"), -EALREADY);
    owners_invite("club", "x1");
    assert_int_equal(owners_invite("club", "x2"), -ENOSPC);
    assert_int_equal(owners_enter("club", "bob", NULL, "192.0.2.1"), OWNERS_ENTER);
    assert_int_equal(owners_enter("club", "bob", NULL, "192.0.2.1"), OWNERS_INVITE_ONLY);
    assert_int_equal(owners_invite("club", "carol"), 0);
    assert_int_equal(owners_set_invite_only("club", false), 0); /* invitations forgotten */
    assert_int_equal(owners_enter("club", "dave", NULL, "192.0.2.1"), OWNERS_ENTER);
    owners_set_invite_only("club", true);
    assert_int_equal(owners_enter("club", "carol", NULL, "192.0.2.1"), OWNERS_INVITE_ONLY);
    /* In an open room an invitation is only a notice: nothing is kept for later. */
    owners_set_invite_only("club", false);
    assert_int_equal(owners_invite("club", "zoe"), 0);
    assert_int_equal(owners_invite("club", "zoe"), 0);
    owners_set_invite_only("club", true);
    assert_int_equal(owners_enter("club", "zoe", NULL, "192.0.2.1"), OWNERS_INVITE_ONLY);
    /* An unowned room lets everyone in. */
    assert_int_equal(owners_enter("libre", "bob", NULL, "192.0.2.1"), OWNERS_ENTER);
}

static void test_topics(void **state)
{
    (void)state;
    owners_found("jeux", "Jeux", "alice");
    struct buf t = BUF_INIT;
    owners_topic("jeux", &t);
    assert_int_equal(t.len, 0);
    assert_int_equal(owners_set_topic("jeux", "Belote", 6), 0);
    assert_int_equal(owners_set_topic("jeux", "01234567890", 11), -E2BIG);
    assert_int_equal(owners_set_topic("libre", "x", 1), -ENOENT);
    owners_topic("jeux", &t);
    assert_string_equal(t.data, "Belote");
    buf_release(&t);
    assert_int_equal(owners_max_topic(), 10);
}

static void test_an_unregistered_account_gives_up_its_rooms(void **state)
{
    (void)state;
    owners_found("a", "a", "alice");
    owners_found("b", "b", "bob");
    owners_found("c", "c", "bob");
    owners_add_operator("b", "alice");
    owners_ban("c", "alice", "alice", "");          /* her account's ban goes with it */
    owners_ban("c", "alice", "alice", "192.0.2.7"); /* an address's under that pseudo stays */
    owners_forget_account("alice");
    assert_false(owners_is_owned("a"));
    assert_true(owners_is_owned("b"));
    assert_int_equal(owners_role("b", "alice"), OWNERS_NOBODY);
    assert_false(owners_banned("c", "alice", "192.0.2.1"));
    assert_true(owners_banned("c", NULL, "192.0.2.7"));
    assert_int_equal(owners_found("a", "a", "alice"), 0); /* anew: nothing inherited */
}

static void collect_name(const char *name, void *ctx)
{
    buf_appendf(ctx, "%s ", name);
}

static void test_many_rooms_stay_in_key_order(void **state)
{
    (void)state;
    char key[16];
    for (int i = 99; i >= 0; i--) { /* inserted backwards: each one goes first */
        snprintf(key, sizeof(key), "r%02d", i);
        assert_int_equal(owners_found(key, key, OWNERS_SERVER), 0);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "r%02d", i);
        assert_true(owners_is_owned(key));
    }
    struct buf names = BUF_INIT;
    owners_each(collect_name, &names);
    const char *start = "général r00 r01 r02 ";
    assert_memory_equal(names.data, start, strlen(start));
    buf_release(&names);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_the_default_room_is_the_servers),
        T(test_founding_is_bounded_per_account),
        T(test_operators_and_the_founder),
        T(test_bans_by_account_and_by_address),
        T(test_an_account_and_an_address_under_one_pseudo_are_two_bans),
        T(test_invitations_are_used_up_on_entering),
        T(test_topics),
        T(test_an_unregistered_account_gives_up_its_rooms),
        T(test_many_rooms_stay_in_key_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
