/*
 * net: TCP socket set-up shared by every server and client of the lab.
 *
 * Every failure is logged here, once, with the call and its arguments, and returned as
 * -1 (the accept functions: a NET_ACCEPT_ code) with the errno of the call that failed;
 * callers only decide what to do next.
 */
#include "net.h"

#include "log.h"
#include "timing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Close fd on a failure path without losing the errno the caller must see. */
static void close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

/* Fill *sa from a numeric IPv4 address and a port. Names are refused on purpose: a
 * resolver lookup could block, and the lab only ever talks to numeric addresses. */
static int make_addr(const char *host, int port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (host == NULL || inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        log_msg("'%s' is not a numeric IPv4 address such as 127.0.0.1",
                host != NULL ? host : "(null)");
        errno = EINVAL;
        return -1;
    }
    if (port < 0 || port > 65535) {
        log_msg("port %d is out of range (0 to 65535)", port);
        errno = EINVAL;
        return -1;
    }
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

/* net_listen_tcp(), with SO_REUSEPORT too when reuseport is not 0. */
static int listen_tcp(const char *host, int port, int backlog, int *bound_port, int reuseport)
{
    struct sockaddr_in sa;
    if (make_addr(host, port, &sa) < 0)
        return -1;

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_sys("socket(AF_INET, SOCK_STREAM)");
        return -1;
    }
    /* Without it a restarted server fails to bind while old connections sit in TIME_WAIT. */
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        log_sys("setsockopt(fd=%d, SO_REUSEADDR)", fd);
        close_keep_errno(fd);
        return -1;
    }
    /* Several listeners on one port: every one of them must set it before bind. */
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
        log_sys("setsockopt(fd=%d, SO_REUSEPORT)", fd);
        close_keep_errno(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        log_sys("bind(fd=%d, %s:%d)", fd, host, port);
        close_keep_errno(fd);
        return -1;
    }
    if (listen(fd, backlog) < 0) {
        log_sys("listen(fd=%d, backlog=%d)", fd, backlog);
        close_keep_errno(fd);
        return -1;
    }
    if (bound_port != NULL) {
        /* With port 0 only the kernel knows which port it picked. */
        struct sockaddr_in got;
        socklen_t len = sizeof got;
        if (getsockname(fd, (struct sockaddr *)&got, &len) < 0) {
            log_sys("getsockname(fd=%d)", fd);
            close_keep_errno(fd);
            return -1;
        }
        *bound_port = ntohs(got.sin_port);
    }
    return fd;
}

/* A blocking connect interrupted by a signal goes on in the background and can not be
 * issued again (that gives EALREADY), so wait until the socket is writable and read
 * the attempt's outcome from SO_ERROR. Returns 0, or -1 with errno set and logged. */
static int finish_interrupted_connect(int fd, const char *host, int port)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    for (;;) {
        int n = poll(&pfd, 1, -1);
        if (n > 0)
            break;
        if (n < 0 && errno != EINTR) {
            log_sys("poll(fd=%d, POLLOUT)", fd);
            return -1;
        }
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        log_sys("getsockopt(fd=%d, SO_ERROR)", fd);
        return -1;
    }
    if (err != 0) {
        errno = err;
        log_sys("connect(fd=%d, %s:%d)", fd, host, port);
        return -1;
    }
    return 0;
}

int net_connect_tcp(const char *host, int port)
{
    struct sockaddr_in sa;
    if (make_addr(host, port, &sa) < 0)
        return -1;

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_sys("socket(AF_INET, SOCK_STREAM)");
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno != EINTR) {
            log_sys("connect(fd=%d, %s:%d)", fd, host, port);
            close_keep_errno(fd);
            return -1;
        }
        if (finish_interrupted_connect(fd, host, port) < 0) {
            close_keep_errno(fd);
            return -1;
        }
    }
    return fd;
}

int net_set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) {
        log_sys("fcntl(fd=%d, F_GETFL)", fd);
        return -1;
    }
    if (flags & O_NONBLOCK)
        return 0;
    if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        log_sys("fcntl(fd=%d, F_SETFL, O_NONBLOCK)", fd);
        return -1;
    }
    return 0;
}

int net_set_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
        log_sys("setsockopt(fd=%d, TCP_NODELAY)", fd);
        return -1;
    }
    return 0;
}

int net_listen_tcp(const char *host, int port, int backlog, int *bound_port)
{
    return listen_tcp(host, port, backlog, bound_port, 0);
}

