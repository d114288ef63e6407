/*
 * muxbench: what one wait costs with select, poll and epoll when many descriptors are
 * watched and few are active (ex2.2).
 *
 * For each N it opens N idle descriptors (nothing to read) and one active one (always
 * readable), the active one last, so it has the highest number, like the newest connection
 * of a server. Then it asks each mechanism, over and over, "which of these N + 1 can I
 * read?", and times the answers, including the program's own work to find the active
 * descriptor in the answer:
 *
 *   select  copy a prepared fd_set (select overwrites it), select(), FD_ISSET over all;
 *   poll    poll() on a prepared array of N + 1 entries, then a look at every revents;
 *   epoll   the interest set is registered once (setup_ns), then epoll_wait() hands back
 *           only what is ready.
 *
 * select and poll describe the whole set on every call, and the kernel looks at every
 * descriptor on every call: O(N). epoll keeps the set in the kernel and a ready list
 * beside it: O(number ready). The CSV shows it. Rounds of the three mechanisms alternate,
 * so that a change in the machine's load during a run hits all three alike.
 */
#include "args.h"
#include "log.h"
#include "timing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_NS "10,30,100,300,1000,3000,10000"
#define MAX_POINTS 64
#define MAX_N 1000000L
#define MAX_ITERATIONS 100000000L
#define MAX_ROUNDS 1000
#define DEFAULT_ROUNDS 5
#define ROUND_TARGET_NS 20000000u /* auto mode: about 20 ms of waits per round */
#define FD_SLACK 32               /* descriptors besides the N + 1: stdio, epoll's own, ... */
#define WAIT_TIMEOUT_MS 5000      /* a wait that finds nothing this long is a bug, not a wait */
#define CSV_HEADER                                                                                 \
    "mechanism,n,iterations,ns_per_wait,ns_per_wait_min,ns_per_wait_max,rounds,setup_ns,fds"

enum mech { MECH_SELECT, MECH_POLL, MECH_EPOLL, MECH_COUNT };
static const char *const mech_name[MECH_COUNT] = {"select", "poll", "epoll"};

enum fd_kind { FDS_UDP, FDS_EVENTFD };
static const char *const kind_name[] = {"udp", "eventfd"};

struct options {
    enum mech mechs[MECH_COUNT]; /* in the order given */
    int nmechs;
    long ns[MAX_POINTS];
    int npoints;
    long iterations; /* waits per round; 0: as many as fit in about 20 ms */
    int rounds;
    enum fd_kind kind;
};

/* The descriptors of one point: fds[0..n) idle, fds[n] active (and the highest). */
struct watched {
    int *fds;
    int count; /* n + 1 */
    int active;
    int maxfd;
};

/* One mechanism prepared to wait on a struct watched. */
struct waiter {
    const struct watched *w;
    fd_set set;          /* select: the set to copy before each call */
    struct pollfd *pfds; /* poll: one entry per descriptor, the active one last */
    int ep;              /* epoll: the instance with every descriptor registered, or -1 */
};

/* What a round of waits can return besides 0 and -1 (errno): the answer was wrong. */
#define WAIT_WRONG 1

/* The figures of one mechanism at one point. */
struct result {
    int measured; /* 0: skipped (select above FD_SETSIZE) */
    long iterations;
    uint64_t setup_ns;
    double per_wait[MAX_ROUNDS]; /* ns per wait, one per round */
};

static void parse_args(int argc, char **argv, struct options *opt);
static void usage(FILE *out);
static int raise_fd_limit(long max_n);
static int run_point(const struct options *opt, long n);
static int watched_open(struct watched *w, enum fd_kind kind, long n);
static void watched_close(struct watched *w);
static int waiter_prepare(struct waiter *wt, enum mech m, const struct watched *w);
static void waiter_release(struct waiter *wt);
static int waits(struct waiter *wt, enum mech m, long iterations);
static int select_waits(struct waiter *wt, long iterations);
static int poll_waits(struct waiter *wt, long iterations);
static int epoll_prepare(struct waiter *wt);
static int epoll_waits(struct waiter *wt, long iterations);
static int report_wait_failure(int r, enum mech m, const struct watched *w);
static double median(double *v, int n);

