/*
 * test_wsecho.c: black-box tests of ex4.6 (*), wsecho, the WebSocket echo (RFC 6455) that takes
 * md's place behind io_conn.
 *
 * Each test runs the reference io_conn and the student's wsecho on the test's own keys (started
 * with the io_conn / md tests' helpers, test_iomd_lib.h), and talks to io_conn's port with a
 * WebSocket client written here (it shares no code with ws.c):
 * the opening handshake with keys whose Sec-WebSocket-Accept is known (RFC 6455's example and
 * values worked out with another SHA-1), masked frames built byte by byte, frames read and
 * checked byte by byte (a server's frames are never masked and have no reserved bit set). A
 * protocol error must give a close frame with the right status code, then the end of the
 * connection, and nothing echoed before it.
 *
 * Static buffers only: on the memcheck pass the test runner itself runs under valgrind, and a
 * failing step leaves the test by a long jump.
 */
#include "gt.h"
#include "test_iomd_lib.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG "wsecho"
#define BIG (1024 * 1024 + 64) /* the largest frame the tests send or read back */

#define OP_CONT 0x0
#define OP_TEXT 0x1
#define OP_BINARY 0x2
#define OP_CLOSE 0x8
#define OP_PING 0x9
#define OP_PONG 0xa
#define FIN 0x80

/* Keys and the Sec-WebSocket-Accept each must get (RFC 6455 1.3, then Python's hashlib). */
static const char *const keys[][2] = {
    {"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
    {"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
    {"AQIDBAUGBwgJCgsMDQ4PEA==", "C/0nmHhBztSRGR1CwL6Tf4ZjwpY="},
};

static uint8_t sendbuf[BIG + 16], recvbuf[BIG], want[BIG];

/* io_conn and wsecho on the keys of this test. */
struct pair {
    gt_proc io;
    ti_md ws;
};

/* ---- the processes ----------------------------------------------------------------------- */

/* The reference io_conn, then the student's wsecho (with -m max unless NULL). Every failure
 * goes through ti_fail, which says "not implemented" when wsecho's stderr does. */
static void start_pair(struct pair *s, const char *max)
{
    const char *ws_args[] = {"-m", max, NULL};
    ti_io_start(&s->io, 0, NULL);
    ti_logic_start(&s->ws, PROG, 1, max != NULL ? ws_args : NULL);
}

static void stop_pair(struct pair *s)
{
    ti_md_signal_wait(&s->ws, SIGTERM);
    gt_server_stop(&s->io);
}

/* wsecho's stderr tail, for messages. */
static const char *ws_err(const struct pair *s)
{
    return ti_md_err(&s->ws);
}

/* ---- bytes on the connection --------------------------------------------------------------- */

/* 1 once wsecho has ended (without reaping it: ti_fail then says how it ended). */
static int ws_ended(const struct pair *s)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return s->ws.pid > 0 &&
           waitid(P_PID, (id_t)s->ws.pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid != 0;
}

/* Read exactly n bytes before the deadline. Returns n, or fewer at the end of the connection
 * (a reset counts as an end). Fails on a timeout, naming what was awaited, and at once when
 * wsecho has ended meanwhile (nothing more can come). */
static size_t read_n(const struct pair *s, int fd, void *buf, size_t n, const char *what)
{
    double deadline = gt_now() + 10.0 * gt_time_scale();
    size_t got = 0;
    while (got < n) {
        double left = deadline - gt_now();
        if (left <= 0)
            ti_fail("waited %.0f s for %s: %zu of %zu bytes came; wsecho's stderr: %s",
                    10.0 * gt_time_scale(), what, got, n, ws_err(s));
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1) <= 0) {
            if (ws_ended(s))
                ti_fail("while waiting for %s (%zu of %zu bytes came), wsecho ended", what, got,
                        n);
            continue;
        }
        ssize_t r = recv(fd, (uint8_t *)buf + got, n - got, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
        else if (r == 0 || errno == ECONNRESET)
            return got;
        else if (errno != EAGAIN && errno != EINTR)
            ti_fail("recv() while waiting for %s: %s", what, strerror(errno));
    }
    return got;
}

static void send_bytes(const struct pair *s, int fd, const void *buf, size_t len, const char *what)
{
    if (gt_send_all(fd, buf, len) == -1)
        ti_fail("send() of %s (%zu bytes) failed: %s; wsecho's stderr: %s", what, len,
                strerror(errno), ws_err(s));
}

/* The connection must end (EOF or reset) with nothing more on it. */
static void expect_eof(const struct pair *s, int fd, const char *after)
{
    uint8_t b[64];
    size_t n = read_n(s, fd, b, sizeof b, "the end of the connection");
    if (n > 0)
        ti_fail("after %s the connection must end; %zu more bytes came instead (first: 0x%02x)",
                after, n, b[0]);
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

/* Read a response head (up to the blank line), one byte at a time so that nothing after it is
 * taken. NUL-terminated in head. */
static void read_head(const struct pair *s, int fd, char *head, size_t cap, const char *request)
{
    size_t n = 0;
    while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0) {
        if (n + 1 >= cap)
            ti_fail("the answer to %s has a head over %zu bytes", request, cap);
        if (read_n(s, fd, head + n, 1, "the HTTP answer's head") != 1) {
            head[n] = '\0';
            ti_fail("the connection ended before the answer to %s was whole; got: \"%s\"; "
                    "wsecho's stderr: %s",
                    request, gt_head(head), ws_err(s));
        }
        n++;
    }
    head[n] = '\0';
}

/* The status line of a response head, for messages (static buffer). */
static const char *status_line(const char *head)
{
    static char line[160];
    size_t n = strcspn(head, "\r\n");
    if (n >= sizeof line)
        n = sizeof line - 1;
    memcpy(line, head, n);
    line[n] = '\0';
    return n > 0 ? line : "(an empty line)";
}

/* The value of header field name in head (copied into out), or NULL. */
static const char *header(const char *head, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1, *end = strstr(v, "\r\n");
            while (*v == ' ' || *v == '\t')
                v++;
            size_t len = end ? (size_t)(end - v) : strlen(v);
            while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return out;
        }
    }
    return NULL;
}

