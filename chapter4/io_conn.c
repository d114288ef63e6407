/*
 * io_conn: the network half of the echo server split in two processes (ex4.4).
 *
 * io_conn does what echosvr_v1 does with sockets (it is built on the same given evserver:
 * listener, a bufferevent per client, signals, the loop), but it does not echo: it hands what
 * each client sends to md, the logic process, through the shared-memory queue io->md, and
 * writes to each client what md sends back through md->io (iomd.h has the protocol). Every
 * client gets a flow id from the flow table (flow.c); md's replies are looked up by it, so a
 * late reply for a client that has left is dropped, never written to the client that got its
 * slot since.
 *
 * Flow control, both ways. A full io->md queue stops reading the client whose bytes did not
 * fit (they stay in its input buffer) until a short timer finds room; a client that does not
 * read its echo stops being read once OUT_HIGH bytes wait for it. io_conn never stops
 * consuming md->io, so one slow client can not stall md for everyone.
 *
 * Waking up. md->io's FIFO is an event of the loop. For IOMD_SPIN_NS after the last message
 * to or from md, io_conn looks at md->io at every turn of the loop instead of sleeping (the
 * loop still serves the sockets, and sched_yield lets a client or md have the CPU between two
 * looks); then it tells the queue it goes to sleep (shmmq_sleep), and md's next message comes
 * with one byte on the FIFO.
 *
 * md may die and come back: a timer watches the pid of io->md's consumer; when that md is
 * gone, the connections with messages it had not answered are closed (logged), the others
 * stay. SIGINT or SIGTERM: exit 0, a statistics line on stderr, and the queues removed if md
 * is gone too.
 *
 * At most -c MAX clients at once: each one's context (struct conn, with evserver's part) comes
 * from connalloc.h's allocator, which refuses the client beyond MAX; evserver then closes it
 * with a log line and goes on. The flow table has MAX entries too.
 */
#include "connalloc.h"
#include "evserver.h"
#include "flow.h"
#include "iomd.h"
#include "log.h"
#include "shmmq.h"
#include "timing.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define OUT_HIGH (256 * 1024) /* bytes waiting for a client before we stop reading it */
#define OUT_LOW (64 * 1024)   /* ... and resume once it has read its output down to this */
#define RETRY_US 1000         /* a full io->md queue: try again after this long */
#define WATCH_MS 100          /* how often md's pid is checked */
#define DRAIN_BATCH 256       /* messages from md per turn of the loop, then the sockets */
#define CONNS_MIN 64u         /* -c's default: the descriptor limit, within these */
#define CONNS_DEFAULT_MAX 65536u
#define CONNS_MAX (1u << 20) /* -c's largest */

struct io;

/* One client. evserver allocates it (zeroed) with the connection and frees it at the close. */
struct conn {
    struct bufferevent *bev;
    struct io *io;
    flow_id id;
    uint64_t sent_ts;                   /* ts of the newest message sent to md (0: none) */
    uint64_t acked_ts;                  /* the newest ts md's replies carried back */
    uint64_t unacked_rank; /* io->md's rank (shmmq_enqueued) of the oldest message of c that md
                              may not have answered: at most the true one (see conn_send) */
    struct conn *prev, *next;           /* io->conns: every open connection */
    struct conn *wait_prev, *wait_next; /* io->wait_head: input waiting for room in io->md */
    unsigned char waiting;              /* in the waiting list; reading stopped */
    unsigned char reading;              /* EV_READ is enabled */
    unsigned char paused;    /* OUT_HIGH bytes or more wait in the output; reading stopped */
    unsigned char eof;       /* the client sent end of file */
    unsigned char told_md;   /* the len-0 message of this flow went to md */
    unsigned char closing;   /* md said close: close once the output is empty */
    unsigned char close_now; /* close at the next write callback, whatever is left */
};

struct io_stats {
    uint64_t accepted, closed;
    uint64_t to_md, bytes_to_md, from_md, bytes_from_md;
    uint64_t stale;          /* replies for ids that are not live: dropped */
    uint64_t queue_full;     /* io->md was full: a client's reading paused */
    uint64_t md_lost;        /* times md was found gone */
    uint64_t closed_md_lost; /* connections closed because md died with their messages */
    uint64_t latency_sum_ns, latency_max_ns, latency_n;
    uint64_t untimed; /* replies left out of the latency: no ts (0), or one not yet reached */
};

