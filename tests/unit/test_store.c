/* test_store.c - the SQLite store against a real database in a temporary directory.
 *
 * Each test opens store_sqlite.c on a fresh file (or ":memory:"), writes through the queue
 * and its writer thread, and reads back as the server does: store_load_recent() on the
 * calling thread, store_lines_before() and store_search() on libuv's thread pool through a
 * real loop run until the answer comes. The schema is checked from outside with SQLite's
 * own API: its version, its upgrade from every earlier version, its refusal of a newer
 * one, and the pruning of old lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "common/buf.h"
#include "server/event.h"
#include "server/store_sqlite.h"

struct fixture {
    char dir[64];
    char path[128];
    struct store *store;
    uv_loop_t loop;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    strcpy(fx->dir, "/tmp/causerie-store-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/sub/server.db", fx->dir);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    if (fx->store) {
        store_close(fx->store);
    }
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static void open_store(struct fixture *fx, const char *path, unsigned days)
{
    struct buf err = BUF_INIT;
    int r = store_sqlite_open(path, days, &fx->store, &err);
    if (r < 0) {
        print_error("%s\n", err.data);
    }
    assert_int_equal(r, 0);
    buf_release(&err);
}

static void close_store(struct fixture *fx)
{
    store_close(fx->store);
    fx->store = NULL;
}

static void put(struct fixture *fx, uint64_t id, int64_t t, const char *room, const char *who,
                const char *text)
{
    bool action = strncmp(text, "& ", 2) == 0; /* "& TEXT": an action, as /me makes */
    text += action ? 2 : 0;
    struct store_line l = {.id = id,
                           .time = t,
                           .kind = action ? EVENT_ACTION : EVENT_CHAT,
                           .room = room,
                           .room_len = strlen(room),
                           .who = who,
                           .who_len = strlen(who),
                           .text = text,
                           .text_len = strlen(text)};
    store_append_line(fx->store, &l);
}

/* Lines as "ID ROOM WHO TEXT" or "ID ROOM WHO & TEXT", one per line. */
static void describe(struct buf *out, const struct store_line *l)
{
    buf_appendf(out, "%llu %.*s %.*s %s%.*s\n", (unsigned long long)l->id, (int)l->room_len,
                l->room, (int)l->who_len, l->who, l->kind == EVENT_ACTION ? "& " : "",
                (int)l->text_len, l->text);
}

static void collect_loaded(const struct store_line *l, void *ctx)
{
    describe(ctx, l);
}

struct answer {
    bool done;
    int status;
    struct buf lines;
};

static void on_answer(void *arg, int status, const struct store_line *lines, size_t n)
{
    struct answer *a = arg;
    a->done = true;
    a->status = status;
    for (size_t i = 0; i < n; i++) {
        describe(&a->lines, &lines[i]);
    }
}

/* Runs the loop until the read started by the caller has answered. */
static void wait_answer(struct fixture *fx, struct answer *a)
{
    while (!a->done) {
        uv_run(&fx->loop, UV_RUN_ONCE);
    }
}

static char *before(struct fixture *fx, const char *room, uint64_t id, unsigned n)
{
    struct answer a = {.lines = BUF_INIT};
    assert_int_equal(
        store_lines_before(fx->store, &fx->loop, room, strlen(room), id, n, on_answer, &a), 0);
    wait_answer(fx, &a);
    assert_int_equal(a.status, 0);
    return buf_detach(&a.lines);
}

static char *range(struct fixture *fx, const char *room, struct store_range g)
{
    struct answer a = {.lines = BUF_INIT};
    assert_int_equal(store_lines_range(fx->store, &fx->loop, room, strlen(room), &g, on_answer, &a),
                     0);
    wait_answer(fx, &a);
    assert_int_equal(a.status, 0);
    return buf_detach(&a.lines);
}

static char *search(struct fixture *fx, const char *room, const char *words)
{
    struct answer a = {.lines = BUF_INIT};
    assert_int_equal(store_search(fx->store, &fx->loop, room, strlen(room), words, strlen(words),
                                  20, on_answer, &a),
                     0);
    wait_answer(fx, &a);
    assert_int_equal(a.status, 0);
    return buf_detach(&a.lines);
}

/* Reads one integer with SQLite directly, from outside the store. */
static int64_t query_int(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The same, for a text; the caller frees it. */
static char *query_text(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        print_error("%s\n", err);
        fail();
    }
    sqlite3_close(db);
}

/* ---------------------------------------------------------------- tests */

