/*
 * test_connstats.c: ex5.3, md's statistics per connection (the student's connstats.c and
 * cache.c in chapter 4's reference md), black box: the reference io_conn, the test's own
 * clients, and the reference viewconn --once to read what md keeps.
 *
 * Each client's round trip is one message of known size, so the test knows what every
 * connection's record must say; flows are unknown to it, so a listing is compared as a set of
 * (messages, bytes) pairs, which the tests make distinct.
 */
#include "gt.h"
#include "test_apps.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

/* Client i makes i + 1 round trips of 100 * (i + 1) + 7 bytes: distinct records. */
static void talk(int *fd, ta_want *want, int first, int n, int port)
{
    for (int i = first; i < first + n; i++) {
        char what[64];
        size_t len = 100 * (size_t)(i + 1) + 7;
        snprintf(what, sizeof what, "client %d through the reference io_conn", i);
        fd[i] = ta_connect(port);
        for (int j = 0; j <= i; j++)
            ta_echo(fd[i], len, (unsigned)i, (uint64_t)j * len, what);
        want[i] = (ta_want){(uint64_t)i + 1, (uint64_t)(i + 1) * len};
    }
}

GT_TEST(connstats_counts_messages_and_bytes, 60)
{
    ta_prog md;
    gt_proc io;
    int fd[4];
    ta_want want[4];
    ta_view v;
    ta_pair_start(&md, 1, NULL, &io, 0, NULL);
    talk(fd, want, 0, 4, io.port);
    ta_wait_view(&v, &md, want, 4, 5, "4 clients made 1, 2, 3 and 4 round trips");
    for (int i = 0; i < v.n; i++)
        for (int j = i + 1; j < v.n; j++)
            if (v.c[i].flow == v.c[j].flow)
                gt_fail("viewconn lists flow 0x%016llx twice: %s", (unsigned long long)v.c[i].flow,
                        gt_head(v.out));
    for (int i = 0; i < 4; i++)
        close(fd[i]);
    ta_pair_stop(&io, &md);
}

GT_TEST(connstats_record_removed_on_close, 60)
{
    ta_prog md;
    gt_proc io;
    int fd[4];
    ta_want want[4];
    ta_view v;
    ta_pair_start(&md, 1, NULL, &io, 0, NULL);
    talk(fd, want, 0, 3, io.port);
    ta_wait_view(&v, &md, want, 3, 5, "3 clients made 1, 2 and 3 round trips");

    close(fd[1]);
    want[1] = want[2];
    ta_wait_view(&v, &md, want, 2, 5,
                 "3 clients made 1, 2 and 3 round trips, then the second one closed");
    talk(fd, want, 3, 1, io.port);
    want[2] = want[3];
    ta_wait_view(&v, &md, want, 3, 5, "after a close, a new client made 4 round trips");
    close(fd[0]);
    close(fd[2]);
    close(fd[3]);
    ta_wait_view(&v, &md, want, 0, 5, "every client closed");
    ta_pair_stop(&io, &md);
}

GT_TEST(connstats_first_and_last_seen, 60)
{
    ta_prog md;
    gt_proc io;
    ta_view v;
    ta_pair_start(&md, 1, NULL, &io, 0, NULL);
    int fd = ta_connect(io.port);
    ta_echo(fd, 50, 1, 0, "a client's first round trip");
    gt_sleep(1.0);
    ta_echo(fd, 50, 1, 50, "its second round trip, 1 s later");
    ta_want want = {2, 100};
    ta_wait_view(&v, &md, &want, 1, 5, "a client made 2 round trips 1 s apart");
    const ta_conn *c = &v.c[0];
    double scale = gt_time_scale();
    if (c->age_s < 0.95 || c->age_s > 30 * scale)
        gt_fail("the connection's first message came 1 s before its second, and viewconn says "
                "age_s=%.3f (since the first): is first seen kept from the first message, in "
                "CLOCK_MONOTONIC nanoseconds (the message's ts)? %s",
                c->age_s, gt_head(v.out));
    if (c->idle_s > c->age_s - 0.9)
        gt_fail("the connection's last message came 1 s after its first, and viewconn says "
                "age_s=%.3f idle_s=%.3f: is last seen updated at every message? %s",
                c->age_s, c->idle_s, gt_head(v.out));
    close(fd);
    ta_pair_stop(&io, &md);
}