int main(int argc, char **argv)
{
    struct options opt;

    log_init(argv[0]);
    parse_args(argc, argv, &opt);

    long max_n = 0;
    for (int i = 0; i < opt.npoints; i++)
        if (opt.ns[i] > max_n)
            max_n = opt.ns[i];
    if (raise_fd_limit(max_n) == -1)
        return 1;

    printf("%s\n", CSV_HEADER);
    fflush(stdout);
    for (int i = 0; i < opt.npoints; i++)
        if (run_point(&opt, opt.ns[i]) == -1)
            return 1;
    if (fflush(stdout) == EOF) {
        log_sys("write(stdout)");
        return 1;
    }
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-m MECHS] [-n NS] [-i ITERATIONS] [-r ROUNDS] [-f udp|eventfd]\n"
            "\n"
            "Measure one wait for readiness over N idle descriptors plus one active one,\n"
            "with select, poll and epoll, and print one CSV line per mechanism and N:\n"
            "\n"
            "  " CSV_HEADER "\n"
            "\n"
            "iterations: waits per round; ns_per_wait: median over the rounds of the time\n"
            "per wait (including finding the active descriptor in the answer), and its min\n"
            "and max; setup_ns: the one-time cost of preparing the mechanism's set (epoll:\n"
            "creating the instance and registering N + 1 descriptors); fds: their kind.\n"
            "select is measured only while every descriptor is below FD_SETSIZE (%d); other\n"
            "points are skipped for it, with a note on stderr.\n"
            "\n"
            "  -m, --mech MECHS       comma-separated, from select, poll, epoll (default all)\n"
            "  -n, --n NS             comma-separated numbers of idle descriptors, 1 to %ld\n"
            "                         (default " DEFAULT_NS ")\n"
            "  -i, --iterations N     waits per round, 1 to %ld (default: about 20 ms' worth)\n"
            "  -r, --rounds N         timed rounds per point, 1 to %d (default %d)\n"
            "  -f, --fds KIND         udp: UDP sockets (default); eventfd: eventfds\n"
            "  -h, --help             print this help and exit\n"
            "\n"
            "The soft limit on open descriptors (RLIMIT_NOFILE) is raised to the hard one when\n"
            "the largest N needs it; if the hard limit is too low, muxbench says so and exits 1\n"
            "before measuring anything.\n"
            "Exit status: 0 measured; 1 on a system error or a wrong answer from a\n"
            "mechanism (told on stderr); 2 on bad arguments.\n",
            log_progname(), FD_SETSIZE, MAX_N, MAX_ITERATIONS, MAX_ROUNDS, DEFAULT_ROUNDS);
}

/* Split a comma-separated list into words; calls each(word) for each. Empty words and an
 * overlong list are usage errors that name the option. */
static void for_each_word(const char *opt, const char *list, void (*each)(const char *, void *),
                          void *ctx)
{
    char buf[1024];
    if (strlen(list) >= sizeof buf)
        args_usage_error("%s: the list is too long", opt);
    strcpy(buf, list);
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        if (*p == '\0')
            args_usage_error("%s: empty item in '%s'", opt, list);
        each(p, ctx);
        if (comma == NULL)
            break;
        p = comma + 1;
    }
}

static void add_mech(const char *word, void *ctx)
{
    struct options *opt = ctx;
    int m;
    for (m = 0; m < MECH_COUNT; m++)
        if (strcmp(word, mech_name[m]) == 0)
            break;
    if (m == MECH_COUNT)
        args_usage_error("-m: expected select, poll or epoll, got '%s'", word);
    for (int i = 0; i < opt->nmechs; i++)
        if (opt->mechs[i] == (enum mech)m)
            args_usage_error("-m: '%s' is named twice", word);
    opt->mechs[opt->nmechs++] = (enum mech)m;
}

static void add_n(const char *word, void *ctx)
{
    struct options *opt = ctx;
    if (opt->npoints == MAX_POINTS)
        args_usage_error("-n: at most %d values", MAX_POINTS);
    opt->ns[opt->npoints++] = args_number("-n", word, 1, MAX_N);
}

