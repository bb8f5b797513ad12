/* password.h - passwords hashed and checked with Argon2id, on libuv's thread pool.
 *
 * The base layer's one user of libsodium. A password is hashed with crypto_pwhash_str()
 * (Argon2id at libsodium's interactive limits: about 64 MiB and a tenth of a second) into
 * a self-describing string (algorithm, limits, salt, hash) that is all the database keeps,
 * and checked against it with crypto_pwhash_str_verify(). Both take long on purpose, so
 * both run on the thread pool, a few at a time (--hash-threads; the others wait, in order),
 * and answer on the loop that asked: a login never stalls a loop. The password is copied
 * into sodium_malloc()'s memory (never dumped, never swapped) and wiped once used.
 */
#ifndef CAUSERIE_PASSWORD_H
#define CAUSERIE_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* The shortest password /register and /password accept, in characters. */
#define PASSWORD_MIN_CHARS 8
/* The longest, in bytes: Argon2 takes any length, but a line is read whole first. */
#define PASSWORD_MAX_BYTES 1024
/* Room for a hash string, its NUL included (crypto_pwhash_STRBYTES). */
#define PASSWORD_HASH_SIZE 128
/* Main thread, before any other call: libsodium's own set-up, and how many hashes and
 * checks may run at once, server-wide (at least 1). Each takes a core for about a tenth of
 * a second, and 64 MiB: four at once on 2 cores took the cores the loops need (see
 * docs/PERFORMANCE.md, "Accounts and the database"). Returns 0, or -1 if the library
 * cannot work here. */
int password_init(unsigned max_running);

/* status 0 and the hash string (borrowed for the call), or a negative errno (-ENOMEM: the
 * memory Argon2 needs was not there). */
typedef void (*password_hash_cb)(void *arg, int status, const char *hash);
/* ok: the password is the one the hash was made from. */
typedef void (*password_check_cb)(void *arg, bool ok);

/* Hashes pw (len bytes, copied: the caller wipes its own) on the thread pool of loop and
 * calls cb on loop's thread. Returns 0 (cb will be called once, even at shutdown), or a
 * negative errno (cb will not be). */
int password_hash(uv_loop_t *loop, const char *pw, size_t len, password_hash_cb cb, void *arg);
/* Checks pw against hash (a string password_hash() made), likewise. */
int password_check(uv_loop_t *loop, const char *hash, const char *pw, size_t len,
                   password_check_cb cb, void *arg);

#endif
