/*
 * test_mempool.c: tests of ex5.1, the memory pool (mempool.c), linked into the test runner.
 *
 * The unit tests call the student's pool directly. Chunks are written whole, so that two
 * chunks that overlap, or a chunk that runs past the pool, show up as changed bytes (and under
 * valgrind as invalid writes). Every refused mempool_free must leave the pool as it was: after
 * each one the test checks mempool_available, and the double-free test takes every chunk
 * afterwards to see that none is handed out twice.
 *
 * Two behaviours need a process of their own, poolcheck (grader/tests/chapter5/progs/, built
 * with the student's mempool.c): that alloc and free never call malloc (poolcheck defines
 * malloc and its kin, so it sees every call), and that memcheck sees a read of a freed chunk
 * (poolcheck run under valgrind by the test: the runner itself is under valgrind on the
 * memcheck pass, where an error must never be provoked on purpose).
 */
#include "gt.h"
#include "mempool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ALIGN alignof(max_align_t)

static struct mempool *pool(size_t size, size_t n)
{
    errno = 0;
    struct mempool *p = mempool_create(size, n);
    if (p == NULL) {
        gt_fail_if_not_implemented("mempool_create");
        gt_fail("mempool_create(%zu, %zu) returned NULL (errno %d, %s), expected a pool", size, n,
                errno, strerror(errno));
    }
    return p;
}

/* mempool_alloc that must give a chunk. */
static unsigned char *take(struct mempool *p, const char *what)
{
    errno = 0;
    unsigned char *c = mempool_alloc(p);
    if (c == NULL) {
        gt_fail_if_not_implemented("mempool_alloc");
        gt_fail("mempool_alloc (%s) returned NULL (errno %d, %s), expected a chunk", what, errno,
                strerror(errno));
    }
    return c;
}

/* mempool_free that must work. */
static void give(struct mempool *p, void *c, const char *what)
{
    errno = 0;
    if (mempool_free(p, c) != 0) {
        gt_fail_if_not_implemented("mempool_free");
        gt_fail("mempool_free(%p) (%s) returned -1 (errno %d, %s), expected 0", c, what, errno,
                strerror(errno));
    }
}

static void expect_available(const struct mempool *p, size_t want, const char *when)
{
    size_t n = mempool_available(p);
    if (n != want)
        gt_fail("mempool_available is %zu %s, expected %zu", n, when, want);
}

/* mempool_alloc of a pool whose every chunk is taken: NULL with ENOMEM. */
static void expect_empty(struct mempool *p, const char *when)
{
    errno = 0;
    void *x = mempool_alloc(p);
    if (x != NULL)
        gt_fail("mempool_alloc returned %p %s, expected NULL with ENOMEM", x, when);
    if (errno != ENOMEM)
        gt_fail("mempool_alloc %s returned NULL with errno %d (%s), expected ENOMEM", when, errno,
                strerror(errno));
}

/* mempool_free that must be refused with errno want, the pool left as it was. */
static void expect_refused(struct mempool *p, const void *c, int want, const char *what)
{
    size_t before = mempool_available(p);
    errno = 0;
    int r = mempool_free(p, (void *)c);
    if (r == -1)
        gt_fail_if_not_implemented("mempool_free");
    if (r != -1 || errno != want)
        gt_fail("mempool_free(%p) of %s returned %d (errno %d, %s), expected -1 with %s", c, what,
                r, r == -1 ? errno : 0, r == -1 ? strerror(errno) : "not set",
                want == EALREADY ? "EALREADY"
                : want == EFAULT ? "EFAULT"
                                 : "EINVAL");
    size_t after = mempool_available(p);
    if (after != before)
        gt_fail("mempool_available went from %zu to %zu after the refused mempool_free of %s: a "
                "refused call must leave the pool as it was",
                before, after, what);
}

/* A pointer off bytes away from c, computed as a number (it may be outside any object). */
static void *moved(const void *c, long off)
{
    return (void *)((uintptr_t)c + (uintptr_t)off);
}

