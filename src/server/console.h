/* console.h - the operator's console: commands typed on the server's standard input.
 *
 * After the address prompt the main thread has nothing to do but wait for a stop signal,
 * so it waits for the operator too: main.c polls descriptor 0 together with the signalfd
 * of the stop signals, and calls console_on_readable() when input is there. Each call
 * makes exactly one read(2), so a half-typed line or a pipe left open never delays a
 * signal, and shutdown is always the main thread's own decision: no reader thread blocked
 * in read() to cancel, no descriptor closed under it. Not libuv: uv_tty and uv_pipe set
 * O_NONBLOCK on a file description that a terminal shares with the shell, and epoll
 * refuses regular files, whereas poll() takes a terminal, a pipe, a file or /dev/null
 * alike. Not readline: log lines from the loop threads would tear its input line, and an
 * operator types a handful of short commands. Main thread only.
 */
#ifndef CAUSERIE_CONSOLE_H
#define CAUSERIE_CONSOLE_H

#include <stdbool.h>

#include "common/proto.h"

/* Longest operator line, in bytes: the same as a user's (DEFAULT_MAX_LINE), since /say
 * sends it on to every user. A longer line is refused whole. */
#define CONSOLE_LINE_MAX 4096

struct console {
    int fd;                     /* 0 while reading; -1 once stopped (end of input, error) */
    bool quit;                  /* the operator typed /quit */
    struct proto_framer framer; /* the unfinished line between reads */
};

/* Call first thing in main(), before any descriptor is opened. If descriptor 0 is closed,
 * opens /dev/null on it, so that no socket opened later becomes descriptor 0 and is read
 * as the operator's input. Returns whether descriptor 0 can be read: false if it was
 * closed or is open for writing only (nohup's /dev/null). */
bool console_check_stdin(void);

/* Starts the console on descriptor 0 if enabled (console_check_stdin()'s answer), stopped
 * otherwise. On a terminal it says which commands there are. */
void console_init(struct console *k, bool enabled);
void console_release(struct console *k);

/* The descriptor to wait on for console_on_readable(), or -1 if the console has stopped. */
int console_fd(const struct console *k);

/* Reads what the operator sent, with one read(2), and runs each complete line. At end of
 * input (a last line without '\n' is run first) or on a read error the console stops: the
 * server goes on without it. Stops running lines at /quit and sets k->quit. */
void console_on_readable(struct console *k);

#endif
