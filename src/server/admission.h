/* admission.h - who may connect: --max-clients and --max-per-ip.
 *
 * Loop 0 asks at each accept, before the connection costs anything but its descriptor;
 * the loop that serves the connection releases it when the socket is closed. Connections
 * are counted whether or not they have joined: a client stuck in its handshake holds a
 * descriptor like any other. Addresses are counted by IPv4 address, and by /64 prefix for
 * IPv6, since one IPv6 host commonly owns a whole /64. Any thread.
 */
#ifndef CAUSERIE_ADMISSION_H
#define CAUSERIE_ADMISSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum admission_verdict {
    ADMISSION_OK,
    ADMISSION_FULL,         /* --max-clients connections already */
    ADMISSION_ADDRESS_FULL, /* --max-per-ip connections from this address already */
};

/* max_clients and max_per_ip: 0 for no limit. Main thread, before the loops start. */
void admission_init(size_t max_clients, size_t max_per_ip);
/* Frees the table; main thread, after the loops stopped. */
void admission_shutdown(void);

/* Counts a connection from peer if the limits allow it. On ADMISSION_OK, *ticket is what
 * admission_release() takes back when the connection is closed; any other verdict counts
 * nothing. */
enum admission_verdict admission_admit(const struct sockaddr *peer, uint32_t *ticket);
void admission_release(uint32_t ticket);

/* Connections counted now. */
size_t admission_count(void);

#endif
