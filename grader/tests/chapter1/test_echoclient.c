/*
 * test_echoclient.c: black-box tests of ex1.2, the student's echoclient.
 *
 * The client runs as a program (gt_run) against the reference echosvr_fork, or against a
 * small echo server of the test's own (a forked helper listening on 127.0.0.1, port 0) that
 * misbehaves in one precise way: echoes in tiny pieces, corrupts one byte, or closes in the
 * middle of a reply. The helper speaks plain read/write, never the student's rio code.
 *
 * echoclient's contract: `echoclient [-a ADDR] -p PORT [-n COUNT] [-s SIZE]` (defaults
 * 127.0.0.1, 1000, 64); on success exit 0 and one stdout line
 * `messages=N size=S seconds=T rate=R p50_us=A p99_us=B max_us=C`; a wrong or missing echo
 * exits 1 with one stderr line; bad arguments exit 2 with one stderr line.
 */
#include "gt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- running the client and reading its result --------------------------------------- */

static char cmdline[256]; /* the last command, for messages */

/* Run the student's echoclient with the given arguments (NULL-terminated). */
static void run_client(gt_result *r, double timeout_s, const char *const *args)
{
    const char *path = gt_student("echoclient");
    gt_describe(cmdline, sizeof cmdline, "echoclient", args);
    gt_run(r, timeout_s, path, args);
}

struct summary {
    long messages, size;
    double seconds, rate, p50, p99, max;
};

/* Parse stdout as exactly one summary line. Returns 0, or -1 with what is wrong in why. */
static int parse_summary(const gt_result *r, struct summary *s, char *why, size_t cap)
{
    int used = 0;
    if (r->out_len == 0 || r->out[r->out_len - 1] != '\n' ||
        strchr(r->out, '\n') != r->out + r->out_len - 1) {
        snprintf(why, cap, "stdout must be exactly one line ending in a newline");
        return -1;
    }
    int n = sscanf(r->out,
                   "messages=%ld size=%ld seconds=%lf rate=%lf p50_us=%lf p99_us=%lf "
                   "max_us=%lf%n",
                   &s->messages, &s->size, &s->seconds, &s->rate, &s->p50, &s->p99, &s->max, &used);
    if (n != 7 || r->out[used] != '\n') {
        snprintf(why, cap,
                 "stdout is not the line \"messages=N size=S seconds=T rate=R p50_us=A "
                 "p99_us=B max_us=C\"");
        return -1;
    }
    return 0;
}

/* The run must have exited 0 with a summary of n messages of s bytes. */
static void expect_success(const gt_result *r, long n, long s)
{
    struct summary sum;
    char why[160];

    if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
        gt_fail("%s%s: %s, expected exit status 0; stdout: %s; stderr: %s", gt_ni_prefix(r->err),
                cmdline, gt_status_str(r->status, r->timed_out), gt_out_head(r),
                gt_err_or_empty(r));
    if (parse_summary(r, &sum, why, sizeof why) == -1)
        gt_fail("%s exited 0 but %s; stdout: %s", cmdline, why, gt_out_head(r));
    if (sum.messages != n || sum.size != s)
        gt_fail("%s printed messages=%ld size=%ld, expected messages=%ld size=%ld", cmdline,
                sum.messages, sum.size, n, s);
}

/* The run must have exited with status 2 and one line on stderr (bad arguments). */
static void expect_usage_error(const gt_result *r)
{
    if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 2)
        gt_fail("%s: %s, expected exit status 2 (bad arguments); stderr: %s", cmdline,
                gt_status_str(r->status, r->timed_out), gt_err_or_empty(r));
    if (gt_count_lines(r->err) != 1)
        gt_fail("%s exited 2 but wrote %d lines on stderr, expected one line saying what is "
                "wrong; stderr: %s",
                cmdline, gt_count_lines(r->err), gt_err_or_empty(r));
}