static unsigned char pattern(size_t chunk, size_t i)
{
    return (unsigned char)(chunk * 131 + i * 7 + 1);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

GT_TEST(mempool_alloc_distinct_aligned_usable, 20)
{
    static const size_t sizes[] = {1, 8, 24, 40, 100, 1000};
    enum { N = 50 };
    void *c[N], *sorted[N];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        struct mempool *p = pool(sizes[s], N);
        size_t cs = mempool_chunk_size(p);
        if (cs < sizes[s])
            gt_fail("mempool_chunk_size is %zu for a pool of %zu-byte chunks, expected at least "
                    "%zu",
                    cs, sizes[s], sizes[s]);
        for (size_t i = 0; i < N; i++) {
            char what[64];
            snprintf(what, sizeof what, "chunk %zu of %d, %zu bytes", i + 1, N, sizes[s]);
            c[i] = take(p, what);
            if ((uintptr_t)c[i] % ALIGN != 0)
                gt_fail("mempool_alloc gave %p as %s: not a multiple of alignof(max_align_t) = "
                        "%zu, so the chunk can not hold every type (round the chunk size up)",
                        c[i], what, (size_t)ALIGN);
            for (size_t k = 0; k < cs; k++) /* the whole chunk is ours to write */
                ((unsigned char *)c[i])[k] = pattern(i, k);
        }
        for (size_t i = 0; i < N; i++)
            for (size_t k = 0; k < cs; k++)
                if (((unsigned char *)c[i])[k] != pattern(i, k))
                    gt_fail("chunk %zu of %d (%p, %zu bytes) changed at byte %zu after the other "
                            "chunks were written: chunks overlap",
                            i + 1, N, c[i], cs, k);
        memcpy(sorted, c, sizeof c);
        qsort(sorted, N, sizeof sorted[0], cmp_ptr);
        for (size_t i = 1; i < N; i++)
            if ((uintptr_t)sorted[i] - (uintptr_t)sorted[i - 1] < cs)
                gt_fail("mempool_alloc gave %p and %p, %zu bytes apart, in a pool of %zu-byte "
                        "chunks: %s",
                        sorted[i - 1], sorted[i],
                        (size_t)((uintptr_t)sorted[i] - (uintptr_t)sorted[i - 1]), cs,
                        sorted[i] == sorted[i - 1] ? "the same chunk twice" : "they overlap");
        for (size_t i = 0; i < N; i++)
            give(p, c[i], "every chunk given back");
        mempool_destroy(p);
    }
    mempool_destroy(NULL); /* allowed */
}

GT_TEST(mempool_exhausted_null_enomem, 10)
{
    struct mempool *p = pool(32, 5);
    void *c[5];
    for (int i = 0; i < 5; i++)
        c[i] = take(p, "one of the 5 chunks of the pool");
    expect_available(p, 0, "with all 5 chunks taken");
    expect_empty(p, "with all 5 chunks of the pool taken");
    expect_empty(p, "once more, all 5 chunks still taken");
    expect_available(p, 0, "after mempool_alloc on an empty pool");
    for (int i = 0; i < 5; i++)
        give(p, c[i], "after the pool ran out");
    expect_available(p, 5, "with all 5 chunks given back");
    mempool_destroy(p);
}

