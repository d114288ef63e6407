/*
 * echosvr_fork: an echo server with one process per connection (ex1.3).
 *
 * The parent only accepts. For each connection it forks a child that echoes on it until the
 * client closes and then exits, so clients no longer wait for each other as they do with
 * echosvr_v0; the price is a whole process per client. The parent reaps every child that
 * ends (no zombies), and on SIGINT or SIGTERM it stops accepting, ends its children, waits
 * for them and exits 0.
 */
#include "args.h"
#include "log.h"
#include "net.h"
#include "rio.h"
#include "sigwatch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define BACKLOG 128
#define ECHO_BUF 65536       /* a child's read size, as in echosvr_v0 so they compare fairly */
#define ACCEPT_PAUSE_MS 100  /* how long the listener rests when accept runs out of fds */

/* The pids of the children still running, so that a shutdown can end them. */
struct children {
    pid_t *pids;
    size_t len;
    size_t cap;
};

static void usage(FILE *out);
static int serve_forever(struct net_listener *l, struct children *kids);
static int hand_off(int lfd, struct children *kids, int cfd);
static pid_t conn_fork(int lfd, struct children *kids);
static void child_main(int cfd) __attribute__((noreturn));
static int echo_until_eof(int fd);
static int children_reap(struct children *kids, int wait_all);
static void children_stop(struct children *kids);
static int children_reserve(struct children *kids);
static void children_add(struct children *kids, pid_t pid);
static inline void children_forget(struct children *kids, pid_t pid);
static void children_free(struct children *kids);

int main(int argc, char **argv)
{
    struct args_listen opt;
    struct net_listener l = {.fd = -1};
    struct children kids = {0};
    int port = 0;
    int status = 1;

    log_init(argv[0]);
    args_parse_listen(argc, argv, usage, &opt);

    /* Signals become bytes on a pipe that the parent polls next to the listener: SIGCHLD
     * says "reap", SIGINT/SIGTERM say "stop". SIGPIPE is ignored from here on. */
    if (sigwatch_init() == -1)
        return 1; /* it said why */
    /* A process inherits the children of whoever exec'd it (a shell running
     * "sleep 9 & exec echosvr_fork ..." leaves one). Collect any that have already ended,
     * which also proves reaping works before the first client depends on it. */
    if (children_reap(&kids, 0) == -1) {
        log_sys("children_reap");
        goto out;
    }
    if (net_listener_open(&l, opt.addr, opt.port, BACKLOG, &port) == -1)
        goto out;

    net_announce_listening(port);
    status = serve_forever(&l, &kids);

out:
    /* Stop accepting first, so no new child appears while we end the ones we have. */
    if (net_listener_close(&l) == -1)
        status = 1;
    children_stop(&kids);
    children_free(&kids);
    sigwatch_close();
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-a ADDR] -p PORT\n"
            "\n"
            "An echo server with one process per connection: each client gets a child\n"
            "process that sends back every byte the client sends until the client closes.\n"
            "Prints \"listening on port N\" once it accepts connections; SIGINT or SIGTERM\n"
            "ends the children and the server, with exit status 0.\n"
            "\n" ARGS_LISTEN_HELP,
            log_progname());
}

/* The parent's loop: accept, hand off, reap, until a stop signal. Returns the exit status. */
static int serve_forever(struct net_listener *l, struct children *kids)
{
    for (;;) {
        int cfd = net_accept_wait(l, sigwatch_fd(), ACCEPT_PAUSE_MS, 0);
        if (cfd == NET_ACCEPT_FATAL)
            return 1; /* net_accept_wait said why */
        if (cfd == NET_ACCEPT_WOKEN) {
            if ((sigwatch_take() & SIGWATCH_CHILD) != 0 && children_reap(kids, 0) == -1) {
                log_sys("children_reap");
                return 1;
            }
            if (sigwatch_stop_requested())
                return 0;
            continue;
        }
        if (hand_off(l->fd, kids, cfd) == -1)
            return 1;
    }
}