/* io_conn's state, shared by every callback (evserver_config.app). */
struct io {
    struct event_base *base;
    key_t key;
    size_t queue_bytes;
    uint32_t max_conns; /* -c: clients at once, and entries of the flow table */
    shmmq *to_md, *from_md;
    uint32_t max_payload;
    struct flow_table *flows;
    struct event *from_md_ev; /* md->io's FIFO is readable */
    struct event *drain_ev;   /* no descriptor: made active to look at md->io now */
    struct event *poll_ev;    /* a timer of 0: look at md->io after the sockets' next turn */
    struct event *retry_ev;   /* timer: the waiting connections and closes try again */
    struct event *watch_ev;   /* timer: is md still there? */
    struct conn *conns;       /* every open connection */
    struct conn *wait_head, *wait_tail;
    flow_id *closes; /* len-0 messages that did not fit in io->md yet, in order */
    size_t n_closes, cap_closes;
    uint64_t last_activity; /* timing_now_ns() of the last message to or from md */
    int stopping;           /* evserver_free closes everything: no more events */
    pid_t md_pid;           /* io->md's consumer as last seen (0: none) */
    int md_up;              /* ... and it was alive then */
    int status;             /* exit status: 1 after a fatal queue error */
    struct io_stats st;
};

static void usage(FILE *out);
static void set_key(const char *value, void *app);
static int take_own_options(int argc, char **argv, struct io *io);
static uint32_t default_max_conns(void);
static void *ctx_get(size_t size, void *app);
static void ctx_put(void *block, void *app);
static int io_setup(struct io *io);
static void io_teardown(struct io *io);
static int conn_opened(struct conn *c, struct bufferevent *bev, void *app);
static int conn_input(struct conn *c);
static int conn_drained(struct conn *c);
static int conn_event(struct conn *c, short what);
static void conn_closed(struct conn *c);
static int conn_forward(struct conn *c);
static int conn_send(struct conn *c);
static int conn_update_reading(struct conn *c);
static void conn_close_soon(struct conn *c);
static void conn_close_now(struct conn *c);
static void wait_join(struct conn *c);
static void wait_leave(struct conn *c);
static int flow_end(struct conn *c);
static void tell_md_closed(struct io *io, flow_id id);
static int send_closes(struct io *io);
static int drain_from_md(struct io *io);
static int deliver(struct io *io, flow_id id, uint64_t ts, const void *data, uint32_t len);
static int md_check(struct io *io);
static void md_lost(struct io *io, pid_t pid, const char *why);
static void expect_replies(struct io *io, uint64_t now);
static void io_fatal(struct io *io, const char *what);
static void from_md_cb(evutil_socket_t fd, short what, void *arg);
static void drain_cb(evutil_socket_t fd, short what, void *arg);
static void look_again_soon(struct io *io);
static void retry_cb(evutil_socket_t fd, short what, void *arg);
static void watch_cb(evutil_socket_t fd, short what, void *arg);
static void print_stats(const struct io *io);

