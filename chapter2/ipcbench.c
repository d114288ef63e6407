/*
 * ipcbench: what it costs two processes to exchange a message, by pipe, unix socket, TCP on
 * loopback and a System V shared-memory slot (ex2.3).
 *
 * For each mechanism it forks a child and measures, between the two processes:
 *  - round trips: the parent sends a message, the child sends it back, the parent checks it
 *    byte for byte; each round trip is timed, and the median (p50) and p99 are reported;
 *  - throughput: the parent streams COUNT messages one way as fast as the channel takes them,
 *    the child checks each one against what message number k must hold, and answers once at
 *    the end.
 * Every message has content of its own (its number stamped on a pattern), so a lost,
 * repeated, reordered or damaged message is caught, not timed.
 *
 * The shared-memory slot is the tutorial's lock-free idea in its smallest form: one message
 * area per direction and two counters, "posted" and "taken", published with release stores
 * and read with acquire loads; the waiting side busy-polls (spins), yielding the CPU after a
 * short while so that two processes on one CPU still make progress. The segment is created
 * with IPC_EXCL and mode 0600 at the key of -k, and marked for removal as soon as it is
 * attached: the kernel then frees it when the last process detaches or dies, so no run, even
 * one killed, leaves it behind.
 */
#include "args.h"
#include "log.h"
#include "net.h"
#include "timing.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_COUNT 20000
#define MAX_COUNT 10000000L
#define DEFAULT_SIZE 64
#define MAX_SIZE (1L << 20)
#define DEFAULT_KEY 0x53560002 /* "SV", chapter 2: pass -k to run two at once */
#define MAX_WARMUP 1000
#define NPAT 8                          /* distinct message bodies, used in turn */
#define SPINS_BEFORE_YIELD 50           /* then sched_yield() between looks (see slot_wait) */
#define PEER_TIMEOUT_NS 60000000000ull  /* 60 s without an answer: the peer is stuck */
#define CSV_HEADER                                                                                 \
    "mechanism,size,count,parent_cpu,child_cpu,p50_ns,p99_ns,max_ns,roundtrips_per_s,"            \
    "msgs_per_s,mb_per_s"

enum mech { M_PIPE, M_UNIX, M_TCP, M_SHM, M_COUNT };
static const char *const mech_name[M_COUNT] = {"pipe", "unix", "tcp", "shm"};

struct options {
    enum mech mechs[M_COUNT]; /* in the order given */
    int nmechs;
    long count;
    size_t size;
    key_t key;
    int parent_cpu, child_cpu; /* -1: not pinned */
};

/*
 * The shared-memory segment. Both processes write it, each only its own fields:
 *
 *   dir[0]  parent to child: posted written by the parent, taken by the child
 *   dir[1]  child to parent: posted written by the child, taken by the parent
 *   size    written by the parent before fork, read-only afterwards
 *   data    the area of dir[0] (size bytes), then the area of dir[1]
 *
 * posted = k: message k is in the direction's area, complete (release: the bytes were
 * written before the counter). taken = k: the receiver has copied message k out, so the
 * area may be overwritten (release: the bytes were read before the counter). The area is
 * free when taken == posted. Numbers only grow, but need not be consecutive within one
 * direction: both directions share one numbering of the messages of a run. Each counter
 * has a cache line of its own, so that writing one does not steal the line of the other.
 */
struct slot_dir {
    alignas(64) _Atomic uint64_t posted;
    alignas(64) _Atomic uint64_t taken;
};

struct slot {
    struct slot_dir dir[2];
    alignas(64) uint64_t size;
    alignas(64) unsigned char data[];
};

/* One process's end of the channel between parent and child. */
struct end {
    enum mech mech;
    size_t size;
    int rfd, wfd;      /* pipe, unix, tcp (the same socket for both with unix and tcp) */
    struct slot *slot; /* shm */
    int out, in;       /* shm: the direction this end sends on, and receives on */
    pid_t peer;        /* shm: the process to watch while spinning (0: none) */
};

/* The messages: NPAT bodies; message k is body k % NPAT with k stamped on its first bytes. */
struct msgs {
    unsigned char *body[NPAT];
    size_t size;
};