/* Send a request; the answer must start "HTTP/1.1 <status>" and the connection end after it.
 * The head goes to head (the body is read and dropped). */
static void expect_refused(const struct pair *s, const char *what, const char *request,
                           const char *status, char *head, size_t cap)
{
    int fd = gt_connect(s->io.port);
    send_bytes(s, fd, request, strlen(request), what);
    read_head(s, fd, head, cap, what);
    char line[64];
    snprintf(line, sizeof line, "HTTP/1.1 %s", status);
    if (strncmp(head, line, strlen(line)) != 0)
        ti_fail("%s must be answered \"%s\"; the answer began: \"%s\"; wsecho's stderr: %s", what,
                line, status_line(head), ws_err(s));
    static uint8_t rest[65536];
    read_n(s, fd, rest, sizeof rest, "the end of the connection after an HTTP error");
    close(fd);
}

/* The opening handshake with keys[k] on a new connection; fails unless 101 with the right
 * Sec-WebSocket-Accept. Returns the connection. */
static int ws_connect(const struct pair *s, int k)
{
    char req[512], head[2048], v[128];
    int fd = gt_connect(s->io.port);
    snprintf(req, sizeof req,
             "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
             "Origin: http://127.0.0.1:%d\r\n\r\n",
             s->io.port, keys[k][0], s->io.port);
    send_bytes(s, fd, req, strlen(req), "the opening handshake");
    read_head(s, fd, head, sizeof head, "the opening handshake");
    if (strncmp(head, "HTTP/1.1 101", 12) != 0)
        ti_fail("the opening handshake (Sec-WebSocket-Key: %s) must be answered \"HTTP/1.1 101 "
                "Switching Protocols\"; got: \"%s\"; wsecho's stderr: %s",
                keys[k][0], status_line(head), ws_err(s));
    if (header(head, "Sec-WebSocket-Accept", v, sizeof v) == NULL)
        ti_fail("the 101 answer has no Sec-WebSocket-Accept field: \"%s\"", gt_head(head));
    if (strcmp(v, keys[k][1]) != 0)
        ti_fail("for Sec-WebSocket-Key: %s the answer must carry Sec-WebSocket-Accept: %s (base64 "
                "of SHA-1 of the key and the GUID); it carried \"%s\"",
                keys[k][0], keys[k][1], v);
    if (header(head, "Upgrade", v, sizeof v) == NULL || strcasecmp(v, "websocket") != 0)
        ti_fail("the 101 answer must say \"Upgrade: websocket\": \"%s\"", gt_head(head));
    if (header(head, "Connection", v, sizeof v) == NULL || strcasestr(v, "upgrade") == NULL)
        ti_fail("the 101 answer must say \"Connection: Upgrade\": \"%s\"", gt_head(head));
    return fd;
}