int main(int argc, char **argv)
{
    static struct io io = {.queue_bytes = IOMD_QUEUE_DEFAULT, .status = 0};
    static const struct evserver_option key_option = {"key", 'k', set_key};
    static const struct evserver_config config = {
        .out_high = OUT_HIGH,
        .usage = usage,
        .option = &key_option,
        .app = &io,
        .conn_size = sizeof(struct conn),
        .opened = conn_opened,
        .input = {conn_input, "conn_input"},
        .drained = {conn_drained, "conn_drained"},
        .event = {conn_event, "conn_event"},
        .closed = conn_closed,
        .conn_alloc = ctx_get,
        .conn_free = ctx_put,
    };

    log_init(argv[0]);
    io.max_conns = default_max_conns();
    argc = take_own_options(argc, argv, &io);
    struct evserver *srv = evserver_new(argc, argv, &config);
    if (srv == NULL)
        return 1; /* it said why */
    if (io.key == 0) {
        evserver_free(srv);
        args_usage_error("-k KEY is required: the base key of the queues (md takes the same)");
    }
    io.base = evserver_base(srv);
    int status = 1;
    if (connalloc_init(evserver_conn_bytes(sizeof(struct conn)), io.max_conns) == -1)
        log_sys("connalloc_init(%zu bytes, %" PRIu32 " contexts)",
                evserver_conn_bytes(sizeof(struct conn)), io.max_conns);
    else if (io_setup(&io) == 0)
        status = evserver_run(srv);
    /* Our events first (they belong to the base), then the connections: their closed hook
     * still tells md, without events. */
    io.stopping = 1;
    io_teardown(&io);
    evserver_free(srv);
    if (io.to_md != NULL && io.from_md != NULL)
        print_stats(&io);
    shmmq_close(io.to_md);
    shmmq_close(io.from_md);
    flow_destroy(io.flows);
    free(io.closes);
    connalloc_fini(); /* evserver_free gave every context back */
    return io.status != 0 ? io.status : status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s -k KEY [-q BYTES] [-c MAX] [-a ADDR] -p PORT [-R BYTES]\n"
            "\n"
            "The network half of the split echo server: it accepts clients and passes what\n"
            "they send to md through a shared-memory queue, and what md sends back to the\n"
            "clients. Start md with the same -k and -q, before or after io_conn. io_conn\n"
            "keeps its clients when md is stopped or killed and restarted; clients with\n"
            "messages md had not answered are closed then (logged).\n"
            "Prints \"listening on port N\" once it accepts connections; SIGINT or SIGTERM\n"
            "closes every connection and stops it with exit status 0, after a line of\n"
            "statistics on stderr.\n"
            "\n"
            "  -k, --key KEY    base System V IPC key: queue io->md at KEY, md->io at KEY+1\n"
            "  -q, --queue-bytes BYTES  ring size of each queue, a power of two from %u to\n"
            "                   %u (default %u); md must be given the same\n"
            "  -c, --max-connections MAX  clients served at once, 1 to %u (default: the\n"
            "                   descriptor limit, RLIMIT_NOFILE, within %u and %u); one more\n"
            "                   is refused (closed at once, logged) until a client leaves\n",
            log_progname(), IOMD_QUEUE_MIN, IOMD_QUEUE_MAX, IOMD_QUEUE_DEFAULT, CONNS_MAX,
            CONNS_MIN, CONNS_DEFAULT_MAX);
    evserver_usage_options(out, OUT_HIGH);
}

static void set_key(const char *value, void *app)
{
    struct io *io = app;
    io->key = iomd_base_key(value);
}

/* evserver reads the command line, with one option of the server's own (-k). -q and -c are
 * two more: they are taken out of argv here first ("-q N", "-qN", "--queue-bytes N" or
 * "--queue-bytes=N"; the same for -c and --max-connections). Returns the new argc. */
static int take_own_options(int argc, char **argv, struct io *io)
{
    static const struct {
        char letter;
        const char *name, *what;
    } own[] = {{'q', "queue-bytes", "the bytes of each queue"},
               {'c', "max-connections", "the most clients at once"}};
    int out = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *value = NULL;
        size_t k = 0;
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        for (; k < sizeof own / sizeof own[0] && value == NULL; k++) {
            size_t n = strlen(own[k].name);
            if ((a[0] == '-' && a[1] == own[k].letter && a[2] == '\0') ||
                (strncmp(a, "--", 2) == 0 && strcmp(a + 2, own[k].name) == 0)) {
                if (i + 1 >= argc)
                    args_usage_error("%s needs a value: %s", a, own[k].what);
                value = argv[++i];
            } else if (a[0] == '-' && a[1] == own[k].letter) {
                value = a + 2;
            } else if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, own[k].name, n) == 0 &&
                       a[2 + n] == '=') {
                value = a + 3 + n;
            }
        }
        if (value == NULL)
            argv[out++] = argv[i];
        else if (own[k - 1].letter == 'q')
            io->queue_bytes = iomd_queue_bytes(value);
        else
            io->max_conns = (uint32_t)args_number("-c", value, 1, CONNS_MAX);
    }
    argv[out] = NULL;
    return out;
}

/* -c's default: as many clients as descriptors (RLIMIT_NOFILE), within CONNS_MIN and
 * CONNS_DEFAULT_MAX (each one's context is taken at once in chapter 5's pool). */
