/*
 * test_common: Check unit tests for common/ (log, net, timing, args, sigwatch).
 *
 * Runs the same in Check's fork mode and with CK_FORK=no (the valgrind run): tests that
 * need an exit status fork a child themselves, and every test gives back what it took
 * (descriptors, signal handlers, redirected output). Sockets bind to 127.0.0.1 only.
 * Exit status is non-zero when any test fails.
 */
#include "args.h"
#include "log.h"
#include "net.h"
#include "sigwatch.h"
#include "timing.h"

#include <check.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG "test_common"
#define LOOPBACK "127.0.0.1"

/* Exit status of a forked child whose function returned instead of exiting. */
#define CHILD_RETURNED 77

/* Upper bound on waiting for an event that must come at once: it only keeps a broken
 * build from hanging, it is not a timing claim. */
#define HANG_GUARD_MS 5000

/* log_progname() as main() found it, before any test could call log_init(). */
static char initial_progname[64];

/* ---- helpers: captured output, forked children ---------------------------------- */

/* Output of descriptor `target` (1 or 2) diverted into a temporary file. */
struct capture {
    int target;
    int saved;
    FILE *file;
};

static void capture_start(struct capture *c, int target)
{
    fflush(stdout);
    fflush(stderr);
    c->target = target;
    c->file = tmpfile();
    ck_assert_ptr_nonnull(c->file);
    c->saved = dup(target);
    ck_assert_int_ge(c->saved, 0);
    ck_assert_int_ge(dup2(fileno(c->file), target), 0);
}

/* Put the descriptor back and return what was written to it, NUL-terminated. */
static void capture_stop(struct capture *c, char *buf, size_t size)
{
    dup2(c->saved, c->target);
    close(c->saved);
    ssize_t n = pread(fileno(c->file), buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    fclose(c->file);
}

static size_t count_char(const char *s, char ch)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += *s == ch;
    return n;
}

struct child_result {
    int status;
    char out[2048];
    char err[2048];
};

static void read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == size - 1)
            break;
    }
    buf[len] = '\0';
}

/* Run fn(arg) in a forked child with stdout and stderr captured; wait for it. */
static void run_child(void (*fn)(const char *), const char *arg, struct child_result *r)
{
    int out[2], err[2];
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(pipe(err), 0);
    /* Anything still buffered would be written twice, once by each process. */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        fn(arg);
        fflush(stdout);
        _exit(CHILD_RETURNED);
    }
    close(out[1]);
    close(err[1]);
    /* The children print a line or two, far below a pipe's capacity, so reading one
     * pipe to its end before the other can not deadlock. */
    read_all(err[0], r->err, sizeof r->err);
    read_all(out[0], r->out, sizeof r->out);
    close(out[0]);
    close(err[0]);
    while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
        ;
}

/* Assert that the child given `input` exited with status 2 after printing exactly
 * `want` on stderr and nothing on stdout. */
static void assert_usage_exit(const struct child_result *r, const char *input, const char *want)
{
    ck_assert_msg(WIFEXITED(r->status), "input '%s': child did not exit (wait status 0x%x)", input,
                  (unsigned)r->status);
    ck_assert_msg(WEXITSTATUS(r->status) == ARGS_EXIT_USAGE,
                  "input '%s': exit status %d, want %d (%d: the call returned)", input,
                  WEXITSTATUS(r->status), ARGS_EXIT_USAGE, CHILD_RETURNED);
    ck_assert_str_eq(r->err, want);
    ck_assert_str_eq(r->out, "");
}

/* A port on 127.0.0.1 that nothing listens on: bind one, note it, close it. */
static int closed_port(void)
{
    int port = -1;
    int fd = net_listen_tcp(LOOPBACK, 0, 1, &port);
    ck_assert_int_ge(fd, 0);
    close(fd);
    return port;
}

/* connect() as net.c sees it: this definition in the executable takes the place of
 * libc's, so a test can make the next call behave like a blocking connect cut short
 * by a signal: the attempt is started, then -1/EINTR is returned while it is still in
 * progress. The argument type is glibc's (a transparent union under _GNU_SOURCE). */
static int connect_calls;
static int connect_inject_eintr;

int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    connect_calls++;
    if (!connect_inject_eintr)
        return (int)syscall(SYS_connect, fd, addr.__sockaddr__, len);
    connect_inject_eintr = 0;
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    long rc = syscall(SYS_connect, fd, addr.__sockaddr__, len);
    int err = errno;
    fcntl(fd, F_SETFL, flags);
    if (rc < 0 && err != EINPROGRESS) {
        errno = err;
        return -1;
    }
    errno = EINTR;
    return -1;
}

/* accept4() as net.c sees it, in the same way: a test can make the next calls fail with an
 * errno of its choice (out of descriptors, say, without running out of them), and see
 * when each call came. A failing call can also write a byte to accept_wake_fd, like a
 * signal handler arriving meanwhile. */
static int accept_calls;
static uint64_t accept_call_ns[8]; /* timing_now_ns() of the first calls */
static int accept_fail_errno;      /* non-zero: calls fail with this errno ... */
static int accept_fail_count;      /* ... this many times, then they reach the kernel */
static int accept_wake_fd = -1;

int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len, int flags)
{
    if (accept_calls < (int)(sizeof accept_call_ns / sizeof accept_call_ns[0]))
        accept_call_ns[accept_calls] = timing_now_ns();
    accept_calls++;
    if (accept_fail_count == 0)
        return (int)syscall(SYS_accept4, fd, addr.__sockaddr__, len, flags);
    accept_fail_count--;
    if (accept_wake_fd >= 0 && write(accept_wake_fd, "w", 1) != 1)
        return -1; /* errno says why the test could not go on */
    errno = accept_fail_errno;
    return -1;
}

static void accept_inject_none(void)
{
    accept_calls = 0;
    accept_fail_errno = 0;
    accept_fail_count = 0;
    accept_wake_fd = -1;
}

/* Make the next `count` accept4 calls fail with err. */
static void accept_inject(int err, int count)
{
    accept_inject_none();
    accept_fail_errno = err;
    accept_fail_count = count;
}

/* Wait (with a guard against hanging) until fd is readable; returns poll's result. */
static int wait_readable(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n;
    do
        n = poll(&pfd, 1, HANG_GUARD_MS);
    while (n < 0 && errno == EINTR);
    return n;
}

/* ---- log ------------------------------------------------------------------------- */

START_TEST(log_progname_defaults_to_svrlab)
{
    ck_assert_str_eq(initial_progname, "svrlab");
}
END_TEST

START_TEST(log_init_keeps_only_the_basename)
{
    log_init("/usr/local/bin/echoserver");
    ck_assert_str_eq(log_progname(), "echoserver");
    log_init("./build/chapter3/evserver");
    ck_assert_str_eq(log_progname(), "evserver");
    log_init("plain");
    ck_assert_str_eq(log_progname(), "plain");
    /* no last component: the previous name stays rather than an empty prefix */
    log_init("dir/");
    ck_assert_str_eq(log_progname(), "plain");
}
END_TEST

START_TEST(log_msg_prints_one_prefixed_line_and_keeps_errno)
{
    char buf[256];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    errno = EDOM;
    log_msg("queue %s holds %d messages", "q1", 7);
    int after = errno;
    capture_stop(&c, buf, sizeof buf);
    ck_assert_str_eq(buf, PROG ": queue q1 holds 7 messages\n");
    ck_assert_int_eq(after, EDOM);
}
END_TEST

START_TEST(log_sys_prints_call_args_and_strerror_and_keeps_errno)
{
    char buf[256], want[256];
    struct capture c;
    log_init("/some/dir/" PROG);
    capture_start(&c, STDERR_FILENO);
    errno = ECONNREFUSED;
    log_sys("connect(fd=%d, %s:%d)", 3, LOOPBACK, 9);
    int after = errno;
    capture_stop(&c, buf, sizeof buf);
    snprintf(want, sizeof want, PROG ": connect(fd=3, 127.0.0.1:9): %s\n", strerror(ECONNREFUSED));
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(after, ECONNREFUSED);
}
END_TEST

START_TEST(log_keeps_errno_even_when_writing_to_stderr_fails)
{
    /* With stderr closed the write fails (EBADF), and that must not leak into errno. */
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    close(STDERR_FILENO);
    errno = EDOM;
    log_msg("lost %d", 1);
    int after_msg = errno;
    errno = ERANGE;
    log_sys("lost(%d)", 2);
    int after_sys = errno;
    dup2(saved, STDERR_FILENO);
    close(saved);
    ck_assert_int_eq(after_msg, EDOM);
    ck_assert_int_eq(after_sys, ERANGE);
}
END_TEST