/* ---- frames -------------------------------------------------------------------------------- */

/* Write one frame into dst: first byte b0 (FIN, RSV and opcode as they are), the payload
 * masked with key unless unmasked; payload NULL writes the header alone (it may announce more
 * than BIG). Returns the frame's size. */
static size_t build_frame(uint8_t *dst, unsigned b0, const void *payload, uint64_t len,
                          uint32_t key, int unmasked)
{
    size_t h = 0;
    dst[h++] = (uint8_t)b0;
    uint8_t m = unmasked ? 0 : 0x80;
    if (len < 126) {
        dst[h++] = m | (uint8_t)len;
    } else if (len <= 0xffff) {
        dst[h++] = m | 126;
        dst[h++] = (uint8_t)(len >> 8);
        dst[h++] = (uint8_t)len;
    } else {
        dst[h++] = m | 127;
        for (int i = 7; i >= 0; i--)
            dst[h++] = (uint8_t)(len >> (8 * i));
    }
    uint8_t mk[4] = {(uint8_t)(key >> 24), (uint8_t)(key >> 16), (uint8_t)(key >> 8),
                     (uint8_t)key};
    if (!unmasked) {
        memcpy(dst + h, mk, 4);
        h += 4;
    }
    if (payload == NULL)
        return h;
    if (len > BIG)
        ti_fail("test bug: a %llu-byte frame", (unsigned long long)len);
    const uint8_t *p = payload;
    for (size_t i = 0; i < (size_t)len; i++)
        dst[h + i] = unmasked ? p[i] : p[i] ^ mk[i & 3];
    return h + (size_t)len;
}

static void send_frame(const struct pair *s, int fd, unsigned b0, const void *payload,
                       uint64_t len, uint32_t key, int unmasked, const char *what)
{
    size_t n = build_frame(sendbuf, b0, payload, len, key, unmasked);
    send_bytes(s, fd, sendbuf, n, what);
}

struct frame {
    unsigned fin, opcode;
    size_t len;
};

/* Read one frame from the server into recvbuf; fails at the end of the connection, on a
 * masked frame, a reserved bit, a non-minimal length, or a payload over BIG. */
static void recv_frame(const struct pair *s, int fd, struct frame *f, const char *what)
{
    uint8_t h[2], x[8];
    char msg[256];
    snprintf(msg, sizeof msg, "a frame (%s)", what);
    if (read_n(s, fd, h, 2, msg) != 2)
        ti_fail("the connection ended while a frame was awaited (%s); wsecho's stderr: %s", what,
                ws_err(s));
    if (h[1] & 0x80)
        ti_fail("a frame from the server is masked (byte 1 = 0x%02x) (%s): a server never masks",
                h[1], what);
    if (h[0] & 0x70)
        ti_fail("a frame from the server has a reserved bit set (byte 0 = 0x%02x) (%s)", h[0],
                what);
    uint64_t len = h[1] & 0x7f;
    size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
    if (ext > 0) {
        if (read_n(s, fd, x, ext, msg) != ext)
            ti_fail("the connection ended inside a frame header (%s)", what);
        len = 0;
        for (size_t i = 0; i < ext; i++)
            len = len << 8 | x[i];
        if ((ext == 2 && len < 126) || (ext == 8 && len <= 0xffff))
            ti_fail("a frame from the server gives its length %llu in %zu bytes: it must use the "
                    "shortest form (%s)",
                    (unsigned long long)len, ext, what);
    }
    if (len > BIG)
        ti_fail("a frame from the server announces %llu bytes (%s): more than any the test sent",
                (unsigned long long)len, what);
    if (read_n(s, fd, recvbuf, (size_t)len, msg) != len)
        ti_fail("the connection ended inside a %llu-byte frame (%s)", (unsigned long long)len,
                what);
    f->fin = h[0] >> 7;
    f->opcode = h[0] & 0x0f;
    f->len = (size_t)len;
}

static const char *opname(unsigned op)
{
    switch (op) {
    case OP_CONT: return "continuation";
    case OP_TEXT: return "text";
    case OP_BINARY: return "binary";
    case OP_CLOSE: return "close";
    case OP_PING: return "ping";
    case OP_PONG: return "pong";
    default: return "reserved";
    }
}

/* The first differing byte of a and b (len bytes), or -1. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i])
            return (long)i;
    return -1;
}

/*
 * Read the echo of a message of opcode op: the payload want[0..len), whatever the pieces it
 * comes in (one frame, or a first frame and continuations), skipping pongs when pongs_ok.
 * Returns the number of pongs seen.
 */
