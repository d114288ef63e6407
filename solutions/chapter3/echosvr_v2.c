/*
 * echosvr_v2: echosvr_v1 with statistics, printed by a periodic timer event (ex3.3).
 *
 * The echo is v1's, line for line: the exercise is "extend v1", so this file starts as a copy
 * of echosvr_v1.c (the same gaps, the same answers) and adds what is new. New here: counters
 * kept as the connections come, talk and go; a persistent timer event, not tied to any
 * descriptor, that prints them every -i SECONDS as one line on stdout; and one last line
 * at exit:
 *
 *   stats uptime_s=12.0 accepted=5 open=2 messages=100 bytes_in=6400 bytes_out=6400
 *         started=2026-11-26T11:00:00Z last_message=2026-11-26T11:00:12Z
 *
 * (one line). `messages` counts the read callbacks that moved data: one per chunk the server
 * read, which is not one per message the client sent (TCP keeps no message boundaries).
 */
#include "args.h"
#include "log.h"
#include "net.h"
#include "timing.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <errno.h>
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BACKLOG 1024               /* the kernel caps it at net.core.somaxconn */
#define ACCEPT_PAUSE_MS 100        /* how long the listener rests when accept runs out of fds */
#define OUT_HIGH (256 * 1024)      /* echo bytes waiting for a client before we stop reading it */
#define OUT_LOW (64 * 1024)        /* ... and resume once it has read its echo down to this */
#define READ_HIGH OUT_HIGH         /* libevent stops reading when this much input waits */
#define READ_SIZE_DEFAULT OUT_HIGH /* -R: bytes read per wake-up, see read_more() */
#define LIBEVENT_READ_MAX 4096     /* the most libevent 2.1 reads at once (EVBUFFER_MAX_READ) */
#define INTERVAL_DEFAULT 1.0       /* -i: seconds between two statistics lines */
#define INTERVAL_MIN 0.001
#define INTERVAL_MAX 86400.0

/* The server's statistics. Unsigned 64-bit counters: a signed int overflows (undefined
 * behaviour) after 2 GiB of echo, which a fast server reaches in seconds. */
struct stats {
    uint64_t accepted;   /* connections accepted since the start */
    uint64_t open;       /* connections open now: one more per accept, one less per close */
    uint64_t messages;   /* read callbacks that moved data (one per chunk read, see above) */
    uint64_t bytes_in;   /* bytes read from clients */
    uint64_t bytes_out;  /* bytes written to clients */
    uint64_t started_ns; /* timing_now_ns() at the start, for the uptime */
    time_t started;      /* the wall-clock time of the start */
    time_t last_message; /* the wall-clock time of the last message, 0 before the first */
};

/* What stats_count() is told about. */
enum stats_what {
    STATS_ACCEPTED, /* a connection was accepted */
    STATS_CLOSED,   /* a connection was closed, for whatever reason */
    STATS_MESSAGE,  /* a read callback moved `bytes` bytes from a client to its echo */
    STATS_WRITTEN,  /* `bytes` bytes of echo were written to a client */
};

struct server;

/* One client: its bufferevent, and its place in the list of open connections. */
struct conn {
    struct bufferevent *bev;
    struct server *srv;
    struct conn *prev;
    struct conn *next;
    int paused;  /* reading stopped: the output holds OUT_HIGH bytes or more */
    int closing; /* the client sent end of file: close once the output is empty */
};

struct server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *rest; /* re-enables the listener after it ran out of descriptors */
    struct event *sigint;
    struct event *sigterm;
    struct event *tick; /* the periodic timer that prints the statistics */
    struct conn *conns; /* every open connection, so that a shutdown can free them */
    struct stats st;
    size_t read_size; /* -R */
    int told_full;    /* the current descriptor shortage was logged already */
    int told_stats;   /* a failure of stats_count was logged already */
    int status;       /* the exit status */
};

struct options {
    const char *addr;
    int port;
    size_t read_size;
    double interval; /* -i, seconds */
};