static uint32_t default_max_conns(void)
{
    struct rlimit rl;
    uint32_t max = CONNS_DEFAULT_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < max)
        max = rl.rlim_cur > CONNS_MIN ? (uint32_t)rl.rlim_cur : CONNS_MIN;
    return max;
}

/* evserver's allocator hooks: a client's context from connalloc (NULL: it is refused). */
static void *ctx_get(size_t size, void *app)
{
    (void)size; /* evserver_conn_bytes(sizeof(struct conn)), given to connalloc_init */
    (void)app;
    return connalloc_get();
}

static void ctx_put(void *block, void *app)
{
    (void)app;
    connalloc_put(block);
}

/* The flow table, the two queues and our events. Returns 0, or -1 once logged (what was
 * made is freed by io_teardown and main). */
static int io_setup(struct io *io)
{
    uint32_t cap = io->max_conns;
    /* A seed of this run's own: ids in a queue left by an earlier io_conn never match. */
    uint64_t t = timing_now_ns() ^ ((uint64_t)getpid() << 20);
    uint32_t seed = (uint32_t)(t ^ (t >> 32)) * 2654435761u;
    io->flows = flow_create(cap, seed);
    if (io->flows == NULL) {
        log_sys("flow_create(%" PRIu32 ")", cap);
        return -1;
    }
    io->to_md = iomd_open(iomd_key_to_md(io->key), io->queue_bytes, SHMMQ_PRODUCER);
    if (io->to_md == NULL)
        return -1;
    io->from_md = iomd_open(iomd_key_to_io(io->key), io->queue_bytes, SHMMQ_CONSUMER);
    if (io->from_md == NULL)
        return -1;
    io->max_payload = shmmq_max_payload(io->to_md);

    io->from_md_ev =
        event_new(io->base, shmmq_fd(io->from_md), EV_READ | EV_PERSIST, from_md_cb, io);
    io->drain_ev = event_new(io->base, -1, 0, drain_cb, io);
    io->poll_ev = evtimer_new(io->base, drain_cb, io);
    io->retry_ev = evtimer_new(io->base, retry_cb, io);
    io->watch_ev = event_new(io->base, -1, EV_PERSIST, watch_cb, io);
    if (io->from_md_ev == NULL || io->drain_ev == NULL || io->poll_ev == NULL ||
        io->retry_ev == NULL || io->watch_ev == NULL) {
        log_msg("event_new failed");
        return -1;
    }
    struct timeval every = {0, WATCH_MS * 1000};
    if (event_add(io->from_md_ev, NULL) == -1 || event_add(io->watch_ev, &every) == -1) {
        log_msg("event_add(md->io FIFO or watch timer) failed");
        return -1;
    }
    /* md may have answered before we came (or an earlier io_conn left replies): look now.
     * And learn at once which md serves io->md: one that died before the timer's first look
     * would otherwise never be judged. */
    event_active(io->drain_ev, EV_READ, 0);
    event_active(io->watch_ev, EV_TIMEOUT, 0);
    return 0;
}

static void io_teardown(struct io *io)
{
    struct event **evs[] = {&io->from_md_ev, &io->drain_ev, &io->poll_ev, &io->retry_ev,
                            &io->watch_ev};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        if (*evs[i] != NULL) {
            event_free(*evs[i]);
            *evs[i] = NULL;
        }
    }
}

static void print_stats(const struct io *io)
{
    const struct io_stats *s = &io->st;
    double avg = s->latency_n ? (double)s->latency_sum_ns / (double)s->latency_n / 1000.0 : 0.0;
    /* the FIFO bytes written: ours to wake md, and md's to wake us */
    struct shmmq_stats to, from;
    if (shmmq_stats(io->to_md, &to) == -1 || shmmq_stats(io->from_md, &from) == -1)
        to.notify_writes = from.notify_writes = 0;
    log_msg("exiting: accepted=%" PRIu64 " closed=%" PRIu64 " to_md=%" PRIu64
            " bytes_to_md=%" PRIu64 " from_md=%" PRIu64 " bytes_from_md=%" PRIu64 " stale=%" PRIu64
            " queue_full=%" PRIu64 " notifications_to_md=%" PRIu64 " notifications_from_md=%" PRIu64
            " md_lost=%" PRIu64 " closed_md_lost=%" PRIu64
            " latency_avg_us=%.1f latency_max_us=%.1f latency_untimed=%" PRIu64,
            s->accepted, s->closed, s->to_md, s->bytes_to_md, s->from_md, s->bytes_from_md,
            s->stale, s->queue_full, to.notify_writes, from.notify_writes, s->md_lost,
            s->closed_md_lost, avg, (double)s->latency_max_ns / 1000.0, s->untimed);
}