/* Where a round trip's reply went wrong. */
struct fault {
    uint64_t seq;
    size_t offset;
    unsigned char sent, got;
};

#define WRONG_REPLY 1 /* roundtrips(): a reply differs from what was sent (see struct fault) */

/* The figures of one mechanism. */
struct figures {
    uint64_t p50_ns, p99_ns, max_ns;
    double roundtrips_per_s, msgs_per_s, mb_per_s;
};

static void parse_args(int argc, char **argv, struct options *opt);
static void usage(FILE *out);
static int check_cpus(const struct options *opt);
static int pin_self(int cpu);
static int run_mech(const struct options *opt, enum mech m, struct msgs *pat);
static int chan_open(const struct options *opt, enum mech m, struct end *parent,
                     struct end *child);
static void end_close(struct end *e);
static struct slot *slot_create(key_t key, size_t size);
static int slot_wait(_Atomic uint64_t *counter, uint64_t want, pid_t peer);
static int slot_send(struct end *e, const unsigned char *msg, uint64_t seq);
static int slot_recv(struct end *e, unsigned char *buf, uint64_t seq);
static int end_send(struct end *e, const unsigned char *msg, uint64_t seq);
static int end_recv(struct end *e, unsigned char *buf, uint64_t seq);
static int parent_main(struct end *e, const struct options *opt, const struct msgs *pat,
                       struct figures *fig);
static int child_main(struct end *e, const struct options *opt, const struct msgs *pat);
static int roundtrips(struct end *e, struct msgs *m, long n, uint64_t *seq, uint64_t *rtt_ns,
                      unsigned char *back, struct fault *fault);
static int msgs_init(struct msgs *m, size_t size);
static void msgs_free(struct msgs *m);
static unsigned char *message(struct msgs *m, uint64_t seq);
static long message_check(const struct msgs *m, const unsigned char *got, uint64_t seq);
static long warmup_count(long count);

int main(int argc, char **argv)
{
    struct options opt;
    struct msgs pat;

    log_init(argv[0]);
    parse_args(argc, argv, &opt);

    /* A peer that is gone must give us EPIPE to report, not kill us. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        log_sys("signal(SIGPIPE, SIG_IGN)");
        return 1;
    }
    if (check_cpus(&opt) == -1)
        return 1;
    /* The child inherits this and pins itself to its own CPU after fork. */
    if (opt.parent_cpu >= 0 && pin_self(opt.parent_cpu) == -1) {
        log_sys("sched_setaffinity(parent to CPU %d)", opt.parent_cpu);
        return 1;
    }
    if (msgs_init(&pat, opt.size) == -1) {
        log_sys("malloc(%d messages of %zu bytes)", NPAT, opt.size);
        return 1;
    }

    int status = 0;
    printf("%s\n", CSV_HEADER);
    fflush(stdout);
    for (int i = 0; i < opt.nmechs && status == 0; i++)
        if (run_mech(&opt, opt.mechs[i], &pat) == -1)
            status = 1;
    msgs_free(&pat);
    if (fflush(stdout) == EOF) {
        log_sys("write(stdout)");
        status = 1;
    }
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-m MECHS] [-n COUNT] [-s SIZE] [-k KEY] [--cpus A,B | --same-cpu]\n"
            "\n"
            "Measure message passing between two processes (this one and a forked child):\n"
            "COUNT round trips of SIZE bytes (each timed; every reply checked byte for byte),\n"
            "then COUNT messages streamed one way (each checked by the child). One CSV line\n"
            "per mechanism:\n"
            "\n"
            "  " CSV_HEADER "\n"
            "\n"
            "p50_ns, p99_ns, max_ns: round-trip times; roundtrips_per_s: round trips per\n"
            "second; msgs_per_s and mb_per_s (10^6 bytes): the one-way stream. parent_cpu\n"
            "and child_cpu: the CPU each process was pinned to, or 'any'.\n"
            "\n"
            "  -m, --mech MECHS   comma-separated, from pipe, unix (socketpair), tcp (loopback)\n"
            "                     and shm (System V shared memory, busy-polling); default all\n"
            "  -n, --count COUNT  round trips, and streamed messages, 1 to %ld (default %d)\n"
            "  -s, --size SIZE    bytes per message, 1 to %ld (default %d)\n"
            "  -k, --key KEY      System V IPC key of the shm segment (default 0x%x); it is\n"
            "                     created with IPC_EXCL and mode 0600 and removed at the end\n"
            "  -c, --cpus A,B     pin the parent to CPU A and the child to CPU B\n"
            "      --same-cpu     pin both to one CPU (the first this process may use)\n"
            "  -h, --help         print this help and exit\n"
            "\n"
            "Exit status: 0 if every message was right; 1 on a wrong message, a system error,\n"
            "a key already in use or a CPU this process can not use (told on stderr); 2 on\n"
            "bad arguments.\n",
            log_progname(), MAX_COUNT, DEFAULT_COUNT, MAX_SIZE, DEFAULT_SIZE, DEFAULT_KEY);
}

