/*
 * test_echosvr_v2.c: black-box tests of ex3.3, the student's echosvr_v2 (echosvr_v1 plus a
 * timer that prints statistics).
 *
 * The behaviours that chapter 3's TCP servers share come from servers.c, registered under
 * this server's name. The statistics are checked against what the test itself did: clients
 * connected and closed, round trips made, bytes sent. The contract, after the readiness line:
 * every -i SECONDS (a decimal, default 1) and once more at exit, one stdout line
 *
 *   stats uptime_s=12.0 accepted=5 open=2 messages=100 bytes_in=6400 bytes_out=6400
 *         started=2026-11-26T11:00:00Z last_message=2026-11-26T11:00:12Z
 *
 * (one line; last_message=- before the first message). messages counts the reads that
 * brought data, so N round trips of a small message, each sent once the previous echo came
 * back, count N. Lines are flushed as they are printed: stdout is a pipe here.
 */
#include "gt.h"
#include "servers.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG "echosvr_v2"

/* ---- the shared tests -------------------------------------------------------------------- */

GT_TEST(echosvr_v2_help_exit_0, 10)
{
    srv_test_help(PROG);
}

GT_TEST(echosvr_v2_bad_arguments_exit_2, 20)
{
    srv_test_bad_arguments(PROG);
}

GT_TEST(echosvr_v2_echo_1_byte_to_1_mib, 60)
{
    srv_test_echo_sizes(PROG);
}

GT_TEST(echosvr_v2_1000_clients_ref_loadgen, 90)
{
    srv_test_1000_clients(PROG);
}

GT_TEST(echosvr_v2_slow_reader_gets_every_byte, 90)
{
    srv_test_slow_reader(PROG);
}

GT_TEST(echosvr_v2_half_close_gets_pending_echo, 90)
{
    srv_test_half_close(PROG);
}

GT_TEST(echosvr_v2_nonreading_client_memory_bounded, 60)
{
    srv_test_nonreader_memory(PROG);
}

GT_TEST(echosvr_v2_client_reset_mid_message, 40)
{
    srv_test_client_reset(PROG);
}

GT_TEST(echosvr_v2_out_of_descriptors, 90)
{
    srv_test_out_of_descriptors(PROG);
}

GT_TEST(echosvr_v2_sigterm_under_load_exit_0, 40)
{
    static const char *const fast[] = {"-i", "0.1", NULL};
    srv_test_sigterm_under_load(PROG, fast);
}

/* ---- reading the statistics -------------------------------------------------------------- */

struct stats {
    double uptime;
    unsigned long long accepted, open, messages, bytes_in, bytes_out;
    time_t started;      /* UTC */
    time_t last_message; /* UTC; -1 for "-" */
};

/* Parse "YYYY-MM-DDTHH:MM:SSZ" (UTC). Returns 0, or -1. */
static int parse_utc(const char *s, size_t len, time_t *t)
{
    struct tm tm;
    char buf[32];
    if (len != 20 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    *t = timegm(&tm);
    return 0;
}

/* Parse a whole unsigned decimal of len characters. */
static int parse_count(const char *s, size_t len, unsigned long long *v)
{
    if (len == 0 || len > 20)
        return -1;
    unsigned long long x = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (unsigned long long)(s[i] - '0');
    }
    *v = x;
    return 0;
}

