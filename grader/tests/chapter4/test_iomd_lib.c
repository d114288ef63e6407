/*
 * test_iomd_lib.c: the helpers of the io_conn / md tests (see test_iomd_lib.h).
 */
#include "test_iomd_lib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK 65536
#define MAX_CLIENTS 512
#define MAX_MDS 16

/* The stderr files of the mds this test started, for the "not implemented" check, and the mds
 * themselves (structures of the running test), to say in a failure that one ended. */
static char md_err_paths[MAX_MDS][512];
static char md_names[MAX_MDS][32];
static ti_md *mds[MAX_MDS];
static int n_mds;

/* ---- small helpers ------------------------------------------------------------------------ */

key_t ti_key(void)
{
    return gt_ipc_key(0);
}

const char *ti_key_arg(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "%d", (int)ti_key());
    return buf;
}

void ti_fail(const char *fmt, ...)
{
    char msg[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    static char text[8192];
    for (int i = 0; i < n_mds; i++) {
        ti_md *m = mds[i];
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (m == NULL || m->pid <= 0 ||
            waitid(P_PID, (id_t)m->pid, &info, WEXITED | WNOHANG | WNOWAIT) == -1 ||
            info.si_pid == 0)
            continue;
        int st =
            info.si_code == CLD_EXITED ? (info.si_status & 0xff) << 8 : (info.si_status & 0x7f);
        size_t used = strlen(msg);
        snprintf(msg + used, sizeof msg - used, " [%s had ended: %s; its stderr: %s]", m->cmd,
                 gt_status_str(st, 0), ti_md_err(m));
    }
    for (int i = 0; i < n_mds; i++) {
        gt_read_file(md_err_paths[i], text, sizeof text, 0, 1);
        char *hit = strcasestr(text, "not implemented");
        if (hit != NULL && strncmp(msg, "not implemented", 15) != 0) {
            char *start = hit, *end = strchr(hit, '\n');
            while (start > text && start[-1] != '\n')
                start--;
            if (end != NULL)
                *end = '\0';
            gt_fail("not implemented: %s [%s said: %.300s]", msg, md_names[i], start);
        }
    }
    gt_fail("%s", msg);
}

/* The last place in text where marker occurs (a statistics line), or NULL. */
static const char *last_marker(const char *text, const char *marker)
{
    const char *line = NULL;
    for (const char *p = text; (p = strstr(p, marker)) != NULL; p++)
        line = p;
    return line;
}

void ti_expect_sane_stats(const char *text, const char *marker, double run_s, const char *who)
{
    const char *line = last_marker(text, marker);
    if (line == NULL)
        ti_fail("%s printed no statistics line (\"%s\") at its exit", who, marker);
    const char *eol = strchr(line, '\n');
    if (eol == NULL)
        eol = line + strlen(line);
    for (const char *eq = line; (eq = memchr(eq, '=', (size_t)(eol - eq))) != NULL; eq++) {
        const char *name = eq;
        while (name > line && name[-1] != ' ')
            name--;
        char *end;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1)
            continue; /* not a number */
        int nlen = (int)(eq - name);
        if (v < 0)
            ti_fail("%s's exit statistics say %.*s=%g: a count or a time is never negative "
                    "(the line: %.*s)",
                    who, nlen, name, v, (int)(eol - line), line);
        if (nlen > 3 && memcmp(eq - 3, "_us", 3) == 0 && v > run_s * 1e6)
            ti_fail("%s's exit statistics say %.*s=%g, longer than the whole run (%.1f s): a "
                    "reply without a real timestamp (ts 0) must not count as a latency (the "
                    "line: %.*s)",
                    who, nlen, name, v, run_s, (int)(eol - line), line);
    }
}