/* "A,B": two CPU numbers below CPU_SETSIZE. */
static void parse_cpus(const char *s, struct options *opt)
{
    char a[32], b[32];
    const char *comma = strchr(s, ',');
    if (comma == NULL || (size_t)(comma - s) >= sizeof a || strlen(comma + 1) >= sizeof b)
        args_usage_error("--cpus: expected two CPU numbers like 0,1, got '%s'", s);
    memcpy(a, s, (size_t)(comma - s));
    a[comma - s] = '\0';
    strcpy(b, comma + 1);
    opt->parent_cpu = (int)args_number("--cpus", a, 0, CPU_SETSIZE - 1);
    opt->child_cpu = (int)args_number("--cpus", b, 0, CPU_SETSIZE - 1);
}

static void parse_mechs(const char *list, struct options *opt)
{
    char buf[128];
    if (strlen(list) >= sizeof buf)
        args_usage_error("-m: expected pipe, unix, tcp or shm, comma-separated, got '%s'", list);
    strcpy(buf, list);
    for (char *p = buf, *next; p != NULL; p = next) {
        next = strchr(p, ',');
        if (next != NULL)
            *next++ = '\0';
        int m;
        for (m = 0; m < M_COUNT; m++)
            if (strcmp(p, mech_name[m]) == 0)
                break;
        if (m == M_COUNT)
            args_usage_error("-m: expected pipe, unix, tcp or shm, got '%s'", p);
        for (int i = 0; i < opt->nmechs; i++)
            if (opt->mechs[i] == (enum mech)m)
                args_usage_error("-m: '%s' is named twice", p);
        opt->mechs[opt->nmechs++] = (enum mech)m;
    }
}

static void parse_args(int argc, char **argv, struct options *opt)
{
    enum { OPT_SAME_CPU = 1000 };
    static const struct option longopts[] = {
        {"mech", required_argument, NULL, 'm'},
        {"count", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},
        {"key", required_argument, NULL, 'k'},
        {"cpus", required_argument, NULL, 'c'},
        {"same-cpu", no_argument, NULL, OPT_SAME_CPU},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *mechs = NULL;
    int cpus_given = 0, same_cpu = 0, c;

    memset(opt, 0, sizeof *opt);
    opt->count = DEFAULT_COUNT;
    opt->size = DEFAULT_SIZE;
    opt->key = DEFAULT_KEY;
    opt->parent_cpu = opt->child_cpu = -1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:n:s:k:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            mechs = optarg;
            break;
        case 'n':
            opt->count = args_number("-n", optarg, 1, MAX_COUNT);
            break;
        case 's':
            opt->size = (size_t)args_number("-s", optarg, 1, MAX_SIZE);
            break;
        case 'k':
            opt->key = args_ipc_key(optarg);
            break;
        case 'c':
            parse_cpus(optarg, opt);
            cpus_given = 1;
            break;
        case OPT_SAME_CPU:
            same_cpu = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
    if (cpus_given && same_cpu)
        args_usage_error("--cpus and --same-cpu exclude each other");
    if (mechs != NULL) {
        parse_mechs(mechs, opt);
    } else {
        for (int m = 0; m < M_COUNT; m++)
            opt->mechs[opt->nmechs++] = (enum mech)m;
    }
    if (same_cpu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof set, &set) == -1) {
            log_sys("sched_getaffinity");
            exit(1);
        }
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
            if (CPU_ISSET(cpu, &set)) {
                opt->parent_cpu = opt->child_cpu = cpu;
                break;
            }
        }
    }
}

