/*
 * mqbench: how fast shmmq moves messages between two processes, against a pipe, a unix
 * socket and the hardware's floor (ex4.2's figures; not a student file: it links whichever
 * shmmq.c is built next to it, so `build/chapter4/mqbench` measures yours).
 *
 *   mqbench -k KEY [-m MODE] [-n COUNT] [-s SIZE] [-b BATCH] [-q QUEUE_BYTES] [-S SPIN_NS] [-P]
 *
 * One run, one line on stdout: mode=... size=... batch=... count=... seconds=... ns=...
 * (ns per message for the stream modes, per round trip for the rtt modes, per one-way
 * hand-off for cacheline) and, for shmmq, the wake-ups written per message.
 * MODE:
 *   stream       the parent enqueues COUNT messages of SIZE bytes, a child dequeues (copies)
 *                them; both busy-poll (no FIFO)
 *   stream-wake  the same, the child spins up to SPIN_NS, then sleeps on the FIFO
 *   rtt          round trips over two queues (KEY, KEY+1), both sides busy-polling
 *   rtt-wake     round trips, each side spinning up to SPIN_NS and then sleeping on the FIFO
 *   pipe-stream, unix-stream   BATCH messages per write() / read() of a pipe / a unix socket
 *   pipe-rtt, unix-rtt         round trips over two pipes / one unix socket pair
 *   cacheline    two processes hand a counter in one cache line back and forth: the floor
 *   floor-rtt    round trips over the bare bones of shmmq's protocol: records of the same size
 *                in two rings, each published by a release store of the free-running tail
 *                that the other side polls; no checks, no counters, no API: what the queue's
 *                design costs before its code does
 *   floor-rtt-stamp  the same, but each record carries a stamp (its index + 1, stored last
 *                with release) and the consumer polls the record itself, never tail: the
 *                floor of the other design (see the chapter's guide)
 *   self         one process, both ends: enqueue then dequeue each message at once (the cost
 *                of the queue's code alone; `make test` counts its instructions)
 * -P pins the parent to CPU 0 and the child to CPU 1. The queues are removed at the end.
 */
#include "args.h"
#include "log.h"
#include "shmmq.h"
#include "timing.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SIZE 65536

struct opts {
    key_t key;
    const char *mode;
    long count, size, batch, queue, spin;
    int pin;
};

/* What the child measured, in a shared page. */
struct shared {
    _Atomic uint64_t ready;   /* the child is set up */
    _Atomic uint64_t done_ns; /* when the child saw the last message */
    _Atomic uint64_t line;    /* cacheline mode: the counter handed back and forth */
    _Atomic int failed;
};

static void usage(FILE *out);
static void pin_to(int pin, int cpu);
static void fill(unsigned char *buf, long size);
static int wait_message(shmmq *q, uint64_t spin, struct shared *sh);
static double run_shmmq_stream(const struct opts *o, struct shared *sh, int wake, double *notify);
static double run_shmmq_rtt(const struct opts *o, struct shared *sh, int wake, double *notify);
static double run_fd_stream(const struct opts *o, struct shared *sh, int unix_socket);
static double run_fd_rtt(const struct opts *o, struct shared *sh, int unix_socket);
static double run_cacheline(const struct opts *o, struct shared *sh);
static double run_floor_rtt(const struct opts *o, struct shared *sh, int stamp);
static double run_shmmq_self(const struct opts *o);
static void full_pause(void);
static void fail_now(struct shared *sh, const char *call);
static int write_all(int fd, const void *buf, size_t len);
static int read_all(int fd, void *buf, size_t len);
static pid_t fork_child(struct shared *sh);
static int finish_child(pid_t pid);

