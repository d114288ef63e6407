/*
 * servers.c: the black-box tests that chapter 3's TCP servers share (see servers.h).
 *
 * Each test starts the student's server with gt_server_start and talks to it through its own
 * non-blocking sockets or through the reference loadgen. Byte streams are checked against a
 * pattern that depends on each byte's position, so a lost, repeated or reordered byte is
 * reported with its offset. Memory and CPU use are read from /proc/<pid>: VmRSS for the
 * back-pressure test, utime + stime for the busy-loop detector. Every wait is scaled by
 * gt_time_scale(); no test passes or fails on speed.
 */
#include "servers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIB 1024UL
#define MIB (1024UL * 1024UL)
#define CHUNK 65536 /* bytes per send or recv of the stream helpers */

/* ---- small helpers ----------------------------------------------------------------------- */

const char *srv_err(const gt_proc *p)
{
    static char tail[400];
    gt_proc_err_tail(p, tail, sizeof tail);
    return tail[0] ? tail : "(nothing)";
}

/* Milliseconds to wait in poll: until deadline, at most cap_ms, at least 0. */
static int wait_ms(double deadline, int cap_ms)
{
    double left = (deadline - gt_now()) * 1000.0;
    if (left <= 0)
        return 0;
    return left > cap_ms ? cap_ms : (int)left + 1;
}

void srv_pattern(unsigned char *buf, size_t len, unsigned seed, uint64_t pos)
{
    uint64_t word = UINT64_MAX, x = 0;
    for (size_t i = 0; i < len; i++, pos++) {
        if (pos >> 3 != word) {
            word = pos >> 3;
            x = word * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)seed + 1) * 0xD1B54A32D192ED03ULL;
            x ^= x >> 31;
            x *= 0xBF58476D1CE4E5B9ULL;
            x ^= x >> 29;
        }
        buf[i] = (unsigned char)(x >> (8 * (pos & 7)));
    }
}

void srv_expect_usage_error(const gt_result *r, const char *cmd)
{
    if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 2)
        gt_fail("%s: %s, expected exit status 2 (bad arguments); stderr: %s", cmd,
                gt_status_str(r->status, r->timed_out), r->err[0] ? r->err : "(nothing)");
    int lines = gt_count_lines(r->err);
    if (lines != 1)
        gt_fail("%s exited 2 but wrote %d lines on stderr, expected one line saying what is "
                "wrong; stderr: %s",
                cmd, lines, r->err[0] ? r->err : "(nothing)");
}

void srv_expect_help(const char *path, const char *name)
{
    gt_result r;
    const char *args[] = {"--help", NULL};
    gt_run(&r, 10, path, args);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
        gt_fail("%s --help: %s, expected exit status 0; stderr: %s", name,
                gt_status_str(r.status, r.timed_out), r.err[0] ? r.err : "(nothing)");
    if (r.out_len == 0)
        gt_fail("%s --help exited 0 but printed nothing on stdout: expected the usage", name);
}

/* Read a /proc file into buf (NUL-terminated). Returns its length, or -1. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
    return gt_read_file(path, buf, cap, 0, 0);
}

long srv_rss_kib(pid_t pid)
{
    char buf[4096];
    if (read_proc(pid, "status", buf, sizeof buf) <= 0)
        return -1;
    const char *p = strstr(buf, "\nVmRSS:");
    long kib;
    if (p == NULL || sscanf(p + 7, " %ld", &kib) != 1)
        return -1;
    return kib;
}

/* utime + stime of pid in clock ticks, or -1. */
static long cpu_ticks(pid_t pid)
{
    char buf[1024];
    if (read_proc(pid, "stat", buf, sizeof buf) <= 0)
        return -1;
    /* "pid (comm) state ppid ...": comm may hold spaces; utime and stime are fields 14 and
     * 15, the 12th and 13th after the closing parenthesis. */
    const char *p = strrchr(buf, ')');
    unsigned long ut, st;
    if (p == NULL ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

/* The soft "Max open files" of pid from /proc/<pid>/limits, or -1. */
static long nofile_soft(pid_t pid)
{
    char buf[4096];
    if (read_proc(pid, "limits", buf, sizeof buf) <= 0)
        return -1;
    const char *p = strstr(buf, "Max open files");
    long soft;
    if (p == NULL || sscanf(p + 14, " %ld", &soft) != 1)
        return -1;
    return soft;
}

unsigned long srv_raise_nofile(unsigned long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        gt_fail("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            gt_fail("setrlimit(RLIMIT_NOFILE, soft %lu): %s", (unsigned long)rl.rlim_cur,
                    strerror(errno));
    }
    return (unsigned long)rl.rlim_cur;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
        gt_fail("fcntl(O_NONBLOCK) on a client socket: %s", strerror(errno));
}

/* Close fd so that the peer gets a reset (RST), not an orderly end of file. */
static void close_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* Start a non-blocking connect to 127.0.0.1:port and wait up to wait_s for it to complete.
 * Returns the connected (non-blocking) socket, or -1 when it did not complete in time (the
 * server's accept queue is full, say); fails the test on any other error. */
static int connect_within(int port, double wait_s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        gt_fail("socket(AF_INET, SOCK_STREAM): %s", strerror(errno));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        gt_fail("connect(127.0.0.1:%d): %s", port, strerror(e));
    }
    double deadline = gt_now() + wait_s;
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int ms = wait_ms(deadline, 100);
        if (ms == 0)
            break;
        if (poll(&pf, 1, ms) == 1) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                close(fd);
                gt_fail("connect(127.0.0.1:%d): %s", port, strerror(err));
            }
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
    }
    close(fd);
    return -1;
}

/* A blocking TCP connection to 127.0.0.1:port, made non-blocking once connected. small: a
 * tiny receive buffer and segments of 1000 bytes, set before connect, so the server can put
 * little on its way to us: on loopback, with its 64 KiB segments, the server's socket would
 * otherwise queue megabytes for a client that does not read. */