long ti_stat(const char *text, const char *marker, const char *name)
{
    const char *line = last_marker(text, marker);
    if (line == NULL)
        return -1;
    const char *eol = strchr(line, '\n');
    size_t nlen = strlen(name);
    for (const char *p = line; (p = strstr(p, name)) != NULL && (eol == NULL || p < eol); p++) {
        if ((p == line || p[-1] == ' ') && p[nlen] == '=') {
            long v;
            char *end;
            errno = 0;
            v = strtol(p + nlen + 1, &end, 10);
            if (errno == 0 && end != p + nlen + 1)
                return v;
        }
    }
    return -1;
}

int ti_pid_alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    gt_read_file(path, buf, sizeof buf, 0, 1);
    if (buf[0] == '\0')
        return 0;
    const char *p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

long ti_rss_kib(pid_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    gt_read_file(path, buf, sizeof buf, 0, 1);
    const char *p = strstr(buf, "\nVmRSS:");
    long kib;
    if (p == NULL || sscanf(p + 7, " %ld", &kib) != 1)
        return -1;
    return kib;
}

int ti_children(pid_t pid, pid_t *out, int cap)
{
    char path[96], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    gt_read_file(path, buf, sizeof buf, 0, 1);
    int n = 0;
    for (char *save, *tok = strtok_r(buf, " \n", &save); tok != NULL && n < cap;
         tok = strtok_r(NULL, " \n", &save))
        out[n++] = (pid_t)atoi(tok);
    return n;
}

void ti_expect_no_queues(int n, const char *after)
{
    key_t k = ti_key();
    for (int i = 0; i < n; i++) {
        int id = shmget(k + i, 0, 0);
        if (id != -1)
            ti_fail("a System V segment is left at key %d (the base key + %d) after %s: the last "
                    "process to leave a queue must remove it (shmmq_close)",
                    (int)(k + i), i, after);
    }
    DIR *d = opendir(gt_tmpdir());
    if (d == NULL)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(e->d_name, "vgdb-", 5) == 0)
            continue; /* valgrind's own: the runner runs under it on the memcheck pass */
        snprintf(path, sizeof path, "%s/%s", gt_tmpdir(), e->d_name);
        if (lstat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
            char name[256];
            snprintf(name, sizeof name, "%s", e->d_name);
            closedir(d);
            ti_fail("the FIFO %s is left in $TMPDIR after %s: the last process to leave a queue "
                    "must unlink its FIFO (shmmq_close)",
                    name, after);
        }
    }
    closedir(d);
}

/* ---- processes ---------------------------------------------------------------------------- */

void ti_io_start(gt_proc *io, int student, const char *const *extra)
{
    const char *args[16];
    int n = 0;
    args[n++] = "-k";
    args[n++] = ti_key_arg();
    for (const char *const *a = extra; a != NULL && *a != NULL && n < 15; a++)
        args[n++] = *a;
    args[n] = NULL;
    gt_server_start(io, student ? gt_student("io_conn") : gt_ref("io_conn"), args);
}

void ti_md_start(ti_md *m, int student, const char *const *extra)
{
    ti_logic_start(m, "md", student, extra);
}

void ti_logic_start(ti_md *m, const char *prog, int student, const char *const *extra)
{
    const char *args[48];
    char who[64];
    int n = 0;
    const char *path = student ? gt_student(prog) : gt_ref(prog);

    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", prog);
    m->student = student;
    args[n++] = "-k";
    args[n++] = ti_key_arg();
    for (const char *const *a = extra; a != NULL && *a != NULL && n < 47; a++)
        args[n++] = *a;
    args[n] = NULL;
    snprintf(who, sizeof who, "%s (%s)", m->name, student ? "yours" : "the reference");
    gt_describe(m->cmd, sizeof m->cmd, who, args);
    m->pid = gt_spawn(path, args, -1, m->err_path, sizeof m->err_path);
    if (n_mds < MAX_MDS) {
        mds[n_mds] = m;
        for (int i = 0; i < n_mds; i++)
            if (mds[i] == m)
                mds[n_mds] = NULL; /* restarted: once is enough */
        snprintf(md_names[n_mds], sizeof md_names[0], "%s", m->name);
        snprintf(md_err_paths[n_mds++], sizeof md_err_paths[0], "%s", m->err_path);
    }
}

