/*
 * ready: wait for one descriptor to become readable, with select, poll or epoll (ex2.1).
 *
 * The three functions answer the same question the same way, so that the only difference
 * left between them is the mechanism: "is there something to read on fd, or will there be
 * within timeout_ms milliseconds?" Each is one small, careful wrapper around one system
 * call, and each gets right what a quick version gets wrong:
 *
 *  - the timeout is honoured: 0 is never returned before timeout_ms have passed;
 *  - a signal that interrupts the wait (EINTR) does not end it: the wait goes on, for the
 *    time that is left until the original deadline, not for a fresh timeout_ms;
 *  - end of file, a hang-up and a pending error count as readable, because a read() would
 *    return at once (with 0 or with the error): that is what a caller needs to know;
 *  - select can only describe descriptors below FD_SETSIZE (1024): a larger one is refused
 *    with EINVAL, never written past the end of the fd_set;
 *  - the caller's descriptor is never closed, read from or changed, whatever happens.
 */
#ifndef SVRLAB_READY_H
#define SVRLAB_READY_H

/*
 * Wait until fd is readable or timeout_ms milliseconds have passed.
 *
 * timeout_ms: 0 looks once without waiting; a negative value waits without a time limit.
 * Returns 1 when fd is readable (data, end of file, a hang-up or an error pending), 0 when
 * the time ran out first, -1 with errno set on an error:
 *   EBADF   fd is negative or not an open descriptor;
 *   EINVAL  (ready_select only) fd >= FD_SETSIZE, which select can not watch;
 *   or the errno of the system call that failed (ENOMEM, EMFILE for epoll's own descriptor,
 *   EPERM when epoll can not watch that kind of file, ...).
 * Never -1 with EINTR: an interrupted wait continues with the time that is left.
 */
int ready_select(int fd, int timeout_ms);
int ready_poll(int fd, int timeout_ms);
int ready_epoll(int fd, int timeout_ms);

#endif
