/*
 * echosvr_v0: the iterative echo server, one client at a time (chapter 1, given complete).
 *
 * It accepts a connection, sends back every byte the client sends until the client closes,
 * and only then accepts the next one. Meanwhile every other client waits in the listen
 * queue: that waiting is what this program is here to show. echosvr_fork (ex1.3) is the
 * first answer to it, the event-driven servers of chapter 3 the lasting one.
 */
#include "args.h"
#include "log.h"
#include "net.h"
#include "rio.h"
#include "sigwatch.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define BACKLOG 128
#define ECHO_BUF 65536       /* bytes read from a client at a time */
#define ACCEPT_PAUSE_MS 100  /* how long the listener rests when accept runs out of fds */

/* What serve_client() tells its caller to do next. */
enum { SERVE_NEXT, SERVE_STOP };

static void usage(FILE *out);
static int serve_forever(struct net_listener *l, unsigned char *buf, size_t cap);
static int serve_client(int cfd, unsigned char *buf, size_t cap);

int main(int argc, char **argv)
{
    struct args_listen opt;
    struct net_listener l = {.fd = -1};
    unsigned char *buf = NULL;
    int port = 0;
    int status = 1;

    log_init(argv[0]);
    args_parse_listen(argc, argv, usage, &opt);

    /* Signals become bytes on a pipe that we poll next to our sockets, so SIGINT or SIGTERM
     * wakes us wherever we wait and we can leave through the same door as always, freeing
     * everything. This also ignores SIGPIPE: a client that leaves gives us EPIPE instead. */
    if (sigwatch_init() == -1)
        return 1; /* it said why */
    if (net_listener_open(&l, opt.addr, opt.port, BACKLOG, &port) == -1)
        goto out;
    buf = malloc(ECHO_BUF);
    if (buf == NULL) {
        log_sys("malloc(%d)", ECHO_BUF);
        goto out;
    }

    net_announce_listening(port);
    status = serve_forever(&l, buf, ECHO_BUF);

out:
    free(buf);
    if (net_listener_close(&l) == -1)
        status = 1;
    sigwatch_close();
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-a ADDR] -p PORT\n"
            "\n"
            "An echo server that serves one client at a time: it sends back every byte the\n"
            "client sends until the client closes, and only then accepts the next connection.\n"
            "Prints \"listening on port N\" once it accepts connections; SIGINT or SIGTERM\n"
            "stops it with exit status 0.\n"
            "\n" ARGS_LISTEN_HELP,
            log_progname());
}

/* Accept and serve clients one after the other until a stop signal. Returns the exit status. */
static int serve_forever(struct net_listener *l, unsigned char *buf, size_t cap)
{
    for (;;) {
        int cfd = net_accept_wait(l, sigwatch_fd(), ACCEPT_PAUSE_MS, 0);
        if (cfd == NET_ACCEPT_FATAL)
            return 1; /* net_accept_wait said why */
        if (cfd == NET_ACCEPT_WOKEN) {
            (void)sigwatch_take(); /* drain the pipe; the stop flag is what counts */
            if (sigwatch_stop_requested())
                return 0;
            continue;
        }
        /* An echo goes back in as many writes as it took reads. With Nagle's algorithm on,
         * a second small write waits for the ACK of the first, and the client delays that
         * ACK by up to 40 ms: every multi-read message would pay it. A failure here only
         * costs speed, so the client is served anyway (net_set_nodelay logged it). */
        (void)net_set_nodelay(cfd);
        int next = serve_client(cfd, buf, cap);
        if (close(cfd) == -1)
            log_sys("close(client fd=%d)", cfd);
        if (next == SERVE_STOP)
            return 0;
    }
}

/*
 * Echo on cfd until the client closes. The wait is a poll on the client and on the signal
 * pipe, never a bare read, so a stop signal is seen even while a client sits idle. Returns
 * SERVE_STOP when a stop signal came, SERVE_NEXT otherwise.
 *
 * A weakness kept on purpose: rio_write_all blocks while the client does not read its
 * echoes, and then nobody else is served and no signal is seen until the client reads or
 * leaves. Chapter 3 removes it.
 */
static int serve_client(int cfd, unsigned char *buf, size_t cap)
{
    for (;;) {
        struct pollfd pfd[2] = {
            {.fd = cfd, .events = POLLIN},
            {.fd = sigwatch_fd(), .events = POLLIN},
        };
        if (poll(pfd, 2, -1) == -1) {
            if (errno == EINTR)
                continue;
            log_sys("poll(client fd=%d)", cfd);
            return SERVE_NEXT;
        }
        if (pfd[1].revents != 0)
            (void)sigwatch_take();
        if (sigwatch_stop_requested())
            return SERVE_STOP;
        if (pfd[0].revents == 0)
            continue;

        /* Readable (or closed, or failed): this read does not block. */
        ssize_t n = read(cfd, buf, cap);
        if (n == 0)
            return SERVE_NEXT; /* the client closed: done with it */
        if (n == -1) {
            if (errno == EINTR)
                continue;
            /* A client that resets the connection has simply left. */
            if (errno != ECONNRESET)
                log_sys("read(client fd=%d)", cfd);
            return SERVE_NEXT;
        }
        if (rio_write_all(cfd, buf, (size_t)n) == -1) {
            if (errno != EPIPE && errno != ECONNRESET)
                log_sys("write(client fd=%d, %zd bytes)", cfd, n);
            return SERVE_NEXT;
        }
    }
}