static void parse_args(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"mech", required_argument, NULL, 'm'},
        {"n", required_argument, NULL, 'n'},
        {"iterations", required_argument, NULL, 'i'},
        {"rounds", required_argument, NULL, 'r'},
        {"fds", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *mechs = NULL, *ns = DEFAULT_NS;
    int c;

    memset(opt, 0, sizeof *opt);
    opt->rounds = DEFAULT_ROUNDS;
    opt->kind = FDS_UDP;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:n:i:r:f:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            mechs = optarg;
            break;
        case 'n':
            ns = optarg;
            break;
        case 'i':
            opt->iterations = args_number("-i", optarg, 1, MAX_ITERATIONS);
            break;
        case 'r':
            opt->rounds = (int)args_number("-r", optarg, 1, MAX_ROUNDS);
            break;
        case 'f':
            if (strcmp(optarg, "udp") == 0)
                opt->kind = FDS_UDP;
            else if (strcmp(optarg, "eventfd") == 0)
                opt->kind = FDS_EVENTFD;
            else
                args_usage_error("-f: expected udp or eventfd, got '%s'", optarg);
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
    if (mechs != NULL) {
        for_each_word("-m", mechs, add_mech, opt);
    } else {
        for (int m = 0; m < MECH_COUNT; m++)
            opt->mechs[opt->nmechs++] = (enum mech)m;
    }
    for_each_word("-n", ns, add_n, opt);
}

/*
 * Make room for max_n + 1 watched descriptors and FD_SLACK more. The soft limit is what
 * open() checks; a process may raise it up to the hard limit without privileges, so that
 * is what we do, and only when needed. Beyond the hard limit nothing can be done here: say
 * so (the numbers, and how to raise it) and fail.
 * Returns 0, or -1 after telling why on stderr.
 */
static int raise_fd_limit(long max_n)
{
    /* YOUR CODE HERE: getrlimit(RLIMIT_NOFILE); if the soft limit is below max_n + 1 + FD_SLACK, raise it to the hard one, or say the hard limit is too low (log_msg with the numbers) and return -1 */
    errno = ENOSYS;
    log_sys("raise_fd_limit(N=%ld)", max_n);
    return -1;
}