static int connect_nb(int port, int small)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        gt_fail("socket(AF_INET, SOCK_STREAM): %s", strerror(errno));
    if (small) {
        int rcvbuf = 4096, mss = 1000;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
    }
    gt_connect_fd(fd, port, NULL);
    set_nonblock(fd);
    return fd;
}

/* ---- byte streams ------------------------------------------------------------------------ */

/* One client's exchange of stream `seed` with the server: bytes [0, sent) went out, bytes
 * [0, recvd) came back right. */
struct xfer {
    int fd;
    unsigned seed;
    uint64_t sent, recvd;
    long long bad;          /* offset of the first wrong byte that came back, or -1 */
    unsigned char got, was; /* that byte as it came back, and as it was sent */
    int closed;             /* the server ended the connection (end of file or reset) */
    int err;                /* errno of a send or recv that failed otherwise, or 0 */
    const char *call;       /* "send" or "recv" when err is set */
};

enum { PUMP_DONE, PUMP_STALLED, PUMP_TIMEOUT, PUMP_BROKEN };

static void xfer_init(struct xfer *x, int fd, unsigned seed)
{
    memset(x, 0, sizeof *x);
    x->fd = fd;
    x->seed = seed;
    x->bad = -1;
}

/*
 * Move x forward: send until send_to bytes went out and receive (checking every byte) until
 * recv_to came back, whichever the socket allows, until both are reached (PUMP_DONE), the
 * deadline passes (PUMP_TIMEOUT), nothing moved for stall_s seconds when stall_s > 0
 * (PUMP_STALLED), or a wrong byte, an end of file or an error (PUMP_BROKEN, noted in x).
 */
static int pump(struct xfer *x, uint64_t send_to, uint64_t recv_to, double deadline, double stall_s)
{
    static unsigned char out[CHUNK], in[CHUNK], want[CHUNK];
    static unsigned out_seed;
    static uint64_t out_start, out_len; /* out holds bytes [out_start, +out_len) of out_seed */
    double last_move = gt_now();

    out_len = 0;
    while (x->sent < send_to || x->recvd < recv_to) {
        double now = gt_now();
        if (now >= deadline)
            return PUMP_TIMEOUT;
        if (stall_s > 0 && now - last_move >= stall_s)
            return PUMP_STALLED;
        struct pollfd pf = {.fd = x->fd, .events = 0};
        if (x->sent < send_to)
            pf.events |= POLLOUT;
        if (x->recvd < recv_to)
            pf.events |= POLLIN;
        int pr = poll(&pf, 1, wait_ms(deadline, 20));
        if (pr == -1 && errno != EINTR) {
            x->err = errno;
            x->call = "poll";
            return PUMP_BROKEN;
        }
        if (pr <= 0)
            continue;
        if (x->sent < send_to && (pf.revents & (POLLOUT | POLLERR | POLLHUP))) {
            if (out_len == 0 || out_seed != x->seed || x->sent < out_start ||
                x->sent >= out_start + out_len) {
                out_seed = x->seed;
                out_start = x->sent;
                out_len = send_to - x->sent < CHUNK ? send_to - x->sent : CHUNK;
                srv_pattern(out, (size_t)out_len, out_seed, out_start);
            }
            size_t len = (size_t)(out_start + out_len - x->sent);
            if (len > send_to - x->sent)
                len = (size_t)(send_to - x->sent);
            ssize_t n = send(x->fd, out + (x->sent - out_start), len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                x->sent += (uint64_t)n;
                last_move = gt_now();
            } else if (n == -1 && (errno == EPIPE || errno == ECONNRESET)) {
                x->closed = 1;
                return PUMP_BROKEN;
            } else if (n == -1 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS) {
                x->err = errno;
                x->call = "send";
                return PUMP_BROKEN;
            }
        }
        if (x->recvd < recv_to && (pf.revents & (POLLIN | POLLERR | POLLHUP))) {
            size_t len = recv_to - x->recvd < CHUNK ? (size_t)(recv_to - x->recvd) : CHUNK;
            ssize_t n = recv(x->fd, in, len, MSG_DONTWAIT);
            if (n == 0 || (n == -1 && errno == ECONNRESET)) {
                x->closed = 1;
                return PUMP_BROKEN;
            }
            if (n == -1) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                x->err = errno;
                x->call = "recv";
                return PUMP_BROKEN;
            }
            srv_pattern(want, (size_t)n, x->seed, x->recvd);
            if (memcmp(in, want, (size_t)n) != 0) {
                size_t i = 0;
                while (in[i] == want[i])
                    i++;
                x->bad = (long long)(x->recvd + i);
                x->got = in[i];
                x->was = want[i];
                return PUMP_BROKEN;
            }
            x->recvd += (uint64_t)n;
            last_move = gt_now();
        }
    }
    return PUMP_DONE;
}

/* Fail with what x shows went wrong; what: the situation ("echo of 4096 bytes"), limit_s:
 * the time it had. */
