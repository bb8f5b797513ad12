/* console.c - the operator's console; see console.h for why it reads the way it does.
 *
 * Main thread only. A line is framed by proto.c (bounded by CONSOLE_LINE_MAX), sanitised,
 * logged, split by common/command.c and run from the table below. What the operator
 * reads is French: answers on stdout, refusals on stderr, each written whole with one
 * write(2) so that log lines from the loop threads never land inside one.
 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/command.h"
#include "common/fr.h"
#include "common/log.h"
#include "common/sanitize.h"
#include "common/utf8.h"
#include "room.h"
#include "session.h"

/* Bytes taken from stdin per read(2): a typed line or a short burst from a pipe. */
#define CONSOLE_READ_SIZE 4096
/* Bytes of a line quoted in the log: enough to tell what was done, and under LOG_LINE_MAX
 * (log.c), which would otherwise cut it anywhere, in the middle of a character too. */
#define CONSOLE_LOG_QUOTE 200

#define COMMAND_LIST "/who, /rooms, /kick, /say, /quit"

/* ---------------------------------------------------------------- output */

static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return; /* nobody reads our output any more: nothing better to do */
        }
        data += w;
        len -= (size_t)w;
    }
}

/* Writes the buffer, ended with '\n' if it is not, in one write(2). */
static void put_text(int fd, struct buf *b)
{
    if (b->len > 0 && b->data[b->len - 1] != '\n') {
        buf_append_char(b, '\n');
    }
    write_all(fd, b->data, b->len);
}

__attribute__((format(printf, 2, 3))) static void put_line(int fd, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    put_text(fd, &b);
    buf_release(&b);
}

/* ---------------------------------------------------------------- commands */

struct console_command {
    const char *name; /* without the '/' */
    void (*run)(struct console *k, const char *args, size_t len);
};

static void cmd_quit(struct console *k, const char *args, size_t len)
{
    (void)args;
    (void)len;
    k->quit = true;
}

/* The next word of args, or false; a second word where none is expected is refused. */
static bool one_word(const char **args, size_t *len, const char **w, size_t *w_len)
{
    return command_next_word(args, len, w, w_len);
}

static void cmd_who(struct console *k, const char *args, size_t len)
{
    (void)k;
    const char *room = NULL, *extra;
    size_t room_len = 0, extra_len;
    if (one_word(&args, &len, &room, &room_len) && one_word(&args, &len, &extra, &extra_len)) {
        put_line(STDERR_FILENO, "Usage : /who [SALON]");
        return;
    }
    struct room_view v;
    int r = room_view_of(room, room_len, NULL, 0, &v);
    if (r == -EINVAL) {
        put_line(STDERR_FILENO, "Nom de salon invalide : 1 à 32 caractères visibles, sans espace.");
    } else if (r == -ENOENT) {
        int skip = room[0] == '#';
        put_line(STDERR_FILENO, "Salon inconnu : #%.*s.", (int)room_len - skip, room + skip);
    } else {
        if (v.count == 0) {
            put_line(STDOUT_FILENO, "#%s, 0 personne", v.name);
        } else {
            put_line(STDOUT_FILENO,
                     v.count > 1 ? "#%s, %u personnes : %s" : "#%s, %u personne : %s", v.name,
                     v.count, v.names);
        }
        room_view_release(&v);
    }
}

static void cmd_rooms(struct console *k, const char *args, size_t len)
{
    (void)k;
    (void)args;
    (void)len;
    size_t n;
    struct room_entry *rooms = room_list(&n);
    struct buf all = BUF_INIT;
    buf_appendf(&all, n > 1 ? "%zu salons :\n" : "%zu salon :\n", n);
    for (size_t i = 0; i < n; i++) {
        buf_appendf(&all, rooms[i].count > 1 ? "#%s : %u personnes" : "#%s : %u personne",
                    rooms[i].name, rooms[i].count);
        if (rooms[i].topic[0]) {
            buf_appendf(&all, " — %s", rooms[i].topic); /* as /rooms shows it */
        }
        buf_append_char(&all, '\n');
    }
    put_text(STDOUT_FILENO, &all); /* one write: log lines never land inside the list */
    buf_release(&all);
    room_list_free(rooms, n);
}

static void cmd_kick(struct console *k, const char *args, size_t len)
{
    (void)k;
    const char *pseudo;
    size_t pseudo_len;
    if (!command_next_word(&args, &len, &pseudo, &pseudo_len)) {
        put_line(STDERR_FILENO, "Usage : /kick PSEUDO [RAISON]");
        return;
    }
    struct buf reason = BUF_INIT;
    buf_append(&reason, args, len);
    if (session_kick(pseudo, pseudo_len, reason.data) < 0) {
        put_line(STDERR_FILENO, "Pseudo inconnu : %.*s", (int)pseudo_len, pseudo);
    } else {
        put_line(STDOUT_FILENO, "%.*s est expulsé.", (int)pseudo_len, pseudo);
    }
    buf_release(&reason);
}

