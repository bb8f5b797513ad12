/* history_file.c - the history file on disk: reading it back, the writer thread, compaction.
 *
 * See history_file.h for the contracts; records are built and parsed by history_record.c.
 * A struct history_file owns one descriptor opened O_APPEND and one writer thread:
 * history_file_append(), called by loop threads, only copies the encoded record into a
 * queue under the history lock; the writer swaps the whole queue out and writes it with
 * the lock released, as a loop drains its inbox. open, rewrite and close run on the main
 * thread, which does its own I/O only while the writer is paused or gone.
 */
#include "history_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fr.h"
#include "common/log.h"
#include "common/xalloc.h"

/* Read size for history_file_open(): the memory the reader costs beside its partial line. */
#define READ_CHUNK (64 * 1024)
/* Records are written to PATH.tmp by the rewrite in pieces of about this size. */
#define REWRITE_CHUNK (64 * 1024)
/* A writer's spare buffer larger than this is freed after use rather than kept. */
#define KEEP_BATCH_MAX (256 * 1024)
/* Drops of appended records are logged at most this often. */
#define DROP_REPORT_MS 1000

/* ------------------------------------------------------------------------------------- */
/* The file and its writer thread. */

struct history_file {
    char *path;       /* owned */
    int fd;           /* O_APPEND; the writer's, or the main thread's while the writer is
                         paused or gone */
    pthread_t writer; /* joined by history_file_close() */

    /* The history lock guards everything down to the next comment. It is held to copy a
     * record in or to swap the queue out, never across I/O. */
    pthread_mutex_t lock;
    pthread_cond_t wake;     /* for the writer: a batch to write, a pause lifted, a stop */
    pthread_cond_t idle;     /* for the main thread: the writer finished its batch */
    struct buf queue;        /* encoded records, at most HISTORY_FILE_QUEUE_MAX bytes */
    size_t queued;           /* records in queue */
    size_t drops_unlogged;   /* of those, not yet said in the log */
    uint64_t drop_logged_ms; /* when drops were last logged (CLOCK_MONOTONIC) */
    bool busy;               /* the writer is writing a batch, lock released */
    bool paused;             /* the main thread uses fd: no new batch may start */
    bool stopping;           /* write what is queued, then exit */

    /* The writer's own, or the main thread's while the writer is paused or gone. */
    bool need_newline; /* the file ends mid-line: a '\n' goes before the next record */
    bool failing;      /* the last write failed, which was logged */
    size_t lost;       /* records lost to write errors since failing began */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* French for the errors a file can meet; fr_strerror() speaks of sockets. */
static const char *file_strerror(int err)
{
    switch (-err) {
    case ENOENT:
        return "fichier ou dossier introuvable";
    case EACCES:
    case EPERM:
        return "permission refusée";
    case EISDIR:
        return "c'est un dossier";
    case ENOTDIR:
        return "un élément du chemin n'est pas un dossier";
    case ENOSPC:
        return "plus de place sur le disque";
    case EDQUOT:
        return "quota de disque dépassé";
    case EROFS:
        return "système de fichiers en lecture seule";
    case EIO:
        return "erreur d'entrée-sortie";
    case EFBIG:
        return "fichier trop grand";
    case ENAMETOOLONG:
        return "chemin trop long";
    case ELOOP:
        return "trop de liens symboliques";
    default:
        return fr_strerror(err);
    }
}

/* Writes data[0..len) whole, looping over short writes. Returns 0, or a negative errno
 * with *done the bytes written before it. */
static int write_full(int fd, const char *data, size_t len, size_t *done)
{
    *done = 0;
    while (*done < len) {
        ssize_t w = write(fd, data + *done, len - *done);
        if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0) {
            return -errno;
        } else if (w == 0) {
            return -EIO; /* not done by regular files; never loop on it */
        }
        *done += (size_t)w;
    }
    return 0;
}

