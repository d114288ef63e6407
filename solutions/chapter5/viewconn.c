/*
 * viewconn: lists the connections that md serves, read from md's multi-hash of per-connection
 * statistics (ex5.3: two programs that share one multi-hash).
 *
 * It attaches the table at iomd_key_stats(K) read-only (K: md's -k) and copies every record
 * out (cache_foreach: each copy whole, never half of an update md makes meanwhile); it never
 * asks md anything and never writes. Every -i SECONDS (default 1) it shows them, oldest first:
 * redrawn in place on a terminal, a block of lines otherwise. --once prints one block and exits,
 * for scripts. A block is key=value lines, a summary and then one line per connection:
 *
 *   key=0x4680 md_pid=1234 state=running connections=2 slots=65474 load=0.0000
 *   flow=0x00000001a3c1b2d0 messages=12 bytes=1200 age_s=3.214 idle_s=0.105
 *   flow=0x00000002a3c1b2d0 messages=1 bytes=64 age_s=0.502 idle_s=0.502
 *
 * (age: since the connection's first bytes; idle: since its last; state=stale when md is
 * gone). Live, a block ends with an empty line.
 *
 * md removes its table when it stops and a restarted md makes a new one, at the same key. A
 * removed segment stays mapped in a process that has it attached, but the key no longer finds
 * it: so each look asks the kernel which segment is at the key now (shmget), and if it is not
 * the one held, lets go of that one and attaches the new one. A table whose creator is gone
 * (md was killed) is stale: --once says so and exits 1, as when there is none.
 */
#include "args.h"
#include "cache.h"
#include "connstats.h"
#include "iomd.h"
#include "log.h"
#include "sigwatch.h"
#include "timing.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#define STARTING_WAIT_NS 1000000000ull /* --once: how long a table may be "being created" */
#define SCREEN_ROWS_DEFAULT 24

/* One connection, as copied out of the table. */
struct conn_rec {
    uint64_t flow;
    struct connstat s;
};

/* The connections of one look, oldest first; the array grows as needed and is kept between
 * looks. */
struct listing {
    struct conn_rec *v;
    size_t n, cap;
};

/* The table held between looks, and what the last look found in it. */
struct look {
    key_t base;      /* md's -k */
    struct cache *c; /* NULL while none is attached */
    int id;          /* its shmid: is it still the one at the key? */
    pid_t md_pid;    /* its creator: the md that writes it */
    int md_alive;    /* ... and whether that md still runs */
    struct cache_stats st;
    struct listing l;
};

static void usage(FILE *out);
static int hold_current(struct look *lk);
static int look_at(struct look *lk);
static int look_soon(struct look *lk);
static int list_connections(const struct cache *c, struct listing *l);
static int add_record(uint64_t flow, const void *value, void *arg);
static int older_first(const void *a, const void *b);
static void show(const struct look *lk, int tty);
static void say_no_md(key_t base, pid_t md_pid, int err, FILE *out);
static int live(key_t base, double interval);

int main(int argc, char **argv)
{
    struct args_view a;

    log_init(argv[0]);
    args_parse_view(argc, argv, usage, "the key md was started with", &a);
    key_t base = iomd_base_key(a.key);
    if (!a.once)
        return live(base, a.interval);

    /* --once: one block, or one line on stderr saying why there is none */
    struct look lk = {.base = base};
    int status = 1;
    if (look_soon(&lk) == -1)
        say_no_md(base, lk.md_pid, errno, stderr);
    else if (!lk.md_alive)
        say_no_md(base, lk.md_pid, ESRCH, stderr);
    else {
        show(&lk, 0);
        status = fflush(stdout) == 0 ? 0 : 1;
    }
    cache_close(lk.c);
    free(lk.l.v);
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s -k KEY [--once] [-i SECONDS]\n"
            "\n"
            "Lists the connections that md -k KEY serves, with each one's messages, bytes,\n"
            "age (since its first bytes) and idle time (since its last), oldest first. md\n"
            "keeps them in a multi-hash in shared memory at KEY+%d; viewconn attaches it\n"
            "read-only and never writes to it. On a terminal the list is redrawn every\n"
            "SECONDS; otherwise a block of key=value lines is printed each time, ending with\n"
            "an empty line. It waits for an md that is not running yet and picks up a\n"
            "restarted one. SIGINT or SIGTERM ends it (exit status 0).\n"
            "\n"
            "  -k, --key KEY         md's base key (decimal, or hex with 0x)\n"
            "      --once            print one block and exit: 0, or 1 if no md runs\n"
            "  -i, --interval SECONDS  between two looks, %g to %g (default %g)\n"
            "  -h, --help            print this help and exit\n",
            log_progname(), IOMD_STATS_OFFSET, ARGS_VIEW_INTERVAL_MIN, ARGS_VIEW_INTERVAL_MAX,
            ARGS_VIEW_INTERVAL_DEFAULT);
}

