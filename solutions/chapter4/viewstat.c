/*
 * viewstat: shows echosvr_v4's statistics, read from its shared memory segment (ex4.1).
 *
 * It attaches the segment at -k KEY read-only (SHM_RDONLY: the kernel would stop any write)
 * and reads the counters while the server writes them; it never asks the server anything and
 * never writes. Every -i SECONDS (default 1) it shows them, with the messages per second since
 * the previous look: redrawn in place on a terminal, one line per look otherwise (a pipe, a
 * file). --once prints one line and exits, for scripts. The lines are key=value pairs:
 *
 *   key=0x4680 pid=1234 state=running uptime_s=12.0 messages=100 bytes=6400 accepted=5 open=2
 *   msgs_per_s=8.3 bytes_per_s=533.3 started=2026-11-26T11:00:00Z last_message=2026-11-26T11:00:12Z
 *
 * (one line; the first look after an attach gives the averages since the server started).
 * When the server stops, it removes its segment; ours stays mapped until we detach, so each
 * look first asks the kernel whether the segment we hold was removed (SHM_DEST), and if so
 * lets go of it and waits for a new server, which it picks up by itself.
 */
#include "args.h"
#include "log.h"
#include "shm.h"
#include "sigwatch.h"
#include "stats.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#define ONCE_WAIT_NS 1000000000ull /* --once: how long a segment may be "being created" */

/* The segment we look at. */
struct view {
    key_t key;
    void *base; /* NULL while not attached */
    int id;     /* its shmid, to ask the kernel whether it was removed */
};

/* The counters at one instant (each read whole; see stats.h for why not all at once). */
struct sample {
    uint64_t at_ns; /* CLOCK_MONOTONIC, when taken */
    uint64_t messages, bytes, accepted, open, started_ns, last_message_ns;
    int32_t pid;
};

static void usage(FILE *out);
static int run_once(struct view *v);
static int run_live(struct view *v, double interval);
static int view_attach(struct view *v);
static int view_gone(const struct view *v);
static void view_detach(struct view *v);
static void sample_take(const struct view *v, struct sample *s);
static void show(const struct view *v, const struct sample *s, const struct sample *prev, int tty);
static void say_no_server(key_t key, pid_t pid, int err, FILE *out);
static int server_alive(pid_t pid);
static uint64_t now_ns(clockid_t clock);
static void iso_time(char *buf, size_t cap, uint64_t realtime_ns);

int main(int argc, char **argv)
{
    struct view v = {.id = -1};
    struct args_view a;

    log_init(argv[0]);
    args_parse_view(argc, argv, usage, "the key echosvr_v4 was started with", &a);
    v.key = args_ipc_key(a.key);

    int status = a.once ? run_once(&v) : run_live(&v, a.interval);
    view_detach(&v);
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s -k KEY [--once] [-i SECONDS]\n"
            "\n"
            "Shows the statistics that echosvr_v4 -k KEY keeps in shared memory: messages per\n"
            "second, connections open and accepted, bytes, uptime. It attaches the segment\n"
            "read-only and never writes to it. On a terminal the view is redrawn every\n"
            "SECONDS; otherwise one line of key=value pairs is printed each time. It waits for\n"
            "a server that is not running yet and picks up a restarted one. SIGINT or SIGTERM\n"
            "ends it (exit status 0).\n"
            "\n"
            "  -k, --key KEY         the segment's System V IPC key (decimal, or hex with 0x)\n"
            "      --once            print one line and exit: 0, or 1 if no server runs\n"
            "  -i, --interval SECONDS  between two looks, %g to %g (default %g)\n"
            "  -h, --help            print this help and exit\n",
            log_progname(), ARGS_VIEW_INTERVAL_MIN, ARGS_VIEW_INTERVAL_MAX,
            ARGS_VIEW_INTERVAL_DEFAULT);
}

