/*
 * test_apps.c: the helpers of the black-box tests of ex5.3 and ex5.4 (see test_apps.h).
 */
#include "test_apps.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

key_t ta_key(void)
{
    return gt_ipc_key(0);
}

const char *ta_key_arg(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "0x%x", (unsigned)ta_key());
    return buf;
}

/* args = "-k" K, then extra (at most cap - 3 of them), NULL-terminated. */
static void key_args(const char **args, int cap, const char *const *extra)
{
    int n = 0;
    args[n++] = "-k";
    args[n++] = ta_key_arg();
    for (const char *const *a = extra; a != NULL && *a != NULL && n < cap - 1; a++)
        args[n++] = *a;
    args[n] = NULL;
}

void ta_io_start(gt_proc *io, int student, const char *const *extra)
{
    const char *args[16];
    key_args(args, 16, extra);
    gt_server_start(io, student ? gt_student("io_conn") : gt_ref("io_conn"), args);
}

/* The md started last: a round trip that waits for an answer stops waiting if it ended. */
static ta_prog *watched_md;

void ta_md_start(ta_prog *m, int student, const char *const *extra)
{
    ta_prog_start(m, "md", student ? gt_student("md") : gt_ref("md"), extra, -1);
    watched_md = m;
}

void ta_pair_start(ta_prog *md, int student_md, const char *const *md_extra, gt_proc *io,
                   int student_io, const char *const *io_extra)
{
    ta_md_start(md, student_md, md_extra);
    ta_io_start(io, student_io, io_extra);
}

void ta_pair_stop(gt_proc *io, ta_prog *md)
{
    gt_server_stop_clean(io);
    ta_prog_stop_clean(md);
    ta_expect_nothing_left("io_conn and md stopped cleanly (SIGTERM)");
}

void ta_prog_start(ta_prog *p, const char *name, const char *path, const char *const *extra,
                   int out_fd)
{
    const char *args[16];
    key_args(args, 16, extra);
    memset(p, 0, sizeof *p);
    snprintf(p->p.name, sizeof p->p.name, "%s", name);
    p->p.out_fd = -1;
    p->p.pid = gt_spawn(path, args, out_fd, p->p.err_path, sizeof p->p.err_path);
}

/* Wait up to s seconds (scaled) for it to end: 1 (p->status set, reaped), or 0. */
static int prog_wait(ta_prog *p, double s)
{
    double deadline = gt_now() + s * gt_time_scale();
    for (;;) {
        int st;
        pid_t r = waitpid(p->p.pid, &st, WNOHANG);
        if (r == p->p.pid) {
            p->status = st;
            p->p.pid = 0;
            return 1;
        }
        if (r == -1 && errno != EINTR)
            gt_fail("waitpid(%s, pid %d): %s", p->p.name, (int)p->p.pid, strerror(errno));
        if (gt_now() >= deadline)
            return 0;
        gt_sleep(0.01);
    }
}

void ta_prog_stop_clean(ta_prog *p)
{
    if (!ta_prog_alive(p))
        gt_fail("%s had ended before the test stopped it: %s; its stderr: %s", p->p.name,
                gt_status_str(p->status, 0), ta_prog_err(p));
    kill(p->p.pid, SIGTERM);
    if (!prog_wait(p, 10)) {
        ta_prog_kill(p);
        gt_fail("%s did not exit within 10 s of SIGTERM; its stderr: %s", p->p.name,
                ta_prog_err(p));
    }
    if (!WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0)
        gt_fail("%s, stopped with SIGTERM, %s (exit status 0 expected); its stderr: %s", p->p.name,
                gt_status_str(p->status, 0), ta_prog_err(p));
}

void ta_prog_kill(ta_prog *p)
{
    if (p->p.pid == 0)
        return;
    kill(p->p.pid, SIGKILL);
    if (!prog_wait(p, 10))
        gt_fail("%s (pid %d) still runs 10 s after SIGKILL", p->p.name, (int)p->p.pid);
}

int ta_prog_alive(ta_prog *p)
{
    return p->p.pid != 0 && !prog_wait(p, 0);
}

const char *ta_prog_err(const ta_prog *p)
{
    static char buf[GT_ERR_TAIL];
    gt_proc_err_tail(&p->p, buf, sizeof buf);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return n > 0 ? buf : "(nothing)";
}

/* ---- viewconn --once ------------------------------------------------------------------- */

