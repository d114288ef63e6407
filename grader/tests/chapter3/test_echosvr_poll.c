/*
 * test_echosvr_poll.c: black-box tests of ex3.1, the student's echosvr_poll (one process,
 * poll(2), many clients).
 *
 * Every test is one of the behaviours that chapter 3's TCP servers share, written once in
 * servers.c and registered here under this server's name, so that it earns its own points:
 * message sizes from 1 byte to 1 MiB, 1,000 clients of the reference loadgen at once, a slow
 * reader (partial writes kept, never dropped), a client that never reads (the per-connection
 * output cap bounds memory), clients that reset mid-message (no SIGPIPE death), running out
 * of descriptors (no busy loop on accept), SIGTERM under load.
 */
#include "gt.h"
#include "servers.h"

#define PROG "echosvr_poll"

GT_TEST(echosvr_poll_help_exit_0, 10)
{
    srv_test_help(PROG);
}

GT_TEST(echosvr_poll_bad_arguments_exit_2, 20)
{
    srv_test_bad_arguments(PROG);
}

GT_TEST(echosvr_poll_echo_1_byte_to_1_mib, 60)
{
    srv_test_echo_sizes(PROG);
}

GT_TEST(echosvr_poll_1000_clients_ref_loadgen, 90)
{
    srv_test_1000_clients(PROG);
}

GT_TEST(echosvr_poll_slow_reader_gets_every_byte, 90)
{
    srv_test_slow_reader(PROG);
}

GT_TEST(echosvr_poll_half_close_gets_pending_echo, 90)
{
    srv_test_half_close(PROG);
}

GT_TEST(echosvr_poll_nonreading_client_memory_bounded, 60)
{
    srv_test_nonreader_memory(PROG);
}

GT_TEST(echosvr_poll_client_reset_mid_message, 40)
{
    srv_test_client_reset(PROG);
}

GT_TEST(echosvr_poll_out_of_descriptors, 90)
{
    srv_test_out_of_descriptors(PROG);
}

GT_TEST(echosvr_poll_sigterm_under_load_exit_0, 40)
{
    srv_test_sigterm_under_load(PROG, NULL);
}