int ti_md_alive(ti_md *m)
{
    if (m->pid <= 0)
        return 0;
    int st;
    pid_t r = waitpid(m->pid, &st, WNOHANG);
    if (r == m->pid) {
        m->status = st;
        m->pid = 0;
        return 0;
    }
    return 1;
}

int ti_md_wait_end(ti_md *m, double s)
{
    double deadline = gt_now() + s * gt_time_scale();
    while (ti_md_alive(m)) {
        if (gt_now() >= deadline)
            return 0;
        gt_sleep(0.005);
    }
    return 1;
}

int ti_md_signal_wait(ti_md *m, int sig)
{
    if (m->pid <= 0)
        return m->status;
    kill(m->pid, sig);
    if (!ti_md_wait_end(m, 10)) {
        pid_t pid = m->pid;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
            ;
        m->pid = 0;
        ti_fail("%s did not exit within %.0f s of signal %d (killed with SIGKILL); its stderr: %s",
                m->name, 10 * gt_time_scale(), sig, ti_md_err(m));
    }
    return m->status;
}

void ti_md_stop_clean(ti_md *m)
{
    int st = ti_md_signal_wait(m, SIGTERM);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        ti_fail("%s did not exit with status 0 on SIGTERM (%s); its stderr: %s", m->name,
                gt_status_str(st, 0), ti_md_err(m));
}

void ti_md_kill(ti_md *m)
{
    if (m->pid <= 0)
        return;
    kill(m->pid, SIGKILL);
    int st;
    while (waitpid(m->pid, &st, 0) == -1 && errno == EINTR)
        ;
    m->status = st;
    m->pid = 0;
}

const char *ti_md_err(const ti_md *m)
{
    static char tail[700];
    gt_read_file(m->err_path, tail, sizeof tail, 1, 1);
    size_t len = strlen(tail);
    while (len > 0 && tail[len - 1] == '\n')
        tail[--len] = '\0';
    return tail[0] ? tail : "(nothing)";
}

void ti_md_err_all(const ti_md *m, char *buf, size_t cap)
{
    gt_read_file(m->err_path, buf, cap, 0, 1);
}

void ti_io_err_all(const gt_proc *io, char *buf, size_t cap)
{
    gt_read_file(io->err_path, buf, cap, 0, 1);
}

const char *ti_io_err(const gt_proc *io)
{
    static char tail[700];
    gt_proc_err_tail(io, tail, sizeof tail);
    return tail[0] ? tail : "(nothing)";
}

/* ---- clients ------------------------------------------------------------------------------- */

void ti_pattern(unsigned char *buf, size_t len, unsigned seed, uint64_t pos)
{
    /* each byte a hash of (seed, position): cheap enough for the few MiB a test sends */
    const uint64_t salt = ((uint64_t)seed + 1) * 0xD1B54A32D192ED03ULL;
    for (size_t i = 0; i < len; i++) {
        uint64_t x = (pos + i) * 0x9E3779B97F4A7C15ULL + salt;
        x = (x ^ (x >> 32)) * 0xBF58476D1CE4E5B9ULL;
        buf[i] = (unsigned char)(x >> 56);
    }
}

void ti_client_open(ti_client *c, int port, unsigned seed)
{
    memset(c, 0, sizeof *c);
    c->fd = gt_connect(port);
    c->seed = seed;
    int fl = fcntl(c->fd, F_GETFL);
    if (fl == -1 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) == -1)
        gt_fail("fcntl(O_NONBLOCK) on a client socket: %s", strerror(errno));
}

void ti_client_close(ti_client *c, int reset)
{
    if (c->fd < 0)
        return;
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->fd);
    c->fd = -1;
}

