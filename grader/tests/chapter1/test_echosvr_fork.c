/*
 * test_echosvr_fork.c: black-box tests of ex1.3, the student's echosvr_fork.
 *
 * The server runs as a program (gt_server_start) and is driven by the reference echoclient
 * or by sockets of the test's own: many at once, one kept idle while others are served (an
 * iterative server such as echosvr_v0 fails there), one reset in the middle of a message.
 * Its children are watched through /proc: they must be reaped (no zombies), must end when
 * their clients leave, and must hold no descriptor of the parent's (the listener, the signal
 * pipe). One test traces the server's fork with ptrace to send a SIGTERM at the one moment the
 * guide's signal mask is about, which no timing could hit reliably.
 */
#include "gt.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_KIDS 256

/* ---- helpers ------------------------------------------------------------------------- */

static void start_server(gt_proc *srv)
{
    gt_server_start(srv, gt_student("echosvr_fork"), NULL);
}

/* The server's stderr, for messages. */
static const char *server_err(const gt_proc *srv)
{
    static char tail[1024];
    gt_proc_err_tail(srv, tail, sizeof tail);
    return tail[0] ? tail : "(nothing)";
}

/* Send len pattern bytes on fd at once (they fit in the socket buffers). 0, or -1. */
static int send_pattern(int fd, size_t len, unsigned seed)
{
    unsigned char buf[8192];
    if (len > sizeof buf)
        return -1;
    gt_fill_pattern(buf, len, seed);
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/*
 * Wait until deadline for the echo of send_pattern(fd, len, seed). Returns the number of
 * right bytes that came back; *bad is the offset of a wrong byte (or -1), *closed 1 when the
 * connection ended first.
 */
static size_t recv_pattern(int fd, size_t len, unsigned seed, double deadline, long *bad,
                           int *closed)
{
    unsigned char want[8192], got[8192];
    size_t have = 0;
    *bad = -1;
    *closed = 0;
    if (len > sizeof want)
        return 0;
    gt_fill_pattern(want, len, seed);
    while (have < len) {
        double left = deadline - gt_now();
        if (left <= 0)
            break;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, (int)(left * 1000) + 1);
        if (pr <= 0)
            continue;
        ssize_t n = recv(fd, got + have, len - have, MSG_DONTWAIT);
        if (n == -1 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            *closed = 1;
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (got[have + (size_t)i] != want[have + (size_t)i]) {
                *bad = (long)(have + (size_t)i);
                return have + (size_t)i;
            }
        }
        have += (size_t)n;
    }
    return have;
}

/* Echo len bytes on fd, failing with the situation described by who (e.g. "client 3 of 50"). */
static void echo_or_fail(const gt_proc *srv, int fd, size_t len, unsigned seed, double timeout_s,
                         const char *who, const char *hint)
{
    long bad;
    int closed;
    double limit = timeout_s * gt_time_scale();

    if (send_pattern(fd, len, seed) == -1)
        gt_fail("%s: sending %zu bytes to echosvr_fork failed: %s; server stderr: %s", who, len,
                strerror(errno), server_err(srv));
    size_t got = recv_pattern(fd, len, seed, gt_now() + limit, &bad, &closed);
    if (bad >= 0)
        gt_fail("%s: byte %ld of the %zu-byte echo is wrong; server stderr: %s", who, bad, len,
                server_err(srv));
    if (closed)
        gt_fail("%s: echosvr_fork closed the connection after echoing %zu of %zu bytes; server "
                "stderr: %s",
                who, got, len, server_err(srv));
    if (got < len)
        gt_fail("%s: only %zu of %zu bytes came back within %.0f s%s; server stderr: %s", who, got,
                len, limit, hint, server_err(srv));
}