static void __attribute__((noreturn)) xfer_fail(const gt_proc *srv, const struct xfer *x, int how,
                                                const char *what, double limit_s, const char *hint)
{
    /* A connection that ended may be a server that crashed: give it a moment to be seen
     * ended, so gt_fail can say how it ended. */
    double until = gt_now() + 0.5;
    while ((x->closed || x->err) && gt_proc_alive(srv) && gt_now() < until)
        gt_sleep(0.01);
    if (x->bad >= 0)
        gt_fail("%s: the byte at offset %lld came back as 0x%02x, 0x%02x was sent (%llu bytes "
                "sent, %lld right before it): every byte must come back once and in order%s; "
                "%s stderr: %s",
                what, x->bad, x->got, x->was, (unsigned long long)x->sent, x->bad, hint, srv->name,
                srv_err(srv));
    if (x->closed)
        gt_fail("%s: %s closed the connection after echoing %llu bytes (%llu sent)%s; its "
                "stderr: %s",
                what, srv->name, (unsigned long long)x->recvd, (unsigned long long)x->sent, hint,
                srv_err(srv));
    if (x->err != 0)
        gt_fail("%s: %s() failed after %llu bytes sent and %llu echoed: %s; %s stderr: %s", what,
                x->call, (unsigned long long)x->sent, (unsigned long long)x->recvd,
                strerror(x->err), srv->name, srv_err(srv));
    gt_fail("%s: only %llu bytes came back within %.0f s (%llu sent)%s%s; %s stderr: %s", what,
            (unsigned long long)x->recvd, limit_s, (unsigned long long)x->sent,
            how == PUMP_STALLED ? ", and nothing moved any more" : "", hint, srv->name,
            srv_err(srv));
}

/* Send len bytes of stream seed on fd (non-blocking), reading the echo at the same time; fail
 * unless exactly those bytes come back within timeout_s (scaled). The stream starts at
 * offset 0 of seed. */
static void echo_stream(const gt_proc *srv, int fd, size_t len, unsigned seed, double timeout_s,
                        const char *what)
{
    struct xfer x;
    double limit = timeout_s * gt_time_scale();
    xfer_init(&x, fd, seed);
    int r = pump(&x, len, len, gt_now() + limit, 0);
    if (r != PUMP_DONE)
        xfer_fail(srv, &x, r, what, limit, "");
}

/* Fail if any byte arrives on fd within wait_s (the echo was complete: more is a repeat). */
static void expect_nothing_more(const gt_proc *srv, int fd, double wait_s, const char *after)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, (int)(wait_s * 1000)) <= 0)
        return;
    unsigned char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0)
        gt_fail("%s, %zd more byte%s came back (first 0x%02x): every byte must come back once; "
                "%s stderr: %s",
                after, n, n == 1 ? "" : "s", buf[0], srv->name, srv_err(srv));
    if (n == 0)
        gt_fail("%s, %s closed the connection: it must stay open while the client does; its "
                "stderr: %s",
                after, srv->name, srv_err(srv));
}

/* Fail if the server has ended; situation says what just happened. */
static void expect_alive(gt_proc *srv, const char *situation, const char *hint)
{
    if (gt_proc_alive(srv))
        return;
    char name[sizeof srv->name];
    memcpy(name, srv->name, sizeof name);
    char tail[1024];
    gt_proc_err_tail(srv, tail, sizeof tail);
    int st = gt_server_stop(srv);
    gt_fail("%s%s ended %s (%s)%s; its stderr: %s", gt_ni_prefix(tail), name, situation,
            gt_status_str(st, 0),
            WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE ? ": ignore SIGPIPE (or send with "
                                                         "MSG_NOSIGNAL), a client that leaves "
                                                         "must cost only its own connection"
                                                       : hint,
            tail[0] ? tail : "(nothing)");
}

/* ---- the reference loadgen --------------------------------------------------------------- */

struct loadgen_line {
    long connections, messages, errors;
};

/* Parse loadgen's result line. Returns 0, or -1 if a field is missing. */
static int parse_loadgen(const char *out, struct loadgen_line *l)
{
    const char *c = strstr(out, "connections=");
    const char *m = strstr(out, "messages=");
    const char *e = strstr(out, "errors=");
    if (c == NULL || m == NULL || e == NULL || sscanf(c, "connections=%ld", &l->connections) != 1 ||
        sscanf(m, "messages=%ld", &l->messages) != 1 || sscanf(e, "errors=%ld", &l->errors) != 1)
        return -1;
    return 0;
}

/* Run the reference loadgen against srv with args (after -p PORT) and fail unless it exits 0
 * with `conns` connections, `msgs` messages and no error. cmd: the arguments as text. */
static void loadgen_expect(const gt_proc *srv, const char *const *args, double timeout_s,
                           long conns, long msgs, const char *cmd, const char *situation)
{
    static gt_result r;
    const char *argv[24];
    char port[16];
    int n = 0;
    snprintf(port, sizeof port, "%d", srv->port);
    argv[n++] = "-p";
    argv[n++] = port;
    for (const char *const *a = args; *a != NULL && n < 23; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    gt_run(&r, timeout_s, gt_ref("loadgen"), argv);
    while (r.out_len > 0 && (r.out[r.out_len - 1] == '\n' || r.out[r.out_len - 1] == '\r'))
        r.out[--r.out_len] = '\0';
    struct loadgen_line l;
    int parsed = parse_loadgen(r.out, &l) == 0;
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
        gt_fail("the reference `loadgen %s` against %s (%s): %s, expected exit status 0; its "
                "stdout: %.300s; its stderr: %.600s; %s stderr: %s",
                cmd, srv->name, situation, gt_status_str(r.status, r.timed_out),
                r.out_len ? r.out : "(nothing)", r.err[0] ? r.err : "(nothing)", srv->name,
                srv_err(srv));
    if (!parsed || l.connections != conns || l.messages != msgs || l.errors != 0)
        gt_fail("the reference `loadgen %s` against %s (%s) exited 0 but reported: %.300s; "
                "expected connections=%ld messages=%ld errors=0",
                cmd, srv->name, situation, r.out_len ? r.out : "(nothing)", conns, msgs);
}

/* Start the reference loadgen in the background with args (argv[1..]); its stdout and stderr
 * go to a file in the test directory. It dies with the test (PR_SET_PDEATHSIG). */
static pid_t loadgen_background(const char *const *args, char *log_path, size_t cap)
{
    const char *argv[24];
    int n = 0;
    argv[n++] = gt_ref("loadgen");
    for (const char *const *a = args; *a != NULL && n < 23; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    snprintf(log_path, cap, "%s/loadgen-background.out", gt_tmpdir());
    int out = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out == -1 || in == -1)
        gt_fail("opening %s or /dev/null: %s", log_path, strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1)
        gt_fail("fork() for the reference loadgen: %s", strerror(errno));
    if (pid == 0) {
        if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1)
            _exit(127);
        gt_child_reset(parent);
        gt_exec(argv);
        dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out);
    close(in);
    return pid;
}

