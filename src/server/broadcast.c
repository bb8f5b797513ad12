/* broadcast.c - the total order and the fan-out to loops; see broadcast.h. */
#include "broadcast.h"

#include <pthread.h>
#include <stdbool.h>

#include "loop.h"
#include "msg.h"

/* Guards next_seq and the order in which entries are appended to the loops' inboxes:
 * holding it across all the appends is what makes every loop see one order. */
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_seq = 1;

static struct loop *loops; /* borrowed; set before the loop threads start */
static unsigned n_loops;

void broadcast_init(struct loop *l, unsigned n)
{
    loops = l;
    n_loops = n;
}

void broadcast_shutdown(void)
{
    loops = NULL;
    n_loops = 0;
}

void broadcast_publish(struct msg *m)
{
    bool wake[MAX_THREADS];
    if (n_loops > 1) {
        msg_ref_many(m, n_loops - 1); /* one per inbox entry; the caller's is the last */
    }
    pthread_mutex_lock(&order_lock);
    m->seq = next_seq++;
    for (unsigned i = 0; i < n_loops; i++) {
        wake[i] = loop_post(&loops[i], (struct inbox_item){.kind = INBOX_DELIVER, .u.m = m});
    }
    pthread_mutex_unlock(&order_lock);

    for (unsigned i = 0; i < n_loops; i++) {
        if (wake[i]) {
            loop_wake(&loops[i]);
        }
    }
}