/* Measure every mechanism at one N and print their lines. Returns 0, or -1 (told). */
static int run_point(const struct options *opt, long n)
{
    struct watched w;
    struct waiter wt[MECH_COUNT];
    static struct result res[MECH_COUNT];
    int status = -1;

    if (watched_open(&w, opt->kind, n) == -1)
        return -1;
    for (int i = 0; i < opt->nmechs; i++) {
        wt[i].pfds = NULL;
        wt[i].ep = -1;
        res[i].measured = 0;
    }

    /* Prepare each mechanism (timed: the one-time cost) and settle how many waits make a
     * round; this first batch of waits also warms the caches up. */
    for (int i = 0; i < opt->nmechs; i++) {
        enum mech m = opt->mechs[i];
        if (m == MECH_SELECT && w.maxfd >= FD_SETSIZE) {
            log_msg("select skipped for N=%ld: its descriptors go up to %d, and select can "
                    "only watch descriptors below FD_SETSIZE (%d)",
                    n, w.maxfd, FD_SETSIZE);
            continue;
        }
        uint64_t t0 = timing_now_ns();
        if (waiter_prepare(&wt[i], m, &w) == -1) {
            log_sys("%s: preparing to watch %d descriptors", mech_name[m], w.count);
            goto out;
        }
        res[i].setup_ns = timing_now_ns() - t0;
        res[i].measured = 1;

        long it = opt->iterations;
        long warm = it > 0 ? (it + 9) / 10 : 1;
        uint64_t spent = 0;
        long done = 0;
        /* auto: double the batch until about ROUND_TARGET_NS went by */
        for (;;) {
            uint64_t s0 = timing_now_ns();
            int r = waits(&wt[i], m, warm);
            if (r != 0) {
                report_wait_failure(r, m, &w);
                goto out;
            }
            spent += timing_now_ns() - s0;
            done += warm;
            if (it > 0 || spent >= ROUND_TARGET_NS / 4 || done >= MAX_ITERATIONS / 8)
                break;
            warm *= 2;
        }
        if (it == 0) {
            double per = (double)spent / (double)done;
            double want = (double)ROUND_TARGET_NS / (per > 1 ? per : 1);
            it = want < 1 ? 1 : want > (double)MAX_ITERATIONS ? MAX_ITERATIONS : (long)want;
        }
        res[i].iterations = it;
    }

    /* The timed rounds, the mechanisms taking turns. */
    for (int r = 0; r < opt->rounds; r++) {
        for (int i = 0; i < opt->nmechs; i++) {
            if (!res[i].measured)
                continue;
            enum mech m = opt->mechs[i];
            uint64_t t0 = timing_now_ns();
            int rc = waits(&wt[i], m, res[i].iterations);
            uint64_t t1 = timing_now_ns();
            if (rc != 0) {
                report_wait_failure(rc, m, &w);
                goto out;
            }
            res[i].per_wait[r] = (double)(t1 - t0) / (double)res[i].iterations;
        }
    }

    for (int i = 0; i < opt->nmechs; i++) {
        if (!res[i].measured)
            continue;
        double lo = res[i].per_wait[0], hi = lo;
        for (int r = 1; r < opt->rounds; r++) {
            if (res[i].per_wait[r] < lo)
                lo = res[i].per_wait[r];
            if (res[i].per_wait[r] > hi)
                hi = res[i].per_wait[r];
        }
        double med = median(res[i].per_wait, opt->rounds);
        printf("%s,%ld,%ld,%.0f,%.0f,%.0f,%d,%llu,%s\n", mech_name[opt->mechs[i]], n,
               res[i].iterations, med, lo, hi, opt->rounds, (unsigned long long)res[i].setup_ns,
               kind_name[opt->kind]);
    }
    fflush(stdout);
    status = 0;
out:
    for (int i = opt->nmechs - 1; i >= 0; i--)
        waiter_release(&wt[i]);
    watched_close(&w);
    return status;
}

/* Tell why a round of waits failed (r is -1 with errno, or WAIT_WRONG). */
static int report_wait_failure(int r, enum mech m, const struct watched *w)
{
    if (r == WAIT_WRONG)
        log_msg("%s over %d descriptors did not report exactly the active one (fd %d) as "
                "readable",
                mech_name[m], w->count, w->active);
    else
        log_sys("%s over %d descriptors", mech_name[m], w->count);
    return -1;
}

/* The median of v[0..n) (v is reordered). */
static double median(double *v, int n)
{
    for (int i = 1; i < n; i++) { /* insertion sort: n is a handful of rounds */
        double x = v[i];
        int j = i - 1;
        for (; j >= 0 && v[j] > x; j--)
            v[j + 1] = v[j];
        v[j + 1] = x;
    }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the descriptors ------------------------------------------------------------------ */

/* One idle descriptor: never readable while we measure. */
static int open_idle(enum fd_kind kind)
{
    if (kind == FDS_EVENTFD)
        return eventfd(0, EFD_CLOEXEC); /* counter 0: nothing to read */
    /* an unbound UDP socket: no datagram can ever arrive */
    return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

/* The active descriptor: readable, and it stays so because nobody reads it. */
static int open_active(enum fd_kind kind)
{
    if (kind == FDS_EVENTFD)
        return eventfd(1, EFD_CLOEXEC);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char byte = 'x';
    /* bound to 127.0.0.1, any port, and one datagram sent to itself */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) == -1 ||
        sendto(fd, &byte, 1, 0, (struct sockaddr *)&sa, sizeof sa) != 1) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    /* the datagram is delivered by the kernel's loopback path: make sure it has arrived */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, WAIT_TIMEOUT_MS) != 1) {
        close(fd);
        errno = ETIMEDOUT;
        return -1;
    }
    return fd;
}

