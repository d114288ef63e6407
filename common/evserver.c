/*
 * evserver: the given libevent server skeleton (see evserver.h): chapter 3's echo servers and
 * chapter 4's servers are built on it.
 *
 * libevent runs the loop: an evconnlistener accepts, each connection gets a bufferevent,
 * which reads into its input buffer and writes out its output buffer by itself, and calls
 * back; the server's hooks do the work of those callbacks. Running out of descriptors rests
 * the listener for a moment instead of spinning on accept. SIGINT or SIGTERM ends the loop;
 * every connection, event and the base are then freed.
 */
#include "evserver.h"

#include "args.h"
#include "log.h"
#include "net.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define BACKLOG 1024           /* the kernel caps it at net.core.somaxconn */
#define ACCEPT_PAUSE_MS 100    /* how long the listener rests when accept runs out of fds */
#define LIBEVENT_READ_MAX 4096 /* the most libevent 2.1 reads at once (EVBUFFER_MAX_READ) */
#define OPT_REUSEPORT 256      /* getopt's code of --reuseport, which has no short letter */

/* One connection as evserver keeps it: its bufferevent, its place in the list of open
 * connections, and the server's struct conn in the same allocation, right behind. */
struct evconn {
    struct bufferevent *bev;
    struct evserver *srv;
    struct evconn *prev;
    struct evconn *next;
    max_align_t conn[]; /* the server's struct conn: config.conn_size bytes */
};

struct evserver {
    struct evserver_config config; /* a copy: one indirection less on every callback */
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *rest; /* re-enables the listener after it ran out of descriptors */
    struct event *sigint;
    struct event *sigterm;
    struct evconn *conns; /* every open connection, so that a shutdown can free them */
    size_t nconns;        /* ... and how many */
    uint64_t refused;     /* clients refused since the last logged refusal (conn_alloc NULL) */
    size_t read_size;     /* -R */
    int port;             /* the port bound, for "listening on port N" */
    int told_full;        /* the current descriptor shortage was logged already */
    int status;           /* the exit status */
};

/* What the command line asks for. */
struct options {
    const char *addr;
    int port;
    size_t read_size;
    int reuseport; /* --reuseport: share the port with other processes (SO_REUSEPORT) */
};

static void parse_options(int argc, char **argv, const struct evserver_config *config,
                          struct options *opt);
static int setup(struct evserver *srv, const struct options *opt);
static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *ctx);
static void accept_error_cb(struct evconnlistener *listener, void *ctx);
static void rest_over_cb(evutil_socket_t fd, short what, void *ctx);
static void signal_cb(evutil_socket_t sig, short what, void *ctx);
static void read_cb(struct bufferevent *bev, void *ctx);
static void write_cb(struct bufferevent *bev, void *ctx);
static void event_cb(struct bufferevent *bev, short what, void *ctx);
static void read_more(struct evconn *ec);
static void read_into(evutil_socket_t fd, struct evbuffer *in, struct evbuffer_iovec *vec, int nvec,
                      size_t want);
static void conn_close(struct evconn *ec);
static struct evconn *conn_block_get(struct evserver *srv, evutil_socket_t fd);
static void conn_block_put(struct evserver *srv, struct evconn *ec);

/* The server's struct conn of a connection. */
static inline struct conn *conn_of(struct evconn *ec)
{
    return (struct conn *)(void *)ec->conn;
}

size_t evserver_conn_bytes(size_t conn_size)
{
    return offsetof(struct evconn, conn) + conn_size;
}

void evserver_usage_options(FILE *out, size_t out_high)
{
    fprintf(out,
            ARGS_LISTEN_HELP
            "  -R, --read-size BYTES  most bytes read from a client per wake-up, 1 to %zu\n"
            "                   (default %zu); libevent 2.1 reads 4096 at most by itself,\n"
            "                   and -R 4096 leaves it at that\n"
            "      --reuseport  set SO_REUSEPORT, so that several processes started with\n"
            "                   the same -a and a fixed -p share the port (the kernel spreads\n"
            "                   the connections over them)\n",
            out_high, out_high);
}

struct evserver *evserver_new(int argc, char **argv, const struct evserver_config *config)
{
    struct options opt;
    parse_options(argc, argv, config, &opt);