int main(int argc, char **argv)
{
    log_init(argv[0]);
    struct opts o = {0, "stream", 1000000, 64, 1, 1 << 20, 50000, 0};
    int have_key = 0;
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "k:m:n:s:b:q:S:Ph", longs, NULL)) != -1) {
        switch (c) {
        case 'k':
            o.key = args_ipc_key(optarg);
            have_key = 1;
            break;
        case 'm': o.mode = optarg; break;
        case 'n': o.count = args_number("-n", optarg, 1, 1000000000); break;
        case 's': o.size = args_number("-s", optarg, 0, MAX_SIZE); break;
        case 'b': o.batch = args_number("-b", optarg, 1, 1024); break;
        case 'q':
            o.queue = args_number("-q", optarg, SHMMQ_MIN_CAPACITY, SHMMQ_MAX_CAPACITY);
            break;
        case 'S': o.spin = args_number("-S", optarg, 0, 1000000000); break;
        case 'P': o.pin = 1; break;
        case 'h': usage(stdout); return 0;
        default: args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
    if ((o.queue & (o.queue - 1)) != 0)
        args_usage_error("-q must be a power of two, not %ld", o.queue);
    if (!have_key)
        args_usage_error("-k KEY is required");
    if (o.size * o.batch > MAX_SIZE)
        args_usage_error("-s times -b must be at most %d", MAX_SIZE);
    if (o.size > (o.queue / 2 - 24))
        args_usage_error("-s %ld does not fit a queue of %ld bytes", o.size, o.queue);
    signal(SIGPIPE, SIG_IGN);

    struct shared *sh =
        mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        log_sys("mmap(%zu bytes, shared)", sizeof *sh);
        return 1;
    }
    double ns = -1, notify = -1;
    const char *m = o.mode;
    if (strcmp(m, "stream") == 0 || strcmp(m, "stream-wake") == 0)
        ns = run_shmmq_stream(&o, sh, strcmp(m, "stream-wake") == 0, &notify);
    else if (strcmp(m, "rtt") == 0 || strcmp(m, "rtt-wake") == 0)
        ns = run_shmmq_rtt(&o, sh, strcmp(m, "rtt-wake") == 0, &notify);
    else if (strcmp(m, "pipe-stream") == 0 || strcmp(m, "unix-stream") == 0)
        ns = run_fd_stream(&o, sh, m[0] == 'u');
    else if (strcmp(m, "pipe-rtt") == 0 || strcmp(m, "unix-rtt") == 0)
        ns = run_fd_rtt(&o, sh, m[0] == 'u');
    else if (strcmp(m, "cacheline") == 0)
        ns = run_cacheline(&o, sh);
    else if (strcmp(m, "floor-rtt") == 0 || strcmp(m, "floor-rtt-stamp") == 0)
        ns = run_floor_rtt(&o, sh, strcmp(m, "floor-rtt-stamp") == 0);
    else if (strcmp(m, "self") == 0)
        ns = run_shmmq_self(&o);
    else
        args_usage_error("unknown mode '%s'", m);
    munmap(sh, sizeof *sh);
    if (ns < 0)
        return 1;
    printf("mode=%s size=%ld batch=%ld count=%ld seconds=%.3f ns=%.1f", m, o.size, o.batch, o.count,
           ns * (double)o.count / 1e9, ns);
    if (notify >= 0)
        printf(" wakeups_per_msg=%.4f", notify);
    printf(" placement=%s\n", o.pin ? "pinned" : "default");
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mqbench -k KEY [-m MODE] [-n COUNT] [-s SIZE] [-b BATCH] [-q QUEUE_BYTES]\n"
            "               [-S SPIN_NS] [-P]\n"
            "Measures message passing between two processes; one line of results on stdout.\n"
            "  -k KEY     base System V key (KEY and KEY+1 are used)\n"
            "  -m MODE    stream (default), stream-wake, rtt, rtt-wake, pipe-stream, pipe-rtt,\n"
            "             unix-stream, unix-rtt, cacheline, floor-rtt, floor-rtt-stamp,\n"
            "             self (one process, both ends)\n"
            "  -n COUNT   messages or round trips (default 1000000)\n"
            "  -s SIZE    payload bytes (default 64)\n"
            "  -b BATCH   messages per write/read of the pipe and socket modes (default 1)\n"
            "  -q BYTES   queue capacity, a power of two (default 1048576)\n"
            "  -S NS      spin before sleeping in the -wake modes (default 50000)\n"
            "  -P         pin the parent to CPU 0, the child to CPU 1\n");
}

static void pin_to(int pin, int cpu)
{
    if (!pin)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        log_sys("sched_setaffinity(CPU %d)", cpu);
}

static void fill(unsigned char *buf, long size)
{
    for (long i = 0; i < size; i++)
        buf[i] = (unsigned char)i;
}

/* A consumer with nothing to read: spin (until a message comes, or the other side fails,
 * without a FIFO), then sleep on the FIFO. 0, or -1 on an error. */