static int expect_echo(const struct pair *s, int fd, unsigned op, size_t len, int pongs_ok,
                       const char *what)
{
    static uint8_t got[BIG];
    size_t have = 0;
    int first = 1, pongs = 0;
    for (;;) {
        struct frame f;
        recv_frame(s, fd, &f, what);
        if (f.opcode == OP_PONG && pongs_ok) {
            pongs++;
            continue;
        }
        if (f.opcode == OP_CLOSE)
            ti_fail("the echo of %s was awaited; a close frame came (status %u); wsecho's "
                    "stderr: %s",
                    what, f.len >= 2 ? (unsigned)recvbuf[0] << 8 | recvbuf[1] : 0, ws_err(s));
        unsigned want_op = first ? op : OP_CONT;
        if (f.opcode != want_op)
            ti_fail("the echo of %s: a %s frame came where a %s frame was awaited", what,
                    opname(f.opcode), opname(want_op));
        if (have + f.len > len)
            ti_fail("the echo of %s is longer than the %zu bytes sent", what, len);
        memcpy(got + have, recvbuf, f.len);
        have += f.len;
        first = 0;
        if (f.fin)
            break;
    }
    if (have != len)
        ti_fail("the echo of %s has %zu bytes, %zu were sent", what, have, len);
    long d = first_diff(got, want, len);
    if (d >= 0)
        ti_fail("the echo of %s differs at byte %ld: sent 0x%02x, got 0x%02x (unmasked with the "
                "wrong key offset?)",
                what, d, want[d], got[d]);
    return pongs;
}

/* The next frame must be a close frame with this status, then the connection must end. */
static void expect_close(const struct pair *s, int fd, unsigned status, const char *after)
{
    struct frame f;
    char what[256];
    snprintf(what, sizeof what, "the close frame with status %u after %s", status, after);
    recv_frame(s, fd, &f, what);
    if (f.opcode != OP_CLOSE)
        ti_fail("after %s a close frame with status %u must come; a %s frame of %zu bytes came "
                "instead",
                after, status, opname(f.opcode), f.len);
    unsigned got = f.len >= 2 ? (unsigned)recvbuf[0] << 8 | recvbuf[1] : 0;
    if (f.len < 2 || got != status)
        ti_fail("after %s the close frame must carry status %u; it carried %s%u", after, status,
                f.len < 2 ? "none: " : "", got);
    expect_eof(s, fd, what);
}

/* Printable ASCII (valid UTF-8) of stream seed into want. */
static void fill_text(size_t len, unsigned seed)
{
    gt_fill_pattern(want, len, seed);
    for (size_t i = 0; i < len; i++)
        want[i] = (uint8_t)(' ' + want[i] % 95);
}

/* ---- the tests ------------------------------------------------------------------------------- */

GT_TEST(wsecho_help_exit_0, 10)
{
    static const char *const args[] = {"--help", NULL};
    gt_result r;
    gt_run(&r, 10, gt_student(PROG), args);
    gt_expect_help(&r, PROG " --help");
}

