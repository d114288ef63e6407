/*
 * test_viewconn.c: ex5.3, viewconn (the student's viewconn.c and cache.c), black box: the
 * reference md and io_conn, the test's own clients; what the student's viewconn shows is
 * compared with what the reference viewconn shows of the same table.
 */
#include "gt.h"
#include "test_apps.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG "viewconn"

GT_TEST(viewconn_help_and_bad_arguments, 30)
{
    static gt_result r;
    const char *help[] = {"--help", NULL};
    gt_run(&r, 10, gt_student(PROG), help);
    gt_expect_help(&r, "viewconn --help");

    const char *no_key[] = {"--once", NULL};
    gt_run(&r, 10, gt_student(PROG), no_key);
    gt_expect_usage_error(&r, "viewconn --once (no -k)", "nothing should be attached");
    const char *bad_key[] = {"-k", "sixteen", "--once", NULL};
    gt_run(&r, 10, gt_student(PROG), bad_key);
    gt_expect_usage_error(&r, "viewconn -k sixteen --once", "nothing should be attached");
    const char *bogus[] = {"-k", ta_key_arg(), "--bogus", NULL};
    gt_run(&r, 10, gt_student(PROG), bogus);
    gt_expect_usage_error(&r, "viewconn -k KEY --bogus", "nothing should be attached");
}

/* Client i (of n) makes i + 1 round trips of 30 * (i + 1) bytes. */
static void talk(int *fd, ta_want *want, int n, int port)
{
    for (int i = 0; i < n; i++) {
        size_t len = 30 * (size_t)(i + 1);
        fd[i] = ta_connect(port);
        for (int j = 0; j <= i; j++)
            ta_echo(fd[i], len, (unsigned)i + 40, (uint64_t)j * len, "a client of io_conn");
        want[i] = (ta_want){(uint64_t)i + 1, (uint64_t)(i + 1) * len};
    }
}

GT_TEST(viewconn_once_lists_connections, 60)
{
    ta_prog md;
    gt_proc io;
    int fd[3];
    ta_want want[3];
    ta_view ref, mine;
    ta_pair_start(&md, 0, NULL, &io, 0, NULL);
    talk(fd, want, 3, io.port);
    ta_wait_view(&ref, &md, want, 3, 5, "3 clients made 1, 2 and 3 round trips");

    int rc = ta_view_once(&mine, 1);
    if (rc != 0)
        gt_fail("viewconn -k %s --once %s while md runs with 3 connections: %s", ta_key_arg(),
                gt_status_str(mine.status, mine.timed_out), gt_head(mine.err));
    if (!ta_view_matches(&mine, want, 3))
        gt_fail("viewconn --once should list 3 connections (messages=1 bytes=30; messages=2 "
                "bytes=120; messages=3 bytes=270); it lists %s",
                ta_view_str(&mine));
    if (mine.md_pid != md.p.pid || !mine.running)
        gt_fail("viewconn --once's first line should name md's pid %d and state=running: %s",
                (int)md.p.pid, gt_head(mine.out));
    for (int i = 0; i < mine.n; i++) {
        const ta_conn *c = &mine.c[i];
        int same = 0;
        for (int j = 0; j < ref.n; j++)
            same |= ref.c[j].flow == c->flow && ref.c[j].messages == c->messages;
        if (!same)
            gt_fail("viewconn lists flow 0x%016llx (messages=%llu), which md's table does not "
                    "hold: %s",
                    (unsigned long long)c->flow, (unsigned long long)c->messages,
                    gt_head(mine.out));
        if (c->idle_s < 0 || c->age_s < c->idle_s || c->age_s > 60 * gt_time_scale())
            gt_fail("viewconn lists flow 0x%016llx with age_s=%.3f idle_s=%.3f: the age (since "
                    "the first message) is at least the idle time (since the last), and both "
                    "are seconds from CLOCK_MONOTONIC nanoseconds",
                    (unsigned long long)c->flow, c->age_s, c->idle_s);
    }
    for (int i = 0; i < 3; i++)
        close(fd[i]);
    ta_wait_view(&ref, &md, NULL, 0, 5, "every client closed");
    ta_pair_stop(&io, &md);
}

