/*
 * gt.c: the grader's test library (everything gt.h declares except gt_register and
 * gt_reached_end, which live in runner.c).
 *
 * It runs inside the test runner, which itself runs under valgrind on the memcheck pass:
 * a leak here would be blamed on the student. So it takes no heap memory at all: paths live
 * in small static rings, data is streamed through stack buffers, and nothing is held across
 * a call that may fail the test (ck_abort longjmps out of the test when Check does not fork).
 *
 * Every program it starts is a child of the test process: stdin /dev/null, stdout a pipe,
 * stderr a file in the test directory. Those files are remembered, so that any failure
 * (gt_fail) can say "not implemented: " first when one of them shows a starter's stub
 * ("Function not implemented", the text of ENOSYS); the driver classifies failures by it.
 */
#include "gt.h"
#include "gt_env.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGV 64     /* valgrind's options, the program and its arguments */
#define MAX_STARTED 256 /* programs whose stderr a failure message may look at */
#define MAX_SERVERS 64  /* servers started and not yet stopped (killed at exit) */
#define MSG_CAP 4000    /* a failure message; Check formats into BUFSIZ (8 KiB) */
#define CMD_CAP 512     /* the command line quoted in a message */
#define RUN_OUT_CAP (sizeof(((gt_result *)0)->out))

static const char not_implemented[] = "not implemented";

/* ---- small helpers ------------------------------------------------------------------- */

double gt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void gt_sleep(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* Milliseconds left until deadline, at least 0 and at most cap_ms. */
static int ms_left(double deadline, int cap_ms)
{
    double left = (deadline - gt_now()) * 1000.0;
    if (left <= 0)
        return 0;
    if (left > cap_ms)
        return cap_ms;
    return (int)left + 1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Make text safe to quote in a message that ends up in Check's XML log: control bytes other
 * than newline and tab, and bytes outside ASCII (maybe invalid UTF-8), become '?'. */
static void sanitize(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f)
            s[i] = '?';
    }
}

/* Append printf-style text to buf (of capacity cap, holding a string), truncating. */
__attribute__((format(printf, 3, 4))) static void append(char *buf, size_t cap, const char *fmt,
                                                         ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

/* ---- the test's context -------------------------------------------------------------- */

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        gt_fail("the environment variable %s is not set: run the tests through grader/grade", name);
    return v;
}

/* dir + "/" + prog in one of a few static buffers, so that several results live at once. */
static const char *join_path(const char *dir, const char *prog)
{
    static char ring[8][PATH_MAX];
    static unsigned next;
    char *buf = ring[next++ % 8];
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    int n = snprintf(buf, PATH_MAX, "%.*s/%s", (int)dlen, dir, prog);
    if (n < 0 || n >= PATH_MAX)
        gt_fail("path too long: %s/%s", dir, prog);
    return buf;
}

const char *gt_student(const char *prog)
{
    return join_path(env_or_fail(GT_ENV_STUDENT_BIN), prog);
}

const char *gt_ref(const char *prog)
{
    return join_path(env_or_fail(GT_ENV_REF_BIN), prog);
}

const char *gt_tmpdir(void)
{
    return env_or_fail(GT_ENV_TEST_DIR);
}

key_t gt_ipc_key(int n)
{
    if (n < 0 || n >= GT_IPC_KEYS)
        gt_fail("gt_ipc_key(%d): only keys 0 to %d are reserved for a test", n, GT_IPC_KEYS - 1);
    const char *s = env_or_fail(GT_ENV_IPC_KEY);
    char *end;
    errno = 0;
    long base = strtol(s, &end, 0);
    if (errno != 0 || *end != '\0' || base <= 0 || base > INT_MAX - GT_IPC_KEYS)
        gt_fail("%s='%s' is not a valid IPC key", GT_ENV_IPC_KEY, s);
    return (key_t)(base + n);
}

int gt_memcheck(void)
{
    const char *v = getenv(GT_ENV_MEMCHECK);
    return v != NULL && strcmp(v, "1") == 0;
}

double gt_time_scale(void)
{
    const char *v = getenv(GT_ENV_TIME_SCALE);
    if (v == NULL || v[0] == '\0')
        return 1.0;
    char *end;
    double f = strtod(v, &end);
    if (*end != '\0' || !(f >= 1.0) || f > 1000.0)
        return 1.0;
    return f;
}

