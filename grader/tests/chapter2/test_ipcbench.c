/*
 * test_ipcbench.c: black-box tests of ex2.3, the student's ipcbench.
 *
 * ipcbench runs as a program, always with -k set to one of this test's own IPC keys (never
 * the default key: two graders may run at once). It is graded on what it does, never on its
 * timings: each mechanism runs and prints a sane line (every message is checked by the
 * program itself, so a run that exits 0 moved every byte right), the shared-memory segment
 * is private (mode 0600) and never outlives the run (normal end, an error, SIGTERM), a key
 * already in use is refused without touching the segment that holds it, the CPU options pin
 * the two processes where asked, and bad arguments exit 2.
 *
 * The segments are watched in /proc/sysvipc/shm: by key, and, for a segment already marked
 * for removal (its key then reads 0), by the pid of the process that created it.
 *
 * ipcbench's contract (see its --help): stdout is the header line
 *   mechanism,size,count,parent_cpu,child_cpu,p50_ns,p99_ns,max_ns,roundtrips_per_s,
 *   msgs_per_s,mb_per_s
 * then one line per mechanism, in the order of -m (default pipe,unix,tcp,shm); exit 0 when
 * every message was right, 1 on a failure (told on stderr), 2 on bad arguments.
 */
#include "gt.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEADER                                                                                     \
    "mechanism,size,count,parent_cpu,child_cpu,p50_ns,p99_ns,max_ns,roundtrips_per_s,msgs_per_s," \
    "mb_per_s"
#define MAX_ROWS 8

struct row {
    char mech[16];
    long size, count;
    int parent_cpu, child_cpu; /* -1: any */
    double p50, p99, max, rt_per_s, msgs_per_s, mb_per_s;
};

struct table {
    int nrows;
    struct row rows[MAX_ROWS];
};

static char cmdline[512];
static char keyarg[32];

/* "-k" argument: this test's first IPC key. */
static const char *key_str(void)
{
    snprintf(keyarg, sizeof keyarg, "%d", (int)gt_ipc_key(0));
    return keyarg;
}

static void run_ipc(gt_result *r, double timeout_s, const char *const *args)
{
    gt_describe(cmdline, sizeof cmdline, "ipcbench", args);
    gt_run(r, timeout_s, gt_student("ipcbench"), args);
}

static int cpu_field(const char *s, int *cpu)
{
    long v;
    if (strcmp(s, "any") == 0) {
        *cpu = -1;
        return 0;
    }
    if (gt_parse_long(s, &v) == -1 || v < 0 || v >= CPU_SETSIZE)
        return -1;
    *cpu = (int)v;
    return 0;
}

static void parse_row(const char *line, struct row *row)
{
    char buf[512], *f[16];
    int nf = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *p = buf; nf < 16;) {
        f[nf++] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    if (nf != 11)
        gt_fail("%s printed the line '%s' with %d fields; the header has 11: " HEADER, cmdline,
                line, nf);
    if (strcmp(f[0], "pipe") != 0 && strcmp(f[0], "unix") != 0 && strcmp(f[0], "tcp") != 0 &&
        strcmp(f[0], "shm") != 0)
        gt_fail("%s printed the line '%s': mechanism '%s' is not pipe, unix, tcp or shm",
                cmdline, line, f[0]);
    snprintf(row->mech, sizeof row->mech, "%s", f[0]);
    if (gt_parse_long(f[1], &row->size) == -1 || gt_parse_long(f[2], &row->count) == -1)
        gt_fail("%s printed the line '%s': size and count must be whole numbers", cmdline, line);
    if (cpu_field(f[3], &row->parent_cpu) == -1 || cpu_field(f[4], &row->child_cpu) == -1)
        gt_fail("%s printed the line '%s': parent_cpu and child_cpu must be 'any' or a CPU "
                "number",
                cmdline, line);
    if (gt_parse_double(f[5], &row->p50) == -1 || gt_parse_double(f[6], &row->p99) == -1 ||
        gt_parse_double(f[7], &row->max) == -1 || gt_parse_double(f[8], &row->rt_per_s) == -1 ||
        gt_parse_double(f[9], &row->msgs_per_s) == -1 ||
        gt_parse_double(f[10], &row->mb_per_s) == -1)
        gt_fail("%s printed the line '%s': the last six fields must be numbers", cmdline, line);
    if (!(row->p50 > 0 && row->p50 <= row->p99 && row->p99 <= row->max))
        gt_fail("%s printed the line '%s': expected 0 < p50_ns <= p99_ns <= max_ns (round-trip "
                "times in nanoseconds)",
                cmdline, line);
    if (!(row->rt_per_s > 0 && row->msgs_per_s > 0 && row->mb_per_s >= 0))
        gt_fail("%s printed the line '%s': expected roundtrips_per_s > 0, msgs_per_s > 0 and "
                "mb_per_s >= 0",
                cmdline, line);
    /* mb_per_s is msgs_per_s * size / 10^6; allow for the rounding of both when printed */
    double want = row->msgs_per_s * (double)row->size / 1e6;
    double slack = 0.06 + 0.6 * (double)row->size / 1e6 + want * 0.01;
    if (fabs(row->mb_per_s - want) > slack)
        gt_fail("%s printed the line '%s': mb_per_s should be msgs_per_s * size / 10^6 = %.1f",
                cmdline, line, want);
}

