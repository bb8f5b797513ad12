/* store_sqlite.c - the store in SQLite: schema, writer thread, reads on the thread pool.
 *
 * See store_sqlite.h and store.h for the contracts. Three kinds of thread touch the
 * database, each through connections of its own (SQLite's "multi-thread" mode: a
 * connection is used by one thread at a time, never shared while in use):
 * - the main thread opens the database, upgrades its schema and reads the rooms back,
 *   then hands its connection to the writer thread;
 * - the writer thread swaps out the queue of writes that loop threads fill (under the
 *   store lock, a copy and no system call) and applies the whole of it in one
 *   transaction, so a busy room costs one commit per batch rather than one per line; it
 *   also prunes lines past --history-days;
 * - libuv's thread pool runs the reads a person waits for, each on a read-only
 *   connection taken from a pool (opened on first need, kept until close). WAL lets them
 *   read while the writer writes.
 * With ":memory:" there is only the one connection: the writer and the readers take it in
 * turn under db_lock.
 */
#include "store_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fr.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/xalloc.h"
#include "event.h"

/* A batch larger than this is freed after use rather than kept for the next. */
#define KEEP_BATCH_MAX (256 * 1024)
/* Dropped writes are logged at most this often. */
#define DROP_REPORT_MS 1000
/* How often old lines are looked for, and how many go per transaction, so that pruning a
 * month of a busy server never holds the write lock for long. */
#define PRUNE_EVERY_S 3600
#define PRUNE_CHUNK   5000
/* How long a read waits for the writes queued before it to be applied, so that it sees
 * them; past it (a failing disk) it reads what there is. */
#define READ_AFTER_WRITES_MS 2000
/* How long a connection waits for a lock another holds (a backup, the sqlite3 shell). */
#define BUSY_TIMEOUT_MS 5000

#define STR(x)  #x
#define XSTR(x) STR(x)

/* ---------------------------------------------------------------- the schema */

/* Each version's schema is reached from the one before by its step; a fresh database
 * runs them all. Never edit a step once released: add one. */
static const char *const schema_steps[STORE_SCHEMA_VERSION] = {
    /* 1: rooms by their folded key; kept lines; their words, for /search. */
    "CREATE TABLE rooms ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE," /* the name folded as pseudos are: what is compared */
    "  name TEXT NOT NULL"        /* as last written, without '#' */
    ");"
    "CREATE TABLE lines ("
    "  id INTEGER PRIMARY KEY," /* its place in the order: rises across restarts */
    "  room INTEGER NOT NULL REFERENCES rooms(id),"
    "  time INTEGER NOT NULL," /* seconds since the epoch, UTC */
    "  kind TEXT NOT NULL CHECK (kind IN ('>', '&')),"
    "  who TEXT NOT NULL,"
    "  text TEXT NOT NULL"
    ");"
    "CREATE INDEX lines_by_room ON lines(room, id);"
    "CREATE VIRTUAL TABLE lines_words USING fts5(text, content='lines', content_rowid='id',"
    "  tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER lines_insert AFTER INSERT ON lines BEGIN"
    "  INSERT INTO lines_words(rowid, text) VALUES (new.id, new.text);"
    "END;"
    "CREATE TRIGGER lines_delete AFTER DELETE ON lines BEGIN"
    "  INSERT INTO lines_words(lines_words, rowid, text) VALUES ('delete', old.id, old.text);"
    "END;",
    /* 2: accounts, by their folded pseudo; hash is crypto_pwhash_str()'s string
     * (Argon2id: its limits and salt are in it). */
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL," /* the pseudo as registered */
    "  hash TEXT NOT NULL,"
    "  created INTEGER NOT NULL" /* seconds since the epoch, UTC */
    ");",
    /* 3: owned rooms, their operators and their bans, by the room's folded name. A room's
     * whole state is written at once (store_put_room()). */
    "CREATE TABLE owned_rooms ("
    "  key TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  founder TEXT NOT NULL," /* an account's key; '' for the server's own room */
    "  topic TEXT NOT NULL,"
    "  invite_only INTEGER NOT NULL,"
    "  created INTEGER NOT NULL"
    ");"
    "CREATE TABLE room_operators ("
    "  room TEXT NOT NULL,"
    "  account TEXT NOT NULL,"
    "  PRIMARY KEY (room, account)"
    ") WITHOUT ROWID;"
    "CREATE TABLE room_bans ("
    "  room TEXT NOT NULL,"
    "  key TEXT NOT NULL," /* the pseudo banned, folded */
    "  name TEXT NOT NULL,"
    "  host TEXT NOT NULL," /* '' for an account; else the address's host key */
    "  PRIMARY KEY (room, key)"
    ") WITHOUT ROWID;",
};

/* ---------------------------------------------------------------- connections */

/* A connection and the statements prepared on it, used by one thread at a time. */
struct conn {
    sqlite3 *db;
    sqlite3_stmt *before;                      /* the lines of a room below an id */
    sqlite3_stmt *search;                      /* the lines of a room that match */
    sqlite3_stmt *range_newest, *range_oldest; /* the lines of a room between bounds */
    struct conn *next;                         /* the pool's free list */
};

/* The writer's statements, on the writer's connection. */
struct writer_stmts {
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *room_find, *room_add, *room_name;
    sqlite3_stmt *line_add;
    sqlite3_stmt *oldest, *prune;
    sqlite3_stmt *account_put, *account_delete;
    sqlite3_stmt *room_put, *room_delete, *operators_clear, *operator_add, *bans_clear, *ban_add;
};

/* A queued write: a header, then its three strings a, b and c, one after the other. */
enum op_kind {
    OP_LINE = 1,       /* a: room, b: pseudo, c: text; id, time, kind */
    OP_ACCOUNT_PUT,    /* a: folded pseudo, b: pseudo, c: hash; time: when registered */
    OP_ACCOUNT_DELETE, /* a: folded pseudo */
    OP_ROOM_PUT,       /* a: room key, b: name, c: room_blob(); time: created, kind: invite
                        * only, id: operators << 32 | bans */
    OP_ROOM_DELETE,    /* a: room key */
};
struct op {
    uint8_t op;
    uint8_t kind;
    uint16_t a_len, b_len;
    uint32_t c_len;
    uint64_t id;
    int64_t time;
};

struct store_sqlite {
    struct store base;
    char *path;  /* owned; ":memory:" for none */
    bool memory; /* one connection, shared in turn under db_lock */
    unsigned history_days;
    uint64_t last_id; /* read at open */

    struct conn writer_conn; /* the main thread's until the writer starts, then the writer's */
    struct writer_stmts w;
    pthread_t writer;
    /* The writer's cache of room ids by key: most batches are one room's lines. */
    char last_room_key[256];
    int64_t last_room_id;

