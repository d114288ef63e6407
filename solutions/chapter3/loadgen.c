/*
 * loadgen: an event-driven load generator for echo servers (ex3.5).
 *
 * One libevent loop drives CONNS connections at once. Each connection sends SIZE-byte
 * messages, up to DEPTH of them in flight (pipelining), either as fast as the echoes come back
 * or at a fixed RATE, for COUNT messages or for SECONDS. Every byte that comes back is checked
 * against what was sent, and the time from sending a message to receiving the last byte of its
 * echo goes into a histogram. At the end one line of figures goes to stdout; what went wrong
 * goes to stderr, one line per kind of error.
 *
 * Three ideas keep it fast and its memory fixed, whatever CONNS and COUNT are:
 *  - the payload is never stored: its bytes are a function of (connection, message, offset),
 *    written straight into the output buffer and recomputed to check the echo;
 *  - an echo server answers in order, so the send times of the messages in flight form a FIFO
 *    per connection, DEPTH entries long: no timestamps inside the payload;
 *  - latencies go into a log-linear histogram (fixed size, under 0.4% error), not an array.
 */
#include "args.h"
#include "log.h"
#include "net.h"
#include "timing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define DEFAULT_CONNS 1
#define MAX_CONNS 100000L
#define DEFAULT_SIZE 64
#define MAX_SIZE (16L * 1024 * 1024)
#define DEFAULT_COUNT 1000
#define MAX_COUNT 1000000000L
#define MAX_DEPTH 4096L
#define MAX_SECONDS 1000000.0 /* -d and -t: about eleven days */
#define MAX_RATE 1000000.0
#define DEFAULT_IDLE_S 10.0

/* Descriptors besides the connections: stdio, epoll, libevent's signal socketpair, and
 * the few that valgrind keeps for itself. */
#define FD_SPARE 32

/*
 * Opening connections without overrunning the server's listen backlog (128 places with
 * libevent's default). On loopback the kernel completes the handshake inside connect(), long
 * before the server calls accept(): a loop that opened 10,000 connections at once would fill
 * the accept queue in a few microseconds, and the kernel drops the SYNs of the overflow,
 * which TCP sends again only a second later (then 3 s, 7 s...). So at most CONNECT_BATCH
 * connections may be "pending": connecting, or connected without a byte back from the
 * server yet. The first echo proves that the server accepted the connection; each one lets
 * another connection open. The ramp-up then runs at the speed the server accepts.
 */
#define CONNECT_BATCH 128
#define CONNECT_TRIES 5          /* attempts per connection, the first one included */
#define RETRY_FIRST_NS 100000000 /* 100 ms, doubled after each failed attempt */

/*
 * At most this many bytes wait in a connection's output buffer; more are queued as the
 * write callback says it has drained to half. Large messages are then written while their
 * echo comes back, in bounded memory. The budget is shared by all connections, within bounds.
 */
#define SLICE_MAX 65536
#define SLICE_MIN 4096
#define OUTPUT_BUDGET (256L * 1024 * 1024)

#define CHECK_CHUNK 4096 /* bytes of the expected pattern computed at a time */
#define WHY_CAP 200      /* the words that describe one error */

/* ---- the latency histogram --------------------------------------------------------- */

/*
 * Log-linear buckets (the idea of HdrHistogram): values below 256 ns have a bucket each;
 * above, each power of two is cut into 128 equal buckets, so a bucket is never wider than
 * 1/128 of its values and its midpoint is within 0.4% of any value in it. 36 powers of two
 * cover 0 to 2^42 ns (73 minutes) in 4608 counters, 36 KiB, whatever the number of samples.
 */
#define HIST_SUB_BITS 8
#define HIST_HALF (1u << (HIST_SUB_BITS - 1))
#define HIST_MAX_BITS 42
#define HIST_BUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS + 2) * HIST_HALF)

struct hist {
    uint64_t count[HIST_BUCKETS];
    uint64_t total; /* samples recorded */
    uint64_t max;   /* the largest one, exact */
};

/* ---- options, connections, the run ------------------------------------------------- */

struct options {
    const char *addr;
    int port;
    const char *bind; /* -b: the connections' source address, or NULL (the kernel picks) */
    size_t conns;
    size_t size;
    uint64_t count;  /* messages per connection; UINT64_MAX with -d */
    double duration; /* -d seconds, or 0 */
    double rate;     /* -r messages per second per connection, or 0 */
    size_t depth;    /* -P messages in flight per connection */
    int quiet;
    double idle_s; /* -t: no progress for this long is an error */
};

enum conn_state {
    CONN_WAITING,    /* not opened yet */
    CONN_CONNECTING, /* non-blocking connect in progress */
    CONN_BACKOFF,    /* a connect failed; waiting to try again */
    CONN_RUNNING,    /* connected: sending messages and checking their echoes */
    CONN_DONE,       /* finished; closed */
    CONN_FAILED,     /* ended by an error; closed */
    CONN_ABANDONED,  /* closed unfinished because the run was interrupted */
};

struct loadgen;

struct conn {
    struct loadgen *lg;
    struct bufferevent *bev; /* NULL unless connecting or running */
    struct event *timer;     /* pacing (-r) and connect back-off; made when first needed */
    uint64_t *sent_at;       /* send times of the messages in flight: message m in m % ring */
    uint64_t started;        /* messages whose first byte has been queued */
    uint64_t echoed;         /* messages whose whole echo came back and was right */
    size_t send_left;        /* bytes of message started - 1 still to queue (0: none) */
    size_t recv_off;         /* bytes of message `echoed` that came back and were right */
    uint64_t t0;             /* -r: when message 0 is due */
    uint64_t last_progress;  /* when the connection last moved forward (the idle check) */
    uint32_t index;          /* 0 .. CONNS-1; shown from 1 in messages */
    uint8_t state;           /* enum conn_state */
    uint8_t tries;           /* connect attempts made */
    uint8_t pending;         /* counted in lg->pending (see CONNECT_BATCH) */
};

enum err_kind { ERR_CONNECT, ERR_WRONG, ERR_CLOSED, ERR_IO, ERR_STALLED, ERR_KINDS };

struct err_count {
    size_t count;
    char first[WHY_CAP + 64]; /* "connection N: <why>" of the first one */
};

