/*
 * test_iomd.c: black-box tests of ex4.4, the echo server split into io_conn (network) and md
 * (logic) joined by two shared-memory queues.
 *
 * Tests named io_conn_... run the student's io_conn with the reference md; md_... the
 * reference io_conn with the student's md; iomd_... both of the student's. The reference md's
 * -d USEC (answer no sooner than USEC after io_conn read the bytes) makes answers late on
 * purpose: for the stale-id test (a reply that arrives after its client left and a new client
 * took its slot) and to fill the io->md queue (back-pressure). A tiny -q (4096 bytes: two
 * messages) fills queues fast. md_full_reply_queue_no_drop plays io_conn itself, on the queues
 * (shmmq.h, the queue of ex4.2 linked into the test), to leave md->io unread on purpose.
 *
 * Every client checks every byte that comes back against its own stream (test_iomd_lib.c).
 * The statistics lines the programs print at exit (iomd.h: io_conn's "stale=N", md's
 * "closes=N") are read where a behaviour has no other outside view.
 */
#include "gt.h"
#include "shmmq.h"
#include "test_iomd_lib.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define STUDENT 1
#define REF 0
#define KIB 1024ULL
#define MIB (1024ULL * 1024ULL)

static char text[65536]; /* a program's stderr */

/* Every byte of one connection's stream comes back: sizes one after the other. */
static void echo_sizes(int port, unsigned seed, const char *who)
{
    static const uint64_t sizes[] = {1, 2, 100, 1000, 4095, 4096, 4097, 65536, 100000, MIB};
    ti_client c;
    char what[160];
    ti_client_open(&c, port, seed);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        snprintf(what, sizeof what, "%s: a message of %llu bytes (after %llu bytes echoed)", who,
                 (unsigned long long)sizes[i], (unsigned long long)c.recvd);
        ti_client_add(&c, sizes[i]);
        ti_pump(&c, 1, 20, 0, what);
    }
    ti_client_close(&c, 0);
}

/* Send len more bytes of c's stream now, without reading (poll for room, 10 s at most). */
static void send_now(ti_client *c, size_t len, const char *what)
{
    static unsigned char buf[65536];
    ti_client_add(c, len);
    double deadline = gt_now() + 10 * gt_time_scale();
    while (c->sent < c->total) {
        size_t n = c->total - c->sent < sizeof buf ? (size_t)(c->total - c->sent) : sizeof buf;
        ti_pattern(buf, n, c->seed, c->sent);
        ssize_t r = send(c->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r > 0) {
            c->sent += (uint64_t)r;
        } else if (r == -1 && errno != EAGAIN && errno != EINTR) {
            ti_fail("%s: send() failed after %llu bytes: %s", what, (unsigned long long)c->sent,
                    strerror(errno));
        } else {
            if (gt_now() > deadline)
                ti_fail("%s: the server took only %llu of %llu bytes in %.0f s", what,
                        (unsigned long long)c->sent, (unsigned long long)c->total,
                        10 * gt_time_scale());
            gt_sleep(0.002);
        }
    }
}

/* ---- command lines ----------------------------------------------------------------------- */

