/* history_file.h - the history file (--history-file): kept chat lines on disk.
 *
 * The rooms keep their last lines in memory; with --history-file the server also hands
 * every kept line to this module, which appends it to an append-only text file, one
 * checksummed record per line (history_record.h), and reads the file back at start so
 * history survives a restart. A writer thread does all the appending, so loop threads
 * never wait on the disk. The format is in docs/ARCHITECTURE.md, "The history file".
 */
#ifndef CAUSERIE_HISTORY_FILE_H
#define CAUSERIE_HISTORY_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "history_record.h"

/* Bytes of records waiting for the writer thread. Past it appends are dropped and counted
 * rather than making the loop threads wait for a slow or stuck disk: 4 MiB is several
 * seconds of the busiest chat, and a disk that far behind is failing anyway. The drops are
 * logged by the writer thread, once per second at most. */
#define HISTORY_FILE_QUEUE_MAX (4 * 1024 * 1024)

/* An open history file and its writer thread. Opaque. open, rewrite and close are for
 * one thread (the main thread, at start and at shutdown); append for any. */
struct history_file;

/* Opens PATH, creating it (mode 0600) if needed, reads every record in it through the
 * callbacks (on the calling thread, before returning; bounded memory whatever the size),
 * then starts the writer thread. Damage is reported and skipped, never fatal. Returns 0
 * and *out; or a negative errno (unreadable path, a directory, a read error...) with a
 * French sentence appended to err, and nothing left open. */
int history_file_open(const char *path, history_record_cb on_record,
                      history_record_damage_cb on_damage, void *ctx, struct history_file **out,
                      struct buf *err);

/* Compaction: replaces the file's contents with recs[0..n), in that order. Writes
 * PATH.tmp, fsyncs it, renames it over PATH and fsyncs the directory, so a crash leaves
 * either the old file or the new one; appends then go to the new file. Meant to be called
 * once at start, before any append: records appended meanwhile are not lost but follow
 * recs in the new file. Returns 0, or a negative errno with a French sentence in err and
 * the old file still in use (-EINVAL if a record is not valid: nothing is written). */
int history_file_rewrite(struct history_file *f, const struct history_record *recs, size_t n,
                         struct buf *err);

/* Queues r (copied) for the writer thread: O(bytes) under a mutex, no system call, never
 * waits for the disk; any thread. Returns 0; -EINVAL if r is not valid (nothing queued);
 * -ENOBUFS if HISTORY_FILE_QUEUE_MAX bytes are already waiting: r is dropped, counted and
 * later logged. Write errors are the writer's: logged in French once, and once again on
 * recovery; the records they lose are counted in that second line. */
int history_file_append(struct history_file *f, const struct history_record *r);

/* Writes everything queued, fsyncs, stops the writer thread, closes and frees f. No
 * append may run or follow. Errors are logged. */
void history_file_close(struct history_file *f);

#endif