static void test_a_new_database_is_private_and_current(void **state)
{
    struct fixture *fx = *state;
    open_store(fx, fx->path, 30);
    assert_int_equal(store_last_id(fx->store), 0);
    close_store(fx);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char sub[96];
    snprintf(sub, sizeof(sub), "%s/sub", fx->dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(query_int(fx->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    char *mode = query_text(fx->path, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM lines"), 0);
}

static void test_lines_written_are_read_back_after_a_restart(void **state)
{
    struct fixture *fx = *state;
    open_store(fx, fx->path, 0);
    put(fx, 3, 1000, "général", "alice", "bonjour");
    put(fx, 5, 1001, "Jeux", "bob", "& lance les dés");
    put(fx, 7, 1002, "général", "bob", "salut");
    put(fx, 9, 1003, "jeux", "alice", "à toi"); /* the same room, written otherwise */
    close_store(fx);                            /* what was queued is written first */

    open_store(fx, fx->path, 0);
    assert_int_equal(store_last_id(fx->store), 9);
    struct buf got = BUF_INIT;
    assert_int_equal(store_load_recent(fx->store, 10, 10, collect_loaded, &got), 0);
    /* The room that spoke last first; its name as last written; oldest first within. */
    assert_string_equal(got.data, "5 jeux bob & lance les dés\n"
                                  "9 jeux alice à toi\n"
                                  "3 général alice bonjour\n"
                                  "7 général bob salut\n");
    buf_reset(&got);
    assert_int_equal(store_load_recent(fx->store, 1, 1, collect_loaded, &got), 0);
    assert_string_equal(got.data, "9 jeux alice à toi\n");
    buf_release(&got);
}

/* Lines 1 to 10, "n1" to "n10" at times 1001 to 1010, the odd ones in #impair, the even
 * ones in #pair. */
static void put_ten_lines(struct fixture *fx)
{
    for (uint64_t i = 1; i <= 10; i++) {
        char text[16];
        snprintf(text, sizeof(text), "n%llu", (unsigned long long)i);
        put(fx, i, 1000 + (int64_t)i, i % 2 ? "impair" : "pair", "alice", text);
    }
}

static void test_lines_before_pages_back_through_a_room(void **state)
{
    struct fixture *fx = *state;
    open_store(fx, fx->path, 0);
    put_ten_lines(fx);
    close_store(fx);
    open_store(fx, fx->path, 0);
    char *s = before(fx, "IMPAIR", 9, 2); /* the key is folded */
    assert_string_equal(s, "5 impair alice n5\n7 impair alice n7\n");
    free(s);
    s = before(fx, "impair", 5, 50);
    assert_string_equal(s, "1 impair alice n1\n3 impair alice n3\n");
    free(s);
    s = before(fx, "impair", 1, 50);
    assert_string_equal(s, "");
    free(s);
    s = before(fx, "inconnu", UINT64_MAX, 50);
    assert_string_equal(s, "");
    free(s);
}

/* IRC's CHATHISTORY reads: the newest or the oldest between two ids or two times, and
 * around an id or a time; always oldest first, never another room's. */
static void test_lines_range_reads_between_and_around(void **state)
{
    struct fixture *fx = *state;
    open_store(fx, fx->path, 0);
    put_ten_lines(fx);
    const struct store_range all = {
        .after = 0, .before = UINT64_MAX, .since = INT64_MIN, .until = INT64_MAX, .n = 2};
    struct store_range g = all;
    char *s = range(fx, "IMPAIR", g); /* the newest two; the key is folded */
    assert_string_equal(s, "7 impair alice n7\n9 impair alice n9\n");
    free(s);
    g.pick = STORE_OLDEST;
    s = range(fx, "impair", g);
    assert_string_equal(s, "1 impair alice n1\n3 impair alice n3\n");
    free(s);
    g.after = 3; /* after an id, before another */
    g.before = 9;
    g.n = 50;
    s = range(fx, "impair", g);
    assert_string_equal(s, "5 impair alice n5\n7 impair alice n7\n");
    free(s);
    g = all; /* between two times, the newest */
    g.since = 1002;
    g.until = 1008;
    g.n = 50;
    s = range(fx, "pair", g);
    assert_string_equal(s, "4 pair alice n4\n6 pair alice n6\n");
    free(s);
    g = all; /* around an id: at or below it, then above */
    g.pick = STORE_AROUND;
    g.after = 5;
    g.before = 6;
    g.n = 3;
    s = range(fx, "impair", g);
    assert_string_equal(s, "3 impair alice n3\n5 impair alice n5\n7 impair alice n7\n");
    free(s);
    g.after = 9; /* nothing above: the rest is not made up from below */
    g.before = 10;
    s = range(fx, "impair", g);
    assert_string_equal(s, "7 impair alice n7\n9 impair alice n9\n");
    free(s);
    g = all; /* around a time */
    g.pick = STORE_AROUND;
    g.since = 1004;
    g.until = 1005;
    g.n = 2;
    s = range(fx, "pair", g);
    assert_string_equal(s, "4 pair alice n4\n6 pair alice n6\n");
    free(s);
    g.n = 50;
    s = range(fx, "inconnu", g);
    assert_string_equal(s, "");
    free(s);
    close_store(fx);
}

static void test_search_ignores_accents_and_case_and_takes_words_literally(void **state)
{
    struct fixture *fx = *state;
    open_store(fx, ":memory:", 0); /* the one shared connection, in turn */
    put(fx, 1, 1, "général", "alice", "L'ÉTÉ est là");
    put(fx, 2, 2, "général", "bob", "le chat NOT le chien");
    put(fx, 3, 3, "autre", "bob", "été ailleurs");
    put(fx, 4, 4, "général", "carol", "un \"guillemet\" ici");
    /* A read waits for the writes queued before it: what was just said is found. */
    char *s = search(fx, "général", "ete");
    assert_string_equal(s, "1 général alice L'ÉTÉ est là\n");
    free(s);
    s = search(fx, "général", "NOT");
    assert_string_equal(s, "2 général bob le chat NOT le chien\n");
    free(s);
    s = search(fx, "général", "chat chien");
    assert_string_equal(s, "2 général bob le chat NOT le chien\n");
    free(s);
    s = search(fx, "général", "chat licorne");
    assert_string_equal(s, "");
    free(s);
    s = search(fx, "général", "\"guillemet");
    assert_string_equal(s, "4 général carol un \"guillemet\" ici\n");
    free(s);
    struct answer a = {.lines = BUF_INIT};
    assert_int_equal(store_search(fx->store, &fx->loop, "général", strlen("général"), "  ", 2, 20,
                                  on_answer, &a),
                     -EINVAL);
    assert_false(a.done);
}

static void test_search_gives_the_most_recent_matches_oldest_first(void **state)
{
    struct fixture *fx = *state;
    open_store(fx, fx->path, 0);
    for (uint64_t i = 1; i <= 30; i++) {
        put(fx, i, (int64_t)i, "général", "alice", "toujours pareil");
    }
    close_store(fx);
    open_store(fx, fx->path, 0);
    char *s = search(fx, "général", "pareil");
    struct buf want = BUF_INIT;
    for (unsigned i = 11; i <= 30; i++) {
        buf_appendf(&want, "%u général alice toujours pareil\n", i);
    }
    assert_string_equal(s, want.data);
    buf_release(&want);
    free(s);
}

/* Version 1's tables, as released: versions 1 and 2 below start with them. */
#define SCHEMA_1_TABLES                                                                            \
    "CREATE TABLE rooms (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL);"   \
    "CREATE TABLE lines (id INTEGER PRIMARY KEY, room INTEGER NOT NULL REFERENCES rooms(id),"      \
    "  time INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('>', '&')),"                      \
    "  who TEXT NOT NULL, text TEXT NOT NULL);"                                                    \
    "CREATE INDEX lines_by_room ON lines(room, id);"                                               \
    "CREATE VIRTUAL TABLE lines_words USING fts5(text, content='lines', content_rowid='id',"       \
    "  tokenize='unicode61 remove_diacritics 2');"                                                 \
    "CREATE TRIGGER lines_insert AFTER INSERT ON lines BEGIN"                                      \
    "  INSERT INTO lines_words(rowid, text) VALUES (new.id, new.text);"                            \
    "END;"                                                                                         \
    "CREATE TRIGGER lines_delete AFTER DELETE ON lines BEGIN"                                      \
    "  INSERT INTO lines_words(lines_words, rowid, text) VALUES ('delete', old.id, old.text);"     \
    "END;"

/* Each earlier version of the schema, as a release left it; version 0 is an empty file.
 * A new version adds its predecessor's here, with a line written as it was. */
static const char *const earlier_schemas[STORE_SCHEMA_VERSION] = {
    "", /* 0: nothing yet */
    /* 1: rooms, lines and their words */
    SCHEMA_1_TABLES
    "INSERT INTO rooms VALUES (1, 'général', 'général');"
    "INSERT INTO lines VALUES (7, 1, 1764079392, '>', 'alice', 'écrit en version 1');"
    "PRAGMA user_version = 1;",
    /* 2: version 1's, and the accounts */
    SCHEMA_1_TABLES
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL, hash TEXT NOT NULL, created INTEGER NOT NULL);"
    "INSERT INTO rooms VALUES (1, 'général', 'général');"
    "INSERT INTO lines VALUES (7, 1, 1764079392, '>', 'alice', 'écrit en version 1');"
    "INSERT INTO accounts VALUES (1, 'alice', 'Alice', '$h', 1764079392);"
    "PRAGMA user_version = 2;",
};

static void test_every_earlier_schema_is_upgraded(void **state)
{
    struct fixture *fx = *state;
    for (int v = 0; v < STORE_SCHEMA_VERSION; v++) {
        char path[160];
        snprintf(path, sizeof(path), "%s/v%d.db", fx->dir, v);
        exec_sql(path, earlier_schemas[v]);
        assert_int_equal(query_int(path, "PRAGMA user_version"), v);
        open_store(fx, path, 0);
        put(fx, 100, 1, "général", "alice", "après la mise à jour");
        close_store(fx);
        assert_int_equal(query_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        assert_int_equal(query_int(path, "SELECT count(*) FROM lines WHERE id = 100"), 1);
        if (v >= 1) { /* what the earlier version kept is still there, and searchable */
            open_store(fx, path, 0);
            char *s = search(fx, "général", "ecrit");
            assert_string_equal(s, "7 général alice écrit en version 1\n");
            free(s);
            close_store(fx);
        }
        if (v >= 2) { /* and its accounts */
            assert_int_equal(query_int(path, "SELECT count(*) FROM accounts WHERE key = 'alice'"),
                             1);
        }
        assert_int_equal(query_int(path, "SELECT count(*) FROM owned_rooms"), 0);
        assert_int_equal(query_int(path, "SELECT count(*) FROM pragma_integrity_check"
                                         " WHERE integrity_check = 'ok'"),
                         1);
    }
}

static void test_a_newer_schema_is_refused_and_left_alone(void **state)
{
    struct fixture *fx = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/futur.db", fx->dir);
    exec_sql(path, "CREATE TABLE demain(x); PRAGMA user_version = 7");
    struct buf err = BUF_INIT;
    struct store *s = NULL;
    assert_int_equal(store_sqlite_open(path, 0, &s, &err), -1);
    assert_null(s);
    assert_non_null(strstr(err.data, "version plus récente"));
    assert_non_null(strstr(err.data, "schéma 7"));
    buf_release(&err);
    assert_int_equal(query_int(path, "PRAGMA user_version"), 7);
    char *mode = query_text(path, "PRAGMA journal_mode"); /* not even switched to WAL */
    assert_string_equal(mode, "delete");
    free(mode);
}

static void test_not_a_database_is_refused(void **state)
{
    struct fixture *fx = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/texte", fx->dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 100; i++) {
        fputs("ceci n'est pas une base de données\n", f);
    }
    fclose(f);
    struct buf err = BUF_INIT;
    struct store *s = NULL;
    assert_int_equal(store_sqlite_open(path, 0, &s, &err), -1);
    assert_non_null(strstr(err.data, "ce n'est pas une base de données SQLite"));
    buf_release(&err);
    assert_int_equal(store_sqlite_open(fx->dir, 0, &s, &err), -1); /* a directory */
    assert_non_null(strstr(err.data, fx->dir));
    buf_release(&err);
}

static void collect_account(const struct store_account *a, void *ctx)
{
    buf_appendf(ctx, "%s %s %s %lld\n", a->key, a->name, a->hash, (long long)a->created);
}

static void test_accounts_are_kept_changed_and_deleted(void **state)
{
    struct fixture *fx = *state;
    open_store(fx, fx->path, 0);
    store_put_account(fx->store, &(struct store_account){"alice", "Alice", "$h1", 100, true});
    store_put_account(fx->store, &(struct store_account){"bob", "bob", "$h2", 200, true});
    store_put_account(fx->store, &(struct store_account){"alice", "ALICE", "$h3", 300, false});
    store_delete_account(fx->store, "bob");
    store_delete_account(fx->store, "personne");
    close_store(fx);
    open_store(fx, fx->path, 0);
    struct buf got = BUF_INIT;
    assert_int_equal(store_load_accounts(fx->store, collect_account, &got), 0);
    /* A change keeps the creation's time. */
    assert_string_equal(got.data, "alice ALICE $h3 100\n");
    buf_release(&got);
}

static void collect_room(const struct store_room *r, void *ctx)
{
    buf_appendf(ctx, "%s %s founder=%s topic=%s i=%d %lld ops:", r->key, r->name, r->founder,
                r->topic, r->invite_only, (long long)r->created);
    for (size_t i = 0; i < r->n_operators; i++) {
        buf_appendf(ctx, " %s", r->operators[i]);
    }
    buf_appendf(ctx, " bans:");
    for (size_t i = 0; i < r->n_bans; i++) {
        buf_appendf(ctx, " %s/%s/%s", r->bans[i].key, r->bans[i].name, r->bans[i].host);
    }
    buf_append_char(ctx, '\n');
}

static void test_owned_rooms_are_kept_whole_replaced_and_deleted(void **state)
{
    struct fixture *fx = *state;
    open_store(fx, fx->path, 0);
    const char *ops[] = {"bob", "carol"};
    const struct store_ban bans[] = {{"dave", "Dave", ""}, {"eve", "Eve", "203.0.113.9"}};
    store_put_room(fx->store, &(struct store_room){"jeux", "Jeux", "alice", "Le sujet", true, 100,
                                                   ops, 2, bans, 2});
    store_put_room(fx->store,
                   &(struct store_room){"général", "général", "", "", false, 50, NULL, 0, NULL, 0});
    store_put_room(fx->store,
                   &(struct store_room){"vieux", "vieux", "bob", "", false, 60, ops, 1, NULL, 0});
    store_delete_room(fx->store, "vieux");
    close_store(fx);
    open_store(fx, fx->path, 0);
    struct buf got = BUF_INIT;
    assert_int_equal(store_load_rooms(fx->store, collect_room, &got), 0);
    assert_non_null(strstr(got.data, "jeux Jeux founder=alice topic=Le sujet i=1 100 ops: bob "
                                     "carol bans: dave/Dave/ eve/Eve/203.0.113.9\n"));
    assert_non_null(strstr(got.data, "général général founder= topic= i=0 50 ops: bans:\n"));
    assert_null(strstr(got.data, "vieux"));
    buf_release(&got);
    /* A new state replaces the whole of the old one; its creation's time stays. */
    store_put_room(fx->store, &(struct store_room){"jeux", "Jeux", "alice", "Autre", false, 999,
                                                   ops + 1, 1, NULL, 0});
    close_store(fx);
    open_store(fx, fx->path, 0);
    assert_int_equal(store_load_rooms(fx->store, collect_room, &got), 0);
    assert_non_null(strstr(got.data, "jeux Jeux founder=alice topic=Autre i=0 100 ops: carol "
                                     "bans:\n"));
    buf_release(&got);
    close_store(fx);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM room_operators"), 1);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM room_bans"), 0);
}

static void test_old_lines_are_pruned_in_the_background(void **state)
{
    struct fixture *fx = *state;
    int64_t now = (int64_t)time(NULL);
    open_store(fx, fx->path, 0);
    put(fx, 1, now - 3 * 86400, "général", "alice", "vieux");
    put(fx, 2, now - 2 * 86400 + 60, "général", "alice", "récent");
    close_store(fx);
    open_store(fx, fx->path, 2); /* lines older than two days go */
    /* Never read again, at once, pruned or not yet. */
    char *s = before(fx, "général", UINT64_MAX, 10);
    assert_string_equal(s, "2 général alice récent\n");
    free(s);
    s = search(fx, "général", "vieux");
    assert_string_equal(s, "");
    free(s);
    /* The writer prunes as it starts: wait for it, boundedly, looking from outside. */
    for (int i = 0; i < 500 && query_int(fx->path, "SELECT count(*) FROM lines") != 1; i++) {
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM lines WHERE text = 'récent'"), 1);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM lines"), 1);
    /* Gone from the words too. */
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM lines_words WHERE lines_words"
                                         " MATCH 'vieux'"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_a_new_database_is_private_and_current),
        T(test_lines_written_are_read_back_after_a_restart),
        T(test_lines_before_pages_back_through_a_room),
        T(test_lines_range_reads_between_and_around),
        T(test_search_ignores_accents_and_case_and_takes_words_literally),
        T(test_search_gives_the_most_recent_matches_oldest_first),
        T(test_every_earlier_schema_is_upgraded),
        T(test_a_newer_schema_is_refused_and_left_alone),
        T(test_owned_rooms_are_kept_whole_replaced_and_deleted),
        T(test_not_a_database_is_refused),
        T(test_old_lines_are_pruned_in_the_background),
        T(test_accounts_are_kept_changed_and_deleted),
#undef T
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