/* The children of parent: pids and states (R, S, Z, ...) from /proc. Returns their number. */
static int children_of(pid_t parent, pid_t *pids, char *states, int cap)
{
    DIR *d = opendir("/proc");
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
        char *rp = strrchr(buf, ')');
        char state;
        int ppid;
        if (rp == NULL || sscanf(rp + 1, " %c %d", &state, &ppid) != 2)
            continue;
        if (ppid == parent) {
            pids[n] = (pid_t)atoi(e->d_name);
            states[n] = state;
            n++;
        }
    }
    closedir(d);
    return n;
}

/* 1 if pid has ended (gone, or a zombie nobody reaped yet). */
static int pid_ended(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 1;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *rp = strrchr(buf, ')');
    char state;
    return rp == NULL || sscanf(rp + 1, " %c", &state) != 1 || state == 'Z' || state == 'X';
}

/* After the server stopped and its clients left: give its former children time to end, so
 * that (on the memcheck pass) valgrind finishes its report. Never fails. */
static void let_children_end(const pid_t *pids, int n)
{
    double deadline = gt_now() + 10.0 * gt_time_scale();
    for (int i = 0; i < n; i++)
        while (!pid_ended(pids[i]) && gt_now() < deadline)
            gt_sleep(0.01);
}

/* 1 if the socket with this inode is listening: a line of /proc/net/tcp or tcp6 ("sl local
 * remote st ... inode") with state 0A (TCP_LISTEN). */
static int socket_listens(unsigned long inode)
{
    static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        FILE *f = fopen(tables[t], "re");
        if (f == NULL)
            continue;
        char line[512];
        int listens = 0;
        while (!listens && fgets(line, sizeof line, f) != NULL) {
            unsigned st;
            unsigned long ino;
            if (sscanf(line, " %*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &st, &ino) == 2 &&
                ino == inode && st == 0x0A)
                listens = 1;
        }
        fclose(f);
        if (listens)
            return 1;
    }
    return 0;
}

/*
 * What pid holds besides stdin, stdout, stderr and one connected socket: a description of
 * the first such descriptor into what (empty when there is none). Returns how many sockets
 * it holds that are not listening (the connection).
 */
static int extra_fds(pid_t pid, char *what, size_t cap)
{
    char dir[64];
    int connected = 0;
    what[0] = '\0';
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]) || atoi(e->d_name) <= 2)
            continue;
        char path[340], target[256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        unsigned long ino;
        int is_socket = sscanf(target, "socket:[%lu]", &ino) == 1;
        if (is_socket && socket_listens(ino)) {
            snprintf(what, cap, "fd %s, the listening socket (%.200s)", e->d_name, target);
            break;
        }
        if (is_socket && connected == 0) {
            connected = 1;
            continue;
        }
        if (what[0] == '\0')
            snprintf(what, cap, "fd %s (%.200s)%s", e->d_name, target,
                     strncmp(target, "pipe:", 5) == 0 ? ", a pipe: the signal pipe?" : "");
    }
    closedir(d);
    return connected;
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* ---- ex1.3 --------------------------------------------------------------------------- */

GT_TEST(echosvr_fork_one_client_ref_echoclient, 40)
{
    gt_proc srv;
    gt_result r;
    char port[16];
    pid_t kids[MAX_KIDS];
    char states[MAX_KIDS];

    start_server(&srv);
    snprintf(port, sizeof port, "%d", srv.port);
    const char *args[] = {"-p", port, "-n", "500", "-s", "1000", NULL};
    gt_run(&r, 20, gt_ref("echoclient"), args);
    int nk = children_of(srv.pid, kids, states, MAX_KIDS);
    gt_server_stop(&srv);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
        gt_fail("the reference echoclient -n 500 -s 1000 against echosvr_fork: %s, expected "
                "exit status 0; echoclient's stderr: %s; server stderr: %s",
                gt_status_str(r.status, r.timed_out), r.err[0] ? r.err : "(nothing)",
                server_err(&srv));
    if (strncmp(r.out, "messages=500 size=1000 ", 23) != 0)
        gt_fail("the reference echoclient against echosvr_fork exited 0 but did not report "
                "500 messages of 1000 bytes; its stdout: %.200s",
                r.out);
    let_children_end(kids, nk);
}

