/*
 * gt: the library every grader test links with.
 *
 * A test is a Check test defined with GT_TEST; its name is its id in the chapter's points
 * file (grader/chapters/chapterN.points). The runner (runner.c) runs one test per process
 * invocation, in Check's fork mode (or without fork under valgrind), and writes Check's XML
 * log; the driver (grader/driver) reads that log. A test counts as passed only if its body
 * ran to the end: GT_TEST records that in the test's directory, so code under test that
 * calls exit(0) or _exit(0) can not pass for a test that completed.
 *
 * The driver hands each test its context in the environment (see gt_env.h for the names):
 * a scratch directory, the directories of the student's and of the reference programs, a
 * range of System V IPC keys of its own, and whether this is the memcheck pass.
 *
 * Black-box helpers start the student's programs, wait for their readiness line, run the
 * reference counterparts, and stop them. Each fails the test itself, with a message a student
 * can act on (what was run, what came back, the tail of the program's stderr), so a test
 * reads as a list of steps. On the memcheck pass the student's programs run under valgrind
 * and the driver reads valgrind's XML reports from the test's directory.
 */
#ifndef SVRLAB_GT_H
#define SVRLAB_GT_H

#include <check.h>
#include <stddef.h>
#include <sys/types.h>

#include "gt_env.h"

/* ---- defining tests ---------------------------------------------------------------- */

struct gt_test {
    const char *name;     /* id in the points file */
    double timeout;       /* seconds, before the time scale (see gt_time_scale) */
    const TTest *check;   /* the Check test function */
    struct gt_test *next; /* registry list */
};

void gt_register(struct gt_test *t);
void gt_reached_end(const char *name);

/* End the test as skipped, not passed: for a test this machine can not run (a descriptor limit
 * too low, say). The reason should say what would make it run. A skipped test scores nothing;
 * the grader reports it as SKIP with the reason. */