GT_TEST(io_conn_help_and_bad_arguments, 20)
{
    gt_result r;
    const char *help[] = {"--help", NULL};
    gt_run(&r, 10, gt_student("io_conn"), help);
    gt_expect_help(&r, "io_conn --help");
    const char *key = ti_key_arg();
    const char *const bad[][6] = {
        {"-p", "0", NULL},
        {"-k", key, "-p", "0", "-q", "5000"},
        {"-k", key, "-p", "0", "-q", "1024"},
        {"-k", "0", "-p", "0", NULL},
        {"-k", "nokey", "-p", "0", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[7] = {NULL};
        memcpy(args, bad[i], sizeof bad[i]);
        char cmd[200];
        gt_describe(cmd, sizeof cmd, "io_conn", args);
        gt_run(&r, 10, gt_student("io_conn"), args);
        gt_expect_usage_error(&r, cmd, "(-k is required; -q is a power of two, 4096 or more)");
    }
}

GT_TEST(md_help_and_bad_arguments, 20)
{
    gt_result r;
    const char *help[] = {"--help", NULL};
    gt_run(&r, 10, gt_student("md"), help);
    gt_expect_help(&r, "md --help");
    const char *key = ti_key_arg();
    const char *const bad[][5] = {
        {"-q", "65536", NULL},         {"-k", key, "-q", "3000", NULL},
        {"-k", key, "-w", "0", NULL},  {"-k", key, "-w", "17", NULL},
        {"-k", key, "-d", "-1", NULL}, {"-k", key, "extra", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmd[200];
        gt_describe(cmd, sizeof cmd, "md", bad[i]);
        gt_run(&r, 10, gt_student("md"), bad[i]);
        gt_expect_usage_error(&r, cmd, "(-k is required; -w is 1 to 16)");
    }
}

/* ---- echo ---------------------------------------------------------------------------------- */

/* Two connections echo 1 byte to 1 MiB through the pair; both exit 0 on SIGTERM. */
static void sizes_through(int io_student, int md_student, unsigned seed, const char *who)
{
    gt_proc io;
    ti_md md;
    char what[120];
    ti_md_start(&md, md_student, NULL);
    ti_io_start(&io, io_student, NULL);
    echo_sizes(io.port, seed, who);
    snprintf(what, sizeof what, "%s, a second connection", who);
    echo_sizes(io.port, seed + 1, what);
    gt_server_stop_clean(&io);
    ti_md_stop_clean(&md);
}

GT_TEST(io_conn_echo_1_byte_to_1_mib, 90)
{
    sizes_through(STUDENT, REF, 11, "your io_conn, the reference md");
}

GT_TEST(md_echo_1_byte_to_1_mib, 90)
{
    sizes_through(REF, STUDENT, 21, "the reference io_conn, your md");
}

GT_TEST(iomd_pair_many_clients, 90)
{
    static ti_client c[204];
    gt_proc io;
    ti_md md;
    ti_md_start(&md, STUDENT, NULL);
    ti_io_start(&io, STUDENT, NULL);
    /* 200 clients with 20 KB each, 4 KB in flight at most, and 4 streaming 1 MiB */
    for (int i = 0; i < 204; i++) {
        ti_client_open(&c[i], io.port, 100 + (unsigned)i);
        c[i].window = i < 200 ? 4 * KIB : 128 * KIB;
        ti_client_add(&c[i], i < 200 ? 20000 : MIB);
    }
    ti_pump(c, 204, 45, 0, "your io_conn and md, 200 clients with 20 KB and 4 with 1 MiB at once");
    ti_close_clients(c, 204);
    gt_server_stop_clean(&io);
    ti_md_stop_clean(&md);
}

GT_TEST(iomd_either_start_order, 90)
{
    static ti_client c[5];
    gt_proc io;
    ti_md md;

    /* md first; then io_conn, stopped and started again while md runs */
    ti_md_start(&md, STUDENT, NULL);
    gt_sleep(0.2);
    ti_io_start(&io, STUDENT, NULL);
    ti_echo_clients(c, 5, io.port, 200, 10000, 0, "md started first, then io_conn");
    ti_close_clients(c, 5);
    gt_server_stop_clean(&io);
    ti_io_start(&io, STUDENT, NULL);
    ti_echo_clients(c, 5, io.port, 210, 10000, 0,
                    "io_conn stopped and started again, md still running");
    ti_close_clients(c, 5);
    gt_server_stop_clean(&io);
    ti_md_stop_clean(&md);

    /* io_conn first, and a client sends before md exists: its bytes wait in the queue */
    ti_io_start(&io, STUDENT, NULL);
    ti_client_open(&c[0], io.port, 220);
    send_now(&c[0], 50000, "io_conn alone, a client sends 50,000 bytes");
    gt_sleep(0.3);
    ti_md_start(&md, STUDENT, NULL);
    ti_pump(c, 1, 20, 0, "io_conn started first; a client sent 50,000 bytes; md started after");
    ti_close_clients(c, 1);
    ti_md_stop_clean(&md);
    gt_server_stop_clean(&io);
    ti_expect_no_queues(2, "io_conn and md exited (SIGTERM)");
}

/* ---- md dies and comes back --------------------------------------------------------------- */

GT_TEST(io_conn_md_killed_and_restarted, 90)
{
    static ti_client idle[10], busy[10], fresh[5];
    gt_proc io;
    ti_md md;
    const char *slow[] = {"-d", "400000", NULL}; /* md answers 0.4 s late */

    ti_md_start(&md, REF, slow);
    ti_io_start(&io, STUDENT, NULL);
    ti_echo_clients(idle, 10, io.port, 300, 100, 0,
                    "10 clients, a round trip each, before md dies");
    /* busy clients send; md has not answered them when it dies */
    for (int i = 0; i < 10; i++) {
        ti_client_open(&busy[i], io.port, 400 + (unsigned)i);
        send_now(&busy[i], 1000, "a client sends 1000 bytes");
    }
    gt_sleep(0.15);
    char before[8192];
    ti_io_err_all(&io, before, sizeof before);
    ti_md_kill(&md);
    gt_sleep(1.0 * gt_time_scale());
    if (!gt_proc_alive(&io))
        ti_fail("io_conn ended when md was killed: it must keep its clients");

    /* five idle clients send while md is gone: their bytes wait in the queue for the new md */
    for (int i = 0; i < 5; i++)
        send_now(&idle[i], 2000, "md is gone, an idle client sends 2000 bytes");
    gt_sleep(0.2);
    ti_md_start(&md, REF, NULL);
    ti_pump(idle, 5, 20, 0,
            "md killed; idle clients sent while it was gone; md started again: their bytes "
            "must come back");
    int closed = ti_pump(busy, 10, 20, 1,
                         "md killed while it had not answered these clients: each must get its "
                         "bytes back or be closed");
    for (int i = 5; i < 10; i++)
        ti_client_add(&idle[i], 3000);
    ti_pump(idle + 5, 5, 20, 0, "md restarted: clients idle while md died send again");
    ti_echo_clients(fresh, 5, io.port, 500, 5000, 0, "md restarted: new clients");
    if (closed > 0) {
        char after[8192];
        ti_io_err_all(&io, after, sizeof after);
        if (strlen(after) <= strlen(before))
            ti_fail("io_conn closed %d connection(s) when md died but logged nothing: say why a "
                    "connection is closed",
                    closed);
    }
    ti_close_clients(idle, 10);
    ti_close_clients(busy, 10);
    ti_close_clients(fresh, 5);
    gt_server_stop_clean(&io);
    ti_md_stop_clean(&md);
}

/* Wait up to s seconds (scaled) until io_conn's stderr holds `marker`; fail with `what`. */
static void wait_io_says(const gt_proc *io, const char *marker, double s, const char *what)
{
    double deadline = gt_now() + s * gt_time_scale();
    for (;;) {
        ti_io_err_all(io, text, sizeof text);
        if (strstr(text, marker) != NULL)
            return;
        if (gt_now() > deadline)
            ti_fail("%s: io_conn did not log that md is gone (\"%s\") within %.0f s; its "
                    "stderr ends with: %s",
                    what, marker, s * gt_time_scale(), ti_io_err(io));
        gt_sleep(0.02);
    }
}

/* The message counters and the consumer's pid of the queue at key (read-only: the test takes
 * no part in it). */
static void queue_look(key_t key, uint64_t *enq, uint64_t *deq, pid_t *consumer)
{
    int id = shmget(key, 0, 0);
    const struct shmmq_segment *q = id == -1 ? NULL : shmat(id, NULL, SHM_RDONLY);
    if (q == NULL || q == (void *)-1)
        ti_fail("shmget/shmat of the queue at key 0x%x: %s", (unsigned)key, strerror(errno));
    *enq = atomic_load(&q->enq_msgs);
    *deq = atomic_load(&q->deq_msgs);
    *consumer = atomic_load(&q->consumer_pid);
    shmdt(q);
}

/* Wait up to 10 s (scaled) until md (pid) is io->md's consumer: it has attached. */
static void wait_md_attached(pid_t pid)
{
    double deadline = gt_now() + 10 * gt_time_scale();
    uint64_t e, d;
    pid_t consumer;
    for (queue_look(ti_key(), &e, &d, &consumer); consumer != pid;
         queue_look(ti_key(), &e, &d, &consumer)) {
        if (gt_now() > deadline)
            ti_fail("md (pid %d) did not attach io->md in 10 s (its consumer is pid %d)",
                    (int)pid, (int)consumer);
        gt_sleep(0.01);
    }
}

/* Wait up to 10 s (scaled) until io->md's counter (enq or deq) reaches n. */
static void wait_queue_count(int deq, uint64_t n, const char *what)
{
    double deadline = gt_now() + 10 * gt_time_scale();
    uint64_t e, d;
    pid_t consumer;
    for (queue_look(ti_key(), &e, &d, &consumer); (deq ? d : e) < n;
         queue_look(ti_key(), &e, &d, &consumer)) {
        if (gt_now() > deadline)
            ti_fail("%s: io->md counts %llu messages enqueued and %llu dequeued after 10 s", what,
                    (unsigned long long)e, (unsigned long long)d);
        gt_sleep(0.01);
    }
}

/* md is stopped (SIGSTOP), a client sends and io_conn puts the bytes in io->md; then io_conn
 * is stopped, md killed and, with new_md, a new md started that takes the bytes; io_conn
 * resumes and its timer, long expired, finds md gone. The dead md never took those bytes:
 * the client must keep its connection and get them back from the next md. */
static void send_while_md_replaced(const char *const *new_md, const char *what)
{
    static ti_client c;
    gt_proc io;
    ti_md md, md2;
    uint64_t enq, deq;
    pid_t consumer;
    ti_md_start(&md, REF, NULL);
    ti_io_start(&io, STUDENT, NULL);
    ti_echo_clients(&c, 1, io.port, 700, 500, 0, "a client's round trip before md dies");
    gt_sleep(0.25); /* io_conn's timer has seen this md */
    queue_look(ti_key(), &enq, &deq, &consumer);
    if (kill(md.pid, SIGSTOP) == -1)
        ti_fail("kill(md, SIGSTOP): %s", strerror(errno));
    send_now(&c, 300, what);
    wait_queue_count(0, enq + 1, what);
    if (kill(io.pid, SIGSTOP) == -1)
        ti_fail("kill(io_conn, SIGSTOP): %s", strerror(errno));
    ti_md_kill(&md);
    if (new_md != NULL) {
        ti_md_start(&md2, REF, new_md);
        wait_queue_count(1, enq + 1, what);
    }
    gt_sleep(0.2); /* io_conn's 100 ms timer expires */
    if (kill(io.pid, SIGCONT) == -1)
        ti_fail("kill(io_conn, SIGCONT): %s", strerror(errno));
    wait_io_says(&io, "is gone", 10, what);
    if (new_md == NULL)
        ti_md_start(&md2, REF, NULL);
    ti_pump(&c, 1, 20, 0, what);
    ti_close_clients(&c, 1);
    gt_server_stop_clean(&io);
    ti_md_stop_clean(&md2);
}

GT_TEST(io_conn_md_gone_keeps_bytes_still_queued, 90)
{
    send_while_md_replaced(NULL, "a client sent 300 bytes that md (stopped) never took, md was "
                                 "killed, io_conn saw it gone, md started again: the bytes were "
                                 "still in io->md, so the client keeps its connection and gets "
                                 "them back");
}

GT_TEST(io_conn_md_replaced_keeps_bytes_new_md_holds, 90)
{
    const char *slow_worker[] = {"-w", "1", "-d", "600000", NULL};
    send_while_md_replaced(slow_worker,
                           "a client sent 300 bytes that md (stopped) never took, md was killed, "
                           "a new md (-w 1, answering 0.6 s late) took them, then io_conn saw the "
                           "old md gone: they are not lost, the client keeps its connection");
}

GT_TEST(md_restarted_consumes_waiting, 90)
{
    static ti_client c[5];
    gt_proc io;
    ti_md md;
    ti_io_start(&io, REF, NULL);
    ti_md_start(&md, STUDENT, NULL);
    ti_echo_clients(c, 5, io.port, 600, 3000, 0, "your md, before it is killed");
    ti_md_kill(&md);
    gt_sleep(0.5 * gt_time_scale());
    for (int i = 0; i < 5; i++)
        send_now(&c[i], 2000, "md is gone, a client sends 2000 bytes");
    gt_sleep(0.3);
    ti_md_start(&md, STUDENT, NULL);
    ti_pump(c, 5, 20, 0,
            "your md killed (SIGKILL), clients sent while it was gone, md started again: it must "
            "answer what waits in the queue (attach without wiping it)");
    for (int i = 0; i < 5; i++)
        ti_client_add(&c[i], 1000);
    ti_pump(c, 5, 20, 0, "your md restarted, the same clients again");
    ti_close_clients(c, 5);
    ti_md_stop_clean(&md);
    gt_server_stop_clean(&io);
}

/* ---- closes --------------------------------------------------------------------------------- */

GT_TEST(io_conn_tells_md_of_closes, 90)
{
    static ti_client c[10];
    gt_proc io;
    ti_md md;
    ti_md_start(&md, REF, NULL);
    ti_io_start(&io, STUDENT, NULL);
    ti_echo_clients(c, 10, io.port, 700, 500, 0, "10 clients, a round trip each");
    /* five leave with a reset (no end of file: io_conn sees an error and closes); five
     * half-close after more bytes: they must get their echo, then the end */
    for (int i = 0; i < 5; i++)
        ti_client_close(&c[i], 1);
    for (int i = 5; i < 10; i++) {
        c[i].half_close = 1;
        ti_client_add(&c[i], 5000);
    }
    ti_pump(c + 5, 5, 20, 0,
            "clients that send and then shut down their sending side (end of file): every byte "
            "back, then the end of the connection (md answers io_conn's len-0 message with len "
            "0, and io_conn closes once the output is out)");
    gt_sleep(0.3);
    ti_md_stop_clean(&md);
    ti_md_err_all(&md, text, sizeof text);
    long closes = ti_stat(text, "exiting:", "closes");
    if (closes < 10)
        ti_fail("10 clients left (5 with a reset, 5 half-closed) but md saw %ld len-0 messages "
                "from io_conn: io_conn must tell md when a client is gone; md's stderr: %s",
                closes, ti_md_err(&md));
    ti_close_clients(c, 10);
    gt_server_stop_clean(&io);
}

GT_TEST(md_answers_close_after_echo, 90)
{
    static ti_client c[3];
    gt_proc io;
    ti_md md;
    ti_io_start(&io, REF, NULL);
    ti_md_start(&md, STUDENT, NULL);
    for (int i = 0; i < 3; i++) {
        ti_client_open(&c[i], io.port, 800 + (unsigned)i);
        c[i].half_close = 1;
        ti_client_add(&c[i], 100000);
    }
    ti_pump(c, 3, 20, 0,
            "clients send 100,000 bytes and shut down their sending side: every byte back, then "
            "the end of the connection (your md must answer io_conn's len-0 message with len 0)");
    ti_close_clients(c, 3);
    ti_md_stop_clean(&md);
    ti_md_err_all(&md, text, sizeof text);
    long closes = ti_stat(text, "exiting:", "closes");
    if (closes < 3)
        ti_fail("3 clients closed, but your md's exit line says closes=%ld (count len-0 messages "
                "in m->st.closes); its stderr: %s",
                closes, ti_md_err(&md));
    gt_server_stop_clean(&io);
}

/* ---- flow control -----------------------------------------------------------------------------
 */

GT_TEST(io_conn_nonreader_memory_bounded, 150)
{
    static ti_client nr, other;
    static unsigned char buf[65536];
    gt_proc io;
    ti_md md;
    ti_md_start(&md, REF, NULL);
    ti_io_start(&io, STUDENT, NULL);
    ti_client_open(&nr, io.port, 900);
    ti_echo_clients(&other, 1, io.port, 901, 1000, 0, "a client before the non-reader");
    long rss0 = ti_rss_kib(io.pid), md_rss0 = ti_rss_kib(md.pid);

    /* push until the sends block for a second (or 256 MiB), reading nothing */
    const uint64_t cap = 256 * MIB;
    double stalled_since = gt_now(), deadline = gt_now() + 60 * gt_time_scale();
    while (nr.sent < cap && gt_now() - stalled_since < 1.0 * gt_time_scale()) {
        if (gt_now() > deadline)
            ti_fail("pushing bytes without reading: still going after 60 s (%llu bytes sent)",
                    (unsigned long long)nr.sent);
        ti_pattern(buf, sizeof buf, nr.seed, nr.sent);
        ssize_t n = send(nr.fd, buf, sizeof buf, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            nr.sent += (uint64_t)n;
            stalled_since = gt_now();
        } else if (n == -1 && errno != EAGAIN && errno != EINTR) {
            ti_fail("send() from the non-reading client after %llu bytes: %s",
                    (unsigned long long)nr.sent, strerror(errno));
        } else {
            gt_sleep(0.005);
        }
    }
    long rss1 = ti_rss_kib(io.pid), md_rss1 = ti_rss_kib(md.pid);
    if (rss0 < 0 || rss1 < 0)
        ti_fail("io_conn ended while a client pushed bytes without reading (%llu sent); its "
                "stderr: %s",
                (unsigned long long)nr.sent, ti_io_err(&io));
    if (rss1 - rss0 > 48 * 1024)
        ti_fail("a client pushed %llu bytes without reading: io_conn's VmRSS grew from %ld to "
                "%ld KiB; stop reading a client whose output is full (OUT_HIGH)",
                (unsigned long long)nr.sent, rss0, rss1);
    if (md_rss0 > 0 && md_rss1 - md_rss0 > 48 * 1024)
        ti_fail("a client pushed %llu bytes without reading: md's VmRSS grew from %ld to %ld KiB",
                (unsigned long long)nr.sent, md_rss0, md_rss1);
    ti_client_add(&other, 5000);
    ti_pump(&other, 1, 20, 0, "another client, while the non-reader is stuck");
    /* now read everything back */
    nr.total = nr.sent;
    ti_pump(&nr, 1, 60, 0, "the non-reader reads at last: every byte it pushed must come back");
    ti_client_close(&nr, 0);
    ti_client_close(&other, 0);
    gt_server_stop_clean(&io);
    ti_md_stop_clean(&md);
}

GT_TEST(io_conn_full_queue_no_drop, 90)
{
    static ti_client c[4];
    gt_proc io;
    ti_md md;
    /* two messages fill a queue of 4096 bytes, and md answers each 1 ms late */
    const char *q[] = {"-q", "4096", NULL};
    const char *mdargs[] = {"-q", "4096", "-d", "1000", NULL};
    ti_md_start(&md, REF, mdargs);
    ti_io_start(&io, STUDENT, q);
    ti_echo_clients(c, 4, io.port, 1000, 300000, 64 * KIB,
                    "4 clients send 300,000 bytes each through queues of 4096 bytes that are full "
                    "most of the time (md -d 1000): a full queue must stop reading, never drop");
    ti_close_clients(c, 4);
    gt_server_stop_clean(&io);
    ti_md_stop_clean(&md);
}

GT_TEST(md_full_reply_queue_no_drop, 90)
{
    /* The test plays io_conn itself, on the queues (shmmq.h), so that it can leave md->io
     * unread while md->io fills: md must then wait, and lose nothing. 600 messages of 7 flows,
     * 0 to 2000 bytes each, through queues of 4096 bytes (two such messages fill one). */
    enum { N = 600, FLOWS = 7 };
    static unsigned char payload[2048], want[2048];
    char fifo_in[512], fifo_out[512];
    ti_md md;
    const char *q[] = {"-q", "4096", NULL};
    if (shmmq_fifo_path(fifo_in, sizeof fifo_in, ti_key()) == -1 ||
        shmmq_fifo_path(fifo_out, sizeof fifo_out, ti_key() + 1) == -1)
        gt_fail("shmmq_fifo_path: %s", strerror(errno));
    shmmq *to_md = shmmq_open(ti_key(), 4096, fifo_in, SHMMQ_PRODUCER);
    if (to_md == NULL)
        gt_fail_if_not_implemented("shmmq_open (your queue of ex4.2: the test uses it)");
    if (to_md == NULL)
        gt_fail("shmmq_open(io->md, 4096 bytes) as the producer (the test plays io_conn): %s",
                strerror(errno));
    shmmq *from_md = shmmq_open(ti_key() + 1, 4096, fifo_out, SHMMQ_CONSUMER);
    if (from_md == NULL)
        gt_fail("shmmq_open(md->io, 4096 bytes) as the consumer (the test plays io_conn): %s",
                strerror(errno));
    ti_md_start(&md, STUDENT, q);

    int sent = 0, got = 0;
    double hold_until = gt_now() + 0.3, deadline = gt_now() + 30 * gt_time_scale();
    while (got < N) {
        if (gt_now() > deadline)
            ti_fail("the test (as io_conn) sent %d of %d messages through queues of 4096 bytes, "
                    "left md->io unread for 0.3 s at first: %d answers came back in 30 s",
                    sent, N, got);
        int moved = 0;
        if (sent < N) {
            uint32_t len = (uint32_t)((sent * 397) % 2001);
            ti_pattern(payload, len, (unsigned)sent, 0);
            if (shmmq_enqueue(to_md, 1 + (uint64_t)(sent % FLOWS), (uint64_t)sent, payload, len) ==
                0)
                sent++, moved = 1;
            else if (errno != EAGAIN)
                gt_fail("shmmq_enqueue(io->md, %u bytes): %s", len, strerror(errno));
        }
        if (gt_now() >= hold_until) {
            uint64_t id, ts;
            uint32_t len;
            if (shmmq_dequeue(from_md, &id, &ts, payload, sizeof payload, &len) == 0) {
                ti_pattern(want, len, (unsigned)got, 0);
                uint32_t wlen = (uint32_t)((got * 397) % 2001);
                if (id != 1 + (uint64_t)(got % FLOWS) || ts != (uint64_t)got || len != wlen ||
                    memcmp(payload, want, len) != 0)
                    ti_fail("answer %d: id %llu, ts %llu, %u bytes%s; expected the message sent "
                            "as number %d (id %llu, ts %d, %u bytes): md->io was full for a "
                            "while, and md lost, repeated or changed a message",
                            got, (unsigned long long)id, (unsigned long long)ts, len,
                            len == wlen && memcmp(payload, want, len) != 0 ? " (other bytes)" : "",
                            got, (unsigned long long)(1 + got % FLOWS), got, wlen);
                got++;
                moved = 1;
            } else if (errno != EAGAIN) {
                gt_fail("shmmq_dequeue(md->io): %s", strerror(errno));
            }
        }
        if (!moved)
            gt_sleep(0.0002);
        if (!ti_md_alive(&md))
            ti_fail("md ended after %d messages sent and %d answered", sent, got);
    }
    ti_md_stop_clean(&md);
    shmmq_close(to_md);
    shmmq_close(from_md);
    ti_expect_no_queues(2, "md and the test left the queues");
}

/* ---- stale ids ----------------------------------------------------------------------------------
 */

GT_TEST(iomd_stale_reply_never_reaches_new_client, 90)
{
    static ti_client a, b[8];
    gt_proc io;
    ti_md md;
    const char *slow[] = {"-d", "500000", NULL}; /* md answers 0.5 s late */
    ti_md_start(&md, REF, slow);
    ti_io_start(&io, STUDENT, NULL);

    /* A sends, then leaves (a reset) before md answers */
    ti_client_open(&a, io.port, 1200);
    send_now(&a, 1000, "client A sends 1000 bytes");
    gt_sleep(0.1);
    ti_client_close(&a, 1);
    gt_sleep(0.2);
    /* new clients, one of them in A's slot, while A's answer is on its way */
    for (int i = 0; i < 8; i++) {
        ti_client_open(&b[i], io.port, 1300 + (unsigned)i);
        ti_client_add(&b[i], 1000);
    }
    ti_pump(b, 8, 20, 0,
            "client A sent 1000 bytes and left before md answered; 8 new clients came (one "
            "likely in A's slot of the flow table), each must get exactly its own bytes back, "
            "never A's");
    ti_expect_silence(b, 8, 0.5, "after the new clients got their echo");
    if (!gt_proc_alive(&io))
        ti_fail("io_conn ended after md's late answer for a client that had left");
    ti_close_clients(b, 8);
    gt_server_stop_clean(&io);
    ti_io_err_all(&io, text, sizeof text);
    long stale = ti_stat(text, "exiting:", "stale");
    if (stale < 1)
        ti_fail("md answered client A after A had left, but io_conn's exit line says stale=%ld: "
                "a reply for an id that is not live must be dropped and counted (flow_get gives "
                "NULL for a removed id); io_conn's stderr: %s",
                stale, ti_io_err(&io));
    ti_md_stop_clean(&md);
}

/* ---- clean exit -------------------------------------------------------------------------------
 */

/* ---- a second io_conn or md on the same key --------------------------------------------- */

/* Run the program at path with -k K (and -p 0 for io_conn) while another one holds the role:
 * it must exit with status 1 and name the other one's pid on stderr. */
static void expect_refused(const char *prog, pid_t first, const char *when)
{
    gt_result r;
    const char *io_args[] = {"-k", ti_key_arg(), "-p", "0", NULL};
    const char *md_args[] = {"-k", ti_key_arg(), NULL};
    int is_io = strcmp(prog, "io_conn") == 0;
    char cmd[128], pid[32];
    snprintf(cmd, sizeof cmd, "a second %s -k %s %s", prog, ti_key_arg(), when);
    gt_run(&r, 10, gt_student(prog), is_io ? io_args : md_args);
    gt_expect_exit(&r, cmd, 1);
    snprintf(pid, sizeof pid, "%d", (int)first);
    if (strstr(r.err, pid) == NULL)
        ti_fail("%s refused to start, but its message does not name the %s already there (pid "
                "%s): %s",
                cmd, prog, pid, gt_err_or_empty(&r));
}

GT_TEST(iomd_second_instance_refused, 90)
{
    static ti_client c[2];
    gt_proc io;
    ti_md md;
    /* io_conn alone (no md yet), then md alone (no io_conn yet): each holds its queues' roles */
    ti_io_start(&io, STUDENT, NULL);
    expect_refused("io_conn", io.pid, "while the first waits for md");
    ti_md_start(&md, STUDENT, NULL);
    wait_md_attached(md.pid);
    expect_refused("md", md.pid, "while io_conn and md run");
    expect_refused("io_conn", io.pid, "while io_conn and md run");
    ti_echo_clients(c, 2, io.port, 1500, 5000, 0,
                    "your io_conn and md, after a second of each was refused");
    ti_close_clients(c, 2);
    gt_server_stop_clean(&io);
    expect_refused("md", md.pid, "while the first md runs alone");
    ti_md_stop_clean(&md);
    ti_expect_no_queues(2, "a second io_conn and md refused, the first ones exited on SIGTERM");
}

GT_TEST(iomd_stale_owner_taken_over, 90)
{
    static ti_client c[1];
    gt_proc io, io2;
    ti_md md;
    ti_md_start(&md, STUDENT, NULL);
    ti_io_start(&io, STUDENT, NULL);
    ti_echo_clients(c, 1, io.port, 1600, 2000, 0, "your io_conn and md");
    ti_close_clients(c, 1);
    if (kill(io.pid, SIGKILL) == -1)
        ti_fail("kill(io_conn, SIGKILL): %s", strerror(errno));
    while (waitpid(io.pid, NULL, 0) == -1 && errno == EINTR)
        ;
    io.pid = 0;
    /* The queues still name the dead io_conn: a new one must take its place, not be refused */
    ti_io_start(&io2, STUDENT, NULL);
    ti_echo_clients(c, 1, io2.port, 1610, 2000, 0,
                    "io_conn killed (SIGKILL) and started again: the new one serves");
    ti_close_clients(c, 1);
    gt_server_stop_clean(&io2);
    ti_md_stop_clean(&md);
    ti_expect_no_queues(2, "io_conn killed, a new one and md exited on SIGTERM");
}

GT_TEST(iomd_no_leftovers_after_clean_exit, 90)
{
    static ti_client c[2];
    gt_proc io;
    ti_md md;
    /* md first, io_conn leaves first */
    double t0 = gt_now();
    ti_md_start(&md, STUDENT, NULL);
    ti_io_start(&io, STUDENT, NULL);
    ti_echo_clients(c, 2, io.port, 1400, 10000, 0, "your io_conn and md");
    ti_close_clients(c, 2);
    gt_server_stop_clean(&io);
    ti_md_stop_clean(&md);
    ti_expect_no_queues(2, "io_conn, then md, exited on SIGTERM");
    ti_io_err_all(&io, text, sizeof text);
    ti_expect_sane_stats(text, "exiting:", gt_now() - t0, "your io_conn");
    ti_md_err_all(&md, text, sizeof text);
    ti_expect_sane_stats(text, "exiting:", gt_now() - t0, "your md");
    /* io_conn first, md leaves first */
    ti_io_start(&io, STUDENT, NULL);
    ti_md_start(&md, STUDENT, NULL);
    ti_echo_clients(c, 2, io.port, 1410, 10000, 0, "your io_conn and md, started again");
    ti_close_clients(c, 2);
    ti_md_stop_clean(&md);
    gt_server_stop_clean(&io);
    ti_expect_no_queues(2, "md, then io_conn, exited on SIGTERM");
}
