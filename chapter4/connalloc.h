/*
 * connalloc: where io_conn's connection contexts come from. Given: you read it, you do not
 * edit it.
 *
 * A context is one block per client: the given evserver's part and io_conn's struct conn
 * (evserver_conn_bytes(sizeof(struct conn)) bytes), taken when a client is accepted and given
 * back when its connection closes. io_conn -c MAX says how many clients it serves at once: a
 * client that comes while MAX contexts are in use is refused (its socket closed, one line in
 * the log) and the others go on.
 *
 * Chapter 4 links connalloc_malloc.c (malloc and free, and a count of the blocks in use).
 * Chapter 5 links your connpool.c instead (ex5.4), which takes every context from one memory
 * pool (ex5.1) made at the start: no malloc per client, and MAX is the pool's size.
 *
 * One thread uses it (io_conn's loop). Functions set errno on failure.
 */
#ifndef SVRLAB_CONNALLOC_H
#define SVRLAB_CONNALLOC_H

#include <stddef.h>

/* Get ready to hand out up to max contexts of size bytes each, aligned for any type. Called
 * once, before the first connalloc_get. 0, or -1 with errno (EINVAL: size or max is 0;
 * ENOMEM). */
int connalloc_init(size_t size, size_t max);

/* A context of the size given to connalloc_init (its bytes are undefined: the caller zeroes
 * it), or NULL with errno ENOMEM when max are in use. */
void *connalloc_get(void);

/* Give back a context that connalloc_get returned. NULL is ignored. */
void connalloc_put(void *ctx);

/* Free what connalloc_init made; every context must have been given back. Safe to call when
 * connalloc_init failed or was never called. */
void connalloc_fini(void);

#endif
