/*
 * md: the logic half of the split echo server (ex4.4), and its workers (ex4.5).
 *
 * md consumes the queue io->md that io_conn fills with what clients send, and answers
 * through md->io: the logic is an echo, each message goes back as it came, with its flow id
 * and ts (iomd.h has the protocol). It is a plain loop, no event library (the given mdloop,
 * which wsecho runs too): take what waits, answer it, and when nothing waits keep looking a
 * little (iomd_wait_ready: sched_yield between two looks), then sleep on the queue's FIFO
 * (shmmq_sleep, poll) next to the signal pipe (common/sigwatch).
 *
 * Flow control: when md->io is full, md stops consuming (the message stays at the head of
 * io->md) and tries again a millisecond later. Nothing is dropped, so io->md fills in turn and
 * io_conn stops reading its clients.
 *
 * `md -w N` forks N worker processes first. Each has a queue pair of its own (iomd.h's keys)
 * and runs the same echo loop on it; the master routes each message of io->md to the worker
 * its flow id hashes to (so a flow's messages, close included, stay in order on one worker)
 * and forwards the workers' answers to md->io:
 *
 *   io_conn -io->md-> md -md->worker i-> worker i -worker->md i-> md -md->io-> io_conn
 *
 * Workers die with the master (PR_SET_PDEATHSIG, and they check their parent). A worker that
 * dies is logged and the master stops, exit status 1: io_conn keeps its clients and closes the
 * ones whose messages were lost, and md is started again (by hand, or by a supervisor).
 *
 * -d USEC delays every answer until USEC after io_conn read the bytes (the message's ts): a
 * slow logic, for experiments and for the grader's tests of late answers and full queues.
 * SIGINT or SIGTERM: exit 0 with a statistics line on stderr; the master stops its workers and
 * removes their queues, and every process removes the queues it was the last to use.
 *
 * Per-connection statistics: md alone, or the master (the one process that sees every
 * message), tells mdstats.h of each message and close (count()). Chapter 4 keeps nothing
 * there; chapter 5 keeps them in a multi-hash that viewconn lists.
 */
#include "iomd.h"
#include "log.h"
#include "mdloop.h"
#include "mdstats.h"
#include "shmmq.h"
#include "sigwatch.h"
#include "timing.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256           /* messages per pass over a queue, then the others and the signals */
#define RETRY_MS 1          /* a full queue ahead: try again after this long */
#define PARENT_CHECK_MS 200 /* a sleeping worker looks at its parent this often */
#define STOP_WAIT_MS 5000   /* a worker gets this long to exit after SIGTERM, then SIGKILL */
#define SIGNAL_CHECK_NS 50000000ULL /* a busy master looks for ended workers this often */

/* What a pass over a queue did: mdloop.h's enum mdloop_pass (MDLOOP_MOVED, MDLOOP_EMPTY,
 * MDLOOP_FULL, MDLOOP_LATER, MDLOOP_BAD), the master's passes too. */

struct counts {
    uint64_t messages, bytes, closes, full;
};

struct worker {
    pid_t pid;   /* 0 once it ended and was reaped */
    shmmq *to;   /* master -> worker (the master produces) */
    shmmq *from; /* worker -> master (the master consumes) */
    uint64_t routed;
};

struct md {
    key_t key;
    size_t queue_bytes;
    int nworkers;      /* -w; 0: the echo runs in md itself */
    uint64_t delay_ns; /* -d */
    shmmq *in, *out;   /* io->md and md->io; in a worker, its own pair */
    int self;          /* in a worker: its number; -1 in md (the master) */
    pid_t parent;      /* in a worker: the master */
    struct worker w[IOMD_WORKERS_MAX];
    struct counts st;
};

static void usage(FILE *out);
static void parse_options(int argc, char **argv, struct md *m);
static int run_single(struct md *m);
static int run_master(struct md *m);
static int run_worker(struct md *m, int i);
static int run_echo(struct md *m, key_t in_key, key_t out_key);
static int serve(struct md *m);
static enum mdloop_pass echo_pass(void *ctx, uint64_t *later);
static int master_gone(void *ctx);
static enum mdloop_pass pass_end(int n, enum mdloop_pass why);
static enum mdloop_pass pass_refused(struct md *m, int n);
static void count(struct md *m, uint64_t id, uint64_t ts, uint32_t len);
static int stats_open(struct md *m);
static int start_worker(struct md *m, int i);
static void stop_workers(struct md *m);
static int reap_workers(struct md *m);
static enum mdloop_pass route_pass(struct md *m);
static enum mdloop_pass collect_pass(struct md *m);
static int master_wait(struct md *m, int full);
static unsigned worker_of(uint64_t id, int n);
static void remove_leftover(key_t key);
static void log_workers(const struct md *m);
static void print_counts(const struct md *m);