GT_TEST(mempool_free_then_alloc_reuses, 10)
{
    struct mempool *p = pool(64, 3);
    unsigned char *a = take(p, "a"), *b = take(p, "b"), *c = take(p, "c");
    give(p, b, "b, the middle one");
    expect_available(p, 1, "after taking 3 chunks of 3 and giving one back");
    unsigned char *x = take(p, "the only free chunk");
    if (x != b)
        gt_fail("mempool_alloc gave %p with only the chunk %p free (just given back), expected "
                "that one",
                (void *)x, (void *)b);
    expect_available(p, 0, "after taking it again");
    give(p, a, "a");
    give(p, c, "c");
    unsigned char *y = take(p, "c, freed last"), *z = take(p, "a, the other one");
    if (y != c || z != a)
        gt_fail("with a (%p) and then c (%p) given back, two mempool_alloc gave %p and %p: the "
                "chunk freed last is the next one handed out (c, then a: push and pop the head "
                "of the free list)",
                (void *)a, (void *)c, (void *)y, (void *)z);
    give(p, x, "the reused b");
    give(p, y, "y");
    give(p, z, "z");
    expect_available(p, 3, "after giving every chunk back");
    mempool_destroy(p);

    p = pool(100, 1); /* one chunk, taken and given back over and over */
    a = take(p, "the only chunk");
    for (int i = 0; i < 1000; i++) {
        give(p, a, "the only chunk");
        x = take(p, "the only chunk, again");
        if (x != a)
            gt_fail("a pool of one chunk gave %p, then %p", (void *)a, (void *)x);
    }
    give(p, a, "the only chunk, at last");
    mempool_destroy(p);
}

GT_TEST(mempool_double_free_ealready_pool_intact, 10)
{
    struct mempool *p = pool(32, 4);
    unsigned char *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = take(p, "one of 4");
    give(p, c[0], "the first chunk");
    expect_refused(p, c[0], EALREADY, "a chunk just given back (a double free)");
    give(p, c[1], "the second chunk");
    expect_refused(p, c[0], EALREADY, "the first chunk once more (a double free)");
    expect_refused(p, c[1], EALREADY, "the second chunk once more (a double free)");
    expect_available(p, 2, "after two mempool_free and three refused double frees");
    /* the pool still right: exactly the two free chunks come out, each once */
    unsigned char *x = take(p, "the first of 2 free chunks");
    unsigned char *y = take(p, "the second of 2 free chunks");
    if (x == y)
        gt_fail("after double frees, mempool_alloc gave the same chunk %p twice", (void *)x);
    if (!((x == c[0] && y == c[1]) || (x == c[1] && y == c[0])))
        gt_fail("after double frees of %p and %p, mempool_alloc gave %p and %p", (void *)c[0],
                (void *)c[1], (void *)x, (void *)y);
    expect_empty(p, "with all 4 chunks taken after the double frees (a refused double free "
                    "must not count as a free chunk)");
    for (int i = 0; i < 4; i++)
        give(p, c[i], "every chunk at the end");
    expect_available(p, 4, "at the end");
    mempool_destroy(p);
}

GT_TEST(mempool_foreign_pointer_efault, 10)
{
    struct mempool *p = pool(32, 4), *q = pool(32, 4);
    size_t cs = mempool_chunk_size(p);
    unsigned char *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = take(p, "one of 4");
    unsigned char *lo = c[0], *hi = c[0];
    for (int i = 1; i < 4; i++) {
        if ((uintptr_t)c[i] < (uintptr_t)lo)
            lo = c[i];
        if ((uintptr_t)c[i] > (uintptr_t)hi)
            hi = c[i];
    }
    give(p, c[3], "one chunk, so that the pool has a free one");
    int local = 0;
    void *heap = malloc(64);
    if (heap == NULL)
        gt_fail("malloc(64) failed");
    void *other = take(q, "a chunk of another pool");
    expect_refused(p, &local, EFAULT, "a local variable's address");
    expect_refused(p, heap, EFAULT, "a block from malloc");
    expect_refused(p, other, EFAULT, "a chunk of another pool");
    expect_refused(p, NULL, EFAULT, "NULL");
    expect_refused(p, moved(lo, -(long)cs), EFAULT, "the address one chunk below the first chunk");
    expect_refused(p, moved(lo, -1), EFAULT, "the byte just below the first chunk");
    expect_refused(p, moved(hi, (long)cs), EFAULT, "the address just past the last chunk");
    expect_refused(p, moved(hi, 64 * (long)cs), EFAULT, "an address far past the last chunk");
    free(heap);
    give(q, other, "the other pool's chunk, to its own pool");
    for (int i = 0; i < 3; i++)
        give(p, c[i], "the chunks still taken");
    expect_available(p, 4, "at the end");
    mempool_destroy(q);
    mempool_destroy(p);
}