/* One "flow=..." line into c; 0, or -1 if it is not one. */
static int parse_conn(const char *line, ta_conn *c)
{
    unsigned long long flow, messages, bytes;
    int used = 0;
    if (sscanf(line, "flow=0x%llx messages=%llu bytes=%llu age_s=%lf idle_s=%lf%n", &flow,
               &messages, &bytes, &c->age_s, &c->idle_s, &used) != 5 ||
        line[used] != '\0')
        return -1;
    c->flow = flow;
    c->messages = messages;
    c->bytes = bytes;
    return 0;
}

/* dst = the first cap - 1 bytes of src at most, NUL-terminated. */
static void copy_cut(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int ta_view_once(ta_view *v, int student)
{
    static gt_result r; /* 64 KiB of output: not on the stack */
    const char *args[] = {"-k", ta_key_arg(), "--once", NULL};
    const char *path = student ? gt_student("viewconn") : gt_ref("viewconn");
    gt_run(&r, 10, path, args);
    memset(v, 0, sizeof *v);
    v->md_pid = -1;
    v->timed_out = r.timed_out;
    v->status = r.status;
    copy_cut(v->out, sizeof v->out, r.out);
    copy_cut(v->err, sizeof v->err, r.err);
    if (r.timed_out || !WIFEXITED(r.status))
        return -1;
    if (WEXITSTATUS(r.status) != 0)
        return WEXITSTATUS(r.status);

    /* key=0x.. md_pid=N state=S connections=N ..., then one flow= line per connection */
    char *save, *line = strtok_r(r.out, "\n", &save);
    int listed = -1;
    char state[16] = "";
    if (line == NULL || sscanf(line, "key=0x%*x md_pid=%d state=%15s connections=%d", &v->md_pid,
                               state, &listed) != 3)
        gt_fail("viewconn -k %s --once: its first line should be \"key=0x... md_pid=N "
                "state=running connections=N ...\"; it printed: %s",
                ta_key_arg(), gt_head(v->out));
    v->running = strcmp(state, "running") == 0;
    int n = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        ta_conn c;
        if (parse_conn(line, &c) == -1)
            gt_fail("viewconn -k %s --once: a line is not \"flow=0x... messages=N bytes=N "
                    "age_s=S idle_s=S\": '%.200s'",
                    ta_key_arg(), line);
        if (n < TA_VIEW_MAX)
            v->c[n] = c;
        n++;
    }
    if (n != listed)
        gt_fail("viewconn -k %s --once says connections=%d but lists %d: %s", ta_key_arg(), listed,
                n, gt_head(v->out));
    v->n = n < TA_VIEW_MAX ? n : TA_VIEW_MAX;
    return 0;
}

int ta_view_matches(const ta_view *v, const ta_want *want, int n)
{
    int used[TA_VIEW_MAX] = {0};
    if (v->n != n)
        return 0;
    for (int i = 0; i < n; i++) {
        int j = 0;
        while (j < v->n &&
               (used[j] || v->c[j].messages != want[i].messages || v->c[j].bytes != want[i].bytes))
            j++;
        if (j == v->n)
            return 0;
        used[j] = 1;
    }
    return 1;
}

int ta_client_seen(gt_proc *io, const ta_prog *md, ta_view *v, size_t len, unsigned seed)
{
    int fd = ta_connect(io->port);
    ta_echo(fd, len, seed, 0, "a client's round trip");
    ta_want want = {1, len};
    ta_wait_view(v, md, &want, 1, 5, "a client made 1 round trip");
    return fd;
}

const char *ta_view_str(const ta_view *v)
{
    static char buf[1024];
    size_t used = 0;
    buf[0] = '\0';
    if (v->n == 0)
        return "no connection";
    for (int i = 0; i < v->n && used < sizeof buf - 64; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%smessages=%llu bytes=%llu",
                                 i ? "; " : "", (unsigned long long)v->c[i].messages,
                                 (unsigned long long)v->c[i].bytes);
    return buf;
}

void ta_wait_view(ta_view *v, const ta_prog *m, const ta_want *want, int n, double timeout_s,
                  const char *what)
{
    double deadline = gt_now() + timeout_s * gt_time_scale();
    char wanted[512];
    size_t used = 0;
    wanted[0] = '\0';
    for (int i = 0; i < n && used < sizeof wanted - 64; i++)
        used += (size_t)snprintf(wanted + used, sizeof wanted - used, "%smessages=%llu bytes=%llu",
                                 i ? "; " : "", (unsigned long long)want[i].messages,
                                 (unsigned long long)want[i].bytes);
    for (;;) {
        int rc = ta_view_once(v, 0);
        if (rc == 0 && v->running && ta_view_matches(v, want, n))
            return;
        if (gt_now() >= deadline) {
            if (rc != 0 || !v->running)
                gt_fail("%s: the reference viewconn --once finds no table of a running md: it "
                        "%s, saying: %s; md's stderr: %s",
                        what, gt_status_str(v->status, v->timed_out),
                        gt_head(rc != 0 ? v->err : v->out), ta_prog_err(m));
            gt_fail("%s: md's table should list %d connection(s) (%s); after %.0f s viewconn "
                    "still lists %s",
                    what, n, n ? wanted : "none", timeout_s * gt_time_scale(), ta_view_str(v));
        }
        gt_sleep(0.05);
    }
}

