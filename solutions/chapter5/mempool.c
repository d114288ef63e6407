/*
 * mempool: a pool of fixed-size chunks, O(1) alloc and free, no malloc after creation (ex5.1).
 * See mempool.h for the contract.
 *
 * A pool is one block from malloc, laid out as
 *
 *   struct mempool | link[0] ... link[n-1] | padding | chunk 0 | chunk 1 | ... | chunk n-1
 *                    one uint32_t per chunk            ^ base    size bytes each
 *
 * link[i] tells what chunk i is: LIVE while it is handed out, otherwise the number of the next
 * free chunk (END for the last one). So the free chunks form a linked list whose head is
 * p->free_head: mempool_alloc pops the head, mempool_free pushes the chunk back, a few loads
 * and stores each, whatever the pool's size. The chunk freed last is handed out next: it is
 * the one most likely still in the cache.
 *
 * The links live outside the chunks (the tutorial's pool keeps them inside the free chunks).
 * That costs 4 bytes per chunk and buys two things: the state of every chunk is one load away,
 * which is how a double free is caught in O(1); and a program that writes into a chunk after
 * freeing it damages its own data, not the pool's free list.
 *
 * From a pointer to a chunk number, without a division (a 64-bit division costs tens of
 * cycles; the whole of mempool_free costs less). The chunk size is size = o * 2^s with o odd
 * (s >= 4: size is a multiple of 16). Let off = pointer - base, as an unsigned number of W
 * bits (W = 64 here). Rotate off right by s bits: the start of chunk i (off = i * size) gives
 * exactly i * o; an off with any of its low s bits set gets them at the top instead, a number
 * above any i * o. Then multiply by inv, the inverse of o modulo 2^W (o * inv = 1 modulo 2^W,
 * which exists because o is odd): multiplying by an odd number modulo 2^W maps the W-bit
 * numbers one to one, and it maps i * o to i. The n numbers 0 .. n-1 are thereby taken by the
 * starts of the n chunks, so everything else (a pointer outside the pool, below it, or inside
 * a chunk) maps to n or more. One rotation, one multiplication and one comparison,
 *
 *     i = rotr(off, s) * inv;   if (i < n) it is the start of chunk i,
 *
 * accept exactly the starts of chunks, and the rare refused call works out why afterwards.
 *
 * memcheck: valgrind can not know that a chunk given back to the pool is dead (for malloc's
 * view the whole pool is one live block), unless the pool says so with client requests:
 * VALGRIND_CREATE_MEMPOOL and VALGRIND_MAKE_MEM_NOACCESS (every chunk free) at creation,
 * VALGRIND_MEMPOOL_ALLOC / _FREE for each chunk handed out / given back, and
 * VALGRIND_DESTROY_MEMPOOL at the end. A request is a dozen instructions that do nothing when
 * the program does not run under valgrind, about as many as a whole alloc; so the pool makes
 * them only when memcheck is there (p->memcheck, asked once, at creation).
 */
#include "mempool.h"

#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <valgrind/memcheck.h>

#define ALIGN alignof(max_align_t)  /* every chunk size is a multiple of this (16 here) */
#define LIVE UINT32_MAX             /* link[i] of a chunk that is handed out */
#define END (UINT32_MAX - 1)        /* link of the last free chunk; free_head of an empty pool */
#define MAX_CHUNKS (UINT32_MAX - 1) /* chunk numbers 0 .. MAX_CHUNKS - 1 stay below END */

struct mempool {
    char *base;         /* chunk 0; chunk i is at base + i * size */
    uint32_t free_head; /* first free chunk, END when none is free */
    _Bool memcheck;     /* running under valgrind's memcheck: make the client requests */
    size_t size;        /* chunk size: a multiple of ALIGN */
    size_t nchunks;     /* capacity */
    size_t nfree;       /* free chunks now */
    unsigned shift;     /* size = odd * 2^shift */
    size_t inv;         /* odd * inv = 1 modulo 2^W: chunk number = rotr(offset, shift) * inv */
    uint32_t link[];    /* per chunk: LIVE, or the next free chunk (END: none) */
};

