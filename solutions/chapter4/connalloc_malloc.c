/*
 * connalloc_malloc: chapter 4's connection contexts (connalloc.h), one malloc per client, with
 * a count so that io_conn -c MAX holds here too. Given: chapter 5's connpool.c replaces it with
 * a memory pool.
 */
#include "connalloc.h"

#include <errno.h>
#include <stdlib.h>

static size_t ctx_size; /* 0 until connalloc_init */
static size_t ctx_max;
static size_t ctx_used;

int connalloc_init(size_t size, size_t max)
{
    if (size == 0 || max == 0) {
        errno = EINVAL;
        return -1;
    }
    ctx_size = size;
    ctx_max = max;
    ctx_used = 0;
    return 0;
}

void *connalloc_get(void)
{
    if (ctx_size == 0 || ctx_used >= ctx_max) {
        errno = ENOMEM;
        return NULL;
    }
    void *ctx = malloc(ctx_size);
    if (ctx != NULL)
        ctx_used++;
    return ctx;
}

void connalloc_put(void *ctx)
{
    if (ctx == NULL)
        return;
    free(ctx);
    ctx_used--;
}

void connalloc_fini(void)
{
    ctx_size = ctx_max = ctx_used = 0;
}
