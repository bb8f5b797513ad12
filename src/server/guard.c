/* guard.c - the counts of wrong passwords; see guard.h.
 *
 * A chained hash table of entries named by a kind byte and a string (an account's folded
 * pseudo, or an address), seeded at start like admission.c's so that nobody can aim keys
 * at one chain. An entry lives while its last failure is within the window; entries past
 * it are swept when the table would grow, so the table holds only recent failures.
 */
#include "guard.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

enum { KIND_ACCOUNT = 'a', KIND_ADDRESS = 'i' };

struct entry {
    struct entry *next;
    uint64_t first_s; /* the first failure of the window */
    uint64_t last_s;  /* the last try counted */
    uint32_t failures;
    char key[]; /* kind byte, then the string, NUL */
};

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned max_tries, delay;
static uint64_t seed;
static struct entry **buckets; /* owned; n_buckets, a power of two */
static size_t n_buckets, n_entries;

void guard_init(unsigned tries, unsigned delay_s)
{
    max_tries = tries;
    delay = delay_s;
    seed = hash_random_seed();
    n_buckets = 64;
    n_entries = 0;
    buckets = xcalloc(n_buckets, sizeof(*buckets));
}

void guard_shutdown(void)
{
    for (size_t b = 0; b < n_buckets; b++) {
        while (buckets[b]) {
            struct entry *e = buckets[b];
            buckets[b] = e->next;
            free(e);
        }
    }
    free(buckets);
    buckets = NULL;
    n_buckets = n_entries = 0;
}

static size_t bucket_of(char kind, const char *s)
{
    return hash_bucket(hash_add_str(hash_add(hash_start(seed), &kind, 1), s), n_buckets);
}

static bool expired(const struct entry *e, uint64_t now_s)
{
    return now_s >= e->last_s + GUARD_WINDOW_S;
}

/* Under the lock: the entry for (kind, s), or NULL; its link in *link. */
static struct entry *find(char kind, const char *s, struct entry ***link)
{
    struct entry **pp = &buckets[bucket_of(kind, s)];
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->key[0] == kind && strcmp((*pp)->key + 1, s) == 0) {
            break;
        }
    }
    *link = pp;
    return *pp;
}

/* Under the lock: forgets every entry past its window; doubles the buckets if the table
 * is still as full as they are. */
static void sweep(uint64_t now_s)
{
    for (size_t b = 0; b < n_buckets; b++) {
        struct entry **pp = &buckets[b];
        while (*pp) {
            if (expired(*pp, now_s)) {
                struct entry *e = *pp;
                *pp = e->next;
                free(e);
                n_entries--;
            } else {
                pp = &(*pp)->next;
            }
        }
    }
    if (n_entries < n_buckets) {
        return;
    }
    size_t old_n = n_buckets;
    struct entry **old = buckets;
    n_buckets *= 2;
    buckets = xcalloc(n_buckets, sizeof(*buckets));
    for (size_t b = 0; b < old_n; b++) {
        while (old[b]) {
            struct entry *e = old[b];
            old[b] = e->next;
            size_t nb = bucket_of(e->key[0], e->key + 1);
            e->next = buckets[nb];
            buckets[nb] = e;
        }
    }
    free(old);
}

/* Under the lock: seconds before (kind, s) may try again. */
static unsigned wait_of(char kind, const char *s, uint64_t now_s)
{
    struct entry **link;
    struct entry *e = find(kind, s, &link);
    if (!e || expired(e, now_s) || e->failures < max_tries || now_s >= e->last_s + delay) {
        return 0;
    }
    return (unsigned)(e->last_s + delay - now_s);
}

unsigned guard_wait(const char *account, const char *address, uint64_t now_s)
{
    if (max_tries == 0) {
        return 0;
    }
    pthread_mutex_lock(&guard_lock);
    unsigned a = wait_of(KIND_ACCOUNT, account, now_s);
    unsigned b = wait_of(KIND_ADDRESS, address, now_s);
    pthread_mutex_unlock(&guard_lock);
    return a > b ? a : b;
}

/* Under the lock: counts one failure of (kind, s); true if it is the one that starts the
 * slowing. */
static bool count(char kind, const char *s, uint64_t now_s)
{
    struct entry **link;
    struct entry *e = find(kind, s, &link);
    if (e && expired(e, now_s)) {
        e->failures = 0;
        e->first_s = now_s;
    }
    if (!e) {
        if (n_entries >= GUARD_MAX_ENTRIES) {
            return false;
        }
        size_t len = strlen(s);
        e = xmalloc(sizeof(*e) + 1 + len + 1);
        e->key[0] = kind;
        memcpy(e->key + 1, s, len + 1);
        e->failures = 0;
        e->first_s = now_s;
        e->next = NULL;
        *link = e;
        n_entries++;
    }
    e->failures++;
    e->last_s = now_s;
    return e->failures == max_tries;
}

bool guard_failed(const char *account, const char *address, uint64_t now_s)
{
    if (max_tries == 0) {
        return false;
    }
    pthread_mutex_lock(&guard_lock);
    if (n_entries + 2 > n_buckets) {
        sweep(now_s);
    }
    bool a = count(KIND_ACCOUNT, account, now_s);
    bool b = count(KIND_ADDRESS, address, now_s);
    pthread_mutex_unlock(&guard_lock);
    return a || b;
}

void guard_succeeded(const char *account)
{
    pthread_mutex_lock(&guard_lock);
    struct entry **link;
    struct entry *e = find(KIND_ACCOUNT, account, &link);
    if (e) {
        *link = e->next;
        free(e);
        n_entries--;
    }
    pthread_mutex_unlock(&guard_lock);
}