/* 1 if path names a program of the student's (those run under valgrind on memcheck). */
static int is_student_prog(const char *path)
{
    const char *dir = getenv(GT_ENV_STUDENT_BIN);
    if (dir == NULL || dir[0] == '\0')
        return 0;
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    return strncmp(path, dir, dlen) == 0 && path[dlen] == '/';
}

/* ---- stderr files and the "not implemented" classification --------------------------- */

/* The stderr files of the programs this process started: gt-<i>-<name>.stderr. */
static char started_name[MAX_STARTED][64];
static int n_started;

static void err_file_path(char *buf, size_t cap, int i, const char *name)
{
    int n = snprintf(buf, cap, "%s/gt-%d-%.40s.stderr", gt_tmpdir(), i, name);
    if (n < 0 || (size_t)n >= cap)
        buf[0] = '\0';
}

ssize_t gt_read_file(const char *path, char *buf, size_t cap, int tail, int printable)
{
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    struct stat st;
    if (tail && fstat(fd, &st) == 0 && st.st_size > (off_t)(cap - 1))
        lseek(fd, st.st_size - (off_t)(cap - 1), SEEK_SET);
    size_t got = 0;
    while (got < cap - 1) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    if (printable)
        sanitize(buf, got);
    return (ssize_t)got;
}

/* Read at most cap - 1 bytes from the end of the file into buf, NUL-terminated and
 * sanitized. When cut, it starts after a newline if there is one early enough. */
static void read_tail(const char *path, char *buf, size_t cap)
{
    struct stat st;
    int cut = stat(path, &st) == 0 && st.st_size > (off_t)cap - 1;
    ssize_t got = gt_read_file(path, buf, cap, 1, 1);
    if (got <= 0)
        return;
    if (cut) {
        char *nl = memchr(buf, '\n', (size_t)got / 2);
        if (nl != NULL)
            memmove(buf, nl + 1, (size_t)got - (size_t)(nl + 1 - buf) + 1);
    }
    size_t len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        buf[--len] = '\0';
}

/* Find "not implemented" (any case) in the file; copy the line holding it into line. */
static int file_says_not_implemented(const char *path, char *line, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return 0;
    /* Scan in overlapping windows so that a phrase across two reads is still seen. */
    char buf[8192 + 1];
    const size_t keep = 512;
    size_t have = 0;
    int found = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        for (size_t i = 0; i < have; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        char *hit = strcasestr(buf, not_implemented);
        if (hit != NULL) {
            char *start = hit;
            while (start > buf && start[-1] != '\n')
                start--;
            char *end = strchr(hit, '\n');
            size_t len = end != NULL ? (size_t)(end - start) : strlen(start);
            if (len >= cap)
                len = cap - 1;
            memcpy(line, start, len);
            line[len] = '\0';
            sanitize(line, len);
            found = 1;
            break;
        }
        if (have > keep) {
            memmove(buf, buf + have - keep, keep);
            have = keep;
        }
    }
    close(fd);
    return found;
}

/* The name and the line of the first started program whose stderr says "not implemented". */
static int started_not_implemented(char *who, size_t who_cap, char *line, size_t line_cap)
{
    char path[PATH_MAX];
    for (int i = 0; i < n_started; i++) {
        err_file_path(path, sizeof path, i, started_name[i]);
        if (file_says_not_implemented(path, line, line_cap)) {
            who[0] = '\0';
            append(who, who_cap, "%s", started_name[i]);
            return 1;
        }
    }
    return 0;
}

static void describe_ended_servers(char *msg, size_t cap);

