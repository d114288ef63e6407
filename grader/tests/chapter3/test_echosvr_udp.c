/*
 * test_echosvr_udp.c: black-box tests of ex3.4 (*), the student's echosvr_udp (a UDP echo
 * server on a libevent event).
 *
 * Its "listening on port N" names its UDP port. Each test talks to it through UDP sockets of
 * its own, connected to that port, so only the server's replies come back: a datagram of any
 * size from 1 byte to 65,507 (the largest that fits in an IPv4 UDP datagram) must return whole,
 * to the socket that sent it. UDP may drop a datagram, so a test sends again (up to 3 times)
 * before it calls an echo missing; a wrong or cut reply is never excused.
 */
#include "gt.h"
#include "servers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG "echosvr_udp"
#define UDP_MAX 65507

/* A UDP socket of the test's own, connected to 127.0.0.1:port. */
static int udp_client(int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        gt_fail("socket(AF_INET, SOCK_DGRAM): %s", strerror(errno));
    gt_connect_fd(fd, port, "UDP socket");
    int big = 1 << 20; /* room for replies to a burst (the kernel may give less) */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    return fd;
}

/* Wait up to wait_s for one datagram on fd: its full length (MSG_TRUNC), at most cap bytes of
 * it in buf; -1 on timeout. A refused port (ICMP) shows as ECONNREFUSED: fails. */
static ssize_t udp_recv(const gt_proc *srv, int fd, unsigned char *buf, size_t cap, double wait_s)
{
    double deadline = gt_now() + wait_s;
    for (;;) {
        double left = deadline - gt_now();
        if (left <= 0)
            return -1;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        ssize_t n = recv(fd, buf, cap, MSG_TRUNC | MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno == EAGAIN || errno == EINTR)
            continue;
        gt_fail("recv() on a UDP socket talking to %s: %s (is it listening on UDP port %d?); "
                "its stderr: %s",
                srv->name, strerror(errno), srv->port, srv_err(srv));
    }
}

/* Send a len-byte datagram of stream seed and fail unless the very same datagram comes back
 * (sent again up to 3 times if nothing came). */
static void udp_echo(const gt_proc *srv, int fd, size_t len, unsigned seed, const char *who)
{
    static unsigned char out[UDP_MAX], in[UDP_MAX + 1];
    srv_pattern(out, len, seed, 0);
    double wait = 1.0 * gt_time_scale();
    for (int attempt = 1; attempt <= 3; attempt++) {
        if (send(fd, out, len, 0) != (ssize_t)len)
            gt_fail("%s: send() of a %zu-byte datagram to %s failed: %s", who, len, srv->name,
                    strerror(errno));
        ssize_t n = udp_recv(srv, fd, in, sizeof in, wait);
        if (n < 0)
            continue;
        if ((size_t)n != len)
            gt_fail("%s: sent a datagram of %zu bytes, %s replied with %zd bytes: the echo "
                    "must be the whole datagram (a receive buffer of 65,507 bytes at least), "
                    "sent back as one datagram; its stderr: %s",
                    who, len, srv->name, n, srv_err(srv));
        if (memcmp(in, out, len) != 0) {
            size_t i = 0;
            while (in[i] == out[i])
                i++;
            gt_fail("%s: the echo of a %zu-byte datagram differs at byte %zu (sent 0x%02x, got "
                    "0x%02x)",
                    who, len, i, out[i], in[i]);
        }
        return;
    }
    gt_fail("%s: sent the same %zu-byte datagram 3 times, %s replied to none within %.0f s "
            "each; its stderr: %s",
            who, len, srv->name, wait, srv_err(srv));
}

static void start_udp(gt_proc *srv)
{
    gt_server_start(srv, gt_student(PROG), NULL);
}

GT_TEST(echosvr_udp_help_exit_0, 10)
{
    srv_expect_help(gt_student(PROG), PROG);
}

GT_TEST(echosvr_udp_bad_arguments_exit_2, 20)
{
    srv_test_bad_arguments(PROG);
}

GT_TEST(echosvr_udp_datagram_sizes, 40)
{
    static const size_t sizes[] = {0, 1, 1000, 1472, 4096, 65507}; /* 0: legal, echoed empty */
    gt_proc srv;
    char who[64];

    start_udp(&srv);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        /* a socket per size, so a late reply to a resent datagram never meets the next one */
        int fd = udp_client(srv.port);
        snprintf(who, sizeof who, "a %zu-byte datagram", sizes[i]);
        udp_echo(&srv, fd, sizes[i], 40 + (unsigned)i, who);
        close(fd);
    }
    gt_server_stop(&srv);
}

