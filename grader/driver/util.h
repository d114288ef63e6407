/*
 * util: small helpers of the driver: running a command to completion, files, strings.
 */
#ifndef SVRLAB_UTIL_H
#define SVRLAB_UTIL_H

#include <signal.h>
#include <stddef.h>

/* Set by the driver's SIGINT/SIGTERM/SIGHUP handler: run_cmd_bounded stops waiting. */
extern volatile sig_atomic_t stop_requested;

/* Run argv (argv[0] looked up in PATH) with stdout and stderr appended to `log` (NULL: to
 * /dev/null) and wait for it. Returns its exit status, or -1 if it could not run or was
 * killed by a signal. */
int run_cmd(char *const argv[], const char *log);

/* Seconds on the monotonic clock. */
double now_s(void);

#define RUN_TIMED_OUT (-2)
#define RUN_STOPPED (-3)

/* run_cmd for what may never end (a build that reads a device): argv runs in a process group
 * of its own, killed as a whole (SIGKILL) once its processes have used no CPU for idle_s
 * seconds (blocked, not slow: a busy machine slows a build down, it does not stop it), after
 * wall_s seconds in all, or as soon as stop_requested is set; then RUN_TIMED_OUT or
 * RUN_STOPPED. before_exec (NULL: none) runs in the child just before the exec, with ctx; if
 * it fails (non-zero) the child ends with status 127. */
int run_cmd_bounded(char *const argv[], const char *log, double idle_s, double wall_s,
                    int (*before_exec)(void *ctx), void *ctx);

/* What /proc/<pid>/stat says of a process (pid given as its text, a /proc entry's name): its
 * state ('R', 'S', 'Z', ...), parent, process group, and the CPU time in clock ticks that it
 * and the children it has reaped have used. 0, or -1 if it is gone (or pid is no number).
 * The command name, which may hold spaces and parentheses, is skipped up to its last ')'. */
struct proc_stat {
    char state;
    int ppid, pgrp;
    unsigned long long cpu_ticks;
};
int proc_stat_read(const char *pid, struct proc_stat *ps);

/* The first `cap - 1` bytes at most of file `path` (last bytes when from_end), NUL-terminated.
 * Returns the number of bytes read (0 if the file is missing). */
size_t read_file(const char *path, char *buf, size_t cap, int from_end);

/* 1 if path is a directory / a regular file (symbolic links are not followed). */
int is_dir(const char *path);
int is_regular(const char *path);

/* The full path of an executable found in $PATH, in buf; NULL if none. */
const char *find_in_path(const char *name, char *buf, size_t cap);

/* printf into a fixed buffer, truncating; returns buf. */
/* Replace every byte of s that is not part of valid UTF-8 (and every control byte but '\n' and
 * '\t') with '?', in place: a reason quoting a program's output becomes safe for JSON and XML. */
void utf8_sanitize(char *s);

/* Is word one of the space-separated words of list? */
int in_words(const char *list, const char *word);

char *fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));

#endif
