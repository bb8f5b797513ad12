/* log.c - timestamped, levelled logging; see log.h for the format of each entry.
 *
 * Linked into both programs, used by the server's main thread and every loop thread. Each
 * entry is built in a LOG_LINE_MAX buffer on the caller's stack and leaves in one write(2):
 * no lock and no stdio buffer, and entries stay whole even on a pipe, since 1024 bytes is
 * under PIPE_BUF (4096 on Linux). An entry too long for the buffer is cut, never split
 * across two writes. localtime_r() rather than localtime(), whose shared result another
 * thread could overwrite; errno is preserved for a caller about to report it.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* An entry longer than this is cut: log lines hold a pseudo and a short reason at most. */
#define LOG_LINE_MAX 1024

__attribute__((format(printf, 3, 0))) static void vlog(int fd, const char *level, const char *fmt,
                                                       va_list ap)
{
    char line[LOG_LINE_MAX];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    localtime_r(&now.tv_sec, &tm);
    size_t n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S ", &tm);
    if (level) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s : ", level);
    }
    int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (m < 0) {
        return;
    }
    n += (size_t)m;
    if (n > sizeof(line) - 2) {
        n = sizeof(line) - 2;
    }
    line[n++] = '\n';

    int saved = errno; /* logging must not disturb a caller about to report errno */
    ssize_t w;
    do {
        w = write(fd, line, n);
    } while (w < 0 && errno == EINTR);
    errno = saved;
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(STDOUT_FILENO, NULL, fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(STDERR_FILENO, "attention", fmt, ap);
    va_end(ap);
}

bool log_limit_allow(struct log_limit *l, uint64_t now_ms, size_t *skipped)
{
    uint64_t second = now_ms / 1000;
    if (second != l->second) {
        l->second = second;
        l->logged = 0;
    }
    if (l->logged >= LOG_LIMIT_PER_SECOND) {
        l->skipped++;
        return false;
    }
    l->logged++;
    *skipped = l->skipped;
    l->skipped = 0;
    return true;
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(STDERR_FILENO, "erreur", fmt, ap);
    va_end(ap);
}
