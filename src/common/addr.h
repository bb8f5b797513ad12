/* addr.h - the one way causerie writes an address: "127.0.0.1:1234", "[::1]:1234".
 *
 * Linked into both programs; pure, no I/O. The server names its listening sockets and each
 * connection's peer in its log, the client names the server it talks to in its status and
 * its messages: both through here, so an address reads the same everywhere. An IPv6
 * address is written in brackets, so that the port after it cannot be taken for a part.
 */
#ifndef CAUSERIE_ADDR_H
#define CAUSERIE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Room for any address this module writes: "[" 45 "]:" 5 and a NUL, rounded up. */
#define ADDR_NAME_MAX 64

/* Writes sa's address and port into out (size bytes, ADDR_NAME_MAX is always enough):
 * "127.0.0.1:53422", "[::1]:53422"; "?:0" for a family other than IPv4 and IPv6, which is
 * what a socket already reset reports. */
void addr_format(const struct sockaddr *sa, char *out, size_t size);
/* The same for a host as given by a user (a name, or an address in either family) and a
 * port: "localhost:1234", "[::1]:1234". A host longer than out is cut. */
void addr_format_host(const char *host, int port, char *out, size_t size);

/* Writes the host that sa's connections are counted under, without the port: an IPv4
 * address ("192.0.2.7"; also for an IPv4-mapped IPv6 one), or an IPv6 address's /64
 * ("2001:db8:1:2::/64"), since one IPv6 host commonly owns a whole /64; "?" for another
 * family. Returns whether sa is a loopback address (127.0.0.0/8, ::1). */
bool addr_host_key(const struct sockaddr *sa, char *out, size_t size);

#endif