static int watched_open(struct watched *w, enum fd_kind kind, long n)
{
    w->count = 0;
    w->fds = malloc(((size_t)n + 1) * sizeof *w->fds);
    if (w->fds == NULL) {
        log_sys("malloc(%ld descriptors)", n + 1);
        return -1;
    }
    w->maxfd = -1;
    for (long i = 0; i <= n; i++) {
        int fd = i < n ? open_idle(kind) : open_active(kind);
        if (fd == -1) {
            log_sys("%s descriptor %ld of %ld (%s)", i < n ? "idle" : "active", i + 1, n + 1,
                    kind_name[kind]);
            watched_close(w);
            return -1;
        }
        w->fds[w->count++] = fd;
        if (fd > w->maxfd)
            w->maxfd = fd;
    }
    w->active = w->fds[n];
    return 0;
}

static void watched_close(struct watched *w)
{
    for (int i = w->count - 1; i >= 0; i--)
        close(w->fds[i]);
    free(w->fds);
    w->fds = NULL;
    w->count = 0;
}

/* ---- the mechanisms ------------------------------------------------------------------- */

static int waiter_prepare(struct waiter *wt, enum mech m, const struct watched *w)
{
    wt->w = w;
    wt->pfds = NULL;
    wt->ep = -1;
    switch (m) {
    case MECH_SELECT:
        FD_ZERO(&wt->set);
        for (int i = 0; i < w->count; i++)
            FD_SET(w->fds[i], &wt->set);
        return 0;
    case MECH_POLL:
        wt->pfds = calloc((size_t)w->count, sizeof *wt->pfds);
        if (wt->pfds == NULL)
            return -1;
        for (int i = 0; i < w->count; i++) {
            wt->pfds[i].fd = w->fds[i];
            wt->pfds[i].events = POLLIN;
        }
        return 0;
    case MECH_EPOLL:
        return epoll_prepare(wt);
    default:
        errno = EINVAL;
        return -1;
    }
}

static void waiter_release(struct waiter *wt)
{
    free(wt->pfds);
    wt->pfds = NULL;
    if (wt->ep != -1)
        close(wt->ep);
    wt->ep = -1;
}

static int waits(struct waiter *wt, enum mech m, long iterations)
{
    switch (m) {
    case MECH_SELECT:
        return select_waits(wt, iterations);
    case MECH_POLL:
        return poll_waits(wt, iterations);
    default:
        return epoll_waits(wt, iterations);
    }
}

/*
 * iterations waits with select on every descriptor of wt->w, each followed by the search
 * for the readable one in the answer. Returns 0; WAIT_WRONG if an answer is not exactly the
 * active descriptor; -1 with errno if select failed.
 */
static int select_waits(struct waiter *wt, long iterations)
{
    /* YOUR CODE HERE: iterations times: copy wt->set, select() on it (timeout WAIT_TIMEOUT_MS), scan every watched fd with FD_ISSET; WAIT_WRONG unless only w->active is ready */
    (void)wt;
    (void)iterations;
    errno = ENOSYS;
    return -1;
}

/* The same with poll on wt->pfds. */
static int poll_waits(struct waiter *wt, long iterations)
{
    /* YOUR CODE HERE: iterations times: poll() on wt->pfds (timeout WAIT_TIMEOUT_MS), scan every revents; WAIT_WRONG unless only w->active is ready */
    (void)wt;
    (void)iterations;
    errno = ENOSYS;
    return -1;
}

/* Create wt->ep and register every descriptor of wt->w for EPOLLIN, with the descriptor in
 * the event's data. Returns 0, or -1 with errno (wt->ep is then closed and -1). */
static int epoll_prepare(struct waiter *wt)
{
    /* YOUR CODE HERE: create wt->ep (epoll_create1) and add every fd of wt->w for EPOLLIN with the fd in data; on failure close it, set -1, keep errno */
    (void)wt;
    errno = ENOSYS;
    return -1;
}

/* The same with epoll_wait on wt->ep. */
static int epoll_waits(struct waiter *wt, long iterations)
{
    /* YOUR CODE HERE: iterations times: epoll_wait() on wt->ep (timeout WAIT_TIMEOUT_MS); WAIT_WRONG unless it returns exactly w->active */
    (void)wt;
    (void)iterations;
    errno = ENOSYS;
    return -1;
}