/* A queue answered EBADMSG: its indices or a length in it are corrupt. Nothing sane can be
 * done with it any more; stop, exit status 1. */
static void io_fatal(struct io *io, const char *what)
{
    if (io->status == 0)
        log_msg("queue %s is corrupt (%s); stopping", what, strerror(errno));
    io->status = 1;
    event_base_loopexit(io->base, NULL);
}

/* ---- the connections' hooks ---------------------------------------------------------- */

static int conn_opened(struct conn *c, struct bufferevent *bev, void *app)
{
    struct io *io = app;
    c->bev = bev;
    c->io = io;
    c->reading = 1; /* evserver enabled EV_READ */
    c->id = flow_add(io->flows, c);
    if (c->id == 0) {
        log_sys("flow_add (%" PRIu32 " connections open); refusing a client",
                flow_count(io->flows));
        return -1;
    }
    c->next = io->conns;
    if (io->conns != NULL)
        io->conns->prev = c;
    io->conns = c;
    io->st.accepted++;
    return 0;
}

/* Bytes arrived: to md, unless this client already waits for room in io->md (its bytes stay
 * in the input buffer, in order, for the retry timer). */
static int conn_input(struct conn *c)
{
    if (c->waiting || c->closing || c->close_now)
        return 0;
    return conn_send(c);
}

/* The output drained to the write low-watermark, or conn_close_now asked for this call. */
static int conn_drained(struct conn *c)
{
    if (c->close_now)
        return 1;
    size_t left = evbuffer_get_length(bufferevent_get_output(c->bev));
    if (c->paused && left <= OUT_LOW) {
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
        c->paused = 0;
        if (conn_update_reading(c) == -1)
            return -1;
    }
    return c->closing && left == 0 ? 1 : 0;
}

static int conn_event(struct conn *c, short what)
{
    if (what & BEV_EVENT_ERROR) {
        int err = EVUTIL_SOCKET_ERROR();
        if (err == ECONNRESET || err == EPIPE || err == 0)
            return 1;
        errno = err;
        return -1;
    }
    if (what & BEV_EVENT_EOF) {
        /* The client is done sending; it may still read. md gets the rest of its bytes and
         * then len 0, and answers with len 0 once the echo is on its way: the close. */
        c->eof = 1;
        c->reading = 0; /* libevent stopped reading by itself */
        if (c->closing)
            return evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
        if (c->waiting || c->close_now)
            return 0;
        return conn_send(c);
    }
    return 0;
}

/* evserver closes c, for whatever reason: the flow ends, and md hears of it. */
static void conn_closed(struct conn *c)
{
    struct io *io = c->io;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        io->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (c->waiting)
        wait_leave(c);
    io->st.closed++;
    if (flow_end(c) == -1)
        log_sys("flow_end(flow 0x%016" PRIx64 ")", c->id);
}

/*
 * The flow of c ends: its id must die (flow_remove), so that md's late replies for it are
 * dropped even when a new client gets the same slot; and md must hear that the client is gone
 * (a len-0 message), unless it heard already. Returns 0, or -1 with errno set.
 */
static int flow_end(struct conn *c)
{
    /* YOUR CODE HERE: flow_remove(c->id); unless c->told_md, tell_md_closed(c->io, c->id) */
    (void)c;
    (void)tell_md_closed;
    errno = ENOSYS;
    return -1;
}

/* Enable or disable reading c to match its state. Returns 0, or -1 with errno set. */
static int conn_update_reading(struct conn *c)
{
    int want = !c->waiting && !c->paused && !c->eof && !c->closing && !c->close_now;
    if (want == c->reading)
        return 0;
    int r = want ? bufferevent_enable(c->bev, EV_READ) : bufferevent_disable(c->bev, EV_READ);
    if (r == -1) {
        errno = EINVAL; /* libevent sets none */
        return -1;
    }
    c->reading = (unsigned char)want;
    return 0;
}