struct loadgen {
    const struct options *opt;
    struct event_base *base;
    struct sockaddr_in addr;
    struct sockaddr_in src; /* -b's address, port 0 */
    struct conn *conns;
    uint64_t *sent_at; /* the FIFOs of every connection, ring entries each */
    size_t ring;       /* FIFO length: DEPTH, or COUNT when smaller */
    size_t slice;      /* output bytes queued per connection at most */
    size_t next_open;  /* conns[next_open..] have not been opened */
    size_t pending;    /* connections connecting, or connected with nothing back yet */
    size_t connected;  /* connections that connected at some point */
    size_t unfinished; /* connections not DONE, FAILED or ABANDONED */
    struct event *opener, *ticker, *deadline, *sigint, *sigterm;
    int stopping;    /* no new message may start: -d elapsed, or a signal */
    int interrupted; /* SIGINT or SIGTERM arrived */
    uint64_t start_ns, end_ns, last_report_ns, last_report_msgs;
    uint64_t messages; /* echoes checked and right, all connections */
    struct hist hist;
    struct err_count err[ERR_KINDS];
};

static void parse_args(int argc, char **argv, struct options *opt);
static void usage(FILE *out);
static int raise_fd_limit(size_t conns);
static int lg_init(struct loadgen *lg, const struct options *opt);
static void lg_free(struct loadgen *lg);
static int report(struct loadgen *lg);

static void on_open(evutil_socket_t fd, short what, void *arg);
static void on_tick(evutil_socket_t fd, short what, void *arg);
static void on_deadline(evutil_socket_t fd, short what, void *arg);
static void on_signal(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void conn_connect(struct conn *c, uint64_t now);
static void conn_connect_failed(struct conn *c, int err, uint64_t now);
static void conn_connected(struct conn *c, uint64_t now);
static void conn_step(struct conn *c, uint64_t now);
static int conn_pump(struct conn *c, uint64_t now);
static int echo_check(struct conn *c, const unsigned char *data, size_t len, uint64_t now,
                      char *why, size_t cap);
static void conn_fail(struct conn *c, enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_close(struct conn *c, enum conn_state state);

static void hist_record(struct hist *h, uint64_t v);
static uint64_t hist_bucket_value(size_t i);
static int hist_percentile(const struct hist *h, double p, uint64_t *out);

int main(int argc, char **argv)
{
    struct options opt;
    struct loadgen lg;

    log_init(argv[0]);
    parse_args(argc, argv, &opt);

    /* A server that goes away while we write must give us EPIPE to report, not kill us. */
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGPIPE, &ign, NULL) == -1) {
        log_sys("sigaction(SIGPIPE, SIG_IGN)");
        return 1;
    }
    if (raise_fd_limit(opt.conns) == -1)
        return 1;

    int status = 1;
    if (lg_init(&lg, &opt) == 0) {
        if (event_base_dispatch(lg.base) == -1)
            log_msg("event_base_dispatch failed");
        else
            status = report(&lg);
    }
    lg_free(&lg);
    libevent_global_shutdown();
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-a ADDR] -p PORT [-b ADDR] [-c CONNS] [-s SIZE] [-n COUNT | -d SECONDS]\n"
            "       [-r RATE] [-P DEPTH] [-t SECONDS] [-q]\n"
            "\n"
            "Load an echo server with CONNS connections at once, each sending SIZE-byte\n"
            "messages and checking every byte of every echo. At the end print one line:\n"
            "\n"
            "  connections=C messages=M bytes=B seconds=T rate=R p50_us=X p99_us=Y max_us=Z "
            "errors=E\n"
            "\n"
            "(C: connections that connected; M, B: messages and bytes echoed and checked right;\n"
            "T: seconds the run took; R: M/T; X, Y, Z: median, 99th percentile and largest time\n"
            "from sending a message to receiving its whole echo, in microseconds; E: connections\n"
            "that failed: could not connect, got a wrong or short echo, stalled).\n"
            "\n"
            "  -a, --addr ADDR         the server's numeric IPv4 address (default %s)\n"
            "  -p, --port PORT         the server's TCP port, 1 to 65535 (required)\n"
            "  -b, --bind ADDR         the connections' numeric IPv4 source address (default:\n"
            "                          the kernel's choice); one source address has about\n"
            "                          28,000 ports (net.ipv4.ip_local_port_range) per server\n"
            "                          address and port: loopback has 127.0.0.2, .3 ... for more\n"
            "  -c, --conns CONNS       connections at once, 1 to %ld (default %d); the soft\n"
            "                          descriptor limit is raised to the hard one when needed\n"
            "  -s, --size SIZE         bytes per message, 1 to %ld (default %d)\n"
            "  -n, --count COUNT       messages per connection, 1 to %ld (default %d)\n"
            "  -d, --duration SECONDS  instead of -n: send for this long (decimals allowed),\n"
            "                          then wait for the echoes in flight and report\n"
            "  -r, --rate RATE         messages per second per connection (decimals allowed;\n"
            "                          default 0: as fast as the echoes come back); the first\n"
            "                          messages of the connections are spread over one second\n"
            "  -P, --depth DEPTH       messages in flight per connection, 1 to %ld (default 1)\n"
            "  -t, --idle SECONDS      a connection with a message in flight and nothing back\n"
            "                          for this long is an error (default %.0f)\n"
            "  -q, --quiet             no progress lines on stderr\n"
            "  -h, --help              print this help and exit\n"
            "\n"
            "SIGINT or SIGTERM stops sending, waits for the echoes in flight and reports; a\n"
            "second one stops at once. Exit status: 0 if every connection connected, sent all\n"
            "its messages and got every echo back right; 1 otherwise, with one line on stderr\n"
            "per kind of error (its count and the first example; connections and messages are\n"
            "counted from 1, bytes within a message from 0); 2 on bad arguments.\n",
            log_progname(), ARGS_DEFAULT_ADDR, MAX_CONNS, DEFAULT_CONNS, MAX_SIZE, DEFAULT_SIZE,
            MAX_COUNT, DEFAULT_COUNT, MAX_DEPTH, DEFAULT_IDLE_S);
}