/* 1 while our child pid runs (looked at without reaping it). */
static int child_running(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

/* Stop a background loadgen (if it still runs) and reap it. */
static void loadgen_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
}

/* The first bytes of a file, for a message (static buffer, sanitized). */
static const char *file_head(const char *path)
{
    static char buf[600];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd == -1 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd != -1)
        close(fd);
    if (n <= 0)
        return "(nothing)";
    buf[n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] >= 0x7f || ((unsigned char)buf[i] < 0x20 && buf[i] != '\n'))
            buf[i] = '?';
    return buf;
}

/* ---- the tests --------------------------------------------------------------------------- */

void srv_test_help(const char *prog)
{
    srv_expect_help(gt_student(prog), prog);
}

void srv_test_bad_arguments(const char *prog)
{
    static const char *const bad[][3] = {
        {"--no-such-option", NULL, NULL},
        {"-p", "70000", NULL},
        {"-a", "not-an-address", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gt_result r;
        char cmd[128];
        const char *args[5] = {NULL};
        int n = 0;
        if (strcmp(bad[i][0], "-p") != 0) {
            args[n++] = "-p";
            args[n++] = "0";
        }
        for (int k = 0; k < 2 && bad[i][k] != NULL; k++)
            args[n++] = bad[i][k];
        snprintf(cmd, sizeof cmd, "%s", prog);
        for (int k = 0; k < n; k++)
            snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", args[k]);
        gt_run(&r, 10, gt_student(prog), args);
        srv_expect_usage_error(&r, cmd);
    }
}

void srv_test_echo_sizes(const char *prog)
{
    static const size_t sizes[] = {1,     2,     100,   1000,   4095,   4096,       4097,
                                   16384, 65535, 65536, 100000, 262145, 1024 * 1024};
    gt_proc srv;
    char what[160];

    gt_server_start(&srv, gt_student(prog), NULL);
    int fd = gt_connect(srv.port);
    set_nonblock(fd);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        snprintf(what, sizeof what,
                 "echo of a %zu-byte message (message %zu of %zu on one connection, after "
                 "%zu echoed right)",
                 sizes[i], i + 1, sizeof sizes / sizeof sizes[0], i);
        echo_stream(&srv, fd, sizes[i], 300 + (unsigned)i, 30, what);
    }
    expect_nothing_more(&srv, fd, 0.2 * gt_time_scale(),
                        "after every message came back whole (1 byte to 1 MiB)");
    /* a fresh connection gets the largest one at once, as the first thing it sends */
    int fd2 = gt_connect(srv.port);
    set_nonblock(fd2);
    echo_stream(&srv, fd2, 1024 * 1024, 399, 30,
                "echo of a 1 MiB message on a new connection, as its first message");
    close(fd2);
    close(fd);
    gt_server_stop(&srv);
}

void srv_test_1000_clients(const char *prog)
{
    enum { CONNS = 1000, EACH = 5 };
    gt_proc srv;
    struct rlimit rl;

    /* The server needs a descriptor per client and a few more: make room (inherited). */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
        rl.rlim_max < CONNS + 20)
        gt_skip("the hard limit on open files (ulimit -Hn) is %lu, below the %d this test needs "
                "for %d connections; run `ulimit -Hn 20000` (as root, or in "
                "/etc/security/limits.conf) and grade again",
                (unsigned long)rl.rlim_max, CONNS + 20, CONNS);
    srv_raise_nofile(4096);
    gt_server_start(&srv, gt_student(prog), NULL);
    /* -r: each connection sends EACH messages at EACH a second, so all 1,000 are open at once
     * for about a second */
    const char *args[] = {"-c", "1000", "-n", "5", "-r", "5", "-s", "100", NULL};
    loadgen_expect(&srv, args, 60, CONNS, (long)CONNS * EACH, "-c 1000 -n 5 -r 5 -s 100",
                   "1,000 connections at once");
    expect_alive(&srv, "after serving 1,000 clients", "");
    gt_server_stop(&srv);
}

/* Start prog, connect, and send up to total bytes of stream seed without reading, until the
 * server stops taking more (its writes back to us find our receive buffer full: some are
 * partial, some would block). Returns the connection (non-blocking), x tracking it. */
static int fill_without_reading(gt_proc *srv, const char *prog, struct xfer *x, uint64_t total,
                                unsigned seed)
{
    char what[200];
    gt_server_start(srv, gt_student(prog), NULL);
    int fd = gt_connect(srv->port);
    set_nonblock(fd);
    xfer_init(x, fd, seed);
    int r = pump(x, total, 0, gt_now() + 20 * gt_time_scale(), 0.5);
    if (r == PUMP_BROKEN) {
        snprintf(what, sizeof what,
                 "sending %llu bytes without reading the echo yet (%llu went out)",
                 (unsigned long long)total, (unsigned long long)x->sent);
        xfer_fail(srv, x, r, what, 20 * gt_time_scale(), "");
    }
    return fd;
}

