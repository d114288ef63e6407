/*
 * test_viewstat.c: black-box tests of ex4.1's viewstat, which shows echosvr_v4's statistics
 * from its shared memory segment, against the reference echosvr_v4.
 *
 * viewstat's lines (--once, and each look of the live mode when stdout is not a terminal) are
 * key=value pairs; the tests read messages=, bytes=, accepted= and open= and compare them with
 * what the test's own clients did. The live mode is read from a pipe while it runs.
 */
#include "gt.h"
#include "statseg.h"
#include "stats.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG "viewstat"

/* Start the reference echosvr_v4 -k key. */
static void start_ref_server(gt_proc *srv, const char *keyarg)
{
    const char *args[] = {"-k", keyarg, NULL};
    gt_server_start(srv, gt_ref("echosvr_v4"), args);
}

/* Fail unless line shows these counters. what: where the line came from. */
static void expect_counts(const char *line, const struct statseg_counts *want, const char *what)
{
    static const char *const names[] = {"messages", "bytes", "accepted", "open"};
    const uint64_t vals[] = {want->messages, want->bytes, want->accepted, want->open};
    for (int i = 0; i < 4; i++) {
        long long v;
        if (statseg_field(line, names[i], &v) == -1)
            gt_fail("%s: no %s=N in the line: %s", what, names[i], gt_head(line));
        if ((uint64_t)v != vals[i])
            gt_fail("%s: %s=%lld; expected %llu (the server's counter); the line: %s", what,
                    names[i], v, (unsigned long long)vals[i], gt_head(line));
    }
}

/* 1 if line shows these counters. */
static int has_counts(const char *line, const struct statseg_counts *want)
{
    long long m, b, a, o;
    return statseg_field(line, "messages", &m) == 0 && statseg_field(line, "bytes", &b) == 0 &&
           statseg_field(line, "accepted", &a) == 0 && statseg_field(line, "open", &o) == 0 &&
           (uint64_t)m == want->messages && (uint64_t)b == want->bytes &&
           (uint64_t)a == want->accepted && (uint64_t)o == want->open;
}

/* Read r's lines until one shows want; fail after timeout_s (scaled), quoting the last line. */
static void wait_line(statseg_reader *r, const struct statseg_counts *want, double timeout_s,
                      const char *after)
{
    char line[1024], last[1024] = "";
    double deadline = gt_now() + timeout_s * gt_time_scale();
    for (;;) {
        double left = (deadline - gt_now()) / gt_time_scale();
        int got = left > 0 ? statseg_reader_line(r, line, sizeof line, left) : 0;
        if (got == 1) {
            if (has_counts(line, want))
                return;
            snprintf(last, sizeof last, "%s", line);
            continue;
        }
        const char *err = statseg_reader_err(r);
        gt_fail("%sviewstat (live, -i 0.2, stdout a pipe): after %s, %s a line with "
                "messages=%llu bytes=%llu accepted=%llu open=%llu; its last line: %s; its "
                "stderr: %s",
                gt_ni_prefix(err), after,
                got == -1 ? "it closed its stdout (exited?) without" : "no",
                (unsigned long long)want->messages, (unsigned long long)want->bytes,
                (unsigned long long)want->accepted, (unsigned long long)want->open,
                last[0] ? gt_head(last) : "(none)", err);
    }
}

GT_TEST(viewstat_help_exit_0, 10)
{
    static const char *const args[] = {"--help", NULL};
    gt_result r;
    gt_run(&r, 10, gt_student(PROG), args);
    gt_expect_help(&r, PROG " --help");
}

GT_TEST(viewstat_bad_arguments_exit_2, 30)
{
    char key[32];
    statseg_keyarg(gt_ipc_key(0), key, sizeof key);
    const char *const cases[][5] = {
        {"--once", NULL},                    /* no -k */
        {"-k", "nokey", "--once", NULL},     /* not a number */
        {"-k", key, "-i", "0", NULL},        /* no interval */
        {"-k", key, "-i", "soon", NULL},
        {"-k", key, "--once", "extra", NULL}, /* an operand */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gt_result r;
        char cmd[256];
        gt_describe(cmd, sizeof cmd, PROG, cases[i]);
        gt_run(&r, 10, gt_student(PROG), cases[i]);
        gt_expect_usage_error(&r, cmd, "nothing should be shown");
    }
}