/* Both CPUs of --cpus must be ones this process may run on; say so before doing anything. */
static int check_cpus(const struct options *opt)
{
    if (opt->parent_cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == -1) {
        log_sys("sched_getaffinity");
        return -1;
    }
    int cpus[2] = {opt->parent_cpu, opt->child_cpu};
    for (int i = 0; i < 2; i++) {
        if (!CPU_ISSET(cpus[i], &set)) {
            log_msg("CPU %d is not one this process may run on (it may use %d CPUs; see "
                    "'taskset -p %d' or nproc)",
                    cpus[i], CPU_COUNT(&set), (int)getpid());
            return -1;
        }
    }
    return 0;
}

/* Run the calling process on that CPU only. Returns 0, or -1 with errno. */
static int pin_self(int cpu)
{
    /* YOUR CODE HERE: restrict the calling process to CPU cpu (sched_setaffinity with a cpu_set_t) */
    (void)cpu;
    errno = ENOSYS;
    return -1;
}

/* ---- one mechanism: fork, measure, print ------------------------------------------------- */

static const char *cpu_str(int cpu, char *buf, size_t cap)
{
    if (cpu < 0)
        return "any";
    snprintf(buf, cap, "%d", cpu);
    return buf;
}

/* Returns 0 once the mechanism's line is printed, or -1 (told on stderr). */
static int run_mech(const struct options *opt, enum mech m, struct msgs *pat)
{
    struct end parent, child;
    struct figures fig;

    if (chan_open(opt, m, &parent, &child) == -1)
        return -1;

    fflush(NULL); /* nothing buffered may be written twice */
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid == -1) {
        log_sys("%s: fork", mech_name[m]);
        end_close(&child);
        end_close(&parent);
        return -1;
    }
    if (pid == 0) {
        /* the child: dies with the parent, so that nothing of a run is left behind */
        int status = 1;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() == me) {
            parent.slot = NULL; /* one mapping serves both ends: keep it for ours */
            end_close(&parent);
            status = child_main(&child, opt, pat);
        }
        end_close(&child);
        msgs_free(pat);
        _exit(status);
    }

    child.slot = NULL;
    end_close(&child);
    parent.peer = pid;
    int r = parent_main(&parent, opt, pat, &fig);
    if (r == -1)
        kill(pid, SIGKILL); /* it may be waiting for us for ever */
    int wst;
    while (waitpid(pid, &wst, 0) == -1 && errno == EINTR)
        ;
    end_close(&parent);
    if (!(WIFEXITED(wst) && WEXITSTATUS(wst) == 0)) {
        if (r == 0 || !WIFSIGNALED(wst) || WTERMSIG(wst) != SIGKILL) {
            if (WIFEXITED(wst))
                log_msg("%s: the child process exited with status %d", mech_name[m],
                        WEXITSTATUS(wst));
            else
                log_msg("%s: the child process was killed by signal %d (%s)", mech_name[m],
                        WTERMSIG(wst), strsignal(WTERMSIG(wst)));
        }
        return -1;
    }
    if (r == -1)
        return -1;

    char a[16], b[16];
    printf("%s,%zu,%ld,%s,%s,%llu,%llu,%llu,%.0f,%.0f,%.1f\n", mech_name[m], opt->size,
           opt->count, cpu_str(opt->parent_cpu, a, sizeof a), cpu_str(opt->child_cpu, b, sizeof b),
           (unsigned long long)fig.p50_ns, (unsigned long long)fig.p99_ns,
           (unsigned long long)fig.max_ns, fig.roundtrips_per_s, fig.msgs_per_s, fig.mb_per_s);
    fflush(stdout);
    return 0;
}

