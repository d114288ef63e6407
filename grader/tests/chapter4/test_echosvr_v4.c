/*
 * test_echosvr_v4.c: black-box tests of ex4.1's echosvr_v4, the echo server that keeps its
 * statistics in a shared memory segment (stats.h) at the key given with -k.
 *
 * The test is its own client (the reference loadgen is chapter 3's) and reads the segment
 * itself, read-only, so each counter is checked against what the test did: connections made
 * and closed, round trips of a known size. Each round trip is sent once the previous echo came
 * back, so one round trip is one read on the server's side: one message.
 */
#include "gt.h"
#include "statseg.h"
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG "echosvr_v4"

/* Start the student's echosvr_v4 -k KEY (with -p 0), KEY this test's first; keyarg gets "0x...".
 * Returns the key. */
static key_t start_server(gt_proc *srv, char *keyarg, size_t cap)
{
    key_t key = gt_ipc_key(0);
    const char *args[] = {"-k", statseg_keyarg(key, keyarg, cap), NULL};
    gt_server_start(srv, gt_student(PROG), args);
    return key;
}

/* start_server, and its segment attached read-only (checked to be a stats segment). */
static const void *start_watched(gt_proc *srv, char *keyarg, size_t cap)
{
    key_t key = start_server(srv, keyarg, cap);
    return statseg_attach_ok(key, "once echosvr_v4 -k KEY listens");
}

/* The end of a test that passed: let go of the segment, stop the server (exit status 0). */
static void stop_watched(const void *seg, gt_proc *srv)
{
    statseg_detach(seg);
    gt_server_stop_clean(srv);
}

GT_TEST(echosvr_v4_help_exit_0, 10)
{
    static const char *const args[] = {"--help", NULL};
    gt_result r;
    gt_run(&r, 10, gt_student(PROG), args);
    gt_expect_help(&r, PROG " --help");
}

GT_TEST(echosvr_v4_bad_arguments_exit_2, 30)
{
    char key[32];
    statseg_keyarg(gt_ipc_key(0), key, sizeof key);
    const char *const cases[][6] = {
        {"-p", "0", NULL},                        /* no -k */
        {"-k", "nokey", "-p", "0", NULL},         /* not a number */
        {"-k", "0", "-p", "0", NULL},             /* 0 is IPC_PRIVATE, not a key */
        {"-k", key, "-p", "70000", NULL},         /* port out of range */
        {"-k", key, "-p", "0", "--frobnicate", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gt_result r;
        char cmd[256];
        gt_describe(cmd, sizeof cmd, PROG, cases[i]);
        gt_run(&r, 10, gt_student(PROG), cases[i]);
        gt_expect_usage_error(&r, cmd, "no server should start");
        statseg_expect_none(gt_ipc_key(0), "after a usage error");
    }
}

GT_TEST(echosvr_v4_counts_messages_and_bytes, 60)
{
    char keybuf[32];
    gt_proc srv;
    const void *seg = start_watched(&srv, keybuf, sizeof keybuf);
    const struct stats *st = stats_of((void *)(uintptr_t)seg);

    struct statseg_counts want = {0, 0, 0, 0};
    statseg_wait(seg, &want, 2, "the start, with no client yet");
    uint64_t started = stats_get(&st->started_ns);
    const struct shm_header *h = seg;
    if (started == 0 || started + 60000000000ull < h->created_ns ||
        started > h->created_ns + 60000000000ull)
        gt_fail("started_ns is %llu, not the start time (the segment was created at %llu, "
                "CLOCK_REALTIME nanoseconds)",
                (unsigned long long)started, (unsigned long long)h->created_ns);

    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = gt_connect(srv.port);
    want.accepted = want.open = 3;
    statseg_wait(seg, &want, 5, "3 clients connected");
    if (stats_get(&st->last_message_ns) != 0)
        gt_fail("last_message_ns is %llu before any message; expected 0",
                (unsigned long long)stats_get(&st->last_message_ns));
    for (int i = 0; i < 3; i++)
        statseg_echo(fds[i], 10 * (i + 1), 100, (unsigned)i * 100);
    want.messages = 60;
    want.bytes = 6000;
    statseg_wait(seg, &want, 5,
                 "3 clients made 10, 20 and 30 round trips of 100 bytes, each sent once the "
                 "previous echo came back");
    uint64_t last = stats_get(&st->last_message_ns);
    if (last + 1000000000u < started || last > started + 600000000000ull) /* 1 s: clock steps */
        gt_fail("last_message_ns is %llu after 60 messages, not a time after started_ns %llu",
                (unsigned long long)last, (unsigned long long)started);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    stop_watched(seg, &srv);
}

GT_TEST(echosvr_v4_open_decremented_on_close, 60)
{
    char keybuf[32];
    gt_proc srv;
    const void *seg = start_watched(&srv, keybuf, sizeof keybuf);

    int fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i] = gt_connect(srv.port);
        statseg_echo(fds[i], 1, 10, (unsigned)i);
    }
    struct statseg_counts want = {5, 50, 5, 5};
    statseg_wait(seg, &want, 5, "5 clients connected and echoed 10 bytes each");
    for (int i = 0; i < 2; i++)
        close(fds[i]);
    want.open = 3;
    statseg_wait(seg, &want, 5, "2 of the 5 clients closed their connections");
    /* A reset (SO_LINGER 0) is a close too. */
    struct linger lg = {1, 0};
    if (setsockopt(fds[2], SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == -1)
        gt_fail("setsockopt(SO_LINGER 0): %s", strerror(errno));
    close(fds[2]);
    want.open = 2;
    statseg_wait(seg, &want, 5, "a third client reset its connection (SO_LINGER 0)");
    for (int i = 3; i < 5; i++)
        close(fds[i]);
    want.open = 0;
    statseg_wait(seg, &want, 5, "every client left");
    /* The counters must still work for new clients: none went below 0 and wrapped. */
    int fd = gt_connect(srv.port);
    statseg_echo(fd, 1, 10, 9);
    struct statseg_counts more = {6, 60, 6, 1};
    statseg_wait(seg, &more, 5, "every client left and a new one echoed 10 bytes");
    close(fd);
    stop_watched(seg, &srv);
}

