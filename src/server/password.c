/* password.c - Argon2id on the thread pool; see password.h.
 *
 * One request per hash or check, allocated with the password's copy in sodium_malloc()'s
 * guarded, unswappable, undumpable memory; the work runs on a pool thread, the answer on
 * the asking loop, and the copy is wiped and freed on the pool thread as soon as Argon2 is
 * done with it.
 */
#include "password.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

_Static_assert(PASSWORD_HASH_SIZE >= crypto_pwhash_STRBYTES, "room for a hash string");

struct request {
    uv_work_t work;
    char *pw; /* sodium_malloc()ed; wiped and freed by the work */
    size_t len;
    bool check;
    bool ok;
    int status;
    char hash[PASSWORD_HASH_SIZE];
    union {
        password_hash_cb hashed;
        password_check_cb checked;
    } cb;
    void *arg;
};

int password_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

static void work(uv_work_t *w)
{
    struct request *r = w->data;
    if (r->check) {
        r->ok = crypto_pwhash_str_verify(r->hash, r->pw, r->len) == 0;
    } else if (crypto_pwhash_str(r->hash, r->pw, r->len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        r->status = -ENOMEM; /* the one way it fails: Argon2's memory was not there */
    }
    sodium_free(r->pw); /* wipes it first */
    r->pw = NULL;
}

static void done(uv_work_t *w, int status)
{
    struct request *r = w->data;
    if (r->check) {
        r->cb.checked(r->arg, status == 0 && r->ok);
    } else {
        r->cb.hashed(r->arg, status < 0 ? status : r->status, r->hash);
    }
    sodium_memzero(r->hash, sizeof(r->hash));
    free(r);
}

static int start(uv_loop_t *loop, struct request *r, const char *pw, size_t len)
{
    r->pw = sodium_malloc(len ? len : 1);
    if (!r->pw) {
        free(r);
        return -ENOMEM;
    }
    memcpy(r->pw, pw, len);
    r->len = len;
    r->work.data = r;
    int rc = uv_queue_work(loop, &r->work, work, done);
    if (rc < 0) {
        sodium_free(r->pw);
        free(r);
    }
    return rc;
}

int password_hash(uv_loop_t *loop, const char *pw, size_t len, password_hash_cb cb, void *arg)
{
    struct request *r = xcalloc(1, sizeof(*r));
    r->cb.hashed = cb;
    r->arg = arg;
    return start(loop, r, pw, len);
}

int password_check(uv_loop_t *loop, const char *hash, const char *pw, size_t len,
                   password_check_cb cb, void *arg)
{
    size_t hlen = strlen(hash);
    if (hlen >= PASSWORD_HASH_SIZE) {
        return -EINVAL;
    }
    struct request *r = xcalloc(1, sizeof(*r));
    r->check = true;
    memcpy(r->hash, hash, hlen + 1);
    r->cb.checked = cb;
    r->arg = arg;
    return start(loop, r, pw, len);
}