static size_t count_lines(const char *s, size_t len)
{
    size_t lines = 0;
    for (const char *nl; (nl = memchr(s, '\n', len)) != NULL; lines++) {
        len -= (size_t)(nl + 1 - s);
        s = nl + 1;
    }
    return lines;
}

/* Writing a batch of records failed after done bytes. The records not written whole are
 * lost (the disk is full or failing: keeping them would only grow memory); a record cut
 * in the middle is ended by the next write's '\n', so it never swallows a good one. */
static void write_failed(struct history_file *f, int err, const struct buf *batch, size_t records,
                         size_t done)
{
    if (done > 0 && batch->data[done - 1] != '\n') {
        f->need_newline = true;
    }
    f->lost += records - count_lines(batch->data, done);
    if (!f->failing) {
        f->failing = true;
        log_error("historique : impossible d'écrire dans %s (%s) ; les messages ne sont plus "
                  "enregistrés dans le fichier.",
                  f->path, file_strerror(err));
    }
}

/* Writer thread, lock released: one write(2) for the whole batch, unless a newline must
 * end a cut record first or the system writes less than asked. */
static void write_batch(struct history_file *f, const struct buf *batch, size_t records)
{
    size_t done = 0;
    int r = 0;
    if (f->need_newline) {
        r = write_full(f->fd, "\n", 1, &done);
        f->need_newline = r < 0;
        done = 0;
    }
    if (r == 0) {
        r = write_full(f->fd, batch->data, batch->len, &done);
    }
    if (r < 0) {
        write_failed(f, r, batch, records, done);
        return;
    }
    if (f->failing) {
        f->failing = false;
        log_info("historique : l'écriture dans %s fonctionne de nouveau ; %zu messages n'y ont "
                 "pas été enregistrés.",
                 f->path, f->lost);
        f->lost = 0;
    }
}

/* Under the lock: the number of drops to log now, if any (all of them when final). */
static size_t take_drops(struct history_file *f, bool final)
{
    uint64_t now = now_ms();
    if (f->drops_unlogged == 0 || (!final && now < f->drop_logged_ms + DROP_REPORT_MS)) {
        return 0;
    }
    size_t n = f->drops_unlogged;
    f->drops_unlogged = 0;
    f->drop_logged_ms = now;
    return n;
}

/* Under the lock: waits for a batch to write, a stop, or drops due to be logged. */
static void wait_for_work(struct history_file *f)
{
    while (f->paused || (f->queue.len == 0 && !f->stopping)) {
        if (f->drops_unlogged == 0) {
            pthread_cond_wait(&f->wake, &f->lock);
            continue;
        }
        uint64_t due = f->drop_logged_ms + DROP_REPORT_MS;
        uint64_t now = now_ms();
        if (now >= due) {
            return;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (due - now) * 1000000;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&f->wake, &f->lock, &until);
    }
}

static void log_drops(const struct history_file *f, size_t n)
{
    log_warn("historique : file d'écriture pleine (%d Mio en attente), %zu messages n'ont pas "
             "été enregistrés dans %s.",
             HISTORY_FILE_QUEUE_MAX / (1024 * 1024), n, f->path);
}

/* The writer thread: takes the whole queue under the lock, writes it with the lock
 * released, and exits once stopping and the queue is empty. */
static void *writer_main(void *arg)
{
    struct history_file *f = arg;
    struct buf batch = BUF_INIT;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        wait_for_work(f);
        bool stop = f->stopping && f->queue.len == 0 && !f->paused;
        size_t records = 0;
        if (!f->paused && f->queue.len > 0) {
            struct buf swap = f->queue;
            f->queue = batch;
            batch = swap;
            records = f->queued;
            f->queued = 0;
            f->busy = true;
        }
        size_t drops = take_drops(f, stop);
        pthread_mutex_unlock(&f->lock);
        if (batch.len > 0) {
            write_batch(f, &batch, records);
        }
        if (drops > 0) {
            log_drops(f, drops);
        }
        if (stop) {
            break;
        }
        if (batch.alloc > KEEP_BATCH_MAX) {
            buf_release(&batch); /* a burst is over: do not keep its memory forever */
        }
        buf_reset(&batch);
        pthread_mutex_lock(&f->lock);
        f->busy = false;
        pthread_cond_broadcast(&f->idle);
    }
    buf_release(&batch);
    return NULL;
}