static int wait_message(shmmq *q, uint64_t spin, struct shared *sh)
{
    if (shmmq_fd(q) < 0) {
        while (!shmmq_wait_ready(q, 1000000))
            if (atomic_load(&sh->failed))
                return -1;
        return 0;
    }
    if (shmmq_wait_ready(q, spin))
        return 0;
    int s = shmmq_sleep(q);
    if (s != 0)
        return s < 0 ? -1 : 0;
    struct pollfd pf = {shmmq_fd(q), POLLIN, 0};
    if (poll(&pf, 1, 10000) != 1) {
        log_msg("no wake-up within 10 s");
        return -1;
    }
    shmmq_woken(q);
    return 0;
}

static shmmq *open_queue(key_t key, long cap, int wake, enum shmmq_role role)
{
    char path[512];
    if (wake && shmmq_fifo_path(path, sizeof path, key) != 0) {
        log_sys("shmmq_fifo_path(key 0x%x)", (unsigned)key);
        return NULL;
    }
    shmmq *q = shmmq_open(key, (size_t)cap, wake ? path : NULL, role);
    if (!q)
        log_sys("shmmq_open(key 0x%x, %ld bytes)", (unsigned)key, cap);
    return q;
}

/* One process holds both ends: each message is enqueued and dequeued at once, so no cache
 * line ever moves between CPUs. What remains is the cost of the queue's own code, which
 * `make test`'s instruction-count guard watches (bench/baseline/icount.txt). */
static double run_shmmq_self(const struct opts *o)
{
    shmmq *p = open_queue(o->key, o->queue, 0, SHMMQ_PRODUCER);
    shmmq *c = p ? open_queue(o->key, o->queue, 0, SHMMQ_CONSUMER) : NULL;
    static unsigned char out[MAX_SIZE], in[MAX_SIZE];
    int bad = c == NULL;
    fill(out, o->size);
    uint64_t t0 = timing_now_ns();
    for (long i = 0; i < o->count && !bad; i++) {
        uint64_t id;
        uint32_t len;
        if (shmmq_enqueue(p, (uint64_t)i, 0, out, (uint32_t)o->size) != 0) {
            log_sys("shmmq_enqueue(message %ld)", i);
            bad = 1;
        } else if (shmmq_dequeue(c, &id, NULL, in, sizeof in, &len) != 0) {
            log_sys("shmmq_dequeue(message %ld)", i);
            bad = 1;
        } else if (id != (uint64_t)i || len != (uint32_t)o->size) {
            log_msg("message %ld came back as id %llu, %u bytes", i, (unsigned long long)id, len);
            bad = 1;
        }
    }
    uint64_t t1 = timing_now_ns();
    shmmq_close(c);
    shmmq_close(p);
    return bad ? -1 : (double)(t1 - t0) / (double)o->count;
}

static double run_shmmq_stream(const struct opts *o, struct shared *sh, int wake, double *notify)
{
    shmmq *p = open_queue(o->key, o->queue, wake, SHMMQ_PRODUCER);
    if (!p)
        return -1;
    pid_t pid = fork_child(sh);
    if (pid == 0) {
        pin_to(o->pin, 1);
        shmmq *q = open_queue(o->key, o->queue, wake, SHMMQ_CONSUMER);
        static unsigned char buf[MAX_SIZE];
        if (!q)
            atomic_store(&sh->failed, 1);
        atomic_store(&sh->ready, 1);
        for (long i = 0; q && i < o->count;) {
            uint32_t len;
            if (shmmq_dequeue(q, NULL, NULL, buf, sizeof buf, &len) == 0) {
                i++;
                continue;
            }
            if (errno != EAGAIN || wait_message(q, (uint64_t)o->spin, sh) != 0) {
                atomic_store(&sh->failed, 1);
                break;
            }
        }
        atomic_store(&sh->done_ns, timing_now_ns());
        shmmq_close(q);
        _exit(0);
    }
    pin_to(o->pin, 0);
    static unsigned char buf[MAX_SIZE];
    fill(buf, o->size);
    while (!atomic_load(&sh->ready) && !atomic_load(&sh->failed))
        ;
    uint64_t t0 = timing_now_ns();
    for (long i = 0; i < o->count && !atomic_load(&sh->failed);)
        if (shmmq_enqueue(p, (uint64_t)i, 0, buf, (uint32_t)o->size) == 0)
            i++;
        else if (errno == EAGAIN)
            full_pause(); /* full: give the consumer time before we read head again */
        else
            fail_now(sh, "shmmq_enqueue");
    int bad = finish_child(pid) || atomic_load(&sh->failed);
    struct shmmq_stats st;
    shmmq_stats(p, &st);
    *notify = (double)st.notify_writes / (double)o->count;
    shmmq_close(p);
    return bad ? -1 : (double)(atomic_load(&sh->done_ns) - t0) / (double)o->count;
}

