/*
 * wsecho: a WebSocket echo server (RFC 6455) as the logic process of the io_conn / md pair
 * (ex4.6, optional in the tutorial: its exercise 9 of section 4).
 *
 * io_conn owns the sockets: it carries the bytes each client sends to us through the queue at
 * KEY, and what we answer back to that client through the queue at KEY + 1 (iomd.h). A message
 * of length 0 means "closed": from io_conn, the client has gone; from us, close the connection
 * once what we sent before has been written. wsecho takes md's place on those two queues and
 * keeps, per flow id, the state of one client:
 *
 *   CONN_HTTP    the request head is coming in. GET / gets the page of wsecho_page.h, which
 *                opens a WebSocket back to us; a valid upgrade request gets 101 and the
 *                connection turns into CONN_WS; anything else gets 400 (or 404, 405, 426).
 *                Every answer but the 101 ends with a close.
 *   CONN_WS      frames: each one checked (frame_check), then acted on when its payload is
 *                all there (frame_handle): text and binary messages echoed (fragments put
 *                together first, so the echo is one frame), pings answered with pongs, a
 *                close frame echoed and the connection closed. A broken rule: a close frame
 *                with the status code RFC 6455 gives it (1002, 1007, 1009), then the close.
 *   CONN_CLOSED  we asked io_conn to close it: what still comes is dropped, and the state is
 *                freed when io_conn's length-0 message says the connection is gone.
 *
 * The loop is md's (mdloop.h, given): each pass takes up to BATCH messages from io_conn's queue
 * (without copying them: shmmq_peek), runs them through their flow's state, and sends what
 * they produced; an empty queue means a short spin, then a sleep on its FIFO. When io_conn's
 * queue is full, what could not go stays in our output and we take nothing more until it has
 * gone (the loop retries a millisecond later): back-pressure goes back to io_conn, which stops
 * reading its clients. Nothing is dropped. SIGINT or SIGTERM: every open WebSocket gets a close
 * frame 1001 (going away), everything is freed, and we leave the queues (the last one out,
 * io_conn or us, removes them).
 */
#include "args.h"
#include "iomd.h"
#include "log.h"
#include "mdloop.h"
#include "shmmq.h"
#include "sigwatch.h"
#include "ws.h"
#include "wsecho_page.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MSG_MAX_DEFAULT (1024 * 1024) /* -m: the largest message we echo */
#define HTTP_HEAD_MAX 8192            /* the longest request head we read */
#define BATCH 256                     /* queue messages per pass, then the signals */
#define BUF_KEEP (64 * 1024)          /* an emptied buffer bigger than this is freed */

/* A growing byte buffer. */
struct buf {
    uint8_t *data;
    size_t len, cap;
};

enum conn_state { CONN_HTTP, CONN_WS, CONN_CLOSED };

/* One client, by its flow id. */
struct conn {
    uint64_t id;
    enum conn_state state;
    struct buf in;       /* bytes received and not used yet: a partial head or frame */
    size_t http_scanned; /* bytes of `in` already searched for the end of the head */
    struct buf msg;      /* a fragmented message being put together, unmasked */
    unsigned msg_opcode; /* its opcode (text or binary); 0 when no message is in progress */
};

/* The flows, by id: open addressing with linear probing, at most 3/4 full. */
struct flow_map {
    struct conn **slot; /* cap entries, NULL when free */
    size_t cap;         /* a power of two */
    size_t count;
    unsigned shift;     /* 64 - log2(cap): the hash keeps the top bits */
};

struct wsecho {
    key_t key;
    size_t queue_bytes;
    uint64_t msg_max;
    shmmq *from_io; /* io_conn -> us, at key */
    shmmq *to_io;   /* us -> io_conn, at key + 1 */
    uint32_t out_max; /* the largest payload of one message to io_conn */
    struct flow_map flows;
    /* What the message being handled produced, all for one flow: sent out after it. */
    struct buf out;
    size_t out_sent; /* bytes of out already in io_conn's queue */
    uint64_t out_id, out_ts;
    int out_close; /* then ask io_conn to close that flow */
    /* for the line at exit */
    uint64_t messages, closes, upgrades, frames;
};

static void usage(FILE *out);
static void parse_args(int argc, char **argv, struct wsecho *w);
static int open_queues(struct wsecho *w);
static enum mdloop_pass pass(void *ctx, uint64_t *later);
static void on_message(struct wsecho *w, uint64_t id, uint64_t ts, const uint8_t *data,
                       uint32_t len);