/*
 * Give the connection cfd to a new child process. In the parent, returns 0 once the child
 * runs (or when this one connection had to be dropped), -1 when the server can not go on.
 * In the child it does not return.
 */
static int hand_off(int lfd, struct children *kids, int cfd)
{
    /* An echo goes back in as many writes as it took reads. With Nagle's algorithm on, a
     * second small write waits for the ACK of the first, and the client delays that ACK by
     * up to 40 ms: every message longer than ECHO_BUF would pay it. A failure here only
     * costs speed, so the client is served anyway (net_set_nodelay logged it). */
    (void)net_set_nodelay(cfd);

    /* Room for the pid first: once the child exists, the parent must be able to record it,
     * or a shutdown would not know to end it. */
    if (children_reserve(kids) == -1) {
        log_sys("malloc(room for %zu children); dropping client fd=%d", kids->len + 1, cfd);
        close(cfd);
        return 0;
    }
    pid_t pid = conn_fork(lfd, kids);
    if (pid == 0)
        child_main(cfd);
    if (pid == -1) {
        int err = errno;
        log_sys("conn_fork(client fd=%d)", cfd);
        close(cfd);
        /* fork fails for lack of memory or processes, which may pass: drop this client and go
         * on. Any other error means conn_fork itself is broken, and every client would fail. */
        return (err == EAGAIN || err == ENOMEM) ? 0 : -1;
    }
    children_add(kids, pid);
    /* The child has its own copy of the connection. Keeping ours open would leak one
     * descriptor per client, and the client would never see EOF when its child exits. */
    if (close(cfd) == -1)
        log_sys("close(client fd=%d)", cfd);
    return 0;
}

/*
 * fork() for a connection, with the child made ready to serve it. Returns the child's pid in
 * the parent, 0 in the child, -1 with errno set if no child was made.
 * The child keeps only what it needs: not the listener, not the signal pipe, not the pid
 * table; SIGINT and SIGTERM have their default effect (end the process) and SIGPIPE stays
 * ignored.
 */
static pid_t conn_fork(int lfd, struct children *kids)
{
    //@solution
    sigset_t watched, old;

    /* Between fork and sigwatch_close the child still runs the parent's handlers: a SIGTERM
     * there would only write a byte to the parent's pipe and the child would live on,
     * deaf to the shutdown. Keep the signals pending across the fork; the child lets them
     * in once their default action is back. */
    sigemptyset(&watched);
    sigaddset(&watched, SIGINT);
    sigaddset(&watched, SIGTERM);
    sigaddset(&watched, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &watched, &old) == -1)
        return -1;

    pid_t pid = fork();
    if (pid == 0) {
        sigwatch_close();         /* default handlers back, the pipe closed */
        signal(SIGPIPE, SIG_IGN); /* a client that leaves gives EPIPE, not death */
        close(lfd);
        children_free(kids); /* the child's copy of the table is of no use to it */
        sigprocmask(SIG_SETMASK, &old, NULL);
        return 0;
    }
    int err = errno;
    sigprocmask(SIG_SETMASK, &old, NULL); /* the parent's pending signals reach sigwatch now */
    errno = err;
    return pid;
    //@stub fork; in the child drop the listener, sigwatch and the pid table (signals blocked meanwhile)
    //@ (void)lfd;
    //@ (void)kids;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/* The child's whole life: echo on the connection, then exit. */
static void child_main(int cfd)
{
    int status = 0;

    if (echo_until_eof(cfd) == -1) {
        log_sys("echo_until_eof(client fd=%d)", cfd);
        status = 1;
    }
    close(cfd);
    /* _exit, not exit: the stdio buffers and atexit handlers are copies of the parent's,
     * not ours to flush or run. */
    _exit(status);
}

/*
 * Echo on fd until the client is done. Returns 0 when the client closed (end of file) or
 * left abruptly (ECONNRESET, EPIPE); -1 with errno set on any other error.
 */