GT_TEST(echosvr_udp_replies_to_each_sender, 30)
{
    enum { CLIENTS = 3 };
    gt_proc srv;
    int fds[CLIENTS];
    static unsigned char out[2000], in[2001];

    start_udp(&srv);
    /* every client sends before any reads: each reply must go to its own sender */
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = udp_client(srv.port);
        size_t len = 100 + 500 * (size_t)i;
        srv_pattern(out, len, 50 + (unsigned)i, 0);
        if (send(fds[i], out, len, 0) != (ssize_t)len)
            gt_fail("client %d: send() of a %zu-byte datagram failed: %s", i + 1, len,
                    strerror(errno));
    }
    for (int i = 0; i < CLIENTS; i++) {
        size_t len = 100 + 500 * (size_t)i;
        char who[96];
        ssize_t n = udp_recv(&srv, fds[i], in, sizeof in, 2.0 * gt_time_scale());
        snprintf(who, sizeof who, "client %d of %d (its own %zu-byte datagram)", i + 1, CLIENTS,
                 len);
        if (n < 0) {
            /* dropped? one more try, the same way */
            udp_echo(&srv, fds[i], len, 50 + (unsigned)i, who);
            continue;
        }
        srv_pattern(out, len, 50 + (unsigned)i, 0);
        if ((size_t)n != len || memcmp(in, out, len) != 0)
            gt_fail("%s: got back a %zd-byte datagram that is not its own (the reply must go to "
                    "the address the datagram came from, recvfrom's)",
                    who, n);
    }
    for (int i = 0; i < CLIENTS; i++)
        close(fds[i]);
    gt_server_stop(&srv);
}

GT_TEST(echosvr_udp_survives_burst, 40)
{
    enum { BURST = 3000, LEN = 512 };
    gt_proc srv;
    static unsigned char out[LEN], in[LEN + 1];

    start_udp(&srv);
    int fd = udp_client(srv.port);
    /* as fast as we can: the server's socket buffer overflows and datagrams are dropped,
     * which UDP allows; the server must go on */
    int sent = 0;
    for (int i = 0; i < BURST; i++) {
        srv_pattern(out, LEN, 1000 + (unsigned)i, 0);
        if (send(fd, out, LEN, MSG_DONTWAIT) == LEN)
            sent++;
    }
    /* every reply that comes must be one of the datagrams, whole */
    int replies = 0;
    ssize_t n;
    while ((n = udp_recv(&srv, fd, in, sizeof in, 0.5 * gt_time_scale())) >= 0) {
        int ok = 0;
        if (n == LEN) {
            for (int i = 0; i < BURST && !ok; i++) {
                srv_pattern(out, 8, 1000 + (unsigned)i, 0);
                if (memcmp(in, out, 8) == 0) {
                    srv_pattern(out, LEN, 1000 + (unsigned)i, 0);
                    ok = memcmp(in, out, LEN) == 0;
                    break;
                }
            }
        }
        if (!ok)
            gt_fail("during a burst of %d datagrams of %d bytes, %s replied with a %zd-byte "
                    "datagram that matches none of them",
                    BURST, LEN, srv.name, n);
        replies++;
    }
    if (!gt_proc_alive(&srv)) {
        int st = gt_server_stop(&srv);
        gt_fail("%s ended during a burst of %d datagrams (%s); its stderr: %s", srv.name, BURST,
                gt_status_str(st, 0), srv_err(&srv));
    }
    if (replies == 0)
        gt_fail("%s replied to none of a burst of %d datagrams (%d sent); its stderr: %s", srv.name,
                BURST, sent, srv_err(&srv));
    close(fd);
    int fresh = udp_client(srv.port);
    udp_echo(&srv, fresh, 100, 60, "a 100-byte datagram from a new socket, after the burst");
    close(fresh);
    gt_server_stop(&srv);
}

GT_TEST(echosvr_udp_sigterm_exit_0, 40)
{
    gt_proc srv;
    char who[64];

    start_udp(&srv);
    for (int i = 0; i < 5; i++) {
        int fd = udp_client(srv.port);
        snprintf(who, sizeof who, "datagram %d of 5 (%d bytes)", i + 1, 1000 * (i + 1));
        udp_echo(&srv, fd, 1000 * (size_t)(i + 1), 70 + (unsigned)i, who);
        close(fd);
    }
    gt_server_stop_clean(&srv);
}