/* The warm-up round trips before the timed ones: caches, page faults, the scheduler. */
static long warmup_count(long count)
{
    long w = count / 10;
    if (w < 1)
        w = 1;
    return w > MAX_WARMUP ? MAX_WARMUP : w;
}

/* The parent's side: warm up, time the round trips, time the stream. */
static int parent_main(struct end *e, const struct options *opt, const struct msgs *pat,
                       struct figures *fig)
{
    const char *name = mech_name[e->mech];
    struct msgs m = *pat; /* the bodies are ours after fork; the child has its own copy */
    struct fault fault;
    uint64_t seq = 0;
    int status = -1;

    uint64_t *rtt = malloc((size_t)opt->count * sizeof *rtt);
    unsigned char *back = malloc(opt->size);
    if (rtt == NULL || back == NULL) {
        log_sys("%s: malloc(%ld round-trip times)", name, opt->count);
        goto out;
    }

    long warm = warmup_count(opt->count);
    int r = roundtrips(e, &m, warm, &seq, NULL, back, &fault);
    uint64_t t0 = timing_now_ns();
    if (r == 0)
        r = roundtrips(e, &m, opt->count, &seq, rtt, back, &fault);
    uint64_t t1 = timing_now_ns();
    if (r == WRONG_REPLY) {
        log_msg("%s: round trip %llu: byte %zu of the reply differs: sent 0x%02x, got 0x%02x",
                name, (unsigned long long)fault.seq, fault.offset, fault.sent, fault.got);
        goto out;
    }
    if (r != 0) {
        log_sys("%s: round trip %llu of %ld", name, (unsigned long long)seq + 1,
                warm + opt->count);
        goto out;
    }

    /* The stream: COUNT messages one way; the child answers once it has checked them all. */
    uint64_t s0 = timing_now_ns();
    for (long k = 0; k < opt->count; k++) {
        seq++;
        if (end_send(e, message(&m, seq), seq) == -1) {
            log_sys("%s: sending streamed message %ld of %ld", name, k + 1, opt->count);
            goto out;
        }
    }
    seq++;
    if (end_recv(e, back, seq) == -1) {
        log_sys("%s: waiting for the child's answer after the stream", name);
        goto out;
    }
    uint64_t s1 = timing_now_ns();
    if (message_check(&m, back, seq) != -1) {
        log_msg("%s: the child's answer after the stream is not message %llu", name,
                (unsigned long long)seq);
        goto out;
    }

    timing_sort(rtt, (size_t)opt->count);
    fig->p50_ns = timing_percentile(rtt, (size_t)opt->count, 50.0);
    fig->p99_ns = timing_percentile(rtt, (size_t)opt->count, 99.0);
    fig->max_ns = rtt[opt->count - 1];
    double secs = (double)(t1 - t0) / 1e9, ssecs = (double)(s1 - s0) / 1e9;
    fig->roundtrips_per_s = secs > 0 ? (double)opt->count / secs : 0;
    fig->msgs_per_s = ssecs > 0 ? (double)opt->count / ssecs : 0;
    fig->mb_per_s = ssecs > 0 ? (double)opt->count * (double)opt->size / ssecs / 1e6 : 0;
    status = 0;
out:
    free(back);
    free(rtt);
    return status;
}

/*
 * n round trips: for each, the next message number (++*seq), send message(m, seq), receive
 * the reply into back, and compare it with what was sent. When rtt_ns is not NULL, store in
 * rtt_ns[i] the time from just before the send to just after the reply was received
 * (making and checking the message are not part of it).
 * Returns 0; WRONG_REPLY with *fault filled at the first reply that differs; or -1 with
 * errno set when end_send or end_recv failed.
 */
static int roundtrips(struct end *e, struct msgs *m, long n, uint64_t *seq, uint64_t *rtt_ns,
                      unsigned char *back, struct fault *fault)
{
    /* YOUR CODE HERE: n times: next seq, send message(m, seq), receive the reply into back, time it into rtt_ns[i] (if not NULL), compare with what was sent (WRONG_REPLY + fault) */
    (void)e;
    (void)m;
    (void)n;
    (void)seq;
    (void)rtt_ns;
    (void)back;
    (void)fault;
    errno = ENOSYS;
    return -1;
}