GT_TEST(echosvr_v4_segment_0600_removed_at_exit, 60)
{
    char keybuf[32];
    gt_proc srv;
    key_t key = start_server(&srv, keybuf, sizeof keybuf);
    int id = shmget(key, 0, 0);
    struct shmid_ds ds;
    if (id == -1 || shmctl(id, IPC_STAT, &ds) == -1)
        gt_fail("no segment at key 0x%x once echosvr_v4 -k 0x%x listens: %s", (unsigned)key,
                (unsigned)key, strerror(errno));
    if ((ds.shm_perm.mode & 0777) != 0600)
        gt_fail("the statistics segment has mode 0%o; expected 0600 (0666 lets any user of the "
                "machine read and overwrite it)",
                ds.shm_perm.mode & 0777u);
    if (ds.shm_cpid != srv.pid)
        gt_fail("the segment at key 0x%x was created by pid %d, not by the server (pid %d)",
                (unsigned)key, (int)ds.shm_cpid, (int)srv.pid);
    /* With a client connected and one gone, as a real run ends. */
    int a = gt_connect(srv.port), b = gt_connect(srv.port);
    statseg_echo(a, 3, 1000, 1);
    statseg_echo(b, 3, 1000, 2);
    close(b);
    gt_server_stop_clean(&srv);
    close(a);
    statseg_expect_none(key, "after echosvr_v4 exited on SIGTERM");
}

GT_TEST(echosvr_v4_second_server_same_key_refused, 60)
{
    char keybuf[32];
    gt_proc srv;
    const void *seg = start_watched(&srv, keybuf, sizeof keybuf);
    key_t key = gt_ipc_key(0);
    int fd = gt_connect(srv.port);
    statseg_echo(fd, 4, 50, 3);
    struct statseg_counts want = {4, 200, 1, 1};
    statseg_wait(seg, &want, 5, "a client echoed 4 messages of 50 bytes");

    const char *args[] = {"-k", keybuf, "-p", "0", NULL};
    char cmd[256];
    gt_describe(cmd, sizeof cmd, PROG, args);
    gt_result r;
    gt_run(&r, 20, gt_student(PROG), args);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 1)
        gt_fail("%s while another echosvr_v4 uses key %s: %s; expected exit status 1 (the key "
                "is taken); stdout: %s; stderr: %s",
                cmd, keybuf, gt_status_str(r.status, r.timed_out), gt_out_head(&r),
                gt_err_or_empty(&r));
    if (strstr(r.out, "listening on port") != NULL)
        gt_fail("%s said it was listening although the key %s is taken; it must refuse to "
                "start",
                cmd, keybuf);
    char dec[32];
    snprintf(dec, sizeof dec, "%d", (int)key);
    if (gt_count_lines(r.err) != 1 || (strstr(r.err, keybuf) == NULL && strstr(r.err, dec) == NULL))
        gt_fail("%s refused with status 1, but its stderr should be one line naming the key "
                "(%s) and how to remove a stale segment (ipcrm); it was: %s",
                cmd, keybuf, gt_err_or_empty(&r));

    /* The first one is untouched: still serving, its counters neither wiped nor reset. */
    statseg_wait(seg, &want, 1, "a second echosvr_v4 was refused the same key");
    statseg_echo(fd, 1, 50, 4);
    want.messages = 5;
    want.bytes = 250;
    statseg_wait(seg, &want, 5, "a second server was refused and the client echoed once more");
    close(fd);
    stop_watched(seg, &srv);
    statseg_expect_none(key, "after the first echosvr_v4 exited on SIGTERM");
}