int main(int argc, char **argv)
{
    static struct md m = {.queue_bytes = IOMD_QUEUE_DEFAULT, .self = -1};

    log_init(argv[0]);
    parse_options(argc, argv, &m);
    if (sigwatch_init() == -1)
        return 1;
    int status = m.nworkers == 0 ? run_single(&m) : run_master(&m);
    sigwatch_close();
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s -k KEY [-q BYTES] [-w N] [-d USEC]\n"
            "\n"
            "The logic half of the split echo server: it takes what io_conn's clients sent\n"
            "from the shared-memory queue io->md and sends it back through md->io. Start it\n"
            "with io_conn's -k and -q, before or after io_conn; it may be stopped or killed\n"
            "and started again while io_conn runs. SIGINT or SIGTERM stops it with exit\n"
            "status 0, after a line of statistics on stderr.\n"
            "\n"
            "  -k, --key KEY    base System V IPC key: io->md at KEY, md->io at KEY+1, and\n"
            "                   with -w, worker I's queues at KEY+2+2I and KEY+3+2I (chapter\n"
            "                   5's md keeps each connection's statistics at KEY+%d)\n"
            "  -q, --queue-bytes BYTES  ring size of each queue, a power of two from %u to\n"
            "                   %u (default %u); io_conn must be given the same\n"
            "  -w, --workers N  fork N worker processes (1 to %d) that do the echo; md routes\n"
            "                   each client's messages to one of them by its flow id\n"
            "  -d, --delay USEC answer no sooner than USEC microseconds after io_conn read\n"
            "                   the bytes (a slow logic; default 0)\n"
            "  -h, --help       print this help and exit\n",
            log_progname(), IOMD_STATS_OFFSET, IOMD_QUEUE_MIN, IOMD_QUEUE_MAX, IOMD_QUEUE_DEFAULT,
            IOMD_WORKERS_MAX);
}

static void parse_options(int argc, char **argv, struct md *m)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},     {"queue-bytes", required_argument, NULL, 'q'},
        {"workers", required_argument, NULL, 'w'}, {"delay", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "k:q:w:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': m->key = iomd_base_key(optarg); break;
        case 'q': m->queue_bytes = iomd_queue_bytes(optarg); break;
        case 'w': m->nworkers = (int)args_number("-w", optarg, 1, IOMD_WORKERS_MAX); break;
        case 'd': m->delay_ns = (uint64_t)args_number("-d", optarg, 0, 10000000) * 1000; break;
        case 'h': usage(stdout); exit(0);
        default: args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
    if (m->key == 0)
        args_usage_error("-k KEY is required: the base key of the queues (io_conn's -k)");
}

/* The exit line. wakeups: the FIFO bytes this process wrote to wake a consumer (the
 * notify_writes of the queues it produces into), for the benchmark's notifications per
 * message. */
static void print_counts(const struct md *m)
{
    char who[32] = "";
    uint64_t wakeups = 0;
    struct shmmq_stats st;
    if (m->self >= 0)
        snprintf(who, sizeof who, "worker %d: ", m->self);
    if (shmmq_stats(m->out, &st) == 0)
        wakeups += st.notify_writes;
    for (int i = 0; m->self < 0 && i < m->nworkers; i++)
        if (shmmq_stats(m->w[i].to, &st) == 0)
            wakeups += st.notify_writes;
    log_msg("%sexiting: messages=%" PRIu64 " bytes=%" PRIu64 " closes=%" PRIu64 " full=%" PRIu64
            " wakeups=%" PRIu64 " workers=%d",
            who, m->st.messages, m->st.bytes, m->st.closes, m->st.full, wakeups,
            m->self >= 0 ? 0 : m->nworkers);
}

/* ---- the echo: md alone, or one worker ------------------------------------------------ */

static int run_single(struct md *m)
{
    return run_echo(m, iomd_key_to_md(m->key), iomd_key_to_io(m->key));
}

/* Consume the queue at in_key, answer into the one at out_key, until a signal: md alone, or
 * one worker. Returns the exit status. */
static int run_echo(struct md *m, key_t in_key, key_t out_key)
{
    int status = 1;
    m->in = iomd_open(in_key, m->queue_bytes, SHMMQ_CONSUMER);
    if (m->in != NULL)
        m->out = iomd_open(out_key, m->queue_bytes, SHMMQ_PRODUCER);
    if (m->out != NULL && (m->self >= 0 || stats_open(m) == 0)) {
        status = serve(m);
        print_counts(m);
    }
    if (m->self < 0)
        mdstats_close();
    shmmq_close(m->out);
    shmmq_close(m->in);
    return status;
}

