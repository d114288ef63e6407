/*
 * test_readywait.c: the exit statuses of readywait, the given program that waits on its stdin
 * with the student's ready_select / ready_poll / ready_epoll (ex2.1). Its stdin here is
 * /dev/null, always readable: "ready" needs a wait that works, and select on a descriptor at
 * or above FD_SETSIZE must be refused (EINVAL) by the student's ready_select. For a timeout,
 * its stdin is a pipe that nobody writes to.
 */
#include "gt.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG "readywait"

GT_TEST(readywait_help_exit_0, 10)
{
    gt_test_help(gt_student(PROG), PROG);
}

GT_TEST(readywait_bad_arguments_exit_2, 20)
{
    static const char *const cases[][4] = {
        {"-m", "kqueue", NULL},
        {"-t", "soon", NULL},
        {"-d", "-3", NULL},
        {"--bogus", NULL},
    };
    GT_TEST_USAGE_ERRORS(gt_student(PROG), PROG, cases, "nothing should be waited for");
}

/* Run readywait with args; fail unless it exits `want` with `says` on its stdout. */
static void expect_run(const char *const *args, int want, const char *says, const char *why)
{
    char cmd[128];
    gt_result r;
    gt_describe(cmd, sizeof cmd, PROG, args);
    gt_run(&r, 20, gt_student(PROG), args);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != want ||
        strstr(r.out, says) == NULL)
        gt_fail("%s%s (stdin /dev/null, %s): %s; expected exit status %d and \"%s\" on stdout; "
                "stdout: %s; stderr: %s",
                gt_ni_prefix(r.out), cmd, why, gt_status_str(r.status, r.timed_out), want, says,
                gt_out_head(&r), gt_err_or_empty(&r));
}

GT_TEST(readywait_ready_exit_0, 20)
{
    static const char *const args[] = {"-m", "poll", "-t", "5000", NULL};
    expect_run(args, 0, "ready after", "readable at once");
}

GT_TEST(readywait_select_above_setsize_exit_1, 20)
{
    static const char *const args[] = {"-m", "select", "-d", "1100", "-t", "5000", NULL};
    expect_run(args, 1, "(errno 22)", "moved to descriptor 1100, beyond FD_SETSIZE: EINVAL");
}

/* A timeout is not an error: stdin a pipe that stays empty (its write end held open here). */
GT_TEST(readywait_timeout_exit_0, 20)
{
    int p[2], out[2];
    gt_pipe(p);
    gt_pipe(out);
    pid_t parent = getpid(), pid = fork();
    if (pid == -1)
        gt_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        gt_child_reset(parent);
        if (dup2(p[0], STDIN_FILENO) == -1 || dup2(out[1], STDOUT_FILENO) == -1)
            _exit(127);
        execl(gt_student(PROG), PROG, "-m", "poll", "-t", "200", (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    close(out[1]);
    char text[1024];
    size_t len = 0;
    ssize_t n;
    /* its stdout ends when it exits; the test's own timeout bounds a hang */
    while ((n = read(out[0], text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)n;
    text[len] = '\0';
    int st;
    if (waitpid(pid, &st, 0) != pid)
        gt_fail("waitpid(readywait): %s", strerror(errno));
    close(out[0]);
    close(p[1]);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || strstr(text, "timeout after") == NULL)
        gt_fail("%sreadywait -m poll -t 200 (stdin an empty pipe): %s; expected exit status 0 "
                "and \"timeout after\" on stdout; stdout: %s",
                gt_ni_prefix(text), gt_status_str(st, 0), gt_head(text));
}
