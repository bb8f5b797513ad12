/* away.c - who is away; see away.h for the contract.
 *
 * A chained hash table of the people away, keyed by the person's address (a person is one
 * allocation for as long as it is referenced, and each entry holds a reference), seeded at
 * start as the other tables are. The table does not grow: people away are a fraction of
 * those joined, and at 100,000 of them a chain averages 25 entries, walked only by the
 * queries that ask about one person (WHOIS, WHO's flags, a private message).
 */
#include "away.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "registry.h"

#define AWAY_BUCKETS 4096 /* a power of two */

struct away {
    struct away *next;
    struct person *p; /* reference held */
    char text[];      /* NUL-terminated */
};

/* Guards buckets and every entry's next. */
static pthread_mutex_t away_lock = PTHREAD_MUTEX_INITIALIZER;
static struct away *buckets[AWAY_BUCKETS];
static uint64_t seed;

static struct away **find_link(const struct person *p)
{
    struct away **link =
        &buckets[hash_bucket(hash_add(hash_start(seed), &p, sizeof(p)), AWAY_BUCKETS)];
    while (*link && (*link)->p != p) {
        link = &(*link)->next;
    }
    return link;
}

void away_init(void)
{
    seed = hash_random_seed();
}

void away_shutdown(void)
{
    for (size_t i = 0; i < AWAY_BUCKETS; i++) {
        while (buckets[i]) {
            struct away *a = buckets[i];
            buckets[i] = a->next;
            person_unref(a->p);
            free(a);
        }
    }
}

void away_set(struct person *p, const char *text, size_t len)
{
    struct away *fresh = NULL, *old = NULL;
    if (len > 0) { /* made before the lock, as the registry makes its people */
        len = utf8_prefix(text, len, AWAY_MAX);
        fresh = xmalloc(sizeof(*fresh) + len + 1);
        memcpy(fresh->text, text, len);
        fresh->text[len] = '\0';
        fresh->p = p;
        person_ref(p);
    }
    pthread_mutex_lock(&away_lock);
    struct away **link = find_link(p);
    old = *link;
    if (old) {
        *link = old->next;
    }
    if (fresh) {
        fresh->next = *link;
        *link = fresh;
    }
    pthread_mutex_unlock(&away_lock);
    if (old) {
        person_unref(old->p); /* may free it: outside the lock */
        free(old);
    }
}

bool away_get(const struct person *p, char *out, size_t size)
{
    pthread_mutex_lock(&away_lock);
    struct away *a = *find_link(p);
    if (a) {
        snprintf(out, size, "%s", a->text);
    }
    pthread_mutex_unlock(&away_lock);
    return a != NULL;
}
