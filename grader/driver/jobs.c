/*
 * jobs: the supervisor of one test run (see jobs.h).
 */
#include "jobs.h"
#include "../lib/gt_env.h"
#include "sandbox.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUTCOME_FILE ".outcome"
#define JOB_RUN_TIMEOUT 60

static void supervise(const char *dir, char *const argv[], char *const env[], double timeout,
                      int slot, int data_limit, const char *token);
static int write_fresh(const char *dir, const char *name, const char *text, size_t len);
static int kill_descendants(void);

static job_deadline_fn deadline_hook; /* job_set_deadline_hook */

void job_set_deadline_hook(job_deadline_fn fn)
{
    deadline_hook = fn;
}

pid_t job_start(const char *dir, char *const argv[], char *const env[], double timeout,
                int data_limit, const char *token)
{
    int slot = -1; /* the test's uid in the sandbox (sandbox.h), when the grader is root */
    if (sb_active()) {
        slot = sb_claim();
        if (slot < 0) {
            fprintf(stderr, "grade: no free uid for a test\n");
            return -1;
        }
        if (sb_give_dir(dir, sb_uid(slot)) != 0) {
            fprintf(stderr, "grade: could not give %s to uid %lu: %s\n", dir,
                    (unsigned long)sb_uid(slot), strerror(errno));
            sb_hold(slot, 0);
            return -1;
        }
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "grade: fork: %s\n", strerror(errno));
        sb_hold(slot, 0);
        return -1;
    }
    if (pid == 0)
        supervise(dir, argv, env, timeout, slot, data_limit, token); /* does not return */
    sb_hold(slot, pid);
    return pid;
}

int job_run(char *const argv[], const char *log)
{
    char dir[4200], out[4300];
    snprintf(dir, sizeof dir, "%s.run", log);
    char *rm[] = {"rm", "-rf", dir, NULL};
    run_cmd(rm, NULL);
    if (mkdir(dir, 0755) != 0)
        return -1;
    char *none[] = {NULL};
    pid_t pid = job_start(dir, argv, none, JOB_RUN_TIMEOUT, 1, NULL);
    int st = -1;
    struct job_outcome o;
    if (pid > 0) {
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        st = job_outcome(dir, &o) == 0 && !o.timed_out && WIFEXITED(o.status)
                 ? WEXITSTATUS(o.status)
                 : -1;
    }
    /* the output, copied by the driver: its reader never opens a file the test made */
    char text[65536];
    snprintf(out, sizeof out, "%s/output", dir);
    size_t len = read_file(out, text, sizeof text, 0);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len)
        st = -1;
    if (fd >= 0)
        close(fd);
    run_cmd(rm, NULL);
    return st;
}

int job_outcome(const char *dir, struct job_outcome *o)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, OUTCOME_FILE);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = fscanf(f, "%d %d %lf %d", &o->status, &o->timed_out, &o->seconds, &o->leftovers);
    fclose(f);
    return n == 4 ? 0 : -1;
}