/* The value of a decimal option such as -d 2.5: a finite number in [min, max]. */
static double args_decimal(const char *opt, const char *s, double min, double max)
{
    char *end;
    errno = 0;
    double v = s[0] != '\0' && s[0] != ' ' ? strtod(s, &end) : NAN;
    if (!(v >= min && v <= max) || errno == ERANGE || *end != '\0')
        args_usage_error("%s: expected a number from %g to %g, got '%s'", opt, min, max, s);
    return v;
}

static void parse_args(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"addr", required_argument, NULL, 'a'},  {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"conns", required_argument, NULL, 'c'}, {"size", required_argument, NULL, 's'},
        {"count", required_argument, NULL, 'n'}, {"duration", required_argument, NULL, 'd'},
        {"rate", required_argument, NULL, 'r'},  {"depth", required_argument, NULL, 'P'},
        {"idle", required_argument, NULL, 't'},  {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int c, have_count = 0;

    opt->addr = ARGS_DEFAULT_ADDR;
    opt->port = -1;
    opt->bind = NULL;
    opt->conns = DEFAULT_CONNS;
    opt->size = DEFAULT_SIZE;
    opt->count = DEFAULT_COUNT;
    opt->duration = 0;
    opt->rate = 0;
    opt->depth = 1;
    opt->quiet = 0;
    opt->idle_s = DEFAULT_IDLE_S;

    opterr = 0; /* our own one-line message instead of getopt's */
    while ((c = getopt_long(argc, argv, "a:p:b:c:s:n:d:r:P:t:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            opt->addr = args_ipv4(optarg);
            break;
        case 'p':
            /* port 0 means "any" to a server; a client can not connect to it */
            opt->port = (int)args_number("-p", optarg, 1, 65535);
            break;
        case 'b':
            opt->bind = args_ipv4(optarg);
            break;
        case 'c':
            opt->conns = (size_t)args_number("-c", optarg, 1, MAX_CONNS);
            break;
        case 's':
            opt->size = (size_t)args_number("-s", optarg, 1, MAX_SIZE);
            break;
        case 'n':
            opt->count = (uint64_t)args_number("-n", optarg, 1, MAX_COUNT);
            have_count = 1;
            break;
        case 'd':
            opt->duration = args_decimal("-d", optarg, 0.001, MAX_SECONDS);
            break;
        case 'r':
            opt->rate = args_decimal("-r", optarg, 0, MAX_RATE);
            break;
        case 'P':
            opt->depth = (size_t)args_number("-P", optarg, 1, MAX_DEPTH);
            break;
        case 't':
            opt->idle_s = args_decimal("-t", optarg, 0.01, MAX_SECONDS);
            break;
        case 'q':
            opt->quiet = 1;
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
    if (opt->port == -1)
        args_usage_error("-p PORT is required");
    if (have_count && opt->duration > 0)
        args_usage_error("-n COUNT and -d SECONDS exclude each other: give one");
    if (opt->duration > 0)
        opt->count = UINT64_MAX;
}

/* Make room for conns sockets: raise the soft RLIMIT_NOFILE up to the hard one if needed. */
static int raise_fd_limit(size_t conns)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)conns + FD_SPARE;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
        log_sys("getrlimit(RLIMIT_NOFILE)");
        return -1;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_cur == RLIM_INFINITY)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        log_msg("-c %zu needs %llu file descriptors, but the hard limit (RLIMIT_NOFILE) is "
                "%llu: raise it (as root: `ulimit -Hn %llu`, or `prlimit --pid <shell pid> "
                "--nofile=%llu:%llu`) or use fewer connections",
                conns, (unsigned long long)need, (unsigned long long)rl.rlim_max,
                (unsigned long long)need, (unsigned long long)need, (unsigned long long)need);
        return -1;
    }
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY ? rl.rlim_max : need;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
        log_sys("setrlimit(RLIMIT_NOFILE, soft %llu -> %llu)", (unsigned long long)old,
                (unsigned long long)rl.rlim_cur);
        return -1;
    }
    return 0;
}

/* ---- the pattern: what message m of connection c carries -------------------------- */

/*
 * The bytes of a message are 8-byte words of a Weyl sequence, start + k * step for word k,
 * with start and step drawn from (connection, message) by a mixing function. Any byte can be
 * computed on its own, so a piece of an echo is checked wherever it falls in the message.
 * The first byte is (message + 157 * connection) mod 256, so consecutive messages differ even
 * at SIZE 1, and a stale, lost, repeated or reordered message or byte shows.
 */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static void pattern_seed(uint32_t conn, uint64_t msg, uint64_t *start, uint64_t *step)
{
    uint64_t h = mix64(((uint64_t)conn << 40) ^ msg ^ 0x5851f42d4c957f2dULL);
    unsigned char b[8];
    memcpy(b, &h, 8);
    b[0] = (unsigned char)(msg + 157u * conn); /* the byte of word 0 that comes first */
    memcpy(start, b, 8);
    *step = mix64(h) | 1;
}

/* Write bytes [off, off + len) of message msg of connection conn into dst. */
static void pattern_fill(unsigned char *dst, uint32_t conn, uint64_t msg, size_t off, size_t len)
{
    uint64_t start, step;
    pattern_seed(conn, msg, &start, &step);
    uint64_t w = start + (uint64_t)(off / 8) * step;
    size_t skip = off % 8;

    if (skip != 0 && len > 0) {
        unsigned char tmp[8];
        size_t n = 8 - skip < len ? 8 - skip : len;
        memcpy(tmp, &w, 8);
        memcpy(dst, tmp + skip, n);
        dst += n;
        len -= n;
        w += step;
    }
    /* a constant 8-byte memcpy is one store */
    for (; len >= 8; len -= 8, dst += 8, w += step)
        memcpy(dst, &w, 8);
    if (len > 0) {
        unsigned char tmp[8];
        memcpy(tmp, &w, 8);
        memcpy(dst, tmp, len);
    }
}