/*
 * Make lk->c the table at md's key now: keep the one held if the key still finds it (the same
 * shmid), else let it go and attach the current one read-only, with its shmid and its creator
 * (shmctl IPC_STAT: shm_cpid). The shmid is looked up before and after the attach: if they
 * differ, md restarted in between and we hold the old table (EAGAIN: the next look). Returns
 * 0, or -1 with errno: ENOENT (no table: no md), EAGAIN, or cache_attach's.
 */
static int hold_current(struct look *lk)
{
    key_t key = iomd_key_stats(lk->base);
    struct shmid_ds ds;
    int id = shmget(key, 0, 0), e = errno;
    if (lk->c != NULL && id == lk->id)
        return 0;
    cache_close(lk->c); /* md removed it (it stopped), or nothing was held */
    lk->c = NULL;
    if (id == -1) {
        errno = e;
        return -1;
    }
    struct cache *c = cache_attach(key, 1);
    if (c == NULL)
        return -1;
    if (shmget(key, 0, 0) != id || shmctl(id, IPC_STAT, &ds) == -1) {
        cache_close(c);
        errno = EAGAIN;
        return -1;
    }
    lk->c = c;
    lk->id = id;
    lk->md_pid = ds.shm_cpid;
    return 0;
}

/* One look: the current table's records (list_connections), statistics, and whether its md
 * runs. Returns 0, or -1 with hold_current's or list_connections' errno. */
static int look_at(struct look *lk)
{
    if (hold_current(lk) == -1 || list_connections(lk->c, &lk->l) == -1)
        return -1;
    (void)cache_stats(lk->c, &lk->st);
    lk->md_alive = iomd_pid_alive(lk->md_pid);
    return 0;
}

/* look_at, again for up to a second while md is making its table (EAGAIN). */
static int look_soon(struct look *lk)
{
    uint64_t until = timing_now_ns() + STARTING_WAIT_NS;
    int r;
    while ((r = look_at(lk)) == -1 && errno == EAGAIN && timing_now_ns() < until)
        (void)nanosleep(&(struct timespec){0, 10000000}, NULL);
    return r;
}

/* Live: a look every interval until SIGINT or SIGTERM (the signal pipe wakes the wait).
 * When there is nothing to show, why is said once to a pipe, at every look to a terminal.
 * Returns the exit status. */
static int live(key_t base, double interval)
{
    int tty = isatty(STDOUT_FILENO), said = -1, status = 0;
    struct look lk = {.base = base};
    struct pollfd pfd = {.fd = sigwatch_init(), .events = POLLIN};
    if (pfd.fd == -1) {
        log_sys("sigwatch_init");
        return 1;
    }
    while (!sigwatch_stop_requested() && status == 0) {
        if (look_at(&lk) == 0) {
            show(&lk, tty);
            if (!tty)
                putchar('\n'); /* the end of a block */
            said = -1;
        } else if (errno == ENOSYS || errno == ENOMEM) {
            log_sys("looking at the table at key 0x%x", (unsigned)iomd_key_stats(base));
            status = 1;
        } else if (tty || errno != said) {
            said = errno;
            printf("%s", tty ? "\033[H\033[2J" : "");
            say_no_md(base, 0, errno, stdout);
            printf("waiting for it...\n");
        }
        if (fflush(stdout) != 0) {
            log_sys("writing to stdout");
            status = 1;
        }
        if (status == 0 && poll(&pfd, 1, (int)(interval * 1000 + 0.5)) == -1 && errno != EINTR) {
            log_sys("poll(signal pipe fd=%d)", pfd.fd);
            status = 1;
        }
        (void)sigwatch_take();
    }
    cache_close(lk.c);
    free(lk.l.v);
    sigwatch_close();
    return status;
}

/*
 * The connections of table c into l, oldest first: l->n = 0, then cache_foreach with
 * add_record (each record's copy appended to l->v, the array grown as needed), then qsort with
 * older_first. Returns 0, or -1 with errno (ENOMEM, or cache_foreach's).
 */
static int list_connections(const struct cache *c, struct listing *l)
{
    //@solution
    l->n = 0;
    if (cache_foreach(c, add_record, l) != 0)
        return -1; /* add_record's ENOMEM, or cache_foreach's own */
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, older_first);
    return 0;
    //@stub l->n = 0; cache_foreach(c, add_record, l); qsort(older_first)
    //@ (void)c;
    //@ (void)l;
    //@ (void)add_record;
    //@ (void)older_first;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/* cache_foreach's callback: append (flow, *value) to the listing arg, growing its array
 * (doubling, from 64). 0 to go on, or -1 with errno ENOMEM to stop. */
