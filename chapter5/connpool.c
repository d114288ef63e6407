/*
 * connpool: io_conn's connection contexts from a memory pool (ex5.4), behind chapter 4's
 * connalloc.h.
 *
 * io_conn -c MAX makes one pool of MAX contexts when it starts; each client accepted takes one
 * (mempool_alloc: a few instructions, no malloc) and gives it back when its connection closes.
 * An empty pool is the limit itself: mempool_alloc says ENOMEM, and the given evserver refuses
 * the client (closes it, logs one line) and serves the others. Under valgrind the pool tells
 * memcheck which contexts are live, so a context used after its connection closed is an error
 * there, as it would be with malloc.
 */
#include "connalloc.h"
#include "log.h"
#include "mempool.h"

#include <errno.h>
#include <stddef.h>

static struct mempool *pool; /* NULL before connalloc_init, and after connalloc_fini */

/* Make the pool: max chunks of size bytes. A second init without fini is refused (EBUSY):
 * the contexts handed out would be lost. 0, or -1 with mempool_create's errno. */
int connalloc_init(size_t size, size_t max)
{
    /* YOUR CODE HERE: pool = mempool_create(size, max) (a second init: EBUSY); 0 or -1 */
    (void)size;
    (void)max;
    errno = ENOSYS;
    return -1;
}

/* A context from the pool, or NULL with errno ENOMEM (every one in use, or no pool). */
void *connalloc_get(void)
{
    /* YOUR CODE HERE: mempool_alloc(pool); NULL and ENOMEM without a pool */
    errno = ENOSYS;
    return NULL;
}

/* Give ctx back to the pool. mempool_free refuses what is not a live context of the pool (a
 * bug in the caller): log it, the pool stays as it was. */
void connalloc_put(void *ctx)
{
    /* YOUR CODE HERE: mempool_free(pool, ctx) unless ctx is NULL; a refusal is logged */
    (void)ctx;
}

/* Destroy the pool (every context was given back: evserver_free closed every connection). */
void connalloc_fini(void)
{
    /* YOUR CODE HERE: mempool_destroy(pool), and forget it */
    (void)pool;
}