GT_TEST(echosvr_fork_large_message, 30)
{
    gt_proc srv;

    start_server(&srv);
    int fd = gt_connect(srv.port);
    /* 2 MiB sent while the echo is read: the server must echo as data comes, whatever the
     * size of its buffer, and write back everything it read */
    gt_echo_roundtrip(fd, 2u << 20, 31, 20);
    close(fd);
    gt_server_stop(&srv);
}

GT_TEST(echosvr_fork_idle_client_does_not_block, 30)
{
    gt_proc srv;

    start_server(&srv);
    int idle = gt_connect(srv.port);
    echo_or_fail(&srv, idle, 100, 41, 10, "the first client", "");
    /* the first client now stays connected and silent */
    int busy = gt_connect(srv.port);
    echo_or_fail(&srv, busy, 100, 42, 10,
                 "a second client, while a first one stays connected and idle",
                 ": the server must serve each connection in its own process, not one client "
                 "after the other");
    echo_or_fail(&srv, idle, 100, 43, 10, "the first client, after the second was served", "");
    close(busy);
    close(idle);
    gt_server_stop(&srv);
}

GT_TEST(echosvr_fork_50_clients_at_once, 60)
{
    enum { CLIENTS = 50, LEN = 4000 };
    gt_proc srv;
    int fds[CLIENTS];
    char who[96];

    for (int i = 0; i < CLIENTS; i++)
        fds[i] = -1;
    start_server(&srv);
    /* all connected, all sending, before any echo is read */
    for (int i = 0; i < CLIENTS; i++)
        fds[i] = gt_connect(srv.port);
    for (int i = 0; i < CLIENTS; i++)
        if (send_pattern(fds[i], LEN, 100 + (unsigned)i) == -1)
            gt_fail("client %d of %d: sending %d bytes to echosvr_fork failed: %s; server "
                    "stderr: %s",
                    i + 1, CLIENTS, LEN, strerror(errno), server_err(&srv));
    double limit = 20.0 * gt_time_scale();
    double deadline = gt_now() + limit;
    for (int i = 0; i < CLIENTS; i++) {
        long bad;
        int closed;
        size_t got = recv_pattern(fds[i], LEN, 100 + (unsigned)i, deadline, &bad, &closed);
        snprintf(who, sizeof who, "client %d of %d (all connected at once)", i + 1, CLIENTS);
        if (bad >= 0)
            gt_fail("%s: byte %ld of the %d-byte echo is wrong; server stderr: %s", who, bad, LEN,
                    server_err(&srv));
        if (closed)
            gt_fail("%s: echosvr_fork closed the connection after echoing %zu of %d bytes; "
                    "server stderr: %s",
                    who, got, LEN, server_err(&srv));
        if (got < (size_t)LEN)
            gt_fail("%s: only %zu of %d bytes came back within %.0f s while the other clients "
                    "stayed connected: the server must serve every connection at once, each in "
                    "its own process; server stderr: %s",
                    who, got, LEN, limit, server_err(&srv));
    }
    close_all(fds, CLIENTS);
    gt_server_stop(&srv);
}