/* Main thread: once this returns, the writer touches neither fd nor its own fields until
 * writer_resume(). Appends keep queueing meanwhile. */
static void writer_pause(struct history_file *f)
{
    pthread_mutex_lock(&f->lock);
    f->paused = true;
    while (f->busy) {
        pthread_cond_wait(&f->idle, &f->lock);
    }
    pthread_mutex_unlock(&f->lock);
}

static void writer_resume(struct history_file *f)
{
    pthread_mutex_lock(&f->lock);
    f->paused = false;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

int history_file_append(struct history_file *f, const struct history_record *r)
{
    if (!history_record_valid(r, NULL)) {
        return -EINVAL;
    }
    char header[HISTORY_RECORD_HEADER_MAX + 1];
    size_t n = history_record_header(header, r); /* the checksum, outside the lock */
    int result = 0;
    pthread_mutex_lock(&f->lock);
    if (f->queue.len + n + r->line_len + 1 > HISTORY_FILE_QUEUE_MAX) {
        if (f->drops_unlogged++ == 0) {
            pthread_cond_signal(&f->wake); /* the writer may be waiting untimed */
        }
        result = -ENOBUFS;
    } else {
        if (f->queue.len == 0) {
            pthread_cond_signal(&f->wake); /* merged with any earlier: the writer drains all */
        }
        buf_append(&f->queue, header, n);
        buf_append(&f->queue, r->line, r->line_len);
        buf_append_char(&f->queue, '\n');
        f->queued++;
    }
    pthread_mutex_unlock(&f->lock);
    return result;
}

/* ------------------------------------------------------------------------------------- */
/* Open, rewrite, close: the main thread. */

/* Feeds the whole file to the reader, READ_CHUNK bytes at a time. Returns 0 and whether it
 * ends mid-line, or a negative errno. */
static int read_records(int fd, history_record_cb on_record, history_record_damage_cb on_damage,
                        void *ctx, bool *mid_line)
{
    struct history_record_reader reader;
    history_record_reader_init(&reader, on_record, on_damage, ctx);
    char *chunk = xmalloc(READ_CHUNK);
    int r = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, READ_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        } else if (n <= 0) {
            r = n < 0 ? -errno : 0;
            break;
        }
        history_record_reader_feed(&reader, chunk, (size_t)n);
    }
    if (r == 0) {
        *mid_line = history_record_reader_finish(&reader);
    }
    history_record_reader_release(&reader);
    free(chunk);
    return r;
}

static void free_file(struct history_file *f)
{
    pthread_cond_destroy(&f->idle);
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
    buf_release(&f->queue);
    free(f->path);
    free(f);
}

static struct history_file *new_file(const char *path, int fd, bool mid_line)
{
    struct history_file *f = xcalloc(1, sizeof(*f));
    f->path = xstrdup(path);
    f->fd = fd;
    f->need_newline = mid_line;
    buf_init(&f->queue);
    pthread_mutex_init(&f->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* drop reports ignore clock changes */
    pthread_cond_init(&f->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&f->idle, NULL);
    return f;
}

/* Starts the writer with every signal blocked: signals are the main thread's business,
 * whatever mask the caller has. Returns 0 or a negative errno. */
static int start_writer(struct history_file *f)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&f->writer, NULL, writer_main, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -r;
}