/* --once: one line, or one line saying why there is none. Returns the exit status. */
static int run_once(struct view *v)
{
    uint64_t deadline = now_ns(CLOCK_MONOTONIC) + ONCE_WAIT_NS;
    while (view_attach(v) == -1) {
        if (errno == EAGAIN && now_ns(CLOCK_MONOTONIC) < deadline) {
            (void)nanosleep(&(struct timespec){0, 10000000}, NULL); /* the server is starting */
            continue;
        }
        say_no_server(v->key, 0, errno, stderr);
        return 1;
    }
    struct sample s;
    sample_take(v, &s);
    /* A killed server's segment stays, frozen: "no server runs" for a script, as --help says. */
    if (!server_alive(s.pid)) {
        say_no_server(v->key, s.pid, ESRCH, stderr);
        return 1;
    }
    show(v, &s, NULL, 0);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* Live mode: a look every interval until SIGINT or SIGTERM. Returns the exit status. */
static int run_live(struct view *v, double interval)
{
    int tty = isatty(STDOUT_FILENO);
    int sigfd = sigwatch_init();
    if (sigfd == -1) {
        log_sys("sigwatch_init");
        return 1;
    }
    struct sample prev, s;
    int have_prev = 0, told_err = -1, status = 0;
    struct pollfd pfd = {.fd = sigfd, .events = POLLIN};
    int timeout_ms = (int)(interval * 1000 + 0.5);

    while (!sigwatch_stop_requested()) {
        if (v->base != NULL) {
            int gone = view_gone(v);
            if (gone == -1) {
                log_sys("checking the segment at key 0x%x (shmctl IPC_STAT)", (unsigned)v->key);
                status = 1;
                break;
            }
            if (gone) {
                view_detach(v); /* the server removed it: it stopped, maybe to restart */
                have_prev = 0;
                printf(tty ? "\033[H\033[2Jthe server at key 0x%x stopped\n"
                           : "the server at key 0x%x stopped\n",
                       (unsigned)v->key);
            }
        }
        if (v->base == NULL && view_attach(v) == -1) {
            if (errno == ENOSYS) {
                log_sys("attaching the segment at key 0x%x", (unsigned)v->key);
                status = 1;
                break;
            }
            if (tty || told_err != errno) { /* a pipe gets it once, not every second */
                if (tty)
                    fputs("\033[H\033[2J", stdout);
                say_no_server(v->key, 0, errno, stdout);
                printf("waiting for it...\n");
                told_err = errno;
            }
        } else if (v->base != NULL) {
            told_err = -1;
            sample_take(v, &s);
            show(v, &s, have_prev ? &prev : NULL, tty);
            prev = s;
            have_prev = 1;
        }
        if (fflush(stdout) != 0) {
            log_sys("writing to stdout");
            status = 1;
            break;
        }
        if (poll(&pfd, 1, timeout_ms) == -1 && errno != EINTR) {
            log_sys("poll(signal pipe fd=%d)", sigfd);
            status = 1;
            break;
        }
        (void)sigwatch_take();
    }
    sigwatch_close();
    return status;
}

/*
 * Attach the statistics segment at v->key read-only, whatever size its header says (size 0),
 * and find its shmid for view_gone: shmget(key) then shmctl(IPC_STAT), checking that the
 * segment found is the one attached (its creator, shm_cpid, is the header's creator_pid), as a
 * server may have restarted in between. Returns 0 with v->base and v->id set, or -1 with errno:
 * shm_attach's (ENOENT: no server; EAGAIN: starting), or EAGAIN when the key changed hands.
 */
static int view_attach(struct view *v)
{
    //@solution
    void *base = shm_attach(v->key, STATS_MAGIC, STATS_VERSION, 0, 1);
    if (base == NULL)
        return -1;
    const struct shm_header *h = base;
    struct shmid_ds ds;
    int id = shmget(v->key, 0, 0);
    if (id == -1 || shmctl(id, IPC_STAT, &ds) == -1 || ds.shm_cpid != h->creator_pid) {
        (void)shm_detach(base);
        errno = EAGAIN; /* replaced since we attached: the next look attaches the new one */
        return -1;
    }
    v->base = base;
    v->id = id;
    return 0;
    //@stub shm_attach(key, STATS_MAGIC, STATS_VERSION, size 0, readonly); find its shmid
    //@ (void)v;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/*
 * 1 if the segment we hold was removed (its server stopped: IPC_RMID marked it SHM_DEST, or it
 * is gone already, EIDRM / EINVAL), 0 if it is still the live one, -1 with errno on another
 * failure.
 */
static int view_gone(const struct view *v)
{
    struct shmid_ds ds;
    if (shmctl(v->id, IPC_STAT, &ds) == -1)
        return errno == EIDRM || errno == EINVAL ? 1 : -1;
    return (ds.shm_perm.mode & SHM_DEST) != 0;
}

static void view_detach(struct view *v)
{
    if (v->base != NULL && shm_detach(v->base) == -1)
        log_sys("shm_detach(key 0x%x)", (unsigned)v->key);
    v->base = NULL;
    v->id = -1;
}

static void sample_take(const struct view *v, struct sample *s)
{
    const struct stats *st = stats_of(v->base);
    s->at_ns = now_ns(CLOCK_MONOTONIC);
    s->messages = stats_get(&st->messages);
    s->bytes = stats_get(&st->bytes);
    s->accepted = stats_get(&st->accepted);
    s->open = stats_get(&st->open);
    s->started_ns = stats_get(&st->started_ns);
    s->last_message_ns = stats_get(&st->last_message_ns);
    s->pid = ((const struct shm_header *)v->base)->creator_pid;
}

/* One look: the rates since prev (since the start without prev), one line or a screen. */
static void show(const struct view *v, const struct sample *s, const struct sample *prev, int tty)
{
    uint64_t wall = now_ns(CLOCK_REALTIME);
    double uptime = s->started_ns != 0 && wall > s->started_ns
                        ? (double)(wall - s->started_ns) / 1e9 : 0.0;
    double secs = prev != NULL ? (double)(s->at_ns - prev->at_ns) / 1e9 : uptime;
    double msgs = (double)(s->messages - (prev != NULL ? prev->messages : 0));
    double bytes = (double)(s->bytes - (prev != NULL ? prev->bytes : 0));
    double mrate = secs > 0 ? msgs / secs : 0.0, brate = secs > 0 ? bytes / secs : 0.0;
    /* A server killed with SIGKILL leaves its segment behind, frozen. */
    const char *state = server_alive(s->pid) ? "running" : "gone";
    char started[32], last[32];
    iso_time(started, sizeof started, s->started_ns);
    iso_time(last, sizeof last, s->last_message_ns);

    if (!tty) {
        printf("key=0x%x pid=%d state=%s uptime_s=%.1f messages=%llu bytes=%llu accepted=%llu "
               "open=%llu msgs_per_s=%.1f bytes_per_s=%.1f started=%s last_message=%s\n",
               (unsigned)v->key, (int)s->pid, state, uptime, (unsigned long long)s->messages,
               (unsigned long long)s->bytes, (unsigned long long)s->accepted,
               (unsigned long long)s->open, mrate, brate, started, last);
        return;
    }
    printf("\033[H\033[2J" /* home, clear the screen */
           "echosvr_v4 at key 0x%x, pid %d (%s), up %.0f s since %s\n"
           "\n"
           "  messages/s      %12.1f\n"
           "  bytes/s         %12.1f\n"
           "  connections     %12llu open, %llu accepted\n"
           "  messages        %12llu\n"
           "  bytes           %12llu\n"
           "  last message    %s\n"
           "\n"
           "(%s; Ctrl-C to quit)\n",
           (unsigned)v->key, (int)s->pid, state, uptime, started, mrate, brate,
           (unsigned long long)s->open, (unsigned long long)s->accepted,
           (unsigned long long)s->messages, (unsigned long long)s->bytes, last,
           prev != NULL ? "rates since the previous look" : "rates: averages since the start");
}

/* 1 if process pid runs (EPERM: it does, as another user). */
static int server_alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

/* Why there is nothing to show, in one line: the usual reasons (no server, a killed one whose
 * pid is given with ESRCH) said plainly. */
static void say_no_server(key_t key, pid_t pid, int err, FILE *out)
{
    if (err == ENOENT)
        fprintf(out,
                "%s: no echosvr_v4 statistics at key 0x%x: is the server running with -k 0x%x?\n",
                log_progname(), (unsigned)key, (unsigned)key);
    else if (err == ESRCH)
        fprintf(out,
                "%s: the echosvr_v4 (pid %d) that kept the statistics at key 0x%x is gone "
                "(killed?): they are stale; start it with -k 0x%x again\n",
                log_progname(), (int)pid, (unsigned)key, (unsigned)key);
    else
        fprintf(out, "%s: shm_attach(key 0x%x): %s\n", log_progname(), (unsigned)key,
                shm_strerror(err));
}

static uint64_t now_ns(clockid_t clock)
{
    struct timespec t;
    (void)clock_gettime(clock, &t); /* can not fail with these clocks */
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* realtime_ns as 2026-11-26T11:00:00Z, or "-" for 0 (never). */
static void iso_time(char *buf, size_t cap, uint64_t realtime_ns)
{
    struct tm tm;
    time_t t = (time_t)(realtime_ns / 1000000000u);
    if (realtime_ns == 0 || gmtime_r(&t, &tm) == NULL ||
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "-");
}
