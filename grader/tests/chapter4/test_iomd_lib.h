/*
 * test_iomd_lib.h: what the black-box tests of io_conn and md (ex4.4, ex4.5) share.
 *
 * Each test runs an io_conn and an md on its own IPC keys (gt_ipc_key(0) is the base key K:
 * the queues use K, K+1 and, with workers, K+2 .. K+33), one of them the student's and the
 * other the reference (or both the student's), and drives clients of its own: each client
 * sends a byte stream that depends on its seed and on each byte's position, and checks every
 * byte that comes back, so a lost, repeated or reordered byte, or a byte of another client,
 * shows with its offset.
 *
 * md is not a server (no port, no "listening" line), so it is started here: stdin /dev/null,
 * stdout and stderr into a file of the test directory, under valgrind on the memcheck pass
 * when it is the student's, killed with the test process.
 *
 * Nothing here takes heap memory: on the memcheck pass the test runner itself runs under
 * valgrind, and a failing step leaves the test by a long jump.
 */
#ifndef SVRLAB_TEST_IOMD_LIB_H
#define SVRLAB_TEST_IOMD_LIB_H

#include "gt.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- processes ------------------------------------------------------------------------ */

/* An md (or another logic process, such as ex4.6's wsecho) started by ti_md_start or
 * ti_logic_start. */
typedef struct {
    char name[32]; /* the program: "md", "wsecho" */
    pid_t pid;     /* 0 once it ended and was reaped */
    int student;
    int status; /* its wait status once reaped */
    char err_path[512];
    char cmd[256]; /* for messages */
} ti_md;

/* The base key of this test's queues, as a number and as -k's text. */
key_t ti_key(void);
const char *ti_key_arg(void);

/* Start io_conn (the student's or the reference) with -k K and the NULL-terminated extra
 * arguments (may be NULL); waits for "listening on port N". */
void ti_io_start(gt_proc *io, int student, const char *const *extra);

/* Start md (the student's or the reference) with -k K and the extra arguments. */
void ti_md_start(ti_md *m, int student, const char *const *extra);

/* The same for another logic process that takes md's place on the queues, prog ("wsecho");
 * the ti_md_ functions below apply to it too. */
void ti_logic_start(ti_md *m, const char *prog, int student, const char *const *extra);

/* SIGTERM and wait (10 s, scaled); fail unless it exits with status 0. */
void ti_md_stop_clean(ti_md *m);

/* SIGTERM (sig) and wait (10 s, scaled); returns the wait status; fails if it does not end. */
int ti_md_signal_wait(ti_md *m, int sig);

/* SIGKILL and reap. */
void ti_md_kill(ti_md *m);

/* 1 while it runs (not reaped, not a zombie). Reaps it (m->status) once it ended. */
int ti_md_alive(ti_md *m);

/* Wait up to s seconds (scaled) for it to end; 1 if it did (m->status), 0 if it runs. */
int ti_md_wait_end(ti_md *m, double s);

/* The last bytes of its stderr (static buffer, "(nothing)" when empty). */
const char *ti_md_err(const ti_md *m);

/* The whole stderr of md (up to cap - 1 bytes) into buf. */
void ti_md_err_all(const ti_md *m, char *buf, size_t cap);

/* The same for io_conn. */
void ti_io_err_all(const gt_proc *io, char *buf, size_t cap);
const char *ti_io_err(const gt_proc *io);

/* Fail the test with the message; "not implemented: " first when one of the mds this test
 * started said so on its stderr (a starter's stub). */
void ti_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The value of "name=N" in the last line of text that contains `marker` (e.g. "exiting:"),
 * or -1 if there is none. */
long ti_stat(const char *text, const char *marker, const char *name);

/* The statistics line of text that contains `marker` (the last one) is sane: every key=value
 * number is >= 0, and every one named *_us is at most run_s seconds (the test's own duration:
 * no latency can be longer). Fails the test naming who printed it and the field. */
void ti_expect_sane_stats(const char *text, const char *marker, double run_s, const char *who);

/* Fail unless no System V segment exists at keys K .. K+n-1 and no FIFO is left in the test
 * directory (where the programs' FIFOs go: $TMPDIR). `after` says after what. */
void ti_expect_no_queues(int n, const char *after);

/* The pids of the children of pid (from /proc/PID/task/PID/children), at most cap; returns how
 * many. */
int ti_children(pid_t pid, pid_t *out, int cap);

/* 1 if process pid runs (not a zombie). */
int ti_pid_alive(pid_t pid);

/* VmRSS of pid in KiB, or -1. */
long ti_rss_kib(pid_t pid);

/* ---- clients -------------------------------------------------------------------------- */

/* One client: sends `total` bytes of its stream (seed), at most `window` bytes ahead of what
 * came back (0: no limit), and checks what comes back. */
typedef struct {
    int fd;
    unsigned seed;
    uint64_t total;  /* bytes to send */
    uint64_t window; /* most bytes sent and not yet echoed; 0 = any */
    uint64_t sent, recvd;
    int half_close; /* shutdown(SHUT_WR) once all is sent, then expect the end of the stream */
    int ended;      /* the server closed (end of file or reset) */
    int shut;       /* shutdown done */
} ti_client;

/* Connect client c (non-blocking socket) to port, with the stream seed, nothing to send yet. */
void ti_client_open(ti_client *c, int port, unsigned seed);

/* Close it (a reset if `reset`). */
void ti_client_close(ti_client *c, int reset);

/* Give c `more` bytes more to send. */
void ti_client_add(ti_client *c, uint64_t more);

/*
 * Run clients c[0..n) until each has everything back (and, with half_close, saw the end of the
 * stream), at most timeout_s (scaled). A byte that differs from the client's stream fails the
 * test (naming the client, the offset, and whether it is another client's), as do bytes beyond
 * what was sent, and, unless allow_end, a connection that ends early. what names the step.
 * Returns the number of clients whose connection ended early (allow_end).
 */
int ti_pump(ti_client *c, int n, double timeout_s, int allow_end, const char *what);

/* Open n clients (seeds seed0, seed0 + 1, ...), each to send `each` bytes at most `window`
 * ahead, and ti_pump them (30 s). */
void ti_echo_clients(ti_client *c, int n, int port, unsigned seed0, uint64_t each, uint64_t window,
                     const char *what);

/* Close clients c[0..n) (an end of file each). */
void ti_close_clients(ti_client *c, int n);

/* Read from c for s seconds: fail if anything comes (used after everything came back). */
void ti_expect_silence(ti_client *c, int n, double s, const char *what);

/* Fill buf with bytes [pos, pos + len) of stream seed. */
void ti_pattern(unsigned char *buf, size_t len, unsigned seed, uint64_t pos);

#endif
