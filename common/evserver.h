/*
 * evserver: the given part of chapter 3's libevent echo servers, echosvr_v1 (ex3.2) and
 * echosvr_v2 (ex3.3), kept in one place. Not an exercise: you read it, you do not edit it.
 *
 * It does what every such server does the same way: the command line (-a, -p, -R, --help),
 * an evconnlistener that rests for a moment when accept runs out of descriptors instead of
 * spinning, one bufferevent per client with libevent 2.1's 4096-byte read limit worked
 * around (read_more in evserver.c), the list of open connections so that a shutdown can free
 * them, SIGINT and SIGTERM as events that end the loop, and the loop itself.
 *
 * The server brings what is its own: its `struct conn` (the state of one client), and hooks
 * that do the work of each bufferevent callback; evserver calls them and, when one says so,
 * closes the connection. main() reads like libevent's hello-world:
 *
 *     srv = evserver_new(argc, argv, &config);     command line, base, listener, signals
 *     ...                                           the server's own events, on evserver_base()
 *     status = evserver_run(srv);                   "listening on port N", then the loop
 *     ...                                           the server's own events freed
 *     evserver_free(srv);                           connections, events, listener, base
 */
#ifndef SVRLAB_EVSERVER_H
#define SVRLAB_EVSERVER_H

#include <stddef.h>
#include <stdio.h>

struct bufferevent;
struct event_base;

/* One client, as the server sees it: each server defines its own struct conn. evserver
 * allocates it (zeroed, evserver_config.conn_size bytes) together with the connection, hands
 * it to every hook, and frees it when the connection closes (the memory comes from calloc, or
 * from the server's own allocator: evserver_config.conn_alloc). */
struct conn;

/* A running server: the base, the listener, the signal events and the open connections. */
struct evserver;

/* An option of the server's own, besides -a, -p, -R and --help. It takes a value. */
struct evserver_option {
    const char *name; /* the long name, without "--": "interval" */
    int letter;       /* the short one: 'i' */
    /* Called with the value as the command line is read. A bad value is a usage error
     * (args_usage_error: one line, exit status 2). app: evserver_config.app. */
    void (*set)(const char *value, void *app);
};

/*
 * A hook: the work of one bufferevent callback for connection c, and its name for the log.
 * It returns 0 to keep the connection, 1 to close it, or -1 with errno set: evserver then
 * logs "NAME(fd=N); closing it: <strerror>" and closes it. Closing frees c's bufferevent (and
 * so the socket) and c itself; a hook never frees them.
 */
struct evserver_hook {
    int (*fn)(struct conn *c);
    const char *name;
};

/* The same for the event callback, which also says what happened (and is logged with it). */
struct evserver_event_hook {
    int (*fn)(struct conn *c, short what);
    const char *name;
};

/* What a server is made of, besides evserver. */
struct evserver_config {
    /* The server's back-pressure threshold: its input hook stops reading a client once this
     * many bytes of echo wait in the output. evserver never reads a client past it either:
     * it is the read high-watermark, and the largest and default -R. */
    size_t out_high;
    /* --help: the server's usage text, which prints evserver's options with
     * evserver_usage_options(). */
    void (*usage)(FILE *out);
    const struct evserver_option *option; /* one option of the server's own, or NULL */
    void *app; /* the server's own state, handed to opened and option->set */

    size_t conn_size; /* sizeof(struct conn) */
    /* A new client, its bufferevent set up and enabled; no callback has run yet. Keep bev in
     * c (it stays valid until the close). Returns 0, or -1 once it has logged why: evserver
     * then drops the client without calling closed. */
    int (*opened)(struct conn *c, struct bufferevent *bev, void *app);
    /* The read callback's work: bytes wait in the bufferevent's input. */
    struct evserver_hook input;
    /* The write callback's work: the output drained to its write low-watermark (0, unless
     * the server set another). */
    struct evserver_hook drained;
    /* The event callback's work: `what` holds BEV_EVENT_EOF or BEV_EVENT_ERROR, with
     * BEV_EVENT_READING or BEV_EVENT_WRITING. */
    struct evserver_event_hook event;
    /* c is about to be closed, for whatever reason (a hook's answer, or evserver_free); its
     * bufferevent is still there. May be NULL. */
    void (*closed)(struct conn *c);

    /* Optional (both NULL: calloc and free): where the memory of each connection comes from,
     * evserver's part and the struct conn in one block of evserver_conn_bytes(conn_size)
     * bytes, `size`. conn_alloc returns such a block, aligned for any type (evserver zeroes
     * it), or NULL when the server allows no more: the client is refused, its socket closed,
     * with a log line ("no connection context left (N in use): client refused"), and the
     * server goes on. conn_free takes back a block conn_alloc gave. app: config.app. */
    void *(*conn_alloc)(size_t size, void *app);
    void (*conn_free)(void *block, void *app);
};

/* The bytes of one connection's block for a struct conn of conn_size bytes (see conn_alloc). */
size_t evserver_conn_bytes(size_t conn_size);

/* Print the option lines of what evserver parses (-a, -p, --help, -R, --reuseport) for a server whose
 * config.out_high is out_high, for its usage text. */
void evserver_usage_options(FILE *out, size_t out_high);

/*
 * Read the command line (a usage error exits with status 2, --help with 0 after printing
 * config->usage), ignore SIGPIPE (a client that leaves must give EPIPE, not kill us), and set
 * up the event base, the listener and the SIGINT and SIGTERM events (config is copied).
 * Returns the server, or NULL once the failure is logged (everything undone).
 */
struct evserver *evserver_new(int argc, char **argv, const struct evserver_config *config);

/* The event base, for the server's own events; free them before evserver_free. */
struct event_base *evserver_base(struct evserver *srv);

/* Print "listening on port N" and run the loop until SIGINT or SIGTERM, or until the
 * listener fails for good (logged). Returns the exit status: 0 after a signal, 1 otherwise. */
int evserver_run(struct evserver *srv);

/* Close every connection still open (config.closed for each), free the events, the listener
 * (closing its socket) and the base, and libevent's global state last, so that valgrind
 * finds nothing at exit: no libevent call may follow. */
void evserver_free(struct evserver *srv);

#endif