GT_TEST(wsecho_bad_arguments_exit_2, 30)
{
    char key[32];
    snprintf(key, sizeof key, "%d", (int)gt_ipc_key(0));
    const char *const cases[][5] = {
        {NULL},                              /* no -k */
        {"-k", "nokey", NULL},               /* not a number */
        {"-k", key, "-q", "5000", NULL},     /* not a power of two */
        {"-k", key, "-m", "0", NULL},        /* no message fits */
        {"-k", key, "--frobnicate", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gt_result r;
        char cmd[256];
        gt_describe(cmd, sizeof cmd, PROG, cases[i]);
        gt_run(&r, 10, gt_student(PROG), cases[i]);
        gt_expect_usage_error(&r, cmd, "wsecho should not start");
    }
}

GT_TEST(wsecho_get_root_serves_page, 30)
{
    struct pair s;
    static char page[65536];
    char head[4096], v[128];
    start_pair(&s, NULL);

    int fd = gt_connect(s.io.port);
    static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n\r\n";
    send_bytes(&s, fd, req, sizeof req - 1, "GET /");
    read_head(&s, fd, head, sizeof head, "GET /");
    if (strncmp(head, "HTTP/1.1 200", 12) != 0)
        ti_fail("GET / must be answered \"HTTP/1.1 200 OK\"; the answer began: \"%s\"; wsecho's "
                "stderr: %s",
                status_line(head), ws_err(&s));
    if (header(head, "Content-Type", v, sizeof v) == NULL || strncasecmp(v, "text/html", 9) != 0)
        ti_fail("the answer to GET / must have \"Content-Type: text/html\": \"%s\"", gt_head(head));
    size_t n = read_n(&s, fd, page, sizeof page - 1, "the page, up to the end of the connection");
    page[n] = '\0';
    long clen;
    if (header(head, "Content-Length", v, sizeof v) != NULL &&
        (gt_parse_long(v, &clen) == -1 || clen != (long)n))
        ti_fail("the answer to GET / says Content-Length: %s, but %zu bytes came before the "
                "connection ended",
                v, n);
    if (strstr(page, "WebSocket") == NULL || strcasestr(page, "<script") == NULL)
        ti_fail("the page at / must be HTML whose script opens a WebSocket (\"WebSocket\" and a "
                "<script> element); it was: \"%s\"",
                gt_head(page));
    close(fd);
    stop_pair(&s);
}

GT_TEST(wsecho_handshake_accept, 30)
{
    struct pair s;
    start_pair(&s, NULL);
    for (int k = 0; k < 3; k++) {
        int fd = ws_connect(&s, k);
        close(fd);
    }
    stop_pair(&s);
}

GT_TEST(wsecho_bad_handshake_refused, 40)
{
    static const struct {
        const char *what, *request, *status;
    } cases[] = {
        {"an upgrade request without Sec-WebSocket-Key",
         "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         "400"},
        {"a Sec-WebSocket-Key that is not 16 bytes (\"c2hvcnQ=\")",
         "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
         "400"},
        {"an upgrade request without \"Connection: Upgrade\"",
         "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
         "400"},
        {"a POST upgrade request",
         "POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
         "400"},
        {"a line that is not HTTP (\"HELLO\")", "HELLO\r\n\r\n", "400"},
        {"Sec-WebSocket-Version: 8",
         "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
         "426"},
    };
    struct pair s;
    char head[4096], v[64];
    start_pair(&s, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_refused(&s, cases[i].what, cases[i].request, cases[i].status, head, sizeof head);
        if (strcmp(cases[i].status, "426") == 0 &&
            (header(head, "Sec-WebSocket-Version", v, sizeof v) == NULL || strcmp(v, "13") != 0))
            ti_fail("the 426 answer to %s must name the version spoken: "
                    "\"Sec-WebSocket-Version: 13\"; it was: \"%s\"",
                    cases[i].what, gt_head(head));
    }
    stop_pair(&s);
}

GT_TEST(wsecho_text_and_binary_echo, 60)
{
    /* every length form: 7-bit (0-125), 16-bit (126-65535), 64-bit (65536 up) */
    static const size_t sizes[] = {0, 1, 125, 126, 1000, 65535, 65536, 300000};
    struct pair s;
    char what[128];
    start_pair(&s, NULL);
    int fd = ws_connect(&s, 0);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int bin = 0; bin <= 1; bin++) {
            unsigned op = bin ? OP_BINARY : OP_TEXT;
            snprintf(what, sizeof what, "a %zu-byte %s message", sizes[i], opname(op));
            if (bin)
                gt_fill_pattern(want, sizes[i], 100 + (unsigned)i);
            else
                fill_text(sizes[i], 200 + (unsigned)i);
            send_frame(&s, fd, FIN | op, want, sizes[i], 0x9a3c51e7u * (uint32_t)(i + 1 + bin),
                       0, what);
            expect_echo(&s, fd, op, sizes[i], 0, what);
        }
    }
    /* ten messages in one send(): ten echoes, in order */
    size_t at = 0;
    for (int k = 0; k < 10; k++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "message %d of 10", k + 1);
        at += build_frame(sendbuf + at, FIN | OP_TEXT, msg, (uint64_t)n, 0x01020304u * (uint32_t)k,
                          0);
    }
    send_bytes(&s, fd, sendbuf, at, "ten text messages in one send()");
    for (int k = 0; k < 10; k++) {
        int n = snprintf((char *)want, 32, "message %d of 10", k + 1);
        snprintf(what, sizeof what, "message %d of 10 sent in one send()", k + 1);
        expect_echo(&s, fd, OP_TEXT, (size_t)n, 0, what);
    }
    close(fd);
    stop_pair(&s);
}

