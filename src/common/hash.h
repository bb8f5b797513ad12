/* hash.h - seeded FNV-1a, for the hash tables the server keeps of what clients give.
 *
 * Pure but for hash_random_seed(). The tables (the registry of pseudos, the accounts, the
 * connections per address, the guessing counts) are keyed by what clients choose, so each
 * is seeded at start with random bits: nobody can aim collisions at a chain without
 * knowing the seed. FNV-1a is short and quick on short keys; its low bits mix poorly, so
 * hash_bucket() folds the high bits in before masking. Any thread.
 */
#ifndef CAUSERIE_HASH_H
#define CAUSERIE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* A seed from the kernel's random bits, or, at early boot before there are any, from the
 * clock: weaker, but still different from one start to the next. */
uint64_t hash_random_seed(void);

/* The hash of nothing yet, for seed; then of len more bytes at p. */
uint64_t hash_start(uint64_t seed);
uint64_t hash_add(uint64_t h, const void *p, size_t len);
/* hash_add() of a NUL-terminated string, its NUL left out. */
uint64_t hash_add_str(uint64_t h, const char *s);

/* The bucket of h among n_buckets, a power of two. */
static inline size_t hash_bucket(uint64_t h, size_t n_buckets)
{
    h ^= h >> 29;
    return (size_t)h & (n_buckets - 1);
}

#endif
