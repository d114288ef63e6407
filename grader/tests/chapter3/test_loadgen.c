/*
 * test_loadgen.c: black-box tests of ex3.5, the student's loadgen.
 *
 * loadgen runs as a program (gt_run) against the reference echosvr_v1, or against a small
 * echo server of the test's own (a forked helper on 127.0.0.1, port 0, serving a few
 * connections with poll) that misbehaves in one precise way on the first connection it
 * accepts: flips one byte, closes or resets in the middle of an echo, stops answering, or
 * holds its echoes back until a whole window of messages has arrived. The helper writes what
 * it saw into a shared page that the test reads once the helper has ended.
 *
 * loadgen's contract: `loadgen [-a ADDR] -p PORT [-c CONNS] [-s SIZE] [-n COUNT | -d SECONDS]
 * [-r RATE] [-P DEPTH] [-t SECONDS] [-q]`; exactly one line on stdout at the end,
 * `connections=C messages=M bytes=B seconds=T rate=R p50_us=X p99_us=Y max_us=Z errors=E`;
 * exit 0 iff every connection connected, sent and got back every message right; 1 otherwise,
 * with one stderr line per kind of error ("loadgen: connection 1: message 3: byte 5
 * differs: sent 0x41, got 0x42 ..."); 2 on bad arguments.
 */
#include "gt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- running loadgen and reading its result ------------------------------------------ */

static char cmdline[512]; /* the last command, for messages */

static void run_loadgen(gt_result *r, double timeout_s, const char *const *args)
{
    gt_describe(cmdline, sizeof cmdline, "loadgen", args);
    gt_run(r, timeout_s, gt_student("loadgen"), args);
}

static int exited_with(const gt_result *r, int code)
{
    return !r->timed_out && WIFEXITED(r->status) && WEXITSTATUS(r->status) == code;
}

struct summary {
    unsigned long long connections, messages, bytes, rate, errors;
    double seconds, p50, p99, max;
};

/* Parse stdout as exactly one result line. Returns 0, or -1 with what is wrong in why. */
static int parse_summary(const gt_result *r, struct summary *s, char *why, size_t cap)
{
    int used = 0;
    if (r->out_len == 0 || r->out[r->out_len - 1] != '\n' ||
        strchr(r->out, '\n') != r->out + r->out_len - 1) {
        snprintf(why, cap, "stdout must be exactly one line ending in a newline");
        return -1;
    }
    int n = sscanf(r->out,
                   "connections=%llu messages=%llu bytes=%llu seconds=%lf rate=%llu p50_us=%lf "
                   "p99_us=%lf max_us=%lf errors=%llu%n",
                   &s->connections, &s->messages, &s->bytes, &s->seconds, &s->rate, &s->p50,
                   &s->p99, &s->max, &s->errors, &used);
    if (n != 9 || r->out[used] != '\n') {
        snprintf(why, cap,
                 "stdout is not the line \"connections=C messages=M bytes=B seconds=T rate=R "
                 "p50_us=X p99_us=Y max_us=Z errors=E\"");
        return -1;
    }
    return 0;
}

/* The run must have exited 0 with a result line; it is stored in *s. */
static void expect_success(const gt_result *r, struct summary *s)
{
    char why[200];
    if (!exited_with(r, 0))
        gt_fail("%s%s: %s, expected exit status 0; stdout: %s; stderr: %s", gt_ni_prefix(r->err),
                cmdline, gt_status_str(r->status, r->timed_out), gt_out_head(r),
                gt_err_or_empty(r));
    if (parse_summary(r, s, why, sizeof why) == -1)
        gt_fail("%s exited 0 but %s; stdout: %s", cmdline, why, gt_out_head(r));
}

/* The run must have exited 0 with connections=c messages=m bytes=m*size errors=0. */
static void expect_counts(const gt_result *r, struct summary *s, unsigned long long c,
                          unsigned long long m, unsigned long long size)
{
    expect_success(r, s);
    if (s->connections != c || s->messages != m || s->bytes != m * size || s->errors != 0)
        gt_fail("%s printed connections=%llu messages=%llu bytes=%llu errors=%llu, expected "
                "connections=%llu messages=%llu bytes=%llu errors=0; stdout: %s",
                cmdline, s->connections, s->messages, s->bytes, s->errors, c, m, m * size,
                gt_out_head(r));
}

/* The run must have failed with exit status 1, a reason on stderr and its result line on
 * stdout saying errors=1; the line is stored in *s. */
