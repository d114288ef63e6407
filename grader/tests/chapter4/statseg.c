/*
 * statseg.c: helpers of ex4.1's black-box tests; see statseg.h.
 */
#include "statseg.h"

#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

const char *statseg_keyarg(key_t key, char *buf, size_t cap)
{
    snprintf(buf, cap, "0x%x", (unsigned)key);
    return buf;
}

const void *statseg_attach(key_t key)
{
    int id = shmget(key, 0, 0);
    if (id == -1)
        return NULL;
    void *base = shmat(id, NULL, SHM_RDONLY);
    return base == (void *)-1 ? NULL : base;
}

void statseg_detach(const void *base)
{
    if (base != NULL)
        (void)shmdt(base);
}

const void *statseg_attach_ok(key_t key, const char *when)
{
    int id = shmget(key, 0, 0);
    if (id == -1)
        gt_fail("%s: no shared memory segment at key 0x%x (shmget: %s); echosvr_v4 -k 0x%x "
                "should have created it",
                when, (unsigned)key, strerror(errno), (unsigned)key);
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) == -1)
        gt_fail("%s: shmctl(IPC_STAT) of the segment at key 0x%x: %s", when, (unsigned)key,
                strerror(errno));
    if (ds.shm_segsz < STATS_SEGMENT_SIZE)
        gt_fail("%s: the segment at key 0x%x is %zu bytes; stats.h's layout takes %zu", when,
                (unsigned)key, (size_t)ds.shm_segsz, (size_t)STATS_SEGMENT_SIZE);
    const struct shm_header *h = shmat(id, NULL, SHM_RDONLY);
    if (h == (void *)-1)
        gt_fail("%s: shmat(the segment at key 0x%x, SHM_RDONLY): %s", when, (unsigned)key,
                strerror(errno));
    uint32_t magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
    if (magic != STATS_MAGIC || h->version != STATS_VERSION || h->size != STATS_SEGMENT_SIZE) {
        uint32_t version = h->version;
        unsigned long long size = h->size;
        (void)shmdt(h);
        gt_fail("%s: the segment's header holds magic 0x%x, version %u, size %llu; expected "
                "STATS_MAGIC 0x%x, STATS_VERSION %u, STATS_SEGMENT_SIZE %zu (stats.h)",
                when, magic, version, size, STATS_MAGIC, STATS_VERSION,
                (size_t)STATS_SEGMENT_SIZE);
    }
    return h;
}

void statseg_read(const void *base, struct statseg_counts *c)
{
    const struct stats *st = stats_of((void *)(uintptr_t)base);
    c->messages = stats_get(&st->messages);
    c->bytes = stats_get(&st->bytes);
    c->accepted = stats_get(&st->accepted);
    c->open = stats_get(&st->open);
}

static int same(const struct statseg_counts *a, const struct statseg_counts *b)
{
    return a->messages == b->messages && a->bytes == b->bytes && a->accepted == b->accepted &&
           a->open == b->open;
}

void statseg_wait(const void *base, const struct statseg_counts *want, double timeout_s,
                  const char *after)
{
    double limit = timeout_s * gt_time_scale();
    double deadline = gt_now() + limit;
    struct statseg_counts got;
    for (;;) {
        statseg_read(base, &got);
        if (same(&got, want))
            return;
        if (gt_now() >= deadline)
            break;
        gt_sleep(0.01);
    }
    gt_fail("after %s, the segment holds messages=%llu bytes=%llu accepted=%llu open=%llu "
            "(for %.0f s); expected messages=%llu bytes=%llu accepted=%llu open=%llu",
            after, (unsigned long long)got.messages, (unsigned long long)got.bytes,
            (unsigned long long)got.accepted, (unsigned long long)got.open, limit,
            (unsigned long long)want->messages, (unsigned long long)want->bytes,
            (unsigned long long)want->accepted, (unsigned long long)want->open);
}

void statseg_expect_none(key_t key, const char *when)
{
    if (shmget(key, 0, 0) != -1 || errno != ENOENT)
        gt_fail("%s, a shared memory segment is still at key 0x%x (see ipcs -m): a clean exit "
                "removes what the program created",
                when, (unsigned)key);
}

void statseg_echo(int fd, int n, size_t size, unsigned seed)
{
    for (int i = 0; i < n; i++)
        gt_echo_roundtrip(fd, size, seed + (unsigned)i, 10);
}