static double run_shmmq_rtt(const struct opts *o, struct shared *sh, int wake, double *notify)
{
    shmmq *out = open_queue(o->key, o->queue, wake, SHMMQ_PRODUCER);
    shmmq *in = open_queue(o->key + 1, o->queue, wake, SHMMQ_CONSUMER);
    if (!out || !in) {
        shmmq_close(out);
        shmmq_close(in);
        return -1;
    }
    static unsigned char buf[MAX_SIZE];
    pid_t pid = fork_child(sh);
    if (pid == 0) {
        pin_to(o->pin, 1);
        shmmq *cin = open_queue(o->key, o->queue, wake, SHMMQ_CONSUMER);
        shmmq *cout = open_queue(o->key + 1, o->queue, wake, SHMMQ_PRODUCER);
        if (!cin || !cout)
            atomic_store(&sh->failed, 1);
        atomic_store(&sh->ready, 1);
        for (long i = 0; cin && cout && i < o->count;) {
            uint32_t len;
            uint64_t id;
            if (shmmq_dequeue(cin, &id, NULL, buf, sizeof buf, &len) == 0) {
                while (shmmq_enqueue(cout, id, 0, buf, len) != 0)
                    if (errno != EAGAIN)
                        fail_now(sh, "shmmq_enqueue");
                i++;
            } else if (errno != EAGAIN || wait_message(cin, (uint64_t)o->spin, sh) != 0) {
                atomic_store(&sh->failed, 1);
                break;
            }
        }
        shmmq_close(cin);
        shmmq_close(cout);
        _exit(0);
    }
    pin_to(o->pin, 0);
    fill(buf, o->size);
    while (!atomic_load(&sh->ready) && !atomic_load(&sh->failed))
        ;
    uint64_t t0 = timing_now_ns();
    for (long i = 0; i < o->count && !atomic_load(&sh->failed); i++) {
        while (shmmq_enqueue(out, (uint64_t)i, 0, buf, (uint32_t)o->size) != 0)
            if (errno != EAGAIN) {
                fail_now(sh, "shmmq_enqueue");
                goto out;
            }
        uint32_t len;
        while (shmmq_dequeue(in, NULL, NULL, buf, sizeof buf, &len) != 0)
            if (errno != EAGAIN || wait_message(in, (uint64_t)o->spin, sh) != 0)
                goto out;
    }
out:;
    uint64_t t1 = timing_now_ns();
    int bad = finish_child(pid) || atomic_load(&sh->failed);
    struct shmmq_stats a, b;
    shmmq_stats(out, &a);
    shmmq_stats(in, &b);
    *notify = (double)(a.notify_writes + b.notify_writes) / (2.0 * (double)o->count);
    shmmq_close(out);
    shmmq_close(in);
    return bad ? -1 : (double)(t1 - t0) / (double)o->count;
}

static int make_channel(int fds[2], int unix_socket)
{
    int r = unix_socket ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)
                        : pipe2(fds, O_CLOEXEC);
    if (r != 0)
        log_sys(unix_socket ? "socketpair(AF_UNIX)" : "pipe2");
    return r;
}

static double run_fd_stream(const struct opts *o, struct shared *sh, int unix_socket)
{
    int fds[2];
    if (make_channel(fds, unix_socket) != 0)
        return -1;
    static unsigned char buf[MAX_SIZE];
    size_t total = (size_t)o->count * (size_t)o->size, chunk = (size_t)(o->size * o->batch);
    pid_t pid = fork_child(sh);
    if (pid == 0) {
        pin_to(o->pin, 1);
        close(fds[1]);
        atomic_store(&sh->ready, 1);
        size_t got = 0;
        while (got < total) {
            ssize_t n = read(fds[0], buf, chunk < total - got ? chunk : total - got);
            if (n <= 0) {
                atomic_store(&sh->failed, 1);
                break;
            }
            got += (size_t)n;
        }
        atomic_store(&sh->done_ns, timing_now_ns());
        _exit(0);
    }
    pin_to(o->pin, 0);
    close(fds[0]);
    fill(buf, (long)chunk);
    while (!atomic_load(&sh->ready) && !atomic_load(&sh->failed))
        ;
    uint64_t t0 = timing_now_ns();
    for (size_t sent = 0; sent < total;) {
        size_t n = chunk < total - sent ? chunk : total - sent;
        if (write_all(fds[1], buf, n) != 0)
            break;
        sent += n;
    }
    close(fds[1]);
    int bad = finish_child(pid) || atomic_load(&sh->failed);
    return bad ? -1 : (double)(atomic_load(&sh->done_ns) - t0) / (double)o->count;
}

