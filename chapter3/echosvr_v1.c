/*
 * echosvr_v1: an echo server on libevent: a listener and one bufferevent per client (ex3.2).
 *
 * libevent runs the loop: an evconnlistener accepts, each connection gets a bufferevent,
 * which reads into its input buffer and writes out its output buffer by itself, and calls us
 * back. That part is given, shared with echosvr_v2, in common/evserver.c; the echo itself,
 * what the three bufferevent callbacks do, is echo.c (your part, also shared with
 * echosvr_v2). This file puts them together: main hands evserver the echo's hooks. A client
 * that sends without reading stops being read once OUT_HIGH bytes of its echo wait
 * (back-pressure), so it costs the server OUT_HIGH, not what it sends. SIGINT or SIGTERM ends
 * the loop; every connection, event and the base are freed, exit status 0.
 */
#include "echo.h"
#include "evserver.h"
#include "log.h"

#include <stdio.h>

static void usage(FILE *out);

int main(int argc, char **argv)
{
    /* evserver calls these from the bufferevent's read, write and event callbacks, and closes
     * the connection when one of them says so (1, or -1 with errno: logged). */
    static const struct evserver_config config = {
        .out_high = OUT_HIGH,
        .usage = usage,
        .conn_size = sizeof(struct conn),
        .opened = echo_opened,
        .input = {echo_input, "echo_input"},
        .drained = {echo_output_drained, "echo_output_drained"},
        .event = {echo_conn_event, "echo_conn_event"},
    };

    log_init(argv[0]);
    struct evserver *srv = evserver_new(argc, argv, &config);
    if (srv == NULL)
        return 1; /* it said why */
    int status = evserver_run(srv);
    evserver_free(srv);
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-a ADDR] -p PORT [-R BYTES]\n"
            "\n"
            "An echo server on libevent: one process, one bufferevent per client, every byte\n"
            "each client sends sent back. A client that sends without reading its echo is\n"
            "not read from while %d KiB of its echo wait to be sent.\n"
            "Prints \"listening on port N\" once it accepts connections; SIGINT or SIGTERM\n"
            "closes every connection and stops it with exit status 0.\n"
            "\n",
            log_progname(), OUT_HIGH / 1024);
    evserver_usage_options(out, OUT_HIGH);
}