/* Append bytes [off, off + len) of message msg to c's output, written in place. */
static int queue_pattern(struct conn *c, struct evbuffer *out, uint64_t msg, size_t off,
                         size_t len)
{
    struct evbuffer_iovec v[2];
    int nv = evbuffer_reserve_space(out, (ev_ssize_t)len, v, 2);
    if (nv <= 0) {
        errno = ENOMEM;
        return -1;
    }
    size_t done = 0;
    int used = 0;
    for (; used < nv && done < len; used++) {
        size_t n = v[used].iov_len < len - done ? v[used].iov_len : len - done;
        pattern_fill(v[used].iov_base, c->index, msg, off + done, n);
        v[used].iov_len = n;
        done += n;
    }
    if (evbuffer_commit_space(out, v, used) == -1) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* ---- setting up and tearing down ---------------------------------------------------- */

static int lg_init(struct loadgen *lg, const struct options *opt)
{
    memset(lg, 0, sizeof *lg);
    lg->opt = opt;
    lg->unfinished = opt->conns;
    lg->addr.sin_family = AF_INET;
    lg->addr.sin_port = htons((uint16_t)opt->port);
    if (inet_pton(AF_INET, opt->addr, &lg->addr.sin_addr) != 1) {
        log_msg("not a numeric IPv4 address: '%s'", opt->addr);
        return -1;
    }
    lg->src.sin_family = AF_INET;
    if (opt->bind != NULL && inet_pton(AF_INET, opt->bind, &lg->src.sin_addr) != 1) {
        log_msg("not a numeric IPv4 address: '%s'", opt->bind);
        return -1;
    }
    lg->ring = opt->count < opt->depth ? (size_t)opt->count : opt->depth;
    lg->slice = (size_t)(OUTPUT_BUDGET / opt->conns);
    if (lg->slice > SLICE_MAX)
        lg->slice = SLICE_MAX;
    if (lg->slice < SLICE_MIN)
        lg->slice = SLICE_MIN;

    lg->conns = calloc(opt->conns, sizeof *lg->conns);
    lg->sent_at = calloc(opt->conns * lg->ring, sizeof *lg->sent_at);
    if (lg->conns == NULL || lg->sent_at == NULL) {
        log_sys("calloc(%zu connections, %zu messages in flight each)", opt->conns, lg->ring);
        return -1;
    }
    for (size_t i = 0; i < opt->conns; i++) {
        struct conn *c = &lg->conns[i];
        c->lg = lg;
        c->index = (uint32_t)i;
        c->sent_at = lg->sent_at + i * lg->ring;
        c->state = CONN_WAITING;
    }

    /* With -r, timers at microsecond precision (a timerfd): by default libevent wakes on
     * millisecond steps, and the sends due within one step would leave together in a burst,
     * which the server then answers one after the other: the latencies would measure our
     * bursts, not the server. */
    struct event_config *cfg = event_config_new();
    if (cfg == NULL) {
        log_msg("event_config_new failed (out of memory?)");
        return -1;
    }
    if (opt->rate > 0)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    lg->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (lg->base == NULL) {
        log_msg("event_base_new_with_config failed");
        return -1;
    }
    lg->opener = evtimer_new(lg->base, on_open, lg);
    lg->ticker = event_new(lg->base, -1, EV_PERSIST, on_tick, lg);
    lg->sigint = evsignal_new(lg->base, SIGINT, on_signal, lg);
    lg->sigterm = evsignal_new(lg->base, SIGTERM, on_signal, lg);
    if (opt->duration > 0)
        lg->deadline = evtimer_new(lg->base, on_deadline, lg);
    if (lg->opener == NULL || lg->ticker == NULL || lg->sigint == NULL || lg->sigterm == NULL ||
        (opt->duration > 0 && lg->deadline == NULL)) {
        log_msg("event_new failed (out of memory?)");
        return -1;
    }

    /* The idle check runs a few times per idle period, progress is shown once a second. */
    double tick_s = opt->idle_s / 4 < 1.0 ? opt->idle_s / 4 : 1.0;
    struct timeval tick = {(time_t)tick_s, (suseconds_t)((tick_s - (double)(time_t)tick_s) * 1e6)};
    struct timeval now_tv = {0, 0};
    struct timeval dur = {(time_t)opt->duration,
                          (suseconds_t)((opt->duration - (double)(time_t)opt->duration) * 1e6)};
    if (event_add(lg->ticker, &tick) == -1 || event_add(lg->sigint, NULL) == -1 ||
        event_add(lg->sigterm, NULL) == -1 || event_add(lg->opener, &now_tv) == -1 ||
        (lg->deadline != NULL && event_add(lg->deadline, &dur) == -1)) {
        log_msg("event_add failed");
        return -1;
    }
    lg->start_ns = timing_now_ns();
    lg->last_report_ns = lg->start_ns;
    return 0;
}

/* Free everything, in reverse order; safe on a half-made lg (calloc'ed and NULL pointers). */
static void lg_free(struct loadgen *lg)
{
    for (size_t i = 0; lg->conns != NULL && i < lg->opt->conns; i++) {
        struct conn *c = &lg->conns[i];
        if (c->timer != NULL)
            event_free(c->timer);
        if (c->bev != NULL)
            bufferevent_free(c->bev);
    }
    struct event *evs[] = {lg->deadline, lg->sigterm, lg->sigint, lg->ticker, lg->opener};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    if (lg->base != NULL)
        event_base_free(lg->base);
    free(lg->sent_at);
    free(lg->conns);
}

/* The loop's end: every connection is finished. */
static void lg_maybe_end(struct loadgen *lg)
{
    if (lg->unfinished == 0) {
        lg->end_ns = timing_now_ns();
        event_base_loopbreak(lg->base);
    }
}

/* Open the next batch of connections (see CONNECT_BATCH). */
static void on_open(evutil_socket_t fd, short what, void *arg)
{
    struct loadgen *lg = arg;
    uint64_t now = timing_now_ns();
    size_t opened = 0;
    (void)fd;
    (void)what;

    while (lg->next_open < lg->opt->conns && opened < CONNECT_BATCH &&
           lg->pending < CONNECT_BATCH && !lg->interrupted) {
        conn_connect(&lg->conns[lg->next_open++], now);
        opened++;
    }
    /* More next turn if there is room; else conn_unpend calls us again. */
    if (lg->next_open < lg->opt->conns && lg->pending < CONNECT_BATCH && !lg->interrupted) {
        struct timeval zero = {0, 0};
        evtimer_add(lg->opener, &zero);
    }
}

/* c is no longer pending (see CONNECT_BATCH): the opener may open another one. */
static void conn_unpend(struct conn *c)
{
    struct loadgen *lg = c->lg;
    if (!c->pending)
        return;
    c->pending = 0;
    lg->pending--;
    if (lg->next_open < lg->opt->conns && !lg->interrupted &&
        !evtimer_pending(lg->opener, NULL)) {
        struct timeval zero = {0, 0};
        evtimer_add(lg->opener, &zero);
    }
}

/* ---- one connection: connecting ---------------------------------------------------- */

/* Arm c's timer for the time `when` (monotonic ns), unless it is armed already. */
static int conn_wake_at(struct conn *c, uint64_t when, uint64_t now)
{
    if (c->timer == NULL) {
        c->timer = evtimer_new(c->lg->base, on_timer, c);
        if (c->timer == NULL) {
            errno = ENOMEM;
            return -1;
        }
    }
    if (evtimer_pending(c->timer, NULL))
        return 0;
    uint64_t us = when > now ? (when - now + 999) / 1000 : 0; /* never early */
    struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
    if (evtimer_add(c->timer, &tv) == -1) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

static void conn_connect(struct conn *c, uint64_t now)
{
    struct loadgen *lg = c->lg;

    c->tries++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        conn_fail(c, ERR_CONNECT, "socket(AF_INET, SOCK_STREAM): %s", strerror(errno));
        return;
    }
    /* Without TCP_NODELAY a small message may wait for the ACK of the previous one. */
    if (net_set_nodelay(fd) == -1) {
        int e = errno;
        close(fd);
        conn_fail(c, ERR_CONNECT, "setsockopt(TCP_NODELAY): %s", strerror(e));
        return;
    }
    /* -b: this source address. IP_BIND_ADDRESS_NO_PORT leaves the port to connect(), which
     * may then reuse a port that another connection holds to another server address or
     * port; bind() alone would have to pick a port unused by every socket of the address. */
    int one = 1;
    if (lg->opt->bind != NULL &&
        (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) == -1 ||
         bind(fd, (struct sockaddr *)&lg->src, sizeof lg->src) == -1)) {
        int e = errno;
        close(fd);
        conn_fail(c, ERR_CONNECT, "bind(%s): %s", lg->opt->bind, strerror(e));
        return;
    }
    if (connect(fd, (struct sockaddr *)&lg->addr, sizeof lg->addr) == -1 &&
        errno != EINPROGRESS) {
        int e = errno; /* refused at once (no listener) and the like */
        close(fd);
        conn_connect_failed(c, e, now);
        return;
    }
    c->bev = bufferevent_socket_new(lg->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        close(fd);
        conn_fail(c, ERR_IO, "bufferevent_socket_new failed (out of memory?)");
        return;
    }
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    /* With no address, libevent takes the connect already under way and reports how it
     * ends with BEV_EVENT_CONNECTED or BEV_EVENT_ERROR. */
    if (bufferevent_socket_connect(c->bev, NULL, 0) == -1) {
        conn_fail(c, ERR_IO, "bufferevent_socket_connect failed");
        return;
    }
    c->state = CONN_CONNECTING;
    c->last_progress = now;
    c->pending = 1;
    lg->pending++;
}

