/*
 * test_apps.h: what the black-box tests of ex5.3 (md's statistics per connection, viewconn)
 * and ex5.4 (io_conn's contexts from the pool) share.
 *
 * Chapter 5's io_conn and md are chapter 4's reference programs linked with the student's
 * chapter 5 files. Each test runs them on its own IPC keys (gt_ipc_key(0) is the base key K:
 * queues at K and K+1, with md -w N up to K+33, the statistics table at K+34), one of them with
 * the student's files and the others the reference, and talks to io_conn through clients of its
 * own: a client's round trip (ta_echo) sends a few bytes and waits for all of them back, so it
 * is one message for md (one read of io_conn), and the test knows each connection's messages
 * and bytes. What md keeps is read with viewconn --once (ta_view), whose lines are parsed.
 *
 * Nothing here takes heap memory: on the memcheck pass the test runner itself runs under
 * valgrind, and a failing step leaves the test by a long jump.
 */
#ifndef SVRLAB_TEST_APPS_H
#define SVRLAB_TEST_APPS_H

#include "gt.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TA_STATS_OFFSET 34 /* the statistics table: K+34 (iomd.h: iomd_key_stats) */
#define TA_VIEW_MAX 64     /* connections a ta_view keeps */

/* The base key K, as a number and as -k's text. */
key_t ta_key(void);
const char *ta_key_arg(void);

/* Start io_conn (the student's: with the student's connpool.c, or the reference) with -k K and
 * the NULL-terminated extra arguments (may be NULL); waits for "listening on port N". */
void ta_io_start(gt_proc *io, int student, const char *const *extra);

/* A program that is not a server (no port, no readiness line): md, or a live viewconn. p has
 * its name, its pid (0 once reaped) and the path of its stderr file. */
typedef struct {
    gt_proc p;
    int status; /* its wait status once reaped */
} ta_prog;

/* Start md (the student's: with the student's connstats.c and cache.c, or the reference) with
 * -k K and the extra arguments: under valgrind on the memcheck pass when it is the student's. */
void ta_md_start(ta_prog *m, int student, const char *const *extra);

/* Start the program at path (gt_spawn: under valgrind on the memcheck pass if it is the
 * student's) with -k K and the extra arguments, its stdout into out_fd (-1: its stderr file). */
void ta_prog_start(ta_prog *p, const char *name, const char *path, const char *const *extra,
                   int out_fd);

/* md (-k K and md_extra) and then io_conn (-k K and io_extra), each the student's or the
 * reference: what every test of ex5.3 and ex5.4 starts with. */
void ta_pair_start(ta_prog *md, int student_md, const char *const *md_extra, gt_proc *io,
                   int student_io, const char *const *io_extra);

/* Stop io_conn and md with SIGTERM (each must exit 0), then ta_expect_nothing_left. */
void ta_pair_stop(gt_proc *io, ta_prog *md);

/* SIGTERM, and wait (10 s, scaled); fail unless it exits with status 0. */
void ta_prog_stop_clean(ta_prog *p);

/* SIGKILL, and reap. */
void ta_prog_kill(ta_prog *p);

/* 1 while it runs; 0 once it ended (reaped: p->status). */
int ta_prog_alive(ta_prog *p);

/* The last bytes of its stderr (a static buffer; "(nothing)" when empty). */
const char *ta_prog_err(const ta_prog *p);

/* One connection as viewconn --once lists it. */
typedef struct {
    uint64_t flow, messages, bytes;
    double age_s, idle_s;
} ta_conn;

/* What one viewconn --once said. */
typedef struct {
    int status;    /* its wait status */
    int timed_out; /* it was killed after 10 s (scaled) */
    int md_pid;    /* from the summary line (-1 if none) */
    int running;   /* the summary line said state=running */
    int n;         /* connections listed (at most TA_VIEW_MAX kept) */
    ta_conn c[TA_VIEW_MAX];
    char out[2048]; /* its stdout, cut */
    char err[512];  /* its stderr's tail */
} ta_view;

/* Run viewconn -k K --once (the student's or the reference) and parse what it prints. It fails
 * the test if a line of a run that exited 0 is not as the chapter's guide says. Returns the
 * exit status (0, 1, or -1 when killed / timed out). */
int ta_view_once(ta_view *v, int student);

/* The connections md should list: messages and bytes of each (flows unknown to the test). */
typedef struct {
    uint64_t messages, bytes;
} ta_want;

/* 1 if v lists exactly the connections of want[0..n) (as a multiset of messages and bytes). */
int ta_view_matches(const ta_view *v, const ta_want *want, int n);

/* Run the reference viewconn --once until it lists exactly want[0..n) (the table of a running
 * md, m), every 50 ms for up to timeout_s (scaled); fail with the last listing, md's stderr and
 * `what` otherwise. The last listing is left in *v. */
void ta_wait_view(ta_view *v, const ta_prog *m, const ta_want *want, int n, double timeout_s,
                  const char *what);

/* A new client of io that makes one round trip of len bytes, and is then listed by the
 * reference viewconn (messages=1 bytes=len; the listing in *v) as the only connection of md's
 * table. Returns its descriptor. */
int ta_client_seen(gt_proc *io, const ta_prog *md, ta_view *v, size_t len, unsigned seed);

/* The listing for a message: "messages=M bytes=B; ..." (a static buffer). */
const char *ta_view_str(const ta_view *v);

/* A blocking connection to io_conn (gt_connect). */
int ta_connect(int port);

/* Send len bytes (the stream of seed, from offset pos) on fd and read them all back, within
 * timeout_s (scaled). 0 once the same bytes came back; -1 if the connection was closed or
 * reset first (nothing else: wrong bytes or a timeout fail the test, with what). */
int ta_echo_try(int fd, size_t len, unsigned seed, uint64_t pos, double timeout_s);

/* ta_echo_try that must succeed: fails the test, naming what, if the connection closed. */
void ta_echo(int fd, size_t len, unsigned seed, uint64_t pos, const char *what);

/* 1 if the server closed fd (end of file, or a reset) within timeout_s (scaled), 0 if it is
 * still open then (nothing may arrive on it: bytes fail the test). */
int ta_closed_within(int fd, double timeout_s);

/* Fail unless no System V segment is left at K .. K+TA_STATS_OFFSET and no queue FIFO is left
 * in $TMPDIR; `after` says after what. */
void ta_expect_nothing_left(const char *after);

#endif