GT_TEST(mempool_middle_of_chunk_einval, 10)
{
    struct mempool *p = pool(40, 3);
    size_t cs = mempool_chunk_size(p);
    unsigned char *a = take(p, "a"), *b = take(p, "b");
    expect_refused(p, a + 1, EINVAL, "the second byte of a live chunk");
    expect_refused(p, a + cs / 2, EINVAL, "the middle of a live chunk");
    expect_refused(p, a + cs - 1, EINVAL, "the last byte of a live chunk");
    if (cs > ALIGN)
        expect_refused(p, a + ALIGN, EINVAL,
                       "an aligned address inside a live chunk (alignment is not enough)");
    give(p, a, "a, at its start");
    expect_refused(p, a + ALIGN / 2, EINVAL, "the inside of a free chunk (EINVAL, not EALREADY)");
    expect_refused(p, b + cs - 1, EINVAL, "the last byte of another live chunk");
    give(p, b, "b, at its start");
    expect_available(p, 3, "at the end");
    mempool_destroy(p);
}

/* The lines written to descriptor 2 while fn ran (stderr, which stdio does not buffer). */
static void capture_stderr(char *buf, size_t cap, void (*fn)(struct mempool *, unsigned char *),
                           struct mempool *p, unsigned char *c)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/stderr.txt", gt_tmpdir());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int saved = dup(2);
    if (fd == -1 || saved == -1)
        gt_fail("open(%s) or dup(2) failed: %s", path, strerror(errno));
    fflush(stderr);
    dup2(fd, 2);
    fn(p, c);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
}

static void double_free(struct mempool *p, unsigned char *c)
{
    expect_refused(p, c, EALREADY, "a free chunk");
}

static void foreign_free(struct mempool *p, unsigned char *c)
{
    (void)c;
    static long outside;
    expect_refused(p, &outside, EFAULT, "a static variable's address");
}

static void middle_free(struct mempool *p, unsigned char *c)
{
    expect_refused(p, c + 1, EINVAL, "the second byte of a chunk");
}

/* 1 if text contains one of the words (case ignored). */
static int mentions(const char *text, const char *const *words)
{
    for (; *words; words++)
        if (strcasestr(text, *words))
            return 1;
    return 0;
}

GT_TEST(mempool_bad_free_message_on_stderr, 10)
{
    static const char *const w_double[] = {"double", "already", "twice", NULL};
    static const char *const w_foreign[] = {"outside",     "not in",     "foreign", "not from",
                                            "not a chunk", "not one of", "efault",  NULL};
    static const char *const w_middle[] = {"middle", "inside", "not at", "start", "einval", NULL};
    static const struct {
        const char *call;
        void (*fn)(struct mempool *, unsigned char *);
        const char *const *words;
    } cases[] = {{"a double free", double_free, w_double},
                 {"the free of a pointer outside the pool", foreign_free, w_foreign},
                 {"the free of a pointer into the middle of a chunk", middle_free, w_middle}};
    struct mempool *p = pool(32, 2);
    unsigned char *a = take(p, "a"), *b = take(p, "b");
    give(p, a, "a");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        capture_stderr(text, sizeof text, cases[i].fn, p, i == 0 ? a : b);
        size_t len = strlen(text);
        if (len == 0)
            gt_fail("%s printed nothing on stderr: in debug builds (NDEBUG not defined, as here) "
                    "a refused mempool_free prints one line that names the fault",
                    cases[i].call);
        if (text[len - 1] != '\n' || strchr(text, '\n') != text + len - 1)
            gt_fail("%s printed \"%s\" on stderr, expected one line that ends with a newline",
                    cases[i].call, gt_head(text));
        if (!mentions(text, cases[i].words))
            gt_fail("%s printed \"%s\" on stderr: the line should name the fault (with a word "
                    "such as '%s')",
                    cases[i].call, gt_head(text), cases[i].words[0]);
    }
    give(p, b, "b");
    mempool_destroy(p);
}