static double run_fd_rtt(const struct opts *o, struct shared *sh, int unix_socket)
{
    int a[2], b[2] = {-1, -1};
    if (make_channel(a, unix_socket) != 0 || (!unix_socket && make_channel(b, 0) != 0))
        return -1;
    /* parent writes to, child reads from: pipe a[1] -> a[0]; back: b[1] -> b[0]. A socket
     * pair is two-way: the parent has a[0], the child a[1]. */
    int p_out = unix_socket ? a[0] : a[1], p_in = unix_socket ? a[0] : b[0];
    int c_in = unix_socket ? a[1] : a[0], c_out = unix_socket ? a[1] : b[1];
    static unsigned char buf[MAX_SIZE];
    size_t size = (size_t)o->size ? (size_t)o->size : 1;
    pid_t pid = fork_child(sh);
    if (pid == 0) {
        pin_to(o->pin, 1);
        for (long i = 0; i < o->count; i++)
            if (read_all(c_in, buf, size) != 0 || write_all(c_out, buf, size) != 0) {
                atomic_store(&sh->failed, 1);
                break;
            }
        _exit(0);
    }
    pin_to(o->pin, 0);
    fill(buf, (long)size);
    uint64_t t0 = timing_now_ns();
    for (long i = 0; i < o->count && !atomic_load(&sh->failed); i++)
        if (write_all(p_out, buf, size) != 0 || read_all(p_in, buf, size) != 0)
            break;
    uint64_t t1 = timing_now_ns();
    int bad = finish_child(pid) || atomic_load(&sh->failed);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        if (b[i] >= 0)
            close(b[i]);
    }
    return bad ? -1 : (double)(t1 - t0) / (double)o->count;
}

static double run_cacheline(const struct opts *o, struct shared *sh)
{
    uint64_t n = (uint64_t)o->count;
    pid_t pid = fork_child(sh);
    if (pid < 0)
        return finish_child(pid); /* -1, said */
    if (pid == 0) {
        pin_to(o->pin, 1);
        for (uint64_t v = 1; v < 2 * n; v += 2) {
            while (atomic_load_explicit(&sh->line, memory_order_acquire) != v)
                ;
            atomic_store_explicit(&sh->line, v + 1, memory_order_release);
        }
        _exit(0);
    }
    pin_to(o->pin, 0);
    uint64_t t0 = timing_now_ns();
    for (uint64_t v = 0; v < 2 * n; v += 2) {
        while (atomic_load_explicit(&sh->line, memory_order_acquire) != v)
            ;
        atomic_store_explicit(&sh->line, v + 1, memory_order_release);
    }
    while (atomic_load_explicit(&sh->line, memory_order_acquire) != 2 * n)
        ;
    uint64_t t1 = timing_now_ns();
    return finish_child(pid) ? -1 : (double)(t1 - t0) / (2.0 * (double)n);
}

/* floor-rtt: one direction of the bare protocol. With one message in flight a ring is never
 * full, so nobody reads head; a record that would cross the ring's end starts at 0 instead
 * (both sides skip the same bytes). Every record has the same size, so the records of every
 * lap start at the same places: a stamp's place never held payload bytes, and a stale stamp
 * there (an earlier lap's index + 1) never equals the one awaited. */
#define FLOOR_RING 65536u

struct floor_ring {
    _Alignas(64) _Atomic uint64_t tail; /* the producer's line, polled by floor-rtt */
    _Alignas(64) _Atomic uint64_t head; /* the consumer's line: stored as shmmq's consumer
                                         * does, its cost is the protocol's; nobody reads it */
    _Alignas(64) unsigned char ring[FLOOR_RING];
};

/* Where the record at index *at goes (skipping the ring's end if it would not fit). */
static unsigned char *floor_slot(struct floor_ring *r, uint64_t *at, uint64_t rec)
{
    uint64_t pos = *at & (FLOOR_RING - 1);
    if (pos + rec > FLOOR_RING) {
        *at += FLOOR_RING - pos;
        pos = 0;
    }
    return r->ring + pos;
}

