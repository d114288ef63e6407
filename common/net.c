/*
 * net: TCP socket set-up shared by every server and client of the lab.
 *
 * Every failure is logged here, once, with the call and its arguments, and returned as
 * -1 with the errno of the call that failed; callers only decide what to do next.
 */
#include "net.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

int net_listen_tcp(const char *host, int port, int backlog, int *bound_port)
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

void net_announce_listening(int port)
{
    /* Scripts and the grader block on this line, so it must leave now, not when a
     * pipe's stdio buffer happens to fill. */
    printf("listening on port %d\n", port);
    if (fflush(stdout) == EOF)
        log_sys("fflush(stdout) after \"listening on port %d\"", port);
}