static void usage(FILE *out);
static double parse_interval(const char *s);
static void parse_options(int argc, char **argv, struct options *opt);
static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *ctx);
static void accept_error_cb(struct evconnlistener *listener, void *ctx);
static void rest_over_cb(evutil_socket_t fd, short what, void *ctx);
static void signal_cb(evutil_socket_t sig, short what, void *ctx);
static void tick_cb(evutil_socket_t fd, short what, void *ctx);
static void output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *ctx);
static void echo_read_cb(struct bufferevent *bev, void *ctx);
static void echo_write_cb(struct bufferevent *bev, void *ctx);
static void echo_event_cb(struct bufferevent *bev, short what, void *ctx);
static void read_more(struct conn *c);
static void read_into(evutil_socket_t fd, struct evbuffer *in, struct evbuffer_iovec *vec, int nvec,
                      size_t want);
static int echo_input(struct conn *c);
static int echo_output_drained(struct conn *c);
static int echo_conn_event(struct conn *c, short what);
static void conn_close(struct conn *c);
static void count(struct server *srv, enum stats_what what, size_t bytes);
static int stats_count(struct stats *st, enum stats_what what, size_t bytes, time_t now);
static int stats_print(const struct stats *st, uint64_t now_ns, FILE *out);

int main(int argc, char **argv)
{
    struct options opt;
    struct server srv = {.status = 1};
    struct net_listener nl = {.fd = -1};
    int port = 0;

    log_init(argv[0]);
    parse_options(argc, argv, &opt);
    srv.read_size = opt.read_size;
    srv.st.started_ns = timing_now_ns();
    srv.st.started = time(NULL);

    /* bufferevents write with writev(), which raises SIGPIPE when the client has gone; we
     * want EPIPE, reported to the event callback, instead of dying. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        log_sys("signal(SIGPIPE, SIG_IGN)");
        return 1;
    }
    srv.base = event_base_new();
    if (srv.base == NULL) {
        log_msg("event_base_new failed");
        return 1;
    }
    /* Our own socket (common/net.c: SO_REUSEADDR, non-blocking, the port bound with -p 0),
     * handed to libevent already listening (backlog 0 says so). */
    if (net_listener_open(&nl, opt.addr, opt.port, BACKLOG, &port) == -1)
        goto out;
    srv.listener = evconnlistener_new(srv.base, accept_cb, &srv,
                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, nl.fd);
    if (srv.listener == NULL) {
        log_msg("evconnlistener_new(fd=%d) failed", nl.fd);
        net_listener_close(&nl);
        goto out;
    }
    evconnlistener_set_error_cb(srv.listener, accept_error_cb);
    srv.rest = evtimer_new(srv.base, rest_over_cb, &srv);
    srv.sigint = evsignal_new(srv.base, SIGINT, signal_cb, &srv);
    srv.sigterm = evsignal_new(srv.base, SIGTERM, signal_cb, &srv);
    /* A timer is an event on no descriptor (-1); EV_PERSIST adds it again after each run,
     * every interval, measured from when it was due rather than from when the callback ended. */
    srv.tick = event_new(srv.base, -1, EV_PERSIST, tick_cb, &srv);
    if (srv.rest == NULL || srv.sigint == NULL || srv.sigterm == NULL || srv.tick == NULL) {
        log_msg("evtimer_new, evsignal_new or event_new failed");
        goto out;
    }
    /* Rounded to the microsecond, without libm: the interval is positive. */
    time_t whole = (time_t)opt.interval;
    struct timeval every = {whole, (suseconds_t)((opt.interval - (double)whole) * 1e6 + 0.5)};
    if (every.tv_usec >= 1000000) {
        every.tv_sec++;
        every.tv_usec -= 1000000;
    }
    if (event_add(srv.sigint, NULL) == -1 || event_add(srv.sigterm, NULL) == -1 ||
        event_add(srv.tick, &every) == -1) {
        log_msg("event_add(SIGINT, SIGTERM or timer event) failed");
        goto out;
    }

    net_announce_listening(port);
    srv.status = 0;
    if (event_base_dispatch(srv.base) == -1) {
        log_msg("event_base_dispatch failed");
        srv.status = 1;
    }
    /* The last word: the totals of the whole run. */
    if (stats_print(&srv.st, timing_now_ns(), stdout) == -1) {
        log_sys("stats_print");
        srv.status = 1;
    }

out:
    /* The reverse of the set-up: connections first (their bufferevents belong to the base). */
    while (srv.conns != NULL)
        conn_close(srv.conns);
    if (srv.tick != NULL)
        event_free(srv.tick);
    if (srv.sigterm != NULL)
        event_free(srv.sigterm);
    if (srv.sigint != NULL)
        event_free(srv.sigint);
    if (srv.rest != NULL)
        event_free(srv.rest);
    if (srv.listener != NULL)
        evconnlistener_free(srv.listener); /* closes the listening socket */
    event_base_free(srv.base);
    /* libevent's own global state, so that valgrind sees nothing left at exit. */
    libevent_global_shutdown();
    return srv.status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-a ADDR] -p PORT [-i SECONDS] [-R BYTES]\n"
            "\n"
            "echosvr_v1 with statistics: an echo server on libevent that prints, every\n"
            "SECONDS and once more at exit, one line on stdout:\n"
            "  stats uptime_s=U accepted=A open=O messages=M bytes_in=I bytes_out=W\n"
            "        started=YYYY-MM-DDTHH:MM:SSZ last_message=YYYY-MM-DDTHH:MM:SSZ (or -)\n"
            "messages counts the reads that moved data (one per chunk read, not per message\n"
            "sent); times are UTC. A client that sends without reading its echo is not read\n"
            "from while %d KiB of its echo wait to be sent.\n"
            "Prints \"listening on port N\" once it accepts connections; SIGINT or SIGTERM\n"
            "closes every connection and stops it with exit status 0.\n"
            "\n" ARGS_LISTEN_HELP
            "  -i, --interval SECONDS  time between two statistics lines, decimals allowed\n"
            "                   (0.001 to 86400; default 1)\n"
            "  -R, --read-size BYTES  most bytes read from a client per wake-up, 1 to %d\n"
            "                   (default %d); libevent 2.1 reads 4096 at most by itself,\n"
            "                   and -R 4096 leaves it at that\n",
            log_progname(), OUT_HIGH / 1024, OUT_HIGH, READ_SIZE_DEFAULT);
}