/* The run r must be exit status 1 with one line on stderr and nothing on stdout (and not a
 * starter's stub that gives up on everything). */
static void expect_one_line_exit_1(const ta_view *v, int rc, const char *when)
{
    if (gt_ni_prefix(v->err)[0] != '\0')
        gt_fail("not implemented: viewconn --once %s: %s", when, gt_head(v->err));
    if (rc != 1)
        gt_fail("viewconn -k %s --once %s; expected exit status 1 %s; its stderr: %s", ta_key_arg(),
                rc == 0 ? "exited 0" : gt_status_str(v->status, v->timed_out), when,
                gt_head(v->err));
    if (gt_count_lines(v->err) != 1)
        gt_fail("viewconn --once %s should say why in one line on stderr; it wrote %d: %s", when,
                gt_count_lines(v->err), gt_head(v->err));
    if (v->out[0] != '\0')
        gt_fail("viewconn --once %s should print nothing on stdout; it printed: %s", when,
                gt_head(v->out));
}

GT_TEST(viewconn_once_no_md_exit_1, 30)
{
    ta_view v;
    int rc = ta_view_once(&v, 1);
    expect_one_line_exit_1(&v, rc, "when no md runs (no table at the key)");
}

GT_TEST(viewconn_once_killed_md_exit_1, 60)
{
    ta_prog md;
    gt_proc io;
    ta_view v;
    ta_pair_start(&md, 0, NULL, &io, 0, NULL);
    int fd = ta_client_seen(&io, &md, &v, 10, 9);
    ta_prog_kill(&md);
    int rc = ta_view_once(&v, 1);
    expect_one_line_exit_1(&v, rc,
                           "when the md that made the table was killed (its creator, shmctl "
                           "IPC_STAT's shm_cpid, is gone: the table is stale)");
    close(fd);
    key_t key = ta_key() + TA_STATS_OFFSET;
    int id = shmget(key, 0, 0);
    if (id != -1)
        shmctl(id, IPC_RMID, NULL); /* what the killed md left */
    gt_server_stop_clean(&io);
    ta_expect_nothing_left("io_conn stopped cleanly (md was killed; the test removed its table)");
}

/* ---- live mode ----------------------------------------------------------------------------- */

/* The student's viewconn, live, every `interval` seconds, its stdout into a file. */
static void live_start(ta_prog *p, char *out_path, size_t cap, const char *interval)
{
    snprintf(out_path, cap, "%s/viewconn-live.out", gt_tmpdir());
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1)
        gt_fail("open(%s): %s", out_path, strerror(errno));
    const char *extra[] = {"-i", interval, NULL};
    ta_prog_start(p, PROG, gt_student(PROG), extra, fd);
    close(fd);
}

/* The last complete block of the live output at path (a summary line "key=..." up to an empty
 * line) into buf; 0, or -1 if there is none yet. */
static int last_block(const char *path, char *buf, size_t cap)
{
    static char text[16384];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof text - 1 ? size - (off_t)sizeof text + 1 : 0;
    ssize_t n = pread(fd, text, sizeof text - 1, from);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    char *end = NULL;
    for (char *p = strstr(text, "\n\n"); p != NULL; p = strstr(p + 1, "\n\n"))
        end = p;
    if (end == NULL)
        return -1;
    *end = '\0';
    char *start = NULL;
    for (char *p = text; (p = strstr(p, "key=")) != NULL; p++)
        if (p == text || p[-1] == '\n')
            start = p;
    if (start == NULL)
        return -1;
    snprintf(buf, cap, "%s", start);
    return 0;
}

