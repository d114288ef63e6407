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
    /* YOUR CODE HERE: check fd (EBADF below 0, EINVAL from FD_SETSIZE on), then select() on it until readable or the deadline, retrying EINTR with the time left */
    (void)fd;
    (void)timeout_ms;
    (void)deadline_after;
    (void)timeval_left;
    errno = ENOSYS;
    return -1;
}

int ready_poll(int fd, int timeout_ms)
{
    /* YOUR CODE HERE: check fd (EBADF below 0), then poll() it until readable or the deadline, retrying EINTR with the time left; POLLNVAL means EBADF, POLLHUP and POLLERR count as readable */
    (void)fd;
    (void)timeout_ms;
    (void)ms_left;
    errno = ENOSYS;
    return -1;
}

int ready_epoll(int fd, int timeout_ms)
{
    /* YOUR CODE HERE: check fd (EBADF below 0 or not open: fcntl F_GETFD), make an epoll instance, add fd for EPOLLIN, epoll_wait until readable or the deadline (EINTR: the time left), close the instance on every path */
    (void)fd;
    (void)timeout_ms;
    (void)ns_left;
    errno = ENOSYS;
    return -1;
}