static int connect_error_is_transient(int err)
{
    return err == ECONNREFUSED || err == ETIMEDOUT || err == EAGAIN || err == EADDRNOTAVAIL ||
           err == ECONNRESET || err == ECONNABORTED || err == EINTR;
}

/* A connect failed with err: try again later, a bounded number of times, or give up. */
static void conn_connect_failed(struct conn *c, int err, uint64_t now)
{
    struct loadgen *lg = c->lg;

    conn_unpend(c);
    if (c->bev != NULL) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    c->state = CONN_BACKOFF; /* not connecting any more, whatever comes next */
    if (connect_error_is_transient(err) && c->tries < CONNECT_TRIES && !lg->interrupted) {
        uint64_t wait = (uint64_t)RETRY_FIRST_NS << (c->tries - 1);
        if (conn_wake_at(c, now + wait, now) == 0)
            return;
        err = errno;
    }
    conn_fail(c, ERR_CONNECT, "connect(%s:%d): %s (attempt %u of %u)", lg->opt->addr,
              lg->opt->port, strerror(err), c->tries, CONNECT_TRIES);
}

static void conn_connected(struct conn *c, uint64_t now)
{
    struct loadgen *lg = c->lg;
    const struct options *opt = lg->opt;

    lg->connected++;
    c->state = CONN_RUNNING; /* still pending until the server sends something back */
    c->last_progress = now;
    if (opt->rate > 0) {
        /* Connection i's first message is due i/CONNS of a second after the start, so
         * 10,000 connections at one message a second do not all send at once. */
        uint64_t due = lg->start_ns + (uint64_t)((double)c->index * 1e9 / (double)opt->conns);
        c->t0 = due > now ? due : now;
    }
    /* libevent reads 4 KiB at most per call unless told otherwise. */
    bufferevent_set_max_single_read(c->bev, SLICE_MAX);
    bufferevent_set_max_single_write(c->bev, SLICE_MAX);
    /* Called back when the output has drained to half a slice: time to queue more. */
    bufferevent_setwatermark(c->bev, EV_WRITE, lg->slice / 2, 0);
    /* Writing is ours until the socket is full (see conn_flush). */
    if (bufferevent_disable(c->bev, EV_WRITE) == -1 || bufferevent_enable(c->bev, EV_READ) == -1) {
        conn_fail(c, ERR_IO, "bufferevent_enable failed");
        return;
    }
    conn_step(c, now);
}

/* ---- one connection: sending, checking, finishing ----------------------------------- */

/* With -r: how many messages of c are due at `now` (all of them without -r). */
static uint64_t due_messages(const struct conn *c, uint64_t now)
{
    double rate = c->lg->opt->rate;
    if (rate <= 0)
        return UINT64_MAX;
    if (now < c->t0)
        return 0;
    return (uint64_t)((double)(now - c->t0) * rate / 1e9) + 1;
}

/* With -r: when message m of c is due (the first instant due_messages counts it). */
static uint64_t due_time(const struct conn *c, uint64_t m)
{
    return c->t0 + (uint64_t)((double)m * 1e9 / c->lg->opt->rate) + 1;
}