/* The run must have failed with exit status 1 and a reason on stderr. */
static void expect_failure_1(const gt_result *r, const char *situation)
{
    if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 1)
        gt_fail("%s%s against a server that %s: %s, expected exit status 1; stdout: %s; "
                "stderr: %s",
                gt_ni_prefix(r->err), cmdline, situation, gt_status_str(r->status, r->timed_out),
                gt_out_head(r), gt_err_or_empty(r));
    if (r->err[0] == '\0')
        gt_fail("%s against a server that %s exited 1 but said nothing on stderr: tell the "
                "user which message went wrong and how",
                cmdline, situation);
}

/* ---- the reference server ------------------------------------------------------------ */

static void against_ref_server(long n, long s, double timeout_s)
{
    gt_proc srv;
    gt_result r;
    char port[16], count[24], size[24];

    gt_server_start(&srv, gt_ref("echosvr_fork"), NULL);
    snprintf(port, sizeof port, "%d", srv.port);
    snprintf(count, sizeof count, "%ld", n);
    snprintf(size, sizeof size, "%ld", s);
    const char *args[] = {"-p", port, "-n", count, "-s", size, NULL};
    run_client(&r, timeout_s, args);
    gt_server_stop(&srv);
    expect_success(&r, n, s);
}

GT_TEST(echoclient_defaults_ref_server, 40)
{
    gt_proc srv;
    gt_result r;
    char port[16];

    gt_server_start(&srv, gt_ref("echosvr_fork"), NULL);
    snprintf(port, sizeof port, "%d", srv.port);
    const char *args[] = {"-p", port, NULL};
    run_client(&r, 20, args);
    gt_server_stop(&srv);
    expect_success(&r, 1000, 64); /* the defaults: 1000 messages of 64 bytes */
}

GT_TEST(echoclient_size_1_ref_server, 40)
{
    against_ref_server(200, 1, 20);
}

GT_TEST(echoclient_size_65536_ref_server, 40)
{
    against_ref_server(30, 65536, 20);
}

GT_TEST(echoclient_size_1mib_ref_server, 40)
{
    against_ref_server(4, 1048576, 20);
}

GT_TEST(echoclient_summary_line_fields, 40)
{
    gt_proc srv;
    gt_result r;
    struct summary s;
    char port[16], why[160];

    gt_server_start(&srv, gt_ref("echosvr_fork"), NULL);
    snprintf(port, sizeof port, "%d", srv.port);
    const char *args[] = {"-p", port, "-n", "300", "-s", "100", NULL};
    run_client(&r, 20, args);
    gt_server_stop(&srv);
    expect_success(&r, 300, 100);
    parse_summary(&r, &s, why, sizeof why);

    if (!isfinite(s.seconds) || s.seconds < 0)
        gt_fail("%s printed seconds=%g: expected the run's duration in seconds; stdout: %s",
                cmdline, s.seconds, gt_out_head(&r));
    if (!isfinite(s.rate) || s.rate <= 0)
        gt_fail("%s printed rate=%g: expected round trips per second, above 0; stdout: %s", cmdline,
                s.rate, gt_out_head(&r));
    /* rate is messages over seconds; seconds has 3 decimals, hence the factor 2 of slack */
    double implied = s.seconds > 0 ? 300 / s.seconds : s.rate;
    if (s.rate > 2 * implied || s.rate < implied / 2)
        gt_fail("%s printed rate=%g with seconds=%g for 300 messages: the rate must be round "
                "trips per second, here about %.0f; stdout: %s",
                cmdline, s.rate, s.seconds, implied, gt_out_head(&r));
    /* half the round trips took p50 or more, and they all fit in the run: 150 * p50 can not
     * exceed its duration (plus the half millisecond seconds= may be rounded by) */
    if (150 * s.p50 > (s.seconds + 0.0005) * 1e6)
        gt_fail("%s printed p50_us=%g for a run of seconds=%g: 150 round trips of at least "
                "%g us do not fit in it; are the times in microseconds?; stdout: %s",
                cmdline, s.p50, s.seconds, s.p50, gt_out_head(&r));
    if (!(s.p50 > 0 && s.p50 <= s.p99 && s.p99 <= s.max && isfinite(s.max)))
        gt_fail("%s printed p50_us=%g p99_us=%g max_us=%g: expected 0 < p50 <= p99 <= max "
                "(round-trip times in microseconds); stdout: %s",
                cmdline, s.p50, s.p99, s.max, gt_out_head(&r));
}