    /* The store lock guards everything down to the next comment. It is held to copy a write
     * in or to swap the queue out, never across I/O. */
    pthread_mutex_t lock;
    pthread_cond_t wake;    /* for the writer: a batch, or the stop */
    pthread_cond_t written; /* for readers: the writer finished a batch */
    struct buf queue;       /* encoded writes, at most STORE_QUEUE_MAX bytes */
    uint64_t queued_n;      /* writes ever queued */
    uint64_t done_n;        /* writes ever applied, or given up on */
    size_t drops_unlogged;  /* writes dropped for want of room, not yet said in the log */
    uint64_t drop_logged_ms;
    bool stopping;

    /* Who uses writer_conn: the writer for a batch or a prune, the main thread to read the
     * rooms back at start, and, with ":memory:", each reader in turn. */
    pthread_mutex_t db_lock;
    pthread_mutex_t pool_lock;
    struct conn *pool; /* read-only connections not in use */

    /* The writer's own. */
    bool failing; /* the last batch failed, which was logged */
    size_t lost;  /* writes lost to errors since failing began */
    time_t next_prune;
};

static struct store_sqlite *of(struct store *s)
{
    return (struct store_sqlite *)s;
}

/* The time of the oldest line --history-days keeps: older ones are never read, whether or
 * not the writer has pruned them yet. */
static int64_t oldest_kept(const struct store_sqlite *s)
{
    return s->history_days ? (int64_t)time(NULL) - (int64_t)s->history_days * 86400 : INT64_MIN;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs a statement that returns no row, then resets it; returns SQLite's code. */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
}

static void conn_close(struct conn *c)
{
    sqlite3_finalize(c->before);
    sqlite3_finalize(c->search);
    sqlite3_finalize(c->range_newest);
    sqlite3_finalize(c->range_oldest);
    sqlite3_close(c->db);
    c->db = NULL;
}

/* The reads' statements, on c. */
static int conn_prepare_reads(struct conn *c)
{
    int rc =
        prepare(c->db,
                "SELECT l.id, l.time, l.kind, r.name, l.who, l.text FROM lines l"
                " JOIN rooms r ON r.id = l.room WHERE r.key = ?1 AND l.id < ?2 AND l.time >= ?4"
                " ORDER BY l.id DESC LIMIT ?3",
                &c->before);
    if (rc == SQLITE_OK) {
        rc = prepare(c->db,
                     "SELECT l.id, l.time, l.kind, r.name, l.who, l.text FROM lines_words w"
                     " JOIN lines l ON l.id = w.rowid JOIN rooms r ON r.id = l.room"
                     " WHERE lines_words MATCH ?1 AND r.key = ?2 AND l.time >= ?4"
                     " ORDER BY l.id DESC LIMIT ?3",
                     &c->search);
    }
#define RANGE_SELECT                                                                               \
    "SELECT l.id, l.time, l.kind, r.name, l.who, l.text FROM lines l"                              \
    " JOIN rooms r ON r.id = l.room WHERE r.key = ?1 AND l.id > ?2 AND l.id < ?3"                  \
    " AND l.time > ?5 AND l.time < ?6 AND l.time >= ?7"
    if (rc == SQLITE_OK) {
        rc = prepare(c->db, RANGE_SELECT " ORDER BY l.id DESC LIMIT ?4", &c->range_newest);
    }
    if (rc == SQLITE_OK) {
        rc = prepare(c->db, RANGE_SELECT " ORDER BY l.id ASC LIMIT ?4", &c->range_oldest);
    }
#undef RANGE_SELECT
    return rc;
}

static void settle(sqlite3 *db)
{
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
}

/* ---------------------------------------------------------------- opening */

/* Creates the directories of path's parent that are missing, mode 0700: the state of a
 * server is nobody else's to read. Returns 0 or a negative errno. */
static int make_parents(const char *path)
{
    char *dir = xstrdup(path);
    int r = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            r = -errno;
            break;
        }
        *p = '/';
    }
    free(dir);
    return r;
}

/* Creates path mode 0600 if it does not exist, so that SQLite (which would create it, and
 * its -wal and -shm files after it, with the umask's mode) finds it private. */
static int create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return -errno;
    }
    close(fd);
    return 0;
}

static const char *open_strerror(int err)
{
    switch (-err) {
    case EACCES:
    case EPERM:
        return "permission refusée";
    case ENOENT:
        return "dossier introuvable";
    case ENOTDIR:
        return "un élément du chemin n'est pas un dossier";
    case EISDIR:
        return "c'est un dossier";
    case ENOSPC:
        return "plus de place sur le disque";
    case EROFS:
        return "système de fichiers en lecture seule";
    case ELOOP:
        return "c'est un lien symbolique";
    default:
        return fr_strerror(err);
    }
}

static int fail(struct buf *err, const char *path, const char *why)
{
    buf_appendf(err, "causerie-server : base de données %s : %s", path, why);
    return -1;
}

static int fail_db(struct buf *err, const char *path, sqlite3 *db, const char *doing)
{
    buf_appendf(err, "causerie-server : base de données %s : %s : %s", path, doing,
                sqlite3_errmsg(db));
    return -1;
}