GT_TEST(echosvr_fork_no_zombies_after_clients_leave, 30)
{
    enum { CLIENTS = 5 };
    gt_proc srv;
    int fds[CLIENTS];
    pid_t kids[MAX_KIDS];
    char states[MAX_KIDS];
    char who[64];

    start_server(&srv);
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = gt_connect(srv.port);
        snprintf(who, sizeof who, "client %d of %d", i + 1, CLIENTS);
        echo_or_fail(&srv, fds[i], 500, 50 + (unsigned)i, 10, who, "");
    }
    int nk = children_of(srv.pid, kids, states, MAX_KIDS);
    if (nk == 0)
        gt_fail("echosvr_fork had no child process while %d clients were connected and served: "
                "it must fork one process per connection",
                CLIENTS);
    close_all(fds, CLIENTS);

    /* the children end with their clients; the server must reap each one (a short grace) */
    double limit = 5.0 * gt_time_scale();
    double deadline = gt_now() + limit;
    int zombies = 0, running = 0;
    for (;;) {
        nk = children_of(srv.pid, kids, states, MAX_KIDS);
        zombies = running = 0;
        for (int i = 0; i < nk; i++) {
            if (states[i] == 'Z' || states[i] == 'X')
                zombies++;
            else
                running++;
        }
        if (nk == 0 || gt_now() >= deadline)
            break;
        gt_sleep(0.02);
    }
    if (!gt_proc_alive(&srv)) {
        int st = gt_server_stop(&srv);
        gt_fail("echosvr_fork ended after its clients left (%s); its stderr: %s",
                gt_status_str(st, 0), server_err(&srv));
    }
    gt_server_stop(&srv);
    if (zombies > 0)
        gt_fail("%d of echosvr_fork's children were still zombies %.0f s after their clients "
                "closed: the server must reap every child that ends (waitpid, e.g. on SIGCHLD)",
                zombies, limit);
    if (running > 0)
        gt_fail("%d of echosvr_fork's children were still running %.0f s after their clients "
                "closed: a connection's process must exit when its client closes (end of file)",
                running, limit);
}

GT_TEST(echosvr_fork_client_reset_mid_message, 30)
{
    enum { ROUNDS = 3 };
    gt_proc srv;
    static unsigned char buf[256 * 1024];

    start_server(&srv);
    gt_fill_pattern(buf, sizeof buf, 61);
    for (int round = 0; round < ROUNDS; round++) {
        int fd = gt_connect(srv.port);
        /* as much as goes without blocking, and the echo never read: the server is busy
         * writing back when the connection is reset (SO_LINGER 0: close sends RST) */
        size_t off = 0;
        double until = gt_now() + 0.5 * gt_time_scale();
        while (off < sizeof buf && gt_now() < until) {
            ssize_t n = send(fd, buf + off, sizeof buf - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                off += (size_t)n;
                continue;
            }
            if (n == -1 && errno != EAGAIN && errno != EINTR)
                break;
            gt_sleep(0.005);
        }
        gt_sleep(0.05);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
    }
    gt_sleep(0.2 * gt_time_scale());
    if (!gt_proc_alive(&srv)) {
        int st = gt_server_stop(&srv);
        gt_fail("echosvr_fork ended after a client reset its connection in the middle of a "
                "message (%s): a vanished client must cost only its own process (ignore "
                "SIGPIPE); its stderr: %s",
                gt_status_str(st, 0), server_err(&srv));
    }
    int fd = gt_connect(srv.port);
    echo_or_fail(&srv, fd, 1000, 62, 10, "a new client after 3 clients reset their connections",
                 "");
    close(fd);
    gt_server_stop(&srv);
}

GT_TEST(echosvr_fork_sigterm_with_clients_exit_0, 30)
{
    enum { CLIENTS = 3 };
    gt_proc srv;
    int fds[CLIENTS];
    pid_t kids[MAX_KIDS];
    char states[MAX_KIDS];
    char who[64];

    start_server(&srv);
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = gt_connect(srv.port);
        snprintf(who, sizeof who, "client %d of %d", i + 1, CLIENTS);
        echo_or_fail(&srv, fds[i], 1000, 70 + (unsigned)i, 10, who, "");
    }
    int nk = children_of(srv.pid, kids, states, MAX_KIDS);
    /* SIGTERM while the 3 clients are still connected: exit 0, promptly */
    gt_server_stop_clean(&srv);
    close_all(fds, CLIENTS);
    let_children_end(kids, nk); /* valgrind's reports of the children complete */
}