static void expect_table(const gt_result *r, struct table *t)
{
    gt_expect_exit(r, cmdline, 0);
    const char *p = r->out;
    const char *nl = strchr(p, '\n');
    if (nl == NULL || (size_t)(nl - p) != strlen(HEADER) || strncmp(p, HEADER, strlen(HEADER)) != 0)
        gt_fail("%s: the first line of stdout must be the header '" HEADER "'; stdout: %s",
                cmdline, gt_head(r->out));
    t->nrows = 0;
    for (p = nl + 1; *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl == NULL)
            gt_fail("%s: the last line of stdout does not end with a newline; stdout: %s",
                    cmdline, gt_head(r->out));
        char line[512];
        size_t len = (size_t)(nl - p);
        if (len >= sizeof line || t->nrows == MAX_ROWS)
            gt_fail("%s printed too much on stdout: %s", cmdline, gt_head(r->out));
        memcpy(line, p, len);
        line[len] = '\0';
        parse_row(line, &t->rows[t->nrows++]);
    }
}

/* Exactly the mechanisms of `mechs` (comma-separated), in that order, with size and count. */
static void expect_rows(const gt_result *r, struct table *t, const char *mechs, long size,
                        long count)
{
    expect_table(r, t);
    char want[64];
    snprintf(want, sizeof want, "%s", mechs);
    int i = 0;
    for (char *m = strtok(want, ","); m != NULL; m = strtok(NULL, ","), i++) {
        if (i >= t->nrows)
            gt_fail("%s printed %d data lines, expected one per mechanism: %s; stdout: %s",
                    cmdline, t->nrows, mechs, gt_head(r->out));
        if (strcmp(t->rows[i].mech, m) != 0)
            gt_fail("%s: data line %d is for %s, expected %s (one line per mechanism, in the "
                    "order %s); stdout: %s",
                    cmdline, i + 1, t->rows[i].mech, m, mechs, gt_head(r->out));
        if (t->rows[i].size != size || t->rows[i].count != count)
            gt_fail("%s: the %s line says size=%ld count=%ld, expected size=%ld count=%ld",
                    cmdline, m, t->rows[i].size, t->rows[i].count, size, count);
    }
    if (t->nrows != i)
        gt_fail("%s printed %d data lines, expected %d (%s); stdout: %s", cmdline, t->nrows, i,
                mechs, gt_head(r->out));
}

/* ---- System V segments ----------------------------------------------------------------- */

struct seg {
    int key, shmid, perms, cpid, nattch;
    unsigned long size;
};

/* The segment with this key (key != 0), or one created by pid (key 0: marked for removal,
 * or any key); returns 1 and fills *s if found. */
static int find_segment(int key, pid_t pid, struct seg *s)
{
    FILE *f = fopen("/proc/sysvipc/shm", "r");
    if (f == NULL)
        gt_fail("fopen(/proc/sysvipc/shm): %s (System V shared memory is needed)",
                strerror(errno));
    char line[512];
    int found = 0;
    if (fgets(line, sizeof line, f) != NULL) { /* the header */
        while (fgets(line, sizeof line, f) != NULL) {
            struct seg x;
            unsigned perms;
            if (sscanf(line, "%d %d %o %lu %d %*d %d", &x.key, &x.shmid, &perms, &x.size, &x.cpid,
                       &x.nattch) != 6)
                continue;
            x.perms = (int)perms;
            if ((key != 0 && x.key == key) || (pid > 0 && x.cpid == pid)) {
                *s = x;
                found = 1;
                break;
            }
        }
    }
    fclose(f);
    return found;
}

