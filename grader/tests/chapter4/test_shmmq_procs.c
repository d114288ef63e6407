/*
 * test_shmmq_procs.c: tests of ex4.2 (the student's shmmq.c) with two processes or two
 * threads: no lost wake-up in a ping-pong where each side sleeps every time it finds its
 * queue empty; a stress of 10 million messages of random sizes with random pauses on both
 * sides, every message checked; a producer and a consumer killed with SIGKILL in the middle
 * of a stream, and restarted; and the two-thread program shmmq_tsan, the student's queue
 * built with ThreadSanitizer, which reports any access to the ring that head and tail do not
 * order (a missing release or acquire).
 *
 * The helper processes are forks of the test (gt_fork_helper), with handles of their own;
 * they report what went wrong in a shared page and end with _exit.
 */
#include "gt.h"
#include "test_shmmq.h"

#include <errno.h>
#include <glob.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a helper process tells the test. */
struct report {
    volatile int failed;
    char why[512];
    volatile uint64_t done;  /* messages handled so far */
    volatile uint64_t first; /* a restarted consumer: the first id it got */
};

static struct report *report_page(void)
{
    void *p = mmap(NULL, sizeof(struct report), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        gt_fail("mmap(a shared page for the helper's report): %s", strerror(errno));
    memset(p, 0, sizeof(struct report));
    return p;
}

/* In a helper: say what went wrong and end. */
static void helper_fail(struct report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void helper_fail(struct report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    r->failed = 1;
    _exit(1);
}

/* shmmq_open in a helper. */
static shmmq *helper_open(struct report *r, key_t key, size_t cap, const char *fifo,
                          enum shmmq_role role)
{
    shmmq *q = shmmq_open(key, cap, fifo, role);
    if (!q)
        helper_fail(r, "%s: shmmq_open(key 0x%x, %zu, %s): %s%s",
                    role == SHMMQ_PRODUCER ? "producer" : "consumer", (unsigned)key, cap,
                    fifo ? fifo : "NULL", errno == ENOSYS ? "not implemented: " : "",
                    strerror(errno));
    return q;
}

/* Wait for the helper to end (timeout_s, scaled) and fail the test unless it exited 0. */
static void helper_wait(pid_t pid, struct report *r, const char *who, double timeout_s)
{
    double deadline = gt_now() + timeout_s * gt_time_scale();
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (gt_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            gt_fail("the %s did not finish within %.0f s%s%s", who, timeout_s * gt_time_scale(),
                    r->failed ? ": " : "", r->failed ? r->why : "");
        }
        gt_sleep(0.002);
    }
    if (r->failed)
        gt_fail("%s%s: %s", gt_ni_prefix(r->why), who, r->why);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        gt_fail("the %s %s", who, gt_status_str(status, 0));
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void spin_ns(uint64_t ns)
{
    double end = gt_now() + (double)ns * 1e-9;
    while (gt_now() < end)
        ;
}

/* Receive the next message into buf (peek/consume when peek is set), sleeping on the FIFO
 * whenever the queue is empty after spinning spin ns. 0, or -1 with why set (a wake-up that
 * never came within wait_s, or an error). */
static int receive(shmmq *q, int peek, uint64_t spin, double wait_s, unsigned char *buf,
                   uint32_t cap, uint64_t *id, uint64_t *ts, uint32_t *len, char *why,
                   size_t whycap)
{
    for (;;) {
        if (peek) {
            const void *m = shmmq_peek(q, id, ts, len);
            if (m) {
                memcpy(buf, m, *len <= cap ? *len : cap);
                shmmq_consume(q);
                return 0;
            }
        } else if (shmmq_dequeue(q, id, ts, buf, cap, len) == 0) {
            return 0;
        }
        if (errno != EAGAIN) {
            snprintf(why, whycap, "shmmq_%s: %s", peek ? "peek" : "dequeue", strerror(errno));
            return -1;
        }
        if (spin && shmmq_wait_ready(q, spin))
            continue;
        int s = shmmq_sleep(q);
        if (s < 0) {
            snprintf(why, whycap, "shmmq_sleep: %s", strerror(errno));
            return -1;
        }
        if (s == 1)
            continue;
        struct pollfd pf = {shmmq_fd(q), POLLIN, 0};
        int n;
        do
            n = poll(&pf, 1, (int)(wait_s * 1000));
        while (n < 0 && errno == EINTR);
        if (n == 0) {
            snprintf(why, whycap,
                     "lost wake-up: shmmq_sleep returned 0 and no byte came on shmmq_fd for %.0f "
                     "s",
                     wait_s);
            return -1;
        }
        shmmq_woken(q);
    }
}

/* ---- wake-ups -------------------------------------------------------------------------- */

#define PINGS 100000

GT_TEST(shmmq_pingpong_no_lost_wakeup, 120)
{
    key_t k0 = gt_ipc_key(0), k1 = gt_ipc_key(1);
    char f0[512], f1[512];
    tq_fifo_path(f0, sizeof f0, 0);
    tq_fifo_path(f1, sizeof f1, 1);
    double wait_s = 5 * gt_time_scale();
    struct report *r = report_page();
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        /* the echo side: every message back, sleeping whenever there is none */
        shmmq *in = helper_open(r, k0, 4096, f0, SHMMQ_CONSUMER);
        shmmq *out = helper_open(r, k1, 4096, f1, SHMMQ_PRODUCER);
        unsigned char buf[64];
        char why[256];
        for (uint64_t i = 0; i < PINGS; i++) {
            uint64_t id, ts;
            uint32_t len;
            if (receive(in, i & 1, ((i * 7919) % 61) * 25, wait_s, buf, sizeof buf, &id, &ts, &len,
                        why, sizeof why) != 0)
                helper_fail(r, "echo side, waiting for ping %llu: %s", (unsigned long long)i, why);
            if (tq_check(i, 8, id, ts, buf, len, why, sizeof why) != 0)
                helper_fail(r, "echo side: %s", why);
            if (shmmq_enqueue(out, id, ts, buf, len) != 0)
                helper_fail(r, "echo side: shmmq_enqueue(pong %llu): %s", (unsigned long long)i,
                            strerror(errno));
            r->done = i + 1;
        }
        shmmq_close(in);
        shmmq_close(out);
        _exit(0);
    }
    shmmq *out = tq_open(k0, 4096, f0, SHMMQ_PRODUCER);
    shmmq *in = tq_open(k1, 4096, f1, SHMMQ_CONSUMER);
    unsigned char buf[64];
    char why[256];
    for (uint64_t i = 0; i < PINGS; i++) {
        tq_enqueue_ok(out, i, 8, "ping");
        uint64_t id, ts;
        uint32_t len;
        if (receive(in, 0, ((i * 104729) % 53) * 25, wait_s, buf, sizeof buf, &id, &ts, &len, why,
                    sizeof why) != 0) {
            if (r->failed)
                gt_fail("%s%s", gt_ni_prefix(r->why), r->why);
            gt_fail("ping %llu (the echo side had answered %llu): %s", (unsigned long long)i,
                    (unsigned long long)r->done, why);
        }
        if (tq_check(i, 8, id, ts, buf, len, why, sizeof why) != 0)
            gt_fail("pong: %s", why);
    }
    helper_wait(pid, r, "echo side", 30);
    shmmq_close(out);
    shmmq_close(in);
    tq_expect_gone(k0, f0, "after the ping-pong");
    tq_expect_gone(k1, f1, "after the ping-pong");
}

/* ---- the stress ----------------------------------------------------------------------- */

#define STRESS_MSGS 10000000ull
#define STRESS_CAP 65536u

GT_TEST(shmmq_stress_10m_random_sizes_and_pauses, 180)
{
    key_t key = gt_ipc_key(0);
    char fifo[512];
    tq_fifo_path(fifo, sizeof fifo, 0);
    uint32_t max = STRESS_CAP / 2 - 24;
    struct report *r = report_page();
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        shmmq *q = helper_open(r, key, STRESS_CAP, fifo, SHMMQ_PRODUCER);
        static unsigned char buf[STRESS_CAP];
        uint64_t rng = 0x2545F4914F6CDD1Dull;
        for (uint64_t id = 0; id < STRESS_MSGS; id++) {
            uint32_t len = tq_len(id, max, 7);
            tq_payload(buf, len, id);
            while (shmmq_enqueue(q, id, TQ_TS(id), buf, len) != 0) {
                if (errno != EAGAIN)
                    helper_fail(r, "producer: shmmq_enqueue(id %llu, %u bytes): %s%s",
                                (unsigned long long)id, len,
                                errno == ENOSYS ? "not implemented: " : "", strerror(errno));
                sched_yield();
            }
            uint64_t x = rng_next(&rng);
            if ((x & 8191) == 0)
                usleep((useconds_t)((x >> 20) % 50));
            else if ((x & 1023) == 1)
                spin_ns((x >> 20) % 2000);
            r->done = id + 1;
        }
        shmmq_close(q);
        _exit(0);
    }
    shmmq *q = tq_open(key, STRESS_CAP, fifo, SHMMQ_CONSUMER);
    static unsigned char buf[STRESS_CAP];
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    char why[256];
    double wait_s = 10 * gt_time_scale();
    for (uint64_t want = 0; want < STRESS_MSGS; want++) {
        uint64_t x = rng_next(&rng), id, ts;
        uint32_t len;
        if (receive(q, (int)(x & 1), (x & 0xf0) ? 50000 : (x >> 8) % 2000, wait_s, buf, sizeof buf,
                    &id, &ts, &len, why, sizeof why) != 0) {
            if (r->failed)
                gt_fail("%s%s", gt_ni_prefix(r->why), r->why);
            gt_fail("message %llu (the producer had sent %llu): %s", (unsigned long long)want,
                    (unsigned long long)r->done, why);
        }
        if (tq_check(want, tq_len(want, max, 7), id, ts, buf, len, why, sizeof why) != 0)
            gt_fail("after %llu messages intact: %s", (unsigned long long)want, why);
        if ((x & 8191) == 2)
            usleep((useconds_t)((x >> 20) % 50));
        else if ((x & 1023) == 3)
            spin_ns((x >> 20) % 2000);
    }
    helper_wait(pid, r, "producer", 30);
    tq_expect_empty(q, "after the 10 million messages");
    shmmq_close(q);
    tq_expect_gone(key, fifo, "after the stress");
}

