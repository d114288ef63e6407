/*
 * stack: where a failed test ended, in the student's files (see stack.h).
 *
 * The re-run is a job like any test's (jobs.h, sandboxed when the grader is root), in a fresh
 * directory next to the test's. The stacks at a deadline are taken by the test's supervisor,
 * with gdb attached to each process in turn, run as the test's own user. Its stack comes from gdb's own backtrace text, parsed line by
 * line: "#N  [0xADDR in ]FUNCTION (...) at PATH:LINE". Frame arguments are not printed
 * (`set print frame-arguments none`), so nothing a test passes can look like a frame.
 */
#include "stack.h"
#include "../lib/gt_env.h"
#include "jobs.h"
#include "sandbox.h"
#include "testenv.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_MAX_FRAMES 3     /* student frames shown per stack */
#define STACK_MAX_PROCS 8      /* processes whose stacks are taken at a deadline */
#define STACK_GDB_SECONDS 15.0 /* for one `gdb -p` */
#define STACK_GDB_SLACK 30.0   /* gdb's own start, on top of the test's limit */
#define STACK_MAX_LIMIT 300.0  /* the longest limit a test gets (as the driver caps it) */
#define STACK_PROC_HEADER "== process "
/* Re-runs per grading, at most: one for a hang lasts the test's whole limit again, and the
 * grading waits for it */
#define STACK_MAX_HANG_RERUNS 3
#define STACK_MAX_STOP_RERUNS 12

static const char *gdb_path(void);
static int rerun(const struct stack_test *st, const struct item *it, int under_gdb, char *text,
                 size_t cap);
static int descendants(pid_t root, pid_t *out, int max);
static size_t capture(char *const argv[], uid_t uid, char *out, size_t cap, double seconds);
static int parse_frame(const char *line, char *fn, size_t fncap, char *path, size_t pathcap,
                       long *lineno);
static void explain_stop(const struct stack_test *st, struct item *it, const char *text);
static void explain_deadline(const struct stack_test *st, struct item *it, const char *text,
                             int rerun);
static void limit_origin(const struct stack_test *st, const struct item *it, char *out,
                         size_t cap);
/* printf at the end of the string in array buf (cut to its size) */
#define APPEND(buf, ...) fmt((buf) + strlen(buf), sizeof(buf) - strlen(buf), __VA_ARGS__)

void stack_explain(const struct stack_test *st, struct item *it)
{
    if (it->status != FAIL || it->kind != FUNCTIONAL || it->ending == ENDED)
        return;
    if (!gdb_path()) {
        APPEND(it->reason,
            "\n(install gdb, with `make deps`, to see where in your code this happened)");
        return;
    }
    static char text[1 << 20];
    static int hang_reruns, stop_reruns;
    int timeout = it->ending == END_TIMEOUT;
    char taken[4500]; /* the stacks the supervisor took at the limit, if it ended the test */
    fmt(taken, sizeof taken, "%s/%s", st->dir, JOB_STACKS_FILE);
    if (timeout && read_file(taken, text, sizeof text, 0) > 0) {
        explain_deadline(st, it, text, 0);
        return;
    }
    if (++*(timeout ? &hang_reruns : &stop_reruns) >
        (timeout ? STACK_MAX_HANG_RERUNS : STACK_MAX_STOP_RERUNS)) {
        APPEND(it->reason, "\n(where: `make debug T=%s` runs it under gdb; a grading looks "
               "again at the first %d tests that %s only)", it->t->name,
               timeout ? STACK_MAX_HANG_RERUNS : STACK_MAX_STOP_RERUNS,
               timeout ? "reach their limit" : "crash or exit");
        return;
    }
    if (rerun(st, it, !timeout, text, sizeof text) != 0) {
        APPEND(it->reason, "\n(grader: the re-run to find where failed)");
        return;
    }
    if (timeout)
        explain_deadline(st, it, text, 1);
    else
        explain_stop(st, it, text);
}

static const char *gdb_path(void)
{
    static char path[4096];
    static int looked;
    if (!looked++ && !find_in_path("gdb", path, sizeof path))
        path[0] = 0;
    return path[0] ? path : NULL;
}

/* The test once more in <dir>-where, Check not forking: under gdb (its output into text), or
 * plainly with the stacks taken at its limit (the supervisor's JOB_STACKS_FILE into text). */
