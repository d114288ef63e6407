/*
 * echosvr_v4: chapter 3's echo server with its statistics in a shared memory segment (ex4.1).
 *
 * The echo does what echosvr_v1's does (every byte back, bounded memory for a client that does
 * not read), on the given evserver (common/evserver.c), more briefly. What is new: the
 * counters (messages, bytes, connections accepted and open, start and last-message times) live
 * in a System V segment at the key given with -k, laid out as stats.h says, so that another
 * process (viewstat) can watch them while the server runs, without asking it anything. The
 * server creates the segment (mode 0600, refusing a key that is taken), is its only writer,
 * and removes it when SIGINT or SIGTERM ends it.
 */
#include "args.h"
#include "evserver.h"
#include "log.h"
#include "shm.h"
#include "stats.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/util.h>

#include <errno.h>
#include <stdio.h>
#include <time.h>

#define OUT_HIGH (256 * 1024) /* echo bytes waiting for a client before we stop reading it */

/* What stats_count() is told about. */
enum stats_what {
    STATS_ACCEPTED, /* a connection was accepted */
    STATS_CLOSED,   /* a connection was closed, for whatever reason */
    STATS_MESSAGE,  /* a read callback moved `bytes` bytes from a client to its echo */
};

/* The server's own state (evserver_config.app). */
struct server {
    struct stats *st;        /* the counters, in the segment */
    key_t key;               /* -k */
    int have_key;
    int told_stats; /* a failure of stats_count was logged already */
};

/* One client: evserver allocates it (zeroed) with the connection and frees it at the close. */
struct conn {
    struct bufferevent *bev; /* its socket, with the input and output buffers */
    struct server *srv;
    int closing; /* the client sent end of file: close once the echo is out */
};

static void usage(FILE *out);
static void set_key(const char *value, void *app);
static int conn_opened(struct conn *c, struct bufferevent *bev, void *app);
static int echo_move(struct conn *c);
static int echo_conn_event(struct conn *c, short what);
static void conn_closed(struct conn *c);
static void count(struct server *srv, enum stats_what what, size_t bytes);
static int stats_count(struct stats *st, enum stats_what what, size_t bytes, uint64_t now_ns);

int main(int argc, char **argv)
{
    static const struct evserver_option key_option = {"key", 'k', set_key};
    struct server v4 = {0};
    const struct evserver_config config = {
        .out_high = OUT_HIGH,
        .usage = usage,
        .option = &key_option,
        .app = &v4,
        .conn_size = sizeof(struct conn),
        .opened = conn_opened,
        .input = {echo_move, "echo_move"},
        .drained = {echo_move, "echo_move"},
        .event = {echo_conn_event, "echo_conn_event"},
        .closed = conn_closed,
    };

    log_init(argv[0]);
    struct evserver *srv = evserver_new(argc, argv, &config);
    if (srv == NULL)
        return 1; /* it said why */
    if (!v4.have_key) {
        evserver_free(srv);
        args_usage_error("-k KEY is required: the key of the statistics segment");
    }
    void *seg = shm_create(v4.key, STATS_SEGMENT_SIZE, STATS_MAGIC, STATS_VERSION);
    if (seg == NULL) {
        if (errno == EEXIST)
            log_msg("a shared memory segment with key 0x%x exists already: another echosvr_v4 "
                    "runs with -k 0x%x, or one was killed (see ipcs -m; if nothing uses it, "
                    "remove it with ipcrm -M 0x%x)",
                    (unsigned)v4.key, (unsigned)v4.key, (unsigned)v4.key);
        else
            log_msg("shm_create(key 0x%x, %zu bytes): %s", (unsigned)v4.key, STATS_SEGMENT_SIZE,
                    shm_strerror(errno));
        evserver_free(srv);
        return 1;
    }
    v4.st = stats_of(seg);
    stats_set(&v4.st->started_ns, ((const struct shm_header *)seg)->created_ns);

    int status = evserver_run(srv);
    evserver_free(srv); /* closes the connections: `open` goes back to 0 */
    /* The key is free again at once; a viewstat still attached keeps its mapping until it
     * notices (SHM_DEST) and lets go. */
    if (shm_remove(v4.key) == -1) {
        log_sys("shm_remove(key 0x%x)", (unsigned)v4.key);
        status = 1;
    }
    if (shm_detach(seg) == -1) {
        log_sys("shm_detach(key 0x%x)", (unsigned)v4.key);
        status = 1;
    }
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s -k KEY [-a ADDR] -p PORT [-R BYTES]\n"
            "\n"
            "An echo server on libevent (echosvr_v1's echo) that keeps its statistics in a\n"
            "System V shared memory segment at KEY, for viewstat -k KEY to show: messages,\n"
            "bytes, connections accepted and open, start and last-message times. The segment\n"
            "is created with mode 0600 and removed at exit; a segment already at KEY is an\n"
            "error (exit status 1). Prints \"listening on port N\" once it accepts connections;\n"
            "SIGINT or SIGTERM stops it with exit status 0.\n"
            "\n"
            "  -k, --key KEY    the segment's System V IPC key (decimal, or hex with 0x)\n",
            log_progname());
    evserver_usage_options(out, OUT_HIGH);
}

