/*
 * sigwatch: SIGINT, SIGTERM and SIGCHLD turned into bytes on a non-blocking pipe
 * (the "self-pipe trick"), so an event loop sees signals as just another readable fd.
 *
 * The handler only touches async-signal-safe things: write(2), a volatile sig_atomic_t
 * and a lock-free atomic. The byte wakes the loop; the atomic bit set carries what
 * arrived, so nothing is lost even when the pipe is full and the byte is dropped.
 */
#include "sigwatch.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* A lock-based atomic could deadlock when the handler interrupts its own thread. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "sigwatch needs a lock-free atomic unsigned");

static int pipe_rd = -1;
static int pipe_wr = -1;
static volatile sig_atomic_t stop_flag;
static atomic_uint pending;

/* The signals we take over, and what they were before, for sigwatch_close. */
static const int watched[] = {SIGINT, SIGTERM, SIGCHLD, SIGPIPE};
static const char *const watched_name[] = {"SIGINT", "SIGTERM", "SIGCHLD", "SIGPIPE"};
#define NWATCHED (sizeof watched / sizeof watched[0])
static struct sigaction previous[NWATCHED];

static void on_signal(int sig)
{
    /* The interrupted code may be between a failing call and its errno check. */
    int saved = errno;
    unsigned char bit = sig == SIGCHLD ? SIGWATCH_CHILD : SIGWATCH_STOP;
    if (bit == SIGWATCH_STOP)
        stop_flag = 1;
    atomic_fetch_or(&pending, bit);
    /* EAGAIN means the pipe is full, so the loop will wake anyway and `pending` still
     * holds the bit: nothing to do. No other error is possible on a valid pipe. */
    ssize_t n = write(pipe_wr, &bit, 1);
    (void)n;
    errno = saved;
}

/* Put back the dispositions saved for watched[0..count). */
static void restore(size_t count)
{
    for (size_t i = 0; i < count; i++)
        sigaction(watched[i], &previous[i], NULL);
}

int sigwatch_init(void)
{
    if (pipe_rd >= 0)
        return pipe_rd; /* already watching: a second call changes nothing */

    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        log_sys("pipe2(O_NONBLOCK|O_CLOEXEC)");
        return -1;
    }
    pipe_rd = fds[0];
    pipe_wr = fds[1];
    stop_flag = 0;
    atomic_store(&pending, 0u);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* SA_RESTART: the program's blocking reads and writes are not cut short by a
     * signal it will handle later through the pipe anyway. SA_NOCLDSTOP: only a child
     * that ended matters, not one that was stopped or continued. */
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);

    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);

    for (size_t i = 0; i < NWATCHED; i++) {
        const struct sigaction *act = watched[i] == SIGPIPE ? &ignore : &sa;
        if (sigaction(watched[i], act, &previous[i]) < 0) {
            log_sys("sigaction(%s)", watched_name[i]);
            int saved = errno;
            restore(i);
            close(pipe_rd);
            close(pipe_wr);
            pipe_rd = pipe_wr = -1;
            errno = saved;
            return -1;
        }
    }
    return pipe_rd;
}

int sigwatch_fd(void)
{
    return pipe_rd;
}

unsigned sigwatch_take(void)
{
    if (pipe_rd < 0)
        return 0;
    int saved = errno; /* the final EAGAIN is no news to the caller */
    /* Drain first, then collect the bits: a signal that lands in between leaves a byte
     * behind (one spurious wake-up that returns 0) but is never missed. */
    unsigned char buf[256];
    unsigned bits = 0;
    for (;;) {
        ssize_t n = read(pipe_rd, buf, sizeof buf);
        if (n > 0) {
            for (ssize_t i = 0; i < n; i++)
                bits |= buf[i];
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break; /* EAGAIN: empty */
    }
    bits |= atomic_exchange(&pending, 0u);
    errno = saved;
    return bits & (SIGWATCH_STOP | SIGWATCH_CHILD);
}

int sigwatch_stop_requested(void)
{
    return stop_flag != 0;
}

void sigwatch_close(void)
{
    if (pipe_rd < 0)
        return;
    /* Handlers first, so none can write to a pipe that is already closed. */
    restore(NWATCHED);
    close(pipe_rd);
    close(pipe_wr);
    pipe_rd = pipe_wr = -1;
}