/*
 * Write c's output now, rather than on the loop's next turn. A bufferevent with EV_WRITE
 * enabled would add its write event to epoll when data is queued and remove it once the
 * buffer is empty: two epoll_ctl calls per message besides the write itself, and a loop
 * turn between queuing a message and sending it. So EV_WRITE stays disabled while the
 * socket takes everything; only when it is full does libevent take over (EV_WRITE enabled)
 * until on_write sees the buffer drained. Returns 0, or -1 with errno set.
 */
static int conn_flush(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if (evbuffer_get_length(out) == 0 || (bufferevent_get_enabled(c->bev) & EV_WRITE))
        return 0;
    /* A bufferevent keeps its output's start frozen so that only its own write callback
     * removes data; that callback unfreezes around its write exactly like this. */
    evbuffer_unfreeze(out, 1);
    errno = 0;
    int n = evbuffer_write(out, bufferevent_getfd(c->bev));
    int err = errno;
    evbuffer_freeze(out, 1);
    if (n == -1 && err != EAGAIN && err != EINTR) {
        errno = err != 0 ? err : EIO;
        return -1;
    }
    if (evbuffer_get_length(out) > 0 && bufferevent_enable(c->bev, EV_WRITE) == -1) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* Send what may be sent, then close c if it has finished. */
static void conn_step(struct conn *c, uint64_t now)
{
    struct loadgen *lg = c->lg;

    if (conn_pump(c, now) == -1) {
        conn_fail(c, ERR_IO, "sending message %llu: %s", (unsigned long long)c->started + 1,
                  strerror(errno));
        return;
    }
    if (conn_flush(c) == -1) {
        conn_fail(c, ERR_IO, "write after %llu of %llu messages sent: %s",
                  (unsigned long long)c->started, (unsigned long long)lg->opt->count,
                  strerror(errno));
        return;
    }
    /* finished: nothing in flight and nothing more to start */
    if (c->send_left == 0 && c->started == c->echoed &&
        (c->echoed == lg->opt->count || lg->stopping))
        conn_close(c, CONN_DONE);
}

/*
 * Queue output on c (with queue_pattern): the rest of the message being written, then new
 * messages as long as the count (-n), the stop flag (-d, a signal), the window (-P: messages
 * started and not yet echoed) and the clock (-r: due_messages) allow, with at most lg->slice
 * bytes waiting in the output buffer. A message that starts gets its send time in c's FIFO
 * (message m in c->sent_at[m % lg->ring]); one that starts while nothing is in flight also
 * restarts the idle clock (c->last_progress). When only the clock holds the next message
 * back, c's timer is armed for its due time (conn_wake_at, due_time), which calls this
 * again. Returns 0, or -1 with errno set.
 */
static int conn_pump(struct conn *c, uint64_t now)
{
    //@solution
    struct loadgen *lg = c->lg;
    const struct options *opt = lg->opt;
    struct evbuffer *out = bufferevent_get_output(c->bev);

    for (;;) {
        size_t queued = evbuffer_get_length(out);
        if (queued >= lg->slice)
            return 0; /* on_write calls again once it has drained to half */
        if (c->send_left == 0) {
            /* start the next message, if it may start */
            if (c->started == opt->count || lg->stopping)
                return 0;
            if (c->started - c->echoed >= opt->depth)
                return 0; /* the window is full: on_read calls again */
            if (c->started >= due_messages(c, now))
                return conn_wake_at(c, due_time(c, c->started), now);
            if (c->started == c->echoed)
                c->last_progress = now; /* it was idle: the idle clock starts now */
            c->sent_at[c->started % lg->ring] = now;
            c->started++;
            c->send_left = opt->size;
        }
        size_t n = c->send_left < lg->slice - queued ? c->send_left : lg->slice - queued;
        if (queue_pattern(c, out, c->started - 1, opt->size - c->send_left, n) == -1)
            return -1;
        c->send_left -= n;
    }
    //@stub start messages and queue their bytes while the count, window and clock allow
    //@ (void)c;
    //@ (void)now;
    //@ (void)due_messages; /* the helpers you will need */
    //@ (void)due_time;
    //@ (void)conn_wake_at;
    //@ (void)queue_pattern;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/*
 * Check len bytes that came back on c, which continue the echo where the previous ones
 * ended (message c->echoed, offset c->recv_off), against the pattern that was sent. Each
 * message whose echo is now complete counts as echoed, and its latency (now minus its send
 * time) goes into the histogram. Returns 0; 1 when a byte differs or more bytes came back
 * than were sent, with the reason in why (e.g. "message 3: byte 5 differs: sent 0x41, got
 * 0x42", messages counted from 1, bytes from 0); -1 with errno set if it could not check.
 */
static int echo_check(struct conn *c, const unsigned char *data, size_t len, uint64_t now,
                      char *why, size_t cap)
{
    //@solution
    struct loadgen *lg = c->lg;
    size_t size = lg->opt->size;
    unsigned char want[CHECK_CHUNK];

    while (len > 0) {
        /* how much of message c->echoed has been queued for sending so far */
        size_t sent = c->echoed + 1 < c->started    ? size
                      : c->echoed + 1 == c->started ? size - c->send_left
                                                    : 0;
        if (c->recv_off >= sent) {
            snprintf(why, cap,
                     "message %llu: %zu byte%s came back that %s never sent (%zu of its %zu "
                     "bytes were sent)",
                     (unsigned long long)c->echoed + 1, len, len == 1 ? "" : "s",
                     len == 1 ? "was" : "were", sent, size);
            return 1;
        }
        size_t n = sent - c->recv_off;
        if (n > len)
            n = len;
        if (n > sizeof want)
            n = sizeof want;
        pattern_fill(want, c->index, c->echoed, c->recv_off, n);
        if (memcmp(want, data, n) != 0) {
            size_t i = 0;
            while (want[i] == data[i])
                i++;
            snprintf(why, cap, "message %llu: byte %zu differs: sent 0x%02x, got 0x%02x",
                     (unsigned long long)c->echoed + 1, c->recv_off + i, want[i], data[i]);
            return 1;
        }
        c->recv_off += n;
        data += n;
        len -= n;
        if (c->recv_off == size) {
            hist_record(&lg->hist, now - c->sent_at[c->echoed % lg->ring]);
            c->echoed++;
            c->recv_off = 0;
            lg->messages++;
        }
    }
    return 0;
    //@stub compare the bytes with the pattern; count whole echoes and record their latency
    //@ (void)c;
    //@ (void)data;
    //@ (void)len;
    //@ (void)now;
    //@ (void)why;
    //@ (void)cap;
    //@ (void)pattern_fill; /* the helpers you will need */
    //@ (void)hist_record;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint64_t now = timing_now_ns();
    char why[WHY_CAP];

    /* Check the bytes where they lie in the buffer (no copy), then drop them. */
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v[8];
        int n = evbuffer_peek(in, -1, NULL, v, 8);
        size_t checked = 0;
        for (int i = 0; i < n && i < 8; i++) {
            why[0] = '\0';
            int r = echo_check(c, v[i].iov_base, v[i].iov_len, now, why, sizeof why);
            if (r == 1) {
                conn_fail(c, ERR_WRONG, "%s", why);
                return;
            }
            if (r == -1) {
                conn_fail(c, ERR_IO, "checking the echo of message %llu: %s",
                          (unsigned long long)c->echoed + 1, strerror(errno));
                return;
            }
            checked += v[i].iov_len;
        }
        evbuffer_drain(in, checked);
    }
    c->last_progress = now;
    conn_unpend(c); /* the server has accepted it */
    conn_step(c, now);
}

/* The output drained to the low-water mark while libevent was writing (see conn_flush). */
static void on_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE);
    conn_step(c, timing_now_ns());
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    int err = EVUTIL_SOCKET_ERROR(); /* first: any call below may change it */
    uint64_t now = timing_now_ns();
    (void)bev;

    if (what & BEV_EVENT_CONNECTED) {
        conn_connected(c, now);
        return;
    }
    if (c->state == CONN_CONNECTING) {
        conn_connect_failed(c, err != 0 ? err : ECONNREFUSED, now);
        return;
    }
    const struct options *opt = c->lg->opt;
    unsigned long long done = c->echoed, total = opt->count;
    char where[96];
    if (c->started > c->echoed)
        snprintf(where, sizeof where, ", message %llu: %zu of %zu bytes back", done + 1,
                 c->recv_off, opt->size);
    else
        snprintf(where, sizeof where, ", no message in flight");
    char of[40] = "";
    if (opt->duration <= 0)
        snprintf(of, sizeof of, " of %llu", total);
    if (what & BEV_EVENT_EOF)
        conn_fail(c, ERR_CLOSED, "the server closed the connection after %llu%s echoes%s", done,
                  of, where);
    else
        conn_fail(c, ERR_IO, "%s: %s after %llu%s echoes%s",
                  (what & BEV_EVENT_WRITING) ? "write" : "read", strerror(err != 0 ? err : EIO),
                  done, of, where);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    uint64_t now = timing_now_ns();
    (void)fd;
    (void)what;

    if (c->state == CONN_BACKOFF)
        conn_connect(c, now);
    else if (c->state == CONN_RUNNING)
        conn_step(c, now);
}