/* The value of -i: a decimal number of seconds from INTERVAL_MIN to INTERVAL_MAX. */
static double parse_interval(const char *s)
{
    char *end;
    errno = 0;
    /* strtod alone would take leading blanks, "nan" and "inf"; refuse them all. */
    double v = (s[0] == '\0' || isspace((unsigned char)s[0])) ? NAN : strtod(s, &end);
    if (isnan(v) || *end != '\0' || errno == ERANGE || !(v >= INTERVAL_MIN && v <= INTERVAL_MAX))
        args_usage_error("-i: expected a number of seconds from %g to %g (decimals allowed), "
                         "got '%s'",
                         INTERVAL_MIN, INTERVAL_MAX, s);
    return v;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"addr", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"read-size", required_argument, NULL, 'R'},
        {"interval", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    *opt = (struct options){.addr = ARGS_DEFAULT_ADDR,
                            .port = -1,
                            .read_size = READ_SIZE_DEFAULT,
                            .interval = INTERVAL_DEFAULT};
    opterr = 0; /* our own one-line message instead of getopt's */
    while ((c = getopt_long(argc, argv, "a:p:R:i:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': opt->addr = args_ipv4(optarg); break;
        case 'p': opt->port = args_port(optarg); break;
        case 'R': opt->read_size = (size_t)args_number("-R", optarg, 1, OUT_HIGH); break;
        case 'i': opt->interval = parse_interval(optarg); break;
        case 'h': usage(stdout); exit(0);
        default: args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
    if (opt->port == -1)
        args_usage_error("-p PORT is required; 0 picks a free port");
}

/* A new client: give it a bufferevent with our callbacks and limits, and list it. */
static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *ctx)
{
    struct server *srv = ctx;
    (void)listener;
    (void)sa;
    (void)socklen;

    srv->told_full = 0; /* a shortage, if there was one, is over: the next one is news */
    /* An echo of a large message leaves in several writes; with Nagle's algorithm each one
     * after the first would wait for an ACK that the client delays. Only speed is at stake if
     * this fails (logged), so the client is served anyway. */
    (void)net_set_nodelay(fd);

    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        log_sys("calloc(connection fd=%d); dropping this client", (int)fd);
        close(fd);
        return;
    }
    c->srv = srv;
    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        log_msg("bufferevent_socket_new(fd=%d) failed; dropping this client", (int)fd);
        close(fd);
        free(c);
        return;
    }
    bufferevent_setcb(c->bev, echo_read_cb, echo_write_cb, echo_event_cb, c);
    /* Told of every change to the output buffer: what leaves it went to the client. */
    if (evbuffer_add_cb(bufferevent_get_output(c->bev), output_cb, c) == NULL) {
        log_msg("evbuffer_add_cb(fd=%d) failed; dropping this client", (int)fd);
        bufferevent_free(c->bev); /* closes fd */
        free(c);
        return;
    }
    /* Defence in depth: even if the read callback left input behind, libevent stops reading
     * once READ_HIGH bytes wait. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, READ_HIGH);
    /* Where libevent honours it (below 4096 bytes in 2.1, everywhere in 2.2), this is the most
     * one read takes; read_more() does the rest in 2.1. */
    bufferevent_set_max_single_read(c->bev, srv->read_size);
    if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1) {
        log_msg("bufferevent_enable(fd=%d) failed; dropping this client", (int)fd);
        bufferevent_free(c->bev); /* closes fd */
        free(c);
        return;
    }
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    count(srv, STATS_ACCEPTED, 0);
}