START_TEST(log_msg_cuts_a_long_message_but_keeps_one_line)
{
    static char big[8000], buf[16384];
    memset(big, 'x', sizeof big - 1);
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    log_msg("%s", big);
    capture_stop(&c, buf, sizeof buf);
    size_t len = strlen(buf);
    ck_assert_uint_gt(len, 100);
    ck_assert_uint_lt(len, sizeof big);
    ck_assert_int_eq(strncmp(buf, PROG ": xxx", strlen(PROG) + 5), 0);
    ck_assert_str_eq(buf + len - 4, "...\n");
    ck_assert_uint_eq(count_char(buf, '\n'), 1);
}
END_TEST

/* ---- net ------------------------------------------------------------------------- */

START_TEST(net_listen_on_port_0_reports_the_real_port)
{
    int port = -1;
    int lfd = net_listen_tcp(LOOPBACK, 0, 16, &port);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_gt(port, 0);
    ck_assert_int_le(port, 65535);

    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    ck_assert_int_eq(ntohs(sa.sin_port), port);
    ck_assert_uint_eq(ntohl(sa.sin_addr.s_addr), INADDR_LOOPBACK);

    int cfd = net_connect_tcp(LOOPBACK, port);
    ck_assert_int_ge(cfd, 0);
    int afd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(afd, 0);
    close(afd);
    close(cfd);
    close(lfd);
}
END_TEST

START_TEST(net_listen_socket_is_cloexec_with_reuseaddr)
{
    int lfd = net_listen_tcp(LOOPBACK, 0, 4, NULL);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_ne(fcntl(lfd, F_GETFD) & FD_CLOEXEC, 0);
    int on = 0;
    socklen_t len = sizeof on;
    ck_assert_int_eq(getsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, &len), 0);
    ck_assert_int_ne(on, 0);
    int listening = 0;
    len = sizeof listening;
    ck_assert_int_eq(getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len), 0);
    ck_assert_int_ne(listening, 0);
    close(lfd);
}
END_TEST

START_TEST(net_listen_on_a_busy_port_fails_with_eaddrinuse_and_logs_bind)
{
    int port = -1;
    int first = net_listen_tcp(LOOPBACK, 0, 4, &port);
    ck_assert_int_ge(first, 0);

    char buf[512], want[512];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    int bound = -2;
    errno = 0;
    int second = net_listen_tcp(LOOPBACK, port, 4, &bound);
    int err = errno;
    capture_stop(&c, buf, sizeof buf);

    ck_assert_int_eq(second, -1);
    ck_assert_int_eq(err, EADDRINUSE);
    ck_assert_int_eq(bound, -2); /* untouched on failure */
    int fd = -1;
    ck_assert_msg(sscanf(buf, PROG ": bind(fd=%d,", &fd) == 1, "unexpected log line: %s", buf);
    snprintf(want, sizeof want, PROG ": bind(fd=%d, 127.0.0.1:%d): %s\n", fd, port,
             strerror(EADDRINUSE));
    ck_assert_str_eq(buf, want);
    /* the socket that failed to bind was closed, not leaked */
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
    ck_assert_int_eq(errno, EBADF);
    close(first);
}
END_TEST

START_TEST(net_rejects_a_host_that_is_not_numeric_ipv4)
{
    static const char *const bad[] = {"localhost", "1.2.3", "::1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[512];
        struct capture c;
        log_init(PROG);
        capture_start(&c, STDERR_FILENO);
        errno = 0;
        int lfd = net_listen_tcp(bad[i], 0, 4, NULL);
        int lerr = errno;
        errno = 0;
        int cfd = net_connect_tcp(bad[i], 80);
        int cerr = errno;
        capture_stop(&c, buf, sizeof buf);
        ck_assert_int_eq(lfd, -1);
        ck_assert_int_eq(lerr, EINVAL);
        ck_assert_int_eq(cfd, -1);
        ck_assert_int_eq(cerr, EINVAL);
        /* one line per failed call, each naming the address */
        ck_assert_uint_eq(count_char(buf, '\n'), 2);
        ck_assert_ptr_nonnull(strstr(buf, bad[i]));
    }
}
END_TEST

START_TEST(net_connect_to_a_closed_port_fails_with_econnrefused_and_logs_connect)
{
    int port = closed_port();
    char buf[512], want[512];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    errno = 0;
    int fd = net_connect_tcp(LOOPBACK, port);
    int err = errno;
    capture_stop(&c, buf, sizeof buf);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(err, ECONNREFUSED);
    int sfd = -1;
    ck_assert_msg(sscanf(buf, PROG ": connect(fd=%d,", &sfd) == 1, "unexpected log: %s", buf);
    snprintf(want, sizeof want, PROG ": connect(fd=%d, 127.0.0.1:%d): %s\n", sfd, port,
             strerror(ECONNREFUSED));
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(fcntl(sfd, F_GETFD), -1); /* closed, not leaked */
}
END_TEST

START_TEST(net_connect_gives_a_blocking_cloexec_connection_that_carries_data)
{
    int port = -1;
    int lfd = net_listen_tcp(LOOPBACK, 0, 4, &port);
    ck_assert_int_ge(lfd, 0);
    int cfd = net_connect_tcp(LOOPBACK, port);
    ck_assert_int_ge(cfd, 0);
    ck_assert_int_ne(fcntl(cfd, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_eq(fcntl(cfd, F_GETFL) & O_NONBLOCK, 0);
    int afd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(afd, 0);
    ck_assert_int_eq(write(cfd, "ping", 4), 4);
    char got[8] = {0};
    ck_assert_int_eq(read(afd, got, 4), 4);
    ck_assert_str_eq(got, "ping");
    close(afd);
    close(cfd);
    close(lfd);
}
END_TEST

START_TEST(net_connect_completes_a_connect_interrupted_by_a_signal)
{
    int port = -1;
    int lfd = net_listen_tcp(LOOPBACK, 0, 4, &port);
    ck_assert_int_ge(lfd, 0);
    connect_calls = 0;
    connect_inject_eintr = 1;
    int cfd = net_connect_tcp(LOOPBACK, port);
    connect_inject_eintr = 0;
    ck_assert_int_ge(cfd, 0);
    /* connect is not issued again: that would fail with EALREADY or EISCONN */
    ck_assert_int_eq(connect_calls, 1);
    ck_assert_int_eq(fcntl(cfd, F_GETFL) & O_NONBLOCK, 0);
    int afd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(afd, 0);
    ck_assert_int_eq(write(cfd, "pong", 4), 4);
    char got[8] = {0};
    ck_assert_int_eq(read(afd, got, 4), 4);
    ck_assert_str_eq(got, "pong");
    close(afd);
    close(cfd);
    close(lfd);
}
END_TEST

START_TEST(net_connect_reports_the_failure_of_an_interrupted_connect)
{
    int port = closed_port();
    char buf[512], want[512];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    connect_calls = 0;
    connect_inject_eintr = 1;
    errno = 0;
    int fd = net_connect_tcp(LOOPBACK, port);
    int err = errno;
    connect_inject_eintr = 0;
    capture_stop(&c, buf, sizeof buf);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(err, ECONNREFUSED); /* the outcome read from SO_ERROR */
    ck_assert_int_eq(connect_calls, 1);
    int sfd = -1;
    ck_assert_msg(sscanf(buf, PROG ": connect(fd=%d,", &sfd) == 1, "unexpected log: %s", buf);
    snprintf(want, sizeof want, PROG ": connect(fd=%d, 127.0.0.1:%d): %s\n", sfd, port,
             strerror(ECONNREFUSED));
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(fcntl(sfd, F_GETFD), -1);
}
END_TEST

START_TEST(net_set_nonblock_sets_o_nonblock_and_keeps_other_flags)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    int before = fcntl(fd, F_GETFL);
    ck_assert_int_eq(before & O_NONBLOCK, 0);
    ck_assert_int_eq(net_set_nonblock(fd), 0);
    int after = fcntl(fd, F_GETFL);
    ck_assert_int_ne(after & O_NONBLOCK, 0);
    ck_assert_int_eq(after & O_ACCMODE, before & O_ACCMODE);
    ck_assert_int_eq(net_set_nonblock(fd), 0); /* a second call is harmless */
    ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
}
END_TEST

START_TEST(net_set_nonblock_on_a_bad_fd_fails_with_ebadf_and_logs_fcntl)
{
    const int fd = -1; /* a number that can never be an open descriptor */
    char buf[256], want[256];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    errno = 0;
    int rc = net_set_nonblock(fd);
    int err = errno;
    capture_stop(&c, buf, sizeof buf);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err, EBADF);
    snprintf(want, sizeof want, PROG ": fcntl(fd=%d, F_GETFL): %s\n", fd, strerror(EBADF));
    ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(net_set_nodelay_sets_tcp_nodelay)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    int on = -1;
    socklen_t len = sizeof on;
    ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    ck_assert_int_eq(on, 0);
    ck_assert_int_eq(net_set_nodelay(fd), 0);
    len = sizeof on;
    ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    ck_assert_int_ne(on, 0);
    close(fd);
}
END_TEST