void srv_test_slow_reader(const char *prog)
{
    const uint64_t total = 8 * MIB;
    gt_proc srv;
    struct xfer x;
    char what[200];

    /* Send without reading until the server stops taking more ... */
    int fd = fill_without_reading(&srv, prog, &x, total, 501);
    uint64_t held = x.sent;
    /* ... then read everything back while sending the rest (a stream where nothing moves
     * for 5 s has lost bytes: fail then rather than at the deadline). */
    double limit = 60 * gt_time_scale();
    int r = pump(&x, total, total, gt_now() + limit, 5 * gt_time_scale());
    if (r != PUMP_DONE) {
        snprintf(what, sizeof what,
                 "a client sent %llu bytes without reading, then read while sending the rest "
                 "(%llu bytes in all)",
                 (unsigned long long)held, (unsigned long long)total);
        xfer_fail(&srv, &x, r, what, limit,
                  ": when a write takes only part of the pending bytes (or none), the rest must "
                  "wait for the socket to be writable again, in order, never be dropped");
    }
    expect_nothing_more(&srv, fd, 0.2 * gt_time_scale(), "after the 8 MiB came back whole");
    close(fd);
    gt_server_stop(&srv);
}

/* Wait up to wait_s for the end of file the server sends once it has closed; fail if bytes
 * come instead, or nothing at all. */
static void expect_closed_by_server(const gt_proc *srv, int fd, double wait_s, const char *after)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    double until = gt_now() + wait_s;
    for (;;) {
        int pr = poll(&pf, 1, wait_ms(until, 100));
        if (pr == 1) {
            unsigned char buf[4096];
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n == -1 && errno == ECONNRESET))
                return;
            if (n > 0)
                gt_fail("%s, %zd more byte%s came back (first 0x%02x): every byte must come "
                        "back once; %s stderr: %s",
                        after, n, n == 1 ? "" : "s", buf[0], srv->name, srv_err(srv));
        }
        if (gt_now() >= until)
            gt_fail("%s, %s did not close the connection within %.0f s: once a client has "
                    "closed its side and got every byte back, the server closes too; its "
                    "stderr: %s",
                    after, srv->name, wait_s, srv_err(srv));
    }
}

/* A connection to port whose receive window is small (SO_RCVBUF, and a small MSS, set before
 * the connect), so that little of an echo fits in the kernel's buffers: the rest waits in the
 * server. Non-blocking. */
static int connect_small_window(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        gt_fail("socket(AF_INET, SOCK_STREAM): %s", strerror(errno));
    int rcvbuf = 4096, mss = 536;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == -1 ||
        setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss) == -1)
        gt_fail("setsockopt(SO_RCVBUF %d, TCP_MAXSEG %d): %s", rcvbuf, mss, strerror(errno));
    gt_connect_fd(fd, port, NULL);
    set_nonblock(fd);
    return fd;
}

/* x's client shuts down its sending side (x->sent bytes sent), waits pause_s, then reads: every
 * byte must come back, then the end of file. how: the situation, for the messages. */
static void half_close_then_read(gt_proc *srv, struct xfer *x, double pause_s, const char *how)
{
    char what[300];
    if (shutdown(x->fd, SHUT_WR) == -1)
        gt_fail("shutdown(fd=%d, SHUT_WR) failed: %s", x->fd, strerror(errno));
    /* a moment for the server to read the end of file while the echo still waits */
    gt_sleep(pause_s);
    double limit = 60 * gt_time_scale();
    int r = pump(x, x->sent, x->sent, gt_now() + limit, 5 * gt_time_scale());
    snprintf(what, sizeof what, "a client %s (%llu bytes), shut down its sending side (shutdown "
             "SHUT_WR: end of file), then read", how, (unsigned long long)x->sent);
    if (r != PUMP_DONE)
        xfer_fail(srv, x, r, what, limit,
                  ": the end of file only says the client sends no more; the echo still "
                  "pending must reach it before the server closes");
    snprintf(what, sizeof what, "after the %llu bytes came back whole to a half-closed client",
             (unsigned long long)x->sent);
    expect_closed_by_server(srv, x->fd, 10 * gt_time_scale(), what);
    close(x->fd);
}

void srv_test_half_close(const char *prog)
{
    gt_proc srv;
    struct xfer x;

    /* 1. 192 KiB sent without reading: less than a server keeps for a client, so it reads them
     *    all and the end of file, while most of their echo still waits in it (the client's
     *    window is small). */
    gt_server_start(&srv, gt_student(prog), NULL);
    xfer_init(&x, connect_small_window(srv.port), 602);
    int r = pump(&x, 192 * 1024, 0, gt_now() + 20 * gt_time_scale(), 0.5);
    if (r == PUMP_BROKEN)
        xfer_fail(&srv, &x, r, "sending 192 KiB without reading the echo yet",
                  20 * gt_time_scale(), "");
    half_close_then_read(&srv, &x, 0.3, "sent 192 KiB without reading");
    expect_alive(&srv, "after a client half-closed its connection", "");
    gt_server_stop(&srv);
    /* 2. 8 MiB sent without reading until the server stops taking more (back-pressure): the
     *    end of file comes behind bytes the server has not read yet. */
    fill_without_reading(&srv, prog, &x, 8 * MIB, 601);
    half_close_then_read(&srv, &x, 0, "sent without reading until the server took no more");
    expect_alive(&srv, "after a client half-closed its connection", "");
    gt_server_stop(&srv);
}