    /* bufferevents write with writev(), which raises SIGPIPE when the client has gone; we
     * want EPIPE, reported to the event callback, instead of dying. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        log_sys("signal(SIGPIPE, SIG_IGN)");
        return NULL;
    }
    struct evserver *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        log_sys("calloc(server)");
        return NULL;
    }
    *srv = (struct evserver){.config = *config, .read_size = opt.read_size, .status = 1};
    if (setup(srv, &opt) == -1) {
        evserver_free(srv);
        return NULL;
    }
    return srv;
}

/* The base, the listener, the rest timer and the signal events of srv. Returns 0, or -1
 * (logged) with what was made left for evserver_free. */
static int setup(struct evserver *srv, const struct options *opt)
{
    struct net_listener nl = {.fd = -1};

    srv->base = event_base_new();
    if (srv->base == NULL) {
        log_msg("event_base_new failed");
        return -1;
    }
    /* Our own socket (common/net.c: SO_REUSEADDR, non-blocking, the port bound with -p 0),
     * handed to libevent already listening (backlog 0 says so). */
    int rc = opt->reuseport
                 ? net_listener_open_shared(&nl, opt->addr, opt->port, BACKLOG, &srv->port)
                 : net_listener_open(&nl, opt->addr, opt->port, BACKLOG, &srv->port);
    if (rc == -1)
        return -1;
    srv->listener = evconnlistener_new(srv->base, accept_cb, srv,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, nl.fd);
    if (srv->listener == NULL) {
        log_msg("evconnlistener_new(fd=%d) failed", nl.fd);
        net_listener_close(&nl);
        return -1;
    }
    evconnlistener_set_error_cb(srv->listener, accept_error_cb);
    srv->rest = evtimer_new(srv->base, rest_over_cb, srv);
    srv->sigint = evsignal_new(srv->base, SIGINT, signal_cb, srv);
    srv->sigterm = evsignal_new(srv->base, SIGTERM, signal_cb, srv);
    if (srv->rest == NULL || srv->sigint == NULL || srv->sigterm == NULL) {
        log_msg("evtimer_new or evsignal_new failed");
        return -1;
    }
    if (event_add(srv->sigint, NULL) == -1 || event_add(srv->sigterm, NULL) == -1) {
        log_msg("event_add(SIGINT or SIGTERM event) failed");
        return -1;
    }
    return 0;
}

struct event_base *evserver_base(struct evserver *srv)
{
    return srv->base;
}

int evserver_run(struct evserver *srv)
{
    net_announce_listening(srv->port);
    srv->status = 0;
    if (event_base_dispatch(srv->base) == -1) {
        log_msg("event_base_dispatch failed");
        srv->status = 1;
    }
    return srv->status;
}

void evserver_free(struct evserver *srv)
{
    /* The reverse of the set-up: connections first (their bufferevents belong to the base). */
    while (srv->conns != NULL)
        conn_close(srv->conns);
    if (srv->sigterm != NULL)
        event_free(srv->sigterm);
    if (srv->sigint != NULL)
        event_free(srv->sigint);
    if (srv->rest != NULL)
        event_free(srv->rest);
    if (srv->listener != NULL)
        evconnlistener_free(srv->listener); /* closes the listening socket */
    if (srv->base != NULL)
        event_base_free(srv->base);
    free(srv);
    /* libevent's own global state, so that valgrind sees nothing left at exit. */
    libevent_global_shutdown();
}

static void parse_options(int argc, char **argv, const struct evserver_config *config,
                          struct options *opt)
{
    const struct evserver_option *own = config->option;
    struct option longopts[] = {
        {"addr", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"read-size", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {"reuseport", no_argument, NULL, OPT_REUSEPORT},
        {own != NULL ? own->name : NULL, required_argument, NULL, own != NULL ? own->letter : 0},
        {NULL, 0, NULL, 0},
    };
    char optstring[16] = "a:p:R:h";
    if (own != NULL)
        snprintf(optstring, sizeof optstring, "a:p:R:h%c:", own->letter);
    long max_read = (long)config->out_high;
    int c;