/* md said close: once the output is out. Not from inside c's own hooks. */
static void conn_close_soon(struct conn *c)
{
    c->closing = 1;
    (void)conn_update_reading(c);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        conn_close_now(c);
        return;
    }
    /* the write callback must come when the output is empty, not at OUT_LOW */
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    c->paused = 0;
}

/* Close c now, from outside its own hooks: evserver closes a connection when a hook says so,
 * so run the write callback (conn_drained), which sees close_now. c is freed on return. */
static void conn_close_now(struct conn *c)
{
    c->close_now = 1;
    bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
}

/* c's input must wait for room in io->md: stop reading it, and try again soon. */
static void wait_join(struct conn *c)
{
    struct io *io = c->io;
    if (!c->waiting) {
        c->waiting = 1;
        c->wait_prev = io->wait_tail;
        c->wait_next = NULL;
        if (io->wait_tail != NULL)
            io->wait_tail->wait_next = c;
        else
            io->wait_head = c;
        io->wait_tail = c;
        io->st.queue_full++;
    }
    if (!io->stopping && !evtimer_pending(io->retry_ev, NULL)) {
        struct timeval soon = {0, RETRY_US};
        event_add(io->retry_ev, &soon);
    }
}

static void wait_leave(struct conn *c)
{
    struct io *io = c->io;
    if (c->wait_prev != NULL)
        c->wait_prev->wait_next = c->wait_next;
    else
        io->wait_head = c->wait_next;
    if (c->wait_next != NULL)
        c->wait_next->wait_prev = c->wait_prev;
    else
        io->wait_tail = c->wait_prev;
    c->wait_prev = c->wait_next = NULL;
    c->waiting = 0;
}

/*
 * Send what waits in c's input buffer to md, in messages of at most io->max_payload bytes,
 * each with c's flow id and a ts newer than the one before (timing_now_ns(), at least
 * c->sent_ts + 1), and, once the client sent end of file (c->eof) and the input is empty, the
 * len-0 message (c->told_md). A full queue (EAGAIN) is back-pressure, not an error: stop there
 * (the rest stays in the input buffer, in order), wait_join(c); else leave the waiting list.
 * Then expect_replies (md has work) and conn_update_reading. Returns 0, or -1 with errno set
 * (a corrupt queue: io_fatal).
 */
static int conn_forward(struct conn *c)
{
    /* YOUR CODE HERE: messages of <= max_payload to io->to_md, then len 0 after eof; EAGAIN: wait_join */
    (void)c;
    (void)expect_replies;
    (void)wait_join;
    (void)wait_leave;
    (void)conn_update_reading;
    errno = ENOSYS;
    return -1;
}

/* conn_forward, noting where c's messages stand in io->md, for md_lost: a message's rank (the
 * k-th enqueued has rank k) is what tells whether a dead md took it (k <= the count that md
 * had dequeued) or a new one will. Only conn_forward enqueues in between, so the ranks of the
 * messages it sent are before + 1 .. after. The oldest one md may not have answered is the
 * first sent while every earlier one was answered; while md answers only part of several, the
 * one kept stays older than the truth, which can only close a connection, never leave a
 * client waiting for bytes that are gone. */
static int conn_send(struct conn *c)
{
    uint64_t before = shmmq_enqueued(c->io->to_md);
    uint64_t sent_ts = c->sent_ts;
    int r = conn_forward(c);
    if (c->sent_ts != sent_ts && sent_ts <= c->acked_ts)
        c->unacked_rank = before + 1;
    return r;
}

/* ---- closes for md ------------------------------------------------------------------- */

/* Tell md that flow id is gone (len 0). If io->md is full, the message waits in io->closes
 * for the retry timer: a close is never dropped while io_conn runs. */