static void cmd_say(struct console *k, const char *args, size_t len)
{
    (void)k;
    if (len == 0) {
        put_line(STDERR_FILENO, "Usage : /say TEXTE");
        return;
    }
    session_say(args, len);
}

static const struct console_command commands[] = {
    {"who", cmd_who}, {"rooms", cmd_rooms}, {"kick", cmd_kick},
    {"say", cmd_say}, {"quit", cmd_quit},
};

static void run_line(struct console *k, const char *line, size_t len)
{
    struct buf text = BUF_INIT;
    sanitize_append(&text, line, len);
    if (text.len == 0) {
        buf_release(&text);
        return; /* an empty line: nothing asked */
    }
    int q = (int)utf8_prefix(text.data, text.len, CONSOLE_LOG_QUOTE);
    log_info("Console : %.*s%s", q, text.data, (size_t)q < text.len ? "…" : "");

    struct command_line cmd;
    if (!command_split(text.data, text.len, &cmd)) {
        put_line(STDERR_FILENO, "Ce n'est pas une commande (commandes : " COMMAND_LIST
                                " ; pour écrire à tous : /say TEXTE)");
        buf_release(&text);
        return;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strlen(commands[i].name) == cmd.name_len &&
            memcmp(commands[i].name, cmd.name, cmd.name_len) == 0) {
            commands[i].run(k, cmd.args, cmd.args_len);
            buf_release(&text);
            return;
        }
    }
    put_line(STDERR_FILENO, "Commande inconnue : /%.*s (commandes : " COMMAND_LIST ")",
             (int)cmd.name_len, cmd.name);
    buf_release(&text);
}

/* ---------------------------------------------------------------- input */

bool console_check_stdin(void)
{
    int flags = fcntl(STDIN_FILENO, F_GETFL);
    if (flags < 0) {
        /* Closed: whatever opens next would become descriptor 0. /dev/null takes it, and
         * the address prompt, if any, reads end of input from it, as from a closed stdin. */
        int fd = open("/dev/null", O_RDONLY);
        if (fd > STDIN_FILENO) {
            close(fd); /* descriptor 0 was taken meanwhile: nothing to guard */
        }
        return false;
    }
    return (flags & O_ACCMODE) != O_WRONLY;
}

void console_init(struct console *k, bool enabled)
{
    *k = (struct console){.fd = enabled ? STDIN_FILENO : -1};
    proto_framer_init(&k->framer, CONSOLE_LINE_MAX);
    if (enabled && isatty(STDIN_FILENO)) {
        put_line(STDOUT_FILENO, "Console de l'opérateur : " COMMAND_LIST);
    }
}

void console_release(struct console *k)
{
    proto_framer_release(&k->framer);
    k->fd = -1;
}

int console_fd(const struct console *k)
{
    return k->fd;
}

/* Runs every complete line in in[0..len), until /quit. */
static void feed(struct console *k, const char *in, size_t len)
{
    while (!k->quit) {
        const char *line;
        size_t line_len;
        int r = proto_framer_next(&k->framer, &in, &len, &line, &line_len);
        if (r == -EAGAIN) {
            return;
        }
        if (r == -EMSGSIZE) {
            put_line(STDERR_FILENO,
                     "Ligne trop longue (%d octets au maximum) : elle a été ignorée.",
                     CONSOLE_LINE_MAX);
            continue;
        }
        run_line(k, line, line_len);
    }
}

/* End of input, or input that cannot be read: the console stops, the server does not. */
static void stop_reading(struct console *k, ssize_t n)
{
    if (n == 0 && proto_framer_mid_line(&k->framer)) {
        feed(k, "\n", 1); /* the last line had no '\n': it is a line all the same */
    }
    if (n < 0) {
        log_warn("console : lecture de l'entrée standard impossible (%s) ; la console "
                 "s'arrête, le serveur continue",
                 fr_strerror(-errno));
    } else if (isatty(k->fd)) {
        log_info("Console fermée (fin de l'entrée) : le serveur continue.");
    }
    k->fd = -1;
}

void console_on_readable(struct console *k)
{
    if (k->fd < 0) {
        return;
    }
    char in[CONSOLE_READ_SIZE];
    ssize_t n = read(k->fd, in, sizeof(in));
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
        return; /* a signal, or a non-blocking stdin that another reader emptied */
    }
    if (n <= 0) {
        stop_reading(k, n);
        return;
    }
    feed(k, in, (size_t)n);
}