/* Parse one statistics line. Returns 0, or -1 with a reason in why. */
static int parse_stats(const char *line, struct stats *st, char *why, size_t cap)
{
    static const char *const keys[] = {"uptime_s", "accepted",  "open",    "messages",
                                       "bytes_in", "bytes_out", "started", "last_message"};
    enum { NKEYS = sizeof keys / sizeof keys[0] };
    int seen[NKEYS] = {0};

    if (strncmp(line, "stats ", 6) != 0) {
        snprintf(why, cap, "it does not start with \"stats \"");
        return -1;
    }
    const char *p = line + 6;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        size_t wl = strcspn(p, " ");
        const char *eq = memchr(p, '=', wl);
        if (eq == NULL) {
            snprintf(why, cap, "\"%.*s\" is not key=value", (int)(wl < 40 ? wl : 40), p);
            return -1;
        }
        size_t kl = (size_t)(eq - p), vl = wl - kl - 1;
        const char *v = eq + 1;
        int k = 0;
        while (k < NKEYS && (strlen(keys[k]) != kl || strncmp(keys[k], p, kl) != 0))
            k++;
        if (k < NKEYS) {
            int bad = 0;
            seen[k]++;
            switch (k) {
            case 0: {
                char num[32], *end;
                if (vl == 0 || vl >= sizeof num) {
                    bad = 1;
                    break;
                }
                memcpy(num, v, vl);
                num[vl] = '\0';
                st->uptime = strtod(num, &end);
                bad = *end != '\0' || !(st->uptime >= 0);
                break;
            }
            case 1: bad = parse_count(v, vl, &st->accepted); break;
            case 2: bad = parse_count(v, vl, &st->open); break;
            case 3: bad = parse_count(v, vl, &st->messages); break;
            case 4: bad = parse_count(v, vl, &st->bytes_in); break;
            case 5: bad = parse_count(v, vl, &st->bytes_out); break;
            case 6: bad = parse_utc(v, vl, &st->started); break;
            case 7:
                if (vl == 1 && v[0] == '-')
                    st->last_message = -1;
                else
                    bad = parse_utc(v, vl, &st->last_message);
                break;
            }
            if (bad) {
                snprintf(why, cap, "the value of %s, \"%.*s\", is not %s", keys[k],
                         (int)(vl < 40 ? vl : 40), v,
                         k == 0   ? "a decimal number of seconds"
                         : k <= 5 ? "a whole number"
                         : k == 6 ? "a UTC time like 2026-11-26T11:00:00Z"
                                  : "a UTC time like 2026-11-26T11:00:00Z, or -");
                return -1;
            }
        }
        p += wl;
    }
    for (int k = 0; k < NKEYS; k++) {
        if (seen[k] != 1) {
            snprintf(why, cap, "%s %s", keys[k], seen[k] ? "appears twice" : "is missing");
            return -1;
        }
    }
    return 0;
}

/* The server's stdout, line by line (one reader at a time). */
static struct {
    char buf[8192];
    size_t len;
    int eof;
} rd;

/* The next complete line of fd (without its '\n') into line: 1; 0 when deadline passed
 * first; -1 at end of file. */
static int next_line(int fd, char *line, size_t cap, double deadline)
{
    for (;;) {
        char *nl = memchr(rd.buf, '\n', rd.len);
        if (nl != NULL) {
            size_t ll = (size_t)(nl - rd.buf);
            size_t cl = ll < cap - 1 ? ll : cap - 1;
            memcpy(line, rd.buf, cl);
            line[cl] = '\0';
            memmove(rd.buf, nl + 1, rd.len - ll - 1);
            rd.len -= ll + 1;
            return 1;
        }
        if (rd.len == sizeof rd.buf) /* a line too long: keep its start */
            rd.len = 0;
        if (rd.eof)
            return -1;
        double left = deadline - gt_now();
        if (left <= 0)
            return 0;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int ms = left > 0.2 ? 200 : (int)(left * 1000) + 1;
        if (poll(&pf, 1, ms) <= 0)
            continue;
        ssize_t n = read(fd, rd.buf + rd.len, sizeof rd.buf - rd.len);
        if (n > 0)
            rd.len += (size_t)n;
        else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            rd.eof = 1;
    }
}

static void start_v2(gt_proc *srv, const char *interval)
{
    const char *args[] = {"-i", interval, NULL};
    rd.len = 0;
    rd.eof = 0;
    gt_server_start(srv, gt_student(PROG), args);
}

/* What a line must show; -1 (as ULL) for "any". */
struct want {
    unsigned long long accepted, open, messages, bytes_in, bytes_out;
    int need_last; /* 1: last_message must be a time, 0: "-", -1: any */
};
#define ANY (~0ULL)

static int matches(const struct stats *st, const struct want *w)
{
    return (w->accepted == ANY || st->accepted == w->accepted) &&
           (w->open == ANY || st->open == w->open) &&
           (w->messages == ANY || st->messages == w->messages) &&
           (w->bytes_in == ANY || st->bytes_in == w->bytes_in) &&
           (w->bytes_out == ANY || st->bytes_out == w->bytes_out) &&
           (w->need_last == -1 || (w->need_last == 1) == (st->last_message != -1));
}

