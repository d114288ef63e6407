/*
 * test_echosvr_v1.c: black-box tests of ex3.2, the student's echosvr_v1 (libevent: a
 * listener and one bufferevent per client).
 *
 * The behaviours that chapter 3's TCP servers share are written once in servers.c and
 * registered here under this server's name: message sizes from 1 byte to 1 MiB, 1,000 clients
 * of the reference loadgen at once, a slow reader, a client that never reads (back-pressure:
 * watermarks keep the server's memory bounded), clients that reset mid-message (no SIGPIPE
 * death), running out of descriptors (the listener rests instead of spinning on accept),
 * SIGTERM under load. And the c10k test: 10,000 concurrent connections of the reference
 * loadgen, skipped (never passed) where the hard descriptor limit is too low.
 */
#include "gt.h"
#include "servers.h"

#define PROG "echosvr_v1"

GT_TEST(echosvr_v1_help_exit_0, 10)
{
    srv_test_help(PROG);
}

GT_TEST(echosvr_v1_bad_arguments_exit_2, 20)
{
    srv_test_bad_arguments(PROG);
}

GT_TEST(echosvr_v1_echo_1_byte_to_1_mib, 60)
{
    srv_test_echo_sizes(PROG);
}

GT_TEST(echosvr_v1_1000_clients_ref_loadgen, 90)
{
    srv_test_1000_clients(PROG);
}

GT_TEST(echosvr_v1_slow_reader_gets_every_byte, 90)
{
    srv_test_slow_reader(PROG);
}

GT_TEST(echosvr_v1_half_close_gets_pending_echo, 90)
{
    srv_test_half_close(PROG);
}

GT_TEST(echosvr_v1_nonreading_client_memory_bounded, 60)
{
    srv_test_nonreader_memory(PROG);
}

GT_TEST(echosvr_v1_client_reset_mid_message, 40)
{
    srv_test_client_reset(PROG);
}

GT_TEST(echosvr_v1_out_of_descriptors, 90)
{
    srv_test_out_of_descriptors(PROG);
}

GT_TEST(echosvr_v1_sigterm_under_load_exit_0, 40)
{
    srv_test_sigterm_under_load(PROG, NULL);
}

GT_TEST(echosvr_v1_c10k_ref_loadgen, 150)
{
    srv_test_c10k(PROG);
}
