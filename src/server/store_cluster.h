/* store_cluster.h - the store (store.h) of a server in a cluster: accounts and owned rooms
 * shared through the engine, chat lines kept in this server's own database.
 *
 * It wraps a store_sqlite.c store, which keeps the lines (fed from the stream, as every
 * server's is, so /history and /search stay local reads) and a copy of the shared tables.
 * The accounts and the owned rooms live in the engine's buckets CAUSERIE_ACCOUNTS and
 * CAUSERIE_ROOMS (cluster.h), one value a key; every server puts its own changes there and
 * applies the others' (store_follow()). At start, what the buckets hold is read; an account
 * or an owned room of the local database that the buckets never held is added to them, so
 * that a server alone becomes a cluster's first member without losing anything. How the
 * servers agree is told in docs/ARCHITECTURE.md, "The cluster".
 */
#ifndef CAUSERIE_STORE_CLUSTER_H
#define CAUSERIE_STORE_CLUSTER_H

#include "store.h"

/* A writer waits for the engine this long, at most, at the stop: changes still unshared
 * then stay in the local database only, and the count is logged. */
#define STORE_CLUSTER_DRAIN_MS 5000

/* Wraps local (owned from now on: store_close() closes it) in a store that shares accounts
 * and owned rooms through the cluster, which must be open (cluster_open()). Starts the
 * writer thread. Main thread, before the loops start. */
struct store *store_cluster_open(struct store *local);

/* Stops following the other servers and waits, up to STORE_CLUSTER_DRAIN_MS, for this
 * server's changes to reach the engine; from then on changes are kept locally only. Main
 * thread, after the loops stopped and before cluster_close(). */
void store_cluster_stop_sharing(struct store *s);

#endif
