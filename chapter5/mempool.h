/*
 * mempool: a pool of fixed-size chunks, taken and given back in O(1) (ex5.1).
 *
 * mempool_create makes one allocation that holds everything: the pool's bookkeeping and
 * nchunks chunks of chunk_size bytes (rounded up to alignof(max_align_t), so that a chunk can
 * hold any type). After that the pool never calls malloc: mempool_alloc takes a free chunk,
 * mempool_free gives one back, both in a constant number of steps whatever the pool's size.
 *
 * A pool checks every chunk it is given back. A pointer that is not one of its chunks, or a
 * chunk that is already free, is refused with an error and leaves the pool as it was: a double
 * free that a pool accepted would hand the same chunk to two owners later, and a foreign
 * pointer would put memory that is not the pool's into its free list.
 *
 * Under valgrind's memcheck the pool says which chunks are live (memcheck's mempool client
 * requests, <valgrind/memcheck.h>): a free chunk is inaccessible, so a read or a write through
 * a pointer to a chunk after mempool_free shows up in valgrind as an invalid access.
 *
 * A pool is not thread-safe and not for sharing between processes: one owner uses it.
 */
#ifndef SVRLAB_MEMPOOL_H
#define SVRLAB_MEMPOOL_H

#include <stddef.h>

struct mempool;

/*
 * Create a pool of nchunks chunks of chunk_size bytes each, chunk_size rounded up to a multiple
 * of alignof(max_align_t); every chunk starts at such a multiple. This is the pool's only
 * allocation. Returns the pool, or NULL with errno:
 *   EINVAL  chunk_size or nchunks is 0, or the sizes are too large: the rounded chunk size or
 *           the whole pool would not fit a size_t, or there are more chunks than the pool can
 *           number (an implementation's limit; see mempool.c)
 *   ENOMEM  the allocation failed
 */
struct mempool *mempool_create(size_t chunk_size, size_t nchunks);

/* Free the pool and all its chunks, live or not (their pointers are then dangling). NULL is
 * fine. */
void mempool_destroy(struct mempool *p);

/* A free chunk of mempool_chunk_size(p) bytes, aligned for any type; its contents are
 * undefined. NULL with errno ENOMEM when every chunk is taken. O(1); no malloc. */
void *mempool_alloc(struct mempool *p);

/*
 * Give back chunk, which mempool_alloc(p) returned. Returns 0, or -1 with errno and nothing
 * changed in the pool:
 *   EFAULT    chunk is not inside this pool (another pool's, malloc's, the stack's, NULL)
 *   EINVAL    chunk is inside the pool but not at the start of a chunk
 *   EALREADY  chunk is already free: a double free
 * In debug builds (NDEBUG not defined, as in the lab's builds) a refused call also prints one
 * line on stderr that names the fault. O(1); no malloc.
 */
int mempool_free(struct mempool *p, void *chunk);

/* The size of every chunk (chunk_size as given to mempool_create, rounded up). */
size_t mempool_chunk_size(const struct mempool *p);

/* How many chunks the pool has (nchunks as given to mempool_create). */
size_t mempool_capacity(const struct mempool *p);

/* How many chunks are free now. */
size_t mempool_available(const struct mempool *p);

#endif
