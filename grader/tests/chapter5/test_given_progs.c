/*
 * test_given_progs.c: the exit statuses of chapter 5's given programs, each built on a student
 * file: poolbench (mempool.c, ex5.1), cachebench (cache.c, ex5.2), md (chapter 4's, with
 * connstats.c, ex5.3) and io_conn (chapter 4's, with connpool.c, ex5.4). A benchmark's short
 * run ends with status 0 only if the student's part works; bad arguments give status 2; a
 * second md or io_conn at the key of a running one, status 1.
 */
#include "gt.h"
#include "test_apps.h"

#include <stdio.h>
#include <unistd.h>

GT_TEST(poolbench_help_exit_0, 10)
{
    gt_test_help(gt_student("poolbench"), "poolbench");
}

GT_TEST(poolbench_bad_arguments_exit_2, 20)
{
    static const char *const cases[][4] = {
        {"-m", "slab", NULL},
        {"-n", "-1", NULL},
        {"--bogus", NULL},
    };
    GT_TEST_USAGE_ERRORS(gt_student("poolbench"), "poolbench", cases,
                         "nothing should be measured");
}

GT_TEST(poolbench_pool_exit_0, 30)
{
    static const char *const args[] = {"-m", "pool", "-n", "100000", "-w", "100", NULL};
    gt_test_exit(gt_student("poolbench"), "poolbench", args, 20, 0);
}

GT_TEST(cachebench_help_exit_0, 10)
{
    gt_test_help(gt_student("cachebench"), "cachebench");
}

GT_TEST(cachebench_bad_arguments_exit_2, 20)
{
    static const char *const cases[][4] = {
        {"-m", "guess", NULL},
        {"-r", "99", NULL},
        {"--bogus", NULL},
    };
    GT_TEST_USAGE_ERRORS(gt_student("cachebench"), "cachebench", cases,
                         "nothing should be measured");
}

GT_TEST(cachebench_lookup_exit_0, 30)
{
    char key[32];
    snprintf(key, sizeof key, "%d", (int)gt_ipc_key(0));
    const char *const args[] = {"-k", key, "-e", "1000", "-n", "1000", NULL};
    gt_test_exit(gt_student("cachebench"), "cachebench", args, 20, 0);
}

GT_TEST(md_bad_arguments_exit_2, 20)
{
    static const char *const cases[][5] = {
        {"-w", "2", NULL},               /* no -k */
        {"-k", "0x1234", "-w", "99", NULL},
        {"-k", "0x1234", "-q", "3", NULL},
    };
    GT_TEST_USAGE_ERRORS(gt_student("md"), "md", cases, "md should not start");
}

GT_TEST(io_conn_bad_arguments_exit_2, 20)
{
    static const char *const cases[][7] = {
        {"-p", "0", NULL},               /* no -k */
        {"-k", "0x1234", "-p", "0", "-c", "0", NULL},
        {"-k", "0x1234", "-p", "0", "-q", "3", NULL},
    };
    GT_TEST_USAGE_ERRORS(gt_student("io_conn"), "io_conn", cases, "io_conn should not start");
}

/* A second md or io_conn on the key of a running pair is refused with exit status 1 (chapter 4's
 * guide). After a round trip through the pair, both hold their roles for sure. prog: the one
 * started twice, the student's; the other one is the reference. */
static void expect_second_refused(const char *prog)
{
    int io_is_students = prog[0] == 'i';
    ta_prog md;
    gt_proc io;
    ta_pair_start(&md, !io_is_students, NULL, &io, io_is_students, NULL);
    int fd = ta_connect(io.port);
    ta_echo(fd, 100, 1, 0, "a round trip through md and io_conn");
    const char *md_args[] = {"-k", ta_key_arg(), NULL};
    const char *io_args[] = {"-k", ta_key_arg(), "-p", "0", NULL};
    char what[64];
    snprintf(what, sizeof what, "a second %s (one runs at that key)", prog);
    gt_test_exit(gt_student(prog), what, io_is_students ? io_args : md_args, 10, 1);
    close(fd);
    ta_pair_stop(&io, &md);
}

GT_TEST(md_second_instance_exit_1, 60)
{
    expect_second_refused("md");
}

GT_TEST(io_conn_second_instance_exit_1, 60)
{
    expect_second_refused("io_conn");
}
