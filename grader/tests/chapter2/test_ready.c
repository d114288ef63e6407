/*
 * test_ready.c: unit tests of ex2.1, ready_select, ready_poll and ready_epoll.
 *
 * Each test calls the student's function directly on a pipe or a socketpair that the test
 * prepares: holding a byte, empty, closed at the other end, moved to a descriptor number at
 * or above FD_SETSIZE, or filled by a forked helper a little later. In the EINTR tests a
 * helper keeps sending SIGUSR1 (caught without SA_RESTART, so the wait fails with EINTR) for
 * as long as the wait lasts. Times are measured on CLOCK_MONOTONIC and only ever checked
 * from below ("not before the timeout"): a slow machine can not fail a test.
 *
 * The three functions share one contract (ready.h), so each check is written once and run
 * for each mechanism by a GT_TEST of its own.
 */
#include "gt.h"
#include "ready.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct mech {
    const char *name; /* "ready_select" */
    int (*fn)(int fd, int timeout_ms);
};

static const struct mech m_select = {"ready_select", ready_select};
static const struct mech m_poll = {"ready_poll", ready_poll};
static const struct mech m_epoll = {"ready_epoll", ready_epoll};

/* ---- helpers ------------------------------------------------------------------------- */

static void put_byte(int fd)
{
    char c = 'x';
    if (write(fd, &c, 1) != 1)
        gt_fail("write() of one byte into the test pipe: %s", strerror(errno));
}

static int reap(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
        ;
    return st;
}

static const char *meaning(int r)
{
    return r == 1 ? "readable" : r == 0 ? "timed out" : "error";
}

/* The call returned r (errno err); it should have returned want (1 or 0). */
static void expect_result(const char *call, int r, int err, int want, const char *why)
{
    if (r == -1) {
        errno = err;
        gt_fail_if_not_implemented(call);
        gt_fail("%s returned -1 with errno %d (%s), expected %d (%s)%s%s", call, err,
                strerror(err), want, meaning(want), why[0] ? ": " : "", why);
    }
    if (r != want)
        gt_fail("%s returned %d (%s), expected %d (%s)%s%s", call, r,
                r == 0 || r == 1 ? meaning(r) : "not 1, 0 or -1", want, meaning(want),
                why[0] ? ": " : "", why);
}

/* The call returned r (errno err); it should have failed with errno want_err. */
static void expect_error(const char *call, int r, int err, int want_err, const char *why)
{
    if (r == -1 && err == ENOSYS) {
        errno = err;
        gt_fail_if_not_implemented(call);
    }
    if (r != -1)
        gt_fail("%s returned %d (%s), expected -1 with errno %s%s%s", call, r, meaning(r),
                want_err == EBADF ? "EBADF" : "EINVAL", why[0] ? ": " : "", why);
    if (err != want_err)
        gt_fail("%s returned -1 with errno %d (%s), expected errno %s (%s)%s%s", call, err,
                strerror(err), want_err == EBADF ? "EBADF" : "EINVAL", strerror(want_err),
                why[0] ? ": " : "", why);
}

/* fd must still be open, and still hold the one byte the test put there. */
static void expect_untouched(const char *call, int fd, int has_byte)
{
    if (fcntl(fd, F_GETFD) == -1)
        gt_fail("after %s, descriptor %d is no longer open: the function must never close "
                "the caller's descriptor",
                call, fd);
    if (!has_byte)
        return;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    char c = 0;
    ssize_t n = read(fd, &c, 1);
    fcntl(fd, F_SETFL, fl);
    if (n != 1 || c != 'x')
        gt_fail("after %s, the byte that was waiting in the pipe is gone: the function must "
                "only look, never read",
                call);
}

/* Make descriptor numbers up to target usable: raise the soft RLIMIT_NOFILE (never above
 * the hard one). Skips the test when the hard limit is too low. */
static void need_fd_number(int target)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        gt_fail("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= (rlim_t)target) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max <= (rlim_t)target)
            gt_skip("this test needs descriptor number %d, but the limit on open descriptors "
                    "is %llu here (RLIMIT_NOFILE%s); run 'ulimit -n 4096' before grading",
                    target, (unsigned long long)rl.rlim_max,
                    gt_memcheck() ? ", as valgrind sees it" : ", hard limit");
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? (rlim_t)target + 64 : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            gt_skip("this test needs descriptor number %d, and raising RLIMIT_NOFILE failed: "
                    "%s; run 'ulimit -n 4096' before grading",
                    target, strerror(errno));
    }
}

/* A pipe whose read end is moved to descriptor number target (holding a byte if asked).
 * p[1] stays the write end. */
