/*
 * echoclient: time round trips to an echo server (ex1.2).
 *
 * It opens one blocking TCP connection and makes COUNT round trips on it: send a SIZE-byte
 * message, read SIZE bytes back, check them byte for byte, note how long it took. At the end
 * it prints one line of key=value figures (messages per second, latency percentiles) that the
 * later chapters compare against. The exit status is 0 only if every echo came back right.
 */
#include "args.h"
#include "log.h"
#include "net.h"
#include "rio.h"
#include "timing.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_COUNT 1000
#define MAX_COUNT 100000000L
#define DEFAULT_SIZE 64
#define MAX_SIZE (16L * 1024 * 1024)

/*
 * A message is sent and read back in slices of at most this many bytes. An echo server sends
 * back while it is still reading, so a client that writes a whole 16 MiB message before
 * reading anything fills the server's send buffer and its own receive buffer; the server then
 * stops reading, our write stops too, and both wait for ever. A slice this size always fits in
 * the buffers on the way there and back, so writing one and then reading its echo can not
 * deadlock. For messages up to this size a round trip is simply one write and one read.
 */
#define ECHO_SLICE 65536

struct options {
    const char *addr;
    int port;
    size_t count;
    size_t size;
};

/* How one round trip went (the return value of roundtrip()). */
enum { ECHO_OK = 0, ECHO_CLOSED = 1, ECHO_DIFFERS = 2 };

/* The details the caller needs to report a round trip that went wrong. */
struct echo_fault {
    const char *call;   /* the call that failed, when roundtrip() returned -1 */
    size_t got;         /* ECHO_CLOSED: bytes of the echo that came before end of file */
    size_t offset;      /* ECHO_DIFFERS: offset of the first wrong byte (from 0) */
    unsigned char sent; /* ECHO_DIFFERS: that byte as it was sent ... */
    unsigned char recv; /* ... and as it came back */
};

/* The figures printed at the end. */
struct summary {
    double seconds; /* the whole run: round trips, fills and checks */
    uint64_t rate;  /* round trips per second */
    uint64_t p50_ns;
    uint64_t p99_ns;
    uint64_t max_ns;
};

static void parse_args(int argc, char **argv, struct options *opt);
static void usage(FILE *out);
static int connect_and_run(const struct options *opt, uint64_t *rtt_ns, unsigned char *out,
                           unsigned char *in);
static int run(int fd, const struct options *opt, uint64_t *rtt_ns, unsigned char *out,
               unsigned char *in);
static void fill_message(unsigned char *buf, size_t len, uint64_t index);
static int roundtrip(int fd, const unsigned char *out, unsigned char *in, size_t size,
                     uint64_t *rtt_ns, struct echo_fault *fault);
static int summarize(uint64_t *rtt_ns, size_t n, uint64_t elapsed_ns, struct summary *sum);

int main(int argc, char **argv)
{
    struct options opt;

    log_init(argv[0]);
    parse_args(argc, argv, &opt);

    /* A server that goes away while we write must give us EPIPE to report, not kill us. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        log_sys("signal(SIGPIPE, SIG_IGN)");
        return 1;
    }

    /* Everything is allocated before the first message, so nothing but the network is timed. */
    uint64_t *rtt_ns = calloc(opt.count, sizeof *rtt_ns);
    unsigned char *out = malloc(opt.size);
    unsigned char *in = malloc(opt.size);
    int status = 1;
    if (rtt_ns == NULL || out == NULL || in == NULL)
        log_sys("malloc(%zu round trips of %zu bytes)", opt.count, opt.size);
    else
        status = connect_and_run(&opt, rtt_ns, out, in);

    free(in);
    free(out);
    free(rtt_ns);
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-a ADDR] -p PORT [-n COUNT] [-s SIZE]\n"
            "\n"
            "Open one TCP connection to an echo server and make COUNT round trips on it: send\n"
            "a SIZE-byte message (with different content each time), read SIZE bytes back and\n"
            "check them byte for byte. If every echo was right, print one line on stdout\n"
            "\n"
            "  messages=N size=S seconds=T rate=R p50_us=A p99_us=B max_us=C\n"
            "\n"
            "(T: seconds the whole run took; R: round trips per second;\n"
            "A, B, C: median, 99th percentile and largest round-trip time in microseconds).\n"
            "\n"
            "  -a, --addr ADDR    the server's numeric IPv4 address (default %s)\n"
            "  -p, --port PORT    the server's TCP port, 1 to 65535 (required)\n"
            "  -n, --count COUNT  round trips, 1 to %ld (default %d)\n"
            "  -s, --size SIZE    bytes per message, 1 to %ld (default %d)\n"
            "  -h, --help         print this help and exit\n"
            "\n"
            "Exit status: 0 if every echo was right; 1 on a wrong or missing echo or a\n"
            "connection or I/O error, told in one line on stderr (messages are counted from 1,\n"
            "byte offsets within a message from 0); 2 on bad arguments.\n",
            log_progname(), ARGS_DEFAULT_ADDR, MAX_COUNT, DEFAULT_COUNT, MAX_SIZE, DEFAULT_SIZE);
}