static int conn_input(struct wsecho *w, struct conn *c, const uint8_t *data, size_t len);
static int http_input(struct wsecho *w, struct conn *c, const uint8_t *p, size_t n, size_t *used);
static int ws_input(struct wsecho *w, struct conn *c, const uint8_t *p, size_t n, size_t *used);
static int frame_check(struct wsecho *w, const struct conn *c, const struct ws_frame *f);
static int frame_handle(struct wsecho *w, struct conn *c, const struct ws_frame *f,
                        const uint8_t *payload);
static int out_flush(struct wsecho *w);
static void say_goodbye(struct wsecho *w);
static void conn_free(struct conn *c);
static void map_free(struct flow_map *m);

int main(int argc, char **argv)
{
    struct wsecho w = {.msg_max = MSG_MAX_DEFAULT, .queue_bytes = IOMD_QUEUE_DEFAULT};
    int status = 1;

    log_init(argv[0]);
    parse_args(argc, argv, &w);
    if (sigwatch_init() == -1) /* SIGINT and SIGTERM as bytes on a pipe; SIGPIPE ignored */
        return 1;
    w.flows.cap = 64;
    w.flows.shift = 64 - 6;
    w.flows.slot = calloc(w.flows.cap, sizeof *w.flows.slot);
    if (w.flows.slot == NULL) {
        log_sys("calloc(%zu flow slots)", w.flows.cap);
        goto out;
    }
    if (open_queues(&w) == -1)
        goto out;
    struct mdloop loop = {.in = w.from_io, .pass = pass, .ctx = &w};
    status = mdloop_run(&loop) == 0 ? 0 : 1; /* a broken queue: logged by the pass */
    say_goodbye(&w);
    log_msg("exiting: messages=%llu closes=%llu websockets=%llu frames=%llu",
            (unsigned long long)w.messages, (unsigned long long)w.closes,
            (unsigned long long)w.upgrades, (unsigned long long)w.frames);

out:
    for (size_t i = 0; w.flows.slot != NULL && i < w.flows.cap; i++)
        conn_free(w.flows.slot[i]);
    map_free(&w.flows);
    free(w.out.data);
    shmmq_close(w.from_io);
    shmmq_close(w.to_io);
    sigwatch_close();
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s -k KEY [-q BYTES] [-m BYTES]\n"
            "\n"
            "A WebSocket echo server (RFC 6455) behind io_conn: io_conn -k KEY holds the TCP\n"
            "connections and passes their bytes through shared-memory queues; wsecho answers.\n"
            "GET / serves a page from which a browser talks to the echo; a WebSocket upgrade\n"
            "on any path opens the echo itself. SIGINT or SIGTERM closes every WebSocket with\n"
            "status 1001 and stops it with exit status 0.\n"
            "\n"
            "  -k, --key KEY      base IPC key, as given to io_conn: the queue from io_conn is\n"
            "                     at KEY, the queue to it at KEY+1\n"
            "  -q, --queue-bytes BYTES  ring size of each queue, a power of two, the same as\n"
            "                     io_conn's (default %u)\n"
            "  -m, --max BYTES    the largest message echoed; a longer one is closed with\n"
            "                     status 1009 (default %d)\n"
            "  -h, --help         print this help and exit\n",
            log_progname(), IOMD_QUEUE_DEFAULT, MSG_MAX_DEFAULT);
}

static void parse_args(int argc, char **argv, struct wsecho *w)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},  {"queue-bytes", required_argument, NULL, 'q'},
        {"max", required_argument, NULL, 'm'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int have_key = 0, c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:q:m:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            w->key = iomd_base_key(optarg);
            have_key = 1;
            break;
        case 'q':
            w->queue_bytes = iomd_queue_bytes(optarg);
            break;
        case 'm':
            w->msg_max = (uint64_t)args_number("-m", optarg, 1, 1L << 30);
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
    if (!have_key)
        args_usage_error("-k KEY is required (the key io_conn was given)");
}

/* Attach to (or create) both queues, as md does: either side may come first. */
static int open_queues(struct wsecho *w)
{
    w->from_io = iomd_open(iomd_key_to_md(w->key), w->queue_bytes, SHMMQ_CONSUMER);
    if (w->from_io == NULL)
        return -1;
    w->to_io = iomd_open(iomd_key_to_io(w->key), w->queue_bytes, SHMMQ_PRODUCER);
    if (w->to_io == NULL)
        return -1;
    w->out_max = shmmq_max_payload(w->to_io);
    return 0;
}

