/*
 * test_connpool.c: ex5.4, io_conn's connection contexts from the pool (the student's
 * connpool.c and mempool.c in chapter 4's reference io_conn), black box: the reference md and
 * the test's own clients. io_conn -c MAX serves MAX clients at once; one more is refused
 * (closed at once, one line in io_conn's log) while the others go on, and once a client has
 * left its context serves a new one.
 */
#include "gt.h"
#include "test_apps.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define REFUSED "no connection context left"

/* Each of clients fd[0..n) makes a round trip of len bytes. */
static void echo_all(const int *fd, int n, size_t len, unsigned seed, uint64_t pos,
                     const char *what)
{
    for (int i = 0; i < n; i++) {
        char msg[160];
        snprintf(msg, sizeof msg, "client %d of %d: %s", i + 1, n, what);
        ta_echo(fd[i], len, seed + (unsigned)i, pos, msg);
    }
}

/* The number of lines of io_conn's stderr that contain text. */
static int log_count(const gt_proc *io, const char *text)
{
    static char buf[GT_ERR_TAIL];
    gt_proc_err_tail(io, buf, sizeof buf);
    int n = 0;
    for (const char *p = buf; (p = strstr(p, text)) != NULL; p++)
        n++;
    return n;
}

/* A client that io_conn must refuse (all MAX contexts in use): closed within 10 s, and a line
 * in the log. */
static void expect_refused(const gt_proc *io, int port, int max, int logged_before)
{
    int fd = ta_connect(port);
    if (!ta_closed_within(fd, 10)) {
        close(fd);
        gt_fail("io_conn -c %d with %d clients served: client %d should be refused (closed at "
                "once: every context of the pool is in use), but its connection is still open "
                "after 10 s",
                max, max, max + 1);
    }
    close(fd);
    double deadline = gt_now() + 5 * gt_time_scale();
    while (log_count(io, REFUSED) <= logged_before) {
        if (gt_now() >= deadline) {
            char tail[600];
            gt_proc_err_tail(io, tail, sizeof tail);
            gt_fail("io_conn closed client %d of a -c %d server, but its log has no line with "
                    "\"" REFUSED "\": %s",
                    max + 1, max, gt_head(tail));
        }
        gt_sleep(0.02);
    }
}

/* Close clients fd[0..n). */
static void close_all(const int *fd, int n)
{
    for (int i = 0; i < n; i++)
        close(fd[i]);
}

/* md, and io_conn -c 3 with 3 clients that each made a round trip; a 4th is refused. */
static void three_and_refused(ta_prog *md, gt_proc *io, int *fd, unsigned seed)
{
    const char *max3[] = {"-c", "3", NULL};
    ta_pair_start(md, 0, NULL, io, 1, max3);
    for (int i = 0; i < 3; i++)
        fd[i] = ta_connect(io->port);
    echo_all(fd, 3, 50, seed, 0, "io_conn -c 3, 3 clients");
    expect_refused(io, io->port, 3, 0);
}

/*
 * A new client that io_conn serves (a round trip), connecting again while it is refused: a
 * context comes back to the pool only once io_conn has closed a connection (after md's answer
 * to the client's close), so a client that comes right after another left may be refused for a
 * moment. Fails, saying `what`, if every try of RETRY_S seconds (scaled) is refused.
 */
#define RETRY_S 5
static int connect_served(int port, unsigned seed, const char *what)
{
    double deadline = gt_now() + RETRY_S * gt_time_scale();
    for (int tries = 1;; tries++) {
        int fd = ta_connect(port);
        if (ta_echo_try(fd, 50, seed, 0, 10) == 0)
            return fd;
        close(fd);
        if (gt_now() >= deadline)
            gt_fail("%s: %d new clients in %.0f s were all refused (closed): is the context of a "
                    "closed connection given back to the pool (connalloc_put: mempool_free)?",
                    what, tries, RETRY_S * gt_time_scale());
        gt_sleep(0.05);
    }
}

GT_TEST(connpool_echo_many_clients, 60)
{
    ta_prog md;
    gt_proc io;
    int fd[20];
    ta_pair_start(&md, 0, NULL, &io, 1, NULL);
    for (int i = 0; i < 20; i++)
        fd[i] = ta_connect(io.port);
    echo_all(fd, 20, 1, 100, 0, "a round trip of 1 byte");
    echo_all(fd, 20, 4000, 100, 1, "a round trip of 4000 bytes");
    close_all(fd, 20);
    ta_pair_stop(&io, &md);
}

GT_TEST(connpool_refuses_client_beyond_max, 60)
{
    ta_prog md;
    gt_proc io;
    int fd[3];
    three_and_refused(&md, &io, fd, 200);
    echo_all(fd, 3, 100, 200, 50, "io_conn -c 3 refused a 4th client; the 3 go on");
    if (!gt_proc_alive(&io))
        gt_fail("io_conn -c 3 ended after it refused a 4th client");
    close_all(fd, 3);
    ta_pair_stop(&io, &md);
}

GT_TEST(connpool_takes_new_client_after_one_left, 60)
{
    ta_prog md;
    gt_proc io;
    int fd[3];
    three_and_refused(&md, &io, fd, 300);
    close(fd[1]);
    fd[1] = connect_served(io.port, 301, "io_conn -c 3: one of its 3 clients left");
    echo_all(fd, 3, 50, 400, 50, "io_conn -c 3: after one client left and another came");
    close_all(fd, 3);
    ta_pair_stop(&io, &md);
}

GT_TEST(connpool_contexts_reused_many_rounds, 60)
{
    ta_prog md;
    gt_proc io;
    int fd[4];
    const char *max4[] = {"-c", "4", NULL};
    ta_pair_start(&md, 0, NULL, &io, 1, max4);
    for (int round = 0; round < 6; round++) {
        char what[96];
        snprintf(what, sizeof what, "io_conn -c 4, round %d of 6 with 4 new clients", round + 1);
        for (int i = 0; i < 4; i++)
            fd[i] = connect_served(io.port, 500 + (unsigned)i, what);
        echo_all(fd, 4, 64, 500, 64, what);
        close_all(fd, 4);
    }
    ta_pair_stop(&io, &md);
}