static void tell_md_closed(struct io *io, flow_id id)
{
    if (io->n_closes == 0) {
        if (shmmq_enqueue(io->to_md, id, timing_now_ns(), "", 0) == 0) {
            io->st.to_md++;
            if (!io->stopping)
                expect_replies(io, timing_now_ns());
            return;
        }
        if (errno != EAGAIN) {
            if (!io->stopping)
                io_fatal(io, "io->md");
            return;
        }
    }
    if (io->stopping)
        return; /* md will see the queue's last messages, not these */
    if (io->n_closes == io->cap_closes) {
        size_t cap = io->cap_closes ? 2 * io->cap_closes : 64;
        flow_id *more = realloc(io->closes, cap * sizeof *more);
        if (more == NULL) {
            log_sys("realloc(%zu closes waiting for md); md does not hear of flow 0x%016" PRIx64,
                    cap, id);
            return;
        }
        io->closes = more;
        io->cap_closes = cap;
    }
    io->closes[io->n_closes++] = id;
    if (!evtimer_pending(io->retry_ev, NULL)) {
        struct timeval soon = {0, RETRY_US};
        event_add(io->retry_ev, &soon);
    }
}

/* Send the closes that waited, in order. Returns 1 if some still wait, 0 if none, -1 on a
 * corrupt queue. */
static int send_closes(struct io *io)
{
    size_t done = 0;
    uint64_t now = timing_now_ns();
    while (done < io->n_closes) {
        if (shmmq_enqueue(io->to_md, io->closes[done], now, "", 0) == -1) {
            if (errno != EAGAIN) {
                io_fatal(io, "io->md");
                return -1;
            }
            break;
        }
        io->st.to_md++;
        done++;
    }
    if (done > 0) {
        memmove(io->closes, io->closes + done, (io->n_closes - done) * sizeof *io->closes);
        io->n_closes -= done;
        expect_replies(io, now);
    }
    return io->n_closes > 0;
}

/* The retry timer: io->md had no room. Closes first, then the waiting clients in the order
 * they came, as long as the queue takes them. */
static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct io *io = arg;
    (void)fd;
    (void)what;
    int more = send_closes(io);
    if (more == -1)
        return;
    while (!more && io->wait_head != NULL) {
        struct conn *c = io->wait_head;
        if (conn_send(c) == -1) {
            if (io->status != 0)
                return; /* io_fatal: the loop ends */
            log_sys("conn_forward(flow 0x%016" PRIx64 "); closing it", c->id);
            conn_close_now(c);
            continue;
        }
        if (c->waiting)
            more = 1; /* still no room: the rest wait behind it */
    }
    if (more && !evtimer_pending(io->retry_ev, NULL)) {
        struct timeval soon = {0, RETRY_US};
        event_add(io->retry_ev, &soon);
    }
}

/* ---- from md --------------------------------------------------------------------------- */

/* Messages went to md at `now`: look at md->io at the coming turns of the loop. */
static void expect_replies(struct io *io, uint64_t now)
{
    io->last_activity = now;
    if (!io->stopping)
        event_active(io->drain_ev, EV_READ, 0);
}

static void from_md_cb(evutil_socket_t fd, short what, void *arg)
{
    struct io *io = arg;
    (void)fd;
    (void)what;
    shmmq_woken(io->from_md);
    drain_cb(fd, what, arg);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct io *io = arg;
    (void)fd;
    (void)what;
    if (drain_from_md(io) == -1 && io->status == 0) {
        log_sys("drain_from_md");
        io->status = 1;
        event_base_loopexit(io->base, NULL);
    }
}

/* Look at md->io again after the loop's next look at the sockets: a timer of 0 runs after the
 * next poll of the descriptors (an event made active from its own callback would run again
 * at once, before any socket is served). */
static void look_again_soon(struct io *io)
{
    static const struct timeval now = {0, 0};
    if (event_add(io->poll_ev, &now) == -1)
        event_active(io->drain_ev, EV_READ, 0); /* cannot fail in practice; never stall */
}

/*
 * Take md's messages from md->io (shmmq_peek, deliver, shmmq_consume), at most DRAIN_BATCH
 * of them: then look_again_soon, so that the loop serves the sockets and comes back. When
 * md->io is empty: if io->last_activity is less than IOMD_SPIN_NS ago, look_again_soon too
 * (without sleeping: md is likely busy with our messages); else shmmq_sleep (1: a message
 * came meanwhile, go on; 0: return, the FIFO event wakes us). Returns 0, or -1 with errno set
 * (EBADMSG: io_fatal was called).
 */