static void set_key(const char *value, void *app)
{
    struct server *v4 = app;
    v4->key = args_ipc_key(value);
    v4->have_key = 1;
}

/* A new client, set up by evserver: keep its bufferevent, and count it. */
static int conn_opened(struct conn *c, struct bufferevent *bev, void *app)
{
    c->bev = bev;
    c->srv = app;
    count(c->srv, STATS_ACCEPTED, 0);
    return 0;
}

/*
 * The read callback's work, and the write callback's: the echo, the short way round. The input
 * moves to the output (no copy) while the output holds less than OUT_HIGH; each move counts as
 * one message. A client that does not read its echo leaves the rest in the input buffer, where
 * evserver's read high-watermark (OUT_HIGH) stops reading it and TCP's flow control stops the
 * client; once its output has drained, the input moves on and reading resumes by itself.
 * Returns 0, or 1 (close) once the client has sent end of file and everything went out.
 */
static int echo_move(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t n = evbuffer_get_length(in);

    if (n > 0 && evbuffer_get_length(out) < OUT_HIGH) {
        if (evbuffer_add_buffer(out, in) == -1) {
            errno = EINVAL; /* only a frozen buffer makes it fail, and libevent sets no errno */
            return -1;
        }
        count(c->srv, STATS_MESSAGE, n);
    }
    return c->closing && evbuffer_get_length(in) == 0 && evbuffer_get_length(out) == 0;
}

/* The event callback's work: end of file closes once the echo is out (libevent stopped reading
 * already); a reset or a broken pipe closes quietly, another error is reported. */
static int echo_conn_event(struct conn *c, short what)
{
    if (what & BEV_EVENT_ERROR) {
        errno = EVUTIL_SOCKET_ERROR();
        return errno == ECONNRESET || errno == EPIPE || errno == 0 ? 1 : -1;
    }
    if (!(what & BEV_EVENT_EOF))
        return 0;
    c->closing = 1;
    return echo_move(c);
}

/* c is being closed, whatever the reason: one connection less is open. */
static void conn_closed(struct conn *c)
{
    count(c->srv, STATS_CLOSED, 0);
}

/* stats_count with the time of a message, and its failure logged once: statistics are not
 * worth stopping the echo for. The clock is read in the vDSO, without a system call. libevent's
 * cached time would be cheaper still, but it runs on a coarse clock, up to a few milliseconds
 * behind: a message could look older than the server's start. */
static void count(struct server *srv, enum stats_what what, size_t bytes)
{
    struct timespec t = {0, 0};
    if (what == STATS_MESSAGE)
        (void)clock_gettime(CLOCK_REALTIME, &t); /* can not fail with this clock */
    uint64_t now_ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
    if (stats_count(srv->st, what, bytes, now_ns) == -1 && !srv->told_stats) {
        log_sys("stats_count");
        srv->told_stats = 1;
    }
}

/*
 * Count one event in the segment's counters (stats.h): an accepted connection is one more
 * accepted and one more open; a closed one is one less open; a message is one more message,
 * `bytes` more bytes, and now_ns (CLOCK_REALTIME nanoseconds) as the last message's time.
 * We are the segment's only writer: update each counter with stats_add / stats_set, whole
 * stores that a reader never sees torn. Returns 0, or -1 with errno set.
 */
static int stats_count(struct stats *st, enum stats_what what, size_t bytes, uint64_t now_ns)
{
    //@solution
    switch (what) {
    case STATS_ACCEPTED:
        stats_add(&st->accepted, 1);
        stats_add(&st->open, 1);
        return 0;
    case STATS_CLOSED:
        if (st->open == 0) {
            errno = ERANGE; /* a close without its accept: a bug, never wrap to 2^64 - 1 */
            return -1;
        }
        stats_set(&st->open, st->open - 1);
        return 0;
    case STATS_MESSAGE:
        stats_add(&st->messages, 1);
        stats_add(&st->bytes, bytes);
        stats_set(&st->last_message_ns, now_ns);
        return 0;
    }
    errno = EINVAL;
    return -1;
    //@stub count the event in st: accepted and open, open - 1 at a close, messages/bytes/last
    //@ (void)st;
    //@ (void)what;
    //@ (void)bytes;
    //@ (void)now_ns;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}