GT_TEST(wsecho_fragmented_message, 60)
{
    struct pair s;
    start_pair(&s, NULL);
    int fd = ws_connect(&s, 1);

    /* "Hello, " "fragmented " "world" in three frames, a ping between the second and third:
     * the pong comes, and the message comes back whole */
    static const char *const parts[] = {"Hello, ", "fragmented ", "world"};
    send_frame(&s, fd, OP_TEXT, parts[0], 7, 0x11223344u, 0, "the first fragment (text)");
    send_frame(&s, fd, OP_CONT, parts[1], 11, 0x55667788u, 0, "the second fragment");
    send_frame(&s, fd, FIN | OP_PING, "between", 7, 0x99aabbccu, 0, "a ping between fragments");
    send_frame(&s, fd, FIN | OP_CONT, parts[2], 5, 0xddeeff00u, 0, "the last fragment");
    memcpy(want, "Hello, fragmented world", 23);
    int pongs = expect_echo(&s, fd, OP_TEXT, 23, 1,
                            "the text message \"Hello, fragmented world\" sent in 3 fragments");
    if (pongs == 0) {
        struct frame f;
        recv_frame(&s, fd, &f, "the pong to a ping sent between fragments");
        if (f.opcode != OP_PONG)
            ti_fail("a ping sent between the fragments of a message must get a pong; a %s frame "
                    "came",
                    opname(f.opcode));
    }

    /* 300,000 bytes of binary in 3 fragments sent at once: io_conn passes them on in pieces */
    gt_fill_pattern(want, 300000, 77);
    size_t at = 0;
    at += build_frame(sendbuf + at, OP_BINARY, want, 100000, 0xcafebabeu, 0);
    at += build_frame(sendbuf + at, OP_CONT, want + 100000, 100000, 0x0badf00du, 0);
    at += build_frame(sendbuf + at, FIN | OP_CONT, want + 200000, 100000, 0xfeedfaceu, 0);
    send_bytes(&s, fd, sendbuf, at, "a binary message of 3 fragments of 100,000 bytes");
    expect_echo(&s, fd, OP_BINARY, 300000, 0, "a binary message in 3 fragments of 100,000 bytes");

    /* a fragment may be empty */
    send_frame(&s, fd, OP_BINARY, "", 0, 1, 0, "an empty first fragment");
    send_frame(&s, fd, FIN | OP_CONT, "xyz", 3, 2, 0, "the last fragment");
    memcpy(want, "xyz", 3);
    expect_echo(&s, fd, OP_BINARY, 3, 0, "a binary message of an empty fragment and \"xyz\"");
    close(fd);
    stop_pair(&s);
}

GT_TEST(wsecho_ping_pong, 30)
{
    struct pair s;
    start_pair(&s, NULL);
    int fd = ws_connect(&s, 2);
    static const size_t sizes[] = {0, 5, 125};
    for (size_t i = 0; i < 3; i++) {
        char what[96];
        gt_fill_pattern(want, sizes[i], 300 + (unsigned)i);
        snprintf(what, sizeof what, "a ping with %zu bytes", sizes[i]);
        send_frame(&s, fd, FIN | OP_PING, want, sizes[i], 0x5a5a0000u + (uint32_t)i, 0, what);
        struct frame f;
        recv_frame(&s, fd, &f, what);
        if (f.opcode != OP_PONG || !f.fin)
            ti_fail("%s must get a pong (FIN set); a %s frame came (fin %u)", what,
                    opname(f.opcode), f.fin);
        if (f.len != sizes[i] || first_diff(recvbuf, want, sizes[i]) >= 0)
            ti_fail("the pong to %s must carry the ping's payload (unmasked); it carried %zu "
                    "bytes%s",
                    what, f.len, f.len == sizes[i] ? " that differ" : "");
    }
    /* a pong from the client needs no answer: the next echo comes as usual */
    send_frame(&s, fd, FIN | OP_PONG, "unasked", 7, 0x31415926u, 0, "an unasked pong");
    send_frame(&s, fd, FIN | OP_TEXT, "after the pong", 14, 0x27182818u, 0, "a text message");
    memcpy(want, "after the pong", 14);
    expect_echo(&s, fd, OP_TEXT, 14, 0, "a text message after an unasked pong");
    close(fd);
    stop_pair(&s);
}