void gt_fail(const char *fmt, ...)
{
    char msg[MSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    describe_ended_servers(msg, sizeof msg);

    char who[64], line[256];
    if (strncmp(msg, "not implemented: ", 17) != 0 && n_started > 0 &&
        started_not_implemented(who, sizeof who, line, sizeof line)) {
        char full[MSG_CAP];
        /* the reason first (the driver looks at the start), then what went wrong, then the
         * program's own words unless the message quotes them already */
        full[0] = '\0';
        if (strstr(msg, line) != NULL)
            append(full, sizeof full, "not implemented: %s", msg);
        else
            append(full, sizeof full, "not implemented: %s [%s said: %s]", msg, who, line);
        ck_abort_msg("%s", full);
    }
    ck_abort_msg("%s", msg);
}

void gt_fail_if_not_implemented(const char *what)
{
    int saved = errno;
    if (saved == ENOSYS)
        ck_abort_msg("not implemented: %s failed with errno ENOSYS (%s)", what,
                     strerror(ENOSYS));
    errno = saved;
}

const char *gt_ni_prefix(const char *text)
{
    return text != NULL && strcasestr(text, not_implemented) != NULL ? "not implemented: " : "";
}

/* ---- processes ----------------------------------------------------------------------- */

/* Servers started and not stopped: killed when the test process exits (a failed test), and
 * named in a failure message if they ended by surprise. */
static pid_t live_servers[MAX_SERVERS];
static int live_err[MAX_SERVERS]; /* index of the stderr file in started_name */
static pid_t live_owner;

static void kill_live_servers(void)
{
    if (getpid() != live_owner)
        return; /* a fork of the test process (a test's helper) exiting: not ours */
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (live_servers[i] > 0) {
            kill(live_servers[i], SIGKILL);
            while (waitpid(live_servers[i], NULL, 0) == -1 && errno == EINTR)
                ;
            live_servers[i] = 0;
        }
    }
}

static void track_server(pid_t pid, int err_idx)
{
    if (live_owner != getpid()) {
        if (live_owner == 0)
            atexit(kill_live_servers);
        live_owner = getpid();
        memset(live_servers, 0, sizeof live_servers);
    }
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (live_servers[i] == 0) {
            live_servers[i] = pid;
            live_err[i] = err_idx;
            return;
        }
    }
}

/* Append to msg what became of each server started and not stopped that has ended: a
 * failed connect or echo is then explained by "echosvr_fork ended: killed by signal 11". */
static void describe_ended_servers(char *msg, size_t cap)
{
    if (live_owner != getpid())
        return;
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (live_servers[i] <= 0)
            continue;
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)live_servers[i], &info, WEXITED | WNOHANG | WNOWAIT) == -1 ||
            info.si_pid == 0)
            continue;
        int status =
            info.si_code == CLD_EXITED ? (info.si_status & 0xff) << 8 : (info.si_status & 0x7f);
        char path[PATH_MAX], tail[400];
        int idx = live_err[i];
        err_file_path(path, sizeof path, idx, started_name[idx]);
        read_tail(path, tail, sizeof tail);
        append(msg, cap, " [%s (pid %d) had ended: %s; its stderr: %s]", started_name[idx],
               (int)live_servers[i], gt_status_str(status, 0), tail[0] ? tail : "(empty)");
    }
}

static void untrack_server(pid_t pid)
{
    for (int i = 0; i < MAX_SERVERS; i++)
        if (live_servers[i] == pid)
            live_servers[i] = 0;
}

