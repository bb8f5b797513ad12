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

/* Claims key (a folded pseudo, pseudo_fold()) for pseudo, as typed, of pseudo_len bytes.
 * Returns the registry's NUL-terminated copy of pseudo, which stays valid until it is
 * released, and stores the number of pseudos now in use in *count; or returns NULL if key
 * is taken. The copy is the client's pseudo for as long as it is joined: one allocation
 * per client, not two. Any thread. */
const char *registry_claim(const char *key, const char *pseudo, size_t pseudo_len, size_t *count);
/* Releases a claim: pseudo is what registry_claim() returned, invalid from now on. Any
 * thread. */
void registry_release(const char *pseudo);
/* Number of pseudos in use. Any thread. */
size_t registry_count(void);

#endif