/* The child's side: echo the round trips, check the stream, answer. Returns its exit status. */
static int child_main(struct end *e, const struct options *opt, const struct msgs *pat)
{
    const char *name = mech_name[e->mech];
    struct msgs m = *pat;
    uint64_t seq = 0;
    int status = 1;

    if (opt->child_cpu >= 0 && pin_self(opt->child_cpu) == -1) {
        log_sys("%s (child): sched_setaffinity(to CPU %d)", name, opt->child_cpu);
        return 1;
    }
    unsigned char *buf = malloc(opt->size);
    if (buf == NULL) {
        log_sys("%s (child): malloc(%zu)", name, opt->size);
        return 1;
    }
    long echoes = warmup_count(opt->count) + opt->count;
    for (long k = 0; k < echoes; k++) {
        seq++;
        if (end_recv(e, buf, seq) == -1 || end_send(e, buf, seq) == -1) {
            log_sys("%s (child): echo of round trip %llu", name, (unsigned long long)seq);
            goto out;
        }
    }
    for (long k = 0; k < opt->count; k++) {
        seq++;
        if (end_recv(e, buf, seq) == -1) {
            log_sys("%s (child): receiving streamed message %ld", name, k + 1);
            goto out;
        }
        long bad = message_check(&m, buf, seq);
        if (bad != -1) {
            log_msg("%s (child): streamed message %ld is wrong from byte %ld on", name, k + 1,
                    bad);
            goto out;
        }
    }
    seq++;
    if (end_send(e, message(&m, seq), seq) == -1) {
        log_sys("%s (child): answering after the stream", name);
        goto out;
    }
    status = 0;
out:
    free(buf);
    return status;
}

/* ---- the channels ------------------------------------------------------------------------ */

static void end_init(struct end *e, enum mech m, size_t size)
{
    memset(e, 0, sizeof *e);
    e->mech = m;
    e->size = size;
    e->rfd = e->wfd = -1;
}

/* Make the channel for mechanism m; *parent and *child are its two ends. Returns 0, or -1
 * (told on stderr) with nothing left open. */
static int chan_open(const struct options *opt, enum mech m, struct end *parent,
                     struct end *child)
{
    const char *name = mech_name[m];
    end_init(parent, m, opt->size);
    end_init(child, m, opt->size);

    switch (m) {
    case M_PIPE: {
        int down[2], up[2]; /* parent to child, child to parent */
        if (pipe2(down, O_CLOEXEC) == -1) {
            log_sys("%s: pipe()", name);
            return -1;
        }
        if (pipe2(up, O_CLOEXEC) == -1) {
            log_sys("%s: pipe()", name);
            close(down[0]);
            close(down[1]);
            return -1;
        }
        parent->wfd = down[1];
        parent->rfd = up[0];
        child->rfd = down[0];
        child->wfd = up[1];
        return 0;
    }
    case M_UNIX: {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
            log_sys("%s: socketpair(AF_UNIX, SOCK_STREAM)", name);
            return -1;
        }
        parent->rfd = parent->wfd = sv[0];
        child->rfd = child->wfd = sv[1];
        return 0;
    }
    case M_TCP: {
        /* Both ends made here: listen on loopback, connect, accept (the handshake completes
         * in the kernel on loopback, so accept does not wait), and hand one to the child. */
        int port, lfd = net_listen_tcp("127.0.0.1", 0, 1, &port);
        if (lfd == -1)
            return -1;
        int cfd = net_connect_tcp("127.0.0.1", port);
        int afd = cfd == -1 ? -1 : accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd != -1 && afd == -1)
            log_sys("accept(fd=%d)", lfd);
        close(lfd);
        if (afd == -1 || net_set_nodelay(cfd) == -1 || net_set_nodelay(afd) == -1) {
            if (cfd != -1)
                close(cfd);
            if (afd != -1)
                close(afd);
            return -1;
        }
        parent->rfd = parent->wfd = cfd;
        child->rfd = child->wfd = afd;
        return 0;
    }
    case M_SHM: {
        struct slot *s = slot_create(opt->key, opt->size);
        if (s == NULL) {
            if (errno == EEXIST)
                log_msg("%s: System V IPC key 0x%x (%d) is already in use; ipcbench only "
                        "uses a segment it creates itself: pick another key with -k",
                        name, (unsigned)opt->key, (int)opt->key);
            else
                log_sys("%s: creating the shared-memory segment (key 0x%x, %zu bytes)", name,
                        (unsigned)opt->key, sizeof(struct slot) + 2 * opt->size);
            return -1;
        }
        parent->slot = child->slot = s;
        parent->out = 0; /* the parent sends on dir[0] and receives on dir[1] */
        parent->in = 1;
        child->out = 1;
        child->in = 0;
        return 0;
    }
    default:
        errno = EINVAL;
        log_sys("%s", name);
        return -1;
    }
}

