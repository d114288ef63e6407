/*
 * echosvr_udp: a UDP echo server on one libevent event (ex3.4, optional in the tutorial).
 *
 * UDP has no connections, so there is no listener and no bufferevent: one socket, one event
 * (EV_READ | EV_PERSIST) on it, and a callback that takes the datagrams waiting there with
 * recvfrom() and sends each one back, whole, to whoever sent it with sendto(). A datagram
 * is 1 to 65507 bytes (the most an IPv4 datagram carries). The socket never blocks: when
 * sendto() can not take a datagram now (EAGAIN, ENOBUFS), that datagram is dropped, as UDP
 * allows, and the drops are logged at most once a second. SIGINT or SIGTERM ends the loop;
 * everything is freed, exit status 0.
 */
#include "args.h"
#include "log.h"
#include "net.h"
#include "timing.h"

#include <event2/event.h>
#include <event2/util.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDP_MAX_PAYLOAD 65507  /* 65535 - 20 (IPv4 header) - 8 (UDP header) */
#define DGRAM_BUF 65536        /* one more than the largest payload: a bigger one shows */
#define DGRAMS_PER_WAKEUP 64   /* then back to the loop, so signals and timers get a turn */
#define SOCK_BUF (1024 * 1024) /* asked for SO_RCVBUF / SO_SNDBUF (the kernel may cap it) */
#define DROP_LOG_EVERY_NS 1000000000ull /* at most one line about drops per second */

struct server {
    struct event_base *base;
    int fd;
    struct event *rx; /* the socket is readable: datagrams wait */
    struct event *sigint;
    struct event *sigterm;
    unsigned char *buf; /* DGRAM_BUF bytes: one datagram at a time */
    uint64_t dropped;   /* datagrams dropped since the last line about it */
    uint64_t told_ns;   /* when that line was written (timing_now_ns), 0: never */
    int status;         /* the exit status */
};

static void usage(FILE *out);
static int udp_open(const char *addr, int port, int *bound_port);
static void datagrams_cb(evutil_socket_t fd, short what, void *ctx);
static void signal_cb(evutil_socket_t sig, short what, void *ctx);
static int echo_datagrams(struct server *srv);
static void note_drop(struct server *srv, const char *why, int err, const struct sockaddr_in *peer,
                      size_t len);
static void report_drops(struct server *srv);

int main(int argc, char **argv)
{
    struct args_listen opt;
    struct server srv = {.fd = -1, .status = 1};
    int port = 0;

    log_init(argv[0]);
    args_parse_listen(argc, argv, usage, &opt);

    /* No SIGPIPE on UDP, but the same rule as every server of the lab: never die of it. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        log_sys("signal(SIGPIPE, SIG_IGN)");
        return 1;
    }
    srv.buf = malloc(DGRAM_BUF);
    if (srv.buf == NULL) {
        log_sys("malloc(%d)", DGRAM_BUF);
        return 1;
    }
    srv.base = event_base_new();
    if (srv.base == NULL) {
        log_msg("event_base_new failed");
        goto out;
    }
    srv.fd = udp_open(opt.addr, opt.port, &port);
    if (srv.fd == -1)
        goto out;
    srv.rx = event_new(srv.base, srv.fd, EV_READ | EV_PERSIST, datagrams_cb, &srv);
    srv.sigint = evsignal_new(srv.base, SIGINT, signal_cb, &srv);
    srv.sigterm = evsignal_new(srv.base, SIGTERM, signal_cb, &srv);
    if (srv.rx == NULL || srv.sigint == NULL || srv.sigterm == NULL) {
        log_msg("event_new or evsignal_new failed");
        goto out;
    }
    if (event_add(srv.rx, NULL) == -1 || event_add(srv.sigint, NULL) == -1 ||
        event_add(srv.sigterm, NULL) == -1) {
        log_msg("event_add failed");
        goto out;
    }

    net_announce_listening(port);
    srv.status = 0;
    if (event_base_dispatch(srv.base) == -1) {
        log_msg("event_base_dispatch failed");
        srv.status = 1;
    }
    report_drops(&srv); /* the drops of the last second, if any */

out:
    if (srv.sigterm != NULL)
        event_free(srv.sigterm);
    if (srv.sigint != NULL)
        event_free(srv.sigint);
    if (srv.rx != NULL)
        event_free(srv.rx);
    if (srv.fd != -1 && close(srv.fd) == -1)
        log_sys("close(fd=%d)", srv.fd);
    if (srv.base != NULL)
        event_base_free(srv.base);
    free(srv.buf);
    libevent_global_shutdown();
    return srv.status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-a ADDR] -p PORT\n"
            "\n"
            "A UDP echo server on libevent: every datagram (1 to %d bytes) goes back whole\n"
            "to its sender. A datagram that can not be sent at once is dropped, as UDP\n"
            "allows, and the drops are logged at most once a second.\n"
            "Prints \"listening on port N\" (the UDP port) once it receives datagrams;\n"
            "SIGINT or SIGTERM stops it with exit status 0.\n"
            "\n"
            "  -a, --addr ADDR  numeric IPv4 address to receive on (default " ARGS_DEFAULT_ADDR
            ")\n"
            "  -p, --port PORT  UDP port, 0 to 65535; 0 lets the system pick a free one\n"
            "  -h, --help       print this help and exit\n",
            log_progname(), UDP_MAX_PAYLOAD);
}