/* ---- servers of the test's own ------------------------------------------------------- */

enum fake_mode {
    FAKE_TINY_WRITES, /* echo everything in writes of 1 to 3 bytes, with pauses */
    FAKE_CORRUPT,     /* echo right, but flip one byte of one message */
    FAKE_CLOSE_MID,   /* echo some messages, then half of one, then close */
};

/* where the fake server damages the stream: message index (from 0) and byte offset */
#define FAKE_BAD_MESSAGE 2
#define FAKE_BAD_BYTE 10
#define FAKE_REACHED 42 /* the fake server's exit status when the client got that far */

struct fake_server {
    pid_t pid;
    int port;
};

/* Read exactly len bytes (a message); returns the count read before EOF or error. */
static size_t recv_all(int fd, unsigned char *p, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, p + got, len - got, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

/* The fake server's one connection; runs in the helper process. Returns 1 if the client
 * got as far as the damaged message, else 0. */
static int fake_serve(int c, enum fake_mode mode, size_t size)
{
    static unsigned char buf[65536];
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    if (mode == FAKE_TINY_WRITES) {
        unsigned k = 0;
        for (;;) {
            ssize_t n = recv(c, buf, sizeof buf, 0);
            if (n == -1 && errno == EINTR)
                continue;
            if (n <= 0)
                return 0;
            for (ssize_t off = 0; off < n;) {
                size_t piece = 1 + k++ % 3;
                if (piece > (size_t)(n - off))
                    piece = (size_t)(n - off);
                if (gt_send_all(c, buf + off, piece) == -1)
                    return 0;
                off += (ssize_t)piece;
                gt_sleep(200e-6);
            }
        }
    }
    /* message by message: the test knows the size */
    int reached = 0;
    for (size_t i = 0;; i++) {
        if (recv_all(c, buf, size) < size)
            return reached;
        if (mode == FAKE_CORRUPT && i == FAKE_BAD_MESSAGE) {
            buf[FAKE_BAD_BYTE] ^= 0xff;
            reached = 1;
        }
        if (mode == FAKE_CLOSE_MID && i == FAKE_BAD_MESSAGE) {
            gt_send_all(c, buf, size / 2);
            gt_sleep(50000e-6); /* let the half arrive on its own before the end of file */
            return 1;
        }
        if (gt_send_all(c, buf, size) == -1)
            return reached;
    }
}

/* Start a helper serving one connection on 127.0.0.1 (any port) in the given mode. */
static void fake_start(struct fake_server *f, enum fake_mode mode, size_t size)
{
    int fd = gt_listen_loopback(8, &f->port, "the test's echo server");
    double limit = 30.0 * gt_time_scale();
    f->pid = gt_fork_helper();
    if (f->pid == 0) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, (int)(limit * 1000)) != 1)
            _exit(2);
        int c = accept(fd, NULL, NULL);
        if (c == -1)
            _exit(3);
        close(fd);
        int reached = fake_serve(c, mode, size);
        close(c);
        _exit(reached ? FAKE_REACHED : 0);
    }
    close(fd);
}

/* Stop the fake server (it ends by itself once the client has closed). Returns 1 if the
 * client got as far as the damaged message. */