/* ---- the loop's pass ------------------------------------------------------------------- */

/*
 * Send what is left of the output; then take up to BATCH messages from io_conn's queue, each
 * handled (on_message) and its answer sent before the next is taken. io_conn's queue full:
 * the rest of the answer waits in w->out and nothing more is taken (MDLOOP_FULL).
 */
static enum mdloop_pass pass(void *ctx, uint64_t *later)
{
    struct wsecho *w = ctx;
    (void)later;
    int r = out_flush(w);
    if (r != 0)
        return r == 1 ? MDLOOP_FULL : MDLOOP_BAD;
    for (int n = 0; n < BATCH; n++) {
        uint64_t id, ts;
        uint32_t len;
        const void *m = shmmq_peek(w->from_io, &id, &ts, &len);
        if (m == NULL) {
            if (errno == EAGAIN)
                return n > 0 ? MDLOOP_MOVED : MDLOOP_EMPTY;
            log_sys("shmmq_peek(key 0x%x)", (unsigned)w->key);
            return MDLOOP_BAD;
        }
        on_message(w, id, ts, m, len);
        shmmq_consume(w->from_io);
        r = out_flush(w);
        if (r == -1)
            return MDLOOP_BAD;
        if (r == 1)
            return MDLOOP_MOVED; /* the next pass finds the queue full, and waits */
    }
    return MDLOOP_MOVED;
}

/* ---- byte buffers --------------------------------------------------------------------------- */

