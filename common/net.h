/*
 * net: TCP socket set-up shared by every server and client of the lab.
 *
 * Failures are logged with log_sys() naming the call and its arguments and return
 * -1 with errno set by the call that failed, so a caller only decides what to do next.
 * net_accept() and net_accept_wait() are the exception: they sort accept's failures into
 * what the caller must do (NET_ACCEPT_NONE and the others). Every descriptor is created
 * close-on-exec.
 */
#ifndef SVRLAB_NET_H
#define SVRLAB_NET_H

#include <stdint.h>

/* Create a TCP socket listening on host:port (host is a numeric IPv4 address such as
 * "127.0.0.1"; port 0 lets the kernel pick a free one). SO_REUSEADDR is set so a restarted
 * server can bind at once. The port actually bound is stored in *bound_port when it is
 * not NULL. Returns the listening descriptor, or -1. */
int net_listen_tcp(const char *host, int port, int backlog, int *bound_port);

/* Connect a blocking TCP socket to host:port (numeric IPv4). Returns the descriptor, or -1. */
int net_connect_tcp(const char *host, int port);

/* Put fd in non-blocking mode. Returns 0, or -1. */
int net_set_nonblock(int fd);

/* Disable Nagle's algorithm on a TCP socket, so small replies leave at once. Returns 0, or -1. */
int net_set_nodelay(int fd);

/* A listening socket as net_accept() sees it: the descriptor, and what net_accept() and
 * net_accept_wait() remember between calls. net_listener_open() fills it in; a listener
 * made otherwise starts as {.fd = lfd}: the other fields are theirs, and start at 0. */
struct net_listener {
    int fd;                 /* the listening socket; non-blocking (see net_accept) */
    int told_full;          /* the shortage in progress was logged already: once, not per retry */
    uint64_t rest_until_ns; /* 0, or when the rest after a shortage ends (timing_now_ns) */
};

/* net_listen_tcp() made ready for net_accept(): the socket is non-blocking and the rest of *l
 * starts afresh. Returns 0, or -1 (logged) with l->fd set to -1. */
int net_listener_open(struct net_listener *l, const char *host, int port, int backlog,
                      int *bound_port);

/* net_listener_open() with SO_REUSEPORT set before bind: several processes (or sockets) that
 * all set it may listen on the same host:port, and the kernel spreads the new connections
 * over them. Give a fixed port: with port 0 each socket would get a port of its own. */
int net_listener_open_shared(struct net_listener *l, const char *host, int port, int backlog,
                             int *bound_port);

/* Close l->fd unless it is -1, and set it to -1: calling it again, or on a listener that
 * never opened ({.fd = -1}), does nothing. Returns 0, or -1 (logged) when close failed. */
int net_listener_close(struct net_listener *l);

/* net_accept()'s returns other than a connection. */
enum {
    /* No connection to take this time (EAGAIN, EINTR, ECONNABORTED, or a network error of
     * the new connection, which accept(2) asks to treat like EAGAIN): wait for the listener
     * to be readable again. */
    NET_ACCEPT_NONE = -1,
    /* Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM). The connection stays
     * queued and the listener stays readable, so polling it again at once would spin: leave
     * it out of the wait for a moment (how long is the caller's policy), then try again. */
    NET_ACCEPT_PAUSE = -2,
    /* Any other error (a bad or non-listening fd, ...): it will not go away. */
    NET_ACCEPT_FATAL = -3,
    /* net_accept_wait() only: the wake-up descriptor is readable. */
    NET_ACCEPT_WOKEN = -4,
};

/* Take one connection from l->fd. flags is 0 or SOCK_NONBLOCK (for a server that
 * multiplexes its connections); the new descriptor is always close-on-exec.
 * l->fd should be non-blocking: a connection can vanish between readiness and accept, and
 * a blocking accept would then wait where no signal stops it (EINTR gives NET_ACCEPT_NONE).
 * Returns the new descriptor, or one of the NET_ACCEPT_ codes with errno as accept set it.
 * Logs with log_sys naming accept and the fd: NET_ACCEPT_FATAL always, NET_ACCEPT_PAUSE
 * once per shortage (until an accept succeeds again), NET_ACCEPT_NONE never. */
int net_accept(struct net_listener *l, int flags);

/* For a server that waits on nothing but one listener and one wake-up descriptor (such as
 * sigwatch_fd()): wait until l->fd has a connection or wake_fd is readable, and take the
 * connection with net_accept(l, flags). After NET_ACCEPT_PAUSE the listener is left out of
 * the wait for pause_ms milliseconds (at least 1), also across calls, while wake_fd is still
 * watched; NET_ACCEPT_NONE just means waiting again. wake_fd may be -1 (none).
 * Returns the new descriptor; NET_ACCEPT_WOKEN as soon as wake_fd is readable, before any
 * pending connection (the caller reads wake_fd; the connection is taken on a later call);
 * NET_ACCEPT_FATAL when accept or poll failed for good (logged). */
int net_accept_wait(struct net_listener *l, int wake_fd, int pause_ms, int flags);

/* Print the readiness line "listening on port N" on stdout and flush it. Every server calls
 * this once it accepts connections; the grader and the scripts wait for this line. */
void net_announce_listening(int port);

#endif