/* Record an error of c, then close it. */
static void conn_fail(struct conn *c, enum err_kind kind, const char *fmt, ...)
{
    struct err_count *e = &c->lg->err[kind];
    if (e->count++ == 0) {
        char why[WHY_CAP];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        snprintf(e->first, sizeof e->first, "connection %u: %s", c->index + 1, why);
    }
    conn_close(c, CONN_FAILED);
}

static void conn_close(struct conn *c, enum conn_state state)
{
    struct loadgen *lg = c->lg;

    conn_unpend(c);
    if (c->bev != NULL) {
        bufferevent_free(c->bev); /* safe inside its own callbacks: libevent defers it */
        c->bev = NULL;
    }
    if (c->timer != NULL) {
        event_free(c->timer);
        c->timer = NULL;
    }
    c->state = (uint8_t)state;
    lg->unfinished--;
    lg_maybe_end(lg);
}

/* ---- the run as a whole ------------------------------------------------------------- */

/* Stop starting messages; close the connections that have nothing in flight. */
static void lg_stop(struct loadgen *lg, uint64_t now)
{
    lg->stopping = 1;
    for (size_t i = 0; i < lg->next_open; i++)
        if (lg->conns[i].state == CONN_RUNNING)
            conn_step(&lg->conns[i], now);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct loadgen *lg = arg;
    uint64_t now = timing_now_ns();
    uint64_t end = lg->start_ns + (uint64_t)(lg->opt->duration * 1e9);
    (void)fd;
    (void)what;

    /* libevent's clock has millisecond steps and may call a little early: -d is a minimum */
    if (now < end) {
        uint64_t us = (end - now + 999) / 1000;
        struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
        if (evtimer_add(lg->deadline, &tv) == 0)
            return;
    }
    lg_stop(lg, now);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    struct loadgen *lg = arg;
    (void)fd;
    (void)what;

    if (lg->interrupted) {
        /* the second one: stop at once */
        lg->end_ns = timing_now_ns();
        event_base_loopbreak(lg->base);
        return;
    }
    lg->interrupted = 1;
    /* connections not opened yet never will be */
    lg->unfinished -= lg->opt->conns - lg->next_open;
    for (size_t i = lg->next_open; i < lg->opt->conns; i++)
        lg->conns[i].state = CONN_ABANDONED;
    lg->next_open = lg->opt->conns;
    for (size_t i = 0; i < lg->opt->conns; i++) {
        uint8_t s = lg->conns[i].state;
        if (s == CONN_CONNECTING || s == CONN_BACKOFF)
            conn_close(&lg->conns[i], CONN_ABANDONED);
    }
    lg_stop(lg, timing_now_ns());
    lg_maybe_end(lg);
}

