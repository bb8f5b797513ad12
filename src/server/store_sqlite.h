/* store_sqlite.h - the store (store.h) in an embedded SQLite database (--db).
 *
 * One database file, created mode 0600 in a directory made as needed, in WAL mode so that
 * readers never wait for the writer. The schema carries its version in PRAGMA
 * user_version and upgrades itself at open; a database from a newer causerie is refused,
 * never touched. A writer thread applies every write in batched transactions; reads run
 * on libuv's thread pool, each on a read-only connection of a small pool. ":memory:"
 * keeps everything in memory, on one connection that the writer and the readers take in
 * turn. The schema and the threads are described in docs/ARCHITECTURE.md, "The store".
 */
#ifndef CAUSERIE_STORE_SQLITE_H
#define CAUSERIE_STORE_SQLITE_H

#include "common/buf.h"
#include "store.h"

/* The schema this build writes; store_sqlite_open() upgrades older ones to it. */
#define STORE_SCHEMA_VERSION 3

/* Bytes of writes waiting for the writer thread. Past it a write is dropped and counted
 * rather than making the loops wait for a slow or stuck disk: 4 MiB is several seconds of
 * the busiest chat, and a disk that far behind is failing anyway. */
#define STORE_QUEUE_MAX (4 * 1024 * 1024)

/* Opens (creating if need be) the database at path, or an in-memory one for ":memory:",
 * brings its schema up to date and starts the writer thread, which also deletes, in the
 * background, lines older than history_days days (0: none is ever deleted). Main thread.
 * Returns 0 and *out; or -1 with a French sentence appended to err, and nothing open. */
int store_sqlite_open(const char *path, unsigned history_days, struct store **out, struct buf *err);

#endif