static void end_close(struct end *e)
{
    if (e->rfd != -1)
        close(e->rfd);
    if (e->wfd != -1 && e->wfd != e->rfd)
        close(e->wfd);
    e->rfd = e->wfd = -1;
    if (e->slot != NULL)
        shmdt(e->slot);
    e->slot = NULL;
}

/*
 * Create the segment at key, attach it, and mark it for removal straight away.
 * IPC_EXCL: a segment that exists already is someone else's, never ours to use or remove
 * (shmget fails with EEXIST). Mode 0600: only our user may attach. Marked for removal while
 * attached, the segment lives on until the last process detaches or exits (a child made by
 * fork keeps it attached), and no exit, error or kill can leave it behind; its key is free
 * again at once. The header is initialised: counters at 0, size set.
 * Returns the slot, or NULL with errno set (EEXIST when the key is taken).
 */
static struct slot *slot_create(key_t key, size_t size)
{
    /* YOUR CODE HERE: shmget(key, sizeof(struct slot) + 2 * size, IPC_CREAT | IPC_EXCL | 0600), shmat, IPC_RMID at once (with SIGINT/SIGTERM blocked meanwhile), set the counters to 0 and size */
    (void)key;
    (void)size;
    errno = ENOSYS;
    return NULL;
}

/* 1 if process pid has ended (without reaping it: the caller's waitpid still gets it). */
static int peer_gone(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == -1)
        return errno != EINTR;
    return info.si_pid != 0;
}

/*
 * Wait until *counter >= want, read with acquire ordering, so that what the other process
 * wrote before it stored the counter (release) is visible once we see the value. Spin
 * SPINS_BEFORE_YIELD times, then give the CPU away between looks (sched_yield): on one CPU
 * the other process can not make progress while we spin. The budget is a trade-off: across
 * two CPUs an answer takes a few hundred nanoseconds, a few dozen looks; on one CPU every
 * look is time taken from the peer (200 looks cost ~10 us per round trip here, 50 ~3 us).
 * Now and then, check that peer (when not 0) is still alive and that we have not waited
 * PEER_TIMEOUT_NS.
 * Returns 0, or -1 with errno EPIPE (the peer has ended) or ETIMEDOUT.
 */
static int slot_wait(_Atomic uint64_t *counter, uint64_t want, pid_t peer)
{
    /* YOUR CODE HERE: spin until atomic_load_explicit(counter, memory_order_acquire) >= want: timing_cpu_relax() for SPINS_BEFORE_YIELD looks, then sched_yield(); every 64 looks, EPIPE if peer_gone(peer) (peer > 0), ETIMEDOUT after PEER_TIMEOUT_NS */
    (void)counter;
    (void)want;
    (void)peer;
    (void)peer_gone;
    errno = ENOSYS;
    return -1;
}

static unsigned char *slot_area(struct slot *s, int dir)
{
    return s->data + (size_t)dir * s->size;
}

/* Send message seq through the shm slot: wait until the receiver has taken the last
 * message posted in this direction (the area is free), copy msg into e->out's area, then
 * publish posted = seq (release). */