/* accept failed with something other than EAGAIN, EINTR or ECONNABORTED (libevent retries
 * those by itself). */
static void accept_error_cb(struct evconnlistener *listener, void *ctx)
{
    struct server *srv = ctx;
    int err = EVUTIL_SOCKET_ERROR();

    switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM: {
        /* The connection stays queued and the listener readable: left enabled, it would call
         * us again at once, for ever. Rest it; the clients we have are served meanwhile, and
         * one of them leaving frees a descriptor. One line per shortage, not per retry. */
        if (!srv->told_full) {
            errno = err;
            log_sys("accept (new connections wait until it works again)");
            srv->told_full = 1;
        }
        struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
        if (evconnlistener_disable(listener) == -1 || event_add(srv->rest, &pause) == -1) {
            log_msg("could not rest the listener; stopping");
            srv->status = 1;
            event_base_loopexit(srv->base, NULL);
        }
        return;
    }
    /* The new connection's own network error, which accept(2) asks to treat like EAGAIN. */
    case EPROTO:
    case ENOPROTOOPT:
    case ENETDOWN:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH: return;
    default:
        errno = err;
        log_sys("accept; stopping");
        srv->status = 1;
        event_base_loopexit(srv->base, NULL);
    }
}

static void rest_over_cb(evutil_socket_t fd, short what, void *ctx)
{
    struct server *srv = ctx;
    (void)fd;
    (void)what;
    if (evconnlistener_enable(srv->listener) == -1) {
        log_msg("evconnlistener_enable failed; stopping");
        srv->status = 1;
        event_base_loopexit(srv->base, NULL);
    }
}

static void signal_cb(evutil_socket_t sig, short what, void *ctx)
{
    struct server *srv = ctx;
    (void)sig;
    (void)what;
    /* Leave the loop after this round of callbacks; main frees everything. */
    event_base_loopexit(srv->base, NULL);
}