static void expect_one_error(const gt_result *r, const char *situation, struct summary *s)
{
    char why[200];
    if (!exited_with(r, 1))
        gt_fail("%s%s against a server that %s: %s, expected exit status 1; stdout: %s; "
                "stderr: %s",
                gt_ni_prefix(r->err), cmdline, situation, gt_status_str(r->status, r->timed_out),
                gt_out_head(r), gt_err_or_empty(r));
    if (r->err[0] == '\0')
        gt_fail("%s against a server that %s exited 1 but said nothing on stderr: say which "
                "connection and message went wrong, and how",
                cmdline, situation);
    if (parse_summary(r, s, why, sizeof why) == -1)
        gt_fail("%s against a server that %s exited 1 as it should, but %s (the result line is "
                "printed also when there are errors); stdout: %s",
                cmdline, situation, why, gt_out_head(r));
    if (s->errors != 1)
        gt_fail("%s against a server that %s printed errors=%llu, expected errors=1 (one "
                "connection failed); stdout: %s; stderr: %s",
                cmdline, situation, s->errors, gt_out_head(r), gt_err_or_empty(r));
}

/* ---- the reference server ------------------------------------------------------------ */

static void start_ref_server(gt_proc *srv, char *port, size_t cap)
{
    gt_server_start(srv, gt_ref("echosvr_v1"), NULL);
    snprintf(port, cap, "%d", srv->port);
}