/* Room for `more` bytes after b->len (b->data is not NULL after it). 0, or -1 with ENOMEM. */
static int buf_reserve(struct buf *b, size_t more)
{
    if (b->data != NULL && b->cap - b->len >= more)
        return 0;
    if (more > SIZE_MAX / 2 - b->len) {
        errno = ENOMEM;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static int buf_add(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (buf_reserve(b, n) == -1)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Forget the first n bytes; an emptied big buffer goes back to the allocator. */
static void buf_drop(struct buf *b, size_t n)
{
    if (n < b->len)
        memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    if (b->len == 0 && b->cap > BUF_KEEP)
        buf_free(b);
}

/* ---- the flows ------------------------------------------------------------------------------- */

static size_t map_home(const struct flow_map *m, uint64_t id)
{
    /* Fibonacci hashing: ids differ mostly in their low bits (io_conn's slot numbers) */
    return (size_t)((id * 0x9e3779b97f4a7c15ull) >> m->shift);
}

static struct conn *map_get(const struct flow_map *m, uint64_t id)
{
    for (size_t i = map_home(m, id);; i = (i + 1) & (m->cap - 1)) {
        if (m->slot[i] == NULL)
            return NULL;
        if (m->slot[i]->id == id)
            return m->slot[i];
    }
}

static void map_put_new(struct flow_map *m, struct conn *c)
{
    size_t i = map_home(m, c->id);
    while (m->slot[i] != NULL)
        i = (i + 1) & (m->cap - 1);
    m->slot[i] = c;
    m->count++;
}

/* Add c (its id is not there yet). 0, or -1 with ENOMEM. */
static int map_add(struct flow_map *m, struct conn *c)
{
    if ((m->count + 1) * 4 > m->cap * 3) {
        struct flow_map bigger = {.cap = m->cap * 2, .shift = m->shift - 1};
        bigger.slot = calloc(bigger.cap, sizeof *bigger.slot);
        if (bigger.slot == NULL)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slot[i] != NULL)
                map_put_new(&bigger, m->slot[i]);
        free(m->slot);
        *m = bigger;
    }
    map_put_new(m, c);
    return 0;
}

/* Remove the entry of id (there must be one), moving back the entries after it in its run
 * so that every lookup still finds its entry without passing a hole. */
static void map_remove(struct flow_map *m, uint64_t id)
{
    size_t mask = m->cap - 1, i = map_home(m, id);
    while (m->slot[i]->id != id)
        i = (i + 1) & mask;
    m->slot[i] = NULL;
    m->count--;
    for (size_t j = (i + 1) & mask; m->slot[j] != NULL; j = (j + 1) & mask) {
        size_t home = map_home(m, m->slot[j]->id);
        /* slot j may move to the hole at i unless its home lies in (i, j], cyclically */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slot[i] = m->slot[j];
            m->slot[j] = NULL;
            i = j;
        }
    }
}

static void map_free(struct flow_map *m)
{
    free(m->slot);
    m->slot = NULL;
}

static void conn_free(struct conn *c)
{
    if (c == NULL)
        return;
    buf_free(&c->in);
    buf_free(&c->msg);
    free(c);
}

/* ---- what goes back to io_conn ------------------------------------------------------------------ */

/* Append an unmasked frame header (FIN set) for len payload bytes to the output; returns where
 * the payload goes (the caller fills in len bytes), or NULL with ENOMEM. */
static uint8_t *out_frame(struct wsecho *w, unsigned opcode, size_t len)
{
    if (buf_reserve(&w->out, WS_HEADER_MAX + len) == -1)
        return NULL;
    w->out.len += ws_frame_header(w->out.data + w->out.len, 1, opcode, len);
    uint8_t *payload = w->out.data + w->out.len;
    w->out.len += len;
    return payload;
}

/* After what the output holds, ask io_conn to close c; c takes no more input (its buffers are
 * freed once the bytes being parsed are done with: on_message). Returns 1. */
static int conn_close(struct wsecho *w, struct conn *c)
{
    w->out_close = 1;
    c->state = CONN_CLOSED;
    return 1;
}

/* Fail the WebSocket connection: a close frame with the status code, then the close.
 * Returns 1 (even without memory for the frame: the connection closes anyway). */
static int conn_fail(struct wsecho *w, struct conn *c, unsigned status)
{
    uint8_t *p = out_frame(w, WS_OP_CLOSE, 2);
    if (p != NULL) {
        p[0] = (uint8_t)(status >> 8);
        p[1] = (uint8_t)status;
    }
    return conn_close(w, c);
}

/* Send what the output holds to io_conn, in messages of at most out_max bytes, then the close
 * if one was asked for. 0 when all is sent; 1 when io_conn's queue is full (the rest waits);
 * -1 when the queue is broken (logged). */
static int out_flush(struct wsecho *w)
{
    while (w->out_sent < w->out.len) {
        size_t n = w->out.len - w->out_sent;
        if (n > w->out_max)
            n = w->out_max;
        if (shmmq_enqueue(w->to_io, w->out_id, w->out_ts, w->out.data + w->out_sent,
                          (uint32_t)n) == -1) {
            if (errno == EAGAIN)
                return 1;
            log_sys("shmmq_enqueue(key 0x%x, flow 0x%016llx, %zu bytes)", (unsigned)w->key + 1,
                    (unsigned long long)w->out_id, n);
            return -1;
        }
        w->out_sent += n;
    }
    if (w->out_close) {
        if (shmmq_enqueue(w->to_io, w->out_id, w->out_ts, "", 0) == -1) {
            if (errno == EAGAIN)
                return 1;
            log_sys("shmmq_enqueue(key 0x%x, flow 0x%016llx, close)", (unsigned)w->key + 1,
                    (unsigned long long)w->out_id);
            return -1;
        }
        w->out_close = 0;
    }
    w->out_sent = 0;
    buf_drop(&w->out, w->out.len);
    return 0;
}

/* Stopping: tell each open WebSocket we are going away (1001) and close every connection we
 * know, as far as io_conn's queue takes it now; a stopping server does not wait. */
static void say_goodbye(struct wsecho *w)
{
    if (w->to_io == NULL || out_flush(w) != 0)
        return;
    for (size_t i = 0; i < w->flows.cap; i++) {
        struct conn *c = w->flows.slot[i];
        if (c == NULL || c->state == CONN_CLOSED)
            continue;
        w->out_id = c->id;
        w->out_ts = 0;
        if (c->state == CONN_WS)
            conn_fail(w, c, WS_CLOSE_GOING_AWAY);
        else
            conn_close(w, c);
        if (out_flush(w) != 0) {
            log_msg("io_conn's queue is full: some connections were not told that we stop");
            return;
        }
    }
}

/* ---- one message from io_conn --------------------------------------------------------------- */

static void on_message(struct wsecho *w, uint64_t id, uint64_t ts, const uint8_t *data,
                       uint32_t len)
{
    struct conn *c = map_get(&w->flows, id);
    w->messages++;
    if (len == 0) {
        w->closes++;
        /* The client is done (it closed, or io_conn closed it as we asked): forget it, and
         * answer with the close unless we asked for it already. */
        if (c == NULL || c->state != CONN_CLOSED) {
            w->out_id = id;
            w->out_ts = ts;
            w->out_close = 1;
        }
        if (c != NULL) {
            map_remove(&w->flows, id);
            conn_free(c);
        }
        return;
    }
    if (c == NULL) {
        /* a new client; or one from before we (re)started, whose bytes will not parse as a
         * request head: it gets a 400 and the close */
        c = calloc(1, sizeof *c);
        if (c != NULL)
            c->id = id;
        if (c == NULL || map_add(&w->flows, c) == -1) {
            log_sys("flow 0x%016llx: no memory for its state; closing it", (unsigned long long)id);
            free(c);
            w->out_id = id;
            w->out_ts = ts;
            w->out_close = 1;
            return;
        }
    }
    if (c->state == CONN_CLOSED)
        return; /* bytes that were on their way when we asked for the close */
    w->out_id = id;
    w->out_ts = ts;
    if (conn_input(w, c, data, len) == -1) {
        log_sys("flow 0x%016llx: %s; closing it", (unsigned long long)id,
                c->state == CONN_HTTP ? "reading the request" : "handling a frame");
        if (c->state == CONN_WS)
            conn_fail(w, c, WS_CLOSE_INTERNAL);
        else
            conn_close(w, c);
    }
    if (c->state == CONN_CLOSED) {
        /* only the id stays, until io_conn says the connection is gone */
        buf_free(&c->in);
        buf_free(&c->msg);
    }
}

/*
 * New bytes of c: use what is complete (the request head, whole frames) and keep the rest in
 * c->in for the next message. When c->in is empty the bytes are parsed where they are, in the
 * queue, and only a leftover piece is copied. Returns 0, 1 (c is closing), or -1 with errno.
 */
static int conn_input(struct wsecho *w, struct conn *c, const uint8_t *data, size_t len)
{
    const uint8_t *p = data;
    size_t n = len, done = 0;
    int r = 0;

    if (c->in.len > 0) {
        if (buf_add(&c->in, data, len) == -1)
            return -1;
        p = c->in.data;
        n = c->in.len;
    }
    while (r == 0 && done < n) {
        size_t used = 0;
        if (c->state == CONN_HTTP)
            r = http_input(w, c, p + done, n - done, &used);
        else
            r = ws_input(w, c, p + done, n - done, &used);
        if (r == 0 && used == 0)
            break; /* incomplete: wait for more bytes */
        done += used;
    }
    if (r != 0 || c->state == CONN_CLOSED)
        return r;
    if (p == data)
        return buf_add(&c->in, p + done, n - done);
    buf_drop(&c->in, done);
    return 0;
}

/* ---- HTTP: the request head ------------------------------------------------------------------- */

/* What wsecho needs of a request head. Strings point into the head (not NUL-terminated). */
struct http_req {
    const char *method, *target;
    size_t method_len, target_len;
    int minor;                  /* HTTP/1.<minor> */
    int host, upgrade_ws, conn_upgrade;
    const char *key, *version;  /* Sec-WebSocket-Key, Sec-WebSocket-Version */
    size_t key_len, version_len;
    int keys, versions;         /* how many times each came */
};

/* Does the comma-separated list v[0..n) hold token (any case)? */
static int has_token(const char *v, size_t n, const char *token)
{
    size_t tlen = strlen(token), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end - start == tlen && strncasecmp(v + start, token, tlen) == 0)
            return 1;
    }
    return 0;
}

