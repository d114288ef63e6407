/*
 * test_iomd_workers.c: black-box tests of ex4.5, `md -w N`: the master routes each message to
 * one of N worker processes by its flow id and forwards their answers to io_conn.
 *
 * The reference io_conn and the student's md. A flow's bytes must come back in order although
 * N processes echo at once (a message routed to another worker than the flow's earlier ones
 * could overtake them); every worker must get work; the workers are the master's children
 * (/proc/PID/task/PID/children), they must go when the master goes, with their queues, and a
 * worker that dies must be noticed and logged.
 */
#include "gt.h"
#include "test_iomd_lib.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STUDENT 1
#define REF 0
#define KIB 1024ULL

static char text[65536];

/* Wait (5 s, scaled) until md has n children; their pids in out. */
static void wait_workers(ti_md *md, int n, pid_t *out)
{
    double deadline = gt_now() + 5 * gt_time_scale();
    int got = 0;
    while ((got = ti_children(md->pid, out, 32)) < n) {
        if (!ti_md_alive(md))
            ti_fail("md -w %d ended before starting its workers (%s); its stderr: %s", n,
                    gt_status_str(md->status, 0), ti_md_err(md));
        if (gt_now() > deadline)
            ti_fail("md -w %d has %d child process(es) after %.0f s, expected %d workers", n, got,
                    5 * gt_time_scale(), n);
        gt_sleep(0.02);
    }
    if (got > n)
        ti_fail("md -w %d has %d child processes, expected %d workers", n, got, n);
}

/* Wait (3 s, scaled) until none of pids[0..n) runs. */
static void expect_gone(const pid_t *pids, int n, const char *after)
{
    double deadline = gt_now() + 3 * gt_time_scale();
    for (int i = 0; i < n; i++) {
        while (ti_pid_alive(pids[i])) {
            if (gt_now() > deadline)
                ti_fail("worker pid %d still runs %.0f s after %s", (int)pids[i],
                        3 * gt_time_scale(), after);
            gt_sleep(0.02);
        }
    }
}

/* The reference io_conn, then the student's md -w n. */
static void start_workers(gt_proc *io, ti_md *md, const char *n)
{
    const char *w[] = {"-w", n, NULL};
    ti_io_start(io, REF, NULL);
    ti_md_start(md, STUDENT, w);
}

GT_TEST(md_workers_echo_every_worker_used, 90)
{
    static ti_client c[64];
    gt_proc io;
    ti_md md;
    start_workers(&io, &md, "4");
    ti_echo_clients(c, 64, io.port, 2000, 20000, 2 * KIB, "md -w 4: 64 clients with 20,000 bytes");
    ti_close_clients(c, 64);
    gt_sleep(0.2);
    ti_md_stop_clean(&md);
    ti_md_err_all(&md, text, sizeof text);
    for (int w = 0; w < 4; w++) {
        char marker[32];
        snprintf(marker, sizeof marker, "worker %d:", w);
        long n = ti_stat(text, marker, "messages");
        if (n <= 0)
            ti_fail("md -w 4 served 64 clients, but %s: worker %d's exit line (\"worker %d: ... "
                    "messages=N\") %s; md's stderr: %s",
                    n == 0 ? "one worker got no message" : "a worker said nothing", w, w,
                    n == 0 ? "says messages=0" : "is missing", ti_md_err(&md));
    }
    gt_server_stop_clean(&io);
}

GT_TEST(md_workers_per_flow_order, 90)
{
    static ti_client c[32];
    gt_proc io;
    ti_md md;
    start_workers(&io, &md, "4");
    ti_echo_clients(c, 32, io.port, 2100, 400 * KIB, 128 * KIB,
                    "md -w 4: 32 clients stream 400 KiB each, many messages of a flow in flight at "
                    "once: each flow's bytes must come back in order (route by flow id)");
    ti_close_clients(c, 32);
    ti_md_stop_clean(&md);
    gt_server_stop_clean(&io);
}

GT_TEST(md_workers_sigterm_no_worker_left, 90)
{
    static ti_client c[8];
    pid_t pids[32];
    gt_proc io;
    ti_md md;
    start_workers(&io, &md, "4");
    wait_workers(&md, 4, pids);
    ti_echo_clients(c, 8, io.port, 2200, 10000, 0, "md -w 4: 8 clients");
    ti_close_clients(c, 8);
    ti_md_stop_clean(&md);
    expect_gone(pids, 4, "md -w 4 exited on SIGTERM");
    gt_server_stop_clean(&io);
    ti_expect_no_queues(2 + 2 * 4, "md -w 4 and io_conn exited on SIGTERM");
}

GT_TEST(md_worker_killed_is_noticed, 90)
{
    static ti_client c[4], d[4];
    pid_t pids[32], now[32];
    gt_proc io;
    ti_md md;
    start_workers(&io, &md, "2");
    wait_workers(&md, 2, pids);
    ti_echo_clients(c, 4, io.port, 2300, 5000, 0, "md -w 2: 4 clients");
    kill(pids[0], SIGKILL);

    /* Either md stops with exit status 1, or it starts a new worker and goes on. */
    double deadline = gt_now() + 5 * gt_time_scale();
    int restarted = 0;
    while (!restarted) {
        if (!ti_md_alive(&md))
            break;
        int n = ti_children(md.pid, now, 32);
        for (int i = 0; i < n; i++)
            if (now[i] != pids[0] && now[i] != pids[1] && ti_pid_alive(now[i]))
                restarted = 1;
        if (gt_now() > deadline)
            ti_fail("a worker of md -w 2 was killed (SIGKILL); %.0f s later md neither stopped "
                    "(with exit status 1) nor started a new worker; its stderr: %s",
                    5 * gt_time_scale(), ti_md_err(&md));
        gt_sleep(0.02);
    }
    ti_md_err_all(&md, text, sizeof text);
    if (strcasestr(text, "worker") == NULL)
        ti_fail("a worker of md -w 2 was killed; md must log it (a line naming the worker); "
                "its stderr: %s",
                ti_md_err(&md));
    if (restarted) {
        ti_echo_clients(d, 4, io.port, 2310, 5000, 0, "md -w 2 after it replaced a killed worker");
        ti_close_clients(d, 4);
        ti_md_stop_clean(&md);
    } else {
        if (!WIFEXITED(md.status) || WEXITSTATUS(md.status) != 1)
            ti_fail("a worker of md -w 2 was killed and md ended with %s: a lost worker is a "
                    "failure, exit status 1 (the chapter guide); its stderr: %s",
                    gt_status_str(md.status, 0), ti_md_err(&md));
        expect_gone(pids + 1, 1, "md stopped because a worker was killed");
    }
    ti_close_clients(c, 4);
    if (!gt_proc_alive(&io))
        ti_fail("the reference io_conn ended after md's worker was killed");
    gt_server_stop_clean(&io);
}

GT_TEST(md_workers_die_with_master, 90)
{
    pid_t pids[32];
    ti_md md;
    const char *w3[] = {"-w", "3", NULL};
    ti_md_start(&md, STUDENT, w3);
    wait_workers(&md, 3, pids);
    ti_md_kill(&md);
    expect_gone(pids, 3,
                "md -w 3 was killed (SIGKILL): workers must not outlive it "
                "(PR_SET_PDEATHSIG)");
}