/* Reads a PRAGMA's integer. */
static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return rc;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Reads the schema's version into *version; refuses one this build does not know, before
 * anything is written (even the switch to WAL, which changes the file's header). */
static int read_version(struct store_sqlite *s, int *version, struct buf *err)
{
    sqlite3 *db = s->writer_conn.db;
    if (pragma_int(db, "PRAGMA user_version", version) != SQLITE_OK) {
        return fail(err, s->path, "ce n'est pas une base de données SQLite, ou elle est abîmée");
    }
    if (*version > STORE_SCHEMA_VERSION) {
        buf_appendf(err,
                    "causerie-server : base de données %s : elle vient d'une version plus récente "
                    "de causerie (schéma %d, celle-ci connaît le %d) ; elle n'a pas été modifiée",
                    s->path, *version, STORE_SCHEMA_VERSION);
        return -1;
    }
    if (*version < 0) {
        return fail(err, s->path, "numéro de schéma invalide ; elle n'a pas été modifiée");
    }
    return 0;
}

/* Brings the schema from version to STORE_SCHEMA_VERSION, in one transaction. */
static int upgrade(struct store_sqlite *s, int version, struct buf *err)
{
    sqlite3 *db = s->writer_conn.db;
    if (version == STORE_SCHEMA_VERSION) {
        return 0;
    }
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return fail_db(err, s->path, db, "mise à jour du schéma impossible");
    }
    for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
        char set_version[64];
        snprintf(set_version, sizeof(set_version), "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(db, schema_steps[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, set_version, NULL, NULL, NULL) != SQLITE_OK) {
            fail_db(err, s->path, db, "mise à jour du schéma impossible");
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fail_db(err, s->path, db, "mise à jour du schéma impossible");
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (version > 0) {
        log_info("base de données %s : schéma mis à jour de la version %d à la %d", s->path,
                 version, STORE_SCHEMA_VERSION);
    }
    return 0;
}

static int prepare_writer(struct store_sqlite *s)
{
    sqlite3 *db = s->writer_conn.db;
    struct writer_stmts *w = &s->w;
    int rc = SQLITE_OK;
    const struct {
        sqlite3_stmt **st;
        const char *sql;
    } all[] = {
        {&w->begin, "BEGIN IMMEDIATE"},
        {&w->commit, "COMMIT"},
        {&w->rollback, "ROLLBACK"},
        {&w->room_find, "SELECT id, name FROM rooms WHERE key = ?1"},
        {&w->room_add, "INSERT INTO rooms(key, name) VALUES (?1, ?2)"},
        {&w->room_name, "UPDATE rooms SET name = ?2 WHERE id = ?1"},
        {&w->line_add,
         "INSERT INTO lines(id, room, time, kind, who, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
        {&w->oldest, "SELECT time FROM lines ORDER BY id LIMIT 1"},
        {&w->account_put, "INSERT INTO accounts(key, name, hash, created) VALUES (?1, ?2, ?3, ?4)"
                          " ON CONFLICT(key) DO UPDATE SET name = ?2, hash = ?3"},
        {&w->account_delete, "DELETE FROM accounts WHERE key = ?1"},
        {&w->room_put, "INSERT INTO owned_rooms(key, name, founder, topic, invite_only, created)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(key) DO UPDATE SET"
                       " name = ?2, founder = ?3, topic = ?4, invite_only = ?5"},
        {&w->room_delete, "DELETE FROM owned_rooms WHERE key = ?1"},
        {&w->operators_clear, "DELETE FROM room_operators WHERE room = ?1"},
        {&w->operator_add, "INSERT OR IGNORE INTO room_operators(room, account) VALUES (?1, ?2)"},
        {&w->bans_clear, "DELETE FROM room_bans WHERE room = ?1"},
        {&w->ban_add, "INSERT OR REPLACE INTO room_bans(room, key, name, host)"
                      " VALUES (?1, ?2, ?3, ?4)"},
        {&w->prune, "DELETE FROM lines WHERE id IN (SELECT id FROM lines WHERE time < ?1"
                    " ORDER BY id LIMIT " XSTR(PRUNE_CHUNK) ")"},
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && rc == SQLITE_OK; i++) {
        rc = prepare(db, all[i].sql, all[i].st);
    }
    return rc;
}

static void finalize_writer(struct store_sqlite *s)
{
    struct writer_stmts *w = &s->w;
    sqlite3_stmt **all[] = {
        &w->begin,          &w->commit,   &w->rollback,    &w->room_find,       &w->room_add,
        &w->room_name,      &w->line_add, &w->oldest,      &w->prune,           &w->account_put,
        &w->account_delete, &w->room_put, &w->room_delete, &w->operators_clear, &w->operator_add,
        &w->bans_clear,     &w->ban_add};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
}

static int read_last_id(struct store_sqlite *s)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->writer_conn.db, "SELECT max(id) FROM lines", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            sqlite3_int64 id = sqlite3_column_int64(st, 0);
            s->last_id = id > 0 ? (uint64_t)id : 0;
            rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
    }
    return rc;
}

/* ---------------------------------------------------------------- the writer thread */

static void bind_text(sqlite3_stmt *st, int i, const char *p, size_t len)
{
    sqlite3_bind_text(st, i, p, (int)len, SQLITE_STATIC);
}

/* The id of the room whose name is name: found by its key, made if new, renamed if its
 * name is written otherwise now. Writer thread, in a transaction. Returns 0 or -1. */
static int room_id(struct store_sqlite *s, const char *name, size_t len, int64_t *id)
{
    struct buf key = BUF_INIT;
    pseudo_fold(name, len, &key);
    int r = 0;
    if (key.len < sizeof(s->last_room_key) && s->last_room_id &&
        strcmp(s->last_room_key, key.data) == 0) {
        *id = s->last_room_id;
        buf_release(&key);
        return 0;
    }
    struct writer_stmts *w = &s->w;
    bind_text(w->room_find, 1, key.data, key.len);
    int rc = sqlite3_step(w->room_find);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(w->room_find, 0);
        const unsigned char *old = sqlite3_column_text(w->room_find, 1);
        bool renamed = !old || strlen((const char *)old) != len || memcmp(old, name, len) != 0;
        sqlite3_reset(w->room_find);
        if (renamed) {
            sqlite3_bind_int64(w->room_name, 1, *id);
            bind_text(w->room_name, 2, name, len);
            r = step_done(w->room_name) == SQLITE_DONE ? 0 : -1;
        }
    } else if (rc == SQLITE_DONE) {
        sqlite3_reset(w->room_find);
        bind_text(w->room_add, 1, key.data, key.len);
        bind_text(w->room_add, 2, name, len);
        r = step_done(w->room_add) == SQLITE_DONE ? 0 : -1;
        *id = sqlite3_last_insert_rowid(s->writer_conn.db);
    } else {
        sqlite3_reset(w->room_find);
        r = -1;
    }
    if (r == 0 && key.len < sizeof(s->last_room_key)) {
        memcpy(s->last_room_key, key.data, key.len + 1);
        s->last_room_id = *id;
    }
    buf_release(&key);
    return r;
}

static int apply_line(struct store_sqlite *s, const struct op *h, const char *p)
{
    int64_t room;
    if (room_id(s, p, h->a_len, &room) < 0) {
        return -1;
    }
    sqlite3_stmt *st = s->w.line_add;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)h->id);
    sqlite3_bind_int64(st, 2, room);
    sqlite3_bind_int64(st, 3, h->time);
    bind_text(st, 4, h->kind == EVENT_ACTION ? "&" : ">", 1);
    bind_text(st, 5, p + h->a_len, h->b_len);
    bind_text(st, 6, p + h->a_len + h->b_len, h->c_len);
    int rc = step_done(st);
    /* A line already kept (an id written twice) is not worth failing the batch for. */
    return rc == SQLITE_DONE || rc == SQLITE_CONSTRAINT ? 0 : -1;
}

static int apply_account(struct store_sqlite *s, const struct op *h, const char *p)
{
    sqlite3_stmt *st = h->op == OP_ACCOUNT_PUT ? s->w.account_put : s->w.account_delete;
    bind_text(st, 1, p, h->a_len);
    if (h->op == OP_ACCOUNT_PUT) {
        bind_text(st, 2, p + h->a_len, h->b_len);
        bind_text(st, 3, p + h->a_len + h->b_len, h->c_len);
        sqlite3_bind_int64(st, 4, h->time);
    }
    return step_done(st) == SQLITE_DONE ? 0 : -1;
}

/* The next NUL-terminated string of a room's blob; *at moves past it. */
static const char *blob_next(const char **at)
{
    const char *str = *at;
    *at += strlen(str) + 1;
    return str;
}

/* Runs st, whose ?1 is the room's key, with ?2.. bound to n strings of the blob. */
static int room_row(sqlite3_stmt *st, const char *key, size_t key_len, const char **at, int n)
{
    bind_text(st, 1, key, key_len);
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(st, 2 + i, blob_next(at), -1, SQLITE_STATIC);
    }
    return step_done(st) == SQLITE_DONE ? 0 : -1;
}