static int name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* Parse the head h[0..n) (without its blank line). 0, or -1 if it is not a valid request. */
static int http_parse(const char *h, size_t n, struct http_req *q)
{
    memset(q, 0, sizeof *q);
    const char *end = h + n, *eol = memchr(h, '\n', n);
    const char *line_end = eol ? eol : end;
    if (line_end > h && line_end[-1] == '\r')
        line_end--;

    /* the request line: METHOD SP target SP HTTP/1.x */
    const char *sp1 = memchr(h, ' ', (size_t)(line_end - h));
    if (sp1 == NULL || sp1 == h)
        return -1;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
    if (sp2 == NULL || sp2 == sp1 + 1)
        return -1;
    q->method = h;
    q->method_len = (size_t)(sp1 - h);
    q->target = sp1 + 1;
    q->target_len = (size_t)(sp2 - sp1 - 1);
    if (line_end - (sp2 + 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp2[8] < '0' ||
        sp2[8] > '9')
        return -1;
    q->minor = sp2[8] - '0';

    /* the header fields: name ":" OWS value OWS, one per line */
    for (const char *line = eol ? eol + 1 : end; line < end;) {
        eol = memchr(line, '\n', (size_t)(end - line));
        line_end = eol ? eol : end;
        const char *next = eol ? eol + 1 : end;
        if (line_end > line && line_end[-1] == '\r')
            line_end--;
        if (line == line_end) {
            line = next;
            continue;
        }
        const char *colon = memchr(line, ':', (size_t)(line_end - line));
        if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t' ||
            colon[-1] == ' ' || colon[-1] == '\t')
            return -1; /* no name, a folded line, or blanks before the colon (RFC 9112) */
        const char *v = colon + 1, *ve = line_end;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t nlen = (size_t)(colon - line), vlen = (size_t)(ve - v);
        if (name_is(line, nlen, "Host"))
            q->host++;
        else if (name_is(line, nlen, "Upgrade"))
            q->upgrade_ws |= has_token(v, vlen, "websocket");
        else if (name_is(line, nlen, "Connection"))
            q->conn_upgrade |= has_token(v, vlen, "upgrade");
        else if (name_is(line, nlen, "Sec-WebSocket-Key")) {
            q->keys++;
            q->key = v;
            q->key_len = vlen;
        } else if (name_is(line, nlen, "Sec-WebSocket-Version")) {
            q->versions++;
            q->version = v;
            q->version_len = vlen;
        }
        line = next;
    }
    return 0;
}

