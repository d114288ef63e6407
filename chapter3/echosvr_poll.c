/*
 * echosvr_poll: an echo server for many clients in one process, on poll(2) (ex3.1).
 *
 * One loop waits with poll() on the signal pipe, the listener and every connection at once,
 * and serves whichever is ready; no call ever blocks, so a slow or silent client costs the
 * others nothing. Each connection keeps the bytes it read and has not yet written back in an
 * output buffer of its own. The server asks poll for POLLOUT only while that buffer holds
 * something, and stops reading a client whose buffer reached OUT_CAP until the client reads
 * its echo (back-pressure): a client that sends without ever reading costs OUT_CAP, not
 * everything it sends. SIGINT or SIGTERM ends the loop; every connection is closed and
 * everything freed, exit status 0.
 */
#include "args.h"
#include "log.h"
#include "net.h"
#include "sigwatch.h"
#include "timing.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BACKLOG 1024         /* the kernel caps it at net.core.somaxconn */
#define ACCEPT_PAUSE_MS 100  /* how long the listener rests when accept runs out of fds */
#define ACCEPT_BATCH 64      /* connections taken per wake-up, so clients are not starved */
#define OUT_CAP (256 * 1024) /* most bytes a connection may hold unsent; then reading stops */
#define BUF_FIRST 4096       /* a connection's first buffer; it doubles up to OUT_CAP */
#define BUF_KEEP (64 * 1024) /* an emptied buffer larger than this is given back */
#define FIRST_CONN_SLOT 2    /* pfds[0]: signal pipe, pfds[1]: listener, then connections */

/* One client. */
struct conn {
    int fd;
    short want;         /* the poll events to wait for next (POLLIN, POLLOUT or both) */
    int closing;        /* the client sent end of file: flush what is pending, then close */
    unsigned char *buf; /* bytes read and not yet written back are buf[off, len) */
    size_t off;
    size_t len;
    size_t cap; /* bytes allocated at buf (0: none yet) */
};

struct server {
    struct net_listener l;
    uint64_t rest_until_ns; /* 0, or when the listener's rest after EMFILE ends */
    struct pollfd *pfds;    /* FIRST_CONN_SLOT + n entries in use */
    struct conn *conns;     /* conns[i] is watched by pfds[FIRST_CONN_SLOT + i] */
    size_t n;               /* open connections */
    size_t cap;             /* room in conns (and pfds has FIRST_CONN_SLOT more) */
};

/* What conn_service() tells the loop. */
enum { CONN_KEEP = 0, CONN_DONE = 1 };

static void usage(FILE *out);
static int serve_forever(struct server *s);
static int accept_clients(struct server *s);
static int conns_grow(struct server *s);
static int conns_add(struct server *s, int fd);
static void conns_close(struct server *s, size_t i);
static int conn_service(struct conn *c, short revents);
static int conn_read(struct conn *c);
static int conn_write(struct conn *c);
static int buf_make_room(struct conn *c);
static void server_free(struct server *s);

int main(int argc, char **argv)
{
    struct args_listen opt;
    struct server s = {.l = {.fd = -1}};
    int port = 0;
    int status = 1;

    log_init(argv[0]);
    args_parse_listen(argc, argv, usage, &opt);

    /* SIGINT and SIGTERM become a readable pipe that poll watches with the sockets; SIGPIPE
     * is ignored from here on, so a client that leaves gives EPIPE instead of killing us. */
    if (sigwatch_init() == -1)
        return 1; /* it said why */
    if (net_listener_open(&s.l, opt.addr, opt.port, BACKLOG, &port) == -1)
        goto out;
    if (conns_grow(&s) == -1) { /* the first room: the loop's pfds[0] and [1] live there */
        log_sys("conns_grow");
        goto out;
    }

    net_announce_listening(port);
    status = serve_forever(&s);

out:
    server_free(&s);
    sigwatch_close();
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-a ADDR] -p PORT\n"
            "\n"
            "An echo server for many clients at once in one process, on poll(2): it sends\n"
            "back every byte each client sends. A client that sends without reading its\n"
            "echo is not read from while %d KiB of its echo wait to be sent.\n"
            "Prints \"listening on port N\" once it accepts connections; SIGINT or SIGTERM\n"
            "closes every connection and stops it with exit status 0.\n"
            "\n" ARGS_LISTEN_HELP,
            log_progname(), OUT_CAP / 1024);
}