START_TEST(net_set_nodelay_on_a_pipe_fails_with_enotsock)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    char buf[256];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    errno = 0;
    int rc = net_set_nodelay(p[0]);
    int err = errno;
    capture_stop(&c, buf, sizeof buf);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err, ENOTSOCK);
    ck_assert_ptr_nonnull(strstr(buf, "setsockopt("));
    ck_assert_ptr_nonnull(strstr(buf, "TCP_NODELAY"));
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(net_announce_listening_prints_the_exact_line_and_flushes_it)
{
    /* Point stdout at a fully buffered file: only an explicit flush can put the line
     * in the file before we read it, whatever stdout was (terminal, pipe). */
    FILE *file = tmpfile();
    ck_assert_ptr_nonnull(file);
    fflush(stdout);
    FILE *real = stdout;
    stdout = file;
    net_announce_listening(4242);
    stdout = real;
    char buf[128];
    ssize_t n = pread(fileno(file), buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    fclose(file);
    ck_assert_str_eq(buf, "listening on port 4242\n");
}
END_TEST

/* ---- net: listener and accept ----------------------------------------------------- */

/* Runs after every test of this group, passed or failed, so that with CK_FORK=no no
 * injected accept failure outlives its test. */
static void accept_teardown(void)
{
    accept_inject_none();
}

/* What most accept tests start from: a listener from net_listener_open on a free port of
 * 127.0.0.1, one client whose connection is queued on it, and an empty wake-up pipe. */
struct accept_rig {
    struct net_listener l;
    int port;
    int client;
    int wake[2];
};

static void rig_open(struct accept_rig *r)
{
    r->l = (struct net_listener){.fd = -1};
    r->port = -1;
    ck_assert_int_eq(net_listener_open(&r->l, LOOPBACK, 0, 16, &r->port), 0);
    ck_assert_int_ge(r->l.fd, 0);
    ck_assert_int_eq(pipe(r->wake), 0);
    r->client = net_connect_tcp(LOOPBACK, r->port);
    ck_assert_int_ge(r->client, 0);
    ck_assert_int_eq(wait_readable(r->l.fd), 1);
}

static void rig_close(struct accept_rig *r)
{
    close(r->client);
    close(r->wake[0]);
    close(r->wake[1]);
    ck_assert_int_eq(net_listener_close(&r->l), 0);
}

/* What net_accept logs once per shortage, for listener fd and errno err. */
static void want_pause_line(char *buf, size_t size, int fd, int err)
{
    snprintf(buf, size, PROG ": accept(fd=%d) (new connections wait until it works again): %s\n",
             fd, strerror(err));
}

START_TEST(net_listener_open_gives_a_nonblocking_cloexec_listener_and_close_is_idempotent)
{
    struct net_listener l = {.fd = -1, .told_full = 1, .rest_until_ns = 1};
    ck_assert_int_eq(net_listener_open(&l, LOOPBACK, 0, 16, NULL), 0);
    ck_assert_int_ne(fcntl(l.fd, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_ne(fcntl(l.fd, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_eq(l.told_full, 0); /* a fresh start, whatever *l held */
    ck_assert_uint_eq(l.rest_until_ns, 0);
    int fd = l.fd;
    ck_assert_int_eq(net_listener_close(&l), 0);
    ck_assert_int_eq(l.fd, -1);
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1); /* really closed */
    ck_assert_int_eq(net_listener_close(&l), 0); /* a second close does nothing */
}
END_TEST

START_TEST(net_listener_open_on_a_busy_port_fails_and_leaves_fd_minus_1)
{
    struct accept_rig busy;
    rig_open(&busy);
    struct net_listener l = {.fd = 7};
    char buf[256];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    errno = 0;
    int rc = net_listener_open(&l, LOOPBACK, busy.port, 16, NULL);
    int err = errno;
    capture_stop(&c, buf, sizeof buf);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err, EADDRINUSE);
    ck_assert_int_eq(l.fd, -1);
    ck_assert_ptr_nonnull(strstr(buf, "bind("));
    rig_close(&busy);
}
END_TEST

START_TEST(net_accept_returns_a_cloexec_connection_blocking_unless_asked)
{
    struct accept_rig r;
    rig_open(&r);
    int a1 = net_accept(&r.l, 0);
    ck_assert_int_ge(a1, 0);
    ck_assert_int_ne(fcntl(a1, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_eq(fcntl(a1, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_eq(write(r.client, "ping", 4), 4);
    char got[8] = {0};
    ck_assert_int_eq(read(a1, got, 4), 4);
    ck_assert_str_eq(got, "ping");

    int c2 = net_connect_tcp(LOOPBACK, r.port);
    ck_assert_int_ge(c2, 0);
    ck_assert_int_eq(wait_readable(r.l.fd), 1);
    int a2 = net_accept(&r.l, SOCK_NONBLOCK);
    ck_assert_int_ge(a2, 0);
    ck_assert_int_ne(fcntl(a2, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_ne(fcntl(a2, F_GETFL) & O_NONBLOCK, 0);
    close(a1);
    close(a2);
    close(c2);
    rig_close(&r);
}
END_TEST

START_TEST(net_accept_with_nothing_pending_returns_none_and_says_nothing)
{
    struct net_listener l = {.fd = -1};
    ck_assert_int_eq(net_listener_open(&l, LOOPBACK, 0, 16, NULL), 0);
    char buf[256];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    errno = 0;
    int rc = net_accept(&l, 0);
    int err = errno;
    capture_stop(&c, buf, sizeof buf);
    ck_assert_int_eq(rc, NET_ACCEPT_NONE);
    ck_assert_int_eq(err, EAGAIN);
    ck_assert_str_eq(buf, "");
    net_listener_close(&l);
}
END_TEST

/* Make each of errs[0..n) the errno of one net_accept call on l; every call must return
 * want with that errno. Returns what was logged meanwhile. */
static void accept_each_error(struct net_listener *l, const int *errs, size_t n, int want,
                              char *log, size_t size)
{
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    for (size_t i = 0; i < n; i++) {
        accept_inject(errs[i], 1);
        errno = 0;
        int rc = net_accept(l, 0);
        int err = errno;
        if (rc != want || err != errs[i])
            capture_stop(&c, log, size); /* stderr back, for Check's message */
        ck_assert_msg(rc == want, "%s: returned %d, want %d", strerror(errs[i]), rc, want);
        ck_assert_int_eq(err, errs[i]);
    }
    capture_stop(&c, log, size);
}

START_TEST(net_accept_treats_aborted_connections_and_network_errors_like_eagain)
{
    /* accept(2): "Linux accept() passes already-pending network errors on the new socket
     * as an error code from accept()", to be treated like EAGAIN. */
    static const int errs[] = {EINTR,     ECONNABORTED, ENETDOWN,     EPROTO,     ENOPROTOOPT,
                               EHOSTDOWN, ENONET,       EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH};
    struct accept_rig r;
    rig_open(&r);
    char buf[256];
    accept_each_error(&r.l, errs, sizeof errs / sizeof errs[0], NET_ACCEPT_NONE, buf, sizeof buf);
    ck_assert_str_eq(buf, ""); /* routine: nothing to tell anyone */
    rig_close(&r);
}
END_TEST

START_TEST(net_accept_out_of_fds_or_memory_asks_for_a_pause_and_logs_once_per_shortage)
{
    static const int errs[] = {EMFILE, ENFILE, ENOBUFS, ENOMEM};
    struct accept_rig r;
    rig_open(&r);
    char buf[512], again[512], want[512];
    /* One shortage, told once, in the words of its first error ... */
    accept_each_error(&r.l, errs, sizeof errs / sizeof errs[0], NET_ACCEPT_PAUSE, buf,
                      sizeof buf);
    want_pause_line(want, sizeof want, r.l.fd, EMFILE);
    ck_assert_str_eq(buf, want);
    /* ... ends with a connection taken; the next shortage is news again. */
    accept_inject_none();
    int afd = net_accept(&r.l, 0);
    ck_assert_int_ge(afd, 0);
    accept_each_error(&r.l, errs + 1, 2, NET_ACCEPT_PAUSE, again, sizeof again);
    want_pause_line(want, sizeof want, r.l.fd, ENFILE);
    ck_assert_str_eq(again, want);
    close(afd);
    rig_close(&r);
}
END_TEST

/* In a child (run_child): net_accept against a real RLIMIT_NOFILE. Prints the listener's fd
 * and what each call returned. Every call is made with a connection pending: Linux fails
 * with EMFILE before it looks at the queue, valgrind only after taking a connection (which
 * it then closes), and the test must hold under both. */
static void child_accept_out_of_fds(const char *unused)
{
    (void)unused;
    enum { CALLS = 4 }; /* and as many clients */
    struct net_listener l = {.fd = -1};
    int port = -1;
    struct rlimit saved, low;
    log_init(PROG);
    if (net_listener_open(&l, LOOPBACK, 0, CALLS, &port) == -1)
        return;
    for (int i = 0; i < CALLS; i++)
        if (net_connect_tcp(LOOPBACK, port) == -1)
            return; /* the clients stay open until the child exits */
    if (getrlimit(RLIMIT_NOFILE, &saved) == -1)
        return;
    /* The lowest free descriptor becomes the limit: the next one can not be made. */
    int lowest = dup(0);
    if (lowest == -1)
        return;
    close(lowest);
    low = saved;
    low.rlim_cur = (rlim_t)lowest;

    int rc[CALLS], err[CALLS];
    for (int i = 0; i < CALLS; i++) {
        /* calls 0, 1 and 3 out of descriptors; call 2 with the limit as it was */
        if (setrlimit(RLIMIT_NOFILE, i == 2 ? &saved : &low) == -1)
            return;
        if (wait_readable(l.fd) != 1)
            return;
        errno = 0;
        rc[i] = net_accept(&l, 0);
        err[i] = errno;
        if (rc[i] >= 0) {
            close(rc[i]);
            rc[i] = 0; /* "a connection" */
        }
    }
    printf("fd=%d\n", l.fd);
    for (int i = 0; i < CALLS; i++)
        printf("%d %s\n", rc[i], rc[i] < 0 ? strerror(err[i]) : "-");
}

START_TEST(net_accept_out_of_fds_under_rlimit_nofile_pauses_and_logs_once_per_shortage)
{
    struct child_result r;
    run_child(child_accept_out_of_fds, NULL, &r);
    ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == CHILD_RETURNED,
                  "child: wait status 0x%x; stderr: %s", (unsigned)r.status, r.err);
    int fd = -1;
    ck_assert_msg(sscanf(r.out, "fd=%d\n", &fd) == 1,
                  "the child's set-up failed; stdout: '%s', stderr: '%s'", r.out, r.err);
    char want[1024], line[256];
    const char *emfile = strerror(EMFILE);
    snprintf(want, sizeof want, "fd=%d\n%d %s\n%d %s\n0 -\n%d %s\n", fd, NET_ACCEPT_PAUSE,
             emfile, NET_ACCEPT_PAUSE, emfile, NET_ACCEPT_PAUSE, emfile);
    ck_assert_str_eq(r.out, want);
    /* two calls in the first shortage, one line; the connection ends it; one line again */
    want_pause_line(line, sizeof line, fd, EMFILE);
    snprintf(want, sizeof want, "%s%s", line, line);
    ck_assert_str_eq(r.err, want);
}
END_TEST

START_TEST(net_accept_on_a_bad_fd_is_fatal_and_logs_accept_with_the_fd)
{
    struct net_listener bad = {.fd = -1};
    struct net_listener unlistened = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
    ck_assert_int_ge(unlistened.fd, 0);
    char buf[512], want[512];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    errno = 0;
    int rc1 = net_accept(&bad, 0);
    int err1 = errno;
    int rc2 = net_accept(&unlistened, 0);
    int err2 = errno;
    capture_stop(&c, buf, sizeof buf);
    ck_assert_int_eq(rc1, NET_ACCEPT_FATAL);
    ck_assert_int_eq(err1, EBADF);
    ck_assert_int_eq(rc2, NET_ACCEPT_FATAL);
    ck_assert_int_eq(err2, EINVAL); /* a socket that does not listen */
    snprintf(want, sizeof want, PROG ": accept(fd=-1): %s\n" PROG ": accept(fd=%d): %s\n",
             strerror(EBADF), unlistened.fd, strerror(EINVAL));
    ck_assert_str_eq(buf, want);
    close(unlistened.fd);
}
END_TEST

START_TEST(net_accept_wait_returns_a_pending_connection)
{
    struct accept_rig r;
    rig_open(&r);
    int afd = net_accept_wait(&r.l, r.wake[0], 100, SOCK_NONBLOCK);
    ck_assert_int_ge(afd, 0);
    ck_assert_int_ne(fcntl(afd, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_eq(write(r.client, "x", 1), 1);
    char got = 0;
    ck_assert_int_eq(wait_readable(afd), 1);
    ck_assert_int_eq(read(afd, &got, 1), 1);
    ck_assert_int_eq(got, 'x');
    close(afd);
    rig_close(&r);
}
END_TEST

START_TEST(net_accept_wait_returns_woken_before_a_pending_connection)
{
    struct accept_rig r;
    rig_open(&r);
    ck_assert_int_eq(write(r.wake[1], "s", 1), 1);
    accept_inject_none();
    ck_assert_int_eq(net_accept_wait(&r.l, r.wake[0], 100, 0), NET_ACCEPT_WOKEN);
    ck_assert_int_eq(accept_calls, 0);
    /* once the caller has read the wake-up byte, the connection is next */
    char b;
    ck_assert_int_eq(read(r.wake[0], &b, 1), 1);
    int afd = net_accept_wait(&r.l, r.wake[0], 100, 0);
    ck_assert_int_ge(afd, 0);
    close(afd);
    rig_close(&r);
}
END_TEST

START_TEST(net_accept_wait_leaves_the_listener_alone_for_pause_ms_after_a_shortage)
{
    enum { PAUSE_MS = 30 };
    struct accept_rig r;
    rig_open(&r);
    char buf[512], want[256];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    accept_inject(EMFILE, 1); /* the connection stays queued: the listener stays readable */
    int afd = net_accept_wait(&r.l, r.wake[0], PAUSE_MS, 0);
    capture_stop(&c, buf, sizeof buf);
    ck_assert_int_ge(afd, 0);
    /* Two calls, not a spin on the readable listener; the second one only after the
     * pause (a lower bound: a slow machine may take longer, never shorter). */
    ck_assert_int_eq(accept_calls, 2);
    ck_assert_uint_ge(accept_call_ns[1] - accept_call_ns[0], PAUSE_MS * 1000000ull);
    want_pause_line(want, sizeof want, r.l.fd, EMFILE);
    ck_assert_str_eq(buf, want);
    ck_assert_uint_eq(r.l.rest_until_ns, 0); /* the rest is over */
    close(afd);
    rig_close(&r);
}
END_TEST

START_TEST(net_accept_wait_still_wakes_up_while_the_listener_rests)
{
    struct accept_rig r;
    rig_open(&r);
    char buf[512];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO);
    /* Out of descriptors, and a signal comes in meanwhile. A pause of an hour: only the
     * wake-up can end these calls (a broken build hangs until Check's timeout). */
    accept_inject(EMFILE, 1);
    accept_wake_fd = r.wake[1];
    int rc1 = net_accept_wait(&r.l, r.wake[0], 3600 * 1000, 0);
    /* Called again with the wake-up still unread and a connection still queued: the
     * listener is resting, so it is not tried. */
    int rc2 = net_accept_wait(&r.l, r.wake[0], 3600 * 1000, 0);
    capture_stop(&c, buf, sizeof buf);
    ck_assert_int_eq(rc1, NET_ACCEPT_WOKEN);
    ck_assert_int_eq(rc2, NET_ACCEPT_WOKEN);
    ck_assert_int_eq(accept_calls, 1);
    ck_assert_uint_ne(r.l.rest_until_ns, 0);
    ck_assert_uint_eq(count_char(buf, '\n'), 1);
    rig_close(&r);
}
END_TEST

START_TEST(net_accept_wait_on_a_closed_fd_is_fatal_instead_of_spinning)
{
    char buf[256], want[256];
    struct capture c;
    log_init(PROG);
    capture_start(&c, STDERR_FILENO); /* first: it opens descriptors of its own */
    /* poll reports a closed fd as POLLNVAL, never as POLLIN */
    int fd = dup(0);
    close(fd);
    struct net_listener l = {.fd = fd};
    errno = 0;
    int rc = net_accept_wait(&l, -1, 100, 0);
    int err = errno;
    capture_stop(&c, buf, sizeof buf);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(rc, NET_ACCEPT_FATAL);
    ck_assert_int_eq(err, EBADF);
    snprintf(want, sizeof want, PROG ": accept(fd=%d): %s\n", fd, strerror(EBADF));
    ck_assert_str_eq(buf, want);
}
END_TEST

/* ---- timing ---------------------------------------------------------------------- */

START_TEST(timing_now_ns_never_goes_backwards)
{
    /* One assertion after the loop: Check records every passing assertion, which
     * would cost more than the clock readings themselves. */
    uint64_t prev = timing_now_ns();
    int backwards = -1;
    for (int i = 0; i < 100000 && backwards < 0; i++) {
        uint64_t now = timing_now_ns();
        if (now < prev)
            backwards = i;
        prev = now;
    }
    ck_assert_msg(backwards < 0, "the clock went backwards at reading %d", backwards);
}
END_TEST

START_TEST(timing_now_ns_advances_at_least_10ms_across_a_10ms_sleep)
{
    uint64_t start = timing_now_ns();
    struct timespec left = {0, 10 * 1000 * 1000};
    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
    uint64_t end = timing_now_ns();
    ck_assert_uint_ge(end, start);
    ck_assert_uint_ge(end - start, 10u * 1000 * 1000);
}
END_TEST

START_TEST(timing_sort_orders_extreme_values_without_overflow)
{
    /* Values 2^63 apart: a comparator returning (int)(a - b) gets these wrong. */
    const uint64_t top = 1ull << 63;
    uint64_t v[] = {UINT64_MAX, 0, top, 5, top + 1, 3, UINT64_MAX - 1, 5, 1};
    const uint64_t want[] = {0, 1, 3, 5, 5, top, top + 1, UINT64_MAX - 1, UINT64_MAX};
    size_t n = sizeof v / sizeof v[0];
    timing_sort(v, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(v[i] == want[i], "v[%zu] = %llu, want %llu", i, (unsigned long long)v[i],
                      (unsigned long long)want[i]);
}
END_TEST

START_TEST(timing_sort_orders_a_large_shuffled_array)
{
    enum { N = 5000 };
    static uint64_t v[N];
    uint64_t x = 88172645463325252ull; /* xorshift64: reproducible pseudo-random input */
    uint64_t sum = 0;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v[i] = i % 7 == 0 ? v[i / 2] : x; /* with duplicates */
        sum += v[i];
    }
    timing_sort(v, N);
    uint64_t after = v[0];
    size_t unsorted = 0;
    for (size_t i = 1; i < N; i++) {
        if (unsorted == 0 && v[i - 1] > v[i])
            unsorted = i;
        after += v[i];
    }
    ck_assert_msg(unsorted == 0, "not sorted at index %zu", unsorted);
    ck_assert_msg(after == sum, "the values changed while sorting");
}
END_TEST

START_TEST(timing_sort_accepts_empty_and_single_arrays)
{
    timing_sort(NULL, 0);
    uint64_t one = 42;
    timing_sort(&one, 1);
    ck_assert_uint_eq(one, 42);
}
END_TEST

START_TEST(timing_percentile_is_nearest_rank_on_1_to_100)
{
    uint64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (uint64_t)(i + 1) * 10;
    ck_assert_uint_eq(timing_percentile(v, 100, 50), 500);
    ck_assert_uint_eq(timing_percentile(v, 100, 99), 990);
    ck_assert_uint_eq(timing_percentile(v, 100, 100), 1000);
    ck_assert_uint_eq(timing_percentile(v, 100, 1), 10);
    ck_assert_uint_eq(timing_percentile(v, 100, 0.5), 10);
    ck_assert_uint_eq(timing_percentile(v, 100, 50.1), 510);
}
END_TEST

START_TEST(timing_percentile_is_nearest_rank_on_ten_values)
{
    const uint64_t v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1000};
    ck_assert_uint_eq(timing_percentile(v, 10, 50), 5);    /* rank ceil(5) = 5 */
    ck_assert_uint_eq(timing_percentile(v, 10, 51), 6);    /* rank ceil(5.1) = 6 */
    ck_assert_uint_eq(timing_percentile(v, 10, 90), 9);    /* rank 9 */
    ck_assert_uint_eq(timing_percentile(v, 10, 99), 1000); /* rank ceil(9.9) = 10 */
    ck_assert_uint_eq(timing_percentile(v, 10, 100), 1000);
    ck_assert_uint_eq(timing_percentile(v, 10, 10), 1);
}
END_TEST

START_TEST(timing_percentile_of_no_values_is_0)
{
    ck_assert_uint_eq(timing_percentile(NULL, 0, 50), 0);
    ck_assert_uint_eq(timing_percentile(NULL, 0, 100), 0);
}
END_TEST

START_TEST(timing_percentile_of_one_value_is_that_value)
{
    const uint64_t v[] = {77};
    ck_assert_uint_eq(timing_percentile(v, 1, 1), 77);
    ck_assert_uint_eq(timing_percentile(v, 1, 50), 77);
    ck_assert_uint_eq(timing_percentile(v, 1, 99), 77);
    ck_assert_uint_eq(timing_percentile(v, 1, 100), 77);
}
END_TEST

START_TEST(timing_percentile_rank_is_not_moved_by_rounding_errors)
{
    enum { N = 1000 };
    static uint64_t v[N];
    for (size_t i = 0; i < N; i++)
        v[i] = i + 1; /* v[rank - 1] == rank */
    /* 7 / 100.0 * 100 is 7.000000000000001 in double: a naive ceil gives rank 8 */
    ck_assert_uint_eq(timing_percentile(v, 100, 7), 7);
    ck_assert_uint_eq(timing_percentile(v, 100, 57), 57);
    ck_assert_uint_eq(timing_percentile(v, N, 99.9), 999);
    ck_assert_uint_eq(timing_percentile(v, N, 0.1), 1);
    ck_assert_uint_eq(timing_percentile(v, N, 99.95), 1000); /* rank ceil(999.5) */
    for (int p = 1; p <= 100; p++)
        ck_assert_uint_eq(timing_percentile(v, N, p), (uint64_t)p * 10);
}
END_TEST

START_TEST(timing_percentile_clamps_p_outside_0_to_100)
{
    const uint64_t v[] = {4, 8, 15, 16, 23, 42};
    ck_assert_uint_eq(timing_percentile(v, 6, 0), 4);
    ck_assert_uint_eq(timing_percentile(v, 6, -5), 4);
    ck_assert_uint_eq(timing_percentile(v, 6, 250), 42);
}
END_TEST

/* ---- args ------------------------------------------------------------------------ */

START_TEST(args_parse_long_accepts_whole_numbers_in_range)
{
    long v = -1;
    ck_assert_int_eq(args_parse_long("0", -10, 10, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(args_parse_long("7", -10, 10, &v), 0);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(args_parse_long("+7", -10, 10, &v), 0);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(args_parse_long("-10", -10, 10, &v), 0);
    ck_assert_int_eq(v, -10);
    ck_assert_int_eq(args_parse_long("10", -10, 10, &v), 0);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(args_parse_long("007", 0, 10, &v), 0); /* decimal, not octal */
    ck_assert_int_eq(v, 7);
    char max[32];
    snprintf(max, sizeof max, "%ld", LONG_MAX);
    ck_assert_int_eq(args_parse_long(max, 0, LONG_MAX, &v), 0);
    ck_assert_int_eq(v, LONG_MAX);
}
END_TEST

START_TEST(args_parse_long_rejects_empty_and_junk_with_einval)
{
    static const char *const bad[] = {"",  "abc",  "12abc", "12 ", " 12", "-",
                                      "+", "0x10", "1.5",   "1e3", "--1", "\t3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long v = 12345;
        errno = 0;
        ck_assert_msg(args_parse_long(bad[i], -100, 100, &v) == -1, "accepted '%s'", bad[i]);
        ck_assert_msg(errno == EINVAL, "'%s': errno %d, want EINVAL", bad[i], errno);
        ck_assert_int_eq(v, 12345); /* untouched */
    }
    long v = 12345;
    errno = 0;
    ck_assert_int_eq(args_parse_long(NULL, 0, 10, &v), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(args_parse_long_rejects_overflow_and_out_of_range_with_erange)
{
    static const char *const bad[] = {"99999999999999999999999", "-99999999999999999999999", "101",
                                      "-101"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long v = 12345;
        errno = 0;
        ck_assert_msg(args_parse_long(bad[i], -100, 100, &v) == -1, "accepted '%s'", bad[i]);
        ck_assert_msg(errno == ERANGE, "'%s': errno %d, want ERANGE", bad[i], errno);
        ck_assert_int_eq(v, 12345);
    }
    long v = 0;
    errno = 0;
    ck_assert_int_eq(args_parse_long("99999999999999999999999", LONG_MIN, LONG_MAX, &v), -1);
    ck_assert_int_eq(errno, ERANGE);
}
END_TEST

START_TEST(args_number_returns_a_valid_value)
{
    ck_assert_int_eq(args_number("-n", "1", 1, 100000000), 1);
    ck_assert_int_eq(args_number("-n", "100000000", 1, 100000000), 100000000);
    ck_assert_int_eq(args_number("-c", "64", 1, 1000), 64);
}
END_TEST

static void child_args_number(const char *s)
{
    log_init("echoclient");
    args_number("-n", s, 1, 100000000);
}

START_TEST(args_number_exits_2_naming_the_option_range_and_input)
{
    static const char *const bad[] = {
        "abc", "", "0", "100000001", "12abc", "-3", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct child_result r;
        char want[256];
        run_child(child_args_number, bad[i], &r);
        snprintf(want, sizeof want,
                 "echoclient: -n: expected a whole number from 1 to 100000000, got '%s' "
                 "(see --help)\n",
                 bad[i]);
        assert_usage_exit(&r, bad[i], want);
    }
}
END_TEST

START_TEST(args_seconds_returns_a_valid_value)
{
    ck_assert(args_seconds("-i", "1", 0.01, 3600) == 1.0);
    ck_assert(args_seconds("-i", "0.25", 0.01, 3600) == 0.25);
    ck_assert(args_seconds("-i", "3600", 0.01, 3600) == 3600.0);
}
END_TEST

static void child_args_seconds(const char *s)
{
    log_init("viewconn");
    args_seconds("-i", s, 0.01, 3600);
}

START_TEST(args_seconds_exits_2_naming_the_option_range_and_input)
{
    static const char *const bad[] = {"abc", "", "0", "0.001", "3601", "1s", "nan", "inf", "-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct child_result r;
        char want[256];
        run_child(child_args_seconds, bad[i], &r);
        snprintf(want, sizeof want,
                 "viewconn: -i: expected seconds from 0.01 to 3600, got '%s' (see --help)\n",
                 bad[i]);
        assert_usage_exit(&r, bad[i], want);
    }
}
END_TEST

START_TEST(args_port_accepts_0_to_65535)
{
    ck_assert_int_eq(args_port("0"), 0);
    ck_assert_int_eq(args_port("8080"), 8080);
    ck_assert_int_eq(args_port("65535"), 65535);
}
END_TEST

static void child_args_port(const char *s)
{
    log_init(PROG);
    args_port(s);
}

START_TEST(args_port_exits_2_outside_0_to_65535)
{
    static const char *const bad[] = {"65536", "-1", "http", "80x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct child_result r;
        char want[256];
        run_child(child_args_port, bad[i], &r);
        snprintf(want, sizeof want,
                 PROG ": -p: expected a whole number from 0 to 65535, got '%s' (see --help)\n",
                 bad[i]);
        assert_usage_exit(&r, bad[i], want);
    }
}
END_TEST

START_TEST(args_ipc_key_accepts_positive_decimal_and_hex)
{
    ck_assert_int_eq(args_ipc_key("1"), 1);
    ck_assert_int_eq(args_ipc_key("4660"), 4660);
    ck_assert_int_eq(args_ipc_key("0x1234"), 0x1234);
    ck_assert_int_eq(args_ipc_key("0XaBc"), 0xabc);
    ck_assert_int_eq(args_ipc_key("010"), 10); /* decimal, not octal */
    ck_assert_int_eq(args_ipc_key("2147483647"), INT_MAX);
    ck_assert_int_eq(args_ipc_key("0x7fffffff"), INT_MAX);
}
END_TEST

static void child_args_ipc_key(const char *s)
{
    log_init(PROG);
    args_ipc_key(s);
}

START_TEST(args_ipc_key_exits_2_on_zero_negative_junk_or_overflow)
{
    static const char *const bad[] = {
        "0",     "0x0",        "-5",         "",     "0x",
        "0x0x5", "0x-5",       "0x 5",       "0x1G", "12z",
        " 7",    "2147483648", "0x80000000", "1e3",  "0xffffffffffffffffff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct child_result r;
        char want[256];
        run_child(child_args_ipc_key, bad[i], &r);
        snprintf(want, sizeof want,
                 PROG ": -k: expected a positive whole number (decimal, or hex with 0x) up to "
                      "2147483647 (0x7fffffff), got '%s' (see --help)\n",
                 bad[i]);
        assert_usage_exit(&r, bad[i], want);
    }
}
END_TEST

static void child_bad_option(const char *arg)
{
    log_init(PROG);
    args_bad_option(arg);
}

START_TEST(args_bad_option_exits_2_with_one_line)
{
    struct child_result r;
    run_child(child_bad_option, "-x", &r);
    assert_usage_exit(&r, "-x", PROG ": unknown option or missing value: '-x' (see --help)\n");
}
END_TEST

START_TEST(args_usage_error_keeps_control_characters_off_the_line)
{
    struct child_result r;
    run_child(child_bad_option, "a\nb\x1b[2Jc\r", &r);
    assert_usage_exit(&r, "a\\nb\\x1b[2Jc\\r",
                      PROG ": unknown option or missing value: 'a?b?[2Jc?' (see --help)\n");
}
END_TEST

START_TEST(args_ipv4_returns_a_numeric_address_as_given)
{
    static const char *const good[] = {"127.0.0.1", "0.0.0.0", "10.1.2.3", "255.255.255.255"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_ptr_eq(args_ipv4(good[i]), good[i]);
}
END_TEST

/* Split a command line at blanks into argv (program name first) for args_parse_listen. */
enum { MAX_ARGS = 8 };
struct cmdline {
    char text[256];
    char *argv[MAX_ARGS + 1];
    int argc;
};

static void split_cmdline(const char *line, struct cmdline *cl)
{
    snprintf(cl->text, sizeof cl->text, "%s", line);
    cl->argc = 0;
    cl->argv[cl->argc++] = (char *)"echosvr";
    for (char *w = strtok(cl->text, " "); w != NULL && cl->argc < MAX_ARGS; w = strtok(NULL, " "))
        cl->argv[cl->argc++] = w;
    cl->argv[cl->argc] = NULL;
    optind = 0; /* glibc: start getopt afresh, whatever ran before */
}

static void usage_for_test(FILE *out)
{
    fprintf(out, "usage: echosvr [-a ADDR] -p PORT\n" ARGS_LISTEN_HELP);
}

START_TEST(args_parse_listen_takes_addr_and_port_with_the_default_addr)
{
    static const struct {
        const char *line;
        const char *addr;
        int port;
    } cases[] = {
        {"-p 0", ARGS_DEFAULT_ADDR, 0},
        {"-p 8080 -a 10.0.0.1", "10.0.0.1", 8080},
        {"--addr 0.0.0.0 --port 65535", "0.0.0.0", 65535},
        {"-a127.0.0.2 -p1", "127.0.0.2", 1},
        {"--port=9 --addr=127.0.0.1", "127.0.0.1", 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cmdline cl;
        struct args_listen opt = {NULL, -5};
        split_cmdline(cases[i].line, &cl);
        args_parse_listen(cl.argc, cl.argv, usage_for_test, &opt);
        ck_assert_msg(strcmp(opt.addr, cases[i].addr) == 0 && opt.port == cases[i].port,
                      "'%s': addr %s port %d, want %s %d", cases[i].line, opt.addr, opt.port,
                      cases[i].addr, cases[i].port);
    }
}
END_TEST

static void child_args_parse_listen(const char *line)
{
    struct cmdline cl;
    struct args_listen opt;
    log_init(PROG);
    split_cmdline(line, &cl);
    args_parse_listen(cl.argc, cl.argv, usage_for_test, &opt);
}

START_TEST(args_parse_listen_exits_2_with_one_line_on_bad_arguments)
{
    static const struct {
        const char *line;
        const char *msg;
    } cases[] = {
        {"", "-p PORT is required; 0 picks a free port"},
        {"-a 127.0.0.1", "-p PORT is required; 0 picks a free port"},
        {"-p 80 extra", "unknown option or missing value: 'extra'"},
        {"-p 80 -x", "unknown option or missing value: '-x'"},
        {"-p", "unknown option or missing value: '-p'"},
        {"-p 65536", "-p: expected a whole number from 0 to 65535, got '65536'"},
#define BAD_ADDR(a) "-a wants a numeric IPv4 address such as 127.0.0.1, got '" a "'"
        {"-p 80 -a localhost", BAD_ADDR("localhost")},
        {"-a 127.0.0 -p 80", BAD_ADDR("127.0.0")},
        {"-p 80 --addr 256.0.0.1", BAD_ADDR("256.0.0.1")},
        {"-p 80 -a ::1", BAD_ADDR("::1")},
        {"-p 80 --addr=", BAD_ADDR("")},
#undef BAD_ADDR
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct child_result r;
        char want[256];
        run_child(child_args_parse_listen, cases[i].line, &r);
        snprintf(want, sizeof want, PROG ": %s (see --help)\n", cases[i].msg);
        assert_usage_exit(&r, cases[i].line, want);
    }
}
END_TEST

START_TEST(args_parse_listen_help_prints_the_usage_and_exits_0)
{
    static const char *const lines[] = {"--help", "-h", "-p 80 --help"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct child_result r;
        run_child(child_args_parse_listen, lines[i], &r);
        ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
                      "'%s': wait status 0x%x, want exit 0", lines[i], (unsigned)r.status);
        ck_assert_str_eq(r.out, "usage: echosvr [-a ADDR] -p PORT\n" ARGS_LISTEN_HELP);
        ck_assert_str_eq(r.err, "");
    }
}
END_TEST

START_TEST(args_parse_view_takes_key_once_and_interval_with_defaults)
{
    static const struct {
        const char *line;
        const char *key;
        int once;
        double interval;
    } cases[] = {
        {"-k 0x4400", "0x4400", 0, ARGS_VIEW_INTERVAL_DEFAULT},
        {"--key 17 --once", "17", 1, ARGS_VIEW_INTERVAL_DEFAULT},
        {"-i 0.5 -k 9", "9", 0, 0.5},
        {"--once --interval=3600 --key=1", "1", 1, 3600.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cmdline cl;
        struct args_view opt = {NULL, -1, -1.0};
        split_cmdline(cases[i].line, &cl);
        args_parse_view(cl.argc, cl.argv, usage_for_test, "the key of the test", &opt);
        ck_assert_msg(opt.key != NULL && strcmp(opt.key, cases[i].key) == 0 &&
                          opt.once == cases[i].once && opt.interval == cases[i].interval,
                      "'%s': key %s once %d interval %g, want %s %d %g", cases[i].line,
                      opt.key ? opt.key : "(none)", opt.once, opt.interval, cases[i].key,
                      cases[i].once, cases[i].interval);
    }
}
END_TEST

static void child_args_parse_view(const char *line)
{
    struct cmdline cl;
    struct args_view opt;
    log_init(PROG);
    split_cmdline(line, &cl);
    args_parse_view(cl.argc, cl.argv, usage_for_test, "the key of the test", &opt);
}

START_TEST(args_parse_view_exits_2_with_one_line_on_bad_arguments)
{
    static const struct {
        const char *line;
        const char *msg;
    } cases[] = {
        {"", "-k KEY is required: the key of the test"},
        {"--once -i 2", "-k KEY is required: the key of the test"},
        {"-k 1 extra", "unknown option or missing value: 'extra'"},
        {"-k 1 -p 80", "unknown option or missing value: '-p'"},
        {"-k", "unknown option or missing value: '-k'"},
        {"-k 1 -i 0", "-i: expected seconds from 0.01 to 3600, got '0'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct child_result r;
        char want[256];
        run_child(child_args_parse_view, cases[i].line, &r);
        snprintf(want, sizeof want, PROG ": %s (see --help)\n", cases[i].msg);
        assert_usage_exit(&r, cases[i].line, want);
    }
}
END_TEST

/* ---- sigwatch -------------------------------------------------------------------- */

/* Runs after every sigwatch test, passed or failed, so that with CK_FORK=no no handler
 * outlives its test. */
static void sigwatch_teardown(void)
{
    sigwatch_close();
}

static int is_readable_now(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 0) == 1;
}

static void set_disposition(int sig, void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(sig, &sa, NULL), 0);
}

static void (*disposition(int sig))(int)
{
    struct sigaction sa;
    ck_assert_int_eq(sigaction(sig, NULL, &sa), 0);
    return sa.sa_handler;
}

static void dummy_handler(int sig)
{
    (void)sig;
}

START_TEST(sigwatch_init_returns_a_nonblocking_cloexec_pipe)
{
    ck_assert_int_eq(sigwatch_fd(), -1);
    int fd = sigwatch_init();
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(sigwatch_fd(), fd);
    ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_eq(sigwatch_init(), fd); /* a second call changes nothing */
    ck_assert_int_eq(sigwatch_stop_requested(), 0);
    sigwatch_close();
}
END_TEST

START_TEST(sigwatch_handlers_use_sa_restart)
{
    ck_assert_int_ge(sigwatch_init(), 0);
    static const int sigs[] = {SIGINT, SIGTERM, SIGCHLD};
    for (size_t i = 0; i < 3; i++) {
        struct sigaction sa;
        ck_assert_int_eq(sigaction(sigs[i], NULL, &sa), 0);
        ck_assert_msg(sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN,
                      "signal %d has no handler", sigs[i]);
        ck_assert_msg(sa.sa_flags & SA_RESTART, "signal %d lacks SA_RESTART", sigs[i]);
    }
    sigwatch_close();
}
END_TEST

START_TEST(sigwatch_take_returns_0_at_once_when_nothing_is_pending)
{
    int fd = sigwatch_init();
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(is_readable_now(fd), 0);
    /* a blocking read here would hang the test (and Check's timeout fails it) */
    ck_assert_uint_eq(sigwatch_take(), 0);
    ck_assert_uint_eq(sigwatch_take(), 0);
    sigwatch_close();
    ck_assert_uint_eq(sigwatch_take(), 0); /* and after close too */
}
END_TEST

START_TEST(sigwatch_sigterm_makes_the_fd_readable_and_take_return_stop)
{
    int fd = sigwatch_init();
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(sigwatch_stop_requested(), 0);
    ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
    ck_assert_int_eq(wait_readable(fd), 1);
    ck_assert_int_ne(sigwatch_stop_requested(), 0);
    ck_assert_uint_eq(sigwatch_take(), SIGWATCH_STOP);
    ck_assert_int_eq(is_readable_now(fd), 0);       /* drained */
    ck_assert_uint_eq(sigwatch_take(), 0);          /* reported once */
    ck_assert_int_ne(sigwatch_stop_requested(), 0); /* but the request stays */
    sigwatch_close();
}
END_TEST

START_TEST(sigwatch_sigint_requests_stop)
{
    int fd = sigwatch_init();
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(kill(getpid(), SIGINT), 0);
    ck_assert_int_eq(wait_readable(fd), 1);
    ck_assert_int_ne(sigwatch_stop_requested(), 0);
    ck_assert_uint_eq(sigwatch_take(), SIGWATCH_STOP);
    sigwatch_close();
}
END_TEST

START_TEST(sigwatch_a_child_that_ends_gives_child_and_no_stop)
{
    int fd = sigwatch_init();
    ck_assert_int_ge(fd, 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(0);
    ck_assert_int_eq(wait_readable(fd), 1);
    ck_assert_uint_eq(sigwatch_take(), SIGWATCH_CHILD);
    ck_assert_int_eq(sigwatch_stop_requested(), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, WNOHANG), pid); /* it really had ended */
    sigwatch_close();
}
END_TEST

START_TEST(sigwatch_reports_stop_and_child_together)
{
    int fd = sigwatch_init();
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(kill(getpid(), SIGCHLD), 0);
    ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
    ck_assert_int_eq(wait_readable(fd), 1);
    /* kill() to oneself delivers before it returns, but allow a slow delivery */
    unsigned bits = 0;
    for (int i = 0; i < 100 && bits != (SIGWATCH_STOP | SIGWATCH_CHILD); i++) {
        bits |= sigwatch_take();
        if (bits != (SIGWATCH_STOP | SIGWATCH_CHILD))
            wait_readable(fd);
    }
    ck_assert_uint_eq(bits, SIGWATCH_STOP | SIGWATCH_CHILD);
    sigwatch_close();
}
END_TEST

START_TEST(sigwatch_ignores_sigpipe_so_writes_fail_with_epipe)
{
    ck_assert_int_ge(sigwatch_init(), 0);
    ck_assert_ptr_eq(disposition(SIGPIPE), SIG_IGN);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    errno = 0;
    ssize_t n = write(sv[0], "x", 1); /* without SIG_IGN the process dies here */
    ck_assert_int_eq(n, -1);
    ck_assert_int_eq(errno, EPIPE);
    close(sv[0]);
    sigwatch_close();
}
END_TEST

START_TEST(sigwatch_loses_no_signal_and_keeps_errno_when_the_pipe_is_full)
{
    int fd = sigwatch_init();
    ck_assert_int_ge(fd, 0);
    /* The smallest pipe the kernel allows (one page), so filling it is quick. */
    ck_assert_int_gt(fcntl(fd, F_SETPIPE_SZ, 4096), 0);
    int capacity = fcntl(fd, F_GETPIPE_SZ);
    ck_assert_int_gt(capacity, 0);
    int queued = 0;
    for (int i = 0; i <= capacity; i++)
        ck_assert_int_eq(kill(getpid(), SIGCHLD), 0);
    ck_assert_int_eq(ioctl(fd, FIONREAD, &queued), 0);
    ck_assert_int_eq(queued, capacity); /* full: the last handler's write hit EAGAIN */

    /* This handler's write fails with EAGAIN; the interrupted code must not see it. */
    errno = EDOM;
    ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
    ck_assert_int_eq(errno, EDOM);

    ck_assert_int_ne(sigwatch_stop_requested(), 0);
    ck_assert_uint_eq(sigwatch_take(), SIGWATCH_STOP | SIGWATCH_CHILD);
    ck_assert_int_eq(ioctl(fd, FIONREAD, &queued), 0);
    ck_assert_int_eq(queued, 0);
    sigwatch_close();
}
END_TEST

START_TEST(sigwatch_close_restores_default_dispositions_and_closes_the_pipe)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGCHLD, SIGPIPE};
    for (size_t i = 0; i < 4; i++)
        set_disposition(sigs[i], SIG_DFL); /* whatever the runner set up */
    int fd = sigwatch_init();
    ck_assert_int_ge(fd, 0);
    for (size_t i = 0; i < 4; i++)
        ck_assert_ptr_ne(disposition(sigs[i]), SIG_DFL);
    sigwatch_close();
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(disposition(sigs[i]) == SIG_DFL, "signal %d not back to SIG_DFL", sigs[i]);
    ck_assert_int_eq(sigwatch_fd(), -1);
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
    ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(sigwatch_close_restores_a_previous_custom_handler)
{
    struct sigaction before;
    ck_assert_int_eq(sigaction(SIGINT, NULL, &before), 0);
    set_disposition(SIGINT, dummy_handler);
    ck_assert_int_ge(sigwatch_init(), 0);
    ck_assert_ptr_ne(disposition(SIGINT), dummy_handler);
    sigwatch_close();
    ck_assert_ptr_eq(disposition(SIGINT), dummy_handler);
    ck_assert_int_eq(sigaction(SIGINT, &before, NULL), 0);
}
END_TEST

START_TEST(sigwatch_init_works_again_after_close)
{
    int fd = sigwatch_init();
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
    ck_assert_int_eq(wait_readable(fd), 1);
    sigwatch_close();

    fd = sigwatch_init();
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(sigwatch_stop_requested(), 0); /* a fresh start */
    ck_assert_uint_eq(sigwatch_take(), 0);
    ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
    ck_assert_int_eq(wait_readable(fd), 1);
    ck_assert_uint_eq(sigwatch_take(), SIGWATCH_STOP);
    sigwatch_close();
}
END_TEST

/* ---- runner ---------------------------------------------------------------------- */

static Suite *common_suite(void)
{
    Suite *s = suite_create("common");

    TCase *tc = tcase_create("log");
    tcase_add_test(tc, log_progname_defaults_to_svrlab);
    tcase_add_test(tc, log_init_keeps_only_the_basename);
    tcase_add_test(tc, log_msg_prints_one_prefixed_line_and_keeps_errno);
    tcase_add_test(tc, log_sys_prints_call_args_and_strerror_and_keeps_errno);
    tcase_add_test(tc, log_keeps_errno_even_when_writing_to_stderr_fails);
    tcase_add_test(tc, log_msg_cuts_a_long_message_but_keeps_one_line);
    suite_add_tcase(s, tc);

    tc = tcase_create("net");
    tcase_add_test(tc, net_listen_on_port_0_reports_the_real_port);
    tcase_add_test(tc, net_listen_socket_is_cloexec_with_reuseaddr);
    tcase_add_test(tc, net_listen_on_a_busy_port_fails_with_eaddrinuse_and_logs_bind);
    tcase_add_test(tc, net_rejects_a_host_that_is_not_numeric_ipv4);
    tcase_add_test(tc, net_connect_to_a_closed_port_fails_with_econnrefused_and_logs_connect);
    tcase_add_test(tc, net_connect_gives_a_blocking_cloexec_connection_that_carries_data);
    tcase_add_test(tc, net_connect_completes_a_connect_interrupted_by_a_signal);
    tcase_add_test(tc, net_connect_reports_the_failure_of_an_interrupted_connect);
    tcase_add_test(tc, net_set_nonblock_sets_o_nonblock_and_keeps_other_flags);
    tcase_add_test(tc, net_set_nonblock_on_a_bad_fd_fails_with_ebadf_and_logs_fcntl);
    tcase_add_test(tc, net_set_nodelay_sets_tcp_nodelay);
    tcase_add_test(tc, net_set_nodelay_on_a_pipe_fails_with_enotsock);
    tcase_add_test(tc, net_announce_listening_prints_the_exact_line_and_flushes_it);
    suite_add_tcase(s, tc);

    tc = tcase_create("net_accept");
    tcase_add_checked_fixture(tc, NULL, accept_teardown);
    tcase_add_test(tc, net_listener_open_gives_a_nonblocking_cloexec_listener_and_close_is_idempotent);
    tcase_add_test(tc, net_listener_open_on_a_busy_port_fails_and_leaves_fd_minus_1);
    tcase_add_test(tc, net_accept_returns_a_cloexec_connection_blocking_unless_asked);
    tcase_add_test(tc, net_accept_with_nothing_pending_returns_none_and_says_nothing);
    tcase_add_test(tc, net_accept_treats_aborted_connections_and_network_errors_like_eagain);
    tcase_add_test(tc, net_accept_out_of_fds_or_memory_asks_for_a_pause_and_logs_once_per_shortage);
    tcase_add_test(tc, net_accept_out_of_fds_under_rlimit_nofile_pauses_and_logs_once_per_shortage);
    tcase_add_test(tc, net_accept_on_a_bad_fd_is_fatal_and_logs_accept_with_the_fd);
    tcase_add_test(tc, net_accept_wait_returns_a_pending_connection);
    tcase_add_test(tc, net_accept_wait_returns_woken_before_a_pending_connection);
    tcase_add_test(tc, net_accept_wait_leaves_the_listener_alone_for_pause_ms_after_a_shortage);
    tcase_add_test(tc, net_accept_wait_still_wakes_up_while_the_listener_rests);
    tcase_add_test(tc, net_accept_wait_on_a_closed_fd_is_fatal_instead_of_spinning);
    suite_add_tcase(s, tc);

    tc = tcase_create("timing");
    tcase_add_test(tc, timing_now_ns_never_goes_backwards);
    tcase_add_test(tc, timing_now_ns_advances_at_least_10ms_across_a_10ms_sleep);
    tcase_add_test(tc, timing_sort_orders_extreme_values_without_overflow);
    tcase_add_test(tc, timing_sort_orders_a_large_shuffled_array);
    tcase_add_test(tc, timing_sort_accepts_empty_and_single_arrays);
    tcase_add_test(tc, timing_percentile_is_nearest_rank_on_1_to_100);
    tcase_add_test(tc, timing_percentile_is_nearest_rank_on_ten_values);
    tcase_add_test(tc, timing_percentile_of_no_values_is_0);
    tcase_add_test(tc, timing_percentile_of_one_value_is_that_value);
    tcase_add_test(tc, timing_percentile_rank_is_not_moved_by_rounding_errors);
    tcase_add_test(tc, timing_percentile_clamps_p_outside_0_to_100);
    suite_add_tcase(s, tc);

    tc = tcase_create("args");
    tcase_add_test(tc, args_parse_long_accepts_whole_numbers_in_range);
    tcase_add_test(tc, args_parse_long_rejects_empty_and_junk_with_einval);
    tcase_add_test(tc, args_parse_long_rejects_overflow_and_out_of_range_with_erange);
    tcase_add_test(tc, args_number_returns_a_valid_value);
    tcase_add_test(tc, args_number_exits_2_naming_the_option_range_and_input);
    tcase_add_test(tc, args_seconds_returns_a_valid_value);
    tcase_add_test(tc, args_seconds_exits_2_naming_the_option_range_and_input);
    tcase_add_test(tc, args_port_accepts_0_to_65535);
    tcase_add_test(tc, args_port_exits_2_outside_0_to_65535);
    tcase_add_test(tc, args_ipc_key_accepts_positive_decimal_and_hex);
    tcase_add_test(tc, args_ipc_key_exits_2_on_zero_negative_junk_or_overflow);
    tcase_add_test(tc, args_bad_option_exits_2_with_one_line);
    tcase_add_test(tc, args_usage_error_keeps_control_characters_off_the_line);
    tcase_add_test(tc, args_ipv4_returns_a_numeric_address_as_given);
    tcase_add_test(tc, args_parse_listen_takes_addr_and_port_with_the_default_addr);
    tcase_add_test(tc, args_parse_listen_exits_2_with_one_line_on_bad_arguments);
    tcase_add_test(tc, args_parse_listen_help_prints_the_usage_and_exits_0);
    tcase_add_test(tc, args_parse_view_takes_key_once_and_interval_with_defaults);
    tcase_add_test(tc, args_parse_view_exits_2_with_one_line_on_bad_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("sigwatch");
    tcase_add_checked_fixture(tc, NULL, sigwatch_teardown);
    tcase_add_test(tc, sigwatch_init_returns_a_nonblocking_cloexec_pipe);
    tcase_add_test(tc, sigwatch_handlers_use_sa_restart);
    tcase_add_test(tc, sigwatch_take_returns_0_at_once_when_nothing_is_pending);
    tcase_add_test(tc, sigwatch_sigterm_makes_the_fd_readable_and_take_return_stop);
    tcase_add_test(tc, sigwatch_sigint_requests_stop);
    tcase_add_test(tc, sigwatch_a_child_that_ends_gives_child_and_no_stop);
    tcase_add_test(tc, sigwatch_reports_stop_and_child_together);
    tcase_add_test(tc, sigwatch_ignores_sigpipe_so_writes_fail_with_epipe);
    tcase_add_test(tc, sigwatch_loses_no_signal_and_keeps_errno_when_the_pipe_is_full);
    tcase_add_test(tc, sigwatch_close_restores_default_dispositions_and_closes_the_pipe);
    tcase_add_test(tc, sigwatch_close_restores_a_previous_custom_handler);
    tcase_add_test(tc, sigwatch_init_works_again_after_close);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    snprintf(initial_progname, sizeof initial_progname, "%s", log_progname());
    SRunner *sr = srunner_create(common_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