/* ---- a peer killed with SIGKILL ---------------------------------------------------------- */

/* A producer helper: messages from id first on (count of them, or for ever if 0). */
static void produce_from(struct report *r, key_t key, const char *fifo, uint64_t first,
                         uint64_t count)
{
    shmmq *q = helper_open(r, key, 16384, fifo, SHMMQ_PRODUCER);
    static unsigned char buf[8192];
    uint32_t max = shmmq_max_payload(q);
    for (uint64_t id = first; count == 0 || id < first + count; id++) {
        uint32_t len = tq_len(id, max, 3);
        tq_payload(buf, len, id);
        while (shmmq_enqueue(q, id, TQ_TS(id), buf, len) != 0) {
            if (errno != EAGAIN)
                helper_fail(r, "producer: shmmq_enqueue(id %llu): %s", (unsigned long long)id,
                            strerror(errno));
            sched_yield();
        }
        r->done = id + 1;
    }
    shmmq_close(q);
    _exit(0);
}

/* A consumer helper: every message until the queue stays empty for quiet_s (or for ever if
 * quiet_s is 0), checking each; r->first is the first id, r->done the next one expected. */
static void consume_all(struct report *r, key_t key, const char *fifo, double quiet_s)
{
    shmmq *q = helper_open(r, key, 16384, fifo, SHMMQ_CONSUMER);
    static unsigned char buf[8192];
    uint32_t max = shmmq_max_payload(q);
    char why[256];
    int first = 1;
    for (;;) {
        uint64_t id, ts;
        uint32_t len;
        if (receive(q, 0, 20000, quiet_s > 0 ? quiet_s : 3600, buf, sizeof buf, &id, &ts, &len, why,
                    sizeof why) != 0) {
            if (quiet_s > 0 && strstr(why, "lost wake-up"))
                break; /* quiet: everything was taken */
            helper_fail(r, "consumer: %s", why);
        }
        if (first) {
            r->first = id;
            r->done = id;
            first = 0;
        }
        if (tq_check(r->done, tq_len(r->done, max, 3), id, ts, buf, len, why, sizeof why) != 0)
            helper_fail(r, "consumer: %s", why);
        r->done = id + 1;
    }
    shmmq_close(q);
    _exit(0);
}

