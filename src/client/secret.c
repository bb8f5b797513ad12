/* secret.c - the answer to a secret prompt; see secret.h for the contract.
 *
 * A small state machine over bytes, the way a terminal sends them: plain bytes (UTF-8
 * included) are the answer; ESC starts a sequence, "ESC [" a CSI one (parameters, then a
 * final byte from '@' to '~'), "ESC O" an SS3 one (one byte more), anything else after ESC
 * an Alt-key; none of them is part of the answer. The CSI sequences "200~" and "201~"
 * bracket a paste (readline turns bracketed paste on in the terminal for its own line).
 * Nothing is ever drawn: the user sees the prompt alone, as with sudo or ssh.
 */
#include "secret.h"

#include <string.h>

#include "common/wipe.h"

enum {
    ESC_NONE, /* plain keys */
    ESC_SEEN, /* after ESC */
    ESC_CSI,  /* after "ESC [": parameters until the final byte */
    ESC_SS3,  /* after "ESC O": one byte more */
};

#define PASTE_START "200"
#define PASTE_END   "201"

void secret_init(struct secret *s)
{
    memset(s, 0, sizeof(*s));
}

void secret_clear(struct secret *s)
{
    wipe_bytes(s, sizeof(*s));
}

/* Erases the last character: its continuation bytes, then its first byte. */
static void erase_char(struct secret *s)
{
    while (s->len > 0 && ((unsigned char)s->text[s->len - 1] & 0xC0) == 0x80) {
        s->text[--s->len] = '\0';
    }
    if (s->len > 0) {
        s->text[--s->len] = '\0';
    }
}

static void erase_all(struct secret *s)
{
    wipe_bytes(s->text, s->len);
    s->len = 0;
}

static void append(struct secret *s, unsigned char c)
{
    if (s->len < SECRET_MAX) {
        s->text[s->len++] = (char)c;
        s->text[s->len] = '\0';
    }
}

/* The end of a CSI sequence: a paste's brackets matter, the rest (arrows, Delete, Home,
 * function keys) are skipped. */
static enum secret_step csi_done(struct secret *s, unsigned char final)
{
    bool tilde = final == '~';
    s->esc = ESC_NONE;
    if (tilde && strcmp(s->params, PASTE_START) == 0) {
        s->pasting = true;
        s->paste_broken = false;
    } else if (tilde && strcmp(s->params, PASTE_END) == 0 && s->pasting) {
        s->pasting = false;
        if (s->paste_broken) {
            return SECRET_DONE; /* a pasted line break is Enter, once the paste is over */
        }
    }
    return SECRET_MORE;
}

static enum secret_step escape_byte(struct secret *s, unsigned char c)
{
    switch (s->esc) {
    case ESC_SEEN:
        if (c == '[') {
            s->esc = ESC_CSI;
            s->params_len = 0;
            s->params[0] = '\0';
        } else if (c == 'O') {
            s->esc = ESC_SS3;
        } else if (c != 0x1b) {
            s->esc = ESC_NONE; /* Alt and a key: not part of a password */
        }
        return SECRET_MORE;
    case ESC_CSI:
        if (c >= 0x40 && c <= 0x7e) {
            return csi_done(s, c);
        }
        if (c >= 0x30 && c <= 0x3f && s->params_len + 1 < sizeof(s->params)) {
            s->params[s->params_len++] = (char)c;
            s->params[s->params_len] = '\0';
        } else if (c < 0x20 || c > 0x3f) {
            s->esc = ESC_NONE; /* not a sequence after all; 0x20 to 0x2f are intermediates */
        }
        return SECRET_MORE;
    default: /* ESC_SS3 */
        s->esc = ESC_NONE;
        return SECRET_MORE;
    }
}

/* A byte of a bracketed paste: text up to its first line break. */
static void paste_byte(struct secret *s, unsigned char c)
{
    if (c == '\r' || c == '\n') {
        s->paste_broken = true;
    } else if (c >= 0x20 && c != 0x7f && !s->paste_broken) {
        append(s, c);
    }
}

enum secret_step secret_feed(struct secret *s, unsigned char c)
{
    if (s->esc != ESC_NONE) {
        return escape_byte(s, c);
    }
    if (c == 0x1b) {
        s->esc = ESC_SEEN;
        return SECRET_MORE;
    }
    if (s->pasting) {
        paste_byte(s, c);
        return SECRET_MORE;
    }
    switch (c) {
    case '\r':
    case '\n':
        return SECRET_DONE;
    case 0x7f: /* Backspace, as most terminals send it */
    case 0x08: /* Ctrl-H, as others do */
        erase_char(s);
        return SECRET_MORE;
    case 0x15: /* Ctrl-U */
    case 0x17: /* Ctrl-W: a password has no words to erase one by one */
        erase_all(s);
        return SECRET_MORE;
    case 0x04: /* Ctrl-D */
        return s->len == 0 ? SECRET_END : SECRET_MORE;
    default:
        if (c >= 0x20) {
            append(s, c);
        }
        return SECRET_MORE; /* other control keys mean nothing here */
    }
}
