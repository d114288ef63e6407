/*
 * test_muxbench.c: black-box tests of ex2.2, the student's muxbench.
 *
 * muxbench is run as a program and graded on what it does, never on its timings: the
 * mechanisms and the N it measures, the CSV it prints (header, columns, numbers that make
 * sense: positive, min <= median <= max, the iterations and rounds asked for), what it does
 * about the descriptor limit, --help and bad arguments. The descriptor-limit tests run it
 * through /bin/sh with `ulimit` lowered first.
 *
 * muxbench's contract (see its --help): stdout is the header line
 *   mechanism,n,iterations,ns_per_wait,ns_per_wait_min,ns_per_wait_max,rounds,setup_ns,fds
 * then one line per mechanism and N; select is skipped, with a note on stderr, for N whose
 * descriptors reach FD_SETSIZE; default -m select,poll,epoll and -n 10,30,100,300,1000,3000,
 * 10000; exit 0 when measured, 1 on a failure (such as a hard descriptor limit below what N
 * needs), 2 on bad arguments (one line on stderr).
 */
#include "gt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/wait.h>

#define HEADER "mechanism,n,iterations,ns_per_wait,ns_per_wait_min,ns_per_wait_max,rounds,setup_ns,fds"
#define MAX_ROWS 64

struct row {
    char mech[16];
    long n, iterations, rounds;
    double per_wait, per_min, per_max;
    long setup_ns;
    char fds[16];
};

struct table {
    int nrows;
    struct row rows[MAX_ROWS];
};

static char cmdline[512]; /* the last command, for messages */

static void run_mux(gt_result *r, double timeout_s, const char *const *args)
{
    gt_describe(cmdline, sizeof cmdline, "muxbench", args);
    gt_run(r, timeout_s, gt_student("muxbench"), args);
}

/* Run muxbench through /bin/sh after `limit_cmd` (e.g. "ulimit -n 256"). */
static void run_mux_limited(gt_result *r, double timeout_s, const char *limit_cmd,
                            const char *const *args)
{
    static char script[128];
    const char *argv[32];
    int n = 0;
    snprintf(script, sizeof script, "%s && exec \"$0\" \"$@\"", limit_cmd);
    argv[n++] = "-c";
    argv[n++] = script;
    argv[n++] = gt_student("muxbench");
    for (const char *const *a = args; *a != NULL && n < 30; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    snprintf(cmdline, sizeof cmdline, "sh -c '%s' then muxbench", limit_cmd);
    for (const char *const *a = args; *a != NULL; a++) {
        size_t used = strlen(cmdline);
        snprintf(cmdline + used, sizeof cmdline - used, " %s", *a);
    }
    gt_run(r, timeout_s, "/bin/sh", argv);
}

/* Parse one data line into *row; on a problem, fail the test saying what is wrong. */
static void parse_row(const char *line, struct row *row)
{
    char buf[512], *field[16];
    int nf = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *p = buf;;) {
        if (nf == 16)
            break;
        field[nf++] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    if (nf != 9)
        gt_fail("%s printed the line '%s' with %d fields; the header has 9: " HEADER, cmdline,
                line, nf);
    if (strcmp(field[0], "select") != 0 && strcmp(field[0], "poll") != 0 &&
        strcmp(field[0], "epoll") != 0)
        gt_fail("%s printed the line '%s': mechanism '%s' is not select, poll or epoll", cmdline,
                line, field[0]);
    snprintf(row->mech, sizeof row->mech, "%s", field[0]);
    if (gt_parse_long(field[1], &row->n) == -1 || row->n < 1 ||
        gt_parse_long(field[2], &row->iterations) == -1 || row->iterations < 1 ||
        gt_parse_long(field[6], &row->rounds) == -1 || row->rounds < 1)
        gt_fail("%s printed the line '%s': n, iterations and rounds must be whole numbers of "
                "at least 1",
                cmdline, line);
    if (gt_parse_double(field[3], &row->per_wait) == -1 ||
        gt_parse_double(field[4], &row->per_min) == -1 ||
        gt_parse_double(field[5], &row->per_max) == -1)
        gt_fail("%s printed the line '%s': ns_per_wait, ns_per_wait_min and ns_per_wait_max "
                "must be numbers",
                cmdline, line);
    if (!(row->per_min > 0 && row->per_min <= row->per_wait && row->per_wait <= row->per_max))
        gt_fail("%s printed the line '%s': expected 0 < ns_per_wait_min <= ns_per_wait <= "
                "ns_per_wait_max (nanoseconds per wait)",
                cmdline, line);
    if (gt_parse_long(field[7], &row->setup_ns) == -1 || row->setup_ns < 0)
        gt_fail("%s printed the line '%s': setup_ns must be a whole number, 0 or more", cmdline,
                line);
    if (strcmp(field[8], "udp") != 0 && strcmp(field[8], "eventfd") != 0)
        gt_fail("%s printed the line '%s': fds '%s' is not udp or eventfd", cmdline, line,
                field[8]);
    snprintf(row->fds, sizeof row->fds, "%s", field[8]);
}

/* A successful run: exit 0, the header, then only well-formed data lines. */
static void expect_table(const gt_result *r, struct table *t)
{
    gt_expect_exit(r, cmdline, 0);
    if (r->out_len >= sizeof r->out - 1)
        gt_fail("%s printed more than %zu bytes on stdout", cmdline, sizeof r->out - 1);
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
        if (len >= sizeof line)
            gt_fail("%s printed a line of %zu characters", cmdline, len);
        memcpy(line, p, len);
        line[len] = '\0';
        if (t->nrows == MAX_ROWS)
            gt_fail("%s printed more than %d data lines", cmdline, MAX_ROWS);
        parse_row(line, &t->rows[t->nrows++]);
    }
}

