/*
 * util: helpers of the driver (see util.h).
 */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t stop_requested;

/* Start argv with stdout and stderr appended to log (NULL: /dev/null), stdin /dev/null; in a
 * process group of its own when own_group. -1 if it could not be started. */
static pid_t spawn(char *const argv[], const char *log, int own_group,
                   int (*before_exec)(void *ctx), void *ctx)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (own_group)
        setpgid(0, 0);
    int out = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)
                  : open("/dev/null", O_WRONLY | O_CLOEXEC);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(127);
    if (before_exec && before_exec(ctx) != 0)
        _exit(127);
    execvp(argv[0], argv);
    fprintf(stderr, "grade: %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int run_cmd(char *const argv[], const char *log)
{
    pid_t pid = spawn(argv, log, 0, NULL, NULL);
    if (pid < 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The CPU time, in clock ticks, that the processes of group pgrp have used so far: their own
 * and that of the children they have reaped (fields 14-17 of /proc/PID/stat, after the
 * command's name, which may hold spaces and parentheses). */
static unsigned long long group_cpu_ticks(pid_t pgrp)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    unsigned long long sum = 0;
    struct dirent *e;
    struct proc_stat ps;
    while ((e = readdir(d)))
        if (proc_stat_read(e->d_name, &ps) == 0 && ps.pgrp == pgrp)
            sum += ps.cpu_ticks;
    closedir(d);
    return sum;
}

int proc_stat_read(const char *pid, struct proc_stat *ps)
{
    if (pid[0] < '1' || pid[0] > '9' || strlen(pid) > 20)
        return -1;
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    if (read_file(path, text, sizeof text, 0) == 0)
        return -1;
    const char *after = strrchr(text, ')');
    unsigned long long ut, st, cut, cst;
    if (!after || sscanf(after + 1, " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
                         &ps->state, &ps->ppid, &ps->pgrp, &ut, &st, &cut, &cst) != 7)
        return -1;
    ps->cpu_ticks = ut + st + cut + cst;
    return 0;
}

int run_cmd_bounded(char *const argv[], const char *log, double idle_s, double wall_s,
                    int (*before_exec)(void *ctx), void *ctx)
{
    pid_t pid = spawn(argv, log, 1, before_exec, ctx);
    if (pid < 0)
        return -1;
    setpgid(pid, pid); /* both sides, so no race with the kill below */
    double start = now_s(), busy_at = start, looked_at = start;
    unsigned long long cpu = 0;
    int status = 0, r = 0;
    for (;;) {
        pid_t p = waitpid(pid, &status, WNOHANG);
        if (p == pid)
            break;
        if (p < 0 && errno != EINTR)
            return -1;
        double t = now_s();
        if (t - looked_at >= 1.0) { /* has the group used CPU since the last look? */
            unsigned long long c = group_cpu_ticks(pid);
            if (c != cpu)
                busy_at = t;
            cpu = c;
            looked_at = t;
        }
        if (stop_requested || t - busy_at >= idle_s || t - start >= wall_s) {
            r = stop_requested ? RUN_STOPPED : RUN_TIMED_OUT;
            kill(-pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            break;
        }
        struct timespec pause = {0, 50000000}; /* a signal cuts it short */
        nanosleep(&pause, NULL);
    }
    kill(-pid, SIGKILL); /* what the command left running in its group */
    if (r != 0)
        return r;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

size_t read_file(const char *path, char *buf, size_t cap, int from_end)
{
    buf[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (from_end) {
        off_t size = lseek(fd, 0, SEEK_END);
        off_t start = size > (off_t)(cap - 1) ? size - (off_t)(cap - 1) : 0;
        lseek(fd, start, SEEK_SET);
    }
    size_t got = 0;
    while (got < cap - 1) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = 0;
    close(fd);
    return got;
}

int is_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int is_regular(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

const char *find_in_path(const char *name, char *buf, size_t cap)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        snprintf(buf, cap, "%.*s/%s", (int)len, path, name);
        if (access(buf, X_OK) == 0)
            return buf;
        path += len + (path[len] == ':');
    }
    return NULL;
}

char *fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, cap, f, ap);
    va_end(ap);
    return buf;
}

/* Length of the valid UTF-8 sequence at s (1-4; no overlong forms, surrogates or values past
 * U+10FFFF), or 0 if s does not start one. */
static size_t utf8_seq_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned v = c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    return n;
}

void utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq_len(p);
        if (n == 0 || (n == 1 && *p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

int in_words(const char *list, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = list; len && (p = strstr(p, word)) != NULL; p += len)
        if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == 0))
            return 1;
    return 0;
}