static void pipe_at(int p[2], int target, int with_byte)
{
    need_fd_number(target);
    gt_pipe(p);
    if (with_byte)
        put_byte(p[1]);
    if (dup3(p[0], target, O_CLOEXEC) == -1)
        gt_fail("dup2(pipe, %d): %s", target, strerror(errno));
    close(p[0]);
    p[0] = target;
}

/* ---- the checks, one per behaviour ---------------------------------------------------- */

static void check_data_waiting(const struct mech *m)
{
    int p[2];
    char call[128];

    gt_pipe(p);
    put_byte(p[1]);
    snprintf(call, sizeof call, "%s(pipe holding 1 byte, timeout 0)", m->name);
    int r = m->fn(p[0], 0);
    expect_result(call, r, errno, 1,
                  "data is waiting, and timeout 0 means look once and answer at once");
    expect_untouched(call, p[0], 1);
    close(p[0]);
    close(p[1]);
}

static void check_becomes_readable(const struct mech *m)
{
    int p[2];
    char call[160];

    gt_pipe(p);
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        gt_sleep(100e-3);
        char c = 'x';
        _exit(write(p[1], &c, 1) == 1 ? 0 : 1);
    }
    double limit = 20.0 * gt_time_scale();
    snprintf(call, sizeof call, "%s(empty pipe, timeout %.0f ms), a byte written 100 ms later",
             m->name, limit * 1000);
    int r = m->fn(p[0], (int)(limit * 1000));
    int err = errno;
    reap(pid);
    expect_result(call, r, err, 1, "the byte arrived while it waited");
    expect_untouched(call, p[0], 1);
    close(p[0]);
    close(p[1]);
}

static void check_timeout(const struct mech *m)
{
    enum { TIMEOUT_MS = 300 };
    int p[2];
    char call[128];

    gt_pipe(p); /* empty, and its writer stays open: nothing will ever be readable */
    snprintf(call, sizeof call, "%s(empty pipe, timeout %d ms)", m->name, TIMEOUT_MS);
    double t0 = gt_now();
    int r = m->fn(p[0], TIMEOUT_MS);
    int err = errno;
    double ms = (gt_now() - t0) * 1000;
    expect_result(call, r, err, 0, "nothing was ever written");
    /* 1 ms of slack for the clocks' granularity; never an upper bound */
    if (ms < TIMEOUT_MS - 1)
        gt_fail("%s returned 0 after %.1f ms, before the timeout: 0 means the whole timeout "
                "went by",
                call, ms);
    expect_untouched(call, p[0], 0);
    close(p[0]);
    close(p[1]);
}

static volatile sig_atomic_t signals_seen;

static void count_signal(int sig)
{
    (void)sig;
    signals_seen++;
}

/*
 * A helper sends SIGUSR1 every 20 ms (no SA_RESTART: each one makes the wait fail with
 * EINTR) until the test tells it to stop, or until `limit` seconds have passed. A function
 * that waits a fresh timeout after each EINTR never sees 400 quiet milliseconds, so it
 * returns only once the helper gives up; one that waits for the time left returns after
 * about 400 ms while the signals still come.
 */
static void check_eintr(const struct mech *m)
{
    enum { TIMEOUT_MS = 400, EVERY_MS = 20, GAVE_UP = 3 };
    int p[2], stop[2];
    char call[160];
    struct sigaction sa, old;

    gt_pipe(p);
    gt_pipe(stop);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_signal;
    sa.sa_flags = 0; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    signals_seen = 0;
    if (sigaction(SIGUSR1, &sa, &old) == -1)
        gt_fail("sigaction(SIGUSR1): %s", strerror(errno));

    double limit = 5.0 * gt_time_scale();
    pid_t test_pid = getpid();
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        close(stop[1]);
        double end = gt_now() + limit;
        for (;;) {
            struct pollfd pf = {.fd = stop[0], .events = POLLIN};
            if (poll(&pf, 1, EVERY_MS) != 0)
                _exit(0); /* told to stop (the write end closed) */
            if (gt_now() > end)
                _exit(GAVE_UP);
            kill(test_pid, SIGUSR1);
        }
    }
    close(stop[0]);
    gt_sleep(50e-3); /* let the signals start */

    snprintf(call, sizeof call, "%s(empty pipe, timeout %d ms) while SIGUSR1 arrives every %d ms",
             m->name, TIMEOUT_MS, EVERY_MS);
    sig_atomic_t before = signals_seen;
    double t0 = gt_now();
    int r = m->fn(p[0], TIMEOUT_MS);
    int err = errno;
    double ms = (gt_now() - t0) * 1000;
    int during = (int)(signals_seen - before);

    close(stop[1]);
    int st = reap(pid);
    sigaction(SIGUSR1, &old, NULL);
    close(p[0]);
    close(p[1]);

    if (r == -1 && err == EINTR)
        gt_fail("%s returned -1 with errno EINTR after %.1f ms: a signal interrupted the wait; "
                "wait again, for the time left until the deadline",
                call, ms);
    expect_result(call, r, err, 0, "the pipe stays empty");
    if (ms < TIMEOUT_MS - 1)
        gt_fail("%s returned 0 after %.1f ms, before the timeout: after EINTR, wait again for "
                "the time that is left",
                call, ms);
    if (during == 0)
        gt_fail("no signal arrived during the %.0f ms the call took, so EINTR was not tested "
                "(is the machine overloaded? try again)",
                ms);
    if (WIFEXITED(st) && WEXITSTATUS(st) == GAVE_UP)
        gt_fail("%s returned only after %.1f s, once the signals had stopped (%d arrived "
                "during the call): after each EINTR it waited a whole new timeout; wait only "
                "for the time left until the deadline fixed at the start",
                call, ms / 1000, during);
}

