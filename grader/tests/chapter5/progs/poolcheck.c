/*
 * poolcheck: the grader's program around the student's pool (ex5.1), for what the test runner
 * can not show in its own process. Built by grader/build.mk (`test_progs`) from this file and
 * the student's mempool.c, without the sanitizers.
 *
 *   poolcheck use-after-free   run by the test under valgrind: two chunks written whole, one
 *                              freed and then read (the one invalid access), the freed chunk
 *                              taken again and written whole. memcheck must report exactly
 *                              one error, the read: it sees it only if the pool tells it which
 *                              chunks are free (memcheck's mempool client requests)
 *   poolcheck no-malloc        counts the calls to malloc, calloc, realloc, free, the aligned
 *                              allocators and mmap made by mempool_alloc and mempool_free
 *                              (20,000 of them, the pool full and empty several times): this
 *                              program defines those functions, so every call in the process
 *                              comes here first, and they pass it on to the C library's own.
 *                              Exit status 0 if there were none, 1 if there were (the counts on
 *                              stdout)
 * Exit status 3 when the pool itself fails (a message on stderr; "not implemented" for a stub).
 */
#include "mempool.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- counting the allocation functions --------------------------------------------------- */

/* glibc's own allocator, under the names it exports for programs that wrap it */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);

enum { C_MALLOC, C_CALLOC, C_REALLOC, C_FREE, C_ALIGNED, C_MMAP, C_KINDS };
static const char *const kind_name[C_KINDS] = {
    "malloc", "calloc", "realloc", "free", "aligned allocation", "mmap"};
static int counting;
static long calls[C_KINDS];

static void count(int kind)
{
    if (counting)
        calls[kind]++;
}

void *malloc(size_t n)
{
    count(C_MALLOC);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    count(C_CALLOC);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    count(C_REALLOC);
    return __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t n, size_t size)
{
    count(C_REALLOC);
    if (size != 0 && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(p, n * size);
}

void free(void *p)
{
    count(C_FREE);
    __libc_free(p);
}

void *aligned_alloc(size_t align, size_t n)
{
    count(C_ALIGNED);
    return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
    count(C_ALIGNED);
    return __libc_memalign(align, n);
}

void *valloc(size_t n)
{
    count(C_ALIGNED);
    return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    count(C_ALIGNED);
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = __libc_memalign(align, n);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    count(C_MMAP);
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

/* ---- the two checks ---------------------------------------------------------------------- */

static void fail_pool(const char *call)
{
    if (errno == ENOSYS)
        fprintf(stderr, "poolcheck: %s: not implemented\n", call);
    else
        fprintf(stderr, "poolcheck: %s failed: %s\n", call, strerror(errno));
    exit(3);
}

static struct mempool *create(size_t size, size_t n)
{
    struct mempool *p = mempool_create(size, n);
    if (p == NULL)
        fail_pool("mempool_create");
    return p;
}

static void *take(struct mempool *p)
{
    void *c = mempool_alloc(p);
    if (c == NULL)
        fail_pool("mempool_alloc");
    return c;
}

static void give(struct mempool *p, void *c)
{
    if (mempool_free(p, c) != 0)
        fail_pool("mempool_free");
}

static int use_after_free(void)
{
    struct mempool *p = create(40, 2);
    size_t size = mempool_chunk_size(p);
    unsigned char *a = take(p);
    unsigned char *b = take(p);
    memset(a, 0xa5, size);
    memset(b, 0x5a, size);
    give(p, a);
    /* the one invalid access: a read of a freed chunk (volatile: it must happen) */
    unsigned char seen = *(volatile unsigned char *)a;
    unsigned char *again = take(p); /* the only free chunk: a */
    memset(again, 0x3c, size);      /* live again: no error */
    printf("read %u from a freed chunk; chunk %s again\n", seen, again == a ? "taken" : "other");
    give(p, again);
    give(p, b);
    mempool_destroy(p);
    return 0;
}

static int no_malloc(void)
{
    enum { N = 1000 };
    static void *c[N];
    counting = 1;
    struct mempool *p = create(48, N);
    long at_create = 0;
    for (int k = 0; k < C_KINDS; k++) {
        at_create += calls[k];
        calls[k] = 0;
    }
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < N; i++)
            c[i] = take(p);
        (void)mempool_available(p);
        for (int i = 0; i < N; i++) /* in another order each round */
            give(p, c[((size_t)i * 7 + (size_t)round * 13) % N]);
        for (int i = 0; i < N; i++) {
            void *x = take(p);
            give(p, x);
        }
    }
    counting = 0;
    long after = 0;
    for (int k = 0; k < C_KINDS; k++)
        after += calls[k];
    mempool_destroy(p);
    printf("mempool_create made %ld allocation call%s; 20000 mempool_alloc and mempool_free "
           "afterwards made %ld",
           at_create, at_create == 1 ? "" : "s", after);
    for (int k = 0; k < C_KINDS; k++)
        if (calls[k] > 0)
            printf(", %s %ld", kind_name[k], calls[k]);
    printf("\n");
    return after == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "use-after-free") == 0)
        return use_after_free();
    if (argc == 2 && strcmp(argv[1], "no-malloc") == 0)
        return no_malloc();
    fprintf(stderr, "usage: poolcheck use-after-free|no-malloc\n");
    return 2;
}
