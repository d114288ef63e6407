/*
 * test_rio.c: unit tests of ex1.1, the robust I/O helpers rio_write_all and rio_read_exact.
 *
 * Each test calls the student's function directly on a pipe or a socketpair whose other end
 * is played by the test: already filled, closed, or a forked helper that trickles bytes one
 * at a time, reads slowly from a tiny socket buffer, and sends signals (without SA_RESTART,
 * so the calls under test see EINTR) while the function under test is blocked.
 *
 * Helpers are forked children that never touch Check: they report through their exit status
 * or a result pipe, leave with _exit, and die with the test process (PR_SET_PDEATHSIG).
 */
#include "gt.h"
#include "rio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------- */

static void make_socketpair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
        gt_fail("socketpair(AF_UNIX, SOCK_STREAM): %s", strerror(errno));
}

static void stop_helper(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
}

/* Index of the first byte where got differs from want, or -1. */
static long first_diff(const unsigned char *want, const unsigned char *got, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (want[i] != got[i])
            return (long)i;
    return -1;
}

static void expect_same(const char *call, const unsigned char *want, const unsigned char *got,
                        size_t len)
{
    long i = first_diff(want, got, len);
    if (i >= 0)
        gt_fail("%s: byte %ld of the buffer is wrong: expected 0x%02x, got 0x%02x (bytes lost, "
                "repeated or reordered?)",
                call, i, want[i], got[i]);
}

/* The result of a call under test: checks common to all tests. */
static void expect_count(const char *call, ssize_t ret, int err, size_t want)
{
    if (ret == -1) {
        errno = err;
        gt_fail_if_not_implemented(call);
        gt_fail("%s returned -1 (errno %d, %s), expected %zu%s", call, err, strerror(err), want,
                err == EINTR ? ": a call interrupted by a signal (EINTR) must be retried" : "");
    }
    if ((size_t)ret != want)
        gt_fail("%s returned %zd, expected %zu", call, ret, want);
}

/* A signal handler that only counts, installed without or with SA_RESTART. */
static volatile sig_atomic_t signals_seen;

static void count_signal(int sig)
{
    (void)sig;
    signals_seen++;
}

static void catch_sigusr1(int flags, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_signal;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    signals_seen = 0;
    if (sigaction(SIGUSR1, &sa, old) == -1)
        gt_fail("sigaction(SIGUSR1): %s", strerror(errno));
}

/* ---- ex1.1: reading ------------------------------------------------------------------ */

GT_TEST(rio_read_exact_buffered_data, 10)
{
    unsigned char want[150], got[100], rest[50];
    int p[2];

    gt_fill_pattern(want, sizeof want, 11);
    gt_pipe(p);
    if (write(p[1], want, sizeof want) != (ssize_t)sizeof want)
        gt_fail("write() into the test pipe: %s", strerror(errno));

    ssize_t r = rio_read_exact(p[0], got, sizeof got);
    expect_count("rio_read_exact(pipe holding 150 bytes, len=100)", r, errno, sizeof got);
    expect_same("rio_read_exact(pipe holding 150 bytes, len=100)", want, got, sizeof got);

    /* exactly 100: the other 50 must still be in the pipe */
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    ssize_t n = read(p[0], rest, sizeof rest);
    if (n != (ssize_t)sizeof rest || first_diff(want + 100, rest, sizeof rest) >= 0)
        gt_fail("rio_read_exact(len=100) on a pipe holding 150 bytes consumed more than 100: "
                "only %zd of the other 50 were left",
                n < 0 ? (ssize_t)0 : n);
    close(p[0]);
    close(p[1]);
}

GT_TEST(rio_read_exact_one_byte_at_a_time, 20)
{
    enum { LEN = 200 };
    unsigned char want[LEN], got[LEN];
    int sv[2];

    gt_fill_pattern(want, LEN, 12);
    make_socketpair(sv);
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        /* the peer: one byte per write, with a pause, so every read sees a short count */
        close(sv[0]);
        for (int i = 0; i < LEN; i++) {
            if (gt_send_all(sv[1], want + i, 1) == -1)
                _exit(1);
            gt_sleep(500e-6);
        }
        char c;
        while (read(sv[1], &c, 1) > 0) /* until the test closes its end */
            ;
        _exit(0);
    }
    close(sv[1]);
    memset(got, 0, sizeof got);
    ssize_t r = rio_read_exact(sv[0], got, LEN);
    int err = errno;
    close(sv[0]);
    stop_helper(pid);

    expect_count("rio_read_exact(len=200) from a peer sending one byte per write", r, err, LEN);
    expect_same("rio_read_exact(len=200) from a peer sending one byte per write", want, got, LEN);
}

