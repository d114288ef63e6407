/*
 * poolbench: what an alloc + free pair costs in mempool and in glibc's malloc, in the same
 * binary (ex5.1's figures; not a student file: it links whichever mempool.c is built next to
 * it, so `build/chapter5/poolbench` measures yours).
 *
 *   poolbench [-m MODE] [-n COUNT] [-s SIZE] [-w LIVE]
 *
 * One run, one line on stdout: mode=... size=... live=... count=... seconds=... ns=... (ns per
 * alloc + free pair). MODE:
 *   pool     COUNT times mempool_alloc then mempool_free of a pool of SIZE-byte chunks
 *   malloc   the same with malloc(SIZE) and free
 *   bare     the same with the tutorial's pool (listing 13): free chunks linked through their
 *            first bytes, no check of any kind; not a usable pool (a double free or a foreign
 *            pointer corrupts it silently), the floor that shows what mempool's checks cost
 * With -w LIVE, LIVE chunks stay taken throughout (a ring): each pair frees the oldest and
 * takes a new one, so the chunks come and go in another order than last-in first-out.
 * Each pointer is stored in a volatile variable: the compiler may not drop a malloc + free
 * pair whose pointer is never used. The setup (the pool, the LIVE chunks) does not depend on
 * COUNT, so the difference of two runs of different COUNT is the cost of the pairs alone:
 * bench/icount.sh counts instructions per pair that way, under callgrind.
 */
#include "args.h"
#include "log.h"
#include "mempool.h"
#include "timing.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIVE 1000000

struct opts {
    const char *mode;
    long count, size, live;
};

static void usage(FILE *out);
static double run_pool(const struct opts *o);
static double run_malloc(const struct opts *o);
static double run_bare(const struct opts *o);

static void *volatile sink; /* every pointer goes here, so no pair is optimized away */

/* The timed loops, each a function of its own (nothing else competes for registers); each
 * returns non-zero if a call failed (mempool_free refuses the NULL of a failed alloc). */
__attribute__((noinline)) static int pool_pairs(struct mempool *p, long count)
{
    int bad = 0;
    for (long i = 0; i < count; i++) {
        void *c = mempool_alloc(p);
        sink = c;
        bad |= mempool_free(p, c);
    }
    return bad;
}

__attribute__((noinline)) static int pool_ring(struct mempool *p, void **ring, long live,
                                               long count)
{
    int bad = 0;
    for (long i = 0, at = 0; i < count; i++) {
        bad |= mempool_free(p, ring[at]);
        sink = ring[at] = mempool_alloc(p);
        at = at + 1 == live ? 0 : at + 1;
    }
    return bad;
}

/* The tutorial's pool, for comparison only: the free chunks form a list linked through their
 * first bytes. Out of line, as mempool's functions are for poolbench. */
struct bare {
    void *head; /* first free chunk; its first bytes point to the next one */
};

__attribute__((noinline)) static void *bare_alloc(struct bare *b)
{
    void **c = b->head;
    if (c == NULL)
        return NULL;
    b->head = *c;
    return c;
}

__attribute__((noinline)) static void bare_free(struct bare *b, void *chunk)
{
    *(void **)chunk = b->head;
    b->head = chunk;
}

__attribute__((noinline)) static int bare_pairs(struct bare *b, long count)
{
    int bad = 0;
    for (long i = 0; i < count; i++) {
        void *c = bare_alloc(b);
        sink = c;
        bad |= c == NULL;
        bare_free(b, c);
    }
    return bad;
}

__attribute__((noinline)) static int bare_ring(struct bare *b, void **ring, long live, long count)
{
    int bad = 0;
    for (long i = 0, at = 0; i < count; i++) {
        bare_free(b, ring[at]);
        sink = ring[at] = bare_alloc(b);
        bad |= ring[at] == NULL;
        at = at + 1 == live ? 0 : at + 1;
    }
    return bad;
}

__attribute__((noinline)) static int malloc_pairs(size_t size, long count)
{
    int bad = 0;
    for (long i = 0; i < count; i++) {
        void *c = malloc(size);
        sink = c;
        bad |= c == NULL;
        free(c);
    }
    return bad;
}

__attribute__((noinline)) static int malloc_ring(void **ring, long live, size_t size, long count)
{
    int bad = 0;
    for (long i = 0, at = 0; i < count; i++) {
        free(ring[at]);
        sink = ring[at] = malloc(size);
        bad |= ring[at] == NULL;
        at = at + 1 == live ? 0 : at + 1;
    }
    return bad;
}

