/* accounts.c - the table of accounts; see accounts.h.
 *
 * A chained hash table of accounts by key, seeded at start; an account is one allocation
 * with its strings inline. Changes are made under accounts_lock and queued to the store
 * before the lock is released, so the store receives them in the order they were made.
 */
#include "accounts.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hash.h"
#include "common/wipe.h"
#include "common/xalloc.h"
#include "store.h"

struct account {
    struct account *next;
    int64_t created;
    char *name, *hash; /* into text */
    char text[];       /* key, NUL, name, NUL, hash, NUL */
};

static pthread_mutex_t accounts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *store; /* set before the loops start, then only read */
static uint64_t seed;
static struct account **buckets; /* owned; n_buckets, a power of two */
static size_t n_buckets, n_accounts;

static size_t bucket_of(const char *key)
{
    return hash_bucket(hash_add_str(hash_start(seed), key), n_buckets);
}

/* Under the lock: the link that points at key's account, or at the end of its chain. */
static struct account **find_link(const char *key)
{
    struct account **pp = &buckets[bucket_of(key)];
    while (*pp && strcmp((*pp)->text, key) != 0) {
        pp = &(*pp)->next;
    }
    return pp;
}

static struct account *new_account(const char *key, const char *name, const char *hash,
                                   int64_t created)
{
    size_t k = strlen(key) + 1, n = strlen(name) + 1, h = strlen(hash) + 1;
    struct account *a = xmalloc(sizeof(*a) + k + n + h);
    a->next = NULL;
    a->created = created;
    memcpy(a->text, key, k);
    a->name = a->text + k;
    memcpy(a->name, name, n);
    a->hash = a->name + n;
    memcpy(a->hash, hash, h);
    return a;
}

/* Under the lock: links a, doubling the buckets when accounts outnumber them. */
static void link_account(struct account *a)
{
    if (n_accounts >= n_buckets) {
        size_t old_n = n_buckets;
        struct account **old = buckets;
        n_buckets *= 2;
        buckets = xcalloc(n_buckets, sizeof(*buckets));
        for (size_t b = 0; b < old_n; b++) {
            while (old[b]) {
                struct account *x = old[b];
                old[b] = x->next;
                struct account **pp = &buckets[bucket_of(x->text)];
                x->next = *pp;
                *pp = x;
            }
        }
        free(old);
    }
    struct account **pp = find_link(a->text);
    a->next = *pp;
    *pp = a;
    n_accounts++;
}

static void loaded(const struct store_account *a, void *ctx)
{
    (void)ctx;
    if (!*find_link(a->key) && strlen(a->hash) < PASSWORD_HASH_SIZE) {
        link_account(new_account(a->key, a->name, a->hash, a->created));
    }
}

long accounts_init(struct store *s)
{
    store = s;
    seed = hash_random_seed();
    n_buckets = 64;
    n_accounts = 0;
    buckets = xcalloc(n_buckets, sizeof(*buckets));
    if (s && store_load_accounts(s, loaded, NULL) < 0) {
        return -1;
    }
    return (long)n_accounts;
}

void accounts_shutdown(void)
{
    for (size_t b = 0; b < n_buckets; b++) {
        while (buckets[b]) {
            struct account *a = buckets[b];
            buckets[b] = a->next;
            free(a);
        }
    }
    free(buckets);
    buckets = NULL;
    n_buckets = n_accounts = 0;
    store = NULL;
}

bool accounts_find(const char *key, char hash[PASSWORD_HASH_SIZE])
{
    pthread_mutex_lock(&accounts_lock);
    struct account *a = *find_link(key);
    if (a && hash) {
        memcpy(hash, a->hash, strlen(a->hash) + 1);
    }
    pthread_mutex_unlock(&accounts_lock);
    return a != NULL;
}

static void save(const struct account *a, bool registering)
{
    if (store) {
        struct store_account sa = {a->text, a->name, a->hash, a->created, registering};
        store_put_account(store, &sa);
    }
}

int accounts_add(const char *key, const char *name, const char *hash)
{
    if (strlen(hash) >= PASSWORD_HASH_SIZE) {
        return -EINVAL;
    }
    pthread_mutex_lock(&accounts_lock);
    int r = -EEXIST;
    if (!*find_link(key)) {
        struct account *a = new_account(key, name, hash, (int64_t)time(NULL));
        link_account(a);
        save(a, true);
        r = 0;
    }
    pthread_mutex_unlock(&accounts_lock);
    return r;
}

int accounts_set_hash(const char *key, const char *hash)
{
    if (strlen(hash) >= PASSWORD_HASH_SIZE) {
        return -EINVAL;
    }
    pthread_mutex_lock(&accounts_lock);
    int r = -ENOENT;
    struct account **pp = find_link(key);
    if (*pp) {
        struct account *old = *pp;
        struct account *a = new_account(old->text, old->name, hash, old->created);
        a->next = old->next;
        *pp = a;
        wipe_bytes(old->hash, strlen(old->hash));
        free(old);
        save(a, false);
        r = 0;
    }
    pthread_mutex_unlock(&accounts_lock);
    return r;
}

int accounts_remove(const char *key)
{
    pthread_mutex_lock(&accounts_lock);
    int r = -ENOENT;
    struct account **pp = find_link(key);
    if (*pp) {
        struct account *a = *pp;
        *pp = a->next;
        n_accounts--;
        if (store) {
            store_delete_account(store, a->text);
        }
        free(a);
        r = 0;
    }
    pthread_mutex_unlock(&accounts_lock);
    return r;
}

size_t accounts_count(void)
{
    pthread_mutex_lock(&accounts_lock);
    size_t n = n_accounts;
    pthread_mutex_unlock(&accounts_lock);
    return n;
}

void accounts_followed(const struct store_account *a, struct store_change *c)
{
    if (strlen(a->hash) >= PASSWORD_HASH_SIZE) {
        return;
    }
    pthread_mutex_lock(&accounts_lock);
    if (store_change_take(c)) {
        struct account **pp = find_link(a->key);
        struct account *fresh = new_account(a->key, a->name, a->hash, a->created);
        if (*pp) {
            struct account *old = *pp;
            fresh->next = old->next;
            *pp = fresh;
            wipe_bytes(old->hash, strlen(old->hash));
            free(old);
        } else {
            link_account(fresh);
        }
    }
    pthread_mutex_unlock(&accounts_lock);
}

void accounts_followed_gone(const char *key, struct store_change *c)
{
    pthread_mutex_lock(&accounts_lock);
    if (store_change_take(c)) {
        struct account **pp = find_link(key);
        if (*pp) {
            struct account *a = *pp;
            *pp = a->next;
            n_accounts--;
            wipe_bytes(a->hash, strlen(a->hash));
            free(a);
        }
    }
    pthread_mutex_unlock(&accounts_lock);
}
