/* hash.c - seeded FNV-1a; see hash.h. */
#include "hash.h"

#include <sys/random.h>
#include <time.h>

#define FNV_OFFSET_BASIS 14695981039346656037ULL
#define FNV_PRIME        1099511628211ULL

uint64_t hash_random_seed(void)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    return seed;
}

uint64_t hash_start(uint64_t seed)
{
    return FNV_OFFSET_BASIS ^ seed;
}

uint64_t hash_add(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ b[i]) * FNV_PRIME;
    }
    return h;
}

uint64_t hash_add_str(uint64_t h, const char *s)
{
    for (const unsigned char *b = (const unsigned char *)s; *b; b++) {
        h = (h ^ *b) * FNV_PRIME;
    }
    return h;
}