/* The quoted command: "name arg1 arg2" (bounded), plus a note under valgrind. */
static void describe_cmd(char *buf, size_t cap, const char *path, const char *const *extra1,
                         const char *const *args, int valgrind)
{
    buf[0] = '\0';
    append(buf, cap, "%s", base_name(path));
    for (const char *const *a = extra1; a != NULL && *a != NULL; a++)
        append(buf, cap, " %s", *a);
    for (const char *const *a = args; a != NULL && *a != NULL; a++)
        append(buf, cap, " %s", *a);
    if (valgrind)
        append(buf, cap, " (under valgrind)");
    if (strlen(buf) + 1 >= cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

/*
 * Start path with argv[1..] = extra1 then args (both NULL-terminated, may be NULL), under
 * valgrind on the memcheck pass if it is the student's. stdout goes to out_wr (-1: with its
 * stderr), stderr to a
 * new file in the test directory (its path in err_path). Returns the pid; fails the test if
 * it can not fork.
 */
static pid_t spawn(const char *path, const char *const *extra1, const char *const *args, int out_wr,
                   char *err_path, size_t err_cap, int *valgrind)
{
    const char *argv[MAX_ARGV];
    int n = 0;
    char xml_opt[PATH_MAX + 32], supp_opt[PATH_MAX + 32];

    *valgrind = gt_memcheck() && is_student_prog(path);
    if (*valgrind) {
        argv[n++] = "valgrind";
        argv[n++] = "--quiet";
        argv[n++] = "--xml=yes";
        snprintf(xml_opt, sizeof xml_opt, "--xml-file=%s/%s%%p.xml", gt_tmpdir(), GT_VG_PREFIX);
        argv[n++] = xml_opt;
        argv[n++] = "--leak-check=full";
        argv[n++] = "--show-leak-kinds=definite,indirect";
        argv[n++] = "--errors-for-leak-kinds=definite,indirect";
        argv[n++] = "--child-silent-after-fork=no";
        argv[n++] = "--trace-children=no";
        const char *supp = getenv(GT_ENV_VALGRIND_SUPP);
        if (supp != NULL && supp[0] != '\0') {
            snprintf(supp_opt, sizeof supp_opt, "--suppressions=%s", supp);
            argv[n++] = supp_opt;
        }
    }
    argv[n++] = path;
    for (const char *const *a = extra1; a != NULL && *a != NULL; a++) {
        if (n >= MAX_ARGV - 1)
            gt_fail("too many arguments for %s", path);
        argv[n++] = *a;
    }
    for (const char *const *a = args; a != NULL && *a != NULL; a++) {
        if (n >= MAX_ARGV - 1)
            gt_fail("too many arguments for %s", path);
        argv[n++] = *a;
    }
    argv[n] = NULL;

    const char *name = base_name(path);
    int idx = n_started < MAX_STARTED ? n_started : MAX_STARTED - 1;
    snprintf(started_name[idx], sizeof started_name[idx], "%.40s", name);
    err_file_path(err_path, err_cap, idx, started_name[idx]);
    if (n_started < MAX_STARTED)
        n_started++;

    int err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err_fd == -1)
        gt_fail("open(%s) for the stderr of %s: %s", err_path, name, strerror(errno));
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd == -1) {
        int e = errno;
        close(err_fd);
        gt_fail("open(/dev/null): %s", strerror(e));
    }
    pid_t parent = getpid();

    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid == -1) {
        int e = errno;
        close(err_fd);
        close(null_fd);
        gt_fail("fork() to start %s: %s", name, strerror(e));
    }
    if (pid == 0) {
        /* The child: descriptors 0, 1, 2 only; default signal dispositions and an empty mask
         * (an ignored SIGPIPE or a blocked signal of the test would otherwise be inherited);
         * killed if the test process dies, so nothing outlives a crashed test. */
        if (dup2(null_fd, 0) == -1 || dup2(out_wr >= 0 ? out_wr : err_fd, 1) == -1 ||
            dup2(err_fd, 2) == -1)
            _exit(127);
        long closed = -1;
#ifdef SYS_close_range
        closed = syscall(SYS_close_range, 3U, ~0U, 0U);
#endif
        if (closed == -1) {
            struct rlimit rl;
            rlim_t max = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
            if (max > 65536)
                max = 65536;
            for (int fd = 3; fd < (int)max; fd++)
                close(fd);
        }
        gt_child_reset(parent);
        gt_exec(argv);
        dprintf(2, "grader: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(err_fd);
    close(null_fd);
    return pid;
}

/* Wait for pid until deadline. Returns 1 with *status when it exited, 0 on timeout. */
static int wait_until(pid_t pid, int *status, double deadline)
{
    double nap = 0.001;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r == -1 && errno != EINTR)
            return -1; /* not our child (any more) */
        double left = deadline - gt_now();
        if (left <= 0)
            return 0;
        gt_sleep(nap < left ? nap : left);
        if (nap < 0.05)
            nap *= 2;
    }
}

static void kill_and_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
}

/* Parse a complete stdout line: the port of "listening on port N", else -1. */
static int parse_listening(const char *line)
{
    static const char prefix[] = "listening on port ";
    if (strncmp(line, prefix, sizeof prefix - 1) != 0)
        return -1;
    char *end;
    errno = 0;
    long port = strtol(line + sizeof prefix - 1, &end, 10);
    while (*end == ' ' || *end == '\r')
        end++;
    if (errno != 0 || end == line + sizeof prefix - 1 || *end != '\0' || port < 1 || port > 65535)
        return -1;
    return (int)port;
}

pid_t gt_spawn(const char *path, const char *const *args, int out_fd, char *err_path,
               size_t err_cap)
{
    int valgrind;
    return spawn(path, NULL, args, out_fd, err_path, err_cap, &valgrind);
}