/* A non-blocking UDP socket bound to addr:port (port 0: any free one, stored in *bound_port).
 * Returns the descriptor, or -1 (logged). */
static int udp_open(const char *addr, int port, int *bound_port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        log_msg("'%s' is not a numeric IPv4 address", addr);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        log_sys("socket(AF_INET, SOCK_DGRAM)");
        return -1;
    }
    /* Room for a burst of the largest datagrams; the kernel caps it at net.core.[rw]mem_max,
     * and the defaults still work, so a refusal is only noted. */
    int size = SOCK_BUF;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == -1)
        log_sys("setsockopt(fd=%d, SO_RCVBUF, %d)", fd, size);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == -1)
        log_sys("setsockopt(fd=%d, SO_SNDBUF, %d)", fd, size);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
        log_sys("bind(fd=%d, %s:%d)", fd, addr, port);
        close(fd);
        return -1;
    }
    struct sockaddr_in got;
    socklen_t len = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &len) == -1) {
        log_sys("getsockname(fd=%d)", fd);
        close(fd);
        return -1;
    }
    *bound_port = ntohs(got.sin_port);
    return fd;
}

static void datagrams_cb(evutil_socket_t fd, short what, void *ctx)
{
    struct server *srv = ctx;
    (void)what;
    if (echo_datagrams(srv) == -1) {
        /* Only an error that will not go away gets here (see echo_datagrams): calling us
         * again would fail again, at once, for ever. */
        log_sys("echo_datagrams(fd=%d); stopping", (int)fd);
        srv->status = 1;
        event_base_loopbreak(srv->base);
    }
}

static void signal_cb(evutil_socket_t sig, short what, void *ctx)
{
    struct server *srv = ctx;
    (void)sig;
    (void)what;
    event_base_loopexit(srv->base, NULL);
}

/*
 * The event's work: echo the datagrams waiting on srv->fd, at most DGRAMS_PER_WAKEUP of them
 * (the event is level-triggered: what is left makes it fire again). Each one is received
 * whole into srv->buf (DGRAM_BUF bytes) with recvfrom and sent back to its sender with one
 * sendto that never blocks. A datagram that can not be sent (sendto fails) or that did not fit
 * is dropped with note_drop(), and the server goes on.
 * Returns 0 once no datagram waits or the batch is done; -1 with errno set when recvfrom
 * fails for another reason than "nothing waits" (the caller stops the server).
 */
static int echo_datagrams(struct server *srv)
{
    /* YOUR CODE HERE: receive the waiting datagrams (recvfrom) and send each back whole (sendto); never block */
    (void)srv;
    (void)note_drop;
    errno = ENOSYS;
    return -1;
}

/* Count a datagram that was not echoed, and log about it at most once a second: a flood of
 * drops must not turn into a flood of log lines. */
static void note_drop(struct server *srv, const char *why, int err, const struct sockaddr_in *peer,
                      size_t len)
{
    srv->dropped++;
    uint64_t now = timing_now_ns();
    if (srv->told_ns != 0 && now - srv->told_ns < DROP_LOG_EVERY_NS)
        return;
    char host[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &peer->sin_addr, host, sizeof host);
    log_msg("dropped a datagram of %zu bytes for %s:%d: %s: %s (%llu dropped since the last "
            "report)",
            len, host, ntohs(peer->sin_port), why, strerror(err), (unsigned long long)srv->dropped);
    srv->dropped = 0;
    srv->told_ns = now;
}

/* At exit: the drops that came after the last line about them. */
static void report_drops(struct server *srv)
{
    if (srv->dropped > 0)
        log_msg("%llu more datagrams dropped since the last report",
                (unsigned long long)srv->dropped);
}