/* Answer with an HTTP status and a short text, then close. Returns 1. */
static int http_error(struct wsecho *w, struct conn *c, const char *status, const char *extra,
                      const char *why)
{
    char resp[512];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s\n",
                     status, strlen(why) + 1, extra, why);
    if (n > 0 && (size_t)n < sizeof resp && buf_add(&w->out, resp, (size_t)n) == -1)
        log_sys("flow 0x%016llx: no memory for the %s answer", (unsigned long long)c->id, status);
    return conn_close(w, c);
}

/* The WebSocket opening handshake (RFC 6455 4.2.1): 101, or an error. 0, 1 (closing) or -1. */
static int http_upgrade(struct wsecho *w, struct conn *c, const struct http_req *q)
{
    if (!name_is(q->method, q->method_len, "GET") || q->minor < 1)
        return http_error(w, c, "400 Bad Request", "",
                          "a WebSocket handshake is a GET request of HTTP/1.1");
    if (q->host != 1)
        return http_error(w, c, "400 Bad Request", "", "one Host header field is required");
    if (!q->conn_upgrade)
        return http_error(w, c, "400 Bad Request", "",
                          "a WebSocket handshake needs \"Connection: Upgrade\"");
    if (q->keys != 1 || !ws_key_valid(q->key, q->key_len))
        return http_error(w, c, "400 Bad Request", "",
                          "Sec-WebSocket-Key must come once: the base64 of 16 bytes");
    if (q->versions != 1 || q->version_len != 2 || memcmp(q->version, "13", 2) != 0)
        return http_error(w, c, "426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n",
                          "this server speaks WebSocket version 13 only");

    char accept[WS_ACCEPT_LEN + 1], resp[256];
    if (ws_accept_key(q->key, q->key_len, accept) == -1) {
        log_sys("flow 0x%016llx: ws_accept_key", (unsigned long long)c->id);
        return http_error(w, c, "500 Internal Server Error", "",
                          "the server could not compute Sec-WebSocket-Accept");
    }
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    if (buf_add(&w->out, resp, (size_t)n) == -1)
        return -1;
    c->state = CONN_WS;
    w->upgrades++;
    return 0;
}

/*
 * The request head, once it is all in p[0..n): *used = its length and the answer is in the
 * output. Until then *used = 0 (more bytes are needed), or a 400 if it grows too long. A head
 * ends with an empty line; bare LF line ends are taken too (a person typing into nc).
 * Returns 0 (go on: frames may follow a 101), 1 (closing) or -1 with errno.
 */