GT_TEST(connstats_md_workers_master_records, 60)
{
    ta_prog md;
    gt_proc io;
    int fd[6];
    ta_want want[6];
    ta_view v;
    const char *workers[] = {"-w", "2", NULL};
    ta_pair_start(&md, 1, workers, &io, 0, NULL);
    talk(fd, want, 0, 6, io.port);
    ta_wait_view(&v, &md, want, 6, 5, "md -w 2: 6 clients made 1 to 6 round trips");
    for (int i = 0; i < 6; i += 2)
        close(fd[i]);
    want[0] = want[1];
    want[1] = want[3];
    want[2] = want[5];
    ta_wait_view(&v, &md, want, 3, 5, "md -w 2: 3 of the 6 clients closed");
    for (int i = 1; i < 6; i += 2)
        close(fd[i]);
    ta_wait_view(&v, &md, want, 0, 5, "md -w 2: every client closed");
    ta_pair_stop(&io, &md);
}

GT_TEST(connstats_table_0600_removed_at_exit, 60)
{
    ta_prog md;
    gt_proc io;
    ta_view v;
    key_t key = ta_key() + TA_STATS_OFFSET;
    ta_pair_start(&md, 1, NULL, &io, 0, NULL);
    int fd = ta_client_seen(&io, &md, &v, 10, 7);

    struct shmid_ds ds;
    int id = shmget(key, 0, 0);
    if (id == -1 || shmctl(id, IPC_STAT, &ds) == -1)
        gt_fail("shmget/shmctl of md's table at key 0x%x: %s", (unsigned)key, strerror(errno));
    if ((ds.shm_perm.mode & 0777) != 0600)
        gt_fail("md's table at key 0x%x has mode %03o; expected 0600 (only its owner may read "
                "or write it)",
                (unsigned)key, (unsigned)(ds.shm_perm.mode & 0777));
    if (ds.shm_cpid != md.p.pid)
        gt_fail("the table at key 0x%x was created by pid %d, not by md (pid %d)", (unsigned)key,
                (int)ds.shm_cpid, (int)md.p.pid);
    close(fd);
    ta_prog_stop_clean(&md);
    if (shmget(key, 0, 0) != -1 || errno != ENOENT)
        gt_fail("md stopped cleanly (SIGTERM) and its table is still at key 0x%x: md removes "
                "what it created (mdstats_close: cache_destroy)",
                (unsigned)key);
    gt_server_stop_clean(&io);
    ta_expect_nothing_left("io_conn and md stopped cleanly");
}

GT_TEST(connstats_killed_md_table_replaced, 60)
{
    ta_prog md, md2;
    gt_proc io;
    ta_view v;
    ta_pair_start(&md, 1, NULL, &io, 0, NULL);
    int fd = ta_connect(io.port);
    ta_echo(fd, 20, 3, 0, "a client's first round trip");
    ta_echo(fd, 20, 3, 20, "its second round trip");
    ta_want want = {2, 40};
    ta_wait_view(&v, &md, &want, 1, 5, "a client made 2 round trips");
    ta_prog_kill(&md);

    /* The table stays behind (md had no chance to remove it); a new md must not be stopped by
     * it, nor carry on with what the dead one counted: it starts afresh. */
    ta_md_start(&md2, 1, NULL);
    ta_echo(fd, 20, 3, 40, "a round trip after md was killed (SIGKILL) and started again");
    want = (ta_want){1, 20};
    ta_wait_view(&v, &md2, &want, 1, 5,
                 "md was killed and started again, and the client made 1 more round trip");
    if (v.md_pid != md2.p.pid)
        gt_fail("viewconn reads a table made by pid %d, not by the new md (pid %d)", v.md_pid,
                (int)md2.p.pid);
    close(fd);
    ta_pair_stop(&io, &md2);
}