/*
 * The loop of md alone and of each worker: echo_pass until a signal says stop (the given
 * mdloop: it waits as the pass says: a full output, an answer not due yet, an empty input). A
 * worker also checks, when idle, that its master still runs. Returns the exit status.
 */
static int serve(struct md *m)
{
    const struct mdloop loop = {
        .in = m->in,
        .pass = echo_pass,
        .ctx = m,
        .idle = m->self >= 0 ? master_gone : NULL,
        .idle_ms = PARENT_CHECK_MS,
    };
    if (mdloop_run(&loop) == 0)
        return 0;
    if (errno == ENOSYS)
        log_sys("echo_pass");
    else
        log_sys("the queues of md (key 0x%x) are corrupt: stopping", (unsigned)m->key);
    return 1;
}

/* In a worker, idle: 1 (stop) if the master is gone. */
static int master_gone(void *ctx)
{
    struct md *m = ctx;
    if (getppid() == m->parent)
        return 0;
    log_msg("worker %d: md (pid %d) is gone; stopping", m->self, (int)m->parent);
    return 1;
}

/* What a pass that stops for `why` after moving n messages did: MDLOOP_MOVED if n > 0 (the
 * caller comes back anyway), else why; a corrupt queue (MDLOOP_BAD) always says so. */
static enum mdloop_pass pass_end(int n, enum mdloop_pass why)
{
    return why == MDLOOP_BAD || n == 0 ? why : MDLOOP_MOVED;
}

/* shmmq_enqueue refused a message after n moved: EAGAIN is a full queue (counted in
 * m->st.full: the message stays where it was, for a later pass), anything else a corrupt one. */
static enum mdloop_pass pass_refused(struct md *m, int n)
{
    if (errno != EAGAIN)
        return MDLOOP_BAD;
    m->st.full++;
    return pass_end(n, MDLOOP_FULL);
}

/* One message of flow id, len bytes read by io_conn at ts, moved on: m->st (a len of 0 is a
 * close), and in md alone or the master (not in a worker) the connection's statistics. */
static void count(struct md *m, uint64_t id, uint64_t ts, uint32_t len)
{
    m->st.messages++;
    m->st.bytes += len;
    if (len == 0)
        m->st.closes++;
    if (m->self >= 0)
        return;
    if (len == 0)
        mdstats_closed(id);
    else
        mdstats_message(id, len, ts);
}

/* The per-connection statistics of md alone or the master, once its queues are open (a
 * second md on the same -k was refused there). 0, or -1 once logged. */
static int stats_open(struct md *m)
{
    if (mdstats_open(m->key) == -1) {
        log_msg("could not keep the connections' statistics (above); stopping");
        return -1;
    }
    return 0;
}

/*
 * The logic: answer up to BATCH messages of m->in into m->out, each with its own id, ts and
 * bytes (len 0 answered with len 0: the close). shmmq_peek the head, shmmq_enqueue the answer
 * straight from the peeked bytes, then shmmq_consume: a message leaves m->in only once its
 * answer is in m->out. With m->delay_ns, a message is answered no sooner than ts + delay_ns
 * (*later = that time). count() each message answered. Returns MDLOOP_MOVED if it answered
 * some, else what stopped it (pass_end, pass_refused): MDLOOP_EMPTY, MDLOOP_FULL (m->out has no
 * room), MDLOOP_LATER (the head is not due), MDLOOP_BAD (errno: the queues' error).
 */
static enum mdloop_pass echo_pass(void *ctx, uint64_t *later)
{
    struct md *m = ctx;
    /* YOUR CODE HERE: peek m->in, enqueue the same into m->out (EAGAIN: MDLOOP_FULL), consume; -d later */
    (void)m;
    (void)later;
    (void)pass_end;
    (void)pass_refused;
    (void)count;
    errno = ENOSYS;
    return MDLOOP_BAD;
}

/* ---- md -w N: the master and its workers ----------------------------------------------- */