/* loadgen -q -p <ref server> <args...>, stop the server, return the result. */
static void against_ref_server(gt_result *r, double timeout_s, const char *const *args)
{
    gt_proc srv;
    char port[16];
    const char *argv[32];
    int n = 0;

    start_ref_server(&srv, port, sizeof port);
    argv[n++] = "-q";
    argv[n++] = "-p";
    argv[n++] = port;
    for (const char *const *a = args; *a != NULL && n < 31; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    run_loadgen(r, timeout_s, argv);
    gt_server_stop(&srv);
}

GT_TEST(loadgen_counts_ref_server, 60)
{
    gt_result r;
    struct summary s;
    const char *args[] = {"-c", "10", "-n", "100", NULL};
    against_ref_server(&r, 30, args);
    expect_counts(&r, &s, 10, 1000, 64); /* 64 bytes: the default size */
}

GT_TEST(loadgen_summary_line_fields, 60)
{
    gt_result r;
    struct summary s;
    const char *args[] = {"-c", "4", "-n", "300", "-s", "100", NULL};
    against_ref_server(&r, 30, args);
    expect_counts(&r, &s, 4, 1200, 100);

    if (!isfinite(s.seconds) || s.seconds <= 0)
        gt_fail("%s printed seconds=%g: expected the run's duration in seconds, above 0; "
                "stdout: %s",
                cmdline, s.seconds, gt_out_head(&r));
    /* rate = M/T, where T may have been rounded to the 3 decimals printed */
    double lo = (double)s.messages / (s.seconds + 0.0005) * 0.99 - 1;
    double hi = s.seconds > 0.0005 ? (double)s.messages / (s.seconds - 0.0005) * 1.01 + 1 : 1e18;
    if ((double)s.rate < lo || (double)s.rate > hi)
        gt_fail("%s printed rate=%llu, but messages / seconds = %llu / %.3f = %.0f; stdout: %s",
                cmdline, s.rate, s.messages, s.seconds, (double)s.messages / s.seconds,
                gt_out_head(&r));
    if (!(s.p50 > 0 && s.p50 <= s.p99 && s.p99 <= s.max && isfinite(s.max)))
        gt_fail("%s printed p50_us=%g p99_us=%g max_us=%g: expected 0 < p50 <= p99 <= max "
                "(times from sending a message to its whole echo, in microseconds); stdout: %s",
                cmdline, s.p50, s.p99, s.max, gt_out_head(&r));
    if (s.max > s.seconds * 1e6 * 1.01 + 1000)
        gt_fail("%s printed max_us=%g, longer than the whole run (seconds=%g): latencies are "
                "in microseconds; stdout: %s",
                cmdline, s.max, s.seconds, gt_out_head(&r));
}

GT_TEST(loadgen_pipelined_ref_server, 60)
{
    gt_result r;
    struct summary s;
    const char *args[] = {"-c", "10", "-n", "200", "-P", "16", "-s", "100", NULL};
    against_ref_server(&r, 30, args);
    expect_counts(&r, &s, 10, 2000, 100);
}

GT_TEST(loadgen_size_1_ref_server, 60)
{
    gt_result r;
    struct summary s;
    const char *args[] = {"-c", "5", "-n", "200", "-s", "1", NULL};
    against_ref_server(&r, 30, args);
    expect_counts(&r, &s, 5, 1000, 1);
}

GT_TEST(loadgen_size_1mib_ref_server, 60)
{
    gt_result r;
    struct summary s;
    const char *args[] = {"-c", "2", "-n", "4", "-s", "1048576", NULL};
    against_ref_server(&r, 30, args);
    expect_counts(&r, &s, 2, 8, 1048576);
}

GT_TEST(loadgen_duration_mode, 60)
{
    gt_result r;
    struct summary s;
    const char *args[] = {"-c", "4", "-d", "1", NULL};
    against_ref_server(&r, 30, args);
    expect_success(&r, &s);
    if (s.connections != 4 || s.errors != 0 || s.messages == 0 || s.bytes != s.messages * 64)
        gt_fail("%s printed connections=%llu messages=%llu bytes=%llu errors=%llu, expected "
                "connections=4, messages above 0, bytes = 64 * messages, errors=0; stdout: %s",
                cmdline, s.connections, s.messages, s.bytes, s.errors, gt_out_head(&r));
    /* -d is how long it sends; the report comes after the echoes in flight */
    if (s.seconds < 0.9)
        gt_fail("%s printed seconds=%.3f: with -d 1 it should send for 1 second, then wait for "
                "the echoes in flight; stdout: %s",
                cmdline, s.seconds, gt_out_head(&r));
}

GT_TEST(loadgen_rate_paces_count_mode, 60)
{
    gt_result r;
    struct summary s;
    /* 6 messages at 10 per second: the 6th leaves 0.5 s after the 1st, at the earliest */
    const char *args[] = {"-c", "5", "-n", "6", "-r", "10", NULL};
    against_ref_server(&r, 30, args);
    expect_counts(&r, &s, 5, 30, 64);
    if (s.seconds < 0.5)
        gt_fail("%s printed seconds=%.3f: at -r 10 (10 messages per second per connection), "
                "6 messages can not take less than 0.5 s; was -r ignored? stdout: %s",
                cmdline, s.seconds, gt_out_head(&r));
}

GT_TEST(loadgen_rate_duration_bounded, 60)
{
    gt_result r;
    struct summary s;
    const char *args[] = {"-c", "20", "-r", "10", "-d", "2", NULL};
    against_ref_server(&r, 30, args);
    expect_success(&r, &s);
    if (s.connections != 20 || s.errors != 0)
        gt_fail("%s printed connections=%llu errors=%llu, expected connections=20 errors=0; "
                "stdout: %s",
                cmdline, s.connections, s.errors, gt_out_head(&r));
    /* Whatever the start spread, a connection sending 10 a second for T seconds sends at
     * most 10 T + 1 messages; and in 2 s each should send a good part of its 20. */
    double most = 20.0 * (ceil(s.seconds * 10.0) + 1.0);
    if ((double)s.messages > most)
        gt_fail("%s printed messages=%llu in seconds=%.3f: 20 connections at 10 messages per "
                "second can not send more than %.0f in that time; was -r ignored? stdout: %s",
                cmdline, s.messages, s.seconds, most, gt_out_head(&r));
    if (s.messages < 100)
        gt_fail("%s printed messages=%llu: 20 connections at 10 messages per second for 2 s "
                "should send about 400 (at least 100 even with a slow start); stdout: %s",
                cmdline, s.messages, gt_out_head(&r));
}

/* ---- servers of the test's own ------------------------------------------------------- */

enum fake_mode {
    FAKE_FLIP,  /* echo, but flip the byte at stream offset `at` of the first connection */
    FAKE_CLOSE, /* first connection: echo `at` bytes, then close */
    FAKE_RESET, /* first connection: echo `at` bytes, then reset (RST) */
    FAKE_STALL, /* first connection: echo `at` bytes, then neither read nor write */
    FAKE_HOLD,  /* every connection: hold the echo until `at` bytes came, then echo all */
    FAKE_DELAY, /* echo messages of `at` bytes, every fake_delay_every-th one late */
    FAKE_EXTRA, /* first connection: echo, and one byte more (never sent) once `at` bytes came */
};

#define FAKE_DELAY_S 0.2 /* FAKE_DELAY: every fake_delay_every-th message is this late */

/* FAKE_DELAY: messages fake_delay_every, 2 * fake_delay_every, ... are echoed late (set before
 * against_fake: the helper process inherits it). */
static int fake_delay_every = 50;

#define FAKE_MAXC 16
#define FAKE_BUF 65536 /* the helper reads this much at most at a time */
#define FAKE_HOLD_PAUSE_S 0.3 /* how long a held connection is watched for extra bytes */
#define FAKE_HOLD_CAP (2 * 65536) /* bytes held per connection at most: `at` + one read */

/* What the helper saw; in a shared page, read by the test once the helper has ended. */
struct fake_report {
    int accepted;   /* connections accepted */
    int reached;    /* the first connection got as far as the fault */
    long held_min;  /* FAKE_HOLD: fewest bytes a connection sent before its echo started */
    long extra_max; /* FAKE_HOLD: most bytes a connection sent beyond `at` without an echo */
    int released;   /* FAKE_HOLD: connections whose echo started */
};

struct fake_server {
    pid_t pid;
    int port;
    struct fake_report *rep;
};

struct fake_conn {
    int fd;
    int stalled;
    long off;     /* bytes received so far */
    long held;    /* FAKE_HOLD: bytes held back (in hold) */
    int released; /* FAKE_HOLD: echoing normally */
    unsigned char *hold;
};

/* Read what is there without waiting, into buf (cap bytes at most); returns the count. */
static long read_now(int fd, unsigned char *buf, size_t cap)
{
    long total = 0;
    while ((size_t)total < cap) {
        ssize_t n = recv(fd, buf + total, cap - (size_t)total, MSG_DONTWAIT);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        total += n;
    }
    return total;
}

/* The helper's handling of n bytes that arrived on connection i. Returns 0, or -1 when the
 * connection is to be closed. */
static int fake_input(struct fake_conn *c, int i, enum fake_mode mode, long at, unsigned char *buf,
                      long n, struct fake_report *rep)
{
    long off = c->off;
    c->off += n;
    switch (mode) {
    case FAKE_FLIP:
        if (i == 0 && off <= at && at < off + n) {
            buf[at - off] ^= 0xff;
            rep->reached = 1;
        }
        return gt_send_all(c->fd, buf, (size_t)n);
    case FAKE_CLOSE:
    case FAKE_RESET:
    case FAKE_STALL:
        if (i != 0 || off + n <= at)
            return gt_send_all(c->fd, buf, (size_t)n);
        gt_send_all(c->fd, buf, (size_t)(at - off));
        rep->reached = 1;
        if (mode == FAKE_STALL) {
            c->stalled = 1;
            return 0;
        }
        gt_sleep(0.05); /* let the part arrive on its own before the end */
        if (mode == FAKE_RESET) {
            struct linger lg = {1, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        return -1;
    case FAKE_EXTRA:
        if (i == 0 && off < at && at <= off + n) {
            /* in the same send as the echo's end, so that it comes in the same read */
            static unsigned char more[FAKE_BUF + 1];
            memcpy(more, buf, (size_t)n);
            more[n] = 0x5a;
            rep->reached = 1;
            return gt_send_all(c->fd, more, (size_t)n + 1);
        }
        return gt_send_all(c->fd, buf, (size_t)n);
    case FAKE_DELAY:
        /* with -P 1 the next message comes only after this echo: a read never spans two */
        if (off % at == 0 && (off / at + 1) % fake_delay_every == 0) {
            gt_sleep(FAKE_DELAY_S);
            rep->reached = 1;
        }
        return gt_send_all(c->fd, buf, (size_t)n);
    case FAKE_HOLD:
        if (c->released)
            return gt_send_all(c->fd, buf, (size_t)n);
        memcpy(c->hold + c->held, buf, (size_t)n);
        c->held += n;
        if (c->held < at)
            return 0;
        /* A whole window came without any echo. Watch a moment: a client that keeps its
         * window sends nothing more until an echo comes back. */
        gt_sleep(FAKE_HOLD_PAUSE_S);
        c->held += read_now(c->fd, c->hold + c->held, FAKE_HOLD_CAP - (size_t)c->held);
        long extra = c->held - at;
        if (rep->released == 0 || c->held < rep->held_min)
            rep->held_min = c->held;
        if (extra > rep->extra_max)
            rep->extra_max = extra;
        rep->released++;
        c->released = 1;
        return gt_send_all(c->fd, c->hold, (size_t)c->held);
    }
    return -1;
}

/* The helper process: serve connections until all that came have gone, or the time is up. */
static void fake_serve(int lfd, enum fake_mode mode, long at, struct fake_report *rep)
{
    static unsigned char buf[FAKE_BUF];
    static unsigned char holds[FAKE_MAXC][FAKE_HOLD_CAP];
    struct fake_conn conns[FAKE_MAXC];
    struct pollfd pf[FAKE_MAXC + 1];
    int nconns = 0, open_conns = 0;
    double deadline = gt_now() + 60.0 * gt_time_scale();

    while (gt_now() < deadline) {
        int np = 0;
        if (nconns < FAKE_MAXC)
            pf[np++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        else
            pf[np++] = (struct pollfd){.fd = -1};
        for (int i = 0; i < nconns; i++)
            pf[np++] = (struct pollfd){.fd = conns[i].fd,
                                       .events = conns[i].stalled ? POLLRDHUP : POLLIN};
        if (poll(pf, (nfds_t)np, 100) <= 0)
            continue;
        if (pf[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0) {
                conns[nconns] = (struct fake_conn){.fd = fd, .hold = holds[nconns]};
                nconns++;
                open_conns++;
                rep->accepted++;
            }
        }
        for (int i = 0; i < nconns; i++) {
            struct fake_conn *c = &conns[i];
            short ev = pf[i + 1].revents;
            if (c->fd < 0 || ev == 0)
                continue;
            long n = 0;
            if (!c->stalled) {
                n = recv(c->fd, buf, c->released || mode != FAKE_HOLD ? sizeof buf : 65536, 0);
                if (n == -1 && errno == EINTR)
                    continue;
                if (n > 0 && fake_input(c, i, mode, at, buf, n, rep) == 0)
                    continue;
            }
            close(c->fd); /* end of file, an error, or the fault says so */
            c->fd = -1;
            open_conns--;
        }
        if (nconns > 0 && open_conns == 0)
            return;
    }
}

/* Start a helper serving on 127.0.0.1 (any port) in the given mode. */
static void fake_start(struct fake_server *f, enum fake_mode mode, long at)
{
    int fd = gt_listen_loopback(64, &f->port, "the test's echo server");
    f->rep = mmap(NULL, sizeof *f->rep, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                  0);
    if (f->rep == MAP_FAILED) {
        int e = errno;
        close(fd);
        gt_fail("mmap() of the test server's report page: %s", strerror(e));
    }
    memset(f->rep, 0, sizeof *f->rep);

    f->pid = gt_fork_helper();
    if (f->pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        fake_serve(fd, mode, at, f->rep);
        _exit(0);
    }
    close(fd);
}

/* Wait for the helper to end (it does once loadgen has closed everything), or kill it; copy
 * its report. */
static void fake_stop(struct fake_server *f, struct fake_report *rep)
{
    double deadline = gt_now() + 5.0 * gt_time_scale();
    int st;
    for (;;) {
        pid_t w = waitpid(f->pid, &st, WNOHANG);
        if (w == f->pid || (w == -1 && errno != EINTR))
            break;
        if (gt_now() > deadline) {
            kill(f->pid, SIGKILL);
            while (waitpid(f->pid, &st, 0) == -1 && errno == EINTR)
                ;
            break;
        }
        gt_sleep(0.002);
    }
    *rep = *f->rep;
    munmap(f->rep, sizeof *f->rep);
}

/* Run the student's loadgen -q -p <helper> <args> against a helper in the given mode. */
static void against_fake(gt_result *r, double timeout_s, enum fake_mode mode, long at,
                         const char *const *args, struct fake_report *rep)
{
    struct fake_server f;
    char port[16];
    const char *argv[32];
    int n = 0;

    fake_start(&f, mode, at);
    snprintf(port, sizeof port, "%d", f.port);
    argv[n++] = "-q";
    argv[n++] = "-p";
    argv[n++] = port;
    for (const char *const *a = args; *a != NULL && n < 31; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    run_loadgen(r, timeout_s, argv);
    fake_stop(&f, rep);
}

/* The fault must have been reached: loadgen got that far before failing. */
static void expect_reached(const struct fake_report *rep, const gt_result *r,
                           const char *situation)
{
    if (!rep->reached)
        gt_fail("%s%s failed before its first connection got to the 3rd message, so it was not "
                "tested against a server that %s (connections accepted: %d): %s; stderr: %s",
                gt_ni_prefix(r->err), cmdline, situation, rep->accepted,
                gt_status_str(r->status, r->timed_out), gt_err_or_empty(r));
}

GT_TEST(loadgen_pipeline_keeps_depth_in_flight, 60)
{
    gt_result r;
    struct summary s;
    struct fake_report rep;
    /* Each connection must have 8 messages of 100 bytes out before any echo: the server
     * holds its echoes until 800 bytes have come, then watches that no more come. */
    const char *args[] = {"-c", "2", "-n", "40", "-s", "100", "-P", "8", "-t", "5", NULL};
    against_fake(&r, 30, FAKE_HOLD, 800, args, &rep);
    if (rep.released < 2)
        gt_fail("%s%s: the test server holds back its echoes until a connection has sent 800 "
                "bytes (8 messages of 100), but only %d of 2 connections did (%d accepted): "
                "with -P 8 each connection keeps 8 messages in flight without waiting for "
                "echoes; loadgen %s; stderr: %s",
                gt_ni_prefix(r.err), cmdline, rep.released, rep.accepted,
                gt_status_str(r.status, r.timed_out), gt_err_or_empty(&r));
    if (rep.extra_max > 0)
        gt_fail("%s: a connection sent %ld bytes more than 8 messages of 100 before any echo "
                "came back: with -P 8 at most 8 messages may be in flight",
                cmdline, rep.extra_max);
    expect_counts(&r, &s, 2, 80, 100);
}

GT_TEST(loadgen_detects_corrupt_byte, 60)
{
    gt_result r;
    struct summary s;
    struct fake_report rep;
    const char *situation = "flips byte 5 of the 3rd echo of one connection";
    const char *args[] = {"-c", "3", "-n", "10", "-s", "64", NULL};
    against_fake(&r, 30, FAKE_FLIP, 2 * 64 + 5, args, &rep);
    expect_reached(&rep, &r, situation);
    expect_one_error(&r, situation, &s);
    if (strstr(r.err, "byte 5 differs") == NULL || strstr(r.err, "message 3") == NULL)
        gt_fail("%s against a server that %s exited 1, but stderr does not say which byte "
                "differs (expected a line like \"loadgen: connection N: message 3: byte 5 "
                "differs: sent 0x.., got 0x..\"; messages count from 1, bytes from 0); stderr: "
                "%s",
                cmdline, situation, gt_err_or_empty(&r));
    /* the other two connections: 20; the damaged one: 2 before the bad echo */
    if (s.messages > 22)
        gt_fail("%s against a server that %s printed messages=%llu: at most 22 echoes were "
                "right (10 + 10 + the 2 before the damaged one); stdout: %s",
                cmdline, situation, s.messages, gt_out_head(&r));
}

GT_TEST(loadgen_latency_percentiles, 60)
{
    gt_result r;
    struct summary s;
    struct fake_report rep;
    /* 100 messages, of which the 50th and the 100th are echoed 200 ms late: the two largest
     * latencies, so p99 (the 99th of 100) and max are at least 200 ms; the median is not. */
    const char *args[] = {"-n", "100", "-s", "64", NULL};
    against_fake(&r, 30, FAKE_DELAY, 64, args, &rep);
    expect_counts(&r, &s, 1, 100, 64);
    double late_us = FAKE_DELAY_S * 1e6 * 0.99; /* a histogram may be 1% off */
    if (s.max < late_us || s.p99 < late_us || s.p50 >= late_us / 2)
        gt_fail("%s against a server that echoes 2 of 100 messages 200 ms late printed "
                "p50_us=%.1f p99_us=%.1f max_us=%.1f: expected p99 and max of at least 200000 "
                "(nearest rank: the 99th of 100 sorted latencies is a late one) and a median "
                "well below; stdout: %s",
                cmdline, s.p50, s.p99, s.max, gt_out_head(&r));
}

/* The nearest rank, exactly: the p-th percentile of N latencies is the ceil(p/100 * N)-th
 * smallest. One late message of 100: p99 is the 99th, a fast one (a rank rounded up past a
 * whole number would take the 100th). One late message of 50: p99 is the ceil(49.5) = 50th,
 * the late one (a rank rounded down would take the 49th). */
GT_TEST(loadgen_percentiles_nearest_rank, 60)
{
    gt_result r;
    struct summary s;
    struct fake_report rep;
    double late_us = FAKE_DELAY_S * 1e6 * 0.99; /* a histogram may be 1% off */

    fake_delay_every = 100;
    const char *args100[] = {"-n", "100", "-s", "64", NULL};
    against_fake(&r, 30, FAKE_DELAY, 64, args100, &rep);
    expect_counts(&r, &s, 1, 100, 64);
    if (s.max < late_us || s.p99 >= late_us / 2)
        gt_fail("%s against a server that echoes the last of 100 messages 200 ms late printed "
                "p99_us=%.1f max_us=%.1f: expected max of at least 200000 and p99 well below "
                "(nearest rank: ceil(0.99 * 100) = 99, the 99th of 100 sorted latencies is not "
                "the late one); stdout: %s",
                cmdline, s.p99, s.max, gt_out_head(&r));

    fake_delay_every = 50;
    const char *args50[] = {"-n", "50", "-s", "64", NULL};
    against_fake(&r, 30, FAKE_DELAY, 64, args50, &rep);
    expect_counts(&r, &s, 1, 50, 64);
    if (s.p99 < late_us)
        gt_fail("%s against a server that echoes the last of 50 messages 200 ms late printed "
                "p99_us=%.1f max_us=%.1f: expected p99 of at least 200000 (nearest rank: "
                "ceil(0.99 * 50) = ceil(49.5) = 50, the late one; rounded down, 49 is wrong); "
                "stdout: %s",
                cmdline, s.p99, s.max, gt_out_head(&r));
}

/* loadgen with args against a fake server in mode (at: where its fault comes) that does what
 * situation says: the fault must have been reached, and loadgen must report one error. */
static void expect_fault_seen(gt_result *r, struct summary *s, enum fake_mode mode, long at,
                              const char *const *args, const char *situation)
{
    struct fake_report rep;
    against_fake(r, 30, mode, at, args, &rep);
    expect_reached(&rep, r, situation);
    expect_one_error(r, situation, s);
}

GT_TEST(loadgen_detects_early_close, 60)
{
    gt_result r;
    struct summary s;
    const char *situation = "closes the connection after 32 bytes of the 3rd echo";
    const char *args[] = {"-n", "10", "-s", "64", NULL};
    expect_fault_seen(&r, &s, FAKE_CLOSE, 2 * 64 + 32, args, situation);
    if (s.messages > 2)
        gt_fail("%s against a server that %s printed messages=%llu: only 2 echoes came back "
                "whole; stdout: %s",
                cmdline, situation, s.messages, gt_out_head(&r));
}

GT_TEST(loadgen_detects_extra_bytes, 60)
{
    gt_result r;
    struct summary s;
    const char *args[] = {"-n", "3", "-s", "64", NULL};
    expect_fault_seen(&r, &s, FAKE_EXTRA, 3 * 64, args,
                      "sends one byte more than was sent, right after the last echo");
}

GT_TEST(loadgen_detects_reset, 60)
{
    gt_result r;
    struct summary s;
    const char *args[] = {"-n", "10", "-s", "64", NULL};
    expect_fault_seen(&r, &s, FAKE_RESET, 2 * 64 + 32, args,
                      "resets the connection after 32 bytes of the 3rd echo");
}

GT_TEST(loadgen_stalled_server_times_out, 60)
{
    gt_result r;
    struct summary s;
    struct fake_report rep;
    const char *situation =
        "stops answering (and reading) after 32 bytes of the 3rd echo, the connection open";
    /* -t 2: a message in flight with nothing back for 2 s is an error, never a hang */
    const char *args[] = {"-n", "10", "-s", "64", "-t", "2", NULL};
    against_fake(&r, 30, FAKE_STALL, 2 * 64 + 32, args, &rep);
    expect_reached(&rep, &r, situation);
    if (r.timed_out)
        gt_fail("%s against a server that %s did not end within 30 s: with -t 2 a connection "
                "with no progress for 2 s is an error (stderr: %s)",
                cmdline, situation, gt_err_or_empty(&r));
    expect_one_error(&r, situation, &s);
}

/* ---- descriptors ----------------------------------------------------------------------- */

/* Raise this process's soft RLIMIT_NOFILE to the hard one (its children inherit it), or
 * skip the test when the hard limit is below need. */
static void need_descriptors(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        gt_fail("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
        gt_skip("this test needs %llu descriptors per process, but the hard limit "
                "(RLIMIT_NOFILE) is %llu: run `ulimit -Hn 20000` as root (or add `* hard nofile "
                "20000` to /etc/security/limits.conf and log in again), then grade again",
                (unsigned long long)need, (unsigned long long)rl.rlim_max);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            gt_fail("setrlimit(RLIMIT_NOFILE, soft = hard = %llu): %s",
                    (unsigned long long)rl.rlim_max, strerror(errno));
    }
}

GT_TEST(loadgen_10000_connections_ref_server, 180)
{
    gt_result r;
    struct summary s;
    need_descriptors(10000 + 100);
    /* One message a second, 3 each: every connection stays open for 2 s at least, so all
     * 10,000 are open at once; a loadgen that served them one after the other would take
     * hours. */
    const char *args[] = {"-c", "10000", "-n", "3", "-r", "1", NULL};
    against_ref_server(&r, 120, args);
    expect_counts(&r, &s, 10000, 30000, 64);
}

GT_TEST(loadgen_raises_soft_fd_limit, 60)
{
    gt_proc srv;
    gt_result r;
    struct summary s;
    char port[16];
    struct rlimit rl;

    need_descriptors(400);
    start_ref_server(&srv, port, sizeof port); /* the server keeps the high soft limit */
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        gt_fail("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    rl.rlim_cur = 64; /* loadgen inherits a soft limit too low for 300 connections */
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        gt_fail("setrlimit(RLIMIT_NOFILE, soft 64): %s", strerror(errno));
    const char *args[] = {"-q", "-p", port, "-c", "300", "-n", "2", NULL};
    run_loadgen(&r, 30, args);
    gt_server_stop(&srv);
    if (!exited_with(&r, 0))
        gt_fail("%s%s with a soft descriptor limit of 64 and a hard one of %llu: %s, expected "
                "exit status 0 (raise the soft limit up to the hard one when -c needs it); "
                "stderr: %s",
                gt_ni_prefix(r.err), cmdline, (unsigned long long)rl.rlim_max,
                gt_status_str(r.status, r.timed_out), gt_err_or_empty(&r));
    expect_counts(&r, &s, 300, 600, 64);
}

GT_TEST(loadgen_fd_hard_limit_too_low_refused, 30)
{
    gt_result r;
    struct rlimit rl = {64, 64};
    /* This test's own process: lowering its hard limit affects nothing else. */
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        gt_fail("setrlimit(RLIMIT_NOFILE, 64): %s", strerror(errno));
    const char *args[] = {"-q", "-p", "9", "-c", "1000", "-n", "1", NULL};
    run_loadgen(&r, 20, args);
    if (!exited_with(&r, 1) || gt_count_lines(r.err) != 1 ||
        (strstr(r.err, "ulimit") == NULL && strstr(r.err, "prlimit") == NULL))
        gt_fail("%s with a hard descriptor limit of 64: %s; expected exit status 1 and one "
                "line on stderr naming the limit and how to raise it (ulimit -n, prlimit), "
                "before any connection is tried; stderr: %s",
                cmdline, gt_status_str(r.status, r.timed_out), gt_err_or_empty(&r));
}

/* ---- arguments ----------------------------------------------------------------------- */

GT_TEST(loadgen_bad_arguments_exit_2, 30)
{
    static const char *const cases[][8] = {
        {"-p", "9", "-c", "0", NULL},
        {"-p", "9", "-c", "100001", NULL},
        {"-p", "9", "-s", "0", NULL},
        {"-p", "9", "-s", "16777217", NULL},
        {"-p", "9", "-n", "abc", NULL},
        {"-p", "9", "-d", "-1", NULL},
        {"-p", "9", "-n", "5", "-d", "1", NULL},
        {"-p", "9", "-P", "0", NULL},
        {"-p", "9", "--no-such-option", NULL},
        {"-c", "2", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gt_result r;
        run_loadgen(&r, 10, cases[i]);
        if (!exited_with(&r, 2))
            gt_fail("%s: %s, expected exit status 2 (bad arguments); stderr: %s", cmdline,
                    gt_status_str(r.status, r.timed_out), gt_err_or_empty(&r));
        if (gt_count_lines(r.err) != 1)
            gt_fail("%s exited 2 but wrote %d lines on stderr, expected one line saying what "
                    "is wrong; stderr: %s",
                    cmdline, gt_count_lines(r.err), gt_err_or_empty(&r));
    }
}

GT_TEST(loadgen_help_exit_0, 10)
{
    gt_result r;
    const char *args[] = {"--help", NULL};
    run_loadgen(&r, 10, args);
    if (!exited_with(&r, 0))
        gt_fail("%s: %s, expected exit status 0; stderr: %s", cmdline,
                gt_status_str(r.status, r.timed_out), gt_err_or_empty(&r));
    if (r.out_len == 0)
        gt_fail("%s exited 0 but printed nothing on stdout: expected the usage", cmdline);
}
