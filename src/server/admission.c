/* admission.c - who may connect; see admission.h for the contract.
 *
 * One mutex over a count and a chained hash table of addresses, taken once per accept and
 * once per close, never across I/O. Entries live in one array and are named by index, so
 * a connection carries a 4-byte ticket rather than a pointer, and the array can grow by
 * realloc. An address's entry exists while it has connections. The hash is seeded at
 * start, so that nobody can choose addresses that all land in one chain without knowing
 * the seed; chains are bounded by the connections anyway.
 */
#include "admission.h"

#include <assert.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

#define NO_ENTRY UINT32_MAX /* end of a chain, or a ticket counted by no address */
#define KEY_SIZE 9          /* family, then 4 bytes of IPv4 address or 8 of IPv6 prefix */

struct entry {
    uint8_t key[KEY_SIZE];
    uint32_t count; /* connections from this address; 0: the entry is free */
    uint32_t next;  /* next in its bucket's chain, or in the free list */
};

/* Guards everything below. */
static pthread_mutex_t admission_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t limit_total, limit_per_address; /* 0: no limit; set before the loops start */
static size_t total;
static uint64_t seed;
static struct entry *entries; /* owned */
static uint32_t n_entries;
static size_t entries_cap;
static uint32_t free_list = NO_ENTRY;
static uint32_t *buckets; /* owned; heads of chains, n_buckets of them (a power of two) */
static uint32_t n_buckets;

void admission_init(size_t max_clients, size_t max_per_ip)
{
    limit_total = max_clients;
    limit_per_address = max_per_ip;
    total = 0;
    seed = hash_random_seed();
    n_buckets = 64;
    buckets = xreallocarray(NULL, n_buckets, sizeof(*buckets));
    memset(buckets, 0xff, n_buckets * sizeof(*buckets)); /* every chain NO_ENTRY */
    entries = NULL;
    n_entries = entries_cap = 0;
    free_list = NO_ENTRY;
}

void admission_shutdown(void)
{
    free(entries);
    free(buckets);
    entries = NULL;
    buckets = NULL;
    n_entries = entries_cap = n_buckets = 0;
}

/* The key an address is counted under, or false for a family we do not count. */
static bool make_key(const struct sockaddr *sa, uint8_t key[KEY_SIZE])
{
    memset(key, 0, KEY_SIZE);
    if (sa->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0) {
            key[0] = 4; /* ::ffff:a.b.c.d is a.b.c.d */
            memcpy(key + 1, a + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, a, 8); /* the /64 prefix */
        }
        return true;
    }
    return false;
}

static uint32_t bucket_of(const uint8_t key[KEY_SIZE])
{
    return (uint32_t)hash_bucket(hash_add(hash_start(seed), key, KEY_SIZE), n_buckets);
}

/* Doubles the buckets when entries outnumber them. */
static void grow_buckets_if_needed(void)
{
    if (n_entries < n_buckets) {
        return;
    }
    uint32_t old_n = n_buckets;
    uint32_t *old = buckets;
    n_buckets *= 2;
    buckets = xreallocarray(NULL, n_buckets, sizeof(*buckets));
    memset(buckets, 0xff, n_buckets * sizeof(*buckets));
    for (uint32_t b = 0; b < old_n; b++) {
        uint32_t i = old[b];
        while (i != NO_ENTRY) {
            uint32_t next = entries[i].next;
            uint32_t nb = bucket_of(entries[i].key);
            entries[i].next = buckets[nb];
            buckets[nb] = i;
            i = next;
        }
    }
    free(old);
}

static uint32_t new_entry(const uint8_t key[KEY_SIZE])
{
    uint32_t i;
    if (free_list != NO_ENTRY) {
        i = free_list;
        free_list = entries[i].next;
    } else {
        if (n_entries == entries_cap) {
            entries = xgrow(entries, &entries_cap, (size_t)n_entries + 1, sizeof(*entries), 64);
        }
        i = n_entries++;
    }
    memcpy(entries[i].key, key, KEY_SIZE);
    entries[i].count = 0;
    grow_buckets_if_needed();
    uint32_t b = bucket_of(key);
    entries[i].next = buckets[b];
    buckets[b] = i;
    return i;
}

enum admission_verdict admission_admit(const struct sockaddr *peer, uint32_t *ticket)
{
    uint8_t key[KEY_SIZE];
    bool counted_by_address = limit_per_address > 0 && make_key(peer, key);
    enum admission_verdict v = ADMISSION_OK;
    *ticket = NO_ENTRY;

    pthread_mutex_lock(&admission_lock);
    if (limit_total > 0 && total >= limit_total) {
        v = ADMISSION_FULL;
    } else if (counted_by_address) {
        uint32_t i = buckets[bucket_of(key)];
        while (i != NO_ENTRY && memcmp(entries[i].key, key, KEY_SIZE) != 0) {
            i = entries[i].next;
        }
        if (i == NO_ENTRY) {
            i = new_entry(key);
        }
        if (entries[i].count >= limit_per_address) {
            v = ADMISSION_ADDRESS_FULL;
        } else {
            entries[i].count++;
            *ticket = i;
        }
    }
    if (v == ADMISSION_OK) {
        total++;
    }
    pthread_mutex_unlock(&admission_lock);
    return v;
}

void admission_release(uint32_t ticket)
{
    pthread_mutex_lock(&admission_lock);
    assert(total > 0);
    total--;
    if (ticket != NO_ENTRY) {
        struct entry *e = &entries[ticket];
        assert(e->count > 0);
        if (--e->count == 0) {
            /* Unlinked from its chain and kept for reuse: an address with no connection
             * costs nothing but a free slot. */
            uint32_t *p = &buckets[bucket_of(e->key)];
            while (*p != ticket) {
                p = &entries[*p].next;
            }
            *p = e->next;
            e->next = free_list;
            free_list = ticket;
        }
    }
    pthread_mutex_unlock(&admission_lock);
}

size_t admission_count(void)
{
    pthread_mutex_lock(&admission_lock);
    size_t n = total;
    pthread_mutex_unlock(&admission_lock);
    return n;
}
