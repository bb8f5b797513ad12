/* registry.h - the set of pseudos in use, shared by every loop thread.
 *
 * A pseudo is claimed when a handshake succeeds and released when its client leaves, so
 * two clients can never hold the same (case-folded) pseudo. The set is under one mutex,
 * held only for a hash look-up, never across I/O. It is also the count of joined clients.
 * With a cluster bus, this is the piece that becomes shared between servers.
 */
#ifndef CAUSERIE_REGISTRY_H
#define CAUSERIE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

void registry_init(void);
void registry_shutdown(void);

/* Claims key (a folded pseudo, pseudo_fold()). Returns true and stores the number of
 * pseudos now in use in *count, or false if key is taken. Any thread. */
bool registry_claim(const char *key, size_t *count);
/* Releases a key claimed before. Any thread. */
void registry_release(const char *key);
/* Number of pseudos in use. Any thread. */
size_t registry_count(void);

#endif