/* given helpers for the gaps (unused in the starter until they are filled) */
static int under_memcheck(void) __attribute__((unused));
static size_t inverse_of_odd(size_t o) __attribute__((unused));
static void *refuse_alloc(void) __attribute__((unused));
static int refuse_not_chunk(const struct mempool *p, const void *chunk) __attribute__((unused));
static int refuse_double_free(const struct mempool *p, const void *chunk) __attribute__((unused));
static void *memcheck_alloc(const struct mempool *p, void *chunk) __attribute__((unused));
static int memcheck_free(const struct mempool *p, void *chunk) __attribute__((unused));

/* x rotated right by s bits (0 < s < bits of size_t); one instruction. */
static inline size_t rotr(size_t x, unsigned s)
{
    return (x >> s) | (x << (sizeof x * 8 - s));
}

struct mempool *mempool_create(size_t chunk_size, size_t nchunks)
{
    //@solution
    if (chunk_size == 0 || nchunks == 0 || nchunks > MAX_CHUNKS || chunk_size > SIZE_MAX - ALIGN) {
        errno = EINVAL;
        return NULL;
    }
    size_t size = (chunk_size + ALIGN - 1) / ALIGN * ALIGN;
    /* the bookkeeping, 4 bytes per chunk (this can overflow only where size_t has 32 bits) */
    if (nchunks > (SIZE_MAX - sizeof(struct mempool) - ALIGN) / sizeof(uint32_t)) {
        errno = EINVAL;
        return NULL;
    }
    size_t head = sizeof(struct mempool) + nchunks * sizeof(uint32_t);
    head = (head + ALIGN - 1) / ALIGN * ALIGN;
    if (nchunks > (SIZE_MAX - head) / size) {
        errno = EINVAL;
        return NULL;
    }
    /* malloc's blocks are aligned for any type, so base (head bytes in) is too */
    struct mempool *p = malloc(head + nchunks * size);
    if (p == NULL)
        return NULL; /* errno is ENOMEM */
    p->base = (char *)p + head;
    p->size = size;
    p->nchunks = nchunks;
    p->nfree = nchunks;
    p->shift = (unsigned)__builtin_ctzll((unsigned long long)size);
    p->inv = inverse_of_odd(size >> p->shift);
    /* every chunk free, in address order: the first allocations walk memory forwards */
    for (size_t i = 0; i + 1 < nchunks; i++)
        p->link[i] = (uint32_t)(i + 1);
    p->link[nchunks - 1] = END;
    p->free_head = 0;
    p->memcheck = under_memcheck();
    if (p->memcheck) {
        VALGRIND_CREATE_MEMPOOL(p->base, 0, 0);
        VALGRIND_MAKE_MEM_NOACCESS(p->base, nchunks * size);
    }
    return p;
    //@stub check the sizes (EINVAL), one malloc for all, every chunk free, tell memcheck
    //@ (void)chunk_size;
    //@ (void)nchunks;
    //@ errno = ENOSYS;
    //@ return NULL;
    //@end
}

void mempool_destroy(struct mempool *p)
{
    if (p == NULL)
        return;
    if (p->memcheck)
        VALGRIND_DESTROY_MEMPOOL(p->base);
    free(p);
}

void *mempool_alloc(struct mempool *p)
{
    //@solution
    uint32_t i = p->free_head;
    if (i == END)
        return refuse_alloc();
    p->free_head = p->link[i];
    p->link[i] = LIVE;
    p->nfree--;
    char *chunk = p->base + (size_t)i * p->size;
    if (p->memcheck)
        return memcheck_alloc(p, chunk);
    return chunk;
    //@stub pop the first free chunk (ENOMEM if none), mark it LIVE, tell memcheck
    //@ (void)p;
    //@ errno = ENOSYS;
    //@ return NULL;
    //@end
}

