/*
 * readywait: try the ready_ functions of ex2.1 by hand (given, complete; not graded).
 *
 * It waits, with the mechanism you choose, until its standard input is readable, and says
 * what happened and after how long. SIGUSR1 is caught without SA_RESTART, so `kill -USR1`
 * interrupts the wait the way the grader's EINTR tests do; readywait counts the signals.
 *
 *   readywait -m poll -t 3000                 # type a line within 3 s, or not
 *   sleep 1 | readywait -m select             # end of file after 1 s counts as readable
 *   readywait -m select -d 1500 < /dev/null   # stdin moved to fd 1500: select must refuse
 */
#include "args.h"
#include "log.h"
#include "ready.h"
#include "timing.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct options {
    const char *mech;
    int (*wait)(int fd, int timeout_ms);
    int timeout_ms;
    int fd; /* the descriptor stdin is moved to; 0 = stay on 0 */
};

static void parse_args(int argc, char **argv, struct options *opt);
static void usage(FILE *out);
static int move_stdin(int target);
static void on_sigusr1(int sig);

static volatile sig_atomic_t signals_seen;

int main(int argc, char **argv)
{
    struct options opt;

    log_init(argv[0]);
    parse_args(argc, argv, &opt);

    /* No SA_RESTART: a signal makes the wait fail with EINTR inside ready_*, which must
     * then wait again for the time that is left. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) == -1) {
        log_sys("sigaction(SIGUSR1)");
        return 1;
    }

    int fd = 0;
    if (opt.fd != 0) {
        fd = move_stdin(opt.fd);
        if (fd == -1)
            return 1;
    }

    printf("pid %d: waiting with %s for fd %d to be readable, timeout %d ms\n", (int)getpid(),
           opt.mech, fd, opt.timeout_ms);
    fflush(stdout);
    uint64_t start = timing_now_ns();
    int r = opt.wait(fd, opt.timeout_ms);
    int err = errno;
    double ms = (double)(timing_now_ns() - start) / 1e6;

    if (r == 1)
        printf("ready after %.1f ms (%d signals arrived meanwhile)\n", ms, (int)signals_seen);
    else if (r == 0)
        printf("timeout after %.1f ms (%d signals arrived meanwhile)\n", ms, (int)signals_seen);
    else
        printf("error after %.1f ms: %s (errno %d)\n", ms, strerror(err), err);
    if (fd != 0)
        close(fd);
    return r == -1 ? 1 : 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-m select|poll|epoll] [-t MS] [-d FD]\n"
            "\n"
            "Wait until standard input is readable with ready_select, ready_poll or\n"
            "ready_epoll (ex2.1), and print what happened and after how long. SIGUSR1\n"
            "interrupts the wait (no SA_RESTART); the number of signals is printed.\n"
            "\n"
            "  -m, --mech MECH   select, poll or epoll (default poll)\n"
            "  -t, --timeout MS  milliseconds to wait; -1 waits for ever (default 5000)\n"
            "  -d, --dup FD      move stdin to descriptor FD first (try FD >= 1024 with\n"
            "                    select); the soft RLIMIT_NOFILE is raised if needed\n"
            "  -h, --help        print this help and exit\n"
            "\n"
            "Exit status: 0 ready or timeout, 1 error, 2 bad arguments.\n",
            log_progname());
}

static void parse_args(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"mech", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"dup", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opt->mech = "poll";
    opt->wait = ready_poll;
    opt->timeout_ms = 5000;
    opt->fd = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:t:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            opt->mech = optarg;
            if (strcmp(optarg, "select") == 0)
                opt->wait = ready_select;
            else if (strcmp(optarg, "poll") == 0)
                opt->wait = ready_poll;
            else if (strcmp(optarg, "epoll") == 0)
                opt->wait = ready_epoll;
            else
                args_usage_error("-m: expected select, poll or epoll, got '%s'", optarg);
            break;
        case 't':
            opt->timeout_ms = (int)args_number("-t", optarg, -1, 86400000);
            break;
        case 'd':
            opt->fd = (int)args_number("-d", optarg, 3, 1000000);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
}

/* dup2 stdin onto target, raising the soft descriptor limit when target needs it. */
static int move_stdin(int target)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
        log_sys("getrlimit(RLIMIT_NOFILE)");
        return -1;
    }
    if (rl.rlim_cur <= (rlim_t)target) {
        if (rl.rlim_max <= (rlim_t)target) {
            log_msg("descriptor %d is above the hard limit of %llu descriptors "
                    "(RLIMIT_NOFILE); try a smaller -d",
                    target, (unsigned long long)rl.rlim_max);
            return -1;
        }
        rl.rlim_cur = (rlim_t)target + 1;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
            log_sys("setrlimit(RLIMIT_NOFILE, soft %d)", target + 1);
            return -1;
        }
    }
    if (dup2(0, target) == -1) {
        log_sys("dup2(0, %d)", target);
        return -1;
    }
    return target;
}

static void on_sigusr1(int sig)
{
    (void)sig;
    signals_seen++;
}
