/*
 * test_mqbench.c: the exit statuses of mqbench, the given benchmark of the student's queue
 * (ex4.2, shmmq.c): --help, bad arguments, and a short run in one process (-m self: both ends of
 * the student's queue, every message checked) that must end with status 0.
 */
#include "gt.h"

#include <stdio.h>

#define PROG "mqbench"

GT_TEST(mqbench_help_exit_0, 10)
{
    gt_test_help(gt_student(PROG), PROG);
}

GT_TEST(mqbench_bad_arguments_exit_2, 20)
{
    static const char *const cases[][5] = {
        {"-m", "self", NULL},               /* no -k */
        {"-k", "0x1234", "-m", "teleport", NULL},
        {"-k", "0x1234", "-n", "none", NULL},
        {"-k", "0x1234", "--bogus", NULL},
    };
    GT_TEST_USAGE_ERRORS(gt_student(PROG), PROG, cases, "nothing should be measured");
}

GT_TEST(mqbench_self_exit_0, 60)
{
    char key[32];
    snprintf(key, sizeof key, "%d", (int)gt_ipc_key(0)); /* KEY and KEY+1: keys 0 and 1 */
    const char *const args[] = {"-k", key, "-m", "self", "-n", "10000", NULL};
    gt_test_exit(gt_student(PROG), PROG, args, 40, 0);
}