int mempool_free(struct mempool *p, void *chunk)
{
    //@solution
    size_t i = rotr((size_t)((uintptr_t)chunk - (uintptr_t)p->base), p->shift) * p->inv;
    if (i >= p->nchunks)
        return refuse_not_chunk(p, chunk);
    if (p->link[i] != LIVE)
        return refuse_double_free(p, chunk);
    p->link[i] = p->free_head;
    p->free_head = (uint32_t)i;
    p->nfree++;
    if (p->memcheck)
        return memcheck_free(p, chunk);
    return 0;
    //@stub refuse all but a LIVE chunk's start (EFAULT, EINVAL, EALREADY), push it, tell memcheck
    //@ (void)p;
    //@ (void)chunk;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

size_t mempool_chunk_size(const struct mempool *p)
{
    return p->size;
}

size_t mempool_capacity(const struct mempool *p)
{
    return p->nchunks;
}

size_t mempool_available(const struct mempool *p)
{
    return p->nfree;
}

/* 1 under valgrind's memcheck, else 0. RUNNING_ON_VALGRIND is true under any valgrind tool;
 * VALGRIND_GET_VBITS is memcheck's own request (1: done), which other tools leave at its
 * default, 0. So under callgrind, which counts the pool's instructions, no requests are made. */
static int under_memcheck(void)
{
    if (!RUNNING_ON_VALGRIND)
        return 0;
    char probe = 0, vbits;
    return VALGRIND_GET_VBITS(&probe, &vbits, 1) == 1;
}

/*
 * The rare paths of mempool_alloc and mempool_free, out of line and marked cold, each called
 * as `return helper(...)`: a call in that position becomes a jump, so the common path of
 * mempool_alloc and mempool_free needs no stack frame of its own (a client request passes its
 * arguments through memory: written inline it would give every call a frame, used or not).
 */

/* Tell memcheck that chunk is handed out (addressable, its contents undefined); returns chunk. */
__attribute__((cold, noinline)) static void *memcheck_alloc(const struct mempool *p, void *chunk)
{
    VALGRIND_MEMPOOL_ALLOC(p->base, chunk, p->size);
    return chunk;
}

/* Tell memcheck that chunk was given back (inaccessible); returns 0. */
__attribute__((cold, noinline)) static int memcheck_free(const struct mempool *p, void *chunk)
{
    VALGRIND_MEMPOOL_FREE(p->base, chunk);
    return 0;
}

/* mempool_alloc of an empty pool: NULL with errno ENOMEM. */
__attribute__((cold, noinline)) static void *refuse_alloc(void)
{
    errno = ENOMEM;
    return NULL;
}

/* The inverse of the odd number o modulo 2^W: Newton's iteration x = x * (2 - o * x) doubles
 * the number of right low bits, and x = o is right in 3 (o * o = 1 modulo 8 for any odd o);
 * 3, 6, 12, 24, 48, 96 bits. */
static size_t inverse_of_odd(size_t o)
{
    size_t x = o;
    for (int k = 0; k < 5; k++)
        x *= 2 - o * x;
    return x;
}

static int refuse_free(const struct mempool *p, const void *chunk, int err);

/* mempool_free of a pointer that is not the start of a chunk: -1 with errno EINVAL if it points
 * inside the pool (into a chunk), EFAULT if not. */
__attribute__((cold, noinline)) static int refuse_not_chunk(const struct mempool *p,
                                                            const void *chunk)
{
    size_t off = (size_t)((uintptr_t)chunk - (uintptr_t)p->base);
    return refuse_free(p, chunk, off < p->nchunks * p->size ? EINVAL : EFAULT);
}

/* mempool_free of a chunk that is already free: -1 with errno EALREADY. */
__attribute__((cold, noinline)) static int refuse_double_free(const struct mempool *p,
                                                              const void *chunk)
{
    return refuse_free(p, chunk, EALREADY);
}

/* A refused mempool_free: -1 with errno err, and in debug builds one line on stderr that names
 * the fault. */
static int refuse_free(const struct mempool *p, const void *chunk, int err)
{
#ifndef NDEBUG
    const char *why = err == EALREADY ? "double free: the chunk is already free"
                      : err == EINVAL ? "inside the pool but not at the start of a chunk"
                                      : "not a chunk of this pool: the pointer is outside it";
    fprintf(stderr, "mempool: mempool_free(pool %p, %p) refused: %s\n", (const void *)p, chunk,
            why);
#else
    (void)p;
    (void)chunk;
#endif
    errno = err;
    return -1;
}
