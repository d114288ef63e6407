/*
 * echo: the echo of chapter 3's libevent servers (ex3.2), shared by echosvr_v1 and echosvr_v2.
 *
 * common/evserver.c runs the server: the listener, a bufferevent per client, the list of open
 * connections, the signal events, the loop. It allocates each client's struct conn (zeroed),
 * and calls the hooks a program hands it in its struct evserver_config. These are the hooks
 * of the echo: echosvr_v1 hands them over as they are, echosvr_v2 wraps two of them to count
 * what they do. You write the last three, in echo.c.
 *
 * BACK-PRESSURE. A client that sends without reading its echo stops being read once OUT_HIGH
 * bytes of its echo wait in its output buffer, and is read again once it has read its echo
 * down to OUT_LOW: it costs the server OUT_HIGH bytes, not what it sends.
 */
#ifndef SVRLAB_ECHO_H
#define SVRLAB_ECHO_H

#include <event2/bufferevent.h>

#define OUT_HIGH (256 * 1024) /* echo bytes waiting for a client before we stop reading it */
#define OUT_LOW (64 * 1024)   /* ... and resume once it has read its echo down to this */

/* One client: evserver allocates it (zeroed) with the connection and frees it at the close. */
struct conn {
    struct bufferevent *bev; /* its socket, with the input and output buffers */
    void *app;               /* the program's own (evserver_config.app): echosvr_v2's server */
    int paused;              /* reading stopped: the output holds OUT_HIGH bytes or more */
    int closing;             /* the client sent end of file: close once the output is empty */
};

/* The opened hook: a new client, set up by evserver; keeps its bufferevent and app. 0. */
int echo_opened(struct conn *c, struct bufferevent *bev, void *app);

/* The read callback's work: everything in c's input buffer to its output buffer (or, when
 * the output is empty, straight to the socket, the rest to the output buffer: echosvr_v2
 * counts the bytes that did not reach the output buffer as written); at OUT_HIGH bytes or
 * more in the output, stop reading c until it drains to OUT_LOW. Returns 0, or -1 with errno
 * set. */
int echo_input(struct conn *c);

/* The write callback's work, once c's output has drained to the write low-watermark: resume a
 * paused client; a closing one whose echo is all out is done. Returns 0 (keep the
 * connection), 1 (close it), or -1 with errno set. */
int echo_output_drained(struct conn *c);

/* The event callback's work: `what` holds BEV_EVENT_EOF or BEV_EVENT_ERROR. Returns 0 (keep
 * the connection for now), 1 (close it), or -1 with errno set to the socket error (evserver
 * logs it and closes). */
int echo_conn_event(struct conn *c, short what);

#endif