void gt_server_start(gt_proc *p, const char *path, const char *const *args)
{
    static const char *const port0[] = {"-p", "0", NULL};
    int pfd[2];
    int valgrind;
    char cmd[CMD_CAP];

    memset(p, 0, sizeof *p);
    p->out_fd = -1;
    snprintf(p->name, sizeof p->name, "%s", base_name(path));
    if (pipe2(pfd, O_CLOEXEC) == -1)
        gt_fail("pipe() for the stdout of %s: %s", p->name, strerror(errno));
    /* room for whatever a server prints later, so it never blocks on its stdout */
    fcntl(pfd[0], F_SETPIPE_SZ, 1 << 20);

    pid_t pid = spawn(path, port0, args, pfd[1], p->err_path, sizeof p->err_path, &valgrind);
    close(pfd[1]);
    p->pid = pid;
    track_server(pid, n_started - 1);
    describe_cmd(cmd, sizeof cmd, path, port0, args, valgrind);

    double limit = 10.0 * gt_time_scale();
    double deadline = gt_now() + limit;
    char line[256];
    size_t ll = 0;
    int eof = 0, status = 0, exited = 0, port = -1;

    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    while (port == -1) {
        if (!eof) {
            struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
            poll(&pf, 1, ms_left(deadline, 50));
            for (;;) {
                char c;
                ssize_t n = read(pfd[0], &c, 1);
                if (n == 1) {
                    if (c == '\n') {
                        line[ll] = '\0';
                        port = parse_listening(line);
                        ll = 0;
                        if (port != -1)
                            break;
                    } else if (ll < sizeof line - 1) {
                        line[ll++] = c;
                    }
                    continue;
                }
                if (n == 0 || (errno != EINTR && errno != EAGAIN))
                    eof = 1;
                if (n == 0 || errno != EINTR)
                    break;
            }
            if (port != -1)
                break;
        }
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            exited = 1;
            break;
        }
        if (eof) {
            /* stdout closed but still running: it will never say it; see how it ends */
            exited = wait_until(pid, &status, deadline) == 1;
            break;
        }
        if (gt_now() >= deadline)
            break;
    }
    if (port != -1) {
        fcntl(pfd[0], F_SETFL, 0);
        p->port = port;
        p->out_fd = pfd[0];
        return;
    }

    close(pfd[0]);
    if (!exited)
        kill_and_reap(pid);
    untrack_server(pid);
    p->pid = 0;
    char tail[GT_ERR_TAIL];
    read_tail(p->err_path, tail, sizeof tail);
    if (exited)
        gt_fail("%s%s ended before printing \"listening on port N\": %s; its stderr: %s",
                gt_ni_prefix(tail), cmd, gt_status_str(status, 0), tail[0] ? tail : "(empty)");
    gt_fail("%s%s did not print \"listening on port N\" within %.0f s%s (killed); its stderr: "
            "%s",
            gt_ni_prefix(tail), cmd, limit, eof ? " and closed its stdout" : "",
            tail[0] ? tail : "(empty)");
}

int gt_server_stop(gt_proc *p)
{
    if (p->pid <= 0)
        return 0;
    pid_t pid = p->pid;
    int status = 0;
    double limit = 10.0 * gt_time_scale();

    kill(pid, SIGTERM);
    int r = wait_until(pid, &status, gt_now() + limit);
    if (r != 1 && r != -1)
        kill_and_reap(pid);
    untrack_server(pid);
    p->pid = 0;
    if (p->out_fd >= 0) {
        close(p->out_fd);
        p->out_fd = -1;
    }
    if (r == 0) {
        char tail[GT_ERR_TAIL];
        read_tail(p->err_path, tail, sizeof tail);
        gt_fail("%s%s did not exit within %.0f s of SIGTERM (killed with SIGKILL); its stderr: %s",
                gt_ni_prefix(tail), p->name, limit, tail[0] ? tail : "(empty)");
    }
    return status;
}

void gt_server_stop_clean(gt_proc *p)
{
    char name[sizeof p->name];
    memcpy(name, p->name, sizeof name);
    int status = gt_server_stop(p);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    char tail[GT_ERR_TAIL];
    read_tail(p->err_path, tail, sizeof tail);
    gt_fail("%s%s did not exit with status 0 on SIGTERM (%s); its stderr: %s", gt_ni_prefix(tail),
            name, gt_status_str(status, 0), tail[0] ? tail : "(empty)");
}