static void expect_no_segment(int key, const char *when)
{
    struct seg s;
    double deadline = gt_now() + 2.0 * gt_time_scale();
    while (find_segment(key, 0, &s)) {
        if (gt_now() > deadline)
            gt_fail("%s, a System V segment with key %d (0x%x) is still there (shmid %d, %lu "
                    "bytes, %d attached): remove the segment you created on every exit "
                    "(shmctl IPC_RMID)",
                    when, key, (unsigned)key, s.shmid, s.size, s.nattch);
        gt_sleep(20e-3);
    }
}

/* ---- ipcbench in the background -------------------------------------------------------- */

struct bg {
    pid_t pid;
    char err_path[512];
};

static void bg_start(struct bg *b, const char *const *args)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = gt_student("ipcbench");
    for (const char *const *a = args; *a != NULL && n < 31; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    gt_describe(cmdline, sizeof cmdline, "ipcbench", args);
    snprintf(b->err_path, sizeof b->err_path, "%s/ipcbench-bg.stderr", gt_tmpdir());

    pid_t parent = getpid();
    fflush(NULL);
    b->pid = fork();
    if (b->pid == -1)
        gt_fail("fork() to start %s: %s", cmdline, strerror(errno));
    if (b->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int in = open("/dev/null", O_RDONLY);
        int out = open("/dev/null", O_WRONLY);
        int err = open(b->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in == -1 || out == -1 || err == -1 || dup2(in, 0) == -1 || dup2(out, 1) == -1 ||
            dup2(err, 2) == -1)
            _exit(127);
        signal(SIGPIPE, SIG_DFL);
        gt_exec(argv);
        _exit(127);
    }
}

static void bg_err(const struct bg *b, char *buf, size_t cap)
{
    buf[0] = '\0';
    int fd = open(b->err_path, O_RDONLY);
    if (fd == -1)
        return;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\n')
            *c = '?';
}

/* 1 with *status once it has ended (reaped), 0 while it runs. */
static int bg_ended(struct bg *b, int *status)
{
    if (b->pid <= 0)
        return 1;
    pid_t w = waitpid(b->pid, status, WNOHANG);
    if (w == b->pid) {
        b->pid = 0;
        return 1;
    }
    return 0;
}

static void bg_kill(struct bg *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGKILL);
        while (waitpid(b->pid, NULL, 0) == -1 && errno == EINTR)
            ;
        b->pid = 0;
    }
}

/* The pid of a child of pid (the first found), or 0. */
static pid_t child_of(pid_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd == -1)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return (pid_t)atoi(buf);
}

/* Wait (10 s, scaled) until the background ipcbench (or its child) holds a segment: by key,
 * or created by it; fails if it ends first or never does. */
static void bg_wait_segment(struct bg *b, int key, struct seg *s)
{
    double limit = 10.0 * gt_time_scale();
    double deadline = gt_now() + limit;
    for (;;) {
        if (find_segment(key, b->pid, s))
            return;
        pid_t c = child_of(b->pid);
        if (c > 0 && find_segment(0, c, s))
            return;
        int st;
        if (bg_ended(b, &st)) {
            char err[600];
            bg_err(b, err, sizeof err);
            gt_fail("%s%s ended (%s) before a shared-memory segment with key %d was seen; "
                    "stderr: %s",
                    gt_ni_prefix(err), cmdline, gt_status_str(st, 0), key, gt_head(err));
        }
        if (gt_now() > deadline) {
            bg_kill(b);
            gt_fail("%s ran for %.0f s without a shared-memory segment with key %d (or created "
                    "by it) in /proc/sysvipc/shm",
                    cmdline, limit, key);
        }
        gt_sleep(5e-3);
    }
}

/* ---- the tests: each mechanism --------------------------------------------------------- */