static int rerun(const struct stack_test *st, const struct item *it, int under_gdb, char *text,
                 size_t cap)
{
    char dir[4400], runner[4400], xml[4400], path[4500];
    fmt(dir, sizeof dir, "%s-where", st->dir);
    char *rm[] = {"rm", "-rf", dir, NULL};
    run_cmd(rm, NULL);
    char *mk[] = {"mkdir", "-p", dir, NULL};
    if (run_cmd(mk, NULL) != 0)
        return -1;
    struct testenv te;
    testenv_fill(&te, dir, st->tree, st->ipc_key, 0, 1, 0);
    fmt(runner, sizeof runner, "%s/out/student/runner", st->tree);
    fmt(xml, sizeof xml, "%s/check.xml", dir);
    char *name = (char *)it->t->name;
    /* stop at the fatal signals, and at the one the test ended on ("Received signal 13 ...") */
    char stop[200];
    const char *got = strstr(it->reason, "Received signal ");
    int sig = got ? atoi(got + strlen("Received signal ")) : 0;
    const char *abbrev = sig > 0 && sig < NSIG ? sigabbrev_np(sig) : NULL;
    fmt(stop, sizeof stop, "handle SIGSEGV SIGBUS SIGFPE SIGILL SIGABRT SIGSYS%s%s stop print",
        abbrev ? " SIG" : "", abbrev ? abbrev : "");
    char *gargv[] = {(char *)gdb_path(), "-nx", "-batch", "-q",
                     STACK_GDB_SAFE,
                     "-ex", "set disable-randomization off",
                     "-ex", "set print frame-arguments none",
                     "-ex", "set breakpoint pending on",
                     "-ex", "handle all nostop noprint pass",
                     "-ex", stop,
                     "-ex", "break exit", "-ex", "break _exit", "-ex", "break _Exit",
                     "-ex", "run", "-ex", "bt 64",
                     "--args", runner, "--run", name, "--xml", xml, NULL};
    char *pargv[] = {runner, "--run", name, "--xml", xml, NULL};
    double limit = it->t->timeout > 0 ? it->t->timeout : 30;
    if (limit > STACK_MAX_LIMIT)
        limit = STACK_MAX_LIMIT;
    if (under_gdb)
        limit += STACK_GDB_SLACK;
    else
        job_set_deadline_hook(stack_at_deadline);
    job_remove_ipc(st->ipc_key, st->ipc_key + GT_IPC_KEYS);
    pid_t pid = job_start(dir, under_gdb ? gargv : pargv, te.env, limit, 1, NULL);
    job_set_deadline_hook(NULL);
    int ok = pid > 0;
    while (ok && waitpid(pid, NULL, 0) < 0)
        ok = errno == EINTR;
    text[0] = 0;
    if (ok)
        read_file(fmt(path, sizeof path, "%s/%s", dir, under_gdb ? "output" : JOB_STACKS_FILE),
                  text, cap, 0);
    job_remove_ipc(st->ipc_key, st->ipc_key + GT_IPC_KEYS);
    if (!st->keep)
        run_cmd(rm, NULL);
    return ok ? 0 : -1;
}

/* In the supervisor, at the deadline: the stack of each of its descendants (the test's
 * processes), each after a header STACK_PROC_HEADER "PID (NAME) ==". */
size_t stack_at_deadline(uid_t uid, char *out, size_t cap)
{
    pid_t pids[STACK_MAX_PROCS];
    if (!gdb_path())
        return 0;
    int n = descendants(getpid(), pids, STACK_MAX_PROCS); /* before any gdb of ours starts */
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < n && used + 1 < cap; i++) {
        char pidtext[32], path[64], comm[64] = "";
        fmt(pidtext, sizeof pidtext, "%d", (int)pids[i]);
        read_file(fmt(path, sizeof path, "/proc/%d/comm", (int)pids[i]), comm, sizeof comm, 0);
        comm[strcspn(comm, "\n")] = 0;
        used += strlen(fmt(out + used, cap - used, STACK_PROC_HEADER "%s (%s) ==\n", pidtext,
                           comm));
        char *argv[] = {(char *)gdb_path(), "-nx", "-batch", "-q",
                        STACK_GDB_SAFE,
                        "-ex", "set print frame-arguments none",
                        "-p", pidtext, "-ex", "thread apply all bt 64", NULL};
        used += capture(argv, uid, out + used, cap - used, STACK_GDB_SECONDS);
    }
    return used;
}