static int apply_room(struct store_sqlite *s, const struct op *h, const char *p)
{
    struct writer_stmts *w = &s->w;
    if (room_row(w->operators_clear, p, h->a_len, NULL, 0) < 0 ||
        room_row(w->bans_clear, p, h->a_len, NULL, 0) < 0) {
        return -1;
    }
    if (h->op == OP_ROOM_DELETE) {
        return room_row(w->room_delete, p, h->a_len, NULL, 0);
    }
    const char *at = p + h->a_len + h->b_len; /* the blob */
    sqlite3_stmt *st = w->room_put;
    bind_text(st, 1, p, h->a_len);
    bind_text(st, 2, p + h->a_len, h->b_len);
    sqlite3_bind_text(st, 3, blob_next(&at), -1, SQLITE_STATIC); /* founder */
    sqlite3_bind_text(st, 4, blob_next(&at), -1, SQLITE_STATIC); /* topic */
    sqlite3_bind_int(st, 5, h->kind);
    sqlite3_bind_int64(st, 6, h->time);
    if (step_done(st) != SQLITE_DONE) {
        return -1;
    }
    for (uint32_t i = 0; i < (uint32_t)(h->id >> 32); i++) {
        if (room_row(w->operator_add, p, h->a_len, &at, 1) < 0) {
            return -1;
        }
    }
    for (uint32_t i = 0; i < (uint32_t)h->id; i++) {
        if (room_row(w->ban_add, p, h->a_len, &at, 3) < 0) {
            return -1;
        }
    }
    return 0;
}

static int apply(struct store_sqlite *s, const struct op *h, const char *p)
{
    switch (h->op) {
    case OP_LINE:
        return apply_line(s, h, p);
    case OP_ACCOUNT_PUT:
    case OP_ACCOUNT_DELETE:
        return apply_account(s, h, p);
    default:
        return apply_room(s, h, p);
    }
}

/* Applies the writes of batch[0..len) in one transaction; returns how many there were, or
 * -1 (and rolls back) on the first that fails. */
static long apply_batch(struct store_sqlite *s, const char *batch, size_t len)
{
    if (step_done(s->w.begin) != SQLITE_DONE) {
        return -1;
    }
    long n = 0;
    for (size_t at = 0; at < len; n++) {
        struct op h;
        memcpy(&h, batch + at, sizeof(h));
        at += sizeof(h);
        if (apply(s, &h, batch + at) < 0) {
            step_done(s->w.rollback);
            s->last_room_id = 0; /* the room may have been rolled back with the rest */
            return -1;
        }
        at += (size_t)h.a_len + h.b_len + h.c_len;
    }
    if (step_done(s->w.commit) != SQLITE_DONE) {
        step_done(s->w.rollback);
        s->last_room_id = 0;
        return -1;
    }
    return n;
}

static size_t count_writes(const char *batch, size_t len)
{
    size_t n = 0;
    for (size_t at = 0; at < len; n++) {
        struct op h;
        memcpy(&h, batch + at, sizeof(h));
        at += sizeof(h) + h.a_len + h.b_len + h.c_len;
    }
    return n;
}

/* Deletes lines older than history_days, PRUNE_CHUNK per transaction, while the queue is
 * empty: the writes people make come first. */
static void prune(struct store_sqlite *s)
{
    int64_t cutoff = (int64_t)time(NULL) - (int64_t)s->history_days * 86400;
    size_t deleted = 0;
    for (;;) {
        int rc = sqlite3_step(s->w.oldest);
        bool old = rc == SQLITE_ROW && sqlite3_column_int64(s->w.oldest, 0) < cutoff;
        sqlite3_reset(s->w.oldest);
        if (!old) {
            break;
        }
        sqlite3_bind_int64(s->w.prune, 1, cutoff);
        if (step_done(s->w.prune) != SQLITE_DONE) {
            log_warn("base de données %s : effacement des vieux messages impossible : %s", s->path,
                     sqlite3_errmsg(s->writer_conn.db));
            break;
        }
        deleted += (size_t)sqlite3_changes(s->writer_conn.db);
        pthread_mutex_lock(&s->lock);
        bool busy = s->queue.len > 0 || s->stopping;
        pthread_mutex_unlock(&s->lock);
        if (busy) {
            break; /* the rest at the next turn */
        }
    }
    if (deleted > 0) {
        log_info("base de données %s : %zu message%s de plus de %u jour%s effacé%s", s->path,
                 deleted, deleted > 1 ? "s" : "", s->history_days, s->history_days > 1 ? "s" : "",
                 deleted > 1 ? "s" : "");
    }
}

static void report_drops(struct store_sqlite *s, bool force)
{
    size_t drops = 0;
    uint64_t now = now_ms();
    pthread_mutex_lock(&s->lock);
    if (s->drops_unlogged > 0 && (force || now - s->drop_logged_ms >= DROP_REPORT_MS)) {
        drops = s->drops_unlogged;
        s->drops_unlogged = 0;
        s->drop_logged_ms = now;
    }
    pthread_mutex_unlock(&s->lock);
    if (drops > 0) {
        log_warn("base de données %s : la file d'écriture est pleine, %zu messages n'ont pas été "
                 "gardés",
                 s->path, drops);
    }
}

static void *writer_main(void *arg)
{
    struct store_sqlite *s = arg;
    struct buf batch = BUF_INIT;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (s->queue.len == 0 && !s->stopping) {
            if (s->history_days == 0) {
                pthread_cond_wait(&s->wake, &s->lock);
                continue;
            }
            if (time(NULL) >= s->next_prune) {
                break;
            }
            struct timespec until = {.tv_sec = s->next_prune};
            pthread_cond_timedwait(&s->wake, &s->lock, &until);
        }
        struct buf swap = s->queue;
        s->queue = batch;
        batch = swap;
        uint64_t batch_end = s->queued_n;
        bool stopping = s->stopping;
        pthread_mutex_unlock(&s->lock);

        if (batch.len > 0) {
            pthread_mutex_lock(&s->db_lock);
            long n = apply_batch(s, batch.data, batch.len);
            pthread_mutex_unlock(&s->db_lock);
            if (n < 0) {
                size_t lost = count_writes(batch.data, batch.len);
                if (!s->failing) {
                    log_warn("base de données %s : écriture impossible : %s ; %zu messages "
                             "perdus",
                             s->path, sqlite3_errmsg(s->writer_conn.db), lost);
                    s->failing = true;
                } else {
                    s->lost += lost;
                }
            } else if (s->failing) {
                log_info("base de données %s : les écritures reprennent (%zu messages perdus entre-"
                         "temps)",
                         s->path, s->lost);
                s->failing = false;
                s->lost = 0;
            }
            pthread_mutex_lock(&s->lock);
            s->done_n = batch_end;
            pthread_cond_broadcast(&s->written);
            pthread_mutex_unlock(&s->lock);
            if (batch.alloc > KEEP_BATCH_MAX) {
                buf_release(&batch);
            } else {
                buf_reset(&batch);
            }
        }
        report_drops(s, stopping);
        if (stopping) {
            pthread_mutex_lock(&s->lock);
            bool more = s->queue.len > 0;
            pthread_mutex_unlock(&s->lock);
            if (!more) {
                break;
            }
            continue;
        }
        if (s->history_days > 0 && time(NULL) >= s->next_prune) {
            s->next_prune = time(NULL) + PRUNE_EVERY_S;
            pthread_mutex_lock(&s->db_lock);
            prune(s);
            pthread_mutex_unlock(&s->db_lock);
        }
    }
    buf_release(&batch);
    return NULL;
}