GT_TEST(wsecho_close_handshake, 30)
{
    struct pair s;
    struct frame f;
    start_pair(&s, NULL);

    /* status 1000 with a reason: the close frame comes back with status 1000, then the end */
    int fd = ws_connect(&s, 0);
    static const uint8_t bye[] = {0x03, 0xe8, 'b', 'y', 'e'};
    send_frame(&s, fd, FIN | OP_CLOSE, bye, sizeof bye, 0x0f0f0f0fu, 0, "a close frame (1000)");
    expect_close(&s, fd, 1000, "the client's close frame with status 1000 and reason \"bye\"");
    close(fd);

    /* a close frame without a status: a close frame comes back (empty or 1000), then the end */
    fd = ws_connect(&s, 1);
    send_frame(&s, fd, FIN | OP_CLOSE, "", 0, 0x12345678u, 0, "an empty close frame");
    recv_frame(&s, fd, &f, "the answer to an empty close frame");
    if (f.opcode != OP_CLOSE || (f.len != 0 && (f.len < 2 || recvbuf[0] != 0x03 ||
                                               recvbuf[1] != 0xe8)))
        ti_fail("an empty close frame must be answered with a close frame (empty, or status "
                "1000); a %s frame of %zu bytes came",
                opname(f.opcode), f.len);
    expect_eof(&s, fd, "the close handshake");
    close(fd);
    stop_pair(&s);
}

GT_TEST(wsecho_unmasked_frame_1002, 30)
{
    struct pair s;
    start_pair(&s, NULL);
    int fd = ws_connect(&s, 0);
    send_frame(&s, fd, FIN | OP_TEXT, "unmasked", 8, 0, 1, "an unmasked text frame");
    expect_close(&s, fd, 1002, "an unmasked frame from a client");
    close(fd);
    stop_pair(&s);
}

GT_TEST(wsecho_protocol_errors_1002, 60)
{
    static uint8_t big[126];
    static const struct {
        const char *what;
        unsigned b0;
        const void *payload;
        size_t len;
        int after_fragment; /* sent after the first fragment of a text message */
    } cases[] = {
        {"a text frame with RSV1 set (no extension was agreed)", 0xc1, "rsv1", 4, 0},
        {"a text frame with RSV3 set", 0x91, "rsv3", 4, 0},
        {"a frame with the reserved opcode 3", 0x83, "op3", 3, 0},
        {"a frame with the reserved opcode 0xB (control)", 0x8b, "opB", 3, 0},
        {"a ping of 126 bytes (control frames carry at most 125)", 0x89, big, 126, 0},
        {"a ping without FIN (control frames are never fragmented)", 0x09, "frag", 4, 0},
        {"a continuation frame with no message to continue", 0x80, "cont", 4, 0},
        {"a text frame while a fragmented message is in progress", 0x81, "new", 3, 1},
        {"a close frame with a 1-byte payload", 0x88, "\x03", 1, 0},
        {"a close frame with status 1005 (never sent on the wire)", 0x88, "\x03\xed", 2, 0},
        {"a close frame with status 999", 0x88, "\x03\xe7", 2, 0},
    };
    struct pair s;
    start_pair(&s, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = ws_connect(&s, (int)(i % 3));
        if (cases[i].after_fragment)
            send_frame(&s, fd, OP_TEXT, "first", 5, 0x42424242u, 0, "a first fragment");
        send_frame(&s, fd, cases[i].b0, cases[i].payload, cases[i].len, 0x600df00du, 0,
                   cases[i].what);
        expect_close(&s, fd, 1002, cases[i].what);
        close(fd);
    }
    stop_pair(&s);
}

GT_TEST(wsecho_oversized_1009, 60)
{
    struct pair s;

    /* the default limit, 1 MiB: a header announcing 1 MiB + 1 is refused at once, before its
     * payload (which never comes); 1 MiB itself is echoed */
    start_pair(&s, NULL);
    int fd = ws_connect(&s, 0);
    send_frame(&s, fd, FIN | OP_BINARY, NULL, 1048577, 0x13579bdfu, 0,
               "the header of a 1 MiB + 1 byte binary frame");
    expect_close(&s, fd, 1009,
                 "the header of a frame of 1 MiB + 1 bytes (over the default limit of 1 MiB)");
    close(fd);
    fd = ws_connect(&s, 1);
    gt_fill_pattern(want, 1048576, 9);
    send_frame(&s, fd, FIN | OP_BINARY, want, 1048576, 0x2468ace0u, 0, "a 1 MiB binary message");
    expect_echo(&s, fd, OP_BINARY, 1048576, 0, "a 1 MiB binary message (the default limit)");
    close(fd);
    stop_pair(&s);

    /* -m 1000: 1000 bytes are echoed; 1001 in one frame, or 600 + 600 in two, are not */
    start_pair(&s, "1000");
    fd = ws_connect(&s, 2);
    gt_fill_pattern(want, 1001, 10);
    send_frame(&s, fd, FIN | OP_BINARY, want, 1000, 0x01010101u, 0, "a 1000-byte message");
    expect_echo(&s, fd, OP_BINARY, 1000, 0, "a 1000-byte message (wsecho -m 1000)");
    send_frame(&s, fd, FIN | OP_BINARY, want, 1001, 0x02020202u, 0, "a 1001-byte message");
    expect_close(&s, fd, 1009, "a 1001-byte message to wsecho -m 1000");
    close(fd);
    fd = ws_connect(&s, 0);
    fill_text(600, 11);
    send_frame(&s, fd, OP_TEXT, want, 600, 0x03030303u, 0, "a first fragment of 600 bytes");
    send_frame(&s, fd, FIN | OP_CONT, want, 600, 0x04040404u, 0,
               "a last fragment of 600 bytes");
    expect_close(&s, fd, 1009, "a text message of 2 fragments of 600 bytes to wsecho -m 1000");
    close(fd);
    stop_pair(&s);
}

