/*
 * test_echosvr_v0.c: the exit statuses of echosvr_v0, the given iterative echo server built
 * on the student's rio.c (ex1.1): --help, bad arguments, and SIGTERM after a client was served
 * (the round trip needs rio_read_exact and rio_write_all to work).
 */
#include "gt.h"

#include <unistd.h>

#define PROG "echosvr_v0"

GT_TEST(echosvr_v0_help_exit_0, 10)
{
    gt_test_help(gt_student(PROG), PROG);
}

GT_TEST(echosvr_v0_bad_arguments_exit_2, 20)
{
    static const char *const cases[][4] = {
        {NULL},                /* no -p */
        {"-p", "70000", NULL}, /* not a port */
        {"-p", "0", "--bogus", NULL},
    };
    GT_TEST_USAGE_ERRORS(gt_student(PROG), PROG, cases, "no server should start");
}

GT_TEST(echosvr_v0_sigterm_exit_0, 30)
{
    gt_proc srv;
    gt_server_start(&srv, gt_student(PROG), NULL);
    int fd = gt_connect(srv.port);
    gt_echo_roundtrip(fd, 1000, 7, 10);
    close(fd);
    gt_server_stop_clean(&srv);
}
