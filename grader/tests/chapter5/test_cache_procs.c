/*
 * test_cache_procs.c: tests of ex5.2 (the student's cache.c) with a second process: a process
 * that attaches finds the records the creator put there (attaching never wipes), and the
 * stress where the test writes (updates, removes and inserts again) while a reader process
 * looks records up millions of times. Every value carries its key and a checksum of its words
 * (test_cache.h), so a copy made while the writer was half way through the slot is seen: not
 * one may reach the reader.
 *
 * The helper processes are forks of the test (gt_fork_helper) with handles of their own;
 * they report in a shared page and end with _exit.
 */
#include "gt.h"
#include "test_cache.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a helper process tells the test. */
struct page {
    volatile int failed;
    char why[600];
    _Atomic int stop;         /* set by the test: the reader may end */
    _Atomic uint64_t lookups; /* the reader's so far */
    uint64_t hits, misses, torn, retries;
};

static struct page *page_new(void)
{
    struct page *p =
        mmap(NULL, sizeof *p, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        gt_fail("mmap(a shared page for the helper's report): %s", strerror(errno));
    memset(p, 0, sizeof *p);
    return p;
}

static void helper_fail(struct page *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void helper_fail(struct page *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof p->why, fmt, ap);
    va_end(ap);
    p->failed = 1;
    _exit(1);
}

/* Wait (timeout_s, scaled) for the helper and fail the test unless it exited 0. */
static void helper_wait(pid_t pid, struct page *p, const char *who, double timeout_s)
{
    double deadline = gt_now() + timeout_s * gt_time_scale();
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (gt_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            gt_fail("the %s did not finish within %.0f s", who, timeout_s * gt_time_scale());
        }
        gt_sleep(0.005);
    }
    if (p->failed)
        gt_fail("%s%s: %s", gt_ni_prefix(p->why), who, p->why);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        gt_fail("the %s %s", who, gt_status_str(status, 0));
}

/* ---- attaching keeps the records ------------------------------------------------------------- */

#define W_KEYS 300
#define W_VSIZE 40u

/* In the helper: every record of the creator is there, with its value; removed ones are not;
 * the statistics are the creator's. */
static void check_all(struct page *p, const struct cache *c, const uint64_t *keys,
                      const struct cache_stats *want, const char *how)
{
    unsigned char v[W_VSIZE];
    char why[300];
    for (int i = 0; i < W_KEYS; i++) {
        errno = 0;
        int rc = cache_lookup(c, keys[i], v, NULL);
        if (i % 7 == 0) {
            if (rc == 0 || errno != ENOENT)
                helper_fail(p,
                            "%s: cache_lookup of key 0x%llx, removed by the creator, returned "
                            "%d (%s); expected ENOENT",
                            how, (unsigned long long)keys[i], rc, rc ? strerror(errno) : "found");
            continue;
        }
        if (rc != 0)
            helper_fail(p, "%s%s: cache_lookup of key 0x%llx, inserted by the creator: %s",
                        errno == ENOSYS ? "not implemented: " : "", how,
                        (unsigned long long)keys[i], strerror(errno));
        if (tc_value_check(v, W_VSIZE, keys[i], why, sizeof why) != 0)
            helper_fail(p, "%s: %s", how, why);
    }
    struct cache_stats st;
    cache_stats(c, &st);
    if (st.entries != want->entries || memcmp(st.fill, want->fill, sizeof st.fill) != 0)
        helper_fail(p,
                    "%s: cache_stats says %llu entries (row 0: %llu); the creator's table "
                    "holds %llu (row 0: %llu)",
                    how, (unsigned long long)st.entries, (unsigned long long)st.fill[0],
                    (unsigned long long)want->entries, (unsigned long long)want->fill[0]);
}

GT_TEST(cache_attach_never_wipes, 60)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 4, 211, W_VSIZE);
    static uint64_t keys[W_KEYS];
    uint64_t state = 3;
    for (int i = 0; i < W_KEYS; i++) {
        keys[i] = tc_rand(&state);
        tc_insert_ok(c, keys[i], 1, W_VSIZE, "the creator filling the table");
    }
    for (int i = 0; i < W_KEYS; i += 7)
        if (cache_remove(c, keys[i]) != 0) {
            gt_fail_if_not_implemented("cache_remove");
            gt_fail("cache_remove(key 0x%llx): %s", (unsigned long long)keys[i], strerror(errno));
        }
    struct cache_stats want;
    cache_stats(c, &want);
    struct page *p = page_new();
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        for (int readonly = 0; readonly <= 1; readonly++) {
            const char *how = readonly ? "another process, attached read-only"
                                       : "another process, attached read-write";
            struct cache *mine = cache_attach(key, readonly);
            if (!mine)
                helper_fail(p, "%s%s: cache_attach(key 0x%x) of the creator's table: %s",
                            errno == ENOSYS ? "not implemented: " : "", how, (unsigned)key,
                            strerror(errno));
            check_all(p, mine, keys, &want, how);
            cache_close(mine);
        }
        _exit(0);
    }
    helper_wait(pid, p, "attaching process", 30);
    /* and the creator, after the other process attached twice */
    for (int i = 1; i < W_KEYS; i++)
        if (i % 7)
            tc_expect_value(c, keys[i], 1, W_VSIZE,
                            "the creator, after another process attached (an attach must not "
                            "wipe the table)");
    struct cache_stats now;
    cache_stats(c, &now);
    if (now.entries != want.entries)
        gt_fail("the creator's cache_stats says %llu entries after another process attached; "
                "%llu before",
                (unsigned long long)now.entries, (unsigned long long)want.entries);
    munmap(p, sizeof *p);
    cache_close(c);
    cache_destroy(key);
    tc_expect_gone(key, "cache_destroy");
}