/* Wait (10 s, scaled) for the live output's last block to list `n` connection(s) ("connections=N"
 * in its summary line) whose lines all contain `has` (NULL: anything). */
static void live_wait(ta_prog *p, const char *path, int n, const char *has, const char *what)
{
    char block[4096] = "", want[32];
    snprintf(want, sizeof want, " connections=%d ", n);
    double deadline = gt_now() + 10 * gt_time_scale();
    for (;;) {
        if (last_block(path, block, sizeof block) == 0 && strstr(block, want) != NULL &&
            (has == NULL || strstr(block, has) != NULL))
            return;
        if (!ta_prog_alive(p))
            gt_fail("viewconn -k %s (live, to a file) %s before it showed %d connection(s) %s; "
                    "its stderr: %s",
                    ta_key_arg(), gt_status_str(p->status, 0), n, what, ta_prog_err(p));
        if (gt_now() >= deadline)
            gt_fail("viewconn -k %s (live, to a file) should show %d connection(s)%s%s %s; its "
                    "last block: %s; its stderr: %s",
                    ta_key_arg(), n, has ? " with " : "", has ? has : "", what,
                    block[0] ? gt_head(block) : "(none complete: a block ends with an empty line)",
                    ta_prog_err(p));
        gt_sleep(0.05);
    }
}

GT_TEST(viewconn_attaches_read_only, 60)
{
    ta_prog md, view;
    gt_proc io;
    char out_path[4096], perms[8];
    ta_pair_start(&md, 0, NULL, &io, 0, NULL);
    live_start(&view, out_path, sizeof out_path, "0.2");
    live_wait(&view, out_path, 0, NULL, "once md runs (no client yet)");

    /* The kernel's view of viewconn's mapping of the table: "r--s" when attached with
     * SHM_RDONLY (cache_attach(key, 1)), "rw-s" when it could write. */
    key_t key = ta_key() + TA_STATS_OFFSET;
    if (!gt_shm_map_perms(view.p.pid, key, perms))
        gt_fail("viewconn shows md's table but /proc/%d/maps has no mapping of it (SYSV%08x)",
                (int)view.p.pid, (unsigned)key);
    if (strcmp(perms, "r--s") != 0)
        gt_fail("viewconn maps md's table with permissions %s; expected r--s: attached read-only "
                "(cache_attach(key, 1)), a viewer can not write by mistake",
                perms);
    ta_prog_stop_clean(&view);
    ta_pair_stop(&io, &md);
}

GT_TEST(viewconn_live_follows_changes, 60)
{
    ta_prog md, md2, view;
    gt_proc io;
    char out_path[4096];
    live_start(&view, out_path, sizeof out_path, "0.1");
    ta_pair_start(&md, 0, NULL, &io, 0, NULL);
    int fd = ta_connect(io.port);
    ta_echo(fd, 25, 11, 0, "a client's round trip");
    live_wait(&view, out_path, 1, "messages=1 bytes=25 ",
              "after md started (viewconn was waiting for it) and a client made a round trip");
    ta_echo(fd, 25, 11, 25, "the client's second round trip");
    live_wait(&view, out_path, 1, "messages=2 bytes=50 ", "after a second round trip");
    close(fd);
    live_wait(&view, out_path, 0, NULL, "after the client closed");

    ta_prog_stop_clean(&md);
    ta_md_start(&md2, 0, NULL);
    fd = ta_connect(io.port);
    ta_echo(fd, 33, 12, 0, "a round trip through a restarted md");
    char pid_field[32];
    snprintf(pid_field, sizeof pid_field, "md_pid=%d ", (int)md2.p.pid);
    live_wait(&view, out_path, 1, pid_field, "after md was stopped and started again");
    live_wait(&view, out_path, 1, "messages=1 bytes=33 ", "after md was stopped and started again");
    close(fd);
    ta_prog_stop_clean(&view);
    ta_pair_stop(&io, &md2);
}
