/*
 * statseg.h: helpers of ex4.1's black-box tests (test_echosvr_v4.c, test_viewstat.c).
 *
 * The tests look at echosvr_v4's statistics segment (stats.h) themselves, with plain shmget
 * and a read-only shmat, never through the student's shm.c; they echo with their own clients;
 * and they read viewstat's live output line by line from a pipe. Nothing here takes heap
 * memory: on the memcheck pass the test runner itself runs under valgrind, and a failing step
 * leaves the test by a long jump.
 */
#ifndef SVRLAB_CH4_STATSEG_H
#define SVRLAB_CH4_STATSEG_H

#include "gt.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The counters the tests check (stats.h's, without the times). */
struct statseg_counts {
    uint64_t messages, bytes, accepted, open;
};

/* "0x..." for -k, in buf (at least 16 bytes). */
const char *statseg_keyarg(key_t key, char *buf, size_t cap);

/* The segment at key attached read-only, or NULL with errno (ENOENT: none). */
const void *statseg_attach(key_t key);
void statseg_detach(const void *base);

/* The segment at key attached read-only, or the test fails (saying `when`); its header must be
 * a stats segment: STATS_MAGIC, STATS_VERSION, STATS_SEGMENT_SIZE bytes. */
const void *statseg_attach_ok(key_t key, const char *when);

/* The counters now (each read whole). */
void statseg_read(const void *base, struct statseg_counts *c);

/* Wait (timeout_s, scaled) until the counters at base equal want; else fail, quoting what the
 * segment held and `after` (what the test had done). */
void statseg_wait(const void *base, const struct statseg_counts *want, double timeout_s,
                  const char *after);

/* Fail unless no segment exists at key (shmget(key, 0, 0) fails with ENOENT). */
void statseg_expect_none(key_t key, const char *when);

/* n round trips of `size` pattern bytes on fd, each sent once the previous echo is back. */
void statseg_echo(int fd, int n, size_t size, unsigned seed);

/* A program whose stdout the test reads line by line while it runs (viewstat's live mode):
 * stdout to a pipe, stderr to a file in the test directory. */
typedef struct {
    pid_t pid;
    int out_fd;
    char name[64];
    char err_path[PATH_MAX];
    char buf[16384]; /* bytes read but not yet returned as lines */
    size_t len;
} statseg_reader;

void statseg_reader_start(statseg_reader *r, const char *path, const char *const *args);

/* The next whole line (without '\n') into line, waiting until timeout_s (scaled) from now.
 * Returns 1, or 0 on timeout, or -1 once the program closed its stdout. */
int statseg_reader_line(statseg_reader *r, char *line, size_t cap, double timeout_s);

/* SIGTERM, then wait (10 s scaled, then SIGKILL). Returns the wait status. */
int statseg_reader_stop(statseg_reader *r);

/* The tail of the program's stderr, "(nothing)" when empty (a static buffer). */
const char *statseg_reader_err(const statseg_reader *r);

/* The value of `name=` in a key=value line (at the start or after a blank) as an integer,
 * into *v: 0, or -1 if absent or not a whole decimal number. */
int statseg_field(const char *line, const char *name, long long *v);

#endif
