/* secret.h - the answer to a secret prompt, typed unseen: keys in, one line out.
 *
 * Pure; client thread only. While the server waits for a secret ('%' lines, proto.h),
 * tty.c gives each byte the terminal sends here instead of to readline, so that the answer
 * never enters readline's line, undo list, kill ring or history, and is never drawn. It
 * knows the keys a password needs: Enter sends; Backspace erases the last character
 * (UTF-8); Ctrl-U and Ctrl-W erase everything; Ctrl-D with nothing typed ends the input.
 * Escape sequences (arrows, function keys, Alt) are skipped; a bracketed paste is taken up
 * to its first line break, the rest of it dropped, and then sent as Enter would. Every
 * byte erased, and the whole answer once cleared, is wiped (wipe.h).
 */
#ifndef CAUSERIE_SECRET_H
#define CAUSERIE_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of an answer: far more than any password typed or pasted; what is typed past it is
 * dropped. */
#define SECRET_MAX 1024

enum secret_step {
    SECRET_MORE, /* the answer goes on: feed the next key */
    SECRET_DONE, /* the answer is complete, in text and len, until secret_clear() */
    SECRET_END,  /* Ctrl-D with nothing typed: the user ends the input */
};

struct secret {
    char text[SECRET_MAX + 1]; /* the answer so far, NUL-terminated */
    size_t len;                /* bytes in text */
    int esc;                   /* where in an escape sequence (secret.c) */
    char params[8];            /* the parameters of a CSI sequence, NUL-terminated */
    size_t params_len;
    bool pasting;      /* between a bracketed paste's start and end */
    bool paste_broken; /* the paste had a line break: the rest of it is dropped */
};

/* An empty answer. */
void secret_init(struct secret *s);
/* Takes one byte from the terminal. After SECRET_DONE or SECRET_END, call secret_clear()
 * before feeding more. */
enum secret_step secret_feed(struct secret *s, unsigned char key);
/* Wipes everything typed and starts an empty answer. */
void secret_clear(struct secret *s);

#endif