GT_TEST(mempool_create_bad_sizes_einval, 10)
{
    static const struct {
        size_t size, n;
        const char *why;
    } bad[] = {
        {0, 10, "a chunk size of 0"},
        {10, 0, "0 chunks"},
        {0, 0, "both 0"},
        {SIZE_MAX, 1, "a chunk size whose rounding up overflows"},
        {SIZE_MAX - 5, 2, "a chunk size whose rounding up overflows"},
        {SIZE_MAX / 2, 3, "a pool larger than SIZE_MAX"},
        {16, SIZE_MAX, "SIZE_MAX chunks"},
        {64, SIZE_MAX / 32, "a pool larger than SIZE_MAX"},
        {(size_t)1 << 32, (size_t)1 << 33, "a pool of 2^65 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        struct mempool *p = mempool_create(bad[i].size, bad[i].n);
        if (p == NULL)
            gt_fail_if_not_implemented("mempool_create");
        if (p != NULL || errno != EINVAL) {
            int e = errno;
            mempool_destroy(p);
            gt_fail("mempool_create(%zu, %zu) (%s) returned %s (errno %d, %s), expected NULL with "
                    "EINVAL",
                    bad[i].size, bad[i].n, bad[i].why, p ? "a pool" : "NULL", e, strerror(e));
        }
    }
    mempool_destroy(pool(1, 1)); /* and a small pool is fine */
}

GT_TEST(mempool_chunk_size_rounded_up, 10)
{
    static const size_t sizes[] = {1, 15, 16, 17, 24, 100, 4096, 4097};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = 3 + i;
        struct mempool *p = pool(sizes[i], n);
        size_t want = (sizes[i] + ALIGN - 1) / ALIGN * ALIGN;
        size_t got = mempool_chunk_size(p);
        size_t cap = mempool_capacity(p), avail = mempool_available(p);
        mempool_destroy(p);
        if (got != want)
            gt_fail("mempool_chunk_size is %zu for mempool_create(%zu, %zu), expected %zu (%zu "
                    "rounded up to a multiple of alignof(max_align_t) = %zu)",
                    got, sizes[i], n, want, sizes[i], (size_t)ALIGN);
        if (cap != n || avail != n)
            gt_fail("a new pool made by mempool_create(%zu, %zu) has mempool_capacity %zu and "
                    "mempool_available %zu, expected %zu and %zu",
                    sizes[i], n, cap, avail, n, n);
    }
}

GT_TEST(mempool_no_malloc_after_create, 30)
{
    static const char *const args[] = {"no-malloc", NULL};
    static gt_result r;
    gt_run(&r, 20, gt_student("poolcheck"), args);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) > 1)
        gt_fail("poolcheck no-malloc (your pool in the grader's program that counts mallocs) %s; "
                "stderr: %s",
                gt_status_str(r.status, r.timed_out), gt_err_or_empty(&r));
    if (WEXITSTATUS(r.status) == 1)
        gt_fail("mempool_alloc and mempool_free must not allocate (everything comes from the one "
                "allocation of mempool_create): %s",
                gt_out_head(&r));
}

/* The number after "ERROR SUMMARY: " in valgrind's log, or -1. */
static long error_summary(const char *log)
{
    const char *s = strstr(log, "ERROR SUMMARY: ");
    return s ? strtol(s + 15, NULL, 10) : -1;
}

