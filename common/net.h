/*
 * net: TCP socket set-up shared by every server and client of the lab.
 *
 * Failures are logged with log_sys() naming the call and its arguments and return
 * -1 with errno set by the call that failed, so a caller only decides what to do next.
 * Every descriptor is created close-on-exec.
 */
#ifndef SVRLAB_NET_H
#define SVRLAB_NET_H

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

/* Print the readiness line "listening on port N" on stdout and flush it. Every server calls
 * this once it accepts connections; the grader and the scripts wait for this line. */
void net_announce_listening(int port);

#endif