int history_file_open(const char *path, history_record_cb on_record,
                      history_record_damage_cb on_damage, void *ctx, struct history_file **out,
                      struct buf *err)
{
    *out = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        int r = -errno;
        buf_appendf(err, "impossible d'ouvrir le fichier d'historique %s : %s.", path,
                    file_strerror(r));
        return r;
    }
    struct stat st;
    int r = fstat(fd, &st) < 0 ? -errno : 0;
    if (r == 0 && !S_ISREG(st.st_mode)) {
        buf_appendf(err, "le fichier d'historique %s n'est pas un fichier ordinaire.", path);
        close(fd);
        return -EINVAL;
    }
    bool mid_line = false;
    if (r == 0) {
        r = read_records(fd, on_record, on_damage, ctx, &mid_line);
    }
    if (r < 0) {
        buf_appendf(err, "impossible de lire le fichier d'historique %s : %s.", path,
                    file_strerror(r));
        close(fd);
        return r;
    }
    struct history_file *f = new_file(path, fd, mid_line);
    r = start_writer(f);
    if (r < 0) {
        buf_appendf(err, "impossible de démarrer l'écriture du fichier d'historique %s : %s.", path,
                    file_strerror(r));
        free_file(f);
        close(fd);
        return r;
    }
    *out = f;
    return 0;
}

/* Writes recs[0..n) to a new file at tmp, fsynced, and returns its descriptor (opened
 * O_APPEND, ready to take appends once renamed), or a negative errno. */
static int write_tmp(const char *tmp, const struct history_record *recs, size_t n)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -errno;
    }
    struct buf chunk = BUF_INIT;
    size_t done;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        history_record_encode(&chunk, &recs[i]);
        if (chunk.len >= REWRITE_CHUNK || i + 1 == n) {
            r = write_full(fd, chunk.data, chunk.len, &done);
            buf_reset(&chunk);
        }
    }
    buf_release(&chunk);
    if (r == 0 && fsync(fd) < 0) {
        r = -errno;
    }
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

/* Makes a rename in path's directory durable. A failure is only logged: the rename is
 * done, the new file in use; a crash before the system writes the directory back could
 * bring the old file back, which is still a good file. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xmemdup0(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (fsync(fd) < 0 && errno != EINVAL)) {
        log_warn("historique : impossible de synchroniser le dossier %s (%s).", dir,
                 file_strerror(-errno));
    }
    if (fd >= 0) {
        close(fd);
    }
    free(dir);
}

static bool records_valid(const struct history_record *recs, size_t n, struct buf *err)
{
    const char *why;
    for (size_t i = 0; i < n; i++) {
        if (!history_record_valid(&recs[i], &why)) {
            buf_appendf(err, "le message %zu à réécrire dans l'historique est invalide (%s).",
                        i + 1, why);
            return false;
        }
    }
    return true;
}

int history_file_rewrite(struct history_file *f, const struct history_record *recs, size_t n,
                         struct buf *err)
{
    if (!records_valid(recs, n, err)) {
        return -EINVAL;
    }
    struct buf tmp = BUF_INIT;
    buf_appendf(&tmp, "%s.tmp", f->path);
    writer_pause(f);
    int fd = write_tmp(tmp.data, recs, n);
    int r = fd < 0 ? fd : 0;
    if (r < 0) {
        buf_appendf(err, "impossible d'écrire %s : %s.", tmp.data, file_strerror(r));
    } else if (rename(tmp.data, f->path) < 0) {
        r = -errno;
        buf_appendf(err, "impossible de renommer %s en %s : %s.", tmp.data, f->path,
                    file_strerror(r));
        close(fd);
    }
    if (r < 0) {
        unlink(tmp.data);
    } else {
        sync_dir(f->path);
        close(f->fd);
        f->fd = fd;
        f->need_newline = false;
    }
    writer_resume(f);
    buf_release(&tmp);
    return r;
}

void history_file_close(struct history_file *f)
{
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    f->paused = false;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->writer, NULL);
    /* EINVAL: a file that cannot be synced (not a disk file); nothing to do. */
    if (fsync(f->fd) < 0 && errno != EINVAL) {
        log_error("historique : impossible d'écrire %s sur le disque (%s).", f->path,
                  file_strerror(-errno));
    }
    close(f->fd);
    free_file(f);
}
