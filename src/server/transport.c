/* transport.c - the connection layer's handlers, shared by every transport; see
 * transport.h.
 *
 * One table for every transport and connection, as libuv's callbacks are per handle type:
 * set once by client_setup() on the main thread before the loops start, then only read,
 * by any loop thread, without a lock.
 */
#include "transport.h"

#include <assert.h>

static const struct transport_handlers *handlers; /* borrowed; static */

void transport_set_handlers(const struct transport_handlers *h)
{
    handlers = h;
}

const struct transport_handlers *transport_handlers(void)
{
    assert(handlers);
    return handlers;
}