/* net_listener_open() and net_listener_open_shared(). */
static int listener_open(struct net_listener *l, const char *host, int port, int backlog,
                         int *bound_port, int reuseport)
{
    *l = (struct net_listener){.fd = listen_tcp(host, port, backlog, bound_port, reuseport)};
    if (l->fd == -1)
        return -1;
    /* A connection can vanish between poll and accept; a blocking accept would then wait
     * for the next client where no signal can reach it. Non-blocking, it fails with EAGAIN. */
    if (net_set_nonblock(l->fd) == -1) {
        close_keep_errno(l->fd);
        l->fd = -1;
        return -1;
    }
    return 0;
}

int net_listener_open(struct net_listener *l, const char *host, int port, int backlog,
                      int *bound_port)
{
    return listener_open(l, host, port, backlog, bound_port, 0);
}

int net_listener_open_shared(struct net_listener *l, const char *host, int port, int backlog,
                             int *bound_port)
{
    return listener_open(l, host, port, backlog, bound_port, 1);
}

int net_listener_close(struct net_listener *l)
{
    if (l->fd == -1)
        return 0;
    int fd = l->fd;
    l->fd = -1;
    /* Linux frees the descriptor even when close fails: retrying could close another one. */
    if (close(fd) == -1) {
        log_sys("close(fd=%d)", fd);
        return -1;
    }
    return 0;
}

int net_accept(struct net_listener *l, int flags)
{
    int cfd = accept4(l->fd, NULL, NULL, flags | SOCK_CLOEXEC);
    if (cfd != -1) {
        l->told_full = 0; /* the shortage, if any, is over: the next one is news again */
        return cfd;
    }
    switch (errno) {
    case EINTR:
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case ECONNABORTED:
    /* Linux hands pending network errors of the new connection to accept; its manual asks
     * to treat them like EAGAIN. */
    case ENETDOWN:
    case EPROTO:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
        return NET_ACCEPT_NONE;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        /* The caller tries again after every pause while this lasts; one line is enough. */
        if (!l->told_full)
            log_sys("accept(fd=%d) (new connections wait until it works again)", l->fd);
        l->told_full = 1;
        return NET_ACCEPT_PAUSE;
    default:
        log_sys("accept(fd=%d)", l->fd);
        return NET_ACCEPT_FATAL;
    }
}

/* The poll timeout until l's rest is over: -1 (none) when l is not resting. A rest that is
 * over ends here, so the caller polls the listener again. */
static int rest_timeout_ms(struct net_listener *l)
{
    if (l->rest_until_ns == 0)
        return -1;
    uint64_t now = timing_now_ns();
    if (now >= l->rest_until_ns) {
        l->rest_until_ns = 0;
        return -1;
    }
    /* Rounded up: rounding down would wake up just before the end, to rest 0 ms, in a loop. */
    uint64_t ms = (l->rest_until_ns - now + 999999) / 1000000;
    return ms < INT_MAX ? (int)ms : INT_MAX;
}

int net_accept_wait(struct net_listener *l, int wake_fd, int pause_ms, int flags)
{
    for (;;) {
        int timeout = rest_timeout_ms(l);
        /* poll skips an entry whose fd is negative: that is how the listener rests. */
        struct pollfd pfd[2] = {
            {.fd = l->rest_until_ns != 0 ? -1 : l->fd, .events = POLLIN},
            {.fd = wake_fd, .events = POLLIN},
        };
        int n = poll(pfd, 2, timeout);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            log_sys("poll(listener fd=%d, wake fd=%d)", l->fd, wake_fd);
            return NET_ACCEPT_FATAL;
        }
        if (pfd[1].revents != 0)
            return NET_ACCEPT_WOKEN; /* a stop request must not wait behind a queue of clients */
        /* Not only POLLIN: a closed fd gives POLLNVAL, and accept turns that into an error
         * to report, where waiting for POLLIN would spin for ever. */
        if (pfd[0].revents == 0)
            continue; /* the rest is over; rest_timeout_ms ends it */
        int cfd = net_accept(l, flags);
        if (cfd == NET_ACCEPT_PAUSE) {
            uint64_t pause_ns = (uint64_t)(pause_ms > 1 ? pause_ms : 1) * 1000000;
            l->rest_until_ns = timing_now_ns() + pause_ns;
        } else if (cfd != NET_ACCEPT_NONE) {
            return cfd; /* a connection, or NET_ACCEPT_FATAL */
        }
    }
}

void net_announce_listening(int port)
{
    /* Scripts and the grader block on this line, so it must leave now, not when a
     * pipe's stdio buffer happens to fill. */
    printf("listening on port %d\n", port);
    if (fflush(stdout) == EOF)
        log_sys("fflush(stdout) after \"listening on port %d\"", port);
}