GT_TEST(mempool_memcheck_sees_use_after_free, 60)
{
    char log_opt[4200], supp_opt[4200], path[4096];
    snprintf(path, sizeof path, "%s/poolcheck.vg", gt_tmpdir());
    snprintf(log_opt, sizeof log_opt, "--log-file=%s", path);
    const char *supp = getenv(GT_ENV_VALGRIND_SUPP);
    const char *args[8];
    int k = 0;
    args[k++] = "--tool=memcheck";
    args[k++] = "--leak-check=no";
    args[k++] = log_opt;
    if (supp != NULL && supp[0] != '\0') {
        snprintf(supp_opt, sizeof supp_opt, "--suppressions=%s", supp);
        args[k++] = supp_opt;
    }
    args[k++] = gt_student("poolcheck");
    args[k++] = "use-after-free";
    args[k] = NULL;
    static gt_result r;
    gt_run(&r, 45, "valgrind", args);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
        gt_fail("valgrind poolcheck use-after-free (your pool under memcheck) %s: %s",
                gt_status_str(r.status, r.timed_out),
                WIFEXITED(r.status) && WEXITSTATUS(r.status) == 127 && !r.timed_out
                    ? "valgrind is needed (make deps)"
                    : gt_err_or_empty(&r));
    static char log[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, log, sizeof log - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        gt_fail("valgrind wrote no log to %s", path);
    log[n] = '\0';
    long errors = error_summary(log);
    if (!strstr(log, "Invalid read"))
        gt_fail(
            "memcheck did not see a read of a chunk after mempool_free (valgrind's summary: %ld "
            "errors): tell it which chunks are free with VALGRIND_CREATE_MEMPOOL, "
            "VALGRIND_MEMPOOL_ALLOC and VALGRIND_MEMPOOL_FREE (and mark the chunks of a new "
            "pool inaccessible)",
            errors);
    if (errors != 1) {
        const char *first = strstr(log, "Invalid");
        gt_fail("memcheck reported %ld errors where there is one, the read after mempool_free "
                "(the program also writes live chunks whole, and a chunk taken again after its "
                "free): %s",
                errors, gt_head(first ? first : log));
    }
}

/* ---- random operations against a model --------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

GT_TEST(mempool_random_ops_match_model, 60)
{
    enum { CAP = 200, STEPS = 60000 };
    static unsigned char *live[CAP];
    static unsigned tag[CAP];
    size_t nlive = 0;
    unsigned char *dead = NULL; /* the last chunk given back, while not taken again */
    struct mempool *p = pool(56, CAP);
    size_t cs = mempool_chunk_size(p);
    for (long step = 0; step < STEPS; step++) {
        uint32_t r = next_random() % 100;
        char what[96];
        snprintf(what, sizeof what, "step %ld of a random sequence, %zu chunks taken", step, nlive);
        if (r < 48) {
            if (nlive == CAP) {
                expect_empty(p, "with every chunk taken in a random sequence");
                continue;
            }
            unsigned char *c = take(p, what);
            if ((uintptr_t)c % ALIGN != 0)
                gt_fail("mempool_alloc (%s) gave %p: not aligned to %zu", what, (void *)c,
                        (size_t)ALIGN);
            for (size_t i = 0; i < nlive; i++)
                if (live[i] == c)
                    gt_fail("mempool_alloc (%s) gave %p, a chunk already taken", what, (void *)c);
            if (c == dead)
                dead = NULL;
            tag[nlive] = next_random();
            memset(c, (int)(tag[nlive] & 0xff), cs);
            live[nlive++] = c;
        } else if (r < 96) {
            if (nlive == 0)
                continue;
            size_t i = next_random() % nlive;
            unsigned char *c = live[i];
            for (size_t k = 0; k < cs; k++)
                if (c[k] != (unsigned char)(tag[i] & 0xff))
                    gt_fail("chunk %p changed at byte %zu while it was taken (%s): chunks overlap",
                            (void *)c, k, what);
            give(p, c, what);
            dead = c;
            live[i] = live[--nlive];
            tag[i] = tag[nlive];
        } else if (r < 98) {
            if (dead != NULL)
                expect_refused(p, dead, EALREADY, "a chunk given back and not taken since");
        } else if (nlive > 0) {
            expect_refused(p, live[next_random() % nlive] + ALIGN, EINVAL,
                           "an address 16 bytes into a taken chunk");
        }
        if (mempool_available(p) != CAP - nlive)
            gt_fail("mempool_available is %zu after %s, expected %zu", mempool_available(p), what,
                    (size_t)CAP - nlive);
    }
    while (nlive > 0)
        give(p, live[--nlive], "every chunk at the end");
    mempool_destroy(p);
}