static int echo_until_eof(int fd)
{
    //@solution
    /* On the stack: every child has its own, and it goes away with the process. 64 KiB is
     * far below the 8 MiB a process's stack may grow to. */
    unsigned char buf[ECHO_BUF];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return errno == ECONNRESET ? 0 : -1;
        }
        /* Whatever one read returned goes back whole before the next read: the echo keeps
         * the client's byte order, and a short write can not drop the tail. */
        if (rio_write_all(fd, buf, (size_t)n) == -1)
            return (errno == EPIPE || errno == ECONNRESET) ? 0 : -1;
    }
    //@stub read from fd and write every byte back (rio_write_all) until end of file
    //@ (void)fd;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/*
 * Collect the children that have ended and forget their pids: without wait_all, those that
 * have ended by now; with wait_all, also wait (as long as it takes) until every child in the
 * table has ended. Having no children at all is not an error. Returns 0, or -1 with errno set.
 */
static int children_reap(struct children *kids, int wait_all)
{
    //@solution
    for (;;) {
        int st;

        /* Not "until waitpid finds no child": a child inherited across exec is none of our
         * business and may run for hours. */
        if (wait_all && kids->len == 0)
            return 0;
        /* -1: any child. SIGCHLD signals do not queue, so one may stand for several
         * children: loop until waitpid says nobody else is ready. */
        pid_t pid = waitpid(-1, &st, wait_all ? 0 : WNOHANG);
        if (pid == 0)
            return 0; /* children remain, but none has ended */
        if (pid == -1) {
            if (errno == EINTR)
                continue;
            if (errno == ECHILD)
                return 0; /* no children left at all */
            return -1;
        }
        children_forget(kids, pid);
        if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
            log_msg("child %d exited with status %d", (int)pid, WEXITSTATUS(st));
        else if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM && WTERMSIG(st) != SIGINT)
            log_msg("child %d killed by signal %d (%s)", (int)pid, WTERMSIG(st),
                    strsignal(WTERMSIG(st)));
    }
    //@stub reap ended children (waitpid in a loop, WNOHANG unless wait_all); forget each pid
    //@ (void)kids;
    //@ (void)wait_all;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/* Ask every child still running to end, and wait until all of them have. */
static void children_stop(struct children *kids)
{
    if (kids->len == 0)
        return;
    for (size_t i = 0; i < kids->len; i++) {
        /* A child that ended but is not reaped yet is still there to be signalled. */
        if (kill(kids->pids[i], SIGTERM) == -1)
            log_sys("kill(%d, SIGTERM)", (int)kids->pids[i]);
    }
    if (children_reap(kids, 1) == -1)
        log_sys("children_reap");
}

/* Make room in the table for one more pid. Returns 0, or -1 (errno ENOMEM). */
static int children_reserve(struct children *kids)
{
    if (kids->len < kids->cap)
        return 0;
    size_t cap = kids->cap > 0 ? kids->cap * 2 : 16;
    pid_t *pids = realloc(kids->pids, cap * sizeof *pids);
    if (pids == NULL)
        return -1;
    kids->pids = pids;
    kids->cap = cap;
    return 0;
}

static void children_add(struct children *kids, pid_t pid)
{
    kids->pids[kids->len++] = pid; /* children_reserve made the room */
}

/* Inline because the starter leaves its only caller as a gap, and an unused static inline
 * function is not a warning (an unused static one is, and -Werror would stop the build). */
static inline void children_forget(struct children *kids, pid_t pid)
{
    /* Order does not matter: move the last entry into the hole. A pid we never recorded (a
     * child inherited across exec) is simply not found. */
    for (size_t i = 0; i < kids->len; i++) {
        if (kids->pids[i] == pid) {
            kids->pids[i] = kids->pids[--kids->len];
            return;
        }
    }
}

static void children_free(struct children *kids)
{
    free(kids->pids);
    kids->pids = NULL;
    kids->len = 0;
    kids->cap = 0;
}
