/*
 * ready: wait for one descriptor to become readable, with select, poll or epoll (ex2.1).
 *
 * The contracts are in ready.h. The three functions share the deadline arithmetic below:
 * the deadline is fixed once, at the start, on the monotonic clock, and every (re)try waits
 * only for what is left of it. That is what makes EINTR harmless: a signal can interrupt the
 * wait as often as it likes, the call still returns at the deadline.
 */
#include "ready.h"

#include "timing.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

#define NS_PER_MS 1000000u
#define NS_PER_US 1000u

/* The moment, on timing_now_ns()'s clock, at which a wait of timeout_ms (>= 0) ends. */
static uint64_t deadline_after(int timeout_ms)
{
    return timing_now_ns() + (uint64_t)timeout_ms * NS_PER_MS;
}

/* Nanoseconds left until deadline; 0 once it has passed. */
static uint64_t ns_left(uint64_t deadline)
{
    uint64_t now = timing_now_ns();
    return deadline > now ? deadline - now : 0;
}

/*
 * Milliseconds left until deadline, for poll and epoll_wait, rounded UP: 0.3 ms left must
 * wait 1 ms, not 0, or the call would give up before the deadline and report a timeout
 * that has not happened yet. 0 once the deadline has passed (look once, do not wait).
 */
static int ms_left(uint64_t deadline)
{
    uint64_t ns = ns_left(deadline);
    uint64_t ms = (ns + NS_PER_MS - 1) / NS_PER_MS;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The same for select, which takes microseconds in a struct timeval (also rounded up). */
static struct timeval timeval_left(uint64_t deadline)
{
    uint64_t us = (ns_left(deadline) + NS_PER_US - 1) / NS_PER_US;
    struct timeval tv = {.tv_sec = (time_t)(us / 1000000u), .tv_usec = (suseconds_t)(us % 1000000u)};
    return tv;
}

int ready_select(int fd, int timeout_ms)
{
    //@solution
    /* FD_SET(fd) on an fd_set of FD_SETSIZE bits writes past its end for fd >= FD_SETSIZE
     * (and before its start for a negative fd): refuse instead of corrupting the stack. */
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (fd >= FD_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    uint64_t deadline = timeout_ms >= 0 ? deadline_after(timeout_ms) : 0;

    for (;;) {
        /* select overwrites the set and (on Linux) the timeout: build both afresh each time. */
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(fd, &readable);
        struct timeval tv, *tvp = NULL;
        if (timeout_ms >= 0) {
            tv = timeval_left(deadline);
            tvp = &tv;
        }

        int n = select(fd + 1, &readable, NULL, NULL, tvp);
        if (n > 0 && FD_ISSET(fd, &readable))
            return 1;
        if (n == 0) {
            /* Not before the deadline, even if the kernel woke us a little early. */
            if (ns_left(deadline) > 0)
                continue;
            return 0;
        }
        if (n == -1 && errno != EINTR)
            return -1; /* EBADF for a closed fd; the caller's fd is left alone */
        /* EINTR: a signal handler ran; wait again for the time that is left. */
    }
    //@stub check fd (EBADF below 0, EINVAL from FD_SETSIZE on), then select() on it until readable or the deadline, retrying EINTR with the time left
    //@ (void)fd;
    //@ (void)timeout_ms;
    //@ (void)deadline_after;
    //@ (void)timeval_left;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

int ready_poll(int fd, int timeout_ms)
{
    //@solution
    /* poll silently skips a negative fd and would just sleep until the timeout. */
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    uint64_t deadline = timeout_ms >= 0 ? deadline_after(timeout_ms) : 0;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, timeout_ms >= 0 ? ms_left(deadline) : -1);
        if (n > 0) {
            /* poll does not fail for a descriptor that is not open: it says POLLNVAL. */
            if (p.revents & POLLNVAL) {
                errno = EBADF;
                return -1;
            }
            /* POLLIN, but also POLLHUP (a pipe whose writer closed reports only that) and
             * POLLERR: in each case read() returns at once. */
            return 1;
        }
        if (n == 0) {
            if (ns_left(deadline) > 0)
                continue;
            return 0;
        }
        if (errno != EINTR)
            return -1;
    }
    //@stub check fd (EBADF below 0), then poll() it until readable or the deadline, retrying EINTR with the time left; POLLNVAL means EBADF, POLLHUP and POLLERR count as readable
    //@ (void)fd;
    //@ (void)timeout_ms;
    //@ (void)ms_left;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

int ready_epoll(int fd, int timeout_ms)
{
    //@solution
    /* fd must be open before we make the instance: a closed fd's number is the lowest
     * free one, which epoll_create1 would then take, and epoll_ctl would answer EINVAL
     * (an instance can not watch itself) instead of EBADF. */
    if (fd < 0 || fcntl(fd, F_GETFD) == -1) {
        errno = EBADF;
        return -1;
    }
    uint64_t deadline = timeout_ms >= 0 ? deadline_after(timeout_ms) : 0;

    /* One epoll instance per call: wasteful for a real server, which keeps one for its
     * lifetime (ex2.2 measures the difference), but it answers the same question as the
     * others. Every path below must close it, or each call leaks a descriptor. */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep == -1)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data = {.fd = fd}};
    int result;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
        result = -1; /* EBADF for a closed fd, EPERM for a regular file */
    } else {
        for (;;) {
            struct epoll_event got;
            int n = epoll_wait(ep, &got, 1, timeout_ms >= 0 ? ms_left(deadline) : -1);
            /* EPOLLHUP and EPOLLERR are always reported, asked for or not: readable too. */
            if (n > 0) {
                result = 1;
                break;
            }
            if (n == 0) {
                if (ns_left(deadline) > 0)
                    continue;
                result = 0;
                break;
            }
            if (errno != EINTR) {
                result = -1;
                break;
            }
        }
    }
    int saved = errno; /* close() must not change the errno we report */
    close(ep);
    errno = saved;
    return result;
    //@stub check fd (EBADF below 0 or not open: fcntl F_GETFD), make an epoll instance, add fd for EPOLLIN, epoll_wait until readable or the deadline (EINTR: the time left), close the instance on every path
    //@ (void)fd;
    //@ (void)timeout_ms;
    //@ (void)ns_left;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}