GT_TEST(wsecho_invalid_utf8_1007, 30)
{
    struct pair s;
    start_pair(&s, NULL);

    /* valid: the euro sign cut between two fragments is one character of the whole message */
    int fd = ws_connect(&s, 0);
    send_frame(&s, fd, OP_TEXT, "price: \xe2\x82", 9, 0x71727374u, 0, "\"price: \" + E2 82");
    send_frame(&s, fd, FIN | OP_CONT, "\xac", 1, 0x75767778u, 0, "AC");
    memcpy(want, "price: \xe2\x82\xac", 10);
    expect_echo(&s, fd, OP_TEXT, 10, 0,
                "a text message whose euro sign (E2 82 AC) is split between 2 fragments");

    /* not UTF-8: C3 28 in one frame */
    send_frame(&s, fd, FIN | OP_TEXT, "bad \xc3\x28", 6, 0x7a7b7c7du, 0, "text with C3 28");
    expect_close(&s, fd, 1007, "a text message with the bytes C3 28 (not UTF-8)");
    close(fd);

    /* not UTF-8 across fragments: a lone continuation byte in the second */
    fd = ws_connect(&s, 1);
    send_frame(&s, fd, OP_TEXT, "fine so far", 11, 0x0a0b0c0du, 0, "a first fragment");
    send_frame(&s, fd, FIN | OP_CONT, "\x80", 1, 0x0e0f1011u, 0, "a last fragment 80");
    expect_close(&s, fd, 1007, "a fragmented text message ending with a lone byte 80");
    close(fd);
    stop_pair(&s);
}

GT_TEST(wsecho_sigterm_exit_0, 60)
{
    struct pair s;
    double t0 = gt_now();
    start_pair(&s, NULL);
    int fd = ws_connect(&s, 0);
    fill_text(5000, 12);
    send_frame(&s, fd, FIN | OP_TEXT, want, 5000, 0xa1b2c3d4u, 0, "a 5000-byte text message");
    expect_echo(&s, fd, OP_TEXT, 5000, 0, "a 5000-byte text message");
    /* a fragment in progress: its memory must be freed at the exit too */
    send_frame(&s, fd, OP_BINARY, want, 3000, 0xe5f60718u, 0, "a first fragment");
    gt_sleep(0.2 * gt_time_scale());

    /* io_conn stopped meanwhile: when it runs again wsecho is gone, and its goodbye waits in
     * the queue. The close frame must still come: wsecho sent it before it left, and io_conn
     * passes on what a logic process sent before it left (its check that the logic process
     * is gone may come first). */
    if (kill(s.io.pid, SIGSTOP) == -1)
        ti_fail("kill(io_conn, SIGSTOP): %s", strerror(errno));
    ti_md_stop_clean(&s.ws);
    gt_sleep(0.3 * gt_time_scale());
    if (kill(s.io.pid, SIGCONT) == -1)
        ti_fail("kill(io_conn, SIGCONT): %s", strerror(errno));
    expect_close(&s, fd, 1001, "SIGTERM to wsecho (it is going away)");
    close(fd);
    gt_server_stop_clean(&s.io);
    ti_expect_no_queues(2, "wsecho and io_conn exited on SIGTERM");
    static char err[65536];
    ti_io_err_all(&s.io, err, sizeof err);
    ti_expect_sane_stats(err, "exiting:", gt_now() - t0, "io_conn (after wsecho said goodbye)");
}