static void kill_helper(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

GT_TEST(shmmq_peer_killed_and_restarted, 60)
{
    char why[256];
    /* 1. the producer dies mid-stream: what it published is whole, a new one continues */
    key_t k0 = gt_ipc_key(0);
    char f0[512];
    tq_fifo_path(f0, sizeof f0, 0);
    shmmq *c = tq_open(k0, 16384, f0, SHMMQ_CONSUMER);
    uint32_t max = shmmq_max_payload(c);
    struct report *r = report_page();
    pid_t pid = gt_fork_helper();
    if (pid == 0)
        produce_from(r, k0, f0, 0, 0);
    static unsigned char buf[8192];
    uint64_t next = 0, id, ts;
    uint32_t len;
    for (; next < 30000; next++) {
        if (receive(c, 0, 20000, 10 * gt_time_scale(), buf, sizeof buf, &id, &ts, &len, why,
                    sizeof why) != 0)
            gt_fail("%s%s", gt_ni_prefix(r->why), r->failed ? r->why : why);
        if (tq_check(next, tq_len(next, max, 3), id, ts, buf, len, why, sizeof why) != 0)
            gt_fail("from the first producer: %s", why);
    }
    kill_helper(pid); /* mid-stream: it never stops on its own */
    for (;;) {        /* what it published before it died: intact, in order */
        if (shmmq_dequeue(c, &id, &ts, buf, sizeof buf, &len) != 0) {
            if (errno != EAGAIN)
                gt_fail("shmmq_dequeue after the producer was killed: %s", strerror(errno));
            break;
        }
        if (tq_check(next, tq_len(next, max, 3), id, ts, buf, len, why, sizeof why) != 0)
            gt_fail("what the killed producer left: %s", why);
        next++;
    }
    memset(r, 0, sizeof *r);
    pid = gt_fork_helper();
    if (pid == 0)
        produce_from(r, k0, f0, next, 20000);
    for (uint64_t end = next + 20000; next < end; next++) {
        if (receive(c, 0, 20000, 10 * gt_time_scale(), buf, sizeof buf, &id, &ts, &len, why,
                    sizeof why) != 0)
            gt_fail("%sfrom the restarted producer: %s", gt_ni_prefix(r->why),
                    r->failed ? r->why : why);
        if (tq_check(next, tq_len(next, max, 3), id, ts, buf, len, why, sizeof why) != 0)
            gt_fail("from the restarted producer (the queue must continue where it was): %s", why);
    }
    helper_wait(pid, r, "restarted producer", 20);
    shmmq_close(c);
    tq_expect_gone(k0, f0, "after the producer part");

    /* 2. the consumer dies mid-stream: the producer goes on until full, a new consumer
     *    continues with the very next message */
    key_t k1 = gt_ipc_key(1);
    char f1[512];
    tq_fifo_path(f1, sizeof f1, 1);
    shmmq *p = tq_open(k1, 16384, f1, SHMMQ_PRODUCER);
    memset(r, 0, sizeof *r);
    pid = gt_fork_helper();
    if (pid == 0)
        consume_all(r, k1, f1, 0);
    static unsigned char out[8192];
    uint64_t sent = 0;
    double deadline = gt_now() + 30 * gt_time_scale();
    while (r->done < 30000 && !r->failed) {
        uint32_t n = tq_len(sent, max, 3);
        tq_payload(out, n, sent);
        if (shmmq_enqueue(p, sent, TQ_TS(sent), out, n) == 0)
            sent++;
        else if (errno != EAGAIN)
            gt_fail("shmmq_enqueue(id %llu) with the consumer running: %s",
                    (unsigned long long)sent, strerror(errno));
        else if (gt_now() > deadline)
            gt_fail("the consumer took only %llu messages in 30 s", (unsigned long long)r->done);
        else
            sched_yield();
    }
    if (r->failed)
        gt_fail("%sconsumer: %s", gt_ni_prefix(r->why), r->why);
    kill_helper(pid);
    uint64_t consumed = r->done; /* it had checked every id below this one */
    for (int full = 0; !full;) { /* no consumer: fill the queue, nothing may break */
        uint32_t n = tq_len(sent, max, 3);
        tq_payload(out, n, sent);
        if (shmmq_enqueue(p, sent, TQ_TS(sent), out, n) == 0)
            sent++;
        else if (errno == EAGAIN)
            full = 1;
        else
            gt_fail("shmmq_enqueue(id %llu) after the consumer was killed: %s",
                    (unsigned long long)sent, strerror(errno));
    }
    memset(r, 0, sizeof *r);
    pid = gt_fork_helper();
    if (pid == 0)
        consume_all(r, k1, f1, 0.5 * gt_time_scale());
    helper_wait(pid, r, "restarted consumer", 30);
    if (r->done == 0)
        gt_fail("the restarted consumer got nothing; the queue held every message from id %llu "
                "to %llu (attaching must not wipe the queue)",
                (unsigned long long)consumed, (unsigned long long)sent - 1);
    if (r->first != consumed && r->first != consumed + 1)
        gt_fail("the killed consumer had taken the messages up to id %llu (or one more); the "
                "restarted one began at id %llu",
                (unsigned long long)consumed - 1, (unsigned long long)r->first);
    if (r->done != sent)
        gt_fail("the restarted consumer got ids %llu to %llu; the producer had sent up to %llu",
                (unsigned long long)r->first, (unsigned long long)r->done - 1,
                (unsigned long long)sent - 1);
    shmmq_close(p);
    tq_expect_gone(k1, f1, "after the consumer part");
}

/* ---- ThreadSanitizer -------------------------------------------------------------------- */

/* In a line of ThreadSanitizer's report, "/tmp/<grader's tree>/student/shmmq.c" becomes
 * "chapter4/shmmq.c" (and the test program's path "tsan/..."): the file as the student knows
 * it. */
static void shorten_paths(char *line)
{
    static const char *const marks[][2] = {{"/student/", "chapter4/"},
                                           {"/grader/tests/chapter4/tsan/", "tsan/"}};
    for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++) {
        char *at = strstr(line, marks[m][0]);
        if (!at)
            continue;
        char *start = at;
        while (start > line && start[-1] != ' ' && start[-1] != '(')
            start--;
        char rest[256];
        snprintf(rest, sizeof rest, "%s%s", marks[m][1], at + strlen(marks[m][0]));
        snprintf(start, 256 - (size_t)(start - line), "%s", rest);
    }
}