/*
 * More arrives than is still wanted: 60 bytes first, and only once they are read (the pipe is
 * empty again), 100 more. rio_read_exact(len=100) must ask its second read for the 40 it
 * still needs: asking for len again writes past the end of the caller's buffer.
 */
GT_TEST(rio_read_exact_never_past_len, 20)
{
    enum { FIRST = 60, SECOND = 100, LEN = 100 };
    unsigned char want[FIRST + SECOND];
    struct {
        unsigned char buf[LEN];
        unsigned char guard[SECOND]; /* right after buf: what an overrun would write */
    } got;
    int p[2];

    gt_fill_pattern(want, sizeof want, 13);
    gt_pipe(p);
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        close(p[0]);
        if (write(p[1], want, FIRST) != FIRST)
            _exit(1);
        int left = 1;
        while (ioctl(p[1], FIONREAD, &left) == 0 && left > 0) /* until the test read them */
            gt_sleep(0.001);
        if (write(p[1], want + FIRST, SECOND) != SECOND)
            _exit(1);
        pause();
        _exit(0);
    }
    close(p[1]);
    memset(&got, 0xA5, sizeof got);
    ssize_t r = rio_read_exact(p[0], got.buf, LEN);
    int err = errno;
    stop_helper(pid);

    const char *call = "rio_read_exact(len=100) when 60 bytes arrive, then 100 more";
    for (size_t i = 0; i < sizeof got.guard; i++)
        if (got.guard[i] != 0xA5)
            gt_fail("%s wrote past the end of the buffer (byte %zu after it changed): the second "
                    "read must ask for the 40 bytes still missing, not for len again",
                    call, i);
    expect_count(call, r, err, LEN);
    expect_same(call, want, got.buf, LEN);
    close(p[0]);
}

