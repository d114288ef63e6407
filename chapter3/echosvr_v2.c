/*
 * echosvr_v2: echosvr_v1 with statistics, printed by a periodic timer event (ex3.3).
 *
 * The echo is v1's: this program links the same echo.c (ex3.2) on the same given part
 * (common/evserver.c), and adds what is new: counters kept as the connections come, talk and
 * go; a persistent timer event, not tied to any descriptor, that prints them every -i SECONDS
 * as one line on stdout; and one last line at exit:
 *
 *   stats uptime_s=12.0 accepted=5 open=2 messages=100 bytes_in=6400 bytes_out=6400
 *         started=2026-11-26T11:00:00Z last_message=2026-11-26T11:00:12Z
 *
 * (one line). `messages` counts the read callbacks that moved data: one per chunk the server
 * read, which is not one per message the client sent (TCP keeps no message boundaries).
 */
#include "args.h"
#include "echo.h"
#include "evserver.h"
#include "log.h"
#include "timing.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#define INTERVAL_DEFAULT 1.0  /* -i: seconds between two statistics lines */
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

/* What v2 adds to the server (evserver_config.app): the statistics and their timer. */
struct server {
    struct event_base *base;
    struct event *tick; /* the periodic timer that prints the statistics */
    struct stats st;
    double interval; /* -i, seconds */
    int told_stats;  /* a failure of stats_count was logged already */
};

static void usage(FILE *out);
static double parse_interval(const char *s);
static void set_interval(const char *value, void *app);
static int conn_opened(struct conn *c, struct bufferevent *bev, void *app);
static int conn_input(struct conn *c);
static void conn_closed(struct conn *c);
static void output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *ctx);
static void tick_cb(evutil_socket_t fd, short what, void *ctx);
static void count(struct server *srv, enum stats_what what, size_t bytes);
static int stats_count(struct stats *st, enum stats_what what, size_t bytes, time_t now);
static int stats_print(const struct stats *st, uint64_t now_ns, FILE *out);

int main(int argc, char **argv)
{
    static const struct evserver_option interval_option = {"interval", 'i', set_interval};
    struct server v2 = {.interval = INTERVAL_DEFAULT};
    /* v1's hooks, with the counting around them: evserver calls them from the bufferevent's
     * callbacks, and closes the connection when one of them says so. */
    const struct evserver_config config = {
        .out_high = OUT_HIGH,
        .usage = usage,
        .option = &interval_option,
        .app = &v2,
        .conn_size = sizeof(struct conn),
        .opened = conn_opened,
        .input = {conn_input, "echo_input"},
        .drained = {echo_output_drained, "echo_output_drained"},
        .event = {echo_conn_event, "echo_conn_event"},
        .closed = conn_closed,
    };
    int status = 1;

    log_init(argv[0]);
    struct evserver *srv = evserver_new(argc, argv, &config);
    if (srv == NULL)
        return 1; /* it said why */
    v2.st.started_ns = timing_now_ns();
    v2.st.started = time(NULL);
    v2.base = evserver_base(srv);
    /* A timer is an event on no descriptor (-1); EV_PERSIST adds it again after each run,
     * every interval, measured from when it was due rather than from when the callback ended. */
    v2.tick = event_new(v2.base, -1, EV_PERSIST, tick_cb, &v2);
    if (v2.tick == NULL) {
        log_msg("event_new(timer) failed");
        goto out;
    }
    /* Rounded to the microsecond, without libm: the interval is positive. */
    time_t whole = (time_t)v2.interval;
    struct timeval every = {whole, (suseconds_t)((v2.interval - (double)whole) * 1e6 + 0.5)};
    if (every.tv_usec >= 1000000) {
        every.tv_sec++;
        every.tv_usec -= 1000000;
    }
    if (event_add(v2.tick, &every) == -1) {
        log_msg("event_add(timer event) failed");
        goto out;
    }

    status = evserver_run(srv);
    /* The last word: the totals of the whole run. */
    if (stats_print(&v2.st, timing_now_ns(), stdout) == -1) {
        log_sys("stats_print");
        status = 1;
    }

out:
    /* Our timer first: evserver_free frees the base it belongs to. */
    if (v2.tick != NULL)
        event_free(v2.tick);
    evserver_free(srv);
    return status;
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
            "\n",
            log_progname(), OUT_HIGH / 1024);
    evserver_usage_options(out, OUT_HIGH);
    fprintf(out, "  -i, --interval SECONDS  time between two statistics lines, decimals allowed\n"
                 "                   (0.001 to 86400; default 1)\n");
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

static void set_interval(const char *value, void *app)
{
    struct server *v2 = app;
    v2->interval = parse_interval(value);
}

/* A new client, set up by evserver: v1's echo_opened, then watch what leaves its output, and
 * count it. Returns 0, or -1 once logged (evserver drops the client). c->app is our server. */
static int conn_opened(struct conn *c, struct bufferevent *bev, void *app)
{
    echo_opened(c, bev, app);
    /* Told of every change to the output buffer: what leaves it went to the client. */
    if (evbuffer_add_cb(bufferevent_get_output(bev), output_cb, c) == NULL) {
        log_msg("evbuffer_add_cb(fd=%d) failed; dropping this client", (int)bufferevent_getfd(bev));
        return -1;
    }
    count(c->app, STATS_ACCEPTED, 0);
    return 0;
}

/* The read callback's work: v1's echo, and the count of what it moved. What echo_input wrote
 * to the socket itself never passes through the output buffer (output_cb does not see it):
 * the bytes that left the input without arriving in the output were written. */
static int conn_input(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t n = evbuffer_get_length(bufferevent_get_input(c->bev));
    size_t queued = evbuffer_get_length(out);
    if (echo_input(c) == -1)
        return -1;
    size_t moved = evbuffer_get_length(out) - queued;
    size_t left = evbuffer_get_length(bufferevent_get_input(c->bev));
    if (n > 0)
        count(c->app, STATS_MESSAGE, n);
    if (n > moved + left)
        count(c->app, STATS_WRITTEN, n - moved - left);
    return 0;
}

/* c is closing, whatever the reason: one connection less open. */
static void conn_closed(struct conn *c)
{
    count(c->app, STATS_CLOSED, 0);
}

/* An evbuffer callback on a client's output: info->n_deleted bytes were drained from it,
 * which for a socket bufferevent means written to the client. */
static void output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *ctx)
{
    struct conn *c = ctx;
    (void)buf;
    if (info->n_deleted > 0)
        count(c->app, STATS_WRITTEN, info->n_deleted);
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
    /* YOUR CODE HERE: update st's counters for `what`: accepted, open (up and down), messages, bytes */
    (void)st;
    (void)what;
    (void)bytes;
    (void)now;
    errno = ENOSYS;
    return -1;
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
    /* YOUR CODE HERE: print st as the one "stats ..." line of the header comment on out, and flush it */
    (void)st;
    (void)now_ns;
    (void)out;
    (void)format_utc;
    errno = ENOSYS;
    return -1;
}