/* ---------------------------------------------------------------- writes */

/* Queues op h with its strings; a line (dropped) is the only write the queue's bound
 * refuses: an account's change is small, rare, and must not be lost. */
static void enqueue(struct store_sqlite *s, struct op h, const char *a, const char *b,
                    const char *c)
{
    size_t need = sizeof(h) + h.a_len + h.b_len + h.c_len;
    pthread_mutex_lock(&s->lock);
    if (h.op == OP_LINE && s->queue.len + need > STORE_QUEUE_MAX) {
        s->drops_unlogged++;
    } else {
        bool was_empty = s->queue.len == 0;
        buf_grow(&s->queue, need);
        buf_append(&s->queue, &h, sizeof(h));
        buf_append(&s->queue, a, h.a_len);
        buf_append(&s->queue, b, h.b_len);
        buf_append(&s->queue, c, h.c_len);
        s->queued_n++;
        if (was_empty) {
            pthread_cond_signal(&s->wake);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void sqlite_append_line(struct store *st, const struct store_line *l)
{
    if (l->room_len > UINT16_MAX || l->who_len > UINT16_MAX || l->text_len > UINT32_MAX) {
        return; /* no room or pseudo is that long; a line that long was refused long before */
    }
    struct op h = {.op = OP_LINE,
                   .kind = l->kind,
                   .a_len = (uint16_t)l->room_len,
                   .b_len = (uint16_t)l->who_len,
                   .c_len = (uint32_t)l->text_len,
                   .id = l->id,
                   .time = l->time};
    enqueue(of(st), h, l->room, l->who, l->text);
}

static void sqlite_put_account(struct store *st, const struct store_account *a)
{
    size_t key_len = strlen(a->key), name_len = strlen(a->name), hash_len = strlen(a->hash);
    if (key_len > UINT16_MAX || name_len > UINT16_MAX) {
        return; /* no pseudo is that long */
    }
    struct op h = {.op = OP_ACCOUNT_PUT,
                   .a_len = (uint16_t)key_len,
                   .b_len = (uint16_t)name_len,
                   .c_len = (uint32_t)hash_len,
                   .time = a->created};
    enqueue(of(st), h, a->key, a->name, a->hash);
}

static void sqlite_delete_account(struct store *st, const char *key)
{
    size_t key_len = strlen(key);
    if (key_len > UINT16_MAX) {
        return;
    }
    struct op h = {.op = OP_ACCOUNT_DELETE, .a_len = (uint16_t)key_len};
    enqueue(of(st), h, key, "", "");
}

static int sqlite_load_accounts(struct store *st, store_account_fn fn, void *ctx)
{
    struct store_sqlite *s = of(st);
    sqlite3 *db = s->writer_conn.db;
    sqlite3_stmt *q;
    pthread_mutex_lock(&s->db_lock);
    int rc = sqlite3_prepare_v2(db, "SELECT key, name, hash, created FROM accounts", -1, &q, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_account a = {.key = (const char *)sqlite3_column_text(q, 0),
                                  .name = (const char *)sqlite3_column_text(q, 1),
                                  .hash = (const char *)sqlite3_column_text(q, 2),
                                  .created = sqlite3_column_int64(q, 3)};
        if (a.key && a.name && a.hash) {
            fn(&a, ctx);
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->db_lock);
    if (rc != SQLITE_DONE) {
        log_error("base de données %s : lecture des comptes impossible : %s", s->path,
                  sqlite3_errmsg(db));
        return -EIO;
    }
    return 0;
}

/* A room's founder, topic, operators and bans as one run of NUL-terminated strings: the
 * third string of its OP_ROOM_PUT. */
static void room_blob(const struct store_room *r, struct buf *blob)
{
    buf_append(blob, r->founder, strlen(r->founder) + 1);
    buf_append(blob, r->topic, strlen(r->topic) + 1);
    for (size_t i = 0; i < r->n_operators; i++) {
        buf_append(blob, r->operators[i], strlen(r->operators[i]) + 1);
    }
    for (size_t i = 0; i < r->n_bans; i++) {
        const struct store_ban *b = &r->bans[i];
        buf_append(blob, b->key, strlen(b->key) + 1);
        buf_append(blob, b->name, strlen(b->name) + 1);
        buf_append(blob, b->host, strlen(b->host) + 1);
    }
}

static void sqlite_put_room(struct store *st, const struct store_room *r)
{
    size_t key_len = strlen(r->key), name_len = strlen(r->name);
    if (key_len > UINT16_MAX || name_len > UINT16_MAX || r->n_operators > UINT32_MAX ||
        r->n_bans > UINT32_MAX) {
        return; /* no room name is that long; the lists are bounded far below */
    }
    struct buf blob = BUF_INIT;
    room_blob(r, &blob);
    struct op h = {.op = OP_ROOM_PUT,
                   .kind = r->invite_only,
                   .a_len = (uint16_t)key_len,
                   .b_len = (uint16_t)name_len,
                   .c_len = (uint32_t)blob.len,
                   .id = (uint64_t)r->n_operators << 32 | r->n_bans,
                   .time = r->created};
    enqueue(of(st), h, r->key, r->name, blob.data);
    buf_release(&blob);
}

static void sqlite_delete_room(struct store *st, const char *key)
{
    size_t key_len = strlen(key);
    if (key_len > UINT16_MAX) {
        return;
    }
    struct op h = {.op = OP_ROOM_DELETE, .a_len = (uint16_t)key_len};
    enqueue(of(st), h, key, "", "");
}

/* What load_rooms() gathers of one room before handing it over. */
struct room_lists {
    const char **operators; /* owned array; the strings are SQLite's, valid until the next step */
    struct store_ban *bans; /* owned array, likewise */
    size_t n_operators, n_bans, operators_cap, bans_cap;
    char **copies; /* owned: the strings copied out of the statements */
    size_t n_copies, copies_cap;
};

static const char *keep(struct room_lists *l, sqlite3_stmt *q, int col)
{
    const char *t = (const char *)sqlite3_column_text(q, col);
    if (l->n_copies == l->copies_cap) {
        l->copies = xgrow(l->copies, &l->copies_cap, l->n_copies + 1, sizeof(*l->copies), 16);
    }
    return l->copies[l->n_copies++] = xstrdup(t ? t : "");
}

static void lists_clear(struct room_lists *l)
{
    for (size_t i = 0; i < l->n_copies; i++) {
        free(l->copies[i]);
    }
    l->n_copies = l->n_operators = l->n_bans = 0;
}

static void lists_release(struct room_lists *l)
{
    lists_clear(l);
    free(l->copies);
    free(l->operators);
    free(l->bans);
}

/* Reads room key's operators and bans into l. Returns SQLITE_DONE or an error. */
static int read_lists(sqlite3_stmt *ops, sqlite3_stmt *bans, const char *key, struct room_lists *l)
{
    sqlite3_bind_text(ops, 1, key, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(ops)) == SQLITE_ROW) {
        if (l->n_operators == l->operators_cap) {
            l->operators = xgrow(l->operators, &l->operators_cap, l->n_operators + 1,
                                 sizeof(*l->operators), 8);
        }
        l->operators[l->n_operators++] = keep(l, ops, 0);
    }
    sqlite3_reset(ops);
    if (rc != SQLITE_DONE) {
        return rc;
    }
    sqlite3_bind_text(bans, 1, key, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(bans)) == SQLITE_ROW) {
        if (l->n_bans == l->bans_cap) {
            l->bans = xgrow(l->bans, &l->bans_cap, l->n_bans + 1, sizeof(*l->bans), 8);
        }
        l->bans[l->n_bans++] =
            (struct store_ban){keep(l, bans, 0), keep(l, bans, 1), keep(l, bans, 2)};
    }
    sqlite3_reset(bans);
    return rc;
}

static int sqlite_load_rooms(struct store *st, store_room_fn fn, void *ctx)
{
    struct store_sqlite *s = of(st);
    sqlite3 *db = s->writer_conn.db;
    sqlite3_stmt *q = NULL, *ops = NULL, *bans = NULL;
    struct room_lists l = {0};
    pthread_mutex_lock(&s->db_lock);
    int rc =
        prepare(db, "SELECT key, name, founder, topic, invite_only, created FROM owned_rooms", &q);
    if (rc == SQLITE_OK) {
        rc = prepare(db, "SELECT account FROM room_operators WHERE room = ?1 ORDER BY account",
                     &ops);
    }
    if (rc == SQLITE_OK) {
        rc = prepare(db, "SELECT key, name, host FROM room_bans WHERE room = ?1 ORDER BY key",
                     &bans);
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        lists_clear(&l);
        struct store_room r = {.key = keep(&l, q, 0),
                               .name = keep(&l, q, 1),
                               .founder = keep(&l, q, 2),
                               .topic = keep(&l, q, 3),
                               .invite_only = sqlite3_column_int(q, 4) != 0,
                               .created = sqlite3_column_int64(q, 5)};
        rc = read_lists(ops, bans, r.key, &l);
        if (rc == SQLITE_DONE) {
            r.operators = l.operators;
            r.n_operators = l.n_operators;
            r.bans = l.bans;
            r.n_bans = l.n_bans;
            fn(&r, ctx);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(q);
    sqlite3_finalize(ops);
    sqlite3_finalize(bans);
    lists_release(&l);
    pthread_mutex_unlock(&s->db_lock);
    if (rc != SQLITE_DONE) {
        log_error("base de données %s : lecture des salons impossible : %s", s->path,
                  sqlite3_errmsg(db));
        return -EIO;
    }
    return 0;
}

/* ---------------------------------------------------------------- reads */

/* A read-only connection for a reader: the pool's, a new one, or, for ":memory:", the one
 * connection, under db_lock until given back. NULL if none can be opened. */
static struct conn *conn_take(struct store_sqlite *s)
{
    if (s->memory) {
        pthread_mutex_lock(&s->db_lock);
        if (!s->writer_conn.before && conn_prepare_reads(&s->writer_conn) != SQLITE_OK) {
            pthread_mutex_unlock(&s->db_lock);
            return NULL;
        }
        return &s->writer_conn;
    }
    pthread_mutex_lock(&s->pool_lock);
    struct conn *c = s->pool;
    if (c) {
        s->pool = c->next;
    }
    pthread_mutex_unlock(&s->pool_lock);
    if (c) {
        return c;
    }
    c = xcalloc(1, sizeof(*c));
    int rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        settle(c->db);
        rc = conn_prepare_reads(c);
    }
    if (rc != SQLITE_OK) {
        log_warn("base de données %s : lecture impossible : %s", s->path,
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        conn_close(c);
        free(c);
        return NULL;
    }
    return c;
}

static void conn_give(struct store_sqlite *s, struct conn *c)
{
    if (s->memory) {
        pthread_mutex_unlock(&s->db_lock);
        return;
    }
    pthread_mutex_lock(&s->pool_lock);
    c->next = s->pool;
    s->pool = c;
    pthread_mutex_unlock(&s->pool_lock);
}

/* A read on its way through the thread pool. */
struct read_req {
    uv_work_t work;
    struct store_sqlite *s;
    bool search;
    bool ranged; /* lines_range's, with range */
    struct store_range range;
    struct buf room_key;
    struct buf words; /* search: the FTS5 query */
    uint64_t before;
    unsigned n;
    store_lines_cb cb;
    void *arg;
    uint64_t after; /* the writes queued before it, which it waits for */
    /* The answer. */
    int status;
    struct store_line *lines; /* owned; their strings point into text */
    size_t n_lines;
    struct buf text;
};

/* Appends the rows of st (id, time, kind, room, who, text) to r's lines, oldest first
 * (newest_first: the rows come newest first). Until place_strings(), each line's room holds
 * the offset of its strings in r->text, which may still move: an offset travels with its
 * line when the rows are turned round. */
static int collect(struct read_req *r, sqlite3_stmt *st, bool newest_first)
{
    size_t cap = r->n_lines, start = r->n_lines;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->n_lines == cap) {
            r->lines = xgrow(r->lines, &cap, r->n_lines + 1, sizeof(*r->lines), 16);
        }
        struct store_line *l = &r->lines[r->n_lines++];
        const char *kind = (const char *)sqlite3_column_text(st, 2);
        *l = (struct store_line){
            .id = (uint64_t)sqlite3_column_int64(st, 0),
            .time = sqlite3_column_int64(st, 1),
            .kind = kind && kind[0] == '&' ? EVENT_ACTION : EVENT_CHAT,
            .room = (const char *)(uintptr_t)r->text.len,
            .room_len = (size_t)sqlite3_column_bytes(st, 3),
            .who_len = (size_t)sqlite3_column_bytes(st, 4),
            .text_len = (size_t)sqlite3_column_bytes(st, 5),
        };
        buf_append(&r->text, sqlite3_column_text(st, 3), l->room_len);
        buf_append(&r->text, sqlite3_column_text(st, 4), l->who_len);
        buf_append(&r->text, sqlite3_column_text(st, 5), l->text_len);
    }
    sqlite3_reset(st);
    size_t got = r->n_lines - start;
    for (size_t i = 0; newest_first && i < got / 2; i++) {
        struct store_line t = r->lines[start + i];
        r->lines[start + i] = r->lines[r->n_lines - 1 - i];
        r->lines[r->n_lines - 1 - i] = t;
    }
    return rc == SQLITE_DONE ? 0 : -EIO;
}

/* The strings' addresses, once the text has stopped moving. */
static void place_strings(struct read_req *r)
{
    for (size_t i = 0; i < r->n_lines; i++) {
        struct store_line *l = &r->lines[i];
        l->room = r->text.data + (uintptr_t)l->room;
        l->who = l->room + l->room_len;
        l->text = l->who + l->who_len;
    }
}

/* Binds a range read's statement: room, bounds, how many. */
static void bind_range(struct read_req *r, sqlite3_stmt *st, uint64_t after, uint64_t before,
                       int64_t since, int64_t until, unsigned n)
{
    bind_text(st, 1, r->room_key.data, r->room_key.len);
    sqlite3_bind_int64(st, 2, after > INT64_MAX ? INT64_MAX : (sqlite3_int64)after);
    sqlite3_bind_int64(st, 3, before > INT64_MAX ? INT64_MAX : (sqlite3_int64)before);
    sqlite3_bind_int(st, 4, (int)n);
    sqlite3_bind_int64(st, 5, since);
    sqlite3_bind_int64(st, 6, until);
    sqlite3_bind_int64(st, 7, oldest_kept(r->s));
}

/* lines_range's reads, on c: one statement, or two around a pivot. */
static int read_range(struct read_req *r, struct conn *c)
{
    const struct store_range *g = &r->range;
    int rc;
    switch (g->pick) {
    case STORE_NEWEST:
    case STORE_OLDEST: {
        sqlite3_stmt *st = g->pick == STORE_NEWEST ? c->range_newest : c->range_oldest;
        bind_range(r, st, g->after, g->before, g->since, g->until, g->n);
        rc = collect(r, st, g->pick == STORE_NEWEST);
        sqlite3_clear_bindings(st);
        return rc;
    }
    case STORE_AROUND:
        bind_range(r, c->range_newest, 0, g->before, INT64_MIN, g->until, g->n - g->n / 2);
        rc = collect(r, c->range_newest, true);
        sqlite3_clear_bindings(c->range_newest);
        if (rc == 0 && r->n_lines < g->n) {
            bind_range(r, c->range_oldest, g->after, UINT64_MAX, g->since, INT64_MAX,
                       g->n - (unsigned)r->n_lines);
            rc = collect(r, c->range_oldest, false);
            sqlite3_clear_bindings(c->range_oldest);
        }
        return rc;
    }
    return -EINVAL;
}

/* Waits, on the thread pool, until the writes queued before r are applied, so that a
 * line said just before /search is found: READ_AFTER_WRITES_MS at most. */
static void wait_writes(struct read_req *r)
{
    struct store_sqlite *s = r->s;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += READ_AFTER_WRITES_MS / 1000;
    until.tv_nsec += (READ_AFTER_WRITES_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (s->done_n < r->after &&
           pthread_cond_timedwait(&s->written, &s->lock, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&s->lock);
}

static void read_work(uv_work_t *w)
{
    struct read_req *r = w->data;
    wait_writes(r);
    struct conn *c = conn_take(r->s);
    if (!c) {
        r->status = -EIO;
        return;
    }
    if (r->ranged) {
        r->status = read_range(r, c);
    } else {
        sqlite3_stmt *st = r->search ? c->search : c->before;
        if (r->search) {
            bind_text(st, 1, r->words.data, r->words.len);
            bind_text(st, 2, r->room_key.data, r->room_key.len);
        } else {
            bind_text(st, 1, r->room_key.data, r->room_key.len);
            sqlite3_bind_int64(st, 2, r->before > INT64_MAX ? INT64_MAX : (sqlite3_int64)r->before);
        }
        sqlite3_bind_int(st, 3, (int)r->n);
        sqlite3_bind_int64(st, 4, oldest_kept(r->s));
        r->status = collect(r, st, true);
        sqlite3_clear_bindings(st);
    }
    place_strings(r);
    if (r->status < 0) {
        log_warn("base de données %s : lecture impossible : %s", r->s->path, sqlite3_errmsg(c->db));
        r->n_lines = 0;
    }
    conn_give(r->s, c);
}

static void read_done(uv_work_t *w, int status)
{
    struct read_req *r = w->data;
    if (status < 0) { /* cancelled: never, but say so rather than read garbage */
        r->status = status;
        r->n_lines = 0;
    }
    r->cb(r->arg, r->status, r->status < 0 ? NULL : r->lines, r->n_lines);
    buf_release(&r->room_key);
    buf_release(&r->words);
    buf_release(&r->text);
    free(r->lines);
    free(r);
}

static int queue_read(struct read_req *r, uv_loop_t *loop)
{
    r->work.data = r;
    pthread_mutex_lock(&r->s->lock);
    r->after = r->s->queued_n;
    pthread_mutex_unlock(&r->s->lock);
    int rc = uv_queue_work(loop, &r->work, read_work, read_done);
    if (rc < 0) {
        buf_release(&r->room_key);
        buf_release(&r->words);
        free(r);
    }
    return rc;
}

static int sqlite_lines_before(struct store *st, uv_loop_t *loop, const char *room, size_t room_len,
                               uint64_t before, unsigned n, store_lines_cb cb, void *arg)
{
    struct read_req *r = xcalloc(1, sizeof(*r));
    *r = (struct read_req){.s = of(st), .before = before, .n = n, .cb = cb, .arg = arg};
    pseudo_fold(room, room_len, &r->room_key);
    return queue_read(r, loop);
}

static int sqlite_lines_range(struct store *st, uv_loop_t *loop, const char *room, size_t room_len,
                              const struct store_range *range, store_lines_cb cb, void *arg)
{
    struct read_req *r = xcalloc(1, sizeof(*r));
    *r = (struct read_req){.s = of(st), .ranged = true, .range = *range, .cb = cb, .arg = arg};
    pseudo_fold(room, room_len, &r->room_key);
    return queue_read(r, loop);
}

/* An FTS5 query that asks for every word of words, each as a string: no word is read as
 * an operator, a column or a prefix, whatever it holds. Returns false if there is none. */
static bool words_query(const char *words, size_t len, struct buf *q)
{
    size_t i = 0;
    bool any = false;
    while (i < len) {
        while (i < len && (words[i] == ' ' || words[i] == '\t')) {
            i++;
        }
        size_t start = i;
        while (i < len && words[i] != ' ' && words[i] != '\t') {
            i++;
        }
        if (i == start) {
            break;
        }
        if (any) {
            buf_append_char(q, ' ');
        }
        buf_append_char(q, '"');
        for (size_t j = start; j < i; j++) {
            if (words[j] == '"') {
                buf_append_char(q, '"');
            }
            buf_append_char(q, words[j]);
        }
        buf_append_char(q, '"');
        any = true;
    }
    return any;
}

static int sqlite_search(struct store *st, uv_loop_t *loop, const char *room, size_t room_len,
                         const char *words, size_t words_len, unsigned n, store_lines_cb cb,
                         void *arg)
{
    struct read_req *r = xcalloc(1, sizeof(*r));
    *r = (struct read_req){.s = of(st), .search = true, .n = n, .cb = cb, .arg = arg};
    if (!words_query(words, words_len, &r->words)) {
        buf_release(&r->words);
        free(r);
        return -EINVAL;
    }
    pseudo_fold(room, room_len, &r->room_key);
    return queue_read(r, loop);
}

/* ---------------------------------------------------------------- start and stop */

static uint64_t sqlite_last_id(struct store *st)
{
    return of(st)->last_id;
}

static int sqlite_load_recent(struct store *st, unsigned max_rooms, unsigned per_room,
                              store_line_fn fn, void *ctx)
{
    struct store_sqlite *s = of(st);
    sqlite3 *db = s->writer_conn.db;
    sqlite3_stmt *rooms = NULL;
    pthread_mutex_lock(&s->db_lock);
    /* A look-up of the index per room, not a scan of every line. */
    int rc = sqlite3_prepare_v2(db,
                                "SELECT key FROM (SELECT key, (SELECT max(id) FROM lines"
                                " WHERE room = rooms.id) AS last FROM rooms)"
                                " WHERE last IS NOT NULL ORDER BY last DESC LIMIT ?1",
                                -1, &rooms, NULL);
    if (rc != SQLITE_OK ||
        (!s->writer_conn.before && conn_prepare_reads(&s->writer_conn) != SQLITE_OK)) {
        log_error("base de données %s : lecture impossible : %s", s->path, sqlite3_errmsg(db));
        sqlite3_finalize(rooms);
        pthread_mutex_unlock(&s->db_lock);
        return -EIO;
    }
    sqlite3_bind_int64(rooms, 1, max_rooms);
    int status = 0;
    while (status == 0 && (rc = sqlite3_step(rooms)) == SQLITE_ROW) {
        struct read_req r = {.n = per_room};
        const char *key = (const char *)sqlite3_column_text(rooms, 0);
        sqlite3_stmt *lines = s->writer_conn.before;
        bind_text(lines, 1, key, (size_t)sqlite3_column_bytes(rooms, 0));
        sqlite3_bind_int64(lines, 2, INT64_MAX);
        sqlite3_bind_int(lines, 3, (int)per_room);
        sqlite3_bind_int64(lines, 4, oldest_kept(s));
        status = collect(&r, lines, true);
        place_strings(&r);
        for (size_t i = 0; i < r.n_lines; i++) {
            fn(&r.lines[i], ctx);
        }
        buf_release(&r.text);
        free(r.lines);
    }
    if (status == 0 && rc != SQLITE_DONE) {
        status = -EIO;
    }
    if (status < 0) {
        log_error("base de données %s : lecture impossible : %s", s->path, sqlite3_errmsg(db));
    }
    sqlite3_finalize(rooms);
    pthread_mutex_unlock(&s->db_lock);
    return status;
}

static void sqlite_close(struct store *st)
{
    struct store_sqlite *s = of(st);
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->writer, NULL);
    while (s->pool) {
        struct conn *c = s->pool;
        s->pool = c->next;
        conn_close(c);
        free(c);
    }
    finalize_writer(s);
    if (!s->memory) {
        /* The last connection out folds the WAL back into the database. */
        sqlite3_wal_checkpoint_v2(s->writer_conn.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    }
    conn_close(&s->writer_conn);
    buf_release(&s->queue);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->written);
    pthread_mutex_destroy(&s->db_lock);
    pthread_mutex_destroy(&s->pool_lock);
    free(s->path);
    free(s);
}

static const struct store_ops sqlite_ops = {
    .last_id = sqlite_last_id,
    .load_recent = sqlite_load_recent,
    .append_line = sqlite_append_line,
    .lines_before = sqlite_lines_before,
    .lines_range = sqlite_lines_range,
    .search = sqlite_search,
    .load_accounts = sqlite_load_accounts,
    .put_account = sqlite_put_account,
    .delete_account = sqlite_delete_account,
    .load_rooms = sqlite_load_rooms,
    .put_room = sqlite_put_room,
    .delete_room = sqlite_delete_room,
    .close = sqlite_close,
};

/* Opens the database and brings it to the current schema; the writer is not started. */
static int open_db(struct store_sqlite *s, struct buf *err)
{
    if (!s->memory) {
        int r = make_parents(s->path);
        if (r == 0) {
            r = create_private(s->path);
        }
        if (r < 0) {
            return fail(err, s->path, open_strerror(r));
        }
    }
    sqlite3 **db = &s->writer_conn.db;
    int rc = sqlite3_open_v2(
        s->path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        return *db ? fail_db(err, s->path, *db, "ouverture impossible")
                   : fail(err, s->path, sqlite3_errstr(rc));
    }
    settle(*db);
    int version = 0;
    if (read_version(s, &version, err) < 0) {
        return -1;
    }
    if (!s->memory) {
        sqlite3_stmt *st;
        rc = sqlite3_prepare_v2(*db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        bool wal = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
                   strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
        sqlite3_finalize(st);
        if (!wal) {
            return fail_db(err, s->path, *db, "mode WAL impossible");
        }
    }
    /* In WAL mode, NORMAL syncs at checkpoints only: a commit survives the process's death
     * (kill -9), and only a power loss may take the last ones back. */
    if (sqlite3_exec(*db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        return fail_db(err, s->path, *db, "réglage impossible");
    }
    if (upgrade(s, version, err) < 0) {
        return -1;
    }
    if (prepare_writer(s) != SQLITE_OK || read_last_id(s) != SQLITE_OK) {
        return fail_db(err, s->path, *db, "lecture impossible");
    }
    return 0;
}

int store_sqlite_open(const char *path, unsigned history_days, struct store **out, struct buf *err)
{
    if (sqlite3_threadsafe() == 0) {
        return fail(err, path, "cette SQLite a été compilée sans fils d'exécution");
    }
    struct store_sqlite *s = xcalloc(1, sizeof(*s));
    s->base.ops = &sqlite_ops;
    s->path = xstrdup(path);
    s->memory = strcmp(path, ":memory:") == 0;
    s->history_days = history_days;
    s->next_prune = time(NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->db_lock, NULL);
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_REALTIME);
    pthread_cond_init(&s->wake, &ca);
    pthread_cond_init(&s->written, &ca);
    pthread_condattr_destroy(&ca);
    if (open_db(s, err) < 0) {
        finalize_writer(s);
        conn_close(&s->writer_conn);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->wake);
        pthread_cond_destroy(&s->written);
        pthread_mutex_destroy(&s->db_lock);
        pthread_mutex_destroy(&s->pool_lock);
        free(s->path);
        free(s);
        return -1;
    }
    int r = pthread_create(&s->writer, NULL, writer_main, s);
    if (r != 0) {
        fail(err, path, "impossible de démarrer le fil d'écriture");
        s->stopping = true;
        finalize_writer(s);
        conn_close(&s->writer_conn);
        free(s->path);
        free(s);
        return -1;
    }
    *out = &s->base;
    return 0;
}
