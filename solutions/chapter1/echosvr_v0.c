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

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_ADDR "127.0.0.1"
#define BACKLOG 128
#define ECHO_BUF 65536         /* bytes read from a client at a time */
#define ACCEPT_BACKOFF_MS 100  /* pause after accept ran out of descriptors */

struct options {
    const char *addr;
    int port;
};

/* The listening socket and what we remember about accept's recent failures. */
struct listener {
    int fd;
    int backoff;   /* 1: out of descriptors, leave the listener alone for a moment */
    int told_full; /* 1: that was logged already; say it once, not ten times a second */
};

/* What serve_client() tells its caller to do next. */
enum { SERVE_NEXT, SERVE_STOP };

/* accept_client()'s returns other than a descriptor. */
enum { ACCEPT_NONE = -1, ACCEPT_FATAL = -2 };

static void parse_args(int argc, char **argv, struct options *opt);
static void usage(FILE *out);
static int serve_forever(struct listener *l, unsigned char *buf, size_t cap);
static int accept_client(struct listener *l);
static int serve_client(int cfd, unsigned char *buf, size_t cap);

int main(int argc, char **argv)
{
    struct options opt;
    struct listener l = {.fd = -1};
    unsigned char *buf = NULL;
    int port = 0;
    int status = 1;

    log_init(argv[0]);
    parse_args(argc, argv, &opt);

    /* Signals become bytes on a pipe that we poll next to our sockets, so SIGINT or SIGTERM
     * wakes us wherever we wait and we can leave through the same door as always, freeing
     * everything. This also ignores SIGPIPE: a client that leaves gives us EPIPE instead. */
    if (sigwatch_init() == -1)
        return 1; /* it said why */
    l.fd = net_listen_tcp(opt.addr, opt.port, BACKLOG, &port);
    if (l.fd == -1)
        goto out;
    /* Non-blocking, so that a connection which vanishes between poll and accept makes accept
     * fail with EAGAIN instead of blocking the server where no signal can reach it. */
    if (net_set_nonblock(l.fd) == -1)
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
    if (l.fd != -1 && close(l.fd) == -1) {
        log_sys("close(fd=%d)", l.fd);
        status = 1;
    }
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
            "\n"
            "  -a, --addr ADDR  numeric IPv4 address to listen on (default %s)\n"
            "  -p, --port PORT  TCP port, 0 to 65535; 0 lets the system pick a free one\n"
            "  -h, --help       print this help and exit\n",
            log_progname(), DEFAULT_ADDR);
}

static void parse_args(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"addr", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct in_addr addr;
    int c;

    opt->addr = DEFAULT_ADDR;
    opt->port = -1;

    opterr = 0; /* our own one-line message instead of getopt's */
    while ((c = getopt_long(argc, argv, "a:p:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            opt->addr = optarg;
            break;
        case 'p':
            opt->port = args_port(optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
    if (opt->port == -1)
        args_usage_error("-p PORT is required; 0 picks a free port");
    if (inet_pton(AF_INET, opt->addr, &addr) != 1)
        args_usage_error("-a wants a numeric IPv4 address such as 127.0.0.1, got '%s'", opt->addr);
}

/* Accept and serve clients one after the other until a stop signal. Returns the exit status. */
static int serve_forever(struct listener *l, unsigned char *buf, size_t cap)
{
    for (;;) {
        /* poll ignores an entry whose fd is negative: that is how the listener rests. */
        struct pollfd pfd[2] = {
            {.fd = l->backoff ? -1 : l->fd, .events = POLLIN},
            {.fd = sigwatch_fd(), .events = POLLIN},
        };
        int n = poll(pfd, 2, l->backoff ? ACCEPT_BACKOFF_MS : -1);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            log_sys("poll(listener fd=%d)", l->fd);
            return 1;
        }
        if (pfd[1].revents != 0)
            (void)sigwatch_take(); /* drain the pipe; the stop flag below is what counts */
        if (sigwatch_stop_requested())
            return 0;
        if (n == 0)
            l->backoff = 0; /* the pause is over */
        if (!(pfd[0].revents & POLLIN))
            continue;

        int cfd = accept_client(l);
        if (cfd == ACCEPT_FATAL)
            return 1;
        if (cfd == ACCEPT_NONE)
            continue;
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

/* One accept. Returns the new connection; ACCEPT_NONE when there was none to take (try again
 * after the next poll); ACCEPT_FATAL on an error that will not go away. */
static int accept_client(struct listener *l)
{
    int cfd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd != -1) {
        l->told_full = 0;
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
        return ACCEPT_NONE;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        /* The connection stays queued, so the listener stays readable: polling it again at
         * once would spin at 100% CPU. Rest instead, and say so once. */
        if (!l->told_full)
            log_sys("accept(fd=%d) (pausing %d ms)", l->fd, ACCEPT_BACKOFF_MS);
        l->told_full = 1;
        l->backoff = 1;
        return ACCEPT_NONE;
    default:
        log_sys("accept(fd=%d)", l->fd);
        return ACCEPT_FATAL;
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
