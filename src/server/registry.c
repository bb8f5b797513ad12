/* registry.c - the set of pseudos in use; see registry.h for the contract.
 *
 * Any loop thread. A chained hash set keyed by folded pseudo, under one mutex because
 * claims and releases come from every loop; each holds it for a look-up and a link, so
 * one lock is enough. Entries are allocated and freed outside it; only the rare doubling
 * of the table, when entries outnumber buckets, allocates under it. The set owns its
 * entries and its bucket array, which registry_shutdown() frees after the loops stop.
 */
#include "registry.h"

#include <assert.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

/* One allocation per joined client, so kept small: 8 bytes and two short strings. */
struct entry {
    struct entry *next; /* owned: rest of the bucket's chain */
    char text[];        /* the pseudo as typed, NUL, then its folded key, NUL */
};

static const char *entry_key(const struct entry *e)
{
    return e->text + strlen(e->text) + 1;
}

/* The entry whose text a handle returned by registry_claim() points at. */
static struct entry *entry_of(const char *pseudo)
{
    return (struct entry *)(void *)(pseudo - offsetof(struct entry, text));
}

/* Guards buckets, n_buckets and count: the whole set. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry **buckets; /* owned */
static size_t n_buckets;       /* a power of two */
static size_t count;

/* FNV-1a: keys are short and the set is private to the server, not a hostile-input table
 * anyone can aim collisions at without first connecting thousands of clients. */
static uint64_t hash_key(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    return h;
}

void registry_init(void)
{
    n_buckets = 64;
    buckets = xcalloc(n_buckets, sizeof(*buckets));
    count = 0;
}

void registry_shutdown(void)
{
    for (size_t i = 0; i < n_buckets; i++) {
        struct entry *e = buckets[i];
        while (e) {
            struct entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(buckets);
    buckets = NULL;
    n_buckets = 0;
    count = 0;
}

/* Doubles the table when it averages more than one entry per bucket. Hashes are not
 * stored, to keep entries small: they are computed again here, which is rare. */
static void grow_if_needed(void)
{
    if (count < n_buckets) {
        return;
    }
    size_t n = n_buckets * 2;
    struct entry **b = xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < n_buckets; i++) {
        struct entry *e = buckets[i];
        while (e) {
            struct entry *next = e->next;
            uint64_t h = hash_key(entry_key(e));
            e->next = b[h & (n - 1)];
            b[h & (n - 1)] = e;
            e = next;
        }
    }
    free(buckets);
    buckets = b;
    n_buckets = n;
}

const char *registry_claim(const char *key, const char *pseudo, size_t pseudo_len,
                           size_t *count_now)
{
    uint64_t h = hash_key(key);
    size_t key_len = strlen(key);
    /* Allocated before locking, so the lock covers a look-up and a link, nothing more. */
    struct entry *e = xmalloc(sizeof(*e) + pseudo_len + 1 + key_len + 1);
    memcpy(e->text, pseudo, pseudo_len);
    e->text[pseudo_len] = '\0';
    memcpy(e->text + pseudo_len + 1, key, key_len + 1);

    pthread_mutex_lock(&registry_lock);
    struct entry **pe = &buckets[h & (n_buckets - 1)];
    while (*pe && strcmp(entry_key(*pe), key) != 0) {
        pe = &(*pe)->next;
    }
    bool claimed = *pe == NULL;
    if (claimed) {
        e->next = NULL;
        *pe = e;
        count++;
        grow_if_needed();
    }
    *count_now = count;
    pthread_mutex_unlock(&registry_lock);

    if (!claimed) {
        free(e);
        return NULL;
    }
    return e->text;
}

void registry_release(const char *pseudo)
{
    struct entry *e = entry_of(pseudo);
    uint64_t h = hash_key(entry_key(e));
    pthread_mutex_lock(&registry_lock);
    struct entry **pe = &buckets[h & (n_buckets - 1)];
    while (*pe && *pe != e) {
        pe = &(*pe)->next;
    }
    assert(*pe); /* only a claimed pseudo is released */
    if (*pe) {
        *pe = e->next;
        count--;
    }
    pthread_mutex_unlock(&registry_lock);
    free(e);
}

size_t registry_count(void)
{
    pthread_mutex_lock(&registry_lock);
    size_t n = count;
    pthread_mutex_unlock(&registry_lock);
    return n;
}