static void describe_want(const struct want *w, char *buf, size_t cap)
{
    buf[0] = '\0';
    static const char *const names[] = {"accepted", "open", "messages", "bytes_in", "bytes_out"};
    const unsigned long long v[] = {w->accepted, w->open, w->messages, w->bytes_in, w->bytes_out};
    for (int i = 0; i < 5; i++)
        if (v[i] != ANY)
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s=%llu", buf[0] ? " " : "", names[i],
                     v[i]);
    if (w->need_last != -1)
        snprintf(buf + strlen(buf), cap - strlen(buf), " last_message=%s",
                 w->need_last ? "<a time>" : "-");
}

/*
 * Read statistics lines until one matches w (returned in *st), failing if none does within
 * wait_s (scaled), if a line does not parse, or if stdout ends. situation: what the test did.
 */
static void wait_for_stats(gt_proc *srv, const struct want *w, struct stats *st, double wait_s,
                           const char *situation)
{
    char line[1024], last[1024] = "", why[160], wanted[256];
    double limit = wait_s * gt_time_scale();
    double deadline = gt_now() + limit;
    int lines = 0;
    describe_want(w, wanted, sizeof wanted);
    for (;;) {
        int r = next_line(srv->out_fd, line, sizeof line, deadline);
        if (r == 0)
            break;
        if (r == -1)
            gt_fail("%s: %s closed its stdout (%d statistics lines read) instead of going on "
                    "printing statistics; its stderr: %s",
                    situation, srv->name, lines, srv_err(srv));
        lines++;
        snprintf(last, sizeof last, "%s", line);
        if (parse_stats(line, st, why, sizeof why) == -1)
            gt_fail("%s: %s printed a statistics line that does not parse (%s): \"%.300s\"; "
                    "expected: stats uptime_s=S accepted=N open=N messages=N bytes_in=N "
                    "bytes_out=N started=<UTC time> last_message=<UTC time or ->",
                    situation, srv->name, why, line);
        if (matches(st, w))
            return;
    }
    if (lines == 0)
        gt_fail("%s: %s printed no statistics line on stdout within %.0f s with -i 0.1: print "
                "one line every interval, and flush stdout (it is a pipe, not a terminal); its "
                "stderr: %s",
                situation, srv->name, limit, srv_err(srv));
    gt_fail("%s: expected a statistics line with %s; %d lines came in %.0f s, the last: "
            "\"%.300s\"",
            situation, wanted, lines, limit, last);
}

/* count round trips of size bytes on fd (blocking), each sent once the last echo is back. */
static void round_trips(const gt_proc *srv, int fd, int count, size_t size, unsigned seed,
                        const char *who)
{
    static unsigned char out[4096], in[4096];
    if (size > sizeof out)
        gt_fail("round_trips: size %zu too large", size);
    for (int i = 0; i < count; i++) {
        srv_pattern(out, size, seed, (uint64_t)i * size);
        if (send(fd, out, size, MSG_NOSIGNAL) != (ssize_t)size)
            gt_fail("%s: send() of message %d (%zu bytes) failed: %s", who, i + 1, size,
                    strerror(errno));
        size_t got = 0;
        double deadline = gt_now() + 10 * gt_time_scale();
        while (got < size) {
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            if (gt_now() >= deadline)
                gt_fail("%s: the echo of message %d (%zu bytes) was not back after %.0f s (%zu "
                        "bytes came); %s stderr: %s",
                        who, i + 1, size, 10 * gt_time_scale(), got, srv->name, srv_err(srv));
            if (poll(&pf, 1, 100) <= 0)
                continue;
            ssize_t n = recv(fd, in + got, size - got, MSG_DONTWAIT);
            if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
                gt_fail("%s: the connection ended during the echo of message %d (%zu of %zu "
                        "bytes back); %s stderr: %s",
                        who, i + 1, got, size, srv->name, srv_err(srv));
            if (n > 0)
                got += (size_t)n;
        }
        if (memcmp(in, out, size) != 0)
            gt_fail("%s: the echo of message %d (%zu bytes) differs from what was sent", who, i + 1,
                    size);
    }
}

/* ---- the statistics tests ---------------------------------------------------------------- */

/* The next line of srv (started with -i iv) into line, n lines having come; fail if none comes
 * by the deadline (limit: the seconds it had) or stdout closes. */