GT_TEST(echosvr_fork_help_exit_0, 10)
{
    gt_test_help(gt_student("echosvr_fork"), "echosvr_fork");
}

GT_TEST(echosvr_fork_bad_arguments_exit_2, 20)
{
    static const char *const cases[][5] = {
        {NULL},                        /* no -p */
        {"-p", "70000", NULL},         /* not a port */
        {"-p", "0", "-a", "nowhere", NULL},
        {"-p", "0", "--bogus", NULL},
    };
    GT_TEST_USAGE_ERRORS(gt_student("echosvr_fork"), "echosvr_fork", cases,
                         "no server should start");
}

/*
 * Reaping must not wait: with one client still connected (its child runs), another client
 * leaves and its child ends. The server reaps it on SIGCHLD and must then go on accepting;
 * a reap that blocks in waitpid until the remaining child ends would leave a new client
 * unserved for as long as the first one stays.
 */
GT_TEST(echosvr_fork_serves_after_a_child_ends, 30)
{
    gt_proc srv;
    pid_t kids[MAX_KIDS];
    char states[MAX_KIDS];

    start_server(&srv);
    int stays = gt_connect(srv.port);
    echo_or_fail(&srv, stays, 100, 91, 10, "a first client (it then stays connected)", "");
    int leaves = gt_connect(srv.port);
    echo_or_fail(&srv, leaves, 100, 92, 10, "a second client", "");
    close(leaves);
    /* the second child is reaped: only the first one's is left */
    double deadline = gt_now() + 10.0 * gt_time_scale();
    while (children_of(srv.pid, kids, states, MAX_KIDS) > 1 && gt_now() < deadline)
        gt_sleep(0.01);
    int late = gt_connect(srv.port);
    echo_or_fail(&srv, late, 100, 93, 10,
                 "a third client, after the second left while the first stayed connected",
                 ": reaping must not wait for the children that still run (WNOHANG)");
    close(late);
    close(stays);
    gt_server_stop(&srv);
}

GT_TEST(echosvr_fork_child_holds_only_its_connection, 30)
{
    gt_proc srv;
    pid_t kids[MAX_KIDS];
    char states[MAX_KIDS];
    char what[512];

    start_server(&srv);
    int fd = gt_connect(srv.port);
    /* once the echo is back, the child is past its set-up: what it holds now, it keeps */
    echo_or_fail(&srv, fd, 100, 81, 10, "a client", "");
    int nk = children_of(srv.pid, kids, states, MAX_KIDS);
    int connected = nk == 1 ? extra_fds(kids[0], what, sizeof what) : 0;
    close(fd);
    gt_server_stop(&srv);
    if (nk != 1)
        gt_fail("echosvr_fork had %d child processes while one client was connected and served, "
                "expected 1",
                nk);
    if (what[0] != '\0')
        gt_fail("the child serving a client still holds %s: a child must let go of what it "
                "inherited and does not need (the listener, the signal pipe, sigwatch_close); "
                "a child holding the listener keeps the port taken after the server stops",
                what);
    if (connected == 0)
        gt_fail("the child serving a client holds no connected socket in /proc/%d/fd",
                (int)kids[0]);
}

/* Wait until deadline for a state change of pid (a tracee or a child). 0, or -1. */
static int wait_traced(pid_t pid, int *status, double deadline)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG | __WALL);
        if (r == pid)
            return 0;
        if ((r == -1 && errno != EINTR) || gt_now() >= deadline)
            return -1;
        gt_sleep(0.002);
    }
}

/* The SigBlk line of pid's /proc status, for messages. */
static const char *sigblk_of(pid_t pid)
{
    static char line[64];
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    snprintf(line, sizeof line, "(unknown)");
    if (gt_read_file(path, buf, sizeof buf, 0, 0) <= 0)
        return line;
    const char *p = strstr(buf, "SigBlk:");
    if (p != NULL)
        sscanf(p, "SigBlk: %40s", line);
    return line;
}