static void check_peer_closed(const struct mech *m)
{
    int p[2], sv[2];
    char call[160];
    int limit_ms = (int)(5000 * gt_time_scale());

    gt_pipe(p);
    close(p[1]);
    snprintf(call, sizeof call, "%s(pipe whose write end is closed, timeout %d ms)", m->name,
             limit_ms);
    int r = m->fn(p[0], limit_ms);
    int err = errno;
    close(p[0]);
    expect_result(call, r, err, 1,
                  "end of file counts as readable, since read() returns 0 at once (for a pipe, "
                  "poll and epoll report it as a hang-up, POLLHUP / EPOLLHUP, not as POLLIN)");

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
        gt_fail("socketpair(AF_UNIX, SOCK_STREAM): %s", strerror(errno));
    close(sv[1]);
    snprintf(call, sizeof call, "%s(socket whose peer has closed, timeout %d ms)", m->name,
             limit_ms);
    r = m->fn(sv[0], limit_ms);
    err = errno;
    close(sv[0]);
    expect_result(call, r, err, 1, "end of file counts as readable, since read() returns 0 at once");
}

static void check_bad_fd(const struct mech *m)
{
    char call[128];
    int p[2];

    snprintf(call, sizeof call, "%s(fd -1, timeout 200 ms)", m->name);
    errno = 0;
    int r = m->fn(-1, 200);
    expect_error(call, r, errno, EBADF,
                 "a negative descriptor is not open (poll would silently skip it and just "
                 "sleep; FD_SET would write before the fd_set)");

    gt_pipe(p);
    close(p[1]);
    close(p[0]); /* p[0] is now a descriptor number that is not open */
    snprintf(call, sizeof call, "%s(fd %d, just closed, timeout 200 ms)", m->name, p[0]);
    errno = 0;
    r = m->fn(p[0], 200);
    expect_error(call, r, errno, EBADF,
                 "the descriptor is not open (poll reports that as POLLNVAL in revents, not as "
                 "an error)");
}

static void check_fd_above_setsize(const struct mech *m)
{
    enum { FD = FD_SETSIZE + 476 }; /* 1500 */
    int p[2];
    char call[128];

    pipe_at(p, FD, 1);
    snprintf(call, sizeof call, "%s(fd %d, holding 1 byte, timeout 1000 ms)", m->name, FD);
    int r = m->fn(p[0], 1000);
    expect_result(call, r, errno, 1,
                  "FD_SETSIZE limits select only; poll and epoll take any descriptor");
    expect_untouched(call, p[0], 1);
    close(p[0]);
    close(p[1]);
}

/* ---- ready_select ---------------------------------------------------------------------- */

GT_TEST(ready_select_data_waiting, 10)
{
    check_data_waiting(&m_select);
}

GT_TEST(ready_select_becomes_readable, 30)
{
    check_becomes_readable(&m_select);
}

GT_TEST(ready_select_timeout, 10)
{
    check_timeout(&m_select);
}

GT_TEST(ready_select_eintr_waits_for_the_rest, 20)
{
    check_eintr(&m_select);
}

GT_TEST(ready_select_peer_closed_is_readable, 20)
{
    check_peer_closed(&m_select);
}

GT_TEST(ready_select_bad_fd_ebadf, 10)
{
    check_bad_fd(&m_select);
}

GT_TEST(ready_select_fd_setsize_einval, 10)
{
    int p[2];
    char call[128];

    /* exactly FD_SETSIZE: the first descriptor an fd_set can not hold */
    pipe_at(p, FD_SETSIZE, 1);
    snprintf(call, sizeof call, "ready_select(fd %d = FD_SETSIZE, holding 1 byte, timeout 1000 ms)",
             FD_SETSIZE);
    errno = 0;
    int r = ready_select(p[0], 1000);
    expect_error(call, r, errno, EINVAL,
                 "an fd_set has room for descriptors 0 to FD_SETSIZE - 1 only; FD_SET on a "
                 "larger one writes past its end (check fd before FD_SET)");
    expect_untouched(call, p[0], 1);
    close(p[0]);
    close(p[1]);
}