static void next_stats_line(gt_proc *srv, const char *iv, int n, char *line, size_t cap,
                            double deadline, double limit)
{
    int r = next_line(srv->out_fd, line, cap, deadline);
    if (r == 0)
        gt_fail("%s -i %s printed %d statistics line%s in %.0f s, expected one every %s s: "
                "print one line each interval and flush stdout (a pipe here, where stdio keeps "
                "about 4 KiB before it writes); its stderr: %s",
                srv->name, iv, n, n == 1 ? "" : "s", limit, iv, srv_err(srv));
    if (r == -1)
        gt_fail("%s -i %s closed its stdout after %d statistics lines; its stderr: %s",
                srv->name, iv, n, srv_err(srv));
}

GT_TEST(echosvr_v2_stats_line_every_interval, 40)
{
    enum { LINES = 10 };
    gt_proc srv;
    struct stats st = {0}, first = {0};
    char line[1024], why[160];
    time_t before = time(NULL);

    start_v2(&srv, "0.1");
    time_t after = time(NULL);
    double limit = 8 * gt_time_scale(); /* for about 1 s of lines */
    double deadline = gt_now() + limit;
    int n = 0;
    double prev = -1;
    while (n < LINES) {
        next_stats_line(&srv, "0.1", n, line, sizeof line, deadline, limit);
        if (parse_stats(line, &st, why, sizeof why) == -1)
            gt_fail("%s -i 0.1 printed a statistics line that does not parse (%s): \"%.300s\"; "
                    "expected: stats uptime_s=S accepted=N open=N messages=N bytes_in=N "
                    "bytes_out=N started=<UTC time> last_message=<UTC time or ->",
                    srv.name, why, line);
        if (st.accepted || st.open || st.messages || st.bytes_in || st.bytes_out ||
            st.last_message != -1)
            gt_fail("%s printed \"%.300s\" before any client connected: expected every count 0 "
                    "and last_message=-",
                    srv.name, line);
        if (st.started < before - 2 || st.started > after + 2)
            gt_fail("%s printed started=%.20s, but it was started between %ld and %ld s "
                    "after the epoch (UTC): the start time must be the server's own, in UTC",
                    srv.name, strstr(line, "started=") + 8, (long)before, (long)after);
        if (st.uptime < prev)
            gt_fail("%s's uptime_s went down from %.3f to %.3f between two lines", srv.name, prev,
                    st.uptime);
        if (n == 0)
            first = st;
        prev = st.uptime;
        n++;
    }
    /* -i 0.1 asks for ten lines a second: their uptimes must say so, within a wide margin */
    double mean = (st.uptime - first.uptime) / (LINES - 1);
    if (mean > 0.5)
        gt_fail("%s -i 0.1 printed %d lines %.2f s apart on average (from their uptime_s): the "
                "interval must follow -i SECONDS, a decimal",
                srv.name, LINES, mean);
    gt_server_stop(&srv);
}

/* With -i 1, lines come one a second: a server that leaves them in stdio's buffer (a pipe
 * here, so not line-buffered) shows its first one only once about 4 KiB of them pile up,
 * some 25 s later. Two lines are due within 2 s; 10 s are allowed. */
GT_TEST(echosvr_v2_stats_line_flushed_each_interval, 30)
{
    enum { LINES = 2 };
    gt_proc srv;
    char line[1024];

    start_v2(&srv, "1");
    double limit = 10 * gt_time_scale();
    double deadline = gt_now() + limit;
    for (int n = 0; n < LINES; n++)
        next_stats_line(&srv, "1", n, line, sizeof line, deadline, limit);
    gt_server_stop(&srv);
}

GT_TEST(echosvr_v2_stats_count_connections, 40)
{
    enum { CLIENTS = 4, LEAVE = 2 };
    gt_proc srv;
    struct stats st;
    int fds[CLIENTS];
    char who[64];

    start_v2(&srv, "0.1");
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = gt_connect(srv.port);
        snprintf(who, sizeof who, "client %d of %d", i + 1, CLIENTS);
        round_trips(&srv, fds[i], 1, 10, 900 + (unsigned)i, who);
    }
    struct want w = {CLIENTS, CLIENTS, ANY, ANY, ANY, -1};
    wait_for_stats(&srv, &w, &st, 5, "4 clients connected and still open, each echoed once");
    for (int i = 0; i < LEAVE; i++)
        close(fds[i]);
    w.open = CLIENTS - LEAVE;
    wait_for_stats(&srv, &w, &st, 5,
                   "4 clients connected, then 2 of them closed their connections: open must "
                   "go down when a connection ends");
    for (int i = LEAVE; i < CLIENTS; i++)
        close(fds[i]);
    gt_server_stop(&srv);
}