static void one_mechanism(const char *mech)
{
    gt_result r;
    struct table t;
    const char *args[] = {"-m", mech, "-n", "2000", "-s", "64", "-k", key_str(), NULL};
    run_ipc(&r, 60, args);
    expect_rows(&r, &t, mech, 64, 2000);
    if (t.rows[0].parent_cpu != -1 || t.rows[0].child_cpu != -1)
        gt_fail("%s printed parent_cpu=%d child_cpu=%d, expected 'any' for both (no pinning "
                "asked)",
                cmdline, t.rows[0].parent_cpu, t.rows[0].child_cpu);
}

GT_TEST(ipcbench_pipe, 60)
{
    one_mechanism("pipe");
}

GT_TEST(ipcbench_unix, 60)
{
    one_mechanism("unix");
}

GT_TEST(ipcbench_tcp, 60)
{
    one_mechanism("tcp");
}

GT_TEST(ipcbench_shm, 60)
{
    one_mechanism("shm");
    expect_no_segment((int)gt_ipc_key(0), "after the run");
}

GT_TEST(ipcbench_all_mechanisms_in_order, 90)
{
    gt_result r;
    struct table t;
    const char *args[] = {"-n", "500", "-k", key_str(), NULL};
    run_ipc(&r, 60, args);
    expect_rows(&r, &t, "pipe,unix,tcp,shm", 64, 500);

    const char *args2[] = {"-m", "shm,tcp", "-n", "200", "-s", "100", "-k", key_str(), NULL};
    run_ipc(&r, 60, args2);
    expect_rows(&r, &t, "shm,tcp", 100, 200);
}

GT_TEST(ipcbench_one_megabyte_messages, 120)
{
    gt_result r;
    struct table t;
    const char *args[] = {"-n", "20", "-s", "1048576", "-k", key_str(), NULL};
    run_ipc(&r, 90, args);
    expect_rows(&r, &t, "pipe,unix,tcp,shm", 1048576, 20);
}

GT_TEST(ipcbench_one_byte_messages, 60)
{
    gt_result r;
    struct table t;
    const char *args[] = {"-n", "2000", "-s", "1", "-k", key_str(), NULL};
    run_ipc(&r, 60, args);
    expect_rows(&r, &t, "pipe,unix,tcp,shm", 1, 2000);
}

/* ---- the tests: the segment ------------------------------------------------------------ */

GT_TEST(ipcbench_shm_segment_private, 60)
{
    struct bg b;
    struct seg s;
    int key = (int)gt_ipc_key(0);
    const char *args[] = {"-m", "shm", "-n", "10000000", "-k", key_str(), NULL};

    bg_start(&b, args);
    bg_wait_segment(&b, key, &s);
    bg_kill(&b);
    if ((s.perms & 0777) != 0600)
        gt_fail("%s created its segment with mode %03o, expected 0600 (read and write for its "
                "own user only; 0666 lets any user of the machine read and change it)",
                cmdline, s.perms & 0777);
}

GT_TEST(ipcbench_shm_key_taken_exit_1, 60)
{
    /* larger than what ipcbench asks for, so that a shmget without IPC_EXCL would succeed
     * and hand it this segment */
    enum { SIZE = 65536 };
    static unsigned char want[SIZE];
    gt_result r;
    struct seg s;
    int key = (int)gt_ipc_key(0);
    int id = shmget(key, SIZE, IPC_CREAT | IPC_EXCL | 0600);
    if (id == -1)
        gt_fail("the test's own shmget(key %d, IPC_CREAT|IPC_EXCL): %s", key, strerror(errno));
    unsigned char *p = shmat(id, NULL, 0);
    if (p == (void *)-1) {
        int e = errno;
        shmctl(id, IPC_RMID, NULL);
        gt_fail("the test's own shmat: %s", strerror(e));
    }
    gt_fill_pattern(p, SIZE, 77);
    shmdt(p);

    const char *args[] = {"-m", "shm", "-n", "100", "-k", key_str(), NULL};
    run_ipc(&r, 30, args);

    /* what became of the test's segment */
    int still = find_segment(key, 0, &s);
    int intact = 0;
    if (still && s.shmid == id) {
        unsigned char *q = shmat(id, NULL, SHM_RDONLY);
        if (q != (void *)-1) {
            gt_fill_pattern(want, SIZE, 77);
            intact = memcmp(q, want, SIZE) == 0;
            shmdt(q);
        }
    }
    shmctl(id, IPC_RMID, NULL);

    if (strcasestr(r.err, "not implemented") != NULL)
        gt_fail("not implemented: %s: %s; stderr: %s", cmdline,
                gt_status_str(r.status, r.timed_out), gt_head(r.err));
    if (!r.timed_out && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0)
        gt_fail("%s exited 0 although the key was already in use by another segment: create "
                "with IPC_CREAT | IPC_EXCL and stop (exit 1) when shmget fails with EEXIST, "
                "never use or remove a segment you did not create",
                cmdline);
    gt_expect_exit(&r, cmdline, 1);
    if (!still || s.shmid != id)
        gt_fail("%s removed the segment that already held key %d (it was not its own): never "
                "remove a segment you did not create",
                cmdline, key);
    if (!intact)
        gt_fail("%s changed the content of the segment that already held key %d (it was not its "
                "own)",
                cmdline, key);
    char dec[24], hex[24];
    snprintf(dec, sizeof dec, "%d", key);
    snprintf(hex, sizeof hex, "%x", (unsigned)key);
    if (strstr(r.err, dec) == NULL && strcasestr(r.err, hex) == NULL)
        gt_fail("%s exited 1 but its stderr does not name the key %d (0x%x) that is in use; "
                "stderr: %s",
                cmdline, key, (unsigned)key, gt_head(r.err));
}