int gt_proc_alive(const gt_proc *p)
{
    if (p->pid <= 0)
        return 0;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    /* WNOWAIT: look without reaping, so gt_server_stop still gets the status */
    if (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT) == -1)
        return 0;
    return info.si_pid == 0;
}

void gt_proc_err_tail(const gt_proc *p, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    read_tail(p->err_path, buf, cap);
}

void gt_run(gt_result *r, double timeout_s, const char *path, const char *const *args)
{
    int pfd[2];
    int valgrind;
    char err_path[PATH_MAX];

    r->status = 0;
    r->timed_out = 0;
    r->out_len = 0;
    r->out[0] = '\0';
    r->err[0] = '\0';
    if (pipe2(pfd, O_CLOEXEC) == -1)
        gt_fail("pipe() for the stdout of %s: %s", base_name(path), strerror(errno));
    pid_t pid = spawn(path, NULL, args, pfd[1], err_path, sizeof err_path, &valgrind);
    close(pfd[1]);
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);

    double deadline = gt_now() + timeout_s * gt_time_scale();
    int out_fd = pfd[0];
    char discard[4096];
    double nap = 0.001;
    for (;;) {
        /* Drain stdout (keeping the first bytes), so the program never blocks on it. */
        while (out_fd >= 0) {
            size_t room = RUN_OUT_CAP - 1 - r->out_len;
            char *dst = room > 0 ? r->out + r->out_len : discard;
            ssize_t n = read(out_fd, dst, room > 0 ? room : sizeof discard);
            if (n > 0) {
                if (room > 0)
                    r->out_len += (size_t)n;
                continue;
            }
            if (n == -1 && errno == EINTR)
                continue;
            if (n == 0 || errno != EAGAIN) {
                close(out_fd);
                out_fd = -1;
            }
            break;
        }
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            r->status = status;
            break;
        }
        if (gt_now() >= deadline) {
            kill_and_reap(pid);
            r->timed_out = 1;
            break;
        }
        if (out_fd >= 0) {
            struct pollfd pf = {.fd = out_fd, .events = POLLIN};
            poll(&pf, 1, ms_left(deadline, 20));
        } else {
            /* stdout closed, still running: nap, a little longer each time */
            double left = deadline - gt_now();
            gt_sleep(nap < left ? nap : left);
            if (nap < 0.02)
                nap *= 2;
        }
    }
    /* what it wrote just before exiting (a grandchild keeping the pipe open is not waited) */
    while (out_fd >= 0) {
        size_t room = RUN_OUT_CAP - 1 - r->out_len;
        ssize_t n = read(out_fd, room > 0 ? r->out + r->out_len : discard,
                         room > 0 ? room : sizeof discard);
        if (n > 0) {
            if (room > 0)
                r->out_len += (size_t)n;
            continue;
        }
        if (n == -1 && errno == EINTR)
            continue;
        close(out_fd);
        out_fd = -1;
    }
    r->out[r->out_len] = '\0';
    read_tail(err_path, r->err, sizeof r->err);
}