void statseg_reader_start(statseg_reader *r, const char *path, const char *const *args)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = path;
    for (const char *const *a = args; a != NULL && *a != NULL && n < 15; a++)
        argv[n++] = *a;
    argv[n] = NULL;

    memset(r, 0, sizeof *r);
    const char *slash = strrchr(path, '/');
    snprintf(r->name, sizeof r->name, "%s", slash != NULL ? slash + 1 : path);
    snprintf(r->err_path, sizeof r->err_path, "%s/%s-%ld.err", gt_tmpdir(), r->name,
             (long)gt_now());
    int p[2];
    gt_pipe(p);
    int err_fd = open(r->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (err_fd == -1 || null_fd == -1)
        gt_fail("open(%s or /dev/null) to start %s: %s", r->err_path, r->name, strerror(errno));
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        gt_fail("fork() to start %s: %s", r->name, strerror(errno));
    if (pid == 0) {
        if (dup2(null_fd, 0) == -1 || dup2(p[1], 1) == -1 || dup2(err_fd, 2) == -1)
            _exit(127);
        gt_child_reset(parent);
        gt_exec(argv);
        dprintf(2, "grader: cannot execute %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(p[1]);
    close(err_fd);
    close(null_fd);
    r->pid = pid;
    r->out_fd = p[0];
}

int statseg_reader_line(statseg_reader *r, char *line, size_t cap, double timeout_s)
{
    double deadline = gt_now() + timeout_s * gt_time_scale();
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - r->buf);
            size_t k = n < cap - 1 ? n : cap - 1;
            memcpy(line, r->buf, k);
            line[k] = '\0';
            memmove(r->buf, nl + 1, r->len - n - 1);
            r->len -= n + 1;
            return 1;
        }
        if (r->len == sizeof r->buf) /* a line longer than the buffer: hand out its start */
            r->len = 0;
        double left = deadline - gt_now();
        if (left <= 0 || r->out_fd < 0)
            return r->out_fd < 0 ? -1 : 0;
        struct pollfd pf = {.fd = r->out_fd, .events = POLLIN};
        int ms = (int)(left * 1000) + 1;
        int pr = poll(&pf, 1, ms > 200 ? 200 : ms);
        if (pr <= 0)
            continue;
        ssize_t got = read(r->out_fd, r->buf + r->len, sizeof r->buf - r->len);
        if (got > 0)
            r->len += (size_t)got;
        else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(r->out_fd);
            r->out_fd = -1;
        }
    }
}

int statseg_reader_stop(statseg_reader *r)
{
    int status = 0;
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        double deadline = gt_now() + 10 * gt_time_scale();
        pid_t w;
        while ((w = waitpid(r->pid, &status, WNOHANG)) == 0 && gt_now() < deadline)
            gt_sleep(0.01);
        if (w == 0) {
            kill(r->pid, SIGKILL);
            while (waitpid(r->pid, &status, 0) == -1 && errno == EINTR)
                ;
        }
        r->pid = 0;
    }
    if (r->out_fd >= 0) {
        close(r->out_fd);
        r->out_fd = -1;
    }
    return status;
}

const char *statseg_reader_err(const statseg_reader *r)
{
    static char tail[GT_ERR_TAIL];
    tail[0] = '\0';
    FILE *f = fopen(r->err_path, "r");
    if (f != NULL) {
        if (fseek(f, 0, SEEK_END) == 0) {
            long size = ftell(f);
            long from = size > (long)sizeof tail - 1 ? size - (long)sizeof tail + 1 : 0;
            if (fseek(f, from, SEEK_SET) == 0) {
                size_t n = fread(tail, 1, sizeof tail - 1, f);
                tail[n] = '\0';
            }
        }
        fclose(f);
    }
    size_t n = strlen(tail);
    while (n > 0 && tail[n - 1] == '\n')
        tail[--n] = '\0';
    return n > 0 ? tail : "(nothing)";
}

int statseg_field(const char *line, const char *name, long long *v)
{
    size_t nl = strlen(name);
    for (const char *p = line; (p = strstr(p, name)) != NULL; p += nl) {
        if ((p != line && p[-1] != ' ') || p[nl] != '=')
            continue;
        char *end;
        errno = 0;
        long long x = strtoll(p + nl + 1, &end, 10);
        if (errno != 0 || end == p + nl + 1 || (*end != ' ' && *end != '\0'))
            return -1;
        *v = x;
        return 0;
    }
    return -1;
}