static int run_master(struct md *m)
{
    int status = 1, started = 0;

    /* Worker queues are md's own: a segment left by an md that was killed holds answers
     * for flows io_conn has closed since, and maybe another -q. */
    for (int i = 0; i < m->nworkers; i++) {
        remove_leftover(iomd_key_to_worker(m->key, i));
        remove_leftover(iomd_key_from_worker(m->key, i));
    }
    /* The workers first: they inherit nothing of ours but the standard descriptors. */
    for (; started < m->nworkers; started++)
        if (start_worker(m, started) == -1)
            goto out;
    for (int i = 0; i < m->nworkers; i++) {
        struct worker *w = &m->w[i];
        w->to = iomd_open(iomd_key_to_worker(m->key, i), m->queue_bytes, SHMMQ_PRODUCER);
        if (w->to == NULL)
            goto out;
        w->from = iomd_open(iomd_key_from_worker(m->key, i), m->queue_bytes, SHMMQ_CONSUMER);
        if (w->from == NULL)
            goto out;
    }
    m->in = iomd_open(iomd_key_to_md(m->key), m->queue_bytes, SHMMQ_CONSUMER);
    if (m->in == NULL)
        goto out;
    m->out = iomd_open(iomd_key_to_io(m->key), m->queue_bytes, SHMMQ_PRODUCER);
    if (m->out == NULL || stats_open(m) == -1)
        goto out;

    log_workers(m);
    status = 0;
    uint64_t next_check = timing_now_ns() + SIGNAL_CHECK_NS;
    while (!sigwatch_stop_requested()) {
        enum mdloop_pass a = route_pass(m);
        enum mdloop_pass b = collect_pass(m);
        if (a == MDLOOP_BAD || b == MDLOOP_BAD) {
            if (errno == ENOSYS)
                log_sys("route_pass or collect_pass");
            else
                log_sys("the queues of md (key 0x%x) are corrupt: stopping", (unsigned)m->key);
            status = 1;
            break;
        }
        uint64_t now = timing_now_ns();
        if (a == MDLOOP_MOVED || b == MDLOOP_MOVED) {
            if (now < next_check)
                continue;
            next_check = now + SIGNAL_CHECK_NS;
        } else if (master_wait(m, a == MDLOOP_FULL || b == MDLOOP_FULL) == -1) {
            status = 1;
            break;
        }
        if ((sigwatch_take() & SIGWATCH_CHILD) && reap_workers(m) == -1) {
            status = 1;
            break;
        }
    }
    print_counts(m);
out:
    mdstats_close();
    stop_workers(m);
    for (int i = 0; i < m->nworkers; i++) {
        shmmq_close(m->w[i].to);
        shmmq_close(m->w[i].from);
    }
    shmmq_close(m->out);
    shmmq_close(m->in);
    return status;
}

/* One line: how many workers, and their pids. */
static void log_workers(const struct md *m)
{
    char pids[16 * IOMD_WORKERS_MAX] = "";
    for (int i = 0; i < m->nworkers; i++)
        snprintf(pids + strlen(pids), sizeof pids - strlen(pids), " %d", (int)m->w[i].pid);
    log_msg("%d workers, pids%s", m->nworkers, pids);
}

/* Remove the segment at key if nobody uses it (a worker queue left by a killed md). */
static void remove_leftover(key_t key)
{
    if (shm_attached_count(key) == 0 && shm_remove(key) == -1 && errno != ENOENT)
        log_sys("shm_remove(key 0x%x) of a worker queue left behind", (unsigned)key);
}

/*
 * Fork worker i (m->w[i].pid). The child must not outlive md: prctl(PR_SET_PDEATHSIG,
 * SIGTERM), then check that its parent is still md (it may have died before the prctl); it
 * takes its own signal pipe (sigwatch_close, sigwatch_init: the inherited one is md's), sets
 * m->self, m->parent, and exits with run_worker's status, never returning here. Returns 0 in
 * md, or -1 once logged.
 */
static int start_worker(struct md *m, int i)
{
    /* YOUR CODE HERE: fork; child: sigwatch_close/init, PDEATHSIG, parent check, exit(run_worker(m, i)) */
    (void)m;
    (void)i;
    (void)run_worker;
    errno = ENOSYS;
    log_sys("start_worker");
    return -1;
}

/* In worker i: the echo loop on its own pair of queues. Returns the exit status. */
static int run_worker(struct md *m, int i)
{
    return run_echo(m, iomd_key_to_worker(m->key, i), iomd_key_from_worker(m->key, i));
}

/* Which worker serves flow id: the same one for every message of the flow. */
static unsigned worker_of(uint64_t id, int n)
{
    return (unsigned)((id * 0x9E3779B97F4A7C15ULL) >> 32) % (unsigned)n;
}

/*
 * Route up to BATCH messages of io->md (m->in) to the worker of their flow id (worker_of):
 * peek, enqueue into m->w[w].to with the same id, ts and bytes, consume, m->w[w].routed++ and
 * count(). A worker queue that is full stops the pass (EAGAIN: MDLOOP_FULL): the message stays
 * at the head of io->md, so no flow's order changes. Returns like echo_pass.
 */