/*
 * libevent 2.1 reads at most 4096 bytes per wake-up (LIBEVENT_READ_MAX, from its buffer.c),
 * whatever bufferevent_set_max_single_read says: a 1 MiB message costs 256 rounds of the
 * loop. Before the echo, take up to srv->read_size bytes in all with one more readv() straight
 * into the input buffer's free space (evbuffer_reserve_space: no copy). Never beyond OUT_HIGH
 * queued, so back-pressure holds. End of file or an error is left for the bufferevent's next
 * read to see and report: the socket stays readable.
 */
static void read_more(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t have = evbuffer_get_length(in);
    size_t queued = have + evbuffer_get_length(bufferevent_get_output(c->bev));
    /* Less than a full read means libevent emptied the socket: another read would only say
     * EAGAIN, a system call per message for nothing. */
    if (have < LIBEVENT_READ_MAX || c->paused || have >= c->srv->read_size || queued >= OUT_HIGH)
        return;
    size_t want = c->srv->read_size - have;
    if (want > OUT_HIGH - queued)
        want = OUT_HIGH - queued;

    /* A socket bufferevent keeps its input's end frozen except around its own reads; this is
     * one more of those, so thaw it for the time of the read. */
    evbuffer_unfreeze(in, 0);
    struct evbuffer_iovec vec[2];
    int nvec = evbuffer_reserve_space(in, (ev_ssize_t)want, vec, 2);
    if (nvec > 0)
        read_into(bufferevent_getfd(c->bev), in, vec, nvec, want);
    evbuffer_freeze(in, 0);
}

/* readv() at most want bytes from fd into the nvec reserved vectors vec, and commit to in
 * what arrived. Nothing arrived (EAGAIN, end of file, an error): nothing is committed. */
static void read_into(evutil_socket_t fd, struct evbuffer *in, struct evbuffer_iovec *vec, int nvec,
                      size_t want)
{
    struct iovec iov[2];
    size_t left = want;
    for (int i = 0; i < nvec; i++) {
        iov[i].iov_base = vec[i].iov_base;
        iov[i].iov_len = vec[i].iov_len < left ? vec[i].iov_len : left;
        left -= iov[i].iov_len;
    }
    ssize_t n = readv(fd, iov, nvec);
    if (n <= 0) {
        evbuffer_commit_space(in, vec, 0); /* nothing to add */
        return;
    }
    size_t got = (size_t)n;
    int used = 0;
    for (; used < nvec && got > 0; used++) {
        vec[used].iov_len = iov[used].iov_len < got ? iov[used].iov_len : got;
        got -= vec[used].iov_len;
    }
    evbuffer_commit_space(in, vec, used);
}

static void echo_read_cb(struct bufferevent *bev, void *ctx)
{
    struct conn *c = ctx;
    read_more(c);
    size_t n = evbuffer_get_length(bufferevent_get_input(bev));
    if (echo_input(c) == -1) {
        log_sys("echo_input(fd=%d); closing it", (int)bufferevent_getfd(bev));
        conn_close(c);
        return;
    }
    if (n > 0)
        count(c->srv, STATS_MESSAGE, n);
}

/* An evbuffer callback on a client's output: info->n_deleted bytes were drained from it,
 * which for a socket bufferevent means written to the client. */
static void output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *ctx)
{
    struct conn *c = ctx;
    (void)buf;
    if (info->n_deleted > 0)
        count(c->srv, STATS_WRITTEN, info->n_deleted);
}

static void tick_cb(evutil_socket_t fd, short what, void *ctx)
{
    struct server *srv = ctx;
    (void)fd;
    (void)what;
    if (stats_print(&srv->st, timing_now_ns(), stdout) == -1) {
        log_sys("stats_print");
        /* One line each time would flood the log: say it, and stop the timer. */
        event_del(srv->tick);
    }
}