/* The rows of (mech, n); fails if there is more than one. */
static const struct row *find(const struct table *t, const char *mech, long n)
{
    const struct row *hit = NULL;
    for (int i = 0; i < t->nrows; i++) {
        if (strcmp(t->rows[i].mech, mech) == 0 && t->rows[i].n == n) {
            if (hit != NULL)
                gt_fail("%s printed two lines for %s at n=%ld", cmdline, mech, n);
            hit = &t->rows[i];
        }
    }
    return hit;
}

static void expect_row(const struct table *t, const char *mech, long n)
{
    if (find(t, mech, n) == NULL)
        gt_fail("%s printed no line for %s at n=%ld", cmdline, mech, n);
}

/* Skip unless this process may open about n + 64 descriptors (hard limit). */
static void need_hard_limit(long n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
        rl.rlim_max < (rlim_t)n + 64)
        gt_skip("this test needs about %ld open descriptors, but the hard limit (RLIMIT_NOFILE) "
                "is %llu here; raise it (as root: ulimit -Hn 20000) before grading",
                n + 64, (unsigned long long)rl.rlim_max);
}

/* ---- the tests ------------------------------------------------------------------------ */

GT_TEST(muxbench_help_exit_0, 20)
{
    gt_result r;
    const char *args[] = {"--help", NULL};
    run_mux(&r, 10, args);
    gt_expect_help(&r, cmdline);
}

GT_TEST(muxbench_bad_args_exit_2, 40)
{
    static const char *const cases[][4] = {
        {"-m", "kqueue", NULL}, {"-m", "select,,poll", NULL}, {"-n", "0", NULL},
        {"-n", "10,abc", NULL}, {"-n", "", NULL},             {"-i", "0", NULL},
        {"-r", "-1", NULL},     {"-f", "pipes", NULL},        {"--bogus", NULL},
        {"surplus", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gt_result r;
        run_mux(&r, 10, cases[i]);
        gt_expect_usage_error(&r, cmdline, "nothing should be measured");
    }
}

GT_TEST(muxbench_csv_lines_all_mechanisms, 60)
{
    gt_result r;
    struct table t;
    const char *args[] = {"-n", "10,100", "-i", "50", "-r", "3", NULL};
    run_mux(&r, 40, args);
    expect_table(&r, &t);
    if (t.nrows != 6)
        gt_fail("%s printed %d data lines, expected 6 (select, poll and epoll at n=10 and "
                "n=100); stdout: %s",
                cmdline, t.nrows, gt_head(r.out));
    static const char *const mechs[] = {"select", "poll", "epoll"};
    for (int m = 0; m < 3; m++) {
        for (long n = 10; n <= 100; n *= 10) {
            expect_row(&t, mechs[m], n);
            const struct row *row = find(&t, mechs[m], n);
            if (row->iterations != 50 || row->rounds != 3)
                gt_fail("%s printed iterations=%ld rounds=%ld for %s at n=%ld, expected the "
                        "50 and 3 asked for",
                        cmdline, row->iterations, row->rounds, mechs[m], n);
            if (strcmp(row->fds, "udp") != 0)
                gt_fail("%s printed fds=%s, expected udp (the default)", cmdline, row->fds);
        }
    }
}

GT_TEST(muxbench_mechanisms_as_asked, 60)
{
    gt_result r;
    struct table t;
    const char *args1[] = {"-m", "epoll", "-n", "20", "-i", "20", "-r", "2", NULL};
    run_mux(&r, 30, args1);
    expect_table(&r, &t);
    if (t.nrows != 1 || find(&t, "epoll", 20) == NULL)
        gt_fail("%s printed %d data lines, expected exactly one, for epoll at n=20; stdout: %s",
                cmdline, t.nrows, gt_head(r.out));

    const char *args2[] = {"-m", "poll,select", "-n", "20", "-i", "20", "-r", "2", NULL};
    run_mux(&r, 30, args2);
    expect_table(&r, &t);
    if (t.nrows != 2 || find(&t, "poll", 20) == NULL || find(&t, "select", 20) == NULL)
        gt_fail("%s printed %d data lines, expected two: poll and select at n=20; stdout: %s",
                cmdline, t.nrows, gt_head(r.out));
}

GT_TEST(muxbench_select_only_below_fd_setsize, 60)
{
    gt_result r;
    struct table t;
    need_hard_limit(2000);
    const char *args[] = {"-m", "select,poll", "-n", "1000,2000", "-i", "5", "-r", "1", NULL};
    run_mux(&r, 40, args);
    expect_table(&r, &t);
    expect_row(&t, "select", 1000);
    expect_row(&t, "poll", 1000);
    expect_row(&t, "poll", 2000);
    if (find(&t, "select", 2000) != NULL)
        gt_fail("%s printed a line for select at n=2000: its descriptors go beyond FD_SETSIZE "
                "(%d), which select can not watch (FD_SET would write past the fd_set); skip "
                "that point",
                cmdline, FD_SETSIZE);
    if (strstr(r.err, "select") == NULL)
        gt_fail("%s skipped select at n=2000 but said nothing about it on stderr; stderr: %s",
                cmdline, gt_head(r.err));
}

GT_TEST(muxbench_n_10000, 90)
{
    gt_result r;
    struct table t;
    need_hard_limit(10000);
    const char *args[] = {"-m", "poll,epoll", "-n", "10000", "-i", "3", "-r", "2", NULL};
    run_mux(&r, 60, args);
    expect_table(&r, &t);
    expect_row(&t, "poll", 10000);
    expect_row(&t, "epoll", 10000);
}

GT_TEST(muxbench_default_points, 120)
{
    static const long ns[] = {10, 30, 100, 300, 1000, 3000, 10000};
    gt_result r;
    struct table t;
    need_hard_limit(10000);
    const char *args[] = {"-i", "3", "-r", "1", NULL};
    run_mux(&r, 90, args);
    expect_table(&r, &t);
    int want = 0;
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        expect_row(&t, "poll", ns[i]);
        expect_row(&t, "epoll", ns[i]);
        want += 2;
        if (ns[i] <= 1000) {
            expect_row(&t, "select", ns[i]);
            want++;
        }
    }
    if (t.nrows != want)
        gt_fail("%s (default -m and -n) printed %d data lines, expected %d: select at 10, 30, "
                "100, 300, 1000 and poll and epoll at 10, 30, 100, 300, 1000, 3000, 10000; "
                "stdout: %s",
                cmdline, t.nrows, want, gt_head(r.out));
}