void srv_test_nonreader_memory(const char *prog)
{
    const uint64_t goal = 1024 * MIB;
    const long bound_kib = 64 * 1024;
    gt_proc srv;
    static unsigned char junk[CHUNK];
    char what[160];

    gt_server_start(&srv, gt_student(prog), NULL);
    long rss0 = srv_rss_kib(srv.pid), peak = rss0;
    int fd = gt_connect(srv.port);
    set_nonblock(fd);
    memset(junk, 'x', sizeof junk);

    /* Push as long as the server takes it: until 1 GiB, until nothing moves for a second (the
     * server stopped reading: back-pressure), or for 20 s at most; VmRSS watched throughout. */
    uint64_t sent = 0;
    double start = gt_now(), last_move = start, last_look = 0;
    double limit = 20 * gt_time_scale();
    while (sent < goal && gt_now() - last_move < 1.0 && gt_now() - start < limit) {
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        if (poll(&pf, 1, 20) == 1) {
            ssize_t n = send(fd, junk, sizeof junk, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                sent += (uint64_t)n;
                last_move = gt_now();
            } else if (n == -1 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS) {
                int e = errno;
                expect_alive(&srv, "while a client sent data without reading its echo", "");
                gt_fail("a client sending without reading its echo: send() failed after %llu "
                        "bytes: %s; %s stderr: %s",
                        (unsigned long long)sent, strerror(e), srv.name, srv_err(&srv));
            }
        }
        if (gt_now() - last_look >= 0.01) {
            last_look = gt_now();
            long rss = srv_rss_kib(srv.pid);
            if (rss > peak)
                peak = rss;
            if (rss > bound_kib)
                gt_fail("%s's memory (VmRSS) grew from %ld KiB to %ld KiB, over the 64 MiB "
                        "bound, while one client sent %llu MiB without reading its echo: stop "
                        "reading from a client whose echo is not being read (back-pressure), so "
                        "its bytes wait in the kernel and TCP slows the client down",
                        srv.name, rss0, rss, (unsigned long long)(sent / MIB));
        }
    }
    expect_alive(&srv, "while a client sent data without reading its echo", "");

    /* Another client is served while the first one stays connected, unread. */
    int other = gt_connect(srv.port);
    set_nonblock(other);
    snprintf(what, sizeof what,
             "a second client's 64 KiB echo, while a first client that sent %llu MiB without "
             "reading stays connected",
             (unsigned long long)(sent / MIB));
    echo_stream(&srv, other, 64 * KIB, 601, 20, what);
    long rss = srv_rss_kib(srv.pid);
    if (rss > peak)
        peak = rss;
    if (peak > bound_kib)
        gt_fail("%s's memory (VmRSS) reached %ld KiB, over the 64 MiB bound, with a client that "
                "sent %llu MiB without reading its echo: stop reading from such a client "
                "(back-pressure)",
                srv.name, peak, (unsigned long long)(sent / MIB));
    close(other);
    close_reset(fd);
    gt_server_stop(&srv);
}

void srv_test_client_reset(const char *prog)
{
    enum { ROUNDS = 6 };
    gt_proc srv;
    static unsigned char junk[CHUNK];
    char what[160];

    gt_server_start(&srv, gt_student(prog), NULL);
    int old = gt_connect(srv.port);
    set_nonblock(old);
    echo_stream(&srv, old, 100, 701, 10, "a first client's 100-byte echo");
    srv_pattern(junk, sizeof junk, 702, 0);

    for (int round = 0; round < ROUNDS; round++) {
        int mode = round % 3;
        /* mode 0: send as much as goes in 0.3 s (up to 1 MiB), never read, reset: the server
         * holds unsent echo and unread input for us.
         * mode 1: a small window, so that most of the echo can not leave the server; 192 KiB
         * (less than its 256 KiB cap: it takes them whole), our FIN, a pause, reset: the
         * server's socket is in CLOSE_WAIT with echo still to send, and there the reset makes
         * its next write fail with EPIPE, the error that raises SIGPIPE.
         * mode 2: one 64 KiB message, echoed into our receive buffer and left there; FIN,
         * reset. */
        int fd = connect_nb(srv.port, mode == 1);
        uint64_t cap = mode == 0 ? MIB : mode == 1 ? 192 * KIB : 64 * KIB, sent = 0;
        double until = gt_now() + (mode == 0 ? 0.3 : 5 * gt_time_scale());
        while (sent < cap && gt_now() < until) {
            size_t len = cap - sent < sizeof junk ? (size_t)(cap - sent) : sizeof junk;
            ssize_t n = send(fd, junk, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                sent += (uint64_t)n;
            else if (n == -1 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS)
                break;
            else
                gt_sleep(0.002);
        }
        if (mode >= 1) {
            shutdown(fd, SHUT_WR);
            gt_sleep(0.1 * gt_time_scale());
        }
        close_reset(fd);
        gt_sleep(0.05);
        static const char *const how[] = {
            "after a client that sent without reading reset its connection",
            "after a client sent 192 KiB and its FIN, then reset the connection before "
            "reading the echo",
            "after a client sent 64 KiB and its FIN, then reset the connection with the echo "
            "unread"};
        expect_alive(&srv, how[mode], "");
    }
    gt_sleep(0.3 * gt_time_scale());
    expect_alive(&srv, "after clients reset their connections in the middle of a message", "");

    int fresh = gt_connect(srv.port);
    set_nonblock(fresh);
    echo_stream(&srv, fresh, 1000, 703, 10,
                "a new client's 1000-byte echo, after 6 clients reset their connections "
                "mid-message");
    snprintf(what, sizeof what,
             "the first client's second echo (1000 bytes), after 6 other clients reset their "
             "connections mid-message");
    struct xfer x;
    xfer_init(&x, old, 701);
    x.sent = x.recvd = 100;
    double limit = 10 * gt_time_scale();
    int r = pump(&x, 1100, 1100, gt_now() + limit, 0);
    if (r != PUMP_DONE)
        xfer_fail(&srv, &x, r, what, limit, "");
    close(fresh);
    close(old);
    gt_server_stop(&srv);
}

/* ---- out of descriptors ------------------------------------------------------------------ */

#define FD_LIMIT 64
#define FD_CLIENTS (FD_LIMIT + 16)
#define FD_MSG 100

enum { C_WAITING, C_SERVED, C_CLOSED };

struct fdc {
    int fd;
    int state;
    size_t got; /* bytes of its current echo back so far */
};

/* Read what came back on the waiting clients of c[0..n) (their FD_MSG-byte message of stream
 * 800 + i): a client is served once it is all back, closed if the server ended it. Returns
 * the number of clients whose state changed. */
static int fd_clients_poll(const gt_proc *srv, struct fdc *c, int n, int wait_ms_)
{
    static struct pollfd pf[FD_CLIENTS];
    int changed = 0, k = 0;
    for (int i = 0; i < n; i++)
        if (c[i].state == C_WAITING)
            pf[k++] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
    if (k == 0 || poll(pf, (nfds_t)k, wait_ms_) <= 0)
        return 0;
    k = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].state != C_WAITING)
            continue;
        struct pollfd *p = &pf[k++];
        if (p->revents == 0)
            continue;
        unsigned char buf[FD_MSG], want[FD_MSG];
        ssize_t got = recv(c[i].fd, buf, FD_MSG - c[i].got, MSG_DONTWAIT);
        if (got == 0 || (got == -1 && errno == ECONNRESET)) {
            c[i].state = C_CLOSED;
            changed++;
            continue;
        }
        if (got <= 0)
            continue;
        srv_pattern(want, (size_t)got, 800 + (unsigned)i, c[i].got);
        if (memcmp(buf, want, (size_t)got) != 0)
            gt_fail("client %d of %d (descriptor shortage test): its %d-byte echo came back "
                    "wrong around offset %zu; %s stderr: %s",
                    i + 1, n, FD_MSG, c[i].got, srv->name, srv_err(srv));
        c[i].got += (size_t)got;
        if (c[i].got == FD_MSG) {
            c[i].state = C_SERVED;
            changed++;
        }
    }
    return changed;
}