static void floor_send(struct floor_ring *r, uint64_t *tail, const unsigned char *msg, uint64_t len,
                       int stamp)
{
    uint64_t rec = SHMMQ_RECORD_SIZE(len);
    unsigned char *p = floor_slot(r, tail, rec);
    memcpy(p + 8, &len, sizeof len);
    memcpy(p + SHMMQ_RECORD_HEADER, msg, len);
    *tail += rec;
    if (stamp) /* the record's first 8 bytes: its index + 1, never 0 */
        atomic_store_explicit((_Atomic uint64_t *)(void *)p, *tail - rec + 1, memory_order_release);
    else
        atomic_store_explicit(&r->tail, *tail, memory_order_release);
}

static void floor_receive(struct floor_ring *r, uint64_t *head, unsigned char *msg, uint64_t len,
                          int stamp)
{
    uint64_t rec = SHMMQ_RECORD_SIZE(len), at = *head;
    unsigned char *p = floor_slot(r, &at, rec);
    if (stamp)
        while (atomic_load_explicit((_Atomic uint64_t *)(void *)p, memory_order_acquire) != at + 1)
            timing_cpu_relax();
    else
        while (atomic_load_explicit(&r->tail, memory_order_acquire) == *head)
            timing_cpu_relax();
    memcpy(msg, p + SHMMQ_RECORD_HEADER, len);
    *head = at + rec;
    atomic_store_explicit(&r->head, *head, memory_order_release);
}

static double run_floor_rtt(const struct opts *o, struct shared *sh, int stamp)
{
    if (SHMMQ_RECORD_SIZE(o->size) > FLOOR_RING / 2) {
        log_msg("-s %ld: too large for the floor modes' rings (at most %u bytes)", o->size,
                (unsigned)(FLOOR_RING / 2 - SHMMQ_RECORD_HEADER));
        return -1;
    }
    struct floor_ring *ab =
        mmap(NULL, 2 * sizeof *ab, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ab == MAP_FAILED) {
        log_sys("mmap(%zu bytes, shared)", 2 * sizeof *ab);
        return -1;
    }
    struct floor_ring *ba = ab + 1;
    static unsigned char msg[MAX_SIZE];
    uint64_t len = (uint64_t)o->size, tail = 0, head = 0;
    pid_t pid = fork_child(sh);
    if (pid < 0) {
        munmap(ab, 2 * sizeof *ab);
        return finish_child(pid); /* -1, said */
    }
    if (pid == 0) {
        pin_to(o->pin, 1);
        for (long i = 0; i < o->count; i++) {
            floor_receive(ab, &head, msg, len, stamp);
            floor_send(ba, &tail, msg, len, stamp);
        }
        _exit(0);
    }
    pin_to(o->pin, 0);
    long wrong = 0;
    uint64_t t0 = timing_now_ns();
    for (long i = 0; i < o->count; i++) {
        if (len >= sizeof i)
            memcpy(msg, &i, sizeof i);
        floor_send(ab, &tail, msg, len, stamp);
        floor_receive(ba, &head, msg, len, stamp);
        long back = i;
        if (len >= sizeof back)
            memcpy(&back, msg, sizeof back);
        wrong += back != i;
    }
    uint64_t t1 = timing_now_ns();
    int bad = finish_child(pid);
    munmap(ab, 2 * sizeof *ab);
    if (wrong)
        log_msg("%ld of %ld messages came back changed", wrong, o->count);
    return bad || wrong ? -1 : (double)(t1 - t0) / (double)o->count;
}

/* Log the failed call and tell the other side to stop. */
static void fail_now(struct shared *sh, const char *call)
{
    log_sys("%s", call);
    atomic_store(&sh->failed, 1);
}

static void full_pause(void)
{
    for (int i = 0; i < 32; i++)
        timing_cpu_relax();
}

static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_sys("write(fd %d, %zu bytes)", fd, len);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                log_sys("read(fd %d, %zu bytes)", fd, len);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fork(). If it fails, sh->failed ends the parent's waits for a child that is not there;
 * finish_child then reports the failure. */
static pid_t fork_child(struct shared *sh)
{
    pid_t pid = fork();
    if (pid < 0)
        atomic_store(&sh->failed, 1);
    return pid;
}

static int finish_child(pid_t pid)
{
    int status;
    if (pid < 0) {
        log_sys("fork");
        return -1;
    }
    if (waitpid(pid, &status, 0) != pid) {
        log_sys("waitpid(%d)", (int)pid);
        return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