GT_TEST(echosvr_v2_stats_count_messages_and_bytes, 40)
{
    gt_proc srv;
    struct stats st;
    time_t before = time(NULL);

    start_v2(&srv, "0.1");
    int a = gt_connect(srv.port);
    int b = gt_connect(srv.port);
    round_trips(&srv, a, 20, 100, 910, "client A (20 round trips of 100 bytes)");
    round_trips(&srv, b, 10, 1000, 911, "client B (10 round trips of 1000 bytes)");
    round_trips(&srv, a, 5, 10, 912, "client A (5 more round trips of 10 bytes)");
    time_t after = time(NULL);
    struct want w = {2, 2, 35, 2000 + 10000 + 50, 2000 + 10000 + 50, 1};
    wait_for_stats(&srv, &w, &st, 5,
                   "2 clients made 35 round trips (20 x 100, 10 x 1000 and 5 x 10 bytes), each "
                   "message sent once the previous echo was back");
    if (st.last_message < before - 2 || st.last_message > after + 2 || st.last_message < st.started)
        gt_fail("%s's last_message (%ld s after the epoch) is not the time of the last message, "
                "which came between %ld and %ld (and not before started, %ld)",
                srv.name, (long)st.last_message, (long)before, (long)after, (long)st.started);
    close(a);
    close(b);
    gt_server_stop(&srv);
}

GT_TEST(echosvr_v2_stats_line_at_exit, 40)
{
    gt_proc srv;
    struct stats st;
    char line[1024], why[160];

    /* an interval far longer than the test: the only line is the one printed at exit */
    start_v2(&srv, "600");
    int fd = gt_connect(srv.port);
    round_trips(&srv, fd, 3, 50, 920, "a client (3 round trips of 50 bytes)");
    int out = dup(srv.out_fd); /* gt_server_stop closes srv.out_fd */
    if (out == -1)
        gt_fail("dup(): %s", strerror(errno));
    char name[sizeof srv.name];
    memcpy(name, srv.name, sizeof name);
    gt_server_stop_clean(&srv);
    double deadline = gt_now() + 5 * gt_time_scale();
    int n = 0, r;
    struct stats last = {0};
    char last_line[1024] = "";
    while ((r = next_line(out, line, sizeof line, deadline)) == 1) {
        if (parse_stats(line, &st, why, sizeof why) == -1)
            gt_fail("%s printed a statistics line at exit that does not parse (%s): \"%.300s\"",
                    name, why, line);
        last = st;
        snprintf(last_line, sizeof last_line, "%s", line);
        n++;
    }
    close(out);
    close(fd);
    if (n == 0)
        gt_fail("%s -i 600 printed no statistics line when it stopped on SIGTERM: print one "
                "last line at exit (and flush stdout)",
                name);
    if (n > 1)
        gt_fail("%s -i 600 printed %d statistics lines in a few seconds and at exit, expected "
                "one (at exit); the last: \"%.300s\"",
                name, n, last_line);
    struct want w = {1, 1, 3, 150, 150, 1};
    if (!matches(&last, &w)) {
        char wanted[256];
        describe_want(&w, wanted, sizeof wanted);
        gt_fail("%s's line at exit, with one client still connected after 3 round trips of 50 "
                "bytes, was \"%.300s\"; expected %s",
                name, last_line, wanted);
    }
}

GT_TEST(echosvr_v2_bad_interval_exit_2, 20)
{
    static const char *const bad[] = {"0", "-1", "abc", "1x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gt_result r;
        char cmd[96];
        const char *args[] = {"-p", "0", "-i", bad[i], NULL};
        snprintf(cmd, sizeof cmd, "%s -p 0 -i '%s'", PROG, bad[i]);
        gt_run(&r, 10, gt_student(PROG), args);
        srv_expect_usage_error(&r, cmd);
    }
}