GT_TEST(ipcbench_sigterm_leaves_no_segment, 60)
{
    struct bg b;
    struct seg s;
    int key = (int)gt_ipc_key(0);
    const char *args[] = {"-m", "shm", "-n", "10000000", "-k", key_str(), NULL};

    bg_start(&b, args);
    bg_wait_segment(&b, key, &s);
    gt_sleep(100e-3); /* well into the round trips */
    kill(b.pid, SIGTERM);
    double limit = 10.0 * gt_time_scale();
    double deadline = gt_now() + limit;
    int st;
    while (!bg_ended(&b, &st)) {
        if (gt_now() > deadline) {
            bg_kill(&b);
            gt_fail("%s was still running %.0f s after SIGTERM", cmdline, limit);
        }
        gt_sleep(10e-3);
    }
    expect_no_segment(key, "after SIGTERM ended ipcbench -m shm in the middle of its run");
}

GT_TEST(ipcbench_child_killed_exit_1_no_segment, 60)
{
    struct bg b;
    struct seg s;
    int key = (int)gt_ipc_key(0);
    const char *args[] = {"-m", "shm", "-n", "10000000", "-k", key_str(), NULL};

    bg_start(&b, args);
    bg_wait_segment(&b, key, &s);
    double limit = 10.0 * gt_time_scale();
    double deadline = gt_now() + limit;
    pid_t c;
    while ((c = child_of(b.pid)) <= 0) {
        if (gt_now() > deadline) {
            bg_kill(&b);
            gt_fail("%s: no child process seen within %.0f s", cmdline, limit);
        }
        gt_sleep(5e-3);
    }
    gt_sleep(100e-3); /* well into the round trips */
    kill(c, SIGKILL);

    /* the parent must notice that its peer is gone, not wait for it for ever */
    deadline = gt_now() + limit;
    int st;
    while (!bg_ended(&b, &st)) {
        if (gt_now() > deadline) {
            bg_kill(&b);
            gt_fail("%s: its child was killed, and %.0f s later it was still running: while "
                    "waiting for the other process, check now and then that it is alive",
                    cmdline, limit);
        }
        gt_sleep(10e-3);
    }
    char err[600];
    bg_err(&b, err, sizeof err);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
        gt_fail("%s%s: its child was killed mid-run, and it %s; expected exit status 1 with a "
                "message; stderr: %s",
                gt_ni_prefix(err), cmdline, gt_status_str(st, 0), gt_head(err));
    if (err[0] == '\0')
        gt_fail("%s exited 1 when its child was killed, but said nothing on stderr", cmdline);
    expect_no_segment(key, "after ipcbench -m shm failed because its child was killed");
}

GT_TEST(ipcbench_unavailable_cpu_exit_1, 30)
{
    gt_result r;
    const char *args[] = {"-m", "pipe", "-n", "100", "--cpus", "0,1000", "-k", key_str(), NULL};
    run_ipc(&r, 30, args);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 1)
        gt_fail("%s%s (CPU 1000 does not exist here): %s, expected exit status 1; stdout: %s; "
                "stderr: %s",
                gt_ni_prefix(r.err), cmdline, gt_status_str(r.status, r.timed_out), gt_head(r.out),
                gt_head(r.err));
    if (r.err[0] == '\0')
        gt_fail("%s exited 1 but said nothing on stderr: say which CPU can not be used",
                cmdline);
}