int main(int argc, char **argv)
{
    log_init(argv[0]);
    struct opts o = {"pool", 10000000, 64, 0};
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "m:n:s:w:h", longs, NULL)) != -1) {
        switch (c) {
        case 'm': o.mode = optarg; break;
        case 'n': o.count = args_number("-n", optarg, 1, 4000000000L); break;
        case 's': o.size = args_number("-s", optarg, 1, 1 << 20); break;
        case 'w': o.live = args_number("-w", optarg, 0, MAX_LIVE); break;
        case 'h': usage(stdout); return 0;
        default: args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
    double ns;
    if (strcmp(o.mode, "pool") == 0)
        ns = run_pool(&o);
    else if (strcmp(o.mode, "malloc") == 0)
        ns = run_malloc(&o);
    else if (strcmp(o.mode, "bare") == 0)
        ns = run_bare(&o);
    else
        args_usage_error("unknown mode '%s' (pool, malloc or bare)", o.mode);
    if (ns < 0)
        return 1;
    printf("mode=%s size=%ld live=%ld count=%ld seconds=%.3f ns=%.2f\n", o.mode, o.size, o.live,
           o.count, ns * (double)o.count / 1e9, ns);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: poolbench [-m MODE] [-n COUNT] [-s SIZE] [-w LIVE]\n"
                 "Measures alloc + free pairs; one line of results on stdout (ns per pair).\n"
                 "  -m MODE    pool (mempool, the default), malloc (glibc's malloc and free) or\n"
                 "             bare (a free list without any check: the floor)\n"
                 "  -n COUNT   pairs (default 10000000)\n"
                 "  -s SIZE    bytes per chunk (default 64)\n"
                 "  -w LIVE    chunks that stay taken, a ring: each pair frees the oldest\n"
                 "             (default 0: each chunk is freed at once)\n");
}

static double run_pool(const struct opts *o)
{
    struct mempool *p = mempool_create((size_t)o->size, (size_t)o->live + 1);
    void **ring = calloc((size_t)o->live + 1, sizeof *ring);
    if (p == NULL || ring == NULL) {
        log_sys("mempool_create(%ld, %ld)", o->size, o->live + 1);
        mempool_destroy(p);
        free(ring);
        return -1;
    }
    int bad = 0;
    for (long i = 0; i < o->live && !bad; i++)
        bad = (ring[i] = mempool_alloc(p)) == NULL;
    uint64_t t0 = timing_now_ns();
    if (!bad)
        bad = o->live == 0 ? pool_pairs(p, o->count) : pool_ring(p, ring, o->live, o->count);
    uint64_t t1 = timing_now_ns();
    if (bad)
        log_sys("mempool_alloc or mempool_free failed");
    for (long i = 0; i < o->live; i++)
        if (ring[i] != NULL)
            mempool_free(p, ring[i]);
    free(ring);
    mempool_destroy(p);
    return bad ? -1 : (double)(t1 - t0) / (double)o->count;
}

static double run_malloc(const struct opts *o)
{
    void **ring = calloc((size_t)o->live + 1, sizeof *ring);
    if (ring == NULL) {
        log_sys("calloc");
        return -1;
    }
    int bad = 0;
    for (long i = 0; i < o->live && !bad; i++)
        bad = (ring[i] = malloc((size_t)o->size)) == NULL;
    uint64_t t0 = timing_now_ns();
    if (!bad)
        bad = o->live == 0 ? malloc_pairs((size_t)o->size, o->count)
                           : malloc_ring(ring, o->live, (size_t)o->size, o->count);
    uint64_t t1 = timing_now_ns();
    if (bad)
        log_sys("malloc(%ld)", o->size);
    for (long i = 0; i < o->live; i++)
        free(ring[i]);
    free(ring);
    return bad ? -1 : (double)(t1 - t0) / (double)o->count;
}

static double run_bare(const struct opts *o)
{
    /* chunks of SIZE rounded up to 16 (at least a pointer), in one block, all free */
    size_t size = ((size_t)o->size + 15) / 16 * 16, n = (size_t)o->live + 1;
    char *mem = malloc(size * n);
    void **ring = calloc(n, sizeof *ring);
    if (mem == NULL || ring == NULL) {
        log_sys("malloc(%zu)", size * n);
        free(mem);
        free(ring);
        return -1;
    }
    struct bare b = {NULL};
    for (size_t i = 0; i < n; i++)
        bare_free(&b, mem + i * size);
    int bad = 0;
    for (long i = 0; i < o->live && !bad; i++)
        bad = (ring[i] = bare_alloc(&b)) == NULL;
    uint64_t t0 = timing_now_ns();
    if (!bad)
        bad = o->live == 0 ? bare_pairs(&b, o->count) : bare_ring(&b, ring, o->live, o->count);
    uint64_t t1 = timing_now_ns();
    if (bad)
        log_msg("the bare pool ran out of chunks");
    free(ring);
    free(mem);
    return bad ? -1 : (double)(t1 - t0) / (double)o->count;
}
