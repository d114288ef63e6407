/*
 * sigwatch: signals turned into bytes on a pipe (the "self-pipe trick").
 *
 * A signal handler may do almost nothing safely, so ours only writes one byte into a
 * non-blocking pipe. The program's own loop waits on sigwatch_fd() next to its sockets
 * (with poll, or as a libevent event) and asks sigwatch_take() what arrived. No signal
 * is lost between checking a flag and going to sleep, which a flag alone can not promise.
 *
 * Watched: SIGINT and SIGTERM (a request to stop) and SIGCHLD (a child ended).
 * SIGPIPE is ignored, so writing to a closed peer returns EPIPE instead of killing us.
 * Handlers are installed with SA_RESTART, so slow system calls are not interrupted.
 */
#ifndef SVRLAB_SIGWATCH_H
#define SVRLAB_SIGWATCH_H

enum {
    SIGWATCH_STOP = 1,  /* SIGINT or SIGTERM arrived */
    SIGWATCH_CHILD = 2, /* SIGCHLD arrived: reap with waitpid(..., WNOHANG) */
};

/* Install the handlers and create the pipe. Returns the pipe's read end (readable once a
 * watched signal arrived), or -1. Call once, before starting any thread or child. A
 * second call while watching returns the same descriptor; after sigwatch_close() it
 * starts afresh, with the stop request cleared. */
int sigwatch_init(void);

/* The pipe's read end, or -1 before sigwatch_init(). */
int sigwatch_fd(void);

/* Drain the pipe and return the SIGWATCH_* bits of the signals that arrived since the last
 * call (0 if none). Never blocks. */
unsigned sigwatch_take(void);

/* Nonzero once SIGINT or SIGTERM has arrived (whether or not sigwatch_take saw it). */
int sigwatch_stop_requested(void);

/* Restore the dispositions that sigwatch_init() replaced (the defaults, in a program that
 * follows the rule above; SIGPIPE included) and close the pipe. sigwatch_fd() is -1 again.
 * Does nothing when not watching. */
void sigwatch_close(void);

#endif