/* ---- clients --------------------------------------------------------------------------- */

int ta_connect(int port)
{
    return gt_connect(port);
}

/* The byte at position pos of the stream of seed. */
static unsigned char pattern(unsigned seed, uint64_t pos)
{
    uint64_t x = (pos + 1) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)seed * 0xBF58476D1CE4E5B9ULL;
    return (unsigned char)(x >> 56);
}

int ta_echo_try(int fd, size_t len, unsigned seed, uint64_t pos, double timeout_s)
{
    unsigned char out[4096] = {0}, in[4096];
    if (len > sizeof out)
        gt_fail("ta_echo_try: %zu bytes is more than a test round trip takes", len);
    for (size_t i = 0; i < len; i++)
        out[i] = pattern(seed, pos + i);
    if (gt_send_all(fd, out, len) == -1) {
        if (errno == EPIPE || errno == ECONNRESET)
            return -1;
        gt_fail("send(%zu bytes) in a round trip: %s", len, strerror(errno));
    }
    double deadline = gt_now() + timeout_s * gt_time_scale();
    size_t got = 0;
    while (got < len) {
        double left = deadline - gt_now();
        if (left <= 0)
            gt_fail("a round trip of %zu bytes: %zu came back within %.0f s", len, got,
                    timeout_s * gt_time_scale());
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1);
        if (pr == -1 && errno != EINTR)
            gt_fail("poll(): %s", strerror(errno));
        if (pr <= 0) {
            if (watched_md != NULL && watched_md->p.pid != 0 && !ta_prog_alive(watched_md))
                gt_fail("a round trip of %zu bytes: %zu came back, and md %s; its stderr: %s", len,
                        got, gt_status_str(watched_md->status, 0), ta_prog_err(watched_md));
            continue;
        }
        ssize_t n = recv(fd, in + got, len - got, 0);
        if (n == 0 || (n == -1 && errno == ECONNRESET))
            return -1;
        if (n == -1) {
            if (errno == EINTR)
                continue;
            gt_fail("recv() in a round trip of %zu bytes: %s", len, strerror(errno));
        }
        for (size_t i = got; i < got + (size_t)n; i++)
            if (in[i] != out[i])
                gt_fail("a round trip of %zu bytes: byte %zu came back as 0x%02x, not 0x%02x", len,
                        i, in[i], out[i]);
        got += (size_t)n;
    }
    return 0;
}

void ta_echo(int fd, size_t len, unsigned seed, uint64_t pos, const char *what)
{
    if (ta_echo_try(fd, len, seed, pos, 10) == -1)
        gt_fail("%s: the connection was closed during a round trip of %zu bytes", what, len);
}

int ta_closed_within(int fd, double timeout_s)
{
    double deadline = gt_now() + timeout_s * gt_time_scale();
    for (;;) {
        double left = deadline - gt_now();
        if (left <= 0)
            return 0;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, (int)(left * 1000) + 1);
        if (pr <= 0)
            continue;
        char b[64];
        ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (n == 0 || (n == -1 && errno == ECONNRESET))
            return 1;
        if (n > 0)
            gt_fail("%zd byte(s) came on a connection that sent nothing", n);
    }
}

void ta_expect_nothing_left(const char *after)
{
    key_t k = ta_key();
    for (int i = 0; i <= TA_STATS_OFFSET; i++) {
        if (shmget(k + i, 0, 0) != -1)
            gt_fail("a System V segment is left at key 0x%x (the base key + %d) after %s%s",
                    (unsigned)(k + i), i, after,
                    i == TA_STATS_OFFSET ? ": md must remove its statistics table when it stops"
                                         : ": the last process to leave a queue removes it");
    }
    for (int i = 0; i < 2; i++) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/svrlab-shmmq-%x.fifo", gt_tmpdir(), (unsigned)(k + i));
        if (lstat(path, &st) == 0)
            gt_fail("the queue's FIFO %s is left after %s", path, after);
    }
}
