/* registry.c - the people on the server; see registry.h for the contract.
 *
 * Any loop thread. A chained hash set of persons keyed by folded pseudo, under one mutex
 * because claims and releases come from every loop; each holds it for a look-up and a
 * link, so one lock is enough. People are allocated and freed outside it; only the rare
 * doubling of the table, when people outnumber buckets, allocates under it. The set holds
 * one reference to each person it links; registry_shutdown() drops what is left after the
 * loops stop.
 */
#include "registry.h"

#include <assert.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

/* Guards buckets, n_buckets, count and every person's next: the whole set. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct person **buckets; /* owned array; each linked person holds a reference */
static size_t n_buckets;        /* a power of two */
static size_t count;

/* Seeded as the other tables are: pseudos are the clients' choice. */
static uint64_t seed;

static uint64_t hash_key(const char *key)
{
    return hash_add_str(hash_start(seed), key);
}

void registry_init(void)
{
    seed = hash_random_seed();
    n_buckets = 64;
    buckets = xcalloc(n_buckets, sizeof(*buckets));
    count = 0;
}

void registry_shutdown(void)
{
    for (size_t i = 0; i < n_buckets; i++) {
        struct person *p = buckets[i];
        while (p) {
            struct person *next = p->next;
            person_unref(p);
            p = next;
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
    struct person **b = xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < n_buckets; i++) {
        struct person *p = buckets[i];
        while (p) {
            struct person *next = p->next;
            size_t at = hash_bucket(hash_key(person_key(p)), n);
            p->next = b[at];
            b[at] = p;
            p = next;
        }
    }
    free(buckets);
    buckets = b;
    n_buckets = n;
}

/* A new person, not linked, with one reference (the registry's, once linked). */
static struct person *new_person(const char *key, const char *pseudo, size_t pseudo_len,
                                 const char *host)
{
    size_t key_len = strlen(key), host_len = strlen(host);
    bool key_apart = key_len != pseudo_len || memcmp(key, pseudo, pseudo_len) != 0;
    size_t key_size = key_apart ? key_len + 1 : 0;
    /* The size of the header up to text, not sizeof(), which would round it up to the
     * alignment of the struct: a short pseudo then fits a smaller malloc chunk. */
    struct person *p =
        xmalloc(offsetof(struct person, text) + pseudo_len + 1 + key_size + host_len + 1);
    p->next = NULL;
    p->member = NULL;
    p->renamed = 0;
    p->store_busy = 0;
    p->who_busy = 0;
    p->logged_in = 0;
    p->admin = 0;
    p->room = NULL;
    p->history_from = 0;
    atomic_init(&p->refs, 1);
    p->who_index = 0;
    p->loop = 0;
    memcpy(p->text, pseudo, pseudo_len);
    p->text[pseudo_len] = '\0';
    p->key_apart = key_apart;
    memcpy(p->text + pseudo_len + 1, key, key_size);
    memcpy(p->text + pseudo_len + 1 + key_size, host, host_len + 1);
    return p;
}

/* Under registry_lock: the link that points at the person with key, or at the NULL that
 * ends its bucket's chain. */
static struct person **find_link(const char *key)
{
    struct person **pp = &buckets[hash_bucket(hash_key(key), n_buckets)];
    while (*pp && strcmp(person_key(*pp), key) != 0) {
        pp = &(*pp)->next;
    }
    return pp;
}

/* Under registry_lock: unlinks p, which must be linked. */
static void unlink_person(struct person *p)
{
    struct person **pp = &buckets[hash_bucket(hash_key(person_key(p)), n_buckets)];
    while (*pp && *pp != p) {
        pp = &(*pp)->next;
    }
    assert(*pp); /* only a claimed person is released */
    *pp = p->next;
    p->next = NULL;
}

struct person *registry_claim(const char *key, const char *pseudo, size_t pseudo_len,
                              const char *host, unsigned loop, struct member *m, size_t *count_now)
{
    /* Allocated before locking, so the lock covers a look-up and a link, nothing more. */
    struct person *p = new_person(key, pseudo, pseudo_len, host);
    p->member = m;
    p->loop = (uint16_t)loop;

    pthread_mutex_lock(&registry_lock);
    struct person **pp = find_link(key);
    bool claimed = *pp == NULL;
    if (claimed) {
        *pp = p;
        count++;
        grow_if_needed();
    }
    *count_now = count;
    pthread_mutex_unlock(&registry_lock);

    if (!claimed) {
        free(p);
        return NULL;
    }
    return p;
}

struct person *registry_rename(struct person *old, const char *key, const char *pseudo,
                               size_t pseudo_len)
{
    struct person *p = new_person(key, pseudo, pseudo_len, person_host(old));
    p->member = old->member;
    p->loop = old->loop;
    p->history_from = old->history_from;
    p->store_busy = old->store_busy; /* the answer comes to whoever it is then */
    p->who_busy = old->who_busy;
    /* An account is its pseudo's: a change of case keeps it, another pseudo does not. */
    p->logged_in = strcmp(key, person_key(old)) == 0 && old->logged_in;
    p->admin = p->logged_in && old->admin;

    pthread_mutex_lock(&registry_lock);
    struct person **pp = find_link(key);
    bool renamed = *pp == NULL || *pp == old;
    if (renamed) {
        unlink_person(old);
        pp = find_link(key); /* the unlink may have moved the end of the chain */
        *pp = p;
    }
    pthread_mutex_unlock(&registry_lock);

    if (!renamed) {
        free(p);
        return NULL;
    }
    person_ref(p); /* old's: a private message on its way to old reaches p */
    old->successor = p;
    old->renamed = 1;
    return p;
}

void registry_release(struct person *p)
{
    pthread_mutex_lock(&registry_lock);
    unlink_person(p);
    count--;
    pthread_mutex_unlock(&registry_lock);
    p->member = NULL;
    person_unref(p);
}

struct person *registry_find(const char *key)
{
    pthread_mutex_lock(&registry_lock);
    struct person *p = *find_link(key);
    if (p) {
        person_ref(p); /* under the lock: a linked person holds the registry's reference */
    }
    pthread_mutex_unlock(&registry_lock);
    return p;
}

size_t registry_count(void)
{
    pthread_mutex_lock(&registry_lock);
    size_t n = count;
    pthread_mutex_unlock(&registry_lock);
    return n;
}

void person_ref(struct person *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void person_unref(struct person *p)
{
    unsigned before = atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel);
    assert(before > 0);
    if (before == 1) {
        if (p->renamed) {
            person_unref(p->successor);
        }
        free(p);
    }
}