const char *gt_status_str(int status, int timed_out)
{
    static char buf[128];
    if (timed_out)
        snprintf(buf, sizeof buf, "timed out");
    else if (WIFEXITED(status))
        snprintf(buf, sizeof buf, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, sizeof buf, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
    else if (WIFSTOPPED(status))
        snprintf(buf, sizeof buf, "stopped by signal %d (%s)", WSTOPSIG(status),
                 strsignal(WSTOPSIG(status)));
    else
        snprintf(buf, sizeof buf, "ended with wait status 0x%x", (unsigned)status);
    return buf;
}

/* ---- sockets ------------------------------------------------------------------------- */

int gt_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        gt_fail("socket(AF_INET, SOCK_STREAM): %s", strerror(errno));
    gt_connect_fd(fd, port, NULL);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* The pattern byte at each position pos..pos+len-1: a hash of the seed and of the 4-byte
 * word the position falls in, one byte of it per position. */
static void fill_pattern_at(unsigned char *buf, size_t len, unsigned seed, uint64_t pos)
{
    uint32_t x = 0;
    for (size_t i = 0; i < len; i++, pos++) {
        if (i == 0 || (pos & 3) == 0) {
            x = (uint32_t)(pos >> 2) * 0x9E3779B1u ^ (seed * 0x85EBCA77u + 0x27D4EB2Fu);
            x ^= (uint32_t)(pos >> 34) * 0xC2B2AE3Du;
            x ^= x >> 15;
            x *= 0x2C1B3C6Du;
            x ^= x >> 12;
            x *= 0x297A2D39u;
            x ^= x >> 15;
        }
        buf[i] = (unsigned char)(x >> (8 * (pos & 3)));
    }
}

void gt_fill_pattern(unsigned char *buf, size_t len, unsigned seed)
{
    fill_pattern_at(buf, len, seed, 0);
}

void gt_echo_roundtrip(int fd, size_t len, unsigned seed, double timeout_s)
{
    enum { CHUNK = 16384 };
    unsigned char out[CHUNK], in[CHUNK], want[CHUNK];
    size_t sent = 0, recvd = 0;
    size_t out_start = 0, out_len = 0; /* out holds pattern bytes [out_start, +out_len) */
    double limit = timeout_s * gt_time_scale();
    double deadline = gt_now() + limit;

    while (recvd < len) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (sent < len)
            pf.events |= POLLOUT;
        int ms = ms_left(deadline, 1000);
        if (ms == 0)
            gt_fail("echo of %zu bytes: only %zu came back within %.0f s (%zu sent)", len, recvd,
                    limit, sent);
        int pr = poll(&pf, 1, ms);
        if (pr == -1 && errno != EINTR)
            gt_fail("poll() on the echo connection: %s", strerror(errno));
        if (pr <= 0)
            continue;
        if (sent < len && (pf.revents & (POLLOUT | POLLERR | POLLHUP))) {
            if (sent >= out_start + out_len) {
                out_start = sent;
                out_len = len - sent < CHUNK ? len - sent : CHUNK;
                fill_pattern_at(out, out_len, seed, out_start);
            }
            ssize_t n = send(fd, out + (sent - out_start), out_start + out_len - sent,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n == -1 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS)
                gt_fail("echo of %zu bytes: send() failed after %zu bytes sent and %zu echoed: %s",
                        len, sent, recvd, strerror(errno));
        }
        if (pf.revents & (POLLIN | POLLERR | POLLHUP)) {
            size_t want_n = len - recvd < CHUNK ? len - recvd : CHUNK;
            ssize_t n = recv(fd, in, want_n, MSG_DONTWAIT);
            if (n == 0)
                gt_fail("echo of %zu bytes: the connection was closed after %zu bytes came back "
                        "(%zu sent)",
                        len, recvd, sent);
            if (n == -1) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                gt_fail("echo of %zu bytes: recv() failed after %zu bytes came back (%zu sent): "
                        "%s",
                        len, recvd, sent, strerror(errno));
            }
            fill_pattern_at(want, (size_t)n, seed, recvd);
            if (memcmp(in, want, (size_t)n) != 0) {
                size_t i = 0;
                while (in[i] == want[i])
                    i++;
                gt_fail("echo of %zu bytes: byte at offset %zu differs: sent 0x%02x, got 0x%02x "
                        "(%zu bytes sent so far)",
                        len, recvd + i, want[i], in[i], sent);
            }
            recvd += (size_t)n;
        }
    }
}

/* ---- small helpers shared by the tests ------------------------------------------------ */

void gt_exec(const char *const argv[])
{
    execvp(argv[0], (char *const *)argv);
    if (errno != EACCES)
        return;
    const char *via_sh[MAX_ARGV + 4] = {"sh", "-c", "exec \"$0\" \"$@\""};
    for (int i = 0; i < MAX_ARGV && argv[i]; i++)
        via_sh[i + 3] = argv[i];
    execv("/bin/sh", (char *const *)via_sh);
    errno = EACCES;
}

void gt_child_reset(pid_t parent)
{
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
}

int gt_count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        n++;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return n;
}

int gt_parse_long(const char *s, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

int gt_parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && isfinite(*v) ? 0 : -1;
}

void gt_describe(char *buf, size_t cap, const char *prog, const char *const *args)
{
    snprintf(buf, cap, "%s", prog);
    for (const char *const *a = args; a != NULL && *a != NULL; a++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, " %s", *a);
    }
}

const char *gt_head(const char *text)
{
    static char ring[2][401];
    static unsigned next;
    char *buf = ring[next++ % 2];
    size_t n = strlen(text);
    if (n > 400)
        n = 400;
    memcpy(buf, text, n);
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return n > 0 ? buf : "(nothing)";
}