static void supervise(const char *dir, char *const argv[], char *const env[], double timeout,
                      int slot, int data_limit, const char *token)
{
    uid_t uid = slot >= 0 ? sb_uid(slot) : 0;
    /* Orphans of the test are re-parented to us, not to init: we can find and kill them. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        fprintf(stderr, "grade: prctl(PR_SET_CHILD_SUBREAPER): %s\n", strerror(errno));
        _exit(3);
    }
    /* SIGINT/SIGTERM/SIGHUP (the grader interrupted) end the test early, still cleanly. */
    sigset_t watched, old;
    sigemptyset(&watched);
    sigaddset(&watched, SIGCHLD);
    sigaddset(&watched, SIGINT);
    sigaddset(&watched, SIGTERM);
    sigaddset(&watched, SIGHUP);
    sigprocmask(SIG_BLOCK, &watched, &old);

    /* its disk: bounded tmpfs mounts, in a mount namespace of the supervisor's own */
    int under = -1;
    if (slot >= 0 && sb_private_fs(dir, uid, &under) < 0)
        _exit(3);
    if (token) { /* root's (when root), in the test's own folder: the runner may remove it */
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, GT_END_TOKEN_FILE);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, token, strlen(token)) != (ssize_t)strlen(token))
            _exit(3);
        close(fd);
    }

    double start = now_s();
    pid_t cmd = fork();
    if (cmd < 0)
        _exit(3);
    if (cmd == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        setpgid(0, 0);
        if (chdir(dir) != 0)
            _exit(126);
        int out = open("output", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(126);
        if (slot >= 0) {
            /* its own output file (a test may reopen /dev/stderr), then the sandbox */
            if (fchown(out, uid, (gid_t)uid) != 0 || sb_enter(uid, dir, env, timeout, data_limit) != 0) {
                fprintf(stderr, "grade: could not run the test as uid %lu: %s\n",
                        (unsigned long)uid, strerror(errno));
                _exit(126);
            }
        } else {
            for (char *const *e = env; *e; e++)
                putenv(*e);
        }
        execv(argv[0], argv);
        fprintf(stderr, "grade: execv(%s): %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(cmd, cmd); /* both sides, so no race with the kill below */

    int status = 0, timed_out = 0, done = 0, aborted = 0;
    double ended = 0; /* when the deadline passed (the hook's time is not the test's) */
    static char stacks[65536]; /* what the deadline hook saw, before the kill */
    size_t stacks_len = 0;
    while (!done) {
        double left = start + timeout - now_s();
        if (left <= 0 || aborted) {
            timed_out = !aborted;
            ended = now_s();
            if (timed_out && deadline_hook)
                stacks_len = deadline_hook(uid, stacks, sizeof stacks);
            kill(-cmd, SIGKILL);
            kill(cmd, SIGKILL);
            waitpid(cmd, &status, 0);
            break;
        }
        struct timespec ts = {(time_t)left, (long)((left - (time_t)left) * 1e9)};
        int sig = sigtimedwait(&watched, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
            aborted = 1;
        pid_t p;
        int st;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
            if (p == cmd) {
                status = st;
                done = 1;
            }
    }
    double seconds = (ended > 0 ? ended : now_s()) - start;
    kill(-cmd, SIGKILL);                              /* what is left of its group */
    int leftovers = slot >= 0 ? sb_kill_all(uid) : 0; /* everything of its uid at once */
    leftovers += kill_descendants();
    if (slot >= 0) {
        sb_clean(uid);     /* its System V objects and files outside its directory */
        sb_take_back(dir); /* nothing in it the driver should not read as root */
    }
    if (under >= 0 && sb_private_fs_end(dir, under) != 0)
        _exit(3); /* its files are not where the driver reads them */

    char text[128];
    snprintf(text, sizeof text, "%d %d %.3f %d\n", status, timed_out, seconds, leftovers);
    int written = (!stacks_len || write_fresh(dir, JOB_STACKS_FILE, stacks, stacks_len) == 0) &&
                  write_fresh(dir, OUTCOME_FILE, text, strlen(text)) == 0;
    _exit(written && !aborted ? 0 : 3);
}

/* A fresh file dir/name, never through a link a test left in its place. */
static int write_fresh(const char *dir, const char *name, const char *text, size_t len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int ok = write(fd, text, len) == (ssize_t)len;
    return close(fd) == 0 && ok ? 0 : -1;
}

/* Kill every process whose parent is us, reap it, and repeat: the grandchildren of a killed
 * process are re-parented to us and show up in the next round. Returns how many were killed. */
static int kill_descendants(void)
{
    int killed = 0;
    pid_t self = getpid();
    for (int round = 0; round < 1000; round++) {
        int found = 0;
        DIR *d = opendir("/proc");
        if (!d)
            break;
        struct dirent *e;
        while ((e = readdir(d))) {
            struct proc_stat ps;
            if (proc_stat_read(e->d_name, &ps) != 0 || ps.ppid != self)
                continue;
            found++;
            if (ps.state != 'Z') {
                kill((pid_t)atoi(e->d_name), SIGKILL);
                killed++;
            }
        }
        closedir(d);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        if (!found)
            break;
        if (round > 0) {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
    }
    return killed;
}

static int remove_kind(const char *table, long lo, long hi)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/sysvipc/%s", table);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[512];
    int removed = 0;
    if (!fgets(line, sizeof line, f)) { /* header */
        fclose(f);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        long key;
        int id;
        if (sscanf(line, "%ld %d", &key, &id) != 2 || key < lo || key >= hi)
            continue;
        int r = strcmp(table, "shm") == 0   ? shmctl(id, IPC_RMID, NULL)
                : strcmp(table, "sem") == 0 ? semctl(id, 0, IPC_RMID)
                                            : msgctl(id, IPC_RMID, NULL);
        if (r == 0)
            removed++;
    }
    fclose(f);
    return removed;
}

int job_remove_ipc(long lo, long hi)
{
    return remove_kind("shm", lo, hi) + remove_kind("sem", lo, hi) + remove_kind("msg", lo, hi);
}

/* One line of /proc/sysvipc/shm: the fields job_reclaim_ipc needs. */
struct shm_row {
    long key, size, cpid, nattch, uid;
};

/* Every segment on the machine, or NULL (*n = 0) if the table can not be read. */
static struct shm_row *shm_table(size_t *n)
{
    *n = 0;
    FILE *f = fopen("/proc/sysvipc/shm", "r");
    if (!f)
        return NULL;
    struct shm_row *rows = NULL;
    size_t cap = 0;
    char line[512];
    if (fgets(line, sizeof line, f)) /* header */
        while (fgets(line, sizeof line, f)) {
            /* key shmid perms size cpid lpid nattch uid ... */
            struct shm_row r;
            long id, perms, lpid;
            if (sscanf(line, "%ld %ld %lo %ld %ld %ld %ld %ld", &r.key, &id, &perms, &r.size,
                       &r.cpid, &lpid, &r.nattch, &r.uid) != 8)
                continue;
            if (*n == cap) {
                size_t more = cap ? 2 * cap : 64;
                struct shm_row *grown = realloc(rows, more * sizeof *rows);
                if (!grown)
                    break;
                rows = grown;
                cap = more;
            }
            rows[(*n)++] = r;
        }
    fclose(f);
    return rows;
}

int job_reclaim_ipc(long first, long slot, long end)
{
    size_t n;
    struct shm_row *rows = shm_table(&n);
    int freed = 0;
    for (size_t i = 0; i < n; i++) {
        const struct shm_row *m = &rows[i];
        if (m->key < first || m->key >= end || (m->key - first) % slot != 0 || m->size != 1 ||
            m->uid != (long)geteuid() || m->cpid <= 0)
            continue;
        /* a creator we may not signal (EPERM), or a pid that is taken again, counts as alive */
        if (kill((pid_t)m->cpid, 0) == 0 || errno != ESRCH)
            continue;
        int busy = 0;
        for (size_t j = 0; j < n && !busy; j++)
            busy = rows[j].key >= m->key && rows[j].key < m->key + slot && rows[j].nattch > 0;
        if (!busy) {
            job_remove_ipc(m->key, m->key + slot);
            freed++;
        }
    }
    free(rows);
    return freed;
}
