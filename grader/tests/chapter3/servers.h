/*
 * servers.h: the black-box tests that chapter 3's servers share, and the helpers under them.
 *
 * echosvr_poll (ex3.1), echosvr_v1 (ex3.2) and echosvr_v2 (ex3.3) make the same promises to
 * their clients: every byte back once and in order, whatever the message size and however
 * many clients; bounded memory for a client that sends and never reads; no death when a
 * client vanishes; no busy loop when descriptors run out; a clean exit on SIGTERM. Each
 * promise is written once here, as a function taking the program's name, and each server's
 * test file registers a thin GT_TEST per promise, so every server earns its own points.
 * The UDP and statistics tests use the helpers at the end.
 *
 * Nothing here takes heap memory: on the memcheck pass the test runner itself runs under
 * valgrind, and a failing step leaves the test by a long jump.
 */
#ifndef SVRLAB_CH3_SERVERS_H
#define SVRLAB_CH3_SERVERS_H

#include "gt.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- the shared tests (prog: "echosvr_poll", "echosvr_v1", "echosvr_v2") ---------------- */

/* `prog --help`: exit 0, the usage on stdout. */
void srv_test_help(const char *prog);

/* An unknown option, a port out of range, an address that is not one: exit 2, one stderr line. */
void srv_test_bad_arguments(const char *prog);

/* One connection echoes messages of 1 byte to 1 MiB (one after the other, each read back while
 * it is sent): every byte comes back once and in order, and nothing more. */
void srv_test_echo_sizes(const char *prog);

/* The reference loadgen: 1,000 connections at once, each sending a few messages; no error. */
void srv_test_1000_clients(const char *prog);

/* A client sends 8 MiB and reads nothing until the server stops taking more, then reads:
 * every byte comes back (a server that drops what one write did not take loses bytes). */
void srv_test_slow_reader(const char *prog);

/* A client sends without reading (192 KiB with a small receive window; then up to 8 MiB),
 * shuts down its sending side (end of file) while its echo is still pending, then reads: every
 * byte comes back, then the server closes. */
void srv_test_half_close(const char *prog);

/* A client pushes up to 1 GiB and never reads: the server's VmRSS stays under 64 MiB, and
 * another client is served meanwhile. */
void srv_test_nonreader_memory(const char *prog);

/* Clients reset their connections (SO_LINGER 0) in the middle of a message, some after
 * sending their FIN (the server's next write gets EPIPE): the server survives, no SIGPIPE
 * death, and serves an older and a new client afterwards. */
void srv_test_client_reset(const char *prog);

/* Started with a soft RLIMIT_NOFILE of 64, the server runs out of descriptors: the clients it
 * has are still served, it does not spin while connections wait (CPU under 50% of the wall
 * time), and waiting clients are served once descriptors free up. */
void srv_test_out_of_descriptors(const char *prog);

/* SIGTERM while the reference loadgen keeps 20 connections busy: exit status 0 (and, on the
 * memcheck pass, nothing leaked). extra: more arguments for the server, or NULL. */
void srv_test_sigterm_under_load(const char *prog, const char *const *extra);

/* The c10k test: 10,000 connections of the reference loadgen, one message a second each for
 * 10 seconds, no error. Skipped (never passed) where the hard descriptor limit is too low. */
void srv_test_c10k(const char *prog);

/* ---- helpers ---------------------------------------------------------------------------- */

/* The last bytes of the program's stderr, "(nothing)" when empty; a static buffer. */
const char *srv_err(const gt_proc *p);

/* Fail unless the run ended with exit status 2 and one line on stderr. cmd names the run. */
void srv_expect_usage_error(const gt_result *r, const char *cmd);

/* Run `path --help`: fail unless exit 0 with the usage on stdout. */
void srv_expect_help(const char *path, const char *name);

/* Fill buf with bytes [pos, pos + len) of the test stream `seed`: each byte depends on the
 * seed and on its position, so a lost, repeated or reordered byte shows. */
void srv_pattern(unsigned char *buf, size_t len, unsigned seed, uint64_t pos);

/* The program's VmRSS in KiB, or -1 if it can not be read (the process is gone). */
long srv_rss_kib(pid_t pid);

/* Raise the soft RLIMIT_NOFILE of this process (and so of the programs it starts) to at least
 * want, within the hard limit. Returns the soft limit now in force. */
unsigned long srv_raise_nofile(unsigned long want);

#endif