/* Processes below root (children, their children, ...), at most max, parents first. */
static int descendants(pid_t root, pid_t *out, int max)
{
    enum { MAX_SCAN = 4096 };
    static pid_t pid[MAX_SCAN], ppid[MAX_SCAN];
    int all = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && all < MAX_SCAN && (e = readdir(d))) {
        struct proc_stat ps;
        if (proc_stat_read(e->d_name, &ps) == 0 && ps.state != 'Z') {
            pid[all] = (pid_t)atoi(e->d_name);
            ppid[all++] = (pid_t)ps.ppid;
        }
    }
    if (d)
        closedir(d);
    int n = 0;
    for (int head = -1; head < n && n < max; head++) {
        pid_t parent = head < 0 ? root : out[head];
        for (int i = 0; i < all && n < max; i++)
            if (ppid[i] == parent)
                out[n++] = pid[i];
    }
    return n;
}

/* Run argv as the test's user `uid` (sandbox.h, sb_become) with stdout and stderr into out
 * (NUL-terminated, cut at cap), for at most `seconds`. Returns the length. In the supervisor:
 * signals it blocks are unblocked for the command. */
static size_t capture(char *const argv[], uid_t uid, char *out, size_t cap, double seconds)
{
    int p[2];
    if (cap == 0 || pipe2(p, O_CLOEXEC) != 0)
        return 0;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return 0;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in < 0 || dup2(in, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0 ||
            sb_become(uid) != 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t used = 0;
    double end = now_s() + seconds;
    for (;;) {
        double left = end - now_s();
        struct pollfd pfd = {p[0], POLLIN, 0};
        if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
            break;
        char buf[4096];
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n <= 0)
            break;
        size_t take = (size_t)n < cap - 1 - used ? (size_t)n : cap - 1 - used;
        memcpy(out + used, buf, take);
        used += take;
    }
    out[used] = 0;
    close(p[0]);
    kill(-pid, SIGKILL); /* a gdb that did not end in time, and anything it started */
    waitpid(pid, NULL, 0);
    return used;
}

/* One "#N ..." line of a backtrace: its function and, when gdb knows it, its file and line
 * (path "" otherwise). Returns 0, or -1 if the line is not a frame. */
static int parse_frame(const char *line, char *fn, size_t fncap, char *path, size_t pathcap,
                       long *lineno)
{
    if (line[0] != '#' || !isdigit((unsigned char)line[1]))
        return -1;
    size_t len = strcspn(line, "\n");
    const char *p = line + 1 + strspn(line + 1, "0123456789");
    p += strspn(p, " ");
    if (strncmp(p, "0x", 2) == 0) {
        const char *in = strstr(p, " in ");
        if (!in || in - line > (long)len)
            return -1;
        p = in + 4;
    }
    size_t fnlen = strcspn(p, " \n");
    fmt(fn, fncap, "%.*s", (int)fnlen, p);
    path[0] = 0;
    *lineno = 0;
    const char *at = NULL;
    for (const char *q = line; (q = strstr(q, " at ")) && q - line < (long)len; q += 4)
        at = q + 4;
    if (!at)
        return 0;
    size_t atlen = len - (size_t)(at - line);
    const char *colon = memrchr(at, ':', atlen);
    if (!colon || !isdigit((unsigned char)colon[1]))
        return 0;
    fmt(path, pathcap, "%.*s", (int)(colon - at), at);
    *lineno = strtol(colon + 1, NULL, 10);
    return 0;
}

int stack_student_frames(const char *text, const char *student_dir, const char *student, int max,
                         const char *indent, char *out, size_t cap)
{
    int n = 0;
    size_t dlen = strlen(student_dir);
    for (const char *l = text; *l && n < max; l += strcspn(l, "\n"), l += *l == '\n') {
        char fn[256], path[4096];
        long lineno;
        if (parse_frame(l, fn, sizeof fn, path, sizeof path, &lineno) != 0 || !path[0])
            continue;
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (strncmp(path, student_dir, dlen) != 0 || path[dlen] != '/' ||
            !in_words(student, base))
            continue;
        size_t used = strlen(out);
        fmt(out + used, cap - used, "\n%s%s %s at %s:%ld", indent, n ? "called from" : "in", fn,
            base, lineno);
        n++;
    }
    return n;
}