GT_TEST(ready_select_fd_below_setsize, 10)
{
    int p[2];
    char call[128];

    /* FD_SETSIZE - 1: the last descriptor select can watch, which must still work */
    pipe_at(p, FD_SETSIZE - 1, 1);
    snprintf(call, sizeof call, "ready_select(fd %d = FD_SETSIZE - 1, holding 1 byte, timeout "
                                "1000 ms)",
             FD_SETSIZE - 1);
    int r = ready_select(p[0], 1000);
    expect_result(call, r, errno, 1, "select can watch every descriptor below FD_SETSIZE");
    expect_untouched(call, p[0], 1);
    close(p[0]);
    close(p[1]);
}

/* ---- ready_poll ------------------------------------------------------------------------ */

GT_TEST(ready_poll_data_waiting, 10)
{
    check_data_waiting(&m_poll);
}

GT_TEST(ready_poll_becomes_readable, 30)
{
    check_becomes_readable(&m_poll);
}

GT_TEST(ready_poll_timeout, 10)
{
    check_timeout(&m_poll);
}

GT_TEST(ready_poll_eintr_waits_for_the_rest, 20)
{
    check_eintr(&m_poll);
}

GT_TEST(ready_poll_peer_closed_is_readable, 20)
{
    check_peer_closed(&m_poll);
}

GT_TEST(ready_poll_bad_fd_ebadf, 10)
{
    check_bad_fd(&m_poll);
}

GT_TEST(ready_poll_fd_above_setsize, 10)
{
    check_fd_above_setsize(&m_poll);
}

/* ---- ready_epoll ----------------------------------------------------------------------- */

GT_TEST(ready_epoll_data_waiting, 10)
{
    check_data_waiting(&m_epoll);
}

GT_TEST(ready_epoll_becomes_readable, 30)
{
    check_becomes_readable(&m_epoll);
}

GT_TEST(ready_epoll_timeout, 10)
{
    check_timeout(&m_epoll);
}

GT_TEST(ready_epoll_eintr_waits_for_the_rest, 20)
{
    check_eintr(&m_epoll);
}

GT_TEST(ready_epoll_peer_closed_is_readable, 20)
{
    check_peer_closed(&m_epoll);
}

GT_TEST(ready_epoll_bad_fd_ebadf, 10)
{
    check_bad_fd(&m_epoll);
}

GT_TEST(ready_epoll_fd_above_setsize, 10)
{
    check_fd_above_setsize(&m_epoll);
}

/* Open descriptors of this process (the directory's own descriptor counts every time). */
static int count_open_fds(void)
{
    int n = gt_count_fds(getpid());
    if (n == -1)
        gt_fail("opendir(/proc/self/fd): %s", strerror(errno));
    return n;
}

/* ROUNDS calls of ready_epoll(fd, 0) must return want (-1: any error but ENOSYS) and leave
 * no descriptor open behind them. */
static void epoll_calls_leave_nothing(int fd, const char *what, int want)
{
    enum { ROUNDS = 50 };
    char call[128];
    snprintf(call, sizeof call, "ready_epoll(%s, timeout 0)", what);
    int before = count_open_fds();
    for (int i = 0; i < ROUNDS; i++) {
        errno = 0;
        int r = ready_epoll(fd, 0);
        int err = errno;
        if (want == -1 && r != -1)
            gt_fail("%s returned %d, expected -1 (epoll can not watch /dev/null: epoll_ctl "
                    "fails with EPERM)",
                    call, r);
        if (want == -1 && err == ENOSYS) {
            errno = err;
            gt_fail_if_not_implemented(call);
        }
        if (want != -1 && r != want)
            expect_result(call, r, err, want, "");
    }
    int after = count_open_fds();
    if (after != before)
        gt_fail("%d calls of %s left %d more descriptors open than before: close the epoll "
                "instance on every path, errors and timeouts included",
                ROUNDS, call, after - before);
}

GT_TEST(ready_epoll_no_fd_leak, 20)
{
    int full[2], empty[2];

    gt_pipe(full);
    put_byte(full[1]);
    gt_pipe(empty);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd == -1)
        gt_fail("open(/dev/null): %s", strerror(errno));
    epoll_calls_leave_nothing(full[0], "pipe holding 1 byte", 1);
    epoll_calls_leave_nothing(empty[0], "empty pipe", 0);
    epoll_calls_leave_nothing(null_fd, "/dev/null", -1);
    close(null_fd);
    close(full[0]);
    close(full[1]);
    close(empty[0]);
    close(empty[1]);
}