/* The poll timeout until the listener's rest is over (-1: not resting); a rest that is over
 * ends here, so the listener is watched again. */
static int rest_timeout_ms(struct server *s)
{
    if (s->rest_until_ns == 0)
        return -1;
    uint64_t now = timing_now_ns();
    if (now >= s->rest_until_ns) {
        s->rest_until_ns = 0;
        return -1;
    }
    /* Rounded up: rounding down would wake up just before the end, to wait 0 ms, in a loop. */
    uint64_t ms = (s->rest_until_ns - now + 999999) / 1000000;
    return ms < INT_MAX ? (int)ms : INT_MAX;
}

/* The loop: wait for whatever is ready, serve it, until a stop signal. Returns the exit status. */
static int serve_forever(struct server *s)
{
    for (;;) {
        int timeout = rest_timeout_ms(s);
        s->pfds[0] = (struct pollfd){.fd = sigwatch_fd(), .events = POLLIN};
        /* poll skips an entry whose fd is negative: that is how the listener rests. */
        s->pfds[1] = (struct pollfd){.fd = s->rest_until_ns != 0 ? -1 : s->l.fd, .events = POLLIN};
        for (size_t i = 0; i < s->n; i++)
            s->pfds[FIRST_CONN_SLOT + i] =
                (struct pollfd){.fd = s->conns[i].fd, .events = s->conns[i].want};

        if (poll(s->pfds, FIRST_CONN_SLOT + s->n, timeout) == -1) {
            if (errno == EINTR)
                continue;
            log_sys("poll(%zu descriptors)", FIRST_CONN_SLOT + s->n);
            return 1;
        }
        if (s->pfds[0].revents != 0) {
            (void)sigwatch_take();
            if (sigwatch_stop_requested())
                return 0;
        }
        /* From the last connection down: conns_close moves the last entry into the hole, and
         * that entry has been served already. */
        for (size_t i = s->n; i-- > 0;) {
            short revents = s->pfds[FIRST_CONN_SLOT + i].revents;
            if (revents == 0)
                continue;
            int r = conn_service(&s->conns[i], revents);
            if (r == -1)
                log_sys("conn_service(fd=%d, revents=0x%x); closing it", s->conns[i].fd,
                        (unsigned)revents);
            if (r != CONN_KEEP)
                conns_close(s, i);
        }
        /* Last, so that a flood of new clients waits behind the ones already served. */
        if (s->pfds[1].revents != 0 && accept_clients(s) == -1)
            return 1;
    }
}

/* Take the connections waiting on the listener, up to ACCEPT_BATCH. Returns 0, or -1 when the
 * listener is broken for good (logged). */
static int accept_clients(struct server *s)
{
    for (int k = 0; k < ACCEPT_BATCH; k++) {
        int fd = net_accept(&s->l, SOCK_NONBLOCK);
        if (fd == NET_ACCEPT_NONE)
            return 0;
        if (fd == NET_ACCEPT_FATAL)
            return -1;
        if (fd == NET_ACCEPT_PAUSE) {
            /* Out of descriptors: the connection stays queued and the listener readable, so
             * watching it now would wake us at once, for ever. Rest it, and serve the clients
             * we have meanwhile (one of them leaving frees a descriptor). net_accept logged
             * the shortage once. */
            s->rest_until_ns = timing_now_ns() + (uint64_t)ACCEPT_PAUSE_MS * 1000000;
            return 0;
        }
        /* An echo of a large message leaves in several writes; with Nagle's algorithm each
         * one after the first would wait for an ACK the client delays. Only speed is at stake
         * if this fails (logged), so the client is served anyway. */
        (void)net_set_nodelay(fd);
        if (conns_add(s, fd) == -1) {
            log_sys("conns_add(fd=%d); dropping this client", fd);
            close(fd);
        }
    }
    return 0;
}

/* Double the room for connections (64 the first time), in both arrays. Returns 0, or -1 with
 * errno ENOMEM and the arrays as they were. */