GT_TEST(shmmq_tsan_two_threads, 120)
{
    /* ThreadSanitizer maps terabytes of shadow memory: lift the data limit (the sandbox's is
     * soft) and address randomisation (older kernels' layouts confuse it) for the program */
    struct rlimit rl;
    if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_DATA, &rl);
    }
    personality(ADDR_NO_RANDOMIZE);
    char opts[1024];
    snprintf(opts, sizeof opts, "halt_on_error=1 exitcode=66 log_path=%s/tsan", gt_tmpdir());
    setenv("TSAN_OPTIONS", opts, 1);
    char key[32];
    snprintf(key, sizeof key, "%d", (int)gt_ipc_key(0));
    const char *args[] = {key, "30000", NULL};
    gt_result *res = malloc(sizeof *res);
    if (!res)
        gt_fail("malloc");
    gt_run(res, 90, gt_student("shmmq_tsan"), args);
    if (res->timed_out)
        gt_fail("shmmq_tsan (your queue, two threads, under ThreadSanitizer) did not finish in "
                "90 s (a lost wake-up, or a queue that never drains?)");
    if (WIFEXITED(res->status) && WEXITSTATUS(res->status) == 0) {
        free(res);
        return;
    }
    /* ThreadSanitizer's report: its first lines say which accesses raced */
    char pattern[600], head[1500] = "";
    snprintf(pattern, sizeof pattern, "%s/tsan.*", gt_tmpdir());
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
        FILE *f = fopen(g.gl_pathv[0], "r");
        char line[256];
        size_t used = 0;
        for (int n = 0; f && n < 14 && fgets(line, sizeof line, f); n++) {
            shorten_paths(line);
            size_t l = strlen(line);
            if (used + l + 1 < sizeof head) {
                memcpy(head + used, line, l + 1);
                used += l;
            }
        }
        if (f)
            fclose(f);
    }
    if (g.gl_pathc > 0)
        globfree(&g);
    if (WIFEXITED(res->status) && WEXITSTATUS(res->status) == 66)
        gt_fail("ThreadSanitizer saw a data race in your queue (producer and consumer threads "
                "over one mapping): the ring's bytes are not ordered by head and tail (a release "
                "store or an acquire load missing?). Its report begins:\n%s",
                head);
    gt_fail("%sshmmq_tsan (your queue, two threads, under ThreadSanitizer) %s: %s%s",
            gt_ni_prefix(res->err), gt_status_str(res->status, 0), gt_err_or_empty(res), head);
}