void srv_test_out_of_descriptors(const char *prog)
{
    static struct fdc c[FD_CLIENTS];
    gt_proc srv;
    struct rlimit old, low;
    char what[200];

    /* The server inherits a soft limit of FD_LIMIT descriptors; ours goes back at once. */
    if (getrlimit(RLIMIT_NOFILE, &old) == -1)
        gt_fail("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    low = old;
    low.rlim_cur = FD_LIMIT;
    if (setrlimit(RLIMIT_NOFILE, &low) == -1)
        gt_fail("setrlimit(RLIMIT_NOFILE, soft %d): %s", FD_LIMIT, strerror(errno));
    gt_server_start(&srv, gt_student(prog), NULL);
    if (setrlimit(RLIMIT_NOFILE, &old) == -1)
        gt_fail("setrlimit(RLIMIT_NOFILE) back to soft %lu: %s", (unsigned long)old.rlim_cur,
                strerror(errno));
    srv_raise_nofile(FD_CLIENTS + 64);

    /* More clients than the server has descriptors: each connects (the kernel's accept queue
     * takes it even when the server can not) and sends one message at once. */
    int n = 0;
    for (; n < FD_CLIENTS; n++) {
        int fd = connect_within(srv.port, 2 * gt_time_scale());
        if (fd == -1)
            break; /* the accept queue is full: enough clients wait already */
        c[n] = (struct fdc){.fd = fd, .state = C_WAITING};
        unsigned char msg[FD_MSG];
        srv_pattern(msg, FD_MSG, 800 + (unsigned)n, 0);
        if (send(fd, msg, FD_MSG, MSG_NOSIGNAL) != FD_MSG)
            gt_fail("client %d: send(%d bytes) to %s failed: %s", n + 1, FD_MSG, srv.name,
                    strerror(errno));
    }
    /* Served or closed so far: collect until nothing changes for a second. */
    double quiet_since = gt_now(), give_up = gt_now() + 20 * gt_time_scale();
    while (gt_now() - quiet_since < 1.0 * gt_time_scale() && gt_now() < give_up)
        if (fd_clients_poll(&srv, c, n, 50) > 0)
            quiet_since = gt_now();
    expect_alive(&srv, "when it ran out of descriptors",
                 ": running out of descriptors (accept fails with EMFILE) is not a reason to "
                 "stop; rest the listener and go on serving");
    int served = 0, waiting = 0, closed = 0;
    for (int i = 0; i < n; i++) {
        served += c[i].state == C_SERVED;
        waiting += c[i].state == C_WAITING;
        closed += c[i].state == C_CLOSED;
    }
    long soft = nofile_soft(srv.pid);
    if (served == 0)
        gt_fail("%s, started with a soft limit of %d descriptors, served none of %d clients "
                "(%d closed by the server) within %.0f s; its stderr: %s",
                srv.name, FD_LIMIT, n, closed, 20 * gt_time_scale(), srv_err(&srv));
    if (waiting + closed == 0)
        gt_fail("%s served all %d clients with a soft limit of %ld descriptors (from "
                "/proc/%d/limits): the test needs it to run out of descriptors; keep the limit "
                "the server was started with",
                srv.name, n, soft, (int)srv.pid);

    /* The clients it has keep being served. */
    for (int i = 0; i < n; i++) {
        if (c[i].state != C_SERVED)
            continue;
        snprintf(what, sizeof what,
                 "client %d (served), its second message (1000 bytes), while %d more clients "
                 "wait for %s to accept them (no descriptor left)",
                 i + 1, waiting, srv.name);
        struct xfer x;
        xfer_init(&x, c[i].fd, 800 + (unsigned)i);
        x.sent = x.recvd = FD_MSG;
        double limit = 10 * gt_time_scale();
        int r = pump(&x, FD_MSG + 1000, FD_MSG + 1000, gt_now() + limit, 0);
        if (r != PUMP_DONE)
            xfer_fail(&srv, &x, r, what, limit, "");
    }

    /* No busy loop while connections wait: CPU time over 2 s of waiting. */
    long hz = sysconf(_SC_CLK_TCK);
    long t0 = cpu_ticks(srv.pid);
    double w0 = gt_now();
    gt_sleep(2.0);
    long t1 = cpu_ticks(srv.pid);
    double wall = gt_now() - w0;
    expect_alive(&srv, "while connections waited for a descriptor", "");
    if (t0 >= 0 && t1 >= 0 && hz > 0) {
        double share = (double)(t1 - t0) / (double)hz / wall;
        if (share > 0.5)
            gt_fail("%s used %.0f%% of a CPU (%.2f s of CPU time in %.2f s) while %d clients "
                    "waited and it had no descriptor left to accept them: accept fails with "
                    "EMFILE while a connection waits, so retrying it at once is a busy loop; "
                    "stop watching the listener for a moment (a timer), then try again",
                    srv.name, share * 100, (double)(t1 - t0) / (double)hz, wall, waiting);
    }

    /* Descriptors free up: the waiting clients are served (or told no, by a close). */
    int to_close = waiting + 4 < served ? waiting + 4 : served;
    for (int i = 0, k = 0; i < n && k < to_close; i++) {
        if (c[i].state == C_SERVED) {
            close(c[i].fd);
            c[i].fd = -1;
            c[i].state = C_CLOSED;
            k++;
        }
    }
    double deadline = gt_now() + 15 * gt_time_scale();
    int left = waiting;
    while (left > 0 && gt_now() < deadline) {
        fd_clients_poll(&srv, c, n, 50);
        left = 0;
        for (int i = 0; i < n; i++)
            left += c[i].state == C_WAITING;
    }
    /* to_close descriptors freed: as many of the waiting clients (all, normally) must have
     * been taken, and served or refused with a close */
    int must = to_close < waiting ? to_close : waiting;
    if (waiting - left < must)
        gt_fail("after %d clients left %s (freeing their descriptors), %d of the %d clients "
                "that waited were still not served %.0f s later: once descriptors free up, "
                "accept again",
                to_close, srv.name, left, waiting, 15 * gt_time_scale());

    /* And a new client is served. */
    int fresh = gt_connect(srv.port);
    set_nonblock(fresh);
    snprintf(what, sizeof what,
             "a new client's 1000-byte echo, after %s ran out of descriptors and %d clients left",
             srv.name, to_close);
    echo_stream(&srv, fresh, 1000, 899, 10, what);
    close(fresh);
    for (int i = 0; i < n; i++)
        if (c[i].fd >= 0)
            close(c[i].fd);
    gt_server_stop(&srv);
}

/* ---- SIGTERM under load, c10k ------------------------------------------------------------ */

void srv_test_sigterm_under_load(const char *prog, const char *const *extra)
{
    enum { CONNS = 20 };
    gt_proc srv;
    char port[16], log_path[4096];

    gt_server_start(&srv, gt_student(prog), extra);
    int base = gt_count_fds(srv.pid);
    snprintf(port, sizeof port, "%d", srv.port);
    const char *args[] = {"-p", port, "-c", "20", "-s", "1000", "-d", "600", NULL};
    pid_t lg = loadgen_background(args, log_path, sizeof log_path);

    /* Under load: every connection accepted, and traffic for a moment. */
    double limit = 10 * gt_time_scale();
    double deadline = gt_now() + limit;
    int fds = base, st;
    while (gt_now() < deadline && (fds = gt_count_fds(srv.pid)) >= 0 && fds < base + CONNS &&
           child_running(lg))
        gt_sleep(0.02);
    if (!gt_proc_alive(&srv)) {
        loadgen_reap(lg);
        expect_alive(&srv, "under the load of the reference loadgen (20 connections)", "");
    }
    if (waitpid(lg, &st, WNOHANG) == lg) {
        const char *what = gt_status_str(st, 0);
        gt_fail("the reference loadgen -c 20 -d 600 against %s ended early (%s); its output: "
                "%s; %s stderr: %s",
                srv.name, what, file_head(log_path), srv.name, srv_err(&srv));
    }
    if (fds < base + CONNS) {
        loadgen_reap(lg);
        gt_fail("%s had accepted %d of the reference loadgen's 20 connections after %.0f s (it "
                "held %d descriptors, %d before); %s stderr: %s",
                srv.name, fds - base, limit, fds, base, srv.name, srv_err(&srv));
    }
    gt_sleep(0.5 * gt_time_scale());
    if (!gt_proc_alive(&srv)) {
        loadgen_reap(lg);
        expect_alive(&srv, "under the load of the reference loadgen (20 connections)", "");
    }

    char name[sizeof srv.name];
    memcpy(name, srv.name, sizeof name);
    int status = gt_server_stop(&srv);
    loadgen_reap(lg);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char tail[1024];
        gt_proc_err_tail(&srv, tail, sizeof tail);
        gt_fail("%s%s, sent SIGTERM while the reference loadgen kept 20 connections busy, %s; "
                "expected exit status 0 (stop the loop, free every connection, return 0); its "
                "stderr: %s",
                gt_ni_prefix(tail), name, gt_status_str(status, 0), tail[0] ? tail : "(nothing)");
    }
}

void srv_test_c10k(const char *prog)
{
    enum { CONNS = 10000, EACH = 10, NEED = CONNS + 200 };
    gt_proc srv;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        gt_fail("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < NEED)
        gt_skip("the hard limit on open files (ulimit -Hn) is %lu, below the %d that 10,000 "
                "connections need; run `ulimit -Hn 20000` (as root, or set nofile in "
                "/etc/security/limits.conf) and grade again",
                (unsigned long)rl.rlim_max, NEED);
    /* The soft limit up to the hard one; the server inherits it (loadgen raises its own). */
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        gt_fail("setrlimit(RLIMIT_NOFILE, soft = hard = %lu): %s", (unsigned long)rl.rlim_max,
                strerror(errno));
    gt_server_start(&srv, gt_student(prog), NULL);
    const char *args[] = {"-c", "10000", "-n", "10", "-r", "1", "-s", "64", NULL};
    loadgen_expect(&srv, args, 120, CONNS, (long)CONNS * EACH, "-c 10000 -n 10 -r 1 -s 64",
                   "10,000 connections, one 64-byte message a second each for 10 s");
    expect_alive(&srv, "after serving 10,000 connections", "");
    gt_server_stop(&srv);
}