static int http_input(struct wsecho *w, struct conn *c, const uint8_t *p, size_t n, size_t *used)
{
    size_t i = c->http_scanned > 2 ? c->http_scanned - 2 : 0, head = 0, end = 0;
    for (; i < n && end == 0; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < n && p[i + 1] == '\n')
            head = i, end = i + 2;
        else if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            head = i, end = i + 3;
    }
    if (end == 0) {
        c->http_scanned = n;
        *used = 0;
        if (n > HTTP_HEAD_MAX)
            return http_error(w, c, "400 Bad Request", "", "the request head is too long");
        return 0;
    }
    *used = end;
    if (end > HTTP_HEAD_MAX)
        return http_error(w, c, "400 Bad Request", "", "the request head is too long");

    struct http_req q;
    if (http_parse((const char *)p, head, &q) == -1)
        return http_error(w, c, "400 Bad Request", "", "that is not an HTTP/1.x request");
    if (q.upgrade_ws)
        return http_upgrade(w, c, &q);
    if (!name_is(q.method, q.method_len, "GET"))
        return http_error(w, c, "405 Method Not Allowed", "Allow: GET\r\n",
                          "only GET is served here");
    if (!name_is(q.target, q.target_len, "/") && !name_is(q.target, q.target_len, "/index.html"))
        return http_error(w, c, "404 Not Found", "", "the page is at /");

    char resp[256];
    int len = snprintf(resp, sizeof resp,
                       "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                       "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                       "Connection: close\r\n\r\n",
                       sizeof wsecho_page - 1);
    if (buf_add(&w->out, resp, (size_t)len) == -1 ||
        buf_add(&w->out, wsecho_page, sizeof wsecho_page - 1) == -1)
        return -1;
    return conn_close(w, c);
}

/* ---- WebSocket frames ------------------------------------------------------------------------- */

/*
 * One frame at the start of p[0..n): once its header is there, check it (frame_check); once
 * its payload is there too, act on it (frame_handle) and set *used to the frame's length.
 * Until then *used = 0. The size limit is checked on the header, so a huge frame is refused
 * before its bytes pile up. Returns 0, 1 (closing) or -1 with errno.
 */
static int ws_input(struct wsecho *w, struct conn *c, const uint8_t *p, size_t n, size_t *used)
{
    struct ws_frame f;
    *used = 0;
    int h = ws_frame_parse(p, n, &f);
    if (h == -1) {
        if (errno == EPROTO)
            return conn_fail(w, c, WS_CLOSE_PROTOCOL);
        log_sys("flow 0x%016llx: ws_frame_parse", (unsigned long long)c->id);
        return conn_close(w, c);
    }
    if (h == 0)
        return 0;
    int status = frame_check(w, c, &f);
    if (status == -1) {
        log_sys("flow 0x%016llx: frame_check", (unsigned long long)c->id);
        return conn_close(w, c);
    }
    if (status != 0)
        return conn_fail(w, c, (unsigned)status);
    if (n - (size_t)h < f.len)
        return 0;
    *used = (size_t)h + (size_t)f.len;
    w->frames++;
    return frame_handle(w, c, &f, p + h);
}

/*
 * The rules a frame header must follow, for a server that negotiated no extension:
 *  - RSV1-3 are 0; the opcode is one of the six of enum ws_opcode;
 *  - a client's frames are masked;
 *  - control frames (close, ping, pong) have FIN set and at most WS_CONTROL_MAX bytes;
 *  - a continuation frame continues a message (c->msg_opcode != 0); a text or binary frame
 *    starts one, so none may be in progress;
 *  - a data frame's payload, with what c->msg holds already, is at most w->msg_max.
 * Returns 0 if f is fine, else the close status to fail the connection with (WS_CLOSE_TOO_BIG
 * for the size, WS_CLOSE_PROTOCOL for the rest); -1 with errno if it can not tell.
 */
