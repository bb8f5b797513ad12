/* accounts.h - the registered pseudos: who may hold one, proved by a password.
 *
 * Part of the presence layer, beside the registry of people: an account says that a
 * pseudo is protected and by which hash (password.h), the registry says who holds a
 * pseudo now. The table lives in memory, read from the store at start, so that giving a
 * pseudo that is not registered costs the handshake nothing more than a look-up; every
 * change is made here first, under one mutex held for a look-up and a copy, and then
 * queued to the store (store.h), which writes it from its own thread. In a cluster, the
 * other servers' changes come back up from the store and are applied here too. Any
 * thread, but accounts_init() and accounts_shutdown().
 */
#ifndef CAUSERIE_ACCOUNTS_H
#define CAUSERIE_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "password.h"

struct store;
struct store_account;
struct store_change;

/* Reads every account from store (borrowed until accounts_shutdown(); NULL: none is kept
 * across restarts). Main thread, before the loops start. Returns how many, or -1 if the
 * store could not be read (logged). */
long accounts_init(struct store *store);
void accounts_shutdown(void);

/* Whether key (a folded pseudo) is registered; if so and hash is not NULL, its hash is
 * copied there. */
bool accounts_find(const char *key, char hash[PASSWORD_HASH_SIZE]);
/* Registers key for name (the pseudo as typed) with hash. Returns 0, or -EEXIST. */
int accounts_add(const char *key, const char *name, const char *hash);
/* Gives key's account a new hash. Returns 0, or -ENOENT. */
int accounts_set_hash(const char *key, const char *hash);
/* Forgets key's account. Returns 0, or -ENOENT. */
int accounts_remove(const char *key);
/* How many accounts there are. */
size_t accounts_count(void);

/* Another server registered a (or changed its hash), or forgot key: applied here, in
 * memory only, if store_change_take(c) (store.h, struct store_follower). The store's
 * follower thread. */
void accounts_followed(const struct store_account *a, struct store_change *c);
void accounts_followed_gone(const char *key, struct store_change *c);

#endif