void gt_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* GT_TEST(name, timeout_seconds) { body } defines and registers a test. */
#define GT_TEST(name, timeout_s)                                                                   \
    static void name##_body(void);                                                                 \
    START_TEST(name)                                                                                \
    {                                                                                              \
        name##_body();                                                                             \
        gt_reached_end(#name);                                                                     \
    }                                                                                              \
    END_TEST                                                                                       \
    static struct gt_test name##_gt = {#name, (timeout_s), NULL, NULL};                           \
    __attribute__((constructor)) static void name##_gt_register(void)                              \
    {                                                                                              \
        name##_gt.check = name;                                                                    \
        gt_register(&name##_gt);                                                                   \
    }                                                                                              \
    static void name##_body(void)

/* ---- the test's context -------------------------------------------------------------- */

/* Path of the student's program `prog` (e.g. "echosvr_fork"), and of the reference one. */
const char *gt_student(const char *prog);
const char *gt_ref(const char *prog);

/* This test's scratch directory (also $TMPDIR); the driver removes it afterwards. */
const char *gt_tmpdir(void);

/* The n-th System V IPC key (0 <= n < GT_IPC_KEYS) reserved for this test. The driver removes
 * every object with a key of this range after the test. */
key_t gt_ipc_key(int n);

/* 1 on the memcheck pass (student programs run under valgrind), else 0. */
int gt_memcheck(void);

/* Factor to apply to every wait inside a test (greater than 1 under valgrind). */
double gt_time_scale(void);

/* ---- processes ----------------------------------------------------------------------- */

#define GT_ERR_TAIL 2048 /* bytes of a program's stderr quoted in a failure message */

typedef struct {
    pid_t pid;           /* 0 once stopped */
    int port;            /* from its "listening on port N" line */
    int out_fd;          /* read end of its stdout after the readiness line */
    char name[64];       /* basename, for messages */
    char err_path[4096]; /* its stderr is written to this file in the test directory */
} gt_proc;

/* Start the server program at `path` with "-p 0" followed by the NULL-terminated extra
 * arguments `args` (may be NULL), and wait (10 s, scaled) for its "listening on port N" line.
 * Fails the test if the program exits or does not say it is listening in time; the message
 * quotes its exit status and the tail of its stderr. */
void gt_server_start(gt_proc *p, const char *path, const char *const *args);

/* Start the program at `path` (not a server: nothing is awaited) with the NULL-terminated
 * arguments `args` (argv[1..], may be NULL), under valgrind on the memcheck pass if it is the
 * student's, as gt_server_start does. Its stdin is /dev/null, its stdout goes to out_fd (-1:
 * into its stderr file), its stderr to a new file in the test directory whose path is written
 * to err_path; a starter's "not implemented" there is seen by gt_fail. Returns the pid: the
 * caller stops and reaps it. Fails the test if it can not start. */
pid_t gt_spawn(const char *path, const char *const *args, int out_fd, char *err_path,
               size_t err_cap);

/* Send SIGTERM and wait (10 s, scaled) for the exit. Returns the wait status. Fails the test
 * if it does not exit in time (it is then killed with SIGKILL). */
int gt_server_stop(gt_proc *p);

/* gt_server_stop, then fail the test unless the program exited with status 0. */
void gt_server_stop_clean(gt_proc *p);

/* 1 if the process is still running (not exited, not a zombie). */
int gt_proc_alive(const gt_proc *p);

/* Copy the last `cap - 1` bytes at most of the program's stderr into buf, NUL-terminated. */
void gt_proc_err_tail(const gt_proc *p, char *buf, size_t cap);

/* Result of a program run to its end. */
typedef struct {
    int status;         /* wait status; meaningful when !timed_out */
    int timed_out;      /* 1 if it was killed after the timeout */
    size_t out_len;
    char out[65536];    /* first bytes of its stdout, NUL-terminated */
    char err[GT_ERR_TAIL]; /* last bytes of its stderr, NUL-terminated */
} gt_result;

/* Run `path` with the NULL-terminated arguments `args` (argv[1..], may be NULL) and wait for
 * it to exit, at most timeout_s seconds (scaled); then it is killed and r->timed_out is set.
 * Its stdin is /dev/null. Fails the test only if it can not be started. */
void gt_run(gt_result *r, double timeout_s, const char *path, const char *const *args);

/* A one-line description of a wait status: "exited with status 1", "killed by signal 11
 * (Segmentation fault)", "timed out". Points into a static buffer. */
const char *gt_status_str(int status, int timed_out);

/* ---- sockets ------------------------------------------------------------------------- */

/* A blocking TCP connection to 127.0.0.1:port, or the test fails. */
int gt_connect(int port);

/* Fill buf with a pattern that depends on seed and on each byte's position, so that a lost,
 * repeated or reordered byte is seen. */
void gt_fill_pattern(unsigned char *buf, size_t len, unsigned seed);

/* Send len pattern bytes on fd and read them back, failing the test (with the offset of the
 * first wrong byte, or the count read before EOF) unless the very same bytes return.
 * timeout_s bounds the whole exchange (scaled). */
void gt_echo_roundtrip(int fd, size_t len, unsigned seed, double timeout_s);

/* ---- small helpers shared by the tests ------------------------------------------------ */

/* Seconds on the monotonic clock (for deadlines; only differences mean anything). */
double gt_now(void);

/* Sleep s seconds (nothing if s <= 0), going on after a signal handler ran. Not scaled. */
void gt_sleep(double s);

/* Read at most cap - 1 bytes of the file at path (its last ones when tail, else its first)
 * into buf, NUL-terminated; with printable, every byte but printable ASCII, newline and tab
 * becomes '?'. Returns the count, or -1 (buf "") if the file can not be opened. */
ssize_t gt_read_file(const char *path, char *buf, size_t cap, int tail, int printable);

/* Number of lines in text; a last line without '\n' counts, "" has none. */
int gt_count_lines(const char *text);

/* 0 if the whole of s is a decimal long (*v) / a finite double (*v), else -1. */
int gt_parse_long(const char *s, long *v);
int gt_parse_double(const char *s, double *v);

/* Write "prog arg1 arg2 ..." (args NULL-terminated, may be NULL) into buf, cut to cap: the
 * command a failure message quotes. */
void gt_describe(char *buf, size_t cap, const char *prog, const char *const *args);

/* For a message: the first 400 bytes of text without trailing newlines, or "(nothing)". Two
 * static buffers in turn, so two may appear in one message. */
const char *gt_head(const char *text);

/* For a message: the first 300 bytes of a run's stdout, control bytes shown as '?', without
 * trailing newlines, or "(nothing)" (one static buffer); and its stderr tail or "(nothing)". */
const char *gt_out_head(const gt_result *r);
const char *gt_err_or_empty(const gt_result *r);

/* Fail the test (quoting cmd, its status, stdout and stderr) unless the run r exited with
 * status want. */
void gt_expect_exit(const gt_result *r, const char *cmd, int want);

/* send() all len bytes on fd (MSG_NOSIGNAL, again after EINTR); 0, or -1 on an error or a
 * 0-byte send. Does not fail the test: the caller says what it was doing. */
int gt_send_all(int fd, const void *buf, size_t len);

/* Connect the socket fd (TCP or UDP) to 127.0.0.1:port, or close it and fail the test with
 * "connect(<label>, 127.0.0.1:port)" (just "connect(127.0.0.1:port)" when label is NULL). */
void gt_connect_fd(int fd, int port, const char *label);

/* Number of open descriptors of process pid (the count of /proc/PID/fd, whose own descriptor
 * counts when pid is the test itself), or -1 if that directory can not be read. */
int gt_count_fds(pid_t pid);

/* How process pid maps the System V segment at key, from /proc/PID/maps: its permissions
 * ("r--s" when attached read-only, SHM_RDONLY; "rw-s" when it could write) into perms (at least
 * 8 bytes), a writable mapping first if there are several. Returns 1, or 0 if pid maps no segment
 * of that key (or its maps can not be read). */
int gt_shm_map_perms(pid_t pid, key_t key, char *perms);

/* Fail the test unless the run r (of the command cmd, run with --help) exited 0 with "usage"
 * on its stdout. */
void gt_expect_help(const gt_result *r, const char *cmd);

/* Fail the test unless the run r (of the command cmd) is a usage error: exit status 2, one
 * line on stderr, nothing on stdout. `nothing_should` ends the last message, e.g. "nothing
 * should run". */
void gt_expect_usage_error(const gt_result *r, const char *cmd, const char *nothing_should);

/* Run the program at `path` (named `prog` in messages) with --help and fail unless
 * gt_expect_help holds. */
void gt_test_help(const char *path, const char *prog);

/* Run the program at `path` (named `prog` in messages) with the NULL-terminated `args` for at
 * most timeout_s seconds (scaled) and fail unless it exits with status want (gt_expect_exit). */
void gt_test_exit(const char *path, const char *prog, const char *const *args, double timeout_s,
                  int want);

/* Run the program at `path` with each of the n argument lists of `cases` (a [n][width] array of
 * NULL-terminated lists) and fail unless each is a usage error (gt_expect_usage_error). Called
 * through GT_TEST_USAGE_ERRORS, which counts the array itself. */
void gt_test_usage_errors(const char *path, const char *prog, const char *const *cases, size_t n,
                          size_t width, const char *nothing_should);
#define GT_TEST_USAGE_ERRORS(path, prog, cases, nothing_should)                                  \
    gt_test_usage_errors(path, prog, &(cases)[0][0], sizeof(cases) / sizeof((cases)[0]),          \
                         sizeof((cases)[0]) / sizeof((cases)[0][0]), nothing_should)

/* A TCP socket listening on 127.0.0.1 at a port the kernel picks, with `backlog`, or the test
 * fails (`what` names the socket in the message: "the test's echo server"). Sets *port. */
int gt_listen_loopback(int backlog, int *port, const char *what);

/* pipe2(p, O_CLOEXEC), or the test fails. */
void gt_pipe(int p[2]);

/* fork() a helper process of the test itself, or the test fails. Returns like fork(); the
 * child is killed when the test process ends (PR_SET_PDEATHSIG) and exits 99 at once if the
 * test process already ended. The child must end with _exit. */
pid_t gt_fork_helper(void);

/* In a child just forked by `parent`, before exec: default signal dispositions, an empty
 * signal mask, death with the parent; _exit(127) if the parent already ended. */
void gt_child_reset(pid_t parent);

/* execvp(argv[0], argv); a program that may be run but not read (the reference's, as root)
 * through /bin/sh, since valgrind (a memcheck run's runner is under it) reads a program before
 * it lets it run. Returns only if neither could start it, with errno set. */
void gt_exec(const char *const argv[]);

/* ---- failure messages ---------------------------------------------------------------- */

/* Fail the test with "not implemented: <what>" if errno is ENOSYS; used right after a call
 * into student code returned an error. The driver recognises the reason "not implemented". */
void gt_fail_if_not_implemented(const char *what);

/* Fail the test with the printf-style message. It starts with "not implemented: " when a
 * program this test started wrote "not implemented" on its stderr (a starter's stub), so a
 * test that fails on a program's behaviour is classified right; every gt_ helper fails
 * through it. */
void gt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* "not implemented: " if text (e.g. a gt_result's err) contains "not implemented", else "". */
const char *gt_ni_prefix(const char *text);

#endif