GT_TEST(rio_read_exact_eintr, 20)
{
    enum { CHUNKS = 20, CHUNK = 50, LEN = CHUNKS * CHUNK };
    unsigned char want[LEN], got[LEN];
    int sv[2];
    struct sigaction old;

    gt_fill_pattern(want, LEN, 13);
    make_socketpair(sv);
    catch_sigusr1(0, &old); /* no SA_RESTART: a blocked read() fails with EINTR */
    pid_t test_pid = getpid();
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        /* signal the reader while it waits for data, then send the next chunk */
        close(sv[0]);
        for (int i = 0; i < CHUNKS; i++) {
            for (int k = 0; k < 2; k++) {
                kill(test_pid, SIGUSR1);
                gt_sleep(1000e-6);
            }
            if (gt_send_all(sv[1], want + i * CHUNK, CHUNK) == -1)
                _exit(1);
        }
        char c;
        while (read(sv[1], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(sv[1]);
    memset(got, 0, sizeof got);
    ssize_t r = rio_read_exact(sv[0], got, LEN);
    int err = errno;
    close(sv[0]);
    stop_helper(pid);
    sigaction(SIGUSR1, &old, NULL);

    expect_count("rio_read_exact(len=1000) while signals (no SA_RESTART) interrupt its reads", r,
                 err, LEN);
    expect_same("rio_read_exact(len=1000) while signals interrupt its reads", want, got, LEN);
}

GT_TEST(rio_read_exact_eof_mid_message, 20)
{
    enum { SENT = 100, ASKED = 300 };
    unsigned char want[SENT], got[ASKED];
    int sv[2];

    gt_fill_pattern(want, SENT, 14);
    make_socketpair(sv);
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        /* 100 bytes in four pieces, then close: end of file after 100 of 300 */
        close(sv[0]);
        for (int i = 0; i < 4; i++) {
            if (gt_send_all(sv[1], want + i * 25, 25) == -1)
                _exit(1);
            gt_sleep(2000e-6);
        }
        close(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    memset(got, 0, sizeof got);
    ssize_t r = rio_read_exact(sv[0], got, ASKED);
    int err = errno;
    close(sv[0]);
    stop_helper(pid);

    expect_count("rio_read_exact(len=300) from a peer that sends 100 bytes and closes", r, err,
                 SENT);
    expect_same("rio_read_exact(len=300) from a peer that sends 100 bytes and closes", want, got,
                SENT);
}

GT_TEST(rio_read_exact_eof_at_once, 10)
{
    unsigned char got[64];
    int sv[2];

    make_socketpair(sv);
    close(sv[1]);
    ssize_t r = rio_read_exact(sv[0], got, sizeof got);
    int err = errno;
    close(sv[0]);
    expect_count("rio_read_exact(len=64) from a peer that closed without sending", r, err, 0);
}

GT_TEST(rio_read_exact_len_zero, 10)
{
    unsigned char buf[8] = {0}, c = 0x5a;
    int p[2];

    gt_pipe(p);
    if (write(p[1], &c, 1) != 1)
        gt_fail("write() into the test pipe: %s", strerror(errno));
    ssize_t r = rio_read_exact(p[0], buf, 0);
    expect_count("rio_read_exact(len=0)", r, errno, 0);

    fcntl(p[0], F_SETFL, O_NONBLOCK);
    if (read(p[0], buf, sizeof buf) != 1 || buf[0] != c)
        gt_fail("rio_read_exact(len=0) consumed a byte from the pipe: len 0 must read nothing");
    close(p[0]);
    close(p[1]);
}

GT_TEST(rio_read_exact_bad_fd_ebadf, 10)
{
    unsigned char buf[16];
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        gt_fail("open(/dev/null): %s", strerror(errno));
    close(fd); /* fd is now a closed descriptor */

    errno = 0;
    ssize_t r = rio_read_exact(fd, buf, sizeof buf);
    int err = errno;
    if (r == -1) {
        errno = err;
        gt_fail_if_not_implemented("rio_read_exact");
    }
    if (r != -1 || err != EBADF)
        gt_fail("rio_read_exact(closed fd, len=16) returned %zd with errno %d (%s), expected -1 "
                "with errno EBADF (the error of the read() that failed)",
                r, err, strerror(err));
}

/* ---- ex1.1: writing ------------------------------------------------------------------ */

GT_TEST(rio_write_all_small_buffer, 10)
{
    unsigned char want[100], got[200];
    int p[2];

    gt_fill_pattern(want, sizeof want, 21);
    gt_pipe(p);
    ssize_t r = rio_write_all(p[1], want, sizeof want);
    expect_count("rio_write_all(pipe, 100 bytes)", r, errno, sizeof want);

    fcntl(p[0], F_SETFL, O_NONBLOCK);
    ssize_t n = read(p[0], got, sizeof got);
    if (n != (ssize_t)sizeof want)
        gt_fail("rio_write_all(pipe, 100 bytes) returned 100 but the pipe holds %zd bytes",
                n < 0 ? (ssize_t)0 : n);
    expect_same("rio_write_all(pipe, 100 bytes)", want, got, sizeof want);
    close(p[0]);
    close(p[1]);
}

/* What the slow reader of write_against_slow_reader saw. */
struct reader_report {
    uint64_t received;
    int64_t bad_offset; /* -1 when every byte was right */
    unsigned char want, got;
};

static unsigned char big[256 * 1024];

/*
 * rio_write_all of 256 KiB into a socket with a tiny send buffer, while a helper reads it
 * back slowly (2 KiB at a time) and sends the writer SIGUSR1 twice before each read: the
 * first signal cuts a blocked write() short after some bytes (a short count), the second
 * hits a write() that has moved nothing yet (EINTR, unless SA_RESTART restarts it).
 */
static void write_against_slow_reader(int sa_flags, const char *call)
{
    int sv[2], rp[2];
    struct sigaction old;
    struct reader_report rep;

    gt_fill_pattern(big, sizeof big, sa_flags ? 22 : 23);
    make_socketpair(sv);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    gt_pipe(rp);
    catch_sigusr1(sa_flags, &old);
    pid_t test_pid = getpid();
    pid_t pid = gt_fork_helper();
    if (pid == 0) {
        unsigned char buf[2048];
        close(sv[0]);
        close(rp[0]);
        memset(&rep, 0, sizeof rep);
        rep.bad_offset = -1;
        for (;;) {
            for (int k = 0; k < 2; k++) {
                kill(test_pid, SIGUSR1);
                gt_sleep(300e-6);
            }
            ssize_t n = read(sv[1], buf, sizeof buf);
            if (n == -1 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            for (ssize_t i = 0; i < n && rep.bad_offset < 0; i++) {
                size_t at = rep.received + (size_t)i;
                if (at >= sizeof big || buf[i] != big[at]) {
                    rep.bad_offset = (int64_t)at;
                    rep.want = at < sizeof big ? big[at] : 0;
                    rep.got = buf[i];
                }
            }
            rep.received += (uint64_t)n;
        }
        if (write(rp[1], &rep, sizeof rep) != (ssize_t)sizeof rep)
            _exit(1);
        _exit(0);
    }
    close(sv[1]);
    close(rp[1]);

    ssize_t r = rio_write_all(sv[0], big, sizeof big);
    int err = errno;
    close(sv[0]); /* end of file for the reader, which then reports */

    /* the report, within a bounded time (signals may interrupt poll and read) */
    ssize_t got = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double limit = 10.0 * gt_time_scale();
    while (got < (ssize_t)sizeof rep) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double left =
            limit - ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        if (left <= 0)
            break;
        struct pollfd pf = {.fd = rp[0], .events = POLLIN};
        if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        ssize_t n = read(rp[0], (char *)&rep + got, sizeof rep - (size_t)got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += n;
    }
    close(rp[0]);
    stop_helper(pid);
    sigaction(SIGUSR1, &old, NULL);

    expect_count(call, r, err, sizeof big);
    if (got != (ssize_t)sizeof rep)
        gt_fail("%s returned 262144, but the reader at the other end did not finish reading "
                "within %.0f s",
                call, limit);
    if (rep.bad_offset >= 0)
        gt_fail("%s: the reader got a wrong byte at offset %lld: expected 0x%02x, got 0x%02x "
                "(after a short write, continue from where it stopped)",
                call, (long long)rep.bad_offset, rep.want, rep.got);
    if (rep.received != sizeof big)
        gt_fail("%s returned 262144, but the reader received %llu bytes", call,
                (unsigned long long)rep.received);
}

GT_TEST(rio_write_all_short_writes, 30)
{
    /* SA_RESTART: no EINTR, only writes cut short after some bytes */
    write_against_slow_reader(SA_RESTART, "rio_write_all(256 KiB) into a tiny socket buffer "
                                          "drained slowly (short writes)");
}

GT_TEST(rio_write_all_eintr, 30)
{
    write_against_slow_reader(0, "rio_write_all(256 KiB) while signals (no SA_RESTART) "
                                 "interrupt its writes");
}

GT_TEST(rio_write_all_len_zero, 10)
{
    unsigned char buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int p[2];

    gt_pipe(p);
    ssize_t r = rio_write_all(p[1], buf, 0);
    expect_count("rio_write_all(len=0)", r, errno, 0);

    fcntl(p[0], F_SETFL, O_NONBLOCK);
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n > 0)
        gt_fail("rio_write_all(len=0) wrote %zd bytes: len 0 must write nothing", n);
    close(p[0]);
    close(p[1]);
}

GT_TEST(rio_write_all_closed_peer_epipe, 10)
{
    unsigned char buf[100];
    int sv[2];
    struct sigaction ign, old;

    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old); /* as every program of the lab does */
    gt_fill_pattern(buf, sizeof buf, 24);
    make_socketpair(sv);
    close(sv[1]);

    errno = 0;
    ssize_t r = rio_write_all(sv[0], buf, sizeof buf);
    int err = errno;
    close(sv[0]);
    sigaction(SIGPIPE, &old, NULL);
    if (r == -1) {
        errno = err;
        gt_fail_if_not_implemented("rio_write_all");
    }
    if (r != -1 || err != EPIPE)
        gt_fail("rio_write_all(100 bytes) to a socket whose peer has closed (SIGPIPE ignored) "
                "returned %zd with errno %d (%s), expected -1 with errno EPIPE",
                r, err, strerror(err));
}