static int slot_send(struct end *e, const unsigned char *msg, uint64_t seq)
{
    /* YOUR CODE HERE: wait for dir[e->out].taken >= the last posted (relaxed load of posted), copy msg into slot_area(e->slot, e->out), then store posted = seq with memory_order_release */
    (void)e;
    (void)msg;
    (void)seq;
    (void)slot_area;
    (void)slot_wait;
    errno = ENOSYS;
    return -1;
}

/* Receive message seq from the shm slot: wait until posted >= seq on e->in (acquire), copy
 * the area out into buf, publish taken = seq (release). */
static int slot_recv(struct end *e, unsigned char *buf, uint64_t seq)
{
    /* YOUR CODE HERE: wait for dir[e->in].posted >= seq, copy slot_area(e->slot, e->in) into buf, then store taken = seq with memory_order_release */
    (void)e;
    (void)buf;
    (void)seq;
    errno = ENOSYS;
    return -1;
}

/* Send message seq (e->size bytes at msg) to the other process. Returns 0, or -1 with errno
 * (EPIPE when the other process is gone). */
static int end_send(struct end *e, const unsigned char *msg, uint64_t seq)
{
    if (e->mech == M_SHM)
        return slot_send(e, msg, seq);
    /* write all of it, whatever the kernel takes per call */
    size_t done = 0;
    while (done < e->size) {
        ssize_t n = write(e->wfd, msg + done, e->size - done);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/* Receive message seq (e->size bytes) into buf. Returns 0, or -1 with errno (EPIPE when the
 * other process closed its end first). */
static int end_recv(struct end *e, unsigned char *buf, uint64_t seq)
{
    if (e->mech == M_SHM)
        return slot_recv(e, buf, seq);
    size_t done = 0;
    while (done < e->size) {
        ssize_t n = read(e->rfd, buf + done, e->size - done);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EPIPE;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/* ---- the messages ------------------------------------------------------------------------ */

/* How many leading bytes carry the message number: up to 8, fewer for tiny messages. */
static size_t stamp_len(size_t size)
{
    return size < 8 ? size : 8;
}

static void stamp(unsigned char *p, size_t size, uint64_t seq)
{
    for (size_t i = 0; i < stamp_len(size); i++)
        p[i] = (unsigned char)(seq >> (8 * i));
}

/* NPAT bodies of pseudo-random bytes (a Weyl sequence per body), made once before any fork. */
static int msgs_init(struct msgs *m, size_t size)
{
    memset(m, 0, sizeof *m);
    m->size = size;
    for (int j = 0; j < NPAT; j++) {
        m->body[j] = malloc(size);
        if (m->body[j] == NULL) {
            msgs_free(m);
            return -1;
        }
        uint64_t x = (uint64_t)(j + 1) * 0x9e3779b97f4a7c15ULL;
        for (size_t i = 0; i < size; i++) {
            x += 0xbf58476d1ce4e5b9ULL;
            m->body[j][i] = (unsigned char)(x >> 56);
        }
    }
    return 0;
}

static void msgs_free(struct msgs *m)
{
    for (int j = NPAT - 1; j >= 0; j--) {
        free(m->body[j]);
        m->body[j] = NULL;
    }
}

/* Message seq, ready to send: its body with the number stamped on (in place, O(1)). */
static unsigned char *message(struct msgs *m, uint64_t seq)
{
    unsigned char *p = m->body[seq % NPAT];
    stamp(p, m->size, seq);
    return p;
}

/* -1 if got is message seq, else the offset of its first wrong byte. */
static long message_check(const struct msgs *m, const unsigned char *got, uint64_t seq)
{
    size_t sl = stamp_len(m->size);
    for (size_t i = 0; i < sl; i++)
        if (got[i] != (unsigned char)(seq >> (8 * i)))
            return (long)i;
    const unsigned char *want = m->body[seq % NPAT];
    if (memcmp(got + sl, want + sl, m->size - sl) == 0)
        return -1;
    size_t i = sl;
    while (got[i] == want[i])
        i++;
    return (long)i;
}