/* ---- the stress: one writer, one reader, no torn read ---------------------------------------- */

#define S_RECORDS 64
#define S_VSIZE 128u
#define S_LOOKUPS 3000000ull /* at least this many lookups ... */
#define S_WRITES 300000ull   /* ... while the writer changes a record at least this often */
#define S_MIN_SECONDS 1.0    /* ... and for at least this long */
#define S_MAX_SECONDS 20.0   /* whichever takes longer, but not longer than this */

/* Two CPUs of this process's set, cpu[0] and cpu[1]; 0 if it has only one. A reader that
 * shares one CPU with the writer sees it stopped only where the scheduler preempts it, so a
 * copy made during a write is rare; on two CPUs both run at once, as in a real server. */
static int two_cpus(int cpu[2])
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    int n = 0;
    for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
        if (CPU_ISSET(i, &set))
            cpu[n++] = i;
    return n == 2;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set); /* best effort: the test holds without it */
}

static void reader(struct page *p, key_t key, const uint64_t *keys)
{
    struct cache *c = cache_attach(key, 1);
    if (!c)
        helper_fail(p, "%sreader: cache_attach(key 0x%x, read-only): %s",
                    errno == ENOSYS ? "not implemented: " : "", (unsigned)key, strerror(errno));
    unsigned char v[S_VSIZE];
    char why[300];
    uint64_t n = 0, x = 77;
    while (!atomic_load(&p->stop)) {
        uint64_t k = keys[tc_rand(&x) % S_RECORDS];
        if (cache_lookup(c, k, v, &p->retries) == 0) {
            p->hits++;
            if (tc_value_check(v, S_VSIZE, k, why, sizeof why) != 0 && p->torn++ == 0)
                snprintf(p->why, sizeof p->why, "after %llu lookups: %s", (unsigned long long)n,
                         why);
        } else if (errno == ENOENT) {
            p->misses++; /* the writer removes a record now and then, and inserts it again */
        } else {
            helper_fail(p, "%sreader: cache_lookup(key 0x%llx): %s",
                        errno == ENOSYS ? "not implemented: " : "", (unsigned long long)k,
                        strerror(errno));
        }
        atomic_store_explicit(&p->lookups, ++n, memory_order_relaxed);
    }
    cache_close(c);
    _exit(0);
}

GT_TEST(cache_two_process_no_torn_reads, 120)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 4, 97, S_VSIZE); /* 348 slots */
    static uint64_t keys[S_RECORDS], version[S_RECORDS];
    uint64_t state = 21;
    for (int i = 0; i < S_RECORDS; i++) {
        for (;;) { /* a key whose probe is full is replaced by another */
            keys[i] = tc_rand(&state);
            errno = 0;
            if (cache_insert(c, keys[i], NULL) == 0)
                break;
            if (errno != ENOSPC) {
                int err = errno;
                gt_fail_if_not_implemented("cache_insert");
                gt_fail("cache_insert(key 0x%llx): %s", (unsigned long long)keys[i], strerror(err));
            }
        }
        version[i] = 1;
        unsigned char v[S_VSIZE];
        tc_value(v, S_VSIZE, keys[i], 1);
        if (cache_update(c, keys[i], v) != 0)
            gt_fail("cache_update(key 0x%llx) of a key just inserted: %s",
                    (unsigned long long)keys[i], strerror(errno));
    }
    struct page *p = page_new();
    int cpu[2], pinned = two_cpus(cpu);
    cpu_set_t before;
    if (pinned && sched_getaffinity(0, sizeof before, &before) != 0)
        pinned = 0;
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        if (pinned)
            pin(cpu[1]);
        reader(p, key, keys);
    }
    if (pinned)
        pin(cpu[0]);
    /* the writer: a random record gets a new version; one time in 16 it is removed and
     * inserted again instead */
    unsigned char v[S_VSIZE];
    uint64_t writes = 0, x = 99;
    double start = gt_now();
    for (;;) {
        int i = (int)(tc_rand(&x) % S_RECORDS);
        tc_value(v, S_VSIZE, keys[i], ++version[i]);
        if (tc_rand(&x) % 16 == 0) {
            if (cache_remove(c, keys[i]) != 0 || cache_insert(c, keys[i], v) != 0)
                gt_fail("writer: removing and inserting key 0x%llx again: %s",
                        (unsigned long long)keys[i], strerror(errno));
        } else if (cache_update(c, keys[i], v) != 0) {
            gt_fail("writer: cache_update(key 0x%llx): %s", (unsigned long long)keys[i],
                    strerror(errno));
        }
        writes++;
        if ((writes & 1023) == 0 &&
            ((writes >= S_WRITES && atomic_load(&p->lookups) >= S_LOOKUPS &&
              gt_now() - start >= S_MIN_SECONDS) ||
             gt_now() - start > S_MAX_SECONDS || p->failed))
            break;
    }
    atomic_store(&p->stop, 1);
    if (pinned)
        (void)sched_setaffinity(0, sizeof before, &before);
    helper_wait(pid, p, "reader process", 30);
    if (p->torn)
        gt_fail("%llu of %llu lookups by a reader in another process returned a torn record (a "
                "copy made while the writer was changing the slot). The first: %s",
                (unsigned long long)p->torn, (unsigned long long)p->lookups, p->why);
    if (p->hits < p->lookups / 2)
        gt_fail("the reader found only %llu of %llu records it looked up (%llu missing); the "
                "writer removes one only for an instant",
                (unsigned long long)p->hits, (unsigned long long)p->lookups,
                (unsigned long long)p->misses);
    munmap(p, sizeof *p);
    cache_close(c);
    cache_destroy(key);
    tc_expect_gone(key, "cache_destroy");
}