/* Called when the output buffer has drained to the write low-watermark (0 unless paused). */
static void echo_write_cb(struct bufferevent *bev, void *ctx)
{
    struct conn *c = ctx;
    int r = echo_output_drained(c);
    if (r == -1)
        log_sys("echo_output_drained(fd=%d); closing it", (int)bufferevent_getfd(bev));
    if (r != 0)
        conn_close(c);
}

static void echo_event_cb(struct bufferevent *bev, short what, void *ctx)
{
    struct conn *c = ctx;
    int r = echo_conn_event(c, what);
    if (r == -1)
        log_sys("connection fd=%d (events 0x%x); closing it", (int)bufferevent_getfd(bev),
                (unsigned)what);
    if (r != 0)
        conn_close(c);
}

/*
 * The read callback's work: move everything in c's input buffer to its output buffer, where
 * the bufferevent writes it out by itself. Once OUT_HIGH bytes or more are waiting in the
 * output, stop reading this client (back-pressure) and ask for the write callback when the
 * output has drained to OUT_LOW. Returns 0, or -1 with errno set.
 */
static int echo_input(struct conn *c)
{
    //@solution
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);

    /* Hands over the input's memory chunks to the output: no copy and no buffer of ours, so
     * no size limit to get wrong and no terminating byte to write past the end. */
    if (evbuffer_add_buffer(out, in) == -1) {
        errno = EINVAL; /* only a frozen buffer makes it fail, and libevent sets no errno */
        return -1;
    }
    if (!c->paused && evbuffer_get_length(out) >= OUT_HIGH) {
        /* The client is not reading its echo fast enough. Reading on would pile up its bytes
         * here without bound; stopped, they wait in the kernel, and TCP's flow control makes
         * the client's send wait in turn. */
        if (bufferevent_disable(c->bev, EV_READ) == -1) {
            errno = EINVAL;
            return -1;
        }
        bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
        c->paused = 1;
    }
    return 0;
    //@stub move the input buffer to the output (evbuffer_add_buffer); above OUT_HIGH stop reading
    //@ (void)c;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/*
 * The write callback's work, once c's output has drained to the write low-watermark: if
 * reading was paused, resume it (and set the low-watermark back to 0); if the client has
 * closed its side and everything went out, the connection is done.
 * Returns 0 (keep the connection), 1 (close it), or -1 with errno set.
 */
static int echo_output_drained(struct conn *c)
{
    //@solution
    size_t left = evbuffer_get_length(bufferevent_get_output(c->bev));
    if (c->paused && left <= OUT_LOW) {
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
        if (bufferevent_enable(c->bev, EV_READ) == -1) {
            errno = EINVAL;
            return -1;
        }
        c->paused = 0;
    }
    return c->closing && left == 0 ? 1 : 0;
    //@stub resume reading a paused client (write low-watermark back to 0); 1 once closing and empty
    //@ (void)c;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/*
 * The event callback's work: `what` holds BEV_EVENT_EOF or BEV_EVENT_ERROR (with
 * BEV_EVENT_READING or BEV_EVENT_WRITING). End of file: close now if nothing is waiting to be
 * sent, else mark c closing so that echo_output_drained closes it once the echo is out. An
 * error: close; a reset or a broken pipe is the client's normal way of leaving, any other
 * error is reported.
 * Returns 0 (keep the connection for now), 1 (close it), or -1 with errno set to the socket
 * error (the caller logs it and closes).
 */