GT_TEST(muxbench_raises_soft_fd_limit, 60)
{
    gt_result r;
    struct table t;
    need_hard_limit(1000);
    const char *args[] = {"-m", "poll", "-n", "1000", "-i", "5", "-r", "1", NULL};
    run_mux_limited(&r, 40, "ulimit -Sn 256", args);
    if (!r.timed_out && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1 &&
        strstr(r.err, "not implemented") == NULL)
        gt_fail("%s: exited 1, but only the soft limit on descriptors was low (256): raise it "
                "to the hard limit with setrlimit(RLIMIT_NOFILE) when N needs it; stderr: %s",
                cmdline, gt_head(r.err));
    expect_table(&r, &t);
    expect_row(&t, "poll", 1000);
}

GT_TEST(muxbench_hard_fd_limit_too_low_exit_1, 60)
{
    gt_result r;
    const char *args[] = {"-n", "1000", "-i", "5", "-r", "1", NULL};
    run_mux_limited(&r, 40, "ulimit -n 256", args);
    if (strcasestr(r.err, "not implemented") != NULL)
        gt_fail("not implemented: %s: %s; stderr: %s", cmdline,
                gt_status_str(r.status, r.timed_out), gt_head(r.err));
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 1)
        gt_fail("%s (soft and hard limit 256 descriptors, N=1000 needs more): %s, expected exit "
                "status 1 with a message about the limit; stdout: %s; stderr: %s",
                cmdline, gt_status_str(r.status, r.timed_out), gt_head(r.out), gt_head(r.err));
    if (strcasestr(r.err, "limit") == NULL)
        gt_fail("%s exited 1 but its stderr does not say that the descriptor limit is the "
                "problem (no word 'limit'); stderr: %s",
                cmdline, gt_head(r.err));
    if (strstr(r.out, ",1000,") != NULL)
        gt_fail("%s printed a measurement at n=1000 although it can not open that many "
                "descriptors; stdout: %s",
                cmdline, gt_head(r.out));
}

GT_TEST(muxbench_eventfd_kind, 60)
{
    gt_result r;
    struct table t;
    const char *args[] = {"-f", "eventfd", "-n", "10", "-i", "10", "-r", "1", NULL};
    run_mux(&r, 30, args);
    expect_table(&r, &t);
    if (t.nrows != 3)
        gt_fail("%s printed %d data lines, expected 3 (select, poll, epoll at n=10); stdout: %s",
                cmdline, t.nrows, gt_head(r.out));
    for (int i = 0; i < t.nrows; i++)
        if (strcmp(t.rows[i].fds, "eventfd") != 0)
            gt_fail("%s printed fds=%s for %s, expected eventfd", cmdline, t.rows[i].fds,
                    t.rows[i].mech);
}