GT_TEST(viewstat_once_shows_counters, 60)
{
    key_t key = gt_ipc_key(0);
    char keyarg[32];
    statseg_keyarg(key, keyarg, sizeof keyarg);
    gt_proc srv;
    start_ref_server(&srv, keyarg);
    const void *seg = statseg_attach_ok(key, "once the reference echosvr_v4 listens");
    int a = gt_connect(srv.port), b = gt_connect(srv.port), c = gt_connect(srv.port);
    statseg_echo(a, 7, 30, 1);
    statseg_echo(b, 5, 200, 2);
    close(c);
    struct statseg_counts want = {12, 1210, 3, 2};
    statseg_wait(seg, &want, 5, "3 clients, 12 round trips (1210 bytes), one client gone");

    const char *args[] = {"-k", keyarg, "--once", NULL};
    char cmd[128];
    gt_describe(cmd, sizeof cmd, PROG, args);
    gt_result r;
    gt_run(&r, 20, gt_student(PROG), args);
    gt_expect_exit(&r, cmd, 0);
    if (gt_count_lines(r.out) != 1)
        gt_fail("%s printed %d lines on stdout; expected one line of key=value pairs: %s", cmd,
                gt_count_lines(r.out), gt_out_head(&r));
    expect_counts(r.out, &want, cmd);
    close(a);
    close(b);
    statseg_detach(seg);
    gt_server_stop_clean(&srv);
}

/* Run viewstat -k key --once and fail unless it exits 1 with one line naming `must_name` (the
 * key, in hex or in decimal `alt`; or the killed server's pid, alt NULL). when: the situation. */
static void expect_once_exit_1(key_t key, const char *must_name, const char *alt, const char *when)
{
    char keyarg[32];
    statseg_keyarg(key, keyarg, sizeof keyarg);
    const char *args[] = {"-k", keyarg, "--once", NULL};
    char cmd[128];
    gt_describe(cmd, sizeof cmd, PROG, args);
    gt_result r;
    gt_run(&r, 20, gt_student(PROG), args);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 1)
        gt_fail("%s %s: %s; expected exit status 1; stdout: %s; stderr: %s", cmd, when,
                gt_status_str(r.status, r.timed_out), gt_out_head(&r), gt_err_or_empty(&r));
    int lines = gt_count_lines(r.out) + gt_count_lines(r.err);
    int named = strstr(r.out, must_name) != NULL || strstr(r.err, must_name) != NULL ||
                (alt != NULL && (strstr(r.out, alt) != NULL || strstr(r.err, alt) != NULL));
    if (lines != 1 || !named)
        gt_fail("%s %s exited 1, but should say why in one line naming %s; stdout: %s; "
                "stderr: %s",
                cmd, when, must_name, gt_out_head(&r), gt_err_or_empty(&r));
}

GT_TEST(viewstat_once_no_server_exit_1, 30)
{
    key_t key = gt_ipc_key(0);
    char keyarg[32], dec[32];
    statseg_keyarg(key, keyarg, sizeof keyarg);
    snprintf(dec, sizeof dec, "%d", (int)key);
    expect_once_exit_1(key, keyarg, dec, "with no server running");
    statseg_expect_none(key, "after viewstat --once");
}

/* A server killed with SIGKILL leaves its segment, frozen: no server runs, whatever it holds.
 * Naming the dead pid needs the segment attached (the student's view_attach). */
GT_TEST(viewstat_once_killed_server_exit_1, 60)
{
    key_t key = gt_ipc_key(0);
    char keyarg[32], pid[32];
    statseg_keyarg(key, keyarg, sizeof keyarg);
    gt_proc srv;
    start_ref_server(&srv, keyarg);
    snprintf(pid, sizeof pid, "%d", (int)srv.pid);
    if (kill(srv.pid, SIGKILL) == -1 || waitpid(srv.pid, NULL, 0) != srv.pid)
        gt_fail("killing the reference echosvr_v4 (pid %s): %s", pid, strerror(errno));
    srv.pid = 0;
    expect_once_exit_1(key, pid, NULL,
                       "after its echosvr_v4 was killed (its segment stays, with a dead creator)");
    int id = shmget(key, 0, 0);
    if (id != -1)
        shmctl(id, IPC_RMID, NULL); /* what the killed server left */
}