static int fake_stop(struct fake_server *f)
{
    int st = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double limit = 5.0 * gt_time_scale();
    for (;;) {
        pid_t w = waitpid(f->pid, &st, WNOHANG);
        if (w == f->pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (w == -1 && errno != EINTR)
            return 0;
        if ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 > limit) {
            kill(f->pid, SIGKILL);
            while (waitpid(f->pid, &st, 0) == -1 && errno == EINTR)
                ;
            break;
        }
        gt_sleep(2000e-6);
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == FAKE_REACHED;
}

/* The client must have reached the damaged message before failing. */
static void expect_reached(int reached, const gt_result *r, const char *situation)
{
    if (!reached)
        gt_fail("%s failed before it got to the 3rd message, so it was not tested against a "
                "server that %s: %s; stderr: %s",
                cmdline, situation, gt_status_str(r->status, r->timed_out), gt_err_or_empty(r));
}

GT_TEST(echoclient_tiny_writes_server, 30)
{
    struct fake_server f;
    gt_result r;
    char port[16];

    fake_start(&f, FAKE_TINY_WRITES, 0);
    snprintf(port, sizeof port, "%d", f.port);
    const char *args[] = {"-p", port, "-n", "10", "-s", "300", NULL};
    run_client(&r, 20, args);
    fake_stop(&f);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
        gt_fail("%s%s against a server that echoes right but in pieces of 1 to 3 bytes: %s, "
                "expected exit status 0 (a read may return fewer bytes than asked: keep reading "
                "until the whole message is back); stdout: %s; stderr: %s",
                gt_ni_prefix(r.err), cmdline, gt_status_str(r.status, r.timed_out), gt_out_head(&r),
                gt_err_or_empty(&r));
    expect_success(&r, 10, 300);
}

GT_TEST(echoclient_detects_corrupt_byte, 30)
{
    struct fake_server f;
    gt_result r;
    char port[16];

    fake_start(&f, FAKE_CORRUPT, 64);
    snprintf(port, sizeof port, "%d", f.port);
    const char *args[] = {"-p", port, "-n", "5", "-s", "64", NULL};
    run_client(&r, 20, args);
    int reached = fake_stop(&f);
    expect_failure_1(&r, "flips byte 10 of the 3rd echo");
    expect_reached(reached, &r, "flips byte 10 of the 3rd echo");
    if (strstr(r.err, "byte 10 differs") == NULL || strstr(r.err, "message 3 ") == NULL)
        gt_fail("%s against a server that flips byte 10 of the 3rd echo exited 1, but stderr "
                "does not say which byte differs (expected a line like \"echoclient: message 3 "
                "of 5: byte 10 differs: sent 0x.., got 0x..\"); stderr: %s",
                cmdline, gt_err_or_empty(&r));
}

GT_TEST(echoclient_detects_early_close, 30)
{
    struct fake_server f;
    gt_result r;
    char port[16];

    fake_start(&f, FAKE_CLOSE_MID, 64);
    snprintf(port, sizeof port, "%d", f.port);
    const char *args[] = {"-p", port, "-n", "5", "-s", "64", NULL};
    run_client(&r, 20, args);
    int reached = fake_stop(&f);
    expect_failure_1(&r, "closes the connection after 32 bytes of the 3rd echo");
    expect_reached(reached, &r, "closes the connection after 32 bytes of the 3rd echo");
    if (strstr(r.err, "message 3 ") == NULL || strstr(r.err, "32 of 64") == NULL)
        gt_fail("%s against a server that closes the connection after 32 bytes of the 3rd echo "
                "exited 1, but stderr does not say so (expected a line like \"echoclient: "
                "message 3 of 5: server closed the connection after 32 of 64 bytes\"); stderr: %s",
                cmdline, gt_err_or_empty(&r));
}

/* ---- arguments ----------------------------------------------------------------------- */

GT_TEST(echoclient_bad_count_exit_2, 10)
{
    gt_result r;
    const char *args[] = {"-p", "9", "-n", "abc", NULL};
    run_client(&r, 10, args);
    expect_usage_error(&r);
}

GT_TEST(echoclient_unknown_option_exit_2, 10)
{
    gt_result r;
    const char *args[] = {"-p", "9", "--no-such-option", NULL};
    run_client(&r, 10, args);
    expect_usage_error(&r);
}

GT_TEST(echoclient_help_exit_0, 10)
{
    gt_result r;
    const char *args[] = {"--help", NULL};
    run_client(&r, 10, args);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
        gt_fail("%s: %s, expected exit status 0; stderr: %s", cmdline,
                gt_status_str(r.status, r.timed_out), gt_err_or_empty(&r));
    if (r.out_len == 0)
        gt_fail("%s exited 0 but printed nothing on stdout: expected the usage", cmdline);
}