const char *gt_out_head(const gt_result *r)
{
    static char buf[301];
    size_t n = r->out_len < 300 ? r->out_len : 300;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)r->out[i];
        buf[i] = (c < 0x20 && c != '\n') || c >= 0x7f ? '?' : (char)c;
    }
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return n > 0 ? buf : "(nothing)";
}

const char *gt_err_or_empty(const gt_result *r)
{
    return r->err[0] ? r->err : "(nothing)";
}

void gt_expect_exit(const gt_result *r, const char *cmd, int want)
{
    if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != want)
        gt_fail("%s%s: %s, expected exit status %d; stdout: %s; stderr: %s", gt_ni_prefix(r->err),
                cmd, gt_status_str(r->status, r->timed_out), want, gt_head(r->out),
                gt_head(r->err));
}

int gt_send_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void gt_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) == -1)
        gt_fail("pipe(): %s", strerror(errno));
}

pid_t gt_fork_helper(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1)
        gt_fail("fork() of a test helper: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(99);
    }
    return pid;
}

int gt_listen_loopback(int backlog, int *port, const char *what)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        gt_fail("socket() for %s: %s", what, strerror(errno));
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 || listen(fd, backlog) == -1 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) == -1) {
        int e = errno;
        close(fd);
        gt_fail("setting up %s on 127.0.0.1: %s", what, strerror(e));
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

void gt_connect_fd(int fd, int port, const char *label)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
        int e = errno;
        close(fd);
        gt_fail("connect(%s%s127.0.0.1:%d): %s", label ? label : "", label ? ", " : "", port,
                strerror(e));
    }
}

int gt_count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int gt_shm_map_perms(pid_t pid, key_t key, char *perms)
{
    char path[64], name[32], line[1024];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    snprintf(name, sizeof name, "SYSV%08x", (unsigned)key); /* the segment's "file" name */
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int found = 0;
    perms[0] = '\0';
    while (fgets(line, sizeof line, f) != NULL) {
        char p[8];
        if (strstr(line, name) == NULL || sscanf(line, "%*s %7s", p) != 1)
            continue;
        if (!found || p[1] == 'w')
            snprintf(perms, 8, "%s", p);
        found = 1;
    }
    fclose(f);
    return found;
}

void gt_expect_usage_error(const gt_result *r, const char *cmd, const char *nothing_should)
{
    if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 2)
        gt_fail("%s: %s, expected exit status 2 (bad arguments); stdout: %s; stderr: %s", cmd,
                gt_status_str(r->status, r->timed_out), gt_head(r->out), gt_head(r->err));
    if (gt_count_lines(r->err) != 1)
        gt_fail("%s exited 2 but wrote %d lines on stderr, expected one line saying what is "
                "wrong; stderr: %s",
                cmd, gt_count_lines(r->err), gt_head(r->err));
    if (r->out_len != 0)
        gt_fail("%s exited 2 but printed on stdout (%s): %s", cmd, nothing_should, gt_head(r->out));
}

void gt_expect_help(const gt_result *r, const char *cmd)
{
    gt_expect_exit(r, cmd, 0);
    if (strstr(r->out, "usage") == NULL)
        gt_fail("%s exited 0 but its stdout does not contain 'usage'; stdout: %s", cmd,
                gt_head(r->out));
}

void gt_test_help(const char *path, const char *prog)
{
    static const char *const args[] = {"--help", NULL};
    char cmd[128];
    gt_result r;
    gt_describe(cmd, sizeof cmd, prog, args);
    gt_run(&r, 10, path, args);
    gt_expect_help(&r, cmd); /* gt_test_exit's 0, and the usage on stdout */
}

void gt_test_exit(const char *path, const char *prog, const char *const *args, double timeout_s,
                  int want)
{
    char cmd[256];
    gt_result r;
    gt_describe(cmd, sizeof cmd, prog, args);
    gt_run(&r, timeout_s, path, args);
    gt_expect_exit(&r, cmd, want);
}

void gt_test_usage_errors(const char *path, const char *prog, const char *const *cases, size_t n,
                          size_t width, const char *nothing_should)
{
    for (size_t i = 0; i < n; i++) {
        const char *const *args = cases + i * width;
        char cmd[256];
        gt_result r;
        gt_describe(cmd, sizeof cmd, prog, args);
        gt_run(&r, 10, path, args);
        gt_expect_usage_error(&r, cmd, nothing_should);
    }
}