    *opt = (struct options){.addr = ARGS_DEFAULT_ADDR, .port = -1, .read_size = config->out_high};
    opterr = 0; /* our own one-line message instead of getopt's */
    while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
        if (own != NULL && c == own->letter) {
            own->set(optarg, config->app);
            continue;
        }
        switch (c) {
        case 'a': opt->addr = args_ipv4(optarg); break;
        case 'p': opt->port = args_port(optarg); break;
        case 'R': opt->read_size = (size_t)args_number("-R", optarg, 1, max_read); break;
        case 'h': config->usage(stdout); exit(0);
        case OPT_REUSEPORT: opt->reuseport = 1; break;
        default: args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
    if (opt->port == -1)
        args_usage_error("-p PORT is required; 0 picks a free port");
    if (opt->reuseport && opt->port == 0)
        args_usage_error("--reuseport needs a fixed -p PORT: with 0 each process gets its own");
}

/* A new client: give it a bufferevent with our callbacks and limits, let the server set up
 * its struct conn, and list it. */
static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *ctx)
{
    struct evserver *srv = ctx;
    (void)listener;
    (void)sa;
    (void)socklen;

    srv->told_full = 0; /* a shortage, if there was one, is over: the next one is news */
    /* An echo of a large message leaves in several writes; with Nagle's algorithm each one
     * after the first would wait for an ACK that the client delays. Only speed is at stake if
     * this fails (logged), so the client is served anyway. */
    (void)net_set_nodelay(fd);

    struct evconn *ec = conn_block_get(srv, fd);
    if (ec == NULL) {
        close(fd);
        return;
    }
    ec->srv = srv;
    ec->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (ec->bev == NULL) {
        log_msg("bufferevent_socket_new(fd=%d) failed; dropping this client", (int)fd);
        close(fd);
        conn_block_put(srv, ec);
        return;
    }
    bufferevent_setcb(ec->bev, read_cb, write_cb, event_cb, ec);
    /* Defence in depth: even if the input hook left input behind, libevent stops reading
     * once out_high bytes wait. */
    bufferevent_setwatermark(ec->bev, EV_READ, 0, srv->config.out_high);
    /* Where libevent honours it (below 4096 bytes in 2.1, everywhere in 2.2), this is the most
     * one read takes; read_more() does the rest in 2.1. */
    bufferevent_set_max_single_read(ec->bev, srv->read_size);
    if (bufferevent_enable(ec->bev, EV_READ | EV_WRITE) == -1) {
        log_msg("bufferevent_enable(fd=%d) failed; dropping this client", (int)fd);
        bufferevent_free(ec->bev); /* closes fd */
        conn_block_put(srv, ec);
        return;
    }
    /* Last: no callback runs before we are back in the loop, so nothing is lost. */
    if (srv->config.opened(conn_of(ec), ec->bev, srv->config.app) == -1) {
        bufferevent_free(ec->bev); /* closes fd; the hook said why */
        conn_block_put(srv, ec);
        return;
    }
    srv->nconns++;
    ec->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = ec;
    srv->conns = ec;
}

/* accept failed with something other than EAGAIN, EINTR or ECONNABORTED (libevent retries
 * those by itself). */
static void accept_error_cb(struct evconnlistener *listener, void *ctx)
{
    struct evserver *srv = ctx;
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
    struct evserver *srv = ctx;
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
    struct evserver *srv = ctx;
    (void)sig;
    (void)what;
    /* Leave the loop after this round of callbacks; the caller frees everything. */
    event_base_loopexit(srv->base, NULL);
}

static void read_cb(struct bufferevent *bev, void *ctx)
{
    struct evconn *ec = ctx;
    const struct evserver_hook *h = &ec->srv->config.input;
    read_more(ec);
    int r = h->fn(conn_of(ec));
    if (r == -1)
        log_sys("%s(fd=%d); closing it", h->name, (int)bufferevent_getfd(bev));
    if (r != 0)
        conn_close(ec);
}

/* Called when the output buffer has drained to the write low-watermark. */
static void write_cb(struct bufferevent *bev, void *ctx)
{
    struct evconn *ec = ctx;
    const struct evserver_hook *h = &ec->srv->config.drained;
    int r = h->fn(conn_of(ec));
    if (r == -1)
        log_sys("%s(fd=%d); closing it", h->name, (int)bufferevent_getfd(bev));
    if (r != 0)
        conn_close(ec);
}

static void event_cb(struct bufferevent *bev, short what, void *ctx)
{
    struct evconn *ec = ctx;
    const struct evserver_event_hook *h = &ec->srv->config.event;
    int r = h->fn(conn_of(ec), what);
    if (r == -1)
        log_sys("%s(fd=%d, what=0x%x); closing it", h->name, (int)bufferevent_getfd(bev),
                (unsigned)what);
    if (r != 0)
        conn_close(ec);
}

/*
 * libevent 2.1 reads at most 4096 bytes per wake-up (LIBEVENT_READ_MAX, from its buffer.c),
 * whatever bufferevent_set_max_single_read says: a 1 MiB message costs 256 rounds of the
 * loop. Before the input hook, take up to read_size (-R) bytes in all with one more readv()
 * straight into the input buffer's free space (evbuffer_reserve_space: no copy). Never beyond
 * out_high queued, so back-pressure holds. End of file or an error is left for the
 * bufferevent's next read to see and report: the socket stays readable.
 */
static void read_more(struct evconn *ec)
{
    struct evserver *srv = ec->srv;
    struct evbuffer *in = bufferevent_get_input(ec->bev);
    size_t have = evbuffer_get_length(in);
    size_t out_high = srv->config.out_high;
    /* Less than a full read means libevent emptied the socket: another read would only say
     * EAGAIN, a system call per message for nothing. */
    if (have < LIBEVENT_READ_MAX || have >= srv->read_size)
        return;
    size_t queued = have + evbuffer_get_length(bufferevent_get_output(ec->bev));
    /* Reading stopped (the server's back-pressure): leave the client's bytes in the kernel. */
    if (queued >= out_high || !(bufferevent_get_enabled(ec->bev) & EV_READ))
        return;
    size_t want = srv->read_size - have;
    if (want > out_high - queued)
        want = out_high - queued;

    /* A socket bufferevent keeps its input's end frozen except around its own reads; this is
     * one more of those, so thaw it for the time of the read. */
    evbuffer_unfreeze(in, 0);
    struct evbuffer_iovec vec[2];
    int nvec = evbuffer_reserve_space(in, (ev_ssize_t)want, vec, 2);
    if (nvec > 0)
        read_into(bufferevent_getfd(ec->bev), in, vec, nvec, want);
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

/* Tell the server, free ec's bufferevent (which closes the socket) and forget ec. Safe inside
 * ec's callbacks. */
static void conn_close(struct evconn *ec)
{
    struct evserver *srv = ec->srv;
    if (srv->config.closed != NULL)
        srv->config.closed(conn_of(ec));
    if (ec->prev != NULL)
        ec->prev->next = ec->next;
    else
        srv->conns = ec->next;
    if (ec->next != NULL)
        ec->next->prev = ec->prev;
    srv->nconns--;
    bufferevent_free(ec->bev);
    conn_block_put(srv, ec);
}

/* The memory of a new connection (zeroed), from calloc or the server's conn_alloc, or NULL
 * once logged. A server that has no context left refuses the client: the first refusal of a
 * shortage is logged, the next ones are counted into the line of the following one (a flood
 * of clients must not flood the log). */
static struct evconn *conn_block_get(struct evserver *srv, evutil_socket_t fd)
{
    size_t size = evserver_conn_bytes(srv->config.conn_size);
    if (srv->config.conn_alloc == NULL) {
        struct evconn *ec = calloc(1, size);
        if (ec == NULL)
            log_sys("calloc(connection fd=%d); dropping this client", (int)fd);
        return ec;
    }
    struct evconn *ec = srv->config.conn_alloc(size, srv->config.app);
    if (ec == NULL) {
        if (srv->refused++ == 0)
            log_msg("no connection context left (%zu in use): client refused", srv->nconns);
        return NULL;
    }
    if (srv->refused > 1)
        log_msg("%" PRIu64 " more client(s) were refused while no connection context was left",
                srv->refused - 1);
    srv->refused = 0;
    memset(ec, 0, size);
    return ec;
}

static void conn_block_put(struct evserver *srv, struct evconn *ec)
{
    if (srv->config.conn_free == NULL)
        free(ec);
    else
        srv->config.conn_free(ec, srv->config.app);
}