static void parse_args(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"addr", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"count", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opt->addr = ARGS_DEFAULT_ADDR;
    opt->port = -1;
    opt->count = DEFAULT_COUNT;
    opt->size = DEFAULT_SIZE;

    opterr = 0; /* our own one-line message instead of getopt's */
    while ((c = getopt_long(argc, argv, "a:p:n:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            opt->addr = args_ipv4(optarg);
            break;
        case 'p':
            /* port 0 means "any" to a server; a client can not connect to it */
            opt->port = (int)args_number("-p", optarg, 1, 65535);
            break;
        case 'n':
            opt->count = (size_t)args_number("-n", optarg, 1, MAX_COUNT);
            break;
        case 's':
            opt->size = (size_t)args_number("-s", optarg, 1, MAX_SIZE);
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
}

static int connect_and_run(const struct options *opt, uint64_t *rtt_ns, unsigned char *out,
                           unsigned char *in)
{
    int fd = net_connect_tcp(opt->addr, opt->port);
    if (fd == -1)
        return 1; /* net_connect_tcp said why */

    /* Without TCP_NODELAY a small message may wait for the previous one's ACK (Nagle's
     * algorithm) and we would be timing the delayed-ACK timer instead of the server. */
    int status = 1;
    if (net_set_nodelay(fd) == 0)
        status = run(fd, opt, rtt_ns, out, in);

    if (close(fd) == -1) {
        log_sys("close(fd=%d)", fd);
        status = 1;
    }
    return status;
}

/* Make the round trips and print the result line. Returns the exit status. */
static int run(int fd, const struct options *opt, uint64_t *rtt_ns, unsigned char *out,
               unsigned char *in)
{
    uint64_t start = timing_now_ns();

    for (size_t i = 0; i < opt->count; i++) {
        struct echo_fault fault = {.call = "roundtrip"};

        fill_message(out, opt->size, i);
        int r = roundtrip(fd, out, in, opt->size, &rtt_ns[i], &fault);
        if (r == ECHO_OK)
            continue;
        if (r == ECHO_CLOSED)
            log_msg("message %zu of %zu: server closed the connection after %zu of %zu bytes",
                    i + 1, opt->count, fault.got, opt->size);
        else if (r == ECHO_DIFFERS)
            log_msg("message %zu of %zu: byte %zu differs: sent 0x%02x, got 0x%02x", i + 1,
                    opt->count, fault.offset, fault.sent, fault.recv);
        else
            log_sys("message %zu of %zu: %s(fd=%d, %zu bytes)", i + 1, opt->count, fault.call,
                    fd, opt->size);
        return 1;
    }
    uint64_t elapsed_ns = timing_now_ns() - start;

    struct summary sum;
    if (summarize(rtt_ns, opt->count, elapsed_ns, &sum) == -1) {
        log_sys("summarize(%zu round trips)", opt->count);
        return 1;
    }
    printf("messages=%zu size=%zu seconds=%.3f rate=%llu p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
           opt->count, opt->size, sum.seconds, (unsigned long long)sum.rate,
           (double)sum.p50_ns / 1e3, (double)sum.p99_ns / 1e3, (double)sum.max_ns / 1e3);
    if (fflush(stdout) == EOF) {
        log_sys("write(stdout)");
        return 1;
    }
    return 0;
}

/*
 * Fill buf with bytes that depend on the message's index, so that the echo of an earlier
 * message (a stale or repeated reply) does not match. The generator is a Weyl sequence, one
 * addition per 8 bytes: the fill runs between two timed round trips, and at 64 KiB a
 * costlier generator such as xorshift took half as long as the round trip itself here.
 * Start and step come from the index; an odd step walks the low byte through all 256
 * values, so a slipped or repeated word shows. The first byte is the index itself, so two
 * consecutive messages differ even when SIZE is 1.
 */
static void fill_message(unsigned char *buf, size_t len, uint64_t index)
{
    uint64_t x = (index + 1) * 0x9e3779b97f4a7c15ULL;
    uint64_t step = ((index + 1) * 0xbf58476d1ce4e5b9ULL) | 1;
    size_t off = 0;

    /* A memcpy of a constant 8 bytes compiles to one store; one of a variable length would be
     * a library call per word, which cost more than the round trip at 64 KiB. */
    for (; off + sizeof x <= len; off += sizeof x) {
        x += step;
        memcpy(buf + off, &x, sizeof x);
    }
    x += step;
    memcpy(buf + off, &x, len - off); /* the last 0 to 7 bytes */
    buf[0] = (unsigned char)index;
}

/*
 * One round trip: send size bytes of out, read the echo into in, check it, and store in
 * *rtt_ns the time from the first byte sent to the last byte received.
 * Returns ECHO_OK; ECHO_CLOSED when the server closed before the whole echo came back
 * (fault->got says how much did); ECHO_DIFFERS at the first wrong byte (fault->offset, sent,
 * recv); or -1 with errno set when a call failed (fault->call names it, e.g. "write").
 */
static int roundtrip(int fd, const unsigned char *out, unsigned char *in, size_t size,
                     uint64_t *rtt_ns, struct echo_fault *fault)
{
    //@solution
    size_t have = 0; /* bytes of the echo received so far */
    int result = ECHO_OK;
    uint64_t start = timing_now_ns();

    /* Slice by slice (see ECHO_SLICE): write a slice whole, then read its echo whole. */
    while (have < size) {
        size_t n = size - have < ECHO_SLICE ? size - have : ECHO_SLICE;

        if (rio_write_all(fd, out + have, n) == -1) {
            fault->call = "write";
            return -1;
        }
        ssize_t r = rio_read_exact(fd, in + have, n);
        if (r == -1) {
            fault->call = "read";
            return -1;
        }
        have += (size_t)r;
        if ((size_t)r < n) {
            result = ECHO_CLOSED;
            break;
        }
    }
    *rtt_ns = timing_now_ns() - start;

    /* Check what did arrive even when the rest is missing: a wrong byte followed by a close
     * is a wrong byte first. memcmp is fast; the byte loop only runs to locate a difference. */
    if (memcmp(out, in, have) != 0) {
        size_t i = 0;
        while (out[i] == in[i])
            i++;
        fault->offset = i;
        fault->sent = out[i];
        fault->recv = in[i];
        return ECHO_DIFFERS;
    }
    fault->got = have;
    return result;
    //@stub send out (in slices of ECHO_SLICE), read the echo into in, time it, compare it
    //@ (void)fd;
    //@ (void)out;
    //@ (void)in;
    //@ (void)size;
    //@ (void)rtt_ns;
    //@ (void)fault;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/*
 * Fill *sum from the n round-trip times in rtt_ns (which may be reordered) and the time the
 * whole run took. Returns 0, or -1 with errno set.
 */
static int summarize(uint64_t *rtt_ns, size_t n, uint64_t elapsed_ns, struct summary *sum)
{
    //@solution
    if (n == 0) {
        errno = EINVAL;
        return -1;
    }
    /* Percentiles, not the mean: one slow round trip in a thousand (a page fault, the
     * scheduler running someone else) hides in a mean but is what a user notices. */
    timing_sort(rtt_ns, n);
    sum->p50_ns = timing_percentile(rtt_ns, n, 50.0);
    sum->p99_ns = timing_percentile(rtt_ns, n, 99.0);
    sum->max_ns = rtt_ns[n - 1];
    sum->seconds = (double)elapsed_ns / 1e9;
    /* elapsed_ns is never 0 in practice; guard the division all the same */
    sum->rate = elapsed_ns > 0 ? (uint64_t)((double)n * 1e9 / (double)elapsed_ns) : 0;
    return 0;
    //@stub sort the round-trip times, fill in p50, p99, max, seconds and the rate per second
    //@ (void)rtt_ns;
    //@ (void)n;
    //@ (void)elapsed_ns;
    //@ (void)sum;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}