static int echo_conn_event(struct conn *c, short what)
{
    //@solution
    if (what & BEV_EVENT_ERROR) {
        int err = EVUTIL_SOCKET_ERROR();
        if (err == ECONNRESET || err == EPIPE || err == 0)
            return 1;
        errno = err;
        return -1;
    }
    if (what & BEV_EVENT_EOF) {
        /* Half-closed: the client may still be reading. libevent stopped reading already. */
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
            return 1;
        c->closing = 1;
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    }
    return 0;
    //@stub end of file: close now, or once the output is empty (c->closing); errors: close
    //@ (void)c;
    //@ (void)what;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/* Free c's bufferevent (which closes the socket) and forget c. Safe inside c's callbacks. */
static void conn_close(struct conn *c)
{
    struct server *srv = c->srv;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    bufferevent_free(c->bev);
    free(c);
    count(srv, STATS_CLOSED, 0);
}

/* stats_count() with the time of this round of the loop, and its failure logged once. */
static void count(struct server *srv, enum stats_what what, size_t bytes)
{
    struct timeval now;
    /* The time libevent read when this round began: no system call per message. */
    if (event_base_gettimeofday_cached(srv->base, &now) == -1)
        now.tv_sec = time(NULL);
    if (stats_count(&srv->st, what, bytes, now.tv_sec) == -1 && !srv->told_stats) {
        log_sys("stats_count(what=%d, bytes=%zu)", (int)what, bytes);
        srv->told_stats = 1;
    }
}

/*
 * Count one event in st (what and bytes: see enum stats_what; now: the wall-clock time).
 * Returns 0, or -1 with errno EINVAL for an unknown `what` and ERANGE for a close with no
 * connection open (a counting bug that must not wrap `open` round to 2^64 - 1).
 */
static int stats_count(struct stats *st, enum stats_what what, size_t bytes, time_t now)
{
    //@solution
    switch (what) {
    case STATS_ACCEPTED:
        st->accepted++;
        st->open++;
        return 0;
    case STATS_CLOSED:
        /* The tutorial's counters only ever went up; `open` must come down again. */
        if (st->open == 0) {
            errno = ERANGE;
            return -1;
        }
        st->open--;
        return 0;
    case STATS_MESSAGE:
        st->messages++;
        st->bytes_in += bytes;
        st->last_message = now;
        return 0;
    case STATS_WRITTEN: st->bytes_out += bytes; return 0;
    }
    errno = EINVAL;
    return -1;
    //@stub update st's counters for `what`: accepted, open (up and down), messages, bytes
    //@ (void)st;
    //@ (void)what;
    //@ (void)bytes;
    //@ (void)now;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/* Write t as UTC in ISO 8601, "2026-11-26T11:00:00Z", or "-" when t is 0, into buf[cap]. */
static void format_utc(time_t t, char *buf, size_t cap)
{
    struct tm tm;
    if (t == 0 || gmtime_r(&t, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "-");
}

/*
 * Print st as one line on out and flush it (now_ns: timing_now_ns(), for the uptime):
 *
 *   stats uptime_s=12.0 accepted=5 open=2 messages=100 bytes_in=6400 bytes_out=6400
 *         started=2026-11-26T11:00:00Z last_message=2026-11-26T11:00:12Z
 *
 * all on one line; uptime with one decimal, times in UTC (format_utc), last_message=- before
 * the first message. Returns 0, or -1 with errno set when the line could not be written.
 */
static int stats_print(const struct stats *st, uint64_t now_ns, FILE *out)
{
    //@solution
    char started[32];
    char last[32];
    format_utc(st->started, started, sizeof started);
    format_utc(st->last_message, last, sizeof last);
    double uptime = (double)(now_ns - st->started_ns) / 1e9;
    /* PRIu64: the counters are uint64_t, and %lu is not uint64_t everywhere. */
    if (fprintf(out,
                "stats uptime_s=%.1f accepted=%" PRIu64 " open=%" PRIu64 " messages=%" PRIu64
                " bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " started=%s last_message=%s\n",
                uptime, st->accepted, st->open, st->messages, st->bytes_in, st->bytes_out, started,
                last) < 0)
        return -1;
    /* A pipe would otherwise keep the line until 4 KiB of them pile up. */
    return fflush(out) == EOF ? -1 : 0;
    //@stub print st as the one "stats ..." line of the header comment on out, and flush it
    //@ (void)st;
    //@ (void)now_ns;
    //@ (void)out;
    //@ (void)format_utc;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}