/* ---- the tests: CPUs ------------------------------------------------------------------- */

GT_TEST(ipcbench_same_cpu, 90)
{
    gt_result r;
    struct table t;
    const char *args[] = {"--same-cpu", "-m", "pipe,shm", "-n", "300", "-k", key_str(), NULL};
    run_ipc(&r, 60, args);
    expect_rows(&r, &t, "pipe,shm", 64, 300);
    for (int i = 0; i < t.nrows; i++)
        if (t.rows[i].parent_cpu < 0 || t.rows[i].parent_cpu != t.rows[i].child_cpu)
            gt_fail("%s: the %s line says parent_cpu=%d child_cpu=%d (-1: any), expected one "
                    "and the same CPU for both",
                    cmdline, t.rows[i].mech, t.rows[i].parent_cpu, t.rows[i].child_cpu);
}

/* The CPUs a process may run on, from /proc/PID/status ("0-1", "1"); "" if gone. */
static void cpus_allowed(pid_t pid, char *buf, size_t cap)
{
    char path[64], text[4096];
    buf[0] = '\0';
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd == -1)
        return;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return;
    text[n] = '\0';
    char *p = strstr(text, "Cpus_allowed_list:");
    if (p == NULL)
        return;
    p += strlen("Cpus_allowed_list:");
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, "\n");
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
}

GT_TEST(ipcbench_cpus_pins_both_processes, 60)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == -1 || !CPU_ISSET(0, &set) ||
        !CPU_ISSET(1, &set))
        gt_skip("this test needs CPUs 0 and 1, and this process may not use both here");

    struct bg b;
    const char *args[] = {"--cpus", "0,1", "-m", "pipe", "-n", "10000000", "-k", key_str(), NULL};
    bg_start(&b, args);
    double limit = 10.0 * gt_time_scale();
    double deadline = gt_now() + limit;
    char pl[64] = "", cl[64] = "";
    for (;;) {
        int st;
        if (bg_ended(&b, &st)) {
            char err[600];
            bg_err(&b, err, sizeof err);
            gt_fail("%s%s ended (%s) while the test looked at its CPUs; stderr: %s",
                    gt_ni_prefix(err), cmdline, gt_status_str(st, 0), gt_head(err));
        }
        pid_t c = child_of(b.pid);
        cpus_allowed(b.pid, pl, sizeof pl);
        if (c > 0)
            cpus_allowed(c, cl, sizeof cl);
        if (strcmp(pl, "0") == 0 && strcmp(cl, "1") == 0)
            break;
        if (gt_now() > deadline) {
            bg_kill(&b);
            gt_fail("%s: after %.0f s the parent may run on CPUs '%s' and its child on '%s' "
                    "(/proc/PID/status, Cpus_allowed_list), expected '0' and '1'%s",
                    cmdline, limit, pl, c > 0 ? cl : "(no child seen)",
                    c > 0 ? "" : ": the child process was not found");
        }
        gt_sleep(5e-3);
    }
    bg_kill(&b);
}

/* ---- the tests: arguments -------------------------------------------------------------- */

GT_TEST(ipcbench_help_exit_0, 20)
{
    gt_result r;
    const char *args[] = {"--help", NULL};
    run_ipc(&r, 10, args);
    gt_expect_help(&r, cmdline);
}

GT_TEST(ipcbench_bad_args_exit_2, 40)
{
    static const char *const cases[][5] = {
        {"-m", "pigeon", NULL},
        {"-m", "pipe,,shm", NULL},
        {"-n", "0", NULL},
        {"-n", "many", NULL},
        {"-s", "0", NULL},
        {"-s", "2000000", NULL},
        {"-k", "0", NULL},
        {"-k", "key", NULL},
        {"--cpus", "0", NULL},
        {"--cpus", "a,b", NULL},
        {"--cpus", "0,1", "--same-cpu", NULL},
        {"--bogus", NULL},
        {"surplus", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gt_result r;
        run_ipc(&r, 10, cases[i]);
        gt_expect_usage_error(&r, cmdline, "nothing should run");
    }
}