/* Fail the connections that have waited too long; show progress once a second. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct loadgen *lg = arg;
    const struct options *opt = lg->opt;
    uint64_t now = timing_now_ns();
    uint64_t idle_ns = (uint64_t)(opt->idle_s * 1e9);
    (void)fd;
    (void)what;

    for (size_t i = 0; i < lg->next_open; i++) {
        struct conn *c = &lg->conns[i];
        if (now - c->last_progress <= idle_ns)
            continue;
        if (c->state == CONN_CONNECTING)
            conn_connect_failed(c, ETIMEDOUT, now);
        else if (c->state == CONN_RUNNING && (c->started > c->echoed || c->send_left > 0))
            conn_fail(c, ERR_STALLED,
                      "no progress for %.1f s: message %llu: %zu of %zu bytes back "
                      "(%llu echoes before it)",
                      opt->idle_s, (unsigned long long)c->echoed + 1, c->recv_off, opt->size,
                      (unsigned long long)c->echoed);
    }
    if (!opt->quiet && now - lg->last_report_ns >= 1000000000u && lg->unfinished > 0) {
        size_t errors = 0;
        for (int k = 0; k < ERR_KINDS; k++)
            errors += lg->err[k].count;
        double dt = (double)(now - lg->last_report_ns) / 1e9;
        log_msg("%.1f s: %zu of %zu connected, %llu echoes (%.0f/s now), %zu error%s",
                (double)(now - lg->start_ns) / 1e9, lg->connected, opt->conns,
                (unsigned long long)lg->messages,
                (double)(lg->messages - lg->last_report_msgs) / dt, errors,
                errors == 1 ? "" : "s");
        lg->last_report_ns = now;
        lg->last_report_msgs = lg->messages;
    }
}

/* Print the result line on stdout, the errors on stderr; return the exit status. */
static int report(struct loadgen *lg)
{
    static const char *const what[ERR_KINDS] = {
        [ERR_CONNECT] = "could not connect",
        [ERR_WRONG] = "got a wrong echo",
        [ERR_CLOSED] = "closed by the server too early",
        [ERR_IO] = "failed on an error",
        [ERR_STALLED] = "stalled",
    };
    const struct options *opt = lg->opt;
    uint64_t end = lg->end_ns != 0 ? lg->end_ns : timing_now_ns();
    double seconds = (double)(end - lg->start_ns) / 1e9;
    uint64_t p50 = 0, p99 = 0;
    size_t errors = 0, complete = 0;
    int status = 0;

    for (int k = 0; k < ERR_KINDS; k++)
        errors += lg->err[k].count;
    for (size_t i = 0; i < opt->conns; i++)
        complete += lg->conns[i].state == CONN_DONE &&
                    (opt->duration > 0 || lg->conns[i].echoed == opt->count);

    /* what went wrong first: it may explain the rest */
    for (int k = 0; k < ERR_KINDS; k++)
        if (lg->err[k].count > 0)
            log_msg("%s (%zu connection%s %s)", lg->err[k].first, lg->err[k].count,
                    lg->err[k].count == 1 ? "" : "s", what[k]);

    if (hist_percentile(&lg->hist, 50.0, &p50) == -1 ||
        hist_percentile(&lg->hist, 99.0, &p99) == -1) {
        log_sys("hist_percentile(%llu latencies)", (unsigned long long)lg->hist.total);
        status = 1;
    } else {
        printf("connections=%zu messages=%llu bytes=%llu seconds=%.3f rate=%llu p50_us=%.1f "
               "p99_us=%.1f max_us=%.1f errors=%zu\n",
               lg->connected, (unsigned long long)lg->messages,
               (unsigned long long)(lg->messages * opt->size), seconds,
               seconds > 0 ? (unsigned long long)((double)lg->messages / seconds) : 0ULL,
               (double)p50 / 1e3, (double)p99 / 1e3, (double)lg->hist.max / 1e3, errors);
        if (fflush(stdout) == EOF) {
            log_sys("write(stdout)");
            status = 1;
        }
    }
    if (lg->interrupted)
        log_msg("interrupted by a signal: %zu of %zu connections finished their messages",
                complete, opt->conns);
    else if (errors == 0 && complete < opt->conns)
        log_msg("%zu of %zu connections did not finish their messages", opt->conns - complete,
                opt->conns);
    return errors == 0 && complete == opt->conns && !lg->interrupted ? status : 1;
}

/* ---- the histogram ------------------------------------------------------------------ */

static void hist_record(struct hist *h, uint64_t v)
{
    size_t i;
    if (v >= (1ULL << HIST_MAX_BITS))
        v = (1ULL << HIST_MAX_BITS) - 1;
    if (v < 2 * HIST_HALF) {
        i = (size_t)v;
    } else {
        /* e: how far v must shift right to keep its top HIST_SUB_BITS bits */
        unsigned e = (unsigned)(63 - __builtin_clzll(v)) - (HIST_SUB_BITS - 1);
        i = (size_t)e * HIST_HALF + (size_t)(v >> e);
    }
    h->count[i]++;
    h->total++;
    if (v > h->max)
        h->max = v;
}

/* The value that stands for bucket i: its midpoint. */
static uint64_t hist_bucket_value(size_t i)
{
    if (i < 2 * HIST_HALF)
        return i;
    unsigned e = (unsigned)(i / HIST_HALF) - 1;
    uint64_t low = (uint64_t)(i - (size_t)e * HIST_HALF) << e;
    return low + ((1ULL << e) >> 1);
}

/*
 * Store in *out the p-th percentile (0 < p <= 100) of the values in h by the nearest-rank
 * method: the value of the bucket holding the ceil(p/100 * total)-th smallest sample, but
 * never more than the largest value recorded (a bucket's midpoint may be). 0 when h is empty.
 * Returns 0, or -1 with errno EINVAL for a p out of range.
 */
static int hist_percentile(const struct hist *h, double p, uint64_t *out)
{
    //@solution
    if (!(p > 0 && p <= 100)) {
        errno = EINVAL;
        return -1;
    }
    if (h->total == 0) {
        *out = 0;
        return 0;
    }
    /* the rank, rounded up, with a little slack so 99% of 100 is 99 and not 100 */
    double exact = p / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)exact;
    if ((double)rank < exact - 1e-9)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            uint64_t v = hist_bucket_value(i);
            *out = v < h->max ? v : h->max;
            return 0;
        }
    }
    *out = h->max; /* not reached: the counts add up to total */
    return 0;
    //@stub find the bucket that holds the sample of rank ceil(p/100 * total); its value
    //@ (void)h;
    //@ (void)p;
    //@ (void)out;
    //@ (void)hist_bucket_value; /* the helper you will need */
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}