static int conns_grow(struct server *s)
{
    size_t cap = s->cap > 0 ? s->cap * 2 : 64;
    struct conn *conns = realloc(s->conns, cap * sizeof *conns);
    if (conns == NULL)
        return -1;
    s->conns = conns; /* larger than needed if the next realloc fails: harmless */
    struct pollfd *pfds = realloc(s->pfds, (FIRST_CONN_SLOT + cap) * sizeof *pfds);
    if (pfds == NULL)
        return -1;
    s->pfds = pfds;
    s->cap = cap;
    return 0;
}

/* Add a connection on fd (non-blocking), growing the arrays when full. Returns 0, or -1 with
 * errno ENOMEM. */
static int conns_add(struct server *s, int fd)
{
    if (s->n == s->cap && conns_grow(s) == -1)
        return -1;
    s->conns[s->n++] = (struct conn){.fd = fd, .want = POLLIN};
    return 0;
}

/* Close connection i and forget it: the last one takes its place. */
static void conns_close(struct server *s, size_t i)
{
    struct conn *c = &s->conns[i];
    if (close(c->fd) == -1)
        log_sys("close(fd=%d)", c->fd);
    free(c->buf);
    s->conns[i] = s->conns[--s->n];
}

static void server_free(struct server *s)
{
    while (s->n > 0)
        conns_close(s, s->n - 1);
    free(s->conns);
    free(s->pfds);
    s->conns = NULL;
    s->pfds = NULL;
    s->cap = 0;
    (void)net_listener_close(&s->l); /* logged if it failed */
}

/*
 * Serve one ready connection: poll reported revents for it. Read what the client sent into
 * its output buffer (unless the buffer is full or the client is done sending), write back what
 * is pending, and set c->want to what to wait for next: POLLOUT while something is pending,
 * POLLIN while there is room and the client may still send.
 * Returns CONN_KEEP; CONN_DONE when the connection is over (the client closed and got every
 * byte back, or it reset the connection); or -1 with errno set on any other error. The caller
 * closes the connection in both of the last cases.
 */
static int conn_service(struct conn *c, short revents)
{
    /* YOUR CODE HERE: read, write back what is pending, set c->want (POLLOUT only while pending) */
    (void)c;
    (void)revents;
    (void)conn_read;
    (void)conn_write;
    errno = ENOSYS;
    return -1;
}

/* Read what the client sent into the free end of c's buffer: until a read comes back short
 * (the socket is empty for now) or OUT_CAP bytes are pending. Returns CONN_KEEP (bytes, end of
 * file noted in c->closing, or nothing to read after all), CONN_DONE (the client reset the
 * connection), or -1 with errno set. */
static int conn_read(struct conn *c)
{
    /* YOUR CODE HERE: read into c's buffer (buf_make_room first) until short; EOF sets c->closing */
    (void)c;
    (void)buf_make_room;
    errno = ENOSYS;
    return -1;
}

/* One write of what c has pending. Returns CONN_KEEP (all, part or none of it went out),
 * CONN_DONE (the client is gone), or -1 with errno set. */
static int conn_write(struct conn *c)
{
    /* YOUR CODE HERE: send what is pending once; a partial write keeps the rest for the next POLLOUT */
    (void)c;
    errno = ENOSYS;
    return -1;
}

/* Make sure c's buffer has free room at its end, for a read. The caller reads only while fewer
 * than OUT_CAP bytes are pending, so there is always a way: allocate, double (up to OUT_CAP),
 * or move the pending bytes to the front. Returns 0, or -1 with errno ENOMEM. */
static int buf_make_room(struct conn *c)
{
    if (c->len < c->cap)
        return 0;
    if (c->off == c->len)
        c->off = c->len = 0;
    if (c->len < c->cap)
        return 0;
    if (c->cap < OUT_CAP) {
        size_t cap = c->cap > 0 ? c->cap * 2 : BUF_FIRST;
        if (cap > OUT_CAP)
            cap = OUT_CAP;
        unsigned char *buf = realloc(c->buf, cap);
        if (buf == NULL)
            return -1;
        c->buf = buf;
        c->cap = cap;
        return 0;
    }
    /* Full-sized, with its head already sent: slide the pending bytes down. */
    memmove(c->buf, c->buf + c->off, c->len - c->off);
    c->len -= c->off;
    c->off = 0;
    return 0;
}