GT_TEST(viewstat_waits_and_picks_up_restarted_server, 90)
{
    key_t key = gt_ipc_key(0);
    char keyarg[32], line[1024];
    statseg_keyarg(key, keyarg, sizeof keyarg);
    const char *args[] = {"-k", keyarg, "-i", "0.2", NULL};
    statseg_reader vs;
    statseg_reader_start(&vs, gt_student(PROG), args);

    /* No server yet: it says so, and waits. */
    int got = statseg_reader_line(&vs, line, sizeof line, 5);
    if (got != 1) {
        const char *err = statseg_reader_err(&vs);
        gt_fail("%sviewstat -k %s -i 0.2 with no server yet: %s within 5 s (it should say it "
                "waits, on stdout); its stderr: %s",
                gt_ni_prefix(err), keyarg,
                got == -1 ? "it exited without a line" : "no line", err);
    }
    gt_sleep(0.5);
    if (waitpid(vs.pid, NULL, WNOHANG) != 0)
        gt_fail("viewstat -k %s (live) exited while no server runs; it should wait for one; "
                "its stderr: %s",
                keyarg, statseg_reader_err(&vs));

    gt_proc srv;
    start_ref_server(&srv, keyarg);
    int fd = gt_connect(srv.port);
    statseg_echo(fd, 3, 10, 1);
    struct statseg_counts first = {3, 30, 1, 1};
    wait_line(&vs, &first, 6, "a server started and a client echoed 3 messages of 10 bytes");
    close(fd);
    gt_server_stop_clean(&srv);

    /* A new server, new counters, a new segment at the same key. */
    start_ref_server(&srv, keyarg);
    int fds[2] = {gt_connect(srv.port), gt_connect(srv.port)};
    statseg_echo(fds[0], 7, 20, 2);
    struct statseg_counts second = {7, 140, 2, 2};
    wait_line(&vs, &second, 6,
              "the server was stopped and started again, and 2 clients echoed 7 messages of 20 "
              "bytes (the new server's counters)");
    close(fds[0]);
    close(fds[1]);
    gt_server_stop_clean(&srv);
    int status = statseg_reader_stop(&vs);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        gt_fail("viewstat (live) did not exit 0 on SIGTERM: %s; its stderr: %s",
                gt_status_str(status, 0), statseg_reader_err(&vs));
}

GT_TEST(viewstat_attaches_read_only, 60)
{
    key_t key = gt_ipc_key(0);
    char keyarg[32], perms[8];
    statseg_keyarg(key, keyarg, sizeof keyarg);
    gt_proc srv;
    start_ref_server(&srv, keyarg);
    const void *seg = statseg_attach_ok(key, "once the reference echosvr_v4 listens");
    static unsigned char before[STATS_SEGMENT_SIZE];
    memcpy(before, seg, sizeof before);

    const char *args[] = {"-k", keyarg, "-i", "0.2", NULL};
    statseg_reader vs;
    statseg_reader_start(&vs, gt_student(PROG), args);
    struct statseg_counts zero = {0, 0, 0, 0};
    wait_line(&vs, &zero, 10, "the server started (no client)");

    /* The kernel's view of viewstat's mapping of the segment: "r--s" when attached with
     * SHM_RDONLY, "rw-s" when it could write. */
    if (!gt_shm_map_perms(vs.pid, key, perms))
        gt_fail("viewstat shows the counters but /proc/%d/maps has no mapping of the segment "
                "(SYSV%08x)",
                (int)vs.pid, (unsigned)key);
    if (strcmp(perms, "r--s") != 0)
        gt_fail("viewstat maps the segment with permissions %s; expected r--s: attached "
                "read-only (SHM_RDONLY), a viewer can not write by mistake",
                perms);
    gt_sleep(0.5);
    if (memcmp(seg, before, sizeof before) != 0)
        gt_fail("the segment changed while only viewstat ran (the server had no client): "
                "viewstat must never write to it");
    int status = statseg_reader_stop(&vs);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        gt_fail("viewstat (live) did not exit 0 on SIGTERM: %s; its stderr: %s",
                gt_status_str(status, 0), statseg_reader_err(&vs));
    statseg_detach(seg);
    gt_server_stop_clean(&srv);
}