static enum mdloop_pass route_pass(struct md *m)
{
    /* YOUR CODE HERE: peek m->in, enqueue into m->w[worker_of(id, n)].to (EAGAIN: MDLOOP_FULL), consume */
    (void)m;
    (void)worker_of;
    errno = ENOSYS;
    return MDLOOP_BAD;
}

/*
 * Forward the workers' answers to io_conn: from each m->w[i].from, up to BATCH messages, into
 * md->io (m->out) as they are. md->io full (EAGAIN): stop, MDLOOP_FULL (the answer stays in the
 * worker's queue). Returns MDLOOP_MOVED if some moved, else MDLOOP_EMPTY / MDLOOP_FULL /
 * MDLOOP_BAD.
 */
static enum mdloop_pass collect_pass(struct md *m)
{
    /* YOUR CODE HERE: each m->w[i].from: peek, enqueue into m->out (EAGAIN: MDLOOP_FULL), consume */
    (void)m;
    errno = ENOSYS;
    return MDLOOP_BAD;
}

/* The master has nothing to move. `full`: a queue ahead is full, look again in RETRY_MS.
 * Else look at every input queue for IOMD_SPIN_NS (yielding, as iomd_wait_ready), then sleep on all
 * their FIFOs and the signal
 * pipe. Returns 0, or -1 if a worker's queue is gone bad (logged). */
static int master_wait(struct md *m, int full)
{
    struct pollfd pf[2 + IOMD_WORKERS_MAX];
    shmmq *q[1 + IOMD_WORKERS_MAX];
    int nq = 0;
    pf[0] = (struct pollfd){.fd = sigwatch_fd(), .events = POLLIN};
    if (full) {
        mdloop_wait(pf, 1, RETRY_MS);
        return 0;
    }
    q[nq++] = m->in;
    for (int i = 0; i < m->nworkers; i++)
        q[nq++] = m->w[i].from;

    uint64_t until = timing_now_ns() + IOMD_SPIN_NS;
    do {
        for (int i = 0; i < nq; i++)
            if (shmmq_wait_ready(q[i], 0))
                return 0;
        sched_yield();
    } while (timing_now_ns() < until);
    int ready = 0;
    for (int i = 0; i < nq; i++)
        ready |= shmmq_sleep(q[i]) == 1;
    if (ready)
        return 0;
    int n = 1;
    for (int i = 0; i < nq; i++)
        pf[n++] = (struct pollfd){.fd = shmmq_fd(q[i]), .events = POLLIN};
    if (mdloop_wait(pf, n, -1) > 0)
        for (int i = 0; i < nq; i++)
            if (pf[1 + i].revents & POLLIN)
                shmmq_woken(q[i]);
    return 0;
}

/* SIGCHLD came: reap. A worker that ended is a failure of md (logged): -1. */
static int reap_workers(struct md *m)
{
    int lost = 0, status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < m->nworkers; i++) {
            if (m->w[i].pid != pid)
                continue;
            m->w[i].pid = 0;
            if (WIFSIGNALED(status))
                log_msg("worker %d (pid %d) was killed by signal %d (%s); stopping md: start it "
                        "again (io_conn keeps its clients)",
                        i, (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
            else
                log_msg("worker %d (pid %d) exited with status %d; stopping md: start it again "
                        "(io_conn keeps its clients)",
                        i, (int)pid, WEXITSTATUS(status));
            lost = 1;
        }
    }
    return lost ? -1 : 0;
}

/* SIGTERM to every worker still running, and wait for each (SIGKILL after STOP_WAIT_MS). */
static void stop_workers(struct md *m)
{
    for (int i = 0; i < m->nworkers; i++)
        if (m->w[i].pid > 0 && kill(m->w[i].pid, SIGTERM) == -1)
            log_sys("kill(worker %d, pid %d, SIGTERM)", i, (int)m->w[i].pid);
    for (int i = 0; i < m->nworkers; i++) {
        pid_t pid = m->w[i].pid;
        if (pid <= 0)
            continue;
        int status, waited = 0;
        pid_t r;
        while ((r = waitpid(pid, &status, WNOHANG)) == 0 && waited < STOP_WAIT_MS) {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
            waited++;
        }
        if (r == 0) {
            log_msg("worker %d (pid %d) still runs %d ms after SIGTERM: SIGKILL", i, (int)pid,
                    STOP_WAIT_MS);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        m->w[i].pid = 0;
    }
}