static int add_record(uint64_t flow, const void *value, void *arg)
{
    //@solution
    struct listing *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? 2 * l->cap : 64;
        struct conn_rec *more = realloc(l->v, cap * sizeof *more);
        if (more == NULL) {
            errno = ENOMEM;
            return -1;
        }
        l->v = more;
        l->cap = cap;
    }
    l->v[l->n].flow = flow;
    memcpy(&l->v[l->n].s, value, sizeof l->v[l->n].s);
    l->n++;
    return 0;
    //@stub append (flow, a copy of *value) to the listing arg, growing its array
    //@ (void)flow;
    //@ (void)value;
    //@ (void)arg;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

/* qsort: the connection first seen first; the same instant: by flow id. */
static int older_first(const void *a, const void *b)
{
    const struct conn_rec *x = a, *y = b;
    if (x->s.first_ns != y->s.first_ns)
        return x->s.first_ns < y->s.first_ns ? -1 : 1;
    return (x->flow > y->flow) - (x->flow < y->flow);
}

/* Seconds from then to now (0 if then is later: a record written after we read the clock). */
static double secs_since(uint64_t now, uint64_t then)
{
    return now > then ? (double)(now - then) / 1e9 : 0.0;
}

/* One look: a block of key=value lines, or a screen on a terminal. */
static void show(const struct look *lk, int tty)
{
    const struct listing *l = &lk->l;
    uint64_t now = timing_now_ns();

    if (!tty) {
        printf("key=0x%x md_pid=%d state=%s connections=%zu slots=%" PRIu64 " load=%.4f\n",
               (unsigned)lk->base, (int)lk->md_pid, lk->md_alive ? "running" : "stale", l->n,
               lk->st.slots, lk->st.load);
        for (size_t i = 0; i < l->n; i++) {
            const struct conn_rec *r = &l->v[i];
            printf("flow=0x%016" PRIx64 " messages=%" PRIu64 " bytes=%" PRIu64
                   " age_s=%.3f idle_s=%.3f\n",
                   r->flow, r->s.messages, r->s.bytes, secs_since(now, r->s.first_ns),
                   secs_since(now, r->s.last_ns));
        }
        return;
    }
    struct winsize ws;
    size_t rows = SCREEN_ROWS_DEFAULT;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
        rows = ws.ws_row;
    size_t fit = rows > 8 ? rows - 7 : 1; /* the lines around the table */
    printf("\033[H\033[2J"                /* home, clear the screen */
           "md at key 0x%x, pid %d%s: %zu live connection(s), table %.1f%% full\n"
           "\n"
           "  %-18s  %10s  %14s  %10s  %10s\n",
           (unsigned)lk->base, (int)lk->md_pid,
           lk->md_alive ? "" : " (gone: these statistics are stale)", l->n, 100.0 * lk->st.load,
           "flow", "messages", "bytes", "age (s)", "idle (s)");
    for (size_t i = 0; i < l->n && i < fit; i++) {
        const struct conn_rec *r = &l->v[i];
        printf("  0x%016" PRIx64 "  %10" PRIu64 "  %14" PRIu64 "  %10.1f  %10.1f\n", r->flow,
               r->s.messages, r->s.bytes, secs_since(now, r->s.first_ns),
               secs_since(now, r->s.last_ns));
    }
    if (l->n > fit)
        printf("  ... and %zu more\n", l->n - fit);
    printf("\n(oldest first; Ctrl-C to quit)\n");
}

/* Why there is nothing to show, in one line: the usual reasons (no md, a killed md) said
 * plainly. */
static void say_no_md(key_t base, pid_t md_pid, int err, FILE *out)
{
    key_t key = iomd_key_stats(base);
    if (err == ENOENT)
        fprintf(out, "%s: no connection statistics at key 0x%x: is md running with -k 0x%x?\n",
                log_progname(), (unsigned)key, (unsigned)base);
    else if (err == ESRCH)
        fprintf(out,
                "%s: the md (pid %d) that kept the connection statistics at key 0x%x is gone "
                "(killed?): they are stale; start md -k 0x%x again\n",
                log_progname(), (int)md_pid, (unsigned)key, (unsigned)base);
    else
        fprintf(out, "%s: looking at the table at key 0x%x: %s\n", log_progname(), (unsigned)key,
                shm_strerror(err));
}