/*
 * The race of the guide's hint: between fork and sigwatch_close the child still has the
 * parent's handlers, so a SIGTERM landing there only writes to the parent's pipe and the
 * child lives on. The server is traced (PTRACE_O_TRACEFORK): its new child stops before it
 * runs anything, receives SIGTERM there, and is let go. With SIGINT, SIGTERM and SIGCHLD
 * blocked across fork the signal waits until the default action is back and ends the child;
 * without, the child serves its client.
 */
GT_TEST(echosvr_fork_sigterm_right_after_fork_ends_child, 30)
{
    gt_proc srv;
    int st;
    pid_t kid = 0;

    start_server(&srv);
    if (ptrace(PTRACE_SEIZE, srv.pid, NULL, (void *)(long)PTRACE_O_TRACEFORK) == -1)
        gt_fail("ptrace(PTRACE_SEIZE) of echosvr_fork failed: %s (the grader needs it here)",
                strerror(errno));
    int fd = gt_connect(srv.port);
    double deadline = gt_now() + 10.0 * gt_time_scale();
    while (kid == 0) {
        if (wait_traced(srv.pid, &st, deadline) == -1)
            gt_fail("echosvr_fork did not fork within %.0f s of a client's connection; its "
                    "stderr: %s",
                    10.0 * gt_time_scale(), server_err(&srv));
        if (!WIFSTOPPED(st)) {
            srv.pid = 0; /* reaped here */
            gt_fail("echosvr_fork ended (%s) when a client connected; its stderr: %s",
                    gt_status_str(st, 0), server_err(&srv));
        }
        if (st >> 16 == PTRACE_EVENT_FORK) {
            unsigned long msg;
            if (ptrace(PTRACE_GETEVENTMSG, srv.pid, NULL, &msg) == -1)
                gt_fail("ptrace(PTRACE_GETEVENTMSG): %s", strerror(errno));
            kid = (pid_t)msg;
            break;
        }
        /* another stop on the way (a signal): pass the signal on */
        int sig = st >> 16 == 0 ? WSTOPSIG(st) : 0;
        ptrace(PTRACE_CONT, srv.pid, NULL, (void *)(long)sig);
    }
    /* The child's first stop comes before it returns from fork. */
    if (wait_traced(kid, &st, deadline) == -1)
        gt_fail("the child of echosvr_fork (pid %d) did not stop after fork", (int)kid);
    char mask[64];
    snprintf(mask, sizeof mask, "%s", sigblk_of(kid));
    kill(kid, SIGTERM);
    ptrace(PTRACE_DETACH, kid, NULL, NULL);
    ptrace(PTRACE_DETACH, srv.pid, NULL, NULL);

    long bad;
    int closed = 0;
    size_t got = 0;
    if (send_pattern(fd, 100, 82) == 0)
        got = recv_pattern(fd, 100, 82, gt_now() + 10.0 * gt_time_scale(), &bad, &closed);
    else
        closed = 1;
    close(fd);
    if (!closed) {
        gt_server_stop(&srv);
        gt_fail("a SIGTERM sent to echosvr_fork's child right after fork (before it reset its "
                "signal handlers; its blocked signals then: SigBlk %s) did not end it: it %s. "
                "Block SIGINT, SIGTERM and SIGCHLD around fork and unblock them in the child "
                "only after sigwatch_close, so that such a signal waits for its default action",
                mask, got == 100 ? "went on to echo its client" : "kept its client connected");
    }
    /* the server itself goes on: a new client is served */
    fd = gt_connect(srv.port);
    echo_or_fail(&srv, fd, 100, 83, 10, "a new client after a child was ended by SIGTERM", "");
    close(fd);
    gt_server_stop(&srv);
}
