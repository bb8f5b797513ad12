/* password.c - Argon2id on the thread pool, one hash at a time; see password.h.
 *
 * One request per hash or check, allocated with the password's copy in sodium_malloc()'s
 * guarded, unswappable, undumpable memory. Requests from every loop wait in one queue
 * under queue_lock; at most max_running pool threads drain it (a runner is a
 * uv_work_t that takes requests until the queue is empty), so the pool's other threads
 * stay free for the store's reads. A runner wipes and frees each copy as soon as Argon2
 * is done with it, and rings the request's own uv_async_t, which the asking loop made:
 * the answer comes on that loop, which frees the request once the handle is closed.
 */
#include "password.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

_Static_assert(PASSWORD_HASH_SIZE >= crypto_pwhash_STRBYTES, "room for a hash string");

struct request {
    uv_async_t answer;    /* on the asking loop; rung once the work is done */
    struct request *next; /* the queue */
    char *pw;             /* sodium_malloc()ed; wiped and freed by the runner */
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

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
/* Guarded by queue_lock: the requests not yet taken, oldest first, and the runners. */
static struct request *queue_head;
static struct request **queue_tail = &queue_head;
static unsigned running;
static unsigned max_running = 1; /* set by password_init(), then only read */

int password_init(unsigned n)
{
    max_running = n > 0 ? n : 1;
    return sodium_init() < 0 ? -1 : 0;
}

static void run(struct request *r)
{
    if (r->check) {
        r->ok = crypto_pwhash_str_verify(r->hash, r->pw, r->len) == 0;
    } else if (crypto_pwhash_str(r->hash, r->pw, r->len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        r->status = -ENOMEM; /* the one way it fails: Argon2's memory was not there */
    }
    sodium_free(r->pw); /* wipes it first */
    r->pw = NULL;
}

/* A pool thread: requests until the queue is empty, then this runner is gone. */
static void drain(uv_work_t *w)
{
    (void)w;
    for (;;) {
        pthread_mutex_lock(&queue_lock);
        struct request *r = queue_head;
        if (r) {
            queue_head = r->next;
            if (!queue_head) {
                queue_tail = &queue_head;
            }
        } else {
            running--;
        }
        pthread_mutex_unlock(&queue_lock);
        if (!r) {
            return;
        }
        run(r);
        pthread_mutex_lock(&queue_lock); /* see on_answer() */
        pthread_mutex_unlock(&queue_lock);
        uv_async_send(&r->answer); /* r is its loop's from here on */
    }
}

static void on_drained(uv_work_t *w, int status)
{
    (void)status; /* never cancelled */
    free(w);
}

static void on_closed(uv_handle_t *h)
{
    struct request *r = h->data;
    sodium_memzero(r->hash, sizeof(r->hash));
    free(r);
}

static void on_answer(uv_async_t *h)
{
    struct request *r = h->data;
    /* uv_async_send() orders the runner's writes before these reads, but with atomics
     * inside libuv that a race detector does not see; the lock, taken by the runner after
     * its writes, shows it the same order. */
    pthread_mutex_lock(&queue_lock);
    pthread_mutex_unlock(&queue_lock);
    if (r->check) {
        r->cb.checked(r->arg, r->ok);
    } else {
        r->cb.hashed(r->arg, r->status, r->hash);
    }
    uv_close((uv_handle_t *)h, on_closed);
}

static int start(uv_loop_t *loop, struct request *r, const char *pw, size_t len)
{
    r->pw = sodium_malloc(len ? len : 1);
    if (!r->pw) {
        free(r);
        return -ENOMEM;
    }
    int rc = uv_async_init(loop, &r->answer, on_answer);
    if (rc < 0) {
        sodium_free(r->pw);
        free(r);
        return rc;
    }
    r->answer.data = r;
    memcpy(r->pw, pw, len);
    r->len = len;
    pthread_mutex_lock(&queue_lock);
    *queue_tail = r;
    queue_tail = &r->next;
    bool more = running < max_running;
    if (more) {
        running++;
    }
    pthread_mutex_unlock(&queue_lock);
    if (more) {
        uv_work_t *w = xmalloc(sizeof(*w));
        rc = uv_queue_work(loop, w, drain, on_drained);
        assert(rc == 0); /* it fails only without a work function */
    }
    return 0;
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