void ti_client_add(ti_client *c, uint64_t more)
{
    c->total += more;
}

static int client_done(const ti_client *c, int allow_end)
{
    if (c->fd < 0)
        return 1;
    if (c->ended)
        return 1; /* an early end failed already unless allowed */
    if (c->half_close)
        return 0; /* until the end of the stream */
    (void)allow_end;
    return c->sent == c->total && c->recvd == c->total;
}

/* c's connection ended after what came back; fail unless that is fine. */
static void client_ended(ti_client *c, int i, int allow_end, const char *how, const char *what)
{
    c->ended = 1;
    if (c->half_close && c->recvd == c->total && c->sent == c->total)
        return;
    if (!allow_end)
        ti_fail("%s: client %d's connection was %s after %llu of the %llu bytes it sent came "
                "back (%llu to send in all)",
                what, i, how, (unsigned long long)c->recvd, (unsigned long long)c->sent,
                (unsigned long long)c->total);
}

/* The first md this test started that has ended without the test stopping it, or NULL. */
static ti_md *md_ended(void)
{
    for (int i = 0; i < n_mds; i++) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (mds[i] != NULL && mds[i]->pid > 0 &&
            waitid(P_PID, (id_t)mds[i]->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid != 0)
            return mds[i];
    }
    return NULL;
}

void ti_echo_clients(ti_client *c, int n, int port, unsigned seed0, uint64_t each, uint64_t window,
                     const char *what)
{
    for (int i = 0; i < n; i++) {
        ti_client_open(&c[i], port, seed0 + (unsigned)i);
        c[i].window = window;
        ti_client_add(&c[i], each);
    }
    ti_pump(c, n, 30, 0, what);
}

void ti_close_clients(ti_client *c, int n)
{
    for (int i = 0; i < n; i++)
        ti_client_close(&c[i], 0);
}

