/* hosts.h - the servers the client may talk to: the address list, and the turn through it.
 *
 * Pure: no I/O, no clock, so unit tests drive it directly. options.c parses --host into a
 * list, chat.c the answer to the address prompt; chat.c then walks the list, one round of
 * attempts at a time: at start from the first address, after a lost connection from the
 * one after the server lost (which comes last), so that a client of a cluster whose server
 * dies comes back through another. Client thread only.
 */
#ifndef CAUSERIE_CLIENT_HOSTS_H
#define CAUSERIE_CLIENT_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

struct host_addr {
    char *host; /* owned: a name or an address, an IPv6 one without its brackets */
    int port;   /* 1..65535 */
};

struct hosts {
    struct host_addr *list; /* owned: count addresses, in the order given */
    size_t count;           /* 0: none given yet */
    size_t current;         /* the address being tried, or the one connected to */
    size_t left;            /* addresses of this round still to try after current */
};

/* Parses a list of addresses separated by commas, each "host", "host:port", "[v6]",
 * "[v6]:port" or a bare IPv6 address ("::1"), blanks around each ignored; an address
 * without a port takes default_port. A host has no blank, control character or bracket
 * in it; a port is digits only, 1 to 65535. Returns 0 with
 * *h's list replaced (the old one freed, the round reset to the first address), or
 * -EINVAL with *h untouched and one French sentence in err naming what is wrong: an empty
 * address (two commas in a row, a comma at either end, or nothing at all), a bad port, or
 * an address of no known form. */
int hosts_parse(struct hosts *h, const char *text, int default_port, struct buf *err);
/* Frees the list; *h is then empty and may be parsed into again. */
void hosts_release(struct hosts *h);

/* Whether s[0..len) is a port: 1 to 65535, digits only; if so, stores it in *port. */
bool hosts_parse_port(const char *s, size_t len, int *port);

/* Appends the list as hosts_parse() reads it back, every port written: "a:1,[::1]:2". */
void hosts_format(const struct hosts *h, struct buf *out);

/* Starts a round, in which each address is tried once: from the first one, or, with
 * after_current, from the one after current, wrapping around, so that current comes last.
 * The list must not be empty. */
void hosts_start_round(struct hosts *h, bool after_current);
/* Moves current on to the next address of the round; returns false, current unchanged,
 * once every address of the round has been tried. */
bool hosts_next(struct hosts *h);
/* The address being tried (borrowed from h, valid until it is parsed into or released). */
const struct host_addr *hosts_current(const struct hosts *h);

#endif