static int drain_from_md(struct io *io)
{
    /* YOUR CODE HERE: peek / deliver / consume, DRAIN_BATCH at most; empty: look again soon or sleep */
    (void)io;
    (void)deliver;
    (void)look_again_soon;
    errno = ENOSYS;
    return -1;
}

/*
 * One message from md for flow id: find its connection with flow_get. None (the client left,
 * or the id is from an earlier run): count it in io->st.stale and drop it. Else note how far md
 * has answered (c->acked_ts = ts if newer) and: len 0: conn_close_soon; bytes: unless the
 * connection is closing, add them to its output (bufferevent_write), count them and their
 * latency (now - ts; a ts of 0, or one beyond now, has none: count it in io->st.untimed), and
 * once OUT_HIGH bytes wait there, pause reading it with a write low-watermark of OUT_LOW
 * (conn_drained resumes). Returns 0, or -1 with errno set.
 */
static int deliver(struct io *io, flow_id id, uint64_t ts, const void *data, uint32_t len)
{
    /* YOUR CODE HERE: flow_get (NULL: stale++); len 0: conn_close_soon; else write, pause past OUT_HIGH */
    (void)io;
    (void)id;
    (void)ts;
    (void)data;
    (void)len;
    (void)conn_close_soon;
    errno = ENOSYS;
    return -1;
}

/* ---- is md still there? --------------------------------------------------------------- */

static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
    struct io *io = arg;
    (void)fd;
    (void)what;
    if (md_check(io) == -1)
        log_sys("md_check");
}

/*
 * Called every WATCH_MS. The md of the moment is io->md's consumer (shmmq_stats: consumer_pid;
 * 0 before any md came, and after one closed the queue). If it is not the md we saw last time
 * (io->md_pid) and that one was up, the old one is gone: md_lost (an md that stopped cleanly
 * too: with workers, what they held went with them). Then if it is ours but no longer alive
 * (iomd_pid_alive), md_lost too. Keep io->md_pid and io->md_up current. Returns 0, or -1
 * with errno set.
 */
static int md_check(struct io *io)
{
    /* YOUR CODE HERE: consumer_pid of io->to_md: a new or dead pid means md_lost; keep md_pid, md_up */
    (void)io;
    (void)md_lost;
    errno = ENOSYS;
    return -1;
}

/* md `pid` died with what it had taken from io->md: close every connection with a message it
 * took and did not answer (one log line), keep the others. What it took is known by count: the
 * messages io->md's consumers had dequeued when the next md attached (deq_at_attach), or by
 * now if none did yet; what still waits in io->md, or was taken by a new md, is not lost,
 * however long that md takes to answer. What the dead md sent before it left counts first:
 * its last replies and the closes it asked for (a WebSocket's close frame, then the close)
 * are delivered before anything is judged unanswered, and a connection md asked to close
 * keeps its way out (its output is sent, then it closes). */
static void md_lost(struct io *io, pid_t pid, const char *why)
{
    struct shmmq_stats st;
    (void)shmmq_stats(io->to_md, &st); /* cannot fail */
    uint64_t taken = st.consumer_pid != 0 && st.consumer_pid != pid ? st.deq_at_attach
                                                                     : st.deq_msgs;
    uint64_t id, ts;
    uint32_t len;
    const void *p;
    while ((p = shmmq_peek(io->from_md, &id, &ts, &len)) != NULL) {
        int r = deliver(io, id, ts, p, len);
        shmmq_consume(io->from_md);
        if (r == -1) {
            log_sys("md_lost: delivering md's last messages");
            break;
        }
    }
    unsigned long closed = 0, kept = 0;
    struct conn *next;
    for (struct conn *c = io->conns; c != NULL; c = next) {
        next = c->next;
        if (c->sent_ts > c->acked_ts && c->unacked_rank <= taken && !c->close_now &&
            !c->closing) {
            conn_close_now(c);
            closed++;
        } else {
            kept++;
        }
    }
    io->st.md_lost++;
    io->st.closed_md_lost += closed;
    log_msg("md (pid %d) is %s: closed %lu connection(s) with messages it had taken and not "
            "answered (their bytes are lost), kept %lu",
            (int)pid, why, closed, kept);
}