int ti_pump(ti_client *c, int n, double timeout_s, int allow_end, const char *what)
{
    static struct pollfd pf[MAX_CLIENTS];
    static int idx[MAX_CLIENTS];
    static unsigned char out[CHUNK], in[CHUNK], want[CHUNK];
    double limit = timeout_s * gt_time_scale();
    double deadline = gt_now() + limit;

    if (n > MAX_CLIENTS)
        gt_fail("ti_pump: %d clients, at most %d", n, MAX_CLIENTS);
    for (;;) {
        int np = 0;
        for (int i = 0; i < n; i++) {
            ti_client *cl = &c[i];
            if (client_done(cl, allow_end))
                continue;
            short ev = POLLIN;
            if (cl->sent < cl->total && (cl->window == 0 || cl->sent - cl->recvd < cl->window))
                ev |= POLLOUT;
            pf[np] = (struct pollfd){.fd = cl->fd, .events = ev};
            idx[np++] = i;
        }
        if (np == 0)
            break;
        double left = deadline - gt_now();
        if (left <= 0) {
            int i = idx[0];
            ti_fail("%s: after %.0f s, client %d (of %d still busy) had %llu of %llu bytes back "
                    "(%llu sent)%s",
                    what, limit, i, np, (unsigned long long)c[i].recvd,
                    (unsigned long long)c[i].total, (unsigned long long)c[i].sent,
                    c[i].half_close && c[i].recvd == c[i].total
                        ? ", everything, but the connection was not closed after it"
                        : "");
        }
        int r = poll(pf, (nfds_t)np, left > 0.2 ? 200 : (int)(left * 1000) + 1);
        if (r == -1 && errno != EINTR)
            gt_fail("poll() on the clients: %s", strerror(errno));
        if (r <= 0) {
            /* nothing for a while: an md that ended will not answer (ti_fail says how it
             * ended) */
            ti_md *gone = md_ended();
            if (gone != NULL)
                ti_fail("%s: %s ended while clients waited for their echo", what, gone->name);
            continue;
        }
        for (int k = 0; k < np; k++) {
            ti_client *cl = &c[idx[k]];
            int i = idx[k];
            if (pf[k].revents == 0)
                continue;
            if ((pf[k].revents & POLLOUT) && cl->sent < cl->total) {
                uint64_t room = cl->total - cl->sent;
                if (cl->window != 0 && cl->window - (cl->sent - cl->recvd) < room)
                    room = cl->window - (cl->sent - cl->recvd);
                size_t len = room < CHUNK ? (size_t)room : CHUNK;
                ti_pattern(out, len, cl->seed, cl->sent);
                ssize_t s = send(cl->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (s > 0) {
                    cl->sent += (uint64_t)s;
                } else if (s == -1 && (errno == EPIPE || errno == ECONNRESET)) {
                    client_ended(cl, i, allow_end, "reset", what);
                    continue;
                } else if (s == -1 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS) {
                    gt_fail("%s: send() on client %d: %s", what, i, strerror(errno));
                }
            }
            if (cl->half_close && !cl->shut && cl->sent == cl->total) {
                shutdown(cl->fd, SHUT_WR);
                cl->shut = 1;
            }
            if (pf[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t got = recv(cl->fd, in, sizeof in, MSG_DONTWAIT);
                if (got == 0) {
                    client_ended(cl, i, allow_end, "closed", what);
                    continue;
                }
                if (got == -1) {
                    if (errno == ECONNRESET || errno == EPIPE) {
                        client_ended(cl, i, allow_end, "reset", what);
                        continue;
                    }
                    if (errno != EAGAIN && errno != EINTR)
                        gt_fail("%s: recv() on client %d: %s", what, i, strerror(errno));
                    continue;
                }
                if (cl->recvd + (uint64_t)got > cl->sent)
                    ti_fail("%s: client %d got %llu bytes back but had sent only %llu: bytes came "
                            "back twice, or another client's",
                            what, i, (unsigned long long)(cl->recvd + (uint64_t)got),
                            (unsigned long long)cl->sent);
                ti_pattern(want, (size_t)got, cl->seed, cl->recvd);
                if (memcmp(in, want, (size_t)got) != 0) {
                    size_t b = 0;
                    while (in[b] == want[b])
                        b++;
                    ti_fail("%s: client %d, byte at offset %llu of its stream differs: sent "
                            "0x%02x, got 0x%02x (lost, repeated or reordered bytes, or another "
                            "client's)",
                            what, i, (unsigned long long)(cl->recvd + b), want[b], in[b]);
                }
                cl->recvd += (uint64_t)got;
            }
        }
    }
    int ended = 0;
    for (int i = 0; i < n; i++)
        ended += c[i].ended && !(c[i].half_close && c[i].recvd == c[i].total);
    return ended;
}

void ti_expect_silence(ti_client *c, int n, double s, const char *what)
{
    static struct pollfd pf[MAX_CLIENTS];
    static unsigned char in[CHUNK];
    double deadline = gt_now() + s;
    for (;;) {
        int np = 0;
        for (int i = 0; i < n && np < MAX_CLIENTS; i++)
            if (c[i].fd >= 0 && !c[i].ended)
                pf[np++] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
        double left = deadline - gt_now();
        if (np == 0 || left <= 0)
            return;
        if (poll(pf, (nfds_t)np, (int)(left * 1000) + 1) <= 0)
            continue;
        for (int k = 0; k < np; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int i = 0;
            while (c[i].fd != pf[k].fd)
                i++;
            ssize_t got = recv(c[i].fd, in, sizeof in, MSG_DONTWAIT);
            if (got > 0)
                ti_fail("%s: client %d got %zd more bytes after everything it sent had come back "
                        "(another client's bytes, or a late reply)",
                        what, i, got);
            if (got == 0 || (got == -1 && errno != EAGAIN && errno != EINTR))
                c[i].ended = 1;
        }
    }
}