/* After the gdb re-run of a signal or an exit. */
static void explain_stop(const struct stack_test *st, struct item *it, const char *text)
{
    char sdir[4400], frames[1024] = "", first[256] = "", path[4096];
    long lineno;
    fmt(sdir, sizeof sdir, "%s/student", st->tree);
    const char *bt = strstr(text, "\n#0 ");
    if (!bt || parse_frame(bt + 1, first, sizeof first, path, sizeof path, &lineno) != 0) {
        APPEND(it->reason,
            "\n(a re-run under gdb did not end the same way, so there is no stack to show: "
            "does it depend on timing or on uninitialised memory?)");
        return;
    }
    int n = stack_student_frames(bt + 1, sdir, st->student, STACK_MAX_FRAMES, "  ", frames,
                                 sizeof frames);
    int exited = strcasestr(first, "exit") != NULL;
    const char *how = exited ? "where exit() was called" : "where it happened";
    if (exited && strcasestr(first, "_exit") && !strstr(first, "GI_exit"))
        how = "where _exit() was called";
    if (n > 0)
        APPEND(it->reason, "\n%s (the innermost frames in your files, from a re-run under gdb):%s",
               how, frames);
    else
        APPEND(it->reason, "\n(a re-run under gdb stopped in %s, and no frame of the stack is "
               "in your files)", first);
}

/* After the re-run that took the stacks at the limit. */
static void explain_deadline(const struct stack_test *st, struct item *it, const char *text,
                             int rerun)
{
    char sdir[4400], origin[512];
    fmt(sdir, sizeof sdir, "%s/student", st->tree);
    int shown = 0;
    const char *h = text;
    while ((h = strstr(h, STACK_PROC_HEADER))) {
        const char *body = h + strlen(STACK_PROC_HEADER);
        const char *next = strstr(body, STACK_PROC_HEADER);
        size_t blen = next ? (size_t)(next - body) : strlen(body);
        static char block[1 << 16];
        fmt(block, sizeof block, "%.*s", (int)blen, body);
        char frames[1024] = "";
        size_t hlen = strcspn(block, "\n");
        if (stack_student_frames(block, sdir, st->student, STACK_MAX_FRAMES, "    ", frames,
                                 sizeof frames) > 0) {
            APPEND(it->reason, "%s%s%s\n  process %.*s:%s",
                   shown ? "" : "\nwhere your code was when the limit passed (",
                   shown ? "" : rerun ? "a re-run; " : "",
                   shown ? "" : "each process's innermost frames in your files):",
                   (int)(hlen > 3 ? hlen - 3 : hlen), block, frames);
            shown++;
        }
        h = body;
    }
    if (!shown)
        APPEND(it->reason, "\n(%s)",
               strstr(text, "ptrace: Operation not permitted")
                   ? "where the test's processes were could not be seen: this machine does not "
                     "let the grader attach a debugger to them (Yama's ptrace_scope)"
               : text[0]
                   ? "no process of the test was in your files when the limit passed: it waited "
                     "in the test's or the system's code"
                   : "a re-run of the test ended before its limit: does the hang depend on "
                     "timing?");
    limit_origin(st, it, origin, sizeof origin);
    APPEND(it->reason, "\n%s", origin);
}

/* Why the limit is what it is: the test's own, from the grader's sources. */
static void limit_origin(const struct stack_test *st, const struct item *it, char *out,
                         size_t cap)
{
    char tests[4400], file[300] = "", needle[160];
    fmt(tests, sizeof tests, "%s/grader/tests/chapter%d", st->tree, st->chapter);
    fmt(needle, sizeof needle, "GT_TEST(%s,", it->t->name);
    DIR *d = opendir(tests);
    struct dirent *e;
    while (d && !file[0] && (e = readdir(d))) {
        static char src[1 << 18];
        char path[4700];
        size_t len = strlen(e->d_name);
        if (len > 2 && strcmp(e->d_name + len - 2, ".c") == 0 &&
            read_file(fmt(path, sizeof path, "%s/%s", tests, e->d_name), src, sizeof src, 0) &&
            strstr(src, needle))
            fmt(file, sizeof file, "%s", e->d_name);
    }
    if (d)
        closedir(d);
    fmt(out, cap, "The limit, %g s, is this test's own (GT_TEST(%s, %g) in grader/tests/chapter%d/"
        "%s): many times what a correct solution needs even on a busy machine, so a test that "
        "reaches it waits for something that never comes, or loops.", it->t->timeout,
        it->t->name, it->t->timeout, st->chapter, file[0] ? file : "");
}