static int frame_check(struct wsecho *w, const struct conn *c, const struct ws_frame *f)
{
    //@solution
    if (f->rsv != 0 || !f->masked)
        return WS_CLOSE_PROTOCOL;
    switch (f->opcode) {
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        /* control frames may come between the fragments of a message, never fragmented */
        return !f->fin || f->len > WS_CONTROL_MAX ? WS_CLOSE_PROTOCOL : 0;
    case WS_OP_CONT:
        if (c->msg_opcode == 0)
            return WS_CLOSE_PROTOCOL; /* nothing to continue */
        break;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (c->msg_opcode != 0)
            return WS_CLOSE_PROTOCOL; /* the previous message has not ended */
        break;
    default:
        return WS_CLOSE_PROTOCOL; /* reserved opcodes 3-7, 11-15 */
    }
    return f->len > w->msg_max - c->msg.len ? WS_CLOSE_TOO_BIG : 0;
    //@stub the rules of a frame header: RSV, opcodes, masking, control frames, continuation, size
    //@ (void)w;
    //@ (void)c;
    //@ (void)f;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/* A close frame from the client (its payload unmasked in p[0..len)): echo it and close. A
 * payload is empty or a valid 2-byte status code and a UTF-8 reason. Returns 1. */
static int close_received(struct wsecho *w, struct conn *c, const uint8_t *p, size_t len)
{
    if (len == 1)
        return conn_fail(w, c, WS_CLOSE_PROTOCOL);
    if (len >= 2 && !ws_close_code_valid((unsigned)p[0] << 8 | p[1]))
        return conn_fail(w, c, WS_CLOSE_PROTOCOL);
    if (len > 2 && !ws_utf8_valid(p + 2, len - 2))
        return conn_fail(w, c, WS_CLOSE_BAD_DATA);
    uint8_t *echo = out_frame(w, WS_OP_CLOSE, len);
    if (echo != NULL)
        memcpy(echo, p, len);
    return conn_close(w, c);
}

/*
 * Act on a frame that frame_check accepted, its (masked) payload in payload[0..f->len):
 *  - ping: a pong with the same payload; pong: nothing;
 *  - close: close_received (it echoes the close frame and closes);
 *  - a text or binary frame with FIN set (a whole message): echoed as one frame; a text
 *    message that is not UTF-8 fails the connection with WS_CLOSE_BAD_DATA instead;
 *  - a fragment: its payload is added to c->msg (c->msg_opcode remembers text or binary),
 *    and the last one (FIN set) echoes c->msg as one frame, checked as above.
 * out_frame() puts a frame in the output; ws_mask() unmasks while copying.
 * Returns 0, 1 (the connection is closing) or -1 with errno (ENOMEM).
 */
static int frame_handle(struct wsecho *w, struct conn *c, const struct ws_frame *f,
                        const uint8_t *payload)
{
    //@solution
    size_t len = (size_t)f->len;
    uint8_t *dst;

    switch (f->opcode) {
    case WS_OP_PING:
        if ((dst = out_frame(w, WS_OP_PONG, len)) == NULL)
            return -1;
        ws_mask(dst, payload, len, f->mask, 0);
        return 0;
    case WS_OP_PONG:
        return 0; /* an answer to a ping we never sent, or a heartbeat: nothing to do */
    case WS_OP_CLOSE: {
        uint8_t p[WS_CONTROL_MAX];
        ws_mask(p, payload, len, f->mask, 0);
        return close_received(w, c, p, len);
    }
    }

    if (f->fin && f->opcode != WS_OP_CONT) {
        /* A whole message in one frame, the usual case: unmask it straight into the echo. */
        size_t mark = w->out.len;
        if ((dst = out_frame(w, f->opcode, len)) == NULL)
            return -1;
        ws_mask(dst, payload, len, f->mask, 0);
        if (f->opcode == WS_OP_TEXT && !ws_utf8_valid(dst, len)) {
            w->out.len = mark; /* take the echo back */
            return conn_fail(w, c, WS_CLOSE_BAD_DATA);
        }
        return 0;
    }

    /* A fragment: collect it, unmasked. */
    if (buf_reserve(&c->msg, len) == -1)
        return -1;
    ws_mask(c->msg.data + c->msg.len, payload, len, f->mask, 0);
    c->msg.len += len;
    if (f->opcode != WS_OP_CONT)
        c->msg_opcode = f->opcode;
    if (!f->fin)
        return 0;

    /* The last fragment: the whole message goes back as one frame. */
    if (c->msg_opcode == WS_OP_TEXT && !ws_utf8_valid(c->msg.data, c->msg.len))
        return conn_fail(w, c, WS_CLOSE_BAD_DATA);
    if ((dst = out_frame(w, c->msg_opcode, c->msg.len)) == NULL)
        return -1;
    memcpy(dst, c->msg.data, c->msg.len);
    c->msg_opcode = 0;
    buf_drop(&c->msg, c->msg.len);
    return 0;
    //@stub ping -> pong, pong ignored, close -> close_received, echo whole and fragmented messages
    //@ (void)w;
    //@ (void)c;
    //@ (void)f;
    //@ (void)payload;
    //@ (void)close_received;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}
