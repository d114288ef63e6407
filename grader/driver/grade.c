/*
 * grade: the grader's driver. Builds a submission in a fresh temporary tree from the grader's
 * own tests and build files plus only the student's files, runs each test in isolation (jobs.c),
 * reads the results from Check's and valgrind's XML logs (report.c), and prints one line per
 * test, chapter subtotals and a total; JSON on request (jansson).
 *
 * It never links or runs student code in its own process: student code runs only inside the
 * test runners and programs that the supervisors start.
 *
 * Usage: see usage() below, or `grader/grade --help`.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/gt_env.h"
#include "debug.h"
#include "fold.h"
#include "jobs.h"
#include "points.h"
#include "progress.h"
#include "refcache.h"
#include "results.h"
#include "report.h"
#include "sandbox.h"
#include "select.h"
#include "stack.h"
#include "testenv.h"
#include "upload.h"
#include "util.h"

#define EXIT_CANNOT_RUN 2
#define REASON_LINES 8
#define REASON_LINE_LEN 160
#define MEMCHECK_TIME_SCALE 10
#define MAX_TEST_TIMEOUT 300.0 /* seconds, before the memcheck scale */
#define IPC_KEYS_PER_JOB GT_IPC_KEYS
/* A chapter's build is stopped once it has used no CPU for BUILD_TIMEOUT seconds (an #include
 * of a device, /dev/ptmx, blocks the compiler at 0 CPU, where no CPU limit ends it), and after
 * BUILD_WALL_MAX seconds in all. A slow build on a busy machine keeps using CPU, so load alone
 * never stops it; the slowest chapter builds in under a minute on a quiet 2-CPU machine. */
#define BUILD_TIMEOUT 60.0
#define BUILD_WALL_MAX 600.0
#define IPC_SLOT (1L << 18) /* keys reserved for one grader run: 4095 jobs of 64 keys */
/* slot n of the keys starts at IPC_FIRST_KEY + n * IPC_SLOT (n also picks the sandbox's uids) */
#define IPC_FIRST_KEY 0x10000000L
#define IPC_END_KEY 0x7fffffffL /* slots end below this key */

static struct {
    const char *root, *src, *filter, *json, *gradescope, *junit, *extra, *debug, *ex, *failed, *progress;
    int chapter; /* 0: all */
    int require_full, memcheck, jobs, keep, verbose, color, check_points, show_files;
    double build_timeout; /* seconds a chapter's build may go without using CPU */
} opt = {.memcheck = 1, .build_timeout = BUILD_TIMEOUT};

static char run_dir[4096];
static char lab[4200]; /* the run's copy of the grader's files, taken before any student code */
/* The points files as read at the start: compared (and restored) at the end, since without
 * the sandbox a test runs as the caller and can write the checkout. */
static struct {
    char path[4200];
    char text[65536];
    size_t len;
} points_read[MAX_CHAPTER];
static char valgrind[4096];
static long ipc_base = -1;
static int next_ipc_job;
static int shown, total_shown;
#define interrupted stop_requested /* set by on_signal (util.h) */

static void usage(FILE *to);
static void parse_args(int argc, char **argv);
static void select_tests(void);
static void on_signal(int sig);
static int reserve_ipc(void);
static int prepare_chapter(struct chapter *c);
static int build_chapter(struct chapter *c);
static int take_given_objs(const struct chapter *c);
static int open_tree(const struct chapter *c);
static void summarize_build(struct chapter *c);
static void blame_build(const struct chapter *c, struct item *it);
static int check_runner_list(struct chapter *c);
static void run_items(struct chapter *c, enum kind kind);
static void new_token(char *out, size_t cap);
static void judge(struct chapter *c, struct item *it, const char *dir);
static void print_item(const struct item *it);
static void print_reason(const char *reason);
static void cleanup(void);
static int snapshot_lab(void);
static void verify_points(void);

int main(int argc, char **argv)
{
    double started = now_s(); /* Gradescope's execution_time */
    parse_args(argc, argv);
    fold_init(print_item, &shown, opt.verbose, opt.memcheck);
    /* No SA_RESTART: an interrupt must wake the waitpid() of the main loop. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    /* Tests inherit our descriptor limit: take the hard one, so that a test needing many
     * descriptors (and valgrind, which keeps the top ones for itself) is limited by what the
     * machine allows, not by a shell's default soft limit. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    if (opt.memcheck && !find_in_path("valgrind", valgrind, sizeof valgrind)) {
        fprintf(stderr, "grade: valgrind not found (run 'make deps', or use --no-memcheck)\n");
        return EXIT_CANNOT_RUN;
    }
    const char *tmp = getenv("TMPDIR");
    tmp = sb_init(tmp && *tmp ? tmp : "/tmp"); /* as root, tests run sandboxed: sandbox.h */
    size_t rlen = strlen(opt.root);
    int own = strncmp(opt.src, opt.root, rlen) == 0 && (!opt.src[rlen] || opt.src[rlen] == '/');
    if (!sb_active() && !own) /* an upload (not the checkout's own work), not as root */
        fprintf(stderr,
                "grade: note: not root, so no sandbox: the tests run as you and can write your "
                "files, reach the network, and leave processes, System V objects and files in "
                "/tmp, /var/tmp and /dev/shm; a build reads what you can. Grade others' work as "
                "root (in a container)\n");
    sb_keep(opt.keep);
    fmt(run_dir, sizeof run_dir, "%s/svrlab-grade.XXXXXX", tmp);
    if (!mkdtemp(run_dir)) {
        fprintf(stderr, "grade: mkdtemp(%s): %s\n", run_dir, strerror(errno));
        return EXIT_CANNOT_RUN;
    }
    int reclaimed = job_reclaim_ipc(IPC_FIRST_KEY, IPC_SLOT, IPC_END_KEY);
    if (reclaimed > 0)
        fprintf(stderr, "grade: removed the System V IPC objects of %d earlier grader run%s "
                        "(killed before it could remove them)\n",
                reclaimed, reclaimed == 1 ? "" : "s");
    if (reserve_ipc() != 0 ||
        sb_setup(run_dir, (ipc_base - IPC_FIRST_KEY) / IPC_SLOT, opt.jobs) != 0) {
        cleanup();
        return EXIT_CANNOT_RUN;
    }

    if (snapshot_lab() != 0) {
        cleanup();
        return EXIT_CANNOT_RUN;
    }
    /* the reference's sources, out of the tests' reach (sandbox.h): the checkout's (the run's
     * copy is root's alone), and each chapter tree's (prepare_chapter) */
    char sol[4200];
    sb_hide(fmt(sol, sizeof sol, "%s/solutions", opt.root));
    sb_hide(fmt(sol, sizeof sol, "%s/.git", opt.root)); /* every version of solutions/ */
    sb_hide(fmt(sol, sizeof sol, "%s/build/solutions", opt.root)); /* `make`'s objects of it */
    char why[8192];
    struct chapter chapters[MAX_CHAPTER];
    memset(chapters, 0, sizeof chapters);
    int status = 0, not_full = 0; /* not_full: items below their maximum, bonus ones too */
    for (int n = 1; n <= MAX_CHAPTER; n++) {
        struct chapter *c = &chapters[n - 1];
        c->number = n;
        if (opt.chapter && opt.chapter != n)
            continue;
        char path[4200], err[512];
        fmt(path, sizeof path, "%s/grader/chapters/chapter%d.points", opt.root, n);
        fmt(points_read[n - 1].path, sizeof points_read[n - 1].path, "%s", path);
        points_read[n - 1].len = read_file(path, points_read[n - 1].text,
                                           sizeof points_read[n - 1].text, 0);
        if (pt_load(path, &c->pts, err, sizeof err) != 0) {
            if (errno == ENOENT)
                continue;
            fprintf(stderr, "grade: %s\n", err);
            status = EXIT_CANNOT_RUN;
            goto out;
        }
        c->available = 1;
        char extra[4200];
        fmt(extra, sizeof extra, "%s/chapter%d/points", opt.extra ? opt.extra : "", n);
        if (opt.extra && is_regular(extra) && pt_load_extra(extra, &c->pts, err, sizeof err) != 0) {
            fprintf(stderr, "grade: %s\n", err);
            status = EXIT_CANNOT_RUN;
            goto out;
        }
        for (size_t i = 0; i < c->pts.ntests; i++) {
            const struct pt_test *t = &c->pts.tests[i];
            if (!sel_wants(n, t))
                continue;
            total_shown += 1 + (opt.memcheck && t->memcheck > 0);
        }
    }
    const struct pt_test *debug_t = NULL; /* --debug: the test, and only its chapter */
    if (opt.debug && !(debug_t = debug_find(chapters, opt.debug, &opt.chapter))) {
        status = EXIT_CANNOT_RUN;
        goto out;
    }
    for (int n = 1; n <= MAX_CHAPTER && debug_t; n++)
        chapters[n - 1].available &= n == opt.chapter;
    if ((opt.filter || opt.ex || opt.failed) && total_shown == 0) {
        fprintf(stderr, "grade: %s (the names are in grader/chapters/chapterN.points)\n",
                sel_describe(why, sizeof why));
        status = EXIT_CANNOT_RUN;
        goto out;
    }
    if (upload_locate(opt.src, opt.root, run_dir, chapters, why, sizeof why) != 0) {
        fprintf(stderr, "grade: %s\n", why);
        status = EXIT_CANNOT_RUN;
        goto out;
    }
    if (opt.show_files) {
        for (int n = 1; n <= MAX_CHAPTER; n++)
            if (chapters[n - 1].available) {
                upload_summary(&chapters[n - 1], opt.src, why, sizeof why);
                fputs(why, stdout);
            }
        goto out;
    }
    printf("svrlab grader: grading %s, %d test%s at a time\n", opt.src, opt.jobs,
           opt.jobs == 1 ? "" : "s");

    for (int n = 1; n <= MAX_CHAPTER && !interrupted; n++) {
        struct chapter *c = &chapters[n - 1];
        if (!c->available)
            continue;
        printf("\n== chapter %d: %s ==\n", n, c->pts.title);
        progress_announce(opt.progress, c, opt.memcheck);
        fflush(stdout);
        double chapter_started = now_s(); /* its grading, build included */
        if (prepare_chapter(c) != 0 || build_chapter(c) != 0 || open_tree(c) != 0) {
            if (interrupted)
                break;
            status = EXIT_CANNOT_RUN;
            goto out;
        }
        if (debug_t) {
            struct debug_test d = {c->tree, debug_t->name, c->up.dir, ipc_base + IPC_KEYS_PER_JOB};
            status = debug_run(&d) < 0 ? EXIT_CANNOT_RUN : 0;
            goto out;
        }
        if (opt.check_points) {
            if (check_runner_list(c) != 0)
                status = 1;
            continue;
        }
        run_items(c, FUNCTIONAL);
        if (opt.memcheck)
            run_items(c, MEMCHECK);
        for (size_t i = 0; i < c->nitems; i++) {
            struct item *it = &c->items[i];
            not_full += it->score < it->max; /* bonus tests too, for --require-full */
            if (it->t->bonus) {
                c->bonus += it->score;
            } else {
                c->score += it->score;
                c->max += it->max;
            }
        }
        c->seconds = now_s() - chapter_started;
        printf("chapter %d subtotal: %d/%d", n, c->score, c->max);
        if (c->bonus)
            printf(" (+%d bonus)", c->bonus);
        printf("\n");
    }
    if (interrupted) {
        fprintf(stderr, "grade: interrupted\n");
        status = 130;
        goto out;
    }
    if (opt.check_points) {
        printf("%s\n", status ? "points data: FAIL" : "points data: OK");
        goto out;
    }

    int score = 0, max = 0, bonus = 0;
    printf("\n");
    for (int n = 1; n <= MAX_CHAPTER; n++) {
        struct chapter *c = &chapters[n - 1];
        if (opt.chapter && opt.chapter != n)
            continue;
        if (!c->available) {
            printf("chapter %d: not available yet\n", n);
            continue;
        }
        printf("chapter %d %-34s %4d/%d%s\n", n, c->pts.title, c->score, c->max,
               c->bonus ? " + bonus" : "");
        score += c->score;
        max += c->max;
        bonus += c->bonus;
    }
    printf("total: %d/%d", score, max);
    if (bonus)
        printf(" (+%d bonus)", bonus);
    printf("\n");

    struct totals tot = {opt.src, score, max, bonus, now_s() - started};
    int selected[MAX_CHAPTER];
    for (int n = 1; n <= MAX_CHAPTER; n++)
        selected[n - 1] = !opt.chapter || opt.chapter == n;
    if ((opt.json && results_json(opt.json, chapters, selected, &tot) != 0) ||
        (opt.gradescope && results_gradescope(opt.gradescope, chapters, selected, &tot) != 0) ||
        (opt.junit && results_junit(opt.junit, chapters, selected, &tot) != 0) ||
        (opt.progress && progress_merge(opt.progress, chapters, selected) != 0))
        status = EXIT_CANNOT_RUN;
    progress_failures(chapters, selected);
    if (status == 0 && opt.require_full && (score < max || not_full > 0))
        status = 1;
out:
    verify_points();
    for (int n = 0; n < MAX_CHAPTER; n++) {
        free(chapters[n].items);
        pt_free(&chapters[n].pts);
    }
    cleanup();
    return status;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: grader/grade [options]\n"
            "Builds and grades svrlab's chapters 1-%d: one line per test, subtotals, a total.\n"
            "\n"
            "  --src DIR        grade the upload in DIR; default: this checkout. Only the\n"
            "                   student's files are taken: from DIR's chapterN/ folders (at its\n"
            "                   top or up to two folders down; never in build/, solutions/,\n"
            "                   results/, reports/, __MACOSX or dot folders), or, uploaded\n"
            "                   without folders, each file by its name. A file not there is\n"
            "                   the starter's. Two places for one chapter is an error.\n"
            "  --show-files     only say which files of the upload would be graded\n"
            "  --ch N           grade chapter N only\n"
            "  --test TEXT      only the tests whose name contains TEXT\n"
            "  --ex N.M         only the tests of exercise N.M\n"
            "  --failed FILE    only the tests that failed in results FILE (--json of a grading)\n"
            "  --progress FILE  merge the results into FILE, each test's latest (make status)\n"
            "  --json FILE      also write the results as JSON to FILE\n"
            "  --gradescope FILE  ... as Gradescope's results.json to FILE\n"
            "  --junit FILE     ... as JUnit XML to FILE (GitHub Classroom, CI systems)\n"
            "  --extra-tests DIR  add an instructor's hidden tests: DIR/chapterN/*.c (Check tests\n"
            "                   written with grader/lib/gt.h) and DIR/chapterN/points (lines of\n"
            "                   grader/chapters/chapterN.points); hidden in --gradescope output\n"
            "  --require-full   exit 1 unless every test got full marks (bonus tests too)\n"
            "  --no-memcheck    skip the valgrind runs (their points leave the maximum)\n"
            "  -j, --jobs N     tests run at a time (default: the number of CPUs)\n"
            "  --build-timeout S  stop a chapter's build once it has used no CPU for S seconds\n"
            "                   (default: %.0f; and after %.0f s in all)\n"
            "  --keep           keep the temporary build and test directories (as root, a\n"
            "                   test directory keeps the plain files at its top, 1 MiB each)\n"
            "  --debug TEST     build TEST's chapter as a grading does and start the test under\n"
            "                   gdb, stopped at its start, with the test's environment\n"
            "  --check-points   only check that the points data and the tests agree\n"
            "  -v, --verbose    show the full reason of every failure, and each test of an\n"
            "                   exercise not started (else one line: \"ex1.2 not started\")\n"
            "  --batch DIR      grade every submission in DIR into a CSV gradebook (see\n"
            "                   grader/batch --help); --shard I/N grades one part of it\n"
            "  --merge OUT DIR...  join the parts' outputs into one (see grader/merge --help)\n"
            "  -h, --help       this text\n"
            "\n"
            "Exit status: 0 when grading ran (whatever the score), 1 with --require-full below\n"
            "full marks, 2 when grading could not run.\n",
            MAX_CHAPTER, BUILD_TIMEOUT, BUILD_WALL_MAX);
}

static void parse_args(int argc, char **argv)
{
    static const struct option longs[] = {
        {"src", required_argument, NULL, 's'},     {"ch", required_argument, NULL, 'c'},
        {"test", required_argument, NULL, 't'},    {"json", required_argument, NULL, 'J'},
        {"require-full", no_argument, NULL, 'F'},  {"no-memcheck", no_argument, NULL, 'M'},
        {"jobs", required_argument, NULL, 'j'},    {"keep", no_argument, NULL, 'K'},
        {"check-points", no_argument, NULL, 'P'},  {"verbose", no_argument, NULL, 'v'},
        {"root", required_argument, NULL, 'R'},    {"help", no_argument, NULL, 'h'},
        {"gradescope", required_argument, NULL, 'G'}, {"junit", required_argument, NULL, 'U'},
        {"extra-tests", required_argument, NULL, 'X'}, {"show-files", no_argument, NULL, 'S'},
        {"build-timeout", required_argument, NULL, 'B'}, {"debug", required_argument, NULL, 'D'},
        {"ex", required_argument, NULL, 'E'}, {"failed", required_argument, NULL, 'L'},
        {"progress", required_argument, NULL, 'O'},
        {NULL, 0, NULL, 0}};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    opt.jobs = ncpu > 0 ? (int)ncpu : 1;
    opterr = 0;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "j:vh", longs, NULL)) != -1) {
        switch (c) {
        case 's': opt.src = optarg; break;
        case 'c':
            opt.chapter = (int)strtol(optarg, &end, 10);
            if (*end || opt.chapter < 1 || opt.chapter > MAX_CHAPTER) {
                fprintf(stderr, "grade: --ch: expected 1 to %d, got '%s'\n", MAX_CHAPTER, optarg);
                exit(EXIT_CANNOT_RUN);
            }
            break;
        case 't': opt.filter = *optarg ? optarg : NULL; break;
        case 'J': opt.json = optarg; break;
        case 'G': opt.gradescope = optarg; break;
        case 'U': opt.junit = optarg; break;
        case 'X': opt.extra = optarg; break;
        case 'F': opt.require_full = 1; break;
        case 'M': opt.memcheck = 0; break;
        case 'j':
            opt.jobs = (int)strtol(optarg, &end, 10);
            if (*end || opt.jobs < 1 || opt.jobs > 64) {
                fprintf(stderr, "grade: --jobs: expected 1 to 64, got '%s'\n", optarg);
                exit(EXIT_CANNOT_RUN);
            }
            break;
        case 'B':
            opt.build_timeout = strtod(optarg, &end);
            if (*end || !(opt.build_timeout >= 1 && opt.build_timeout <= 3600)) {
                fprintf(stderr, "grade: --build-timeout: expected 1 to 3600 seconds, got '%s'\n",
                        optarg);
                exit(EXIT_CANNOT_RUN);
            }
            break;
        case 'K': opt.keep = 1; break;
        case 'P': opt.check_points = 1; break;
        case 'S': opt.show_files = 1; break;
        case 'D': opt.debug = optarg; opt.memcheck = 0; break;
        case 'E': opt.ex = optarg; break;
        case 'L': opt.failed = optarg; break;
        case 'O': opt.progress = optarg; break;
        case 'v': opt.verbose = 1; break;
        case 'R': opt.root = optarg; break;
        case 'h': usage(stdout); exit(0);
        default:
            fprintf(stderr, "grade: unknown option or missing value: '%s' (see --help)\n",
                    argv[optind - 1]);
            exit(EXIT_CANNOT_RUN);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "grade: unexpected argument '%s' (see --help)\n", argv[optind]);
        exit(EXIT_CANNOT_RUN);
    }
    static char root[4096], src[4096];
    if (!opt.root) {
        fprintf(stderr, "grade: --root is set by grader/grade; run that script\n");
        exit(EXIT_CANNOT_RUN);
    }
    if (!realpath(opt.root, root) || !is_dir(root)) {
        fprintf(stderr, "grade: --root %s: not a directory\n", opt.root);
        exit(EXIT_CANNOT_RUN);
    }
    opt.root = root;
    if (!opt.src)
        opt.src = root;
    static char extra[4096];
    if (opt.extra && (!realpath(opt.extra, extra) || !is_dir(extra))) {
        fprintf(stderr, "grade: --extra-tests %s: not a directory\n", opt.extra);
        exit(EXIT_CANNOT_RUN);
    }
    if (opt.extra)
        opt.extra = extra;
    if (!realpath(opt.src, src) || !is_dir(src)) {
        fprintf(stderr, "grade: --src %s: not a directory\n", opt.src);
        exit(EXIT_CANNOT_RUN);
    }
    opt.src = src;
    select_tests();
    opt.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
}

/* --test, --ex, --failed (select.h): the tests to run, and their chapter when only one */
static void select_tests(void)
{
    char err[4400];
    sel_name(opt.filter);
    int ex = opt.ex ? sel_exercise(opt.ex, MAX_CHAPTER, err, sizeof err) : 0;
    int failed = opt.failed ? sel_failed(opt.failed, err, sizeof err) : 0;
    if (failed == -2) {
        printf("grade: nothing to re-run: %s\n", err + strlen("--failed: "));
        exit(0);
    }
    if (ex < 0 || failed < 0) {
        fprintf(stderr, "grade: %s\n", err);
        exit(EXIT_CANNOT_RUN);
    }
    if (ex > 0 && opt.chapter && opt.chapter != ex) {
        fprintf(stderr, "grade: --ex %s is not in chapter %d (--ch)\n", opt.ex, opt.chapter);
        exit(EXIT_CANNOT_RUN);
    }
    if (!opt.chapter)
        opt.chapter = ex > 0 ? ex : failed;
}

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Each run takes a slot of IPC keys of its own, claimed by creating a tiny segment at the
 * slot's first key with IPC_EXCL, so two graders on one machine never share a key. */
static int reserve_ipc(void)
{
    long slots = (IPC_END_KEY - IPC_FIRST_KEY) / IPC_SLOT;
    long start = ((long)getpid() * 7919L + (long)time(NULL)) % slots;
    for (long i = 0; i < 64; i++) {
        long base = IPC_FIRST_KEY + ((start + i) % slots) * IPC_SLOT;
        int id = shmget((key_t)base, 1, IPC_CREAT | IPC_EXCL | 0600);
        if (id >= 0) {
            ipc_base = base;
            return 0;
        }
        if (errno != EEXIST) {
            fprintf(stderr, "grade: shmget(key=0x%lx, 1, IPC_CREAT|IPC_EXCL|0600): %s\n", base,
                    strerror(errno));
            return -1;
        }
    }
    fprintf(stderr, "grade: no free range of System V IPC keys\n");
    return -1;
}

static int copy(const char *from, const char *to)
{
    char *argv[] = {"cp", "-R", "-P", (char *)from, (char *)to, NULL};
    return run_cmd(argv, NULL);
}

/* Chapter n's starter of file f, written to `to`: generated from solutions/ as `make starters`
 * does, never read from root's chapterN/, whose working tree may hold an instructor's answers
 * (and a Gradescope bundle has no git history to take the committed one from). */
static int starter_file(int n, const char *f, const char *to)
{
    char mk[4400], rel[4400];
    char *argv[] = {"sh", fmt(mk, sizeof mk, "%s/grader/mkstarters", lab), "--file",
                    fmt(rel, sizeof rel, "chapter%d/%s", n, f), (char *)to, NULL};
    return run_cmd(argv, NULL);
}

/* The temporary tree: the grader's pristine common/, lib, build files and tests, the reference
 * solution, and the student's chapter: the reference's files overlaid with the student's own. */
static int prepare_chapter(struct chapter *c)
{
    char p[4400], q[4400];
    const char *r = lab; /* never the checkout, which a test may have written (no sandbox) */
    int n = c->number;
    fmt(c->tree, sizeof c->tree, "%s/ch%d", run_dir, n);
    fmt(p, sizeof p, "%s/grader/tests", c->tree);
    char *mk[] = {"mkdir", "-p", p, NULL};
    int bad = run_cmd(mk, NULL) != 0;
    const char *pairs[][2] = {
        {"common", "common"},     {"grader/lib", "grader/lib"},
        {"grader/build.mk", "grader/build.mk"},  {"grader/chapters", "grader/chapters"},
        {"grader/valgrind.supp", "grader/valgrind.supp"},
        {"grader/linkcheck", "grader/linkcheck"}, {"grader/depcheck", "grader/depcheck"},
        {"grader/studentcc", "grader/studentcc"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0] && !bad; i++)
        bad = copy(fmt(p, sizeof p, "%s/%s", r, pairs[i][0]),
                   fmt(q, sizeof q, "%s/%s", c->tree, pairs[i][1])) != 0;
    if (!bad)
        bad = copy(fmt(p, sizeof p, "%s/grader/tests/chapter%d", r, n),
                   fmt(q, sizeof q, "%s/grader/tests/chapter%d", c->tree, n)) != 0 ||
              copy(fmt(p, sizeof p, "%s/solutions/chapter%d", r, n),
                   fmt(q, sizeof q, "%s/ref", c->tree)) != 0 ||
              copy(fmt(p, sizeof p, "%s/solutions/chapter%d", r, n),
                   fmt(q, sizeof q, "%s/student", c->tree)) != 0;
    /* earlier chapters' reference solutions: a chapter may build on their sources (its
     * build data's prior_srcs), never on the student's earlier work */
    for (int k = 1; k < n && !bad; k++)
        if (is_dir(fmt(p, sizeof p, "%s/solutions/chapter%d", r, k))) {
            char *mkdir_s[] = {"mkdir", "-p", fmt(q, sizeof q, "%s/solutions", c->tree), NULL};
            bad = run_cmd(mkdir_s, NULL) != 0 ||
                  copy(p, fmt(q, sizeof q, "%s/solutions/chapter%d", c->tree, k)) != 0;
        }
    if (!bad && opt.extra) {
        /* an instructor's hidden tests join the chapter's own, under names of their own */
        char *cp[] = {"sh", "-c",
                      "for f in \"$1\"/*.c; do [ ! -f \"$f\" ] || "
                      "cp \"$f\" \"$2/extra_$(basename \"$f\")\" || exit 1; done",
                      "sh", fmt(p, sizeof p, "%s/chapter%d", opt.extra, n),
                      fmt(q, sizeof q, "%s/grader/tests/chapter%d", c->tree, n), NULL};
        bad = run_cmd(cp, NULL) != 0;
    }
    if (bad) {
        fprintf(stderr, "grade: could not copy the grader's files into %s\n", c->tree);
        return -1;
    }

    /* The student's files: from where upload.c found them, else the pristine starter. */
    char summary[4 * FILE_LIST_CAP];
    upload_summary(c, opt.src, summary, sizeof summary);
    fputs(summary, stdout);
    char list[FILE_LIST_CAP];
    fmt(list, sizeof list, "%s", c->up.student);
    for (char *save, *f = strtok_r(list, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
        char from[4400];
        int taken = in_words(c->up.taken, f);
        fmt(q, sizeof q, "%s/student/%s", c->tree, f);
        fmt(from, sizeof from, "%s/%s", c->up.dir, f);
        if (taken ? copy(from, q) != 0 : starter_file(n, f, q) != 0) {
            fprintf(stderr, "grade: could not copy %s\n", taken ? from : f);
            return -1;
        }
    }
    sb_hide(fmt(p, sizeof p, "%s/ref", c->tree));
    sb_hide(fmt(p, sizeof p, "%s/solutions", c->tree));
    /* each test's time limit, from the grader's copy of the tests, before any build */
    char err[512];
    if (pt_load_timeouts(fmt(p, sizeof p, "%s/grader/tests/chapter%d", c->tree, n), &c->pts, err,
                         sizeof err) < 0) {
        fprintf(stderr, "grade: %s\n", err);
        return -1;
    }
    return 0;
}

/* out = s with every `from` replaced by `to`, cut to cap. */
static void replace_all(const char *s, const char *from, const char *to, char *out, size_t cap)
{
    size_t used = 0, flen = strlen(from), tlen = strlen(to);
    while (*s && used + 1 < cap) {
        if (strncmp(s, from, flen) == 0 && used + tlen < cap) {
            memcpy(out + used, to, tlen);
            used += tlen;
            s += flen;
        } else {
            out[used++] = *s++;
        }
    }
    out[used] = 0;
}

/* The reference build also made what the test runner takes from the grader alone (build.mk's
 * given-objs: the tests, the test library, common/): the student's build takes a copy instead
 * of compiling it again, when the chapter's headers in the student's tree are the reference's
 * (given files: they always should be; otherwise that build compiles them itself). Only those
 * folders: the reference's own objects stay out of the student's build. */
static int take_given_objs(const struct chapter *c)
{
    /* the reference build sees our SAN, CC and CFLAGS, the student's build (environment
     * cleared) none: with any of them set, the objects would not fit that build */
    const char *env[] = {"SAN", "CC", "CFLAGS"};
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        if (getenv(env[i]) && *getenv(env[i]))
            return 0;
    static const char script[] =
        "cd \"$1\" || exit 1; for h in student/*.h; do [ ! -e \"$h\" ] || "
        "cmp -s \"$h\" \"ref/${h#student/}\" || exit 0; done; "
        "for d in common gt tests tsan/common tsan/tests tsan/libcommon.a plain/tests "
        "sysnames.txt; do [ ! -e \"out/ref/$d\" ] && continue; "
        "mkdir -p \"out/student/$(dirname \"$d\")\" && "
        "cp -R \"out/ref/$d\" \"out/student/$d\" || exit 1; done; "
        "find out/student -name '*.d' -delete";
    char *argv[] = {"sh", "-c", (char *)script, "sh", (char *)c->tree, NULL};
    return run_cmd(argv, NULL);
}

static int build_chapter(struct chapter *c)
{
    char mkf[4400], ch[16], src[4400], out[4400], tests[4400], log[4400];
    fmt(mkf, sizeof mkf, "%s/grader/build.mk", c->tree);
    fmt(ch, sizeof ch, "CH=%d", c->number);
    fmt(log, sizeof log, "%s/build-ref.log", c->tree);
    /* say=@true: only the compiler's own words go to the log */
    char *ref[] = {"make", "-s", "-j2", "--no-print-directory", "say=@true", "-f", mkf, ch,
                   fmt(src, sizeof src, "SRC=%s/ref", c->tree),
                   fmt(out, sizeof out, "OUT=%s/out/ref", c->tree),
                   fmt(tests, sizeof tests, "TESTS=%s/grader/tests/chapter%d", c->tree, c->number),
                   "progs", "prior", "given-objs", NULL};
    char cached[4500];
    int hit = refcache_get(opt.root, c->tree, c->number, cached, sizeof cached);
    if (hit != 1) {
        int r = run_cmd_bounded(ref, log, BUILD_TIMEOUT, BUILD_WALL_MAX, NULL,
                                NULL); /* ours, not the student's */
        if (r == RUN_STOPPED)
            return -1;
        if (r != 0) {
            char text[1024];
            read_file(log, text, sizeof text, 0);
            fprintf(stderr, "grade: the reference solution of chapter %d does not build:\n%s\n",
                    c->number, text);
            return -1;
        }
        if (hit == 0)
            refcache_put(cached, c->tree);
    } else if (opt.verbose) {
        printf("  reference programs: the cached build of the same sources\n");
    }
    if (take_given_objs(c) != 0) {
        fprintf(stderr, "grade: could not copy the tests' objects of %s/out/ref\n", c->tree);
        return -1;
    }
    /* what the chapter takes from an earlier one's reference, built by us: the student's
     * build links it, and never reads the reference's sources (open_tree) */
    char prior[4400], prior_var[4500];
    fmt(prior, sizeof prior, "%s/out/prior", c->tree);
    char *cp_prior[] = {"cp", "-R", "-P", fmt(out, sizeof out, "%s/out/ref/prior", c->tree),
                        prior, NULL};
    if (is_dir(out) && run_cmd(cp_prior, NULL) != 0) {
        fprintf(stderr, "grade: could not copy %s to %s\n", out, prior);
        return -1;
    }
    fmt(log, sizeof log, "%s/build.log", c->tree);
    char *stu[] = {"make", "-s", "-k", "-j2", "--no-print-directory", "say=@true", "-f", mkf, ch,
                   fmt(src, sizeof src, "SRC=%s/student", c->tree),
                   fmt(out, sizeof out, "OUT=%s/out/student", c->tree),
                   fmt(tests, sizeof tests, "TESTS=%s/grader/tests/chapter%d", c->tree, c->number),
                   fmt(prior_var, sizeof prior_var, "PRIOR_BUILT=%s", prior),
                   "progs", "runner", NULL};
    /* as root, the student's code is compiled by an unprivileged user (sandbox.h), which
     * needs to read the tree first */
    if (open_tree(c) != 0)
        return -1;
    char outdir[4400];
    fmt(outdir, sizeof outdir, "%s/out/student", c->tree);
    double build_started = now_s();
    int r = sb_run_build(stu, log, outdir, 600, opt.build_timeout, BUILD_WALL_MAX);
    if (r == RUN_STOPPED)
        return -1;
    if (r == RUN_TIMED_OUT && now_s() - build_started >= BUILD_WALL_MAX) {
        fmt(c->build_err, sizeof c->build_err,
            "the build was still compiling after %.0f s and was stopped (a macro that expands "
            "without end?)", BUILD_WALL_MAX);
        printf("  build: FAILED\n");
        print_reason(c->build_err);
    } else if (r == RUN_TIMED_OUT) {
        fmt(c->build_err, sizeof c->build_err,
            "the build used no CPU for %.0f s (blocked, not slow) and was stopped (an #include of "
            "a device or of a file that never ends?)", opt.build_timeout);
        printf("  build: FAILED\n");
        print_reason(c->build_err);
    } else if (r != 0) {
        char raw[sizeof c->build_err], from[4400], to[32];
        read_file(log, raw, sizeof raw, 0);
        /* name the student's files as the student knows them */
        fmt(from, sizeof from, "%s/student/", c->tree);
        fmt(to, sizeof to, "chapter%d/", c->number);
        replace_all(raw, from, to, c->build_err, sizeof c->build_err);
        utf8_sanitize(c->build_err);
        summarize_build(c);
        printf("  build: FAILED (%s did not build); the compiler's first error:\n", c->broken);
        print_reason(c->build_first);
        if (opt.verbose) {
            printf("  the compiler's output:\n");
            print_reason(c->build_err);
        } else if (c->build_errors > 1) {
            printf("        (and %d more error line%s: grader/grade -v shows them)\n",
                   c->build_errors - 1, c->build_errors == 2 ? "" : "s");
        }
    }
    return 0;
}

/* The tree open to the run's builds and tests (sandbox.h), but for the reference: its sources
 * (ref/, the earlier chapters' solutions/) root's alone, and of its build (out/ref/) only the
 * programs, which the black-box tests start: executable, not readable. */
static int open_tree(const struct chapter *c)
{
    char p[4400];
    return sb_open_tree(c->tree) != 0 || sb_close(fmt(p, sizeof p, "%s/ref", c->tree), 0) != 0 ||
                   sb_close(fmt(p, sizeof p, "%s/solutions", c->tree), 0) != 0 ||
                   sb_close(fmt(p, sizeof p, "%s/out/ref", c->tree), 1) != 0
               ? -1
               : 0;
}

/* After a failed build: its first error (and why, when it is a warning), how many error lines
 * there are, and which programs (or the test runner) are missing because of it. */
static void summarize_build(struct chapter *c)
{
    const char *first = NULL, *p = c->build_err;
    c->build_errors = 0;
    for (; *p; p += strcspn(p, "\n"), p += *p == '\n') {
        size_t len = strcspn(p, "\n");
        char line[REASON_CAP];
        fmt(line, sizeof line, "%.*s", (int)len, p);
        /* the compiler's and the linker's errors, and grader/linkcheck's "rio.c: ..." lines
         * (a bare file name: the compiler's own lines name chapterN/rio.c) */
        const char *colon = strstr(line, ".c: ");
        if (strstr(line, "error:") || strstr(line, "undefined reference") ||
            (colon && (size_t)(colon - line) + 2 == strcspn(line, " :/"))) {
            c->build_errors++;
            if (!first)
                first = p;
        }
    }
    if (!first)
        first = c->build_err;
    size_t len = strcspn(first, "\n");
    fmt(c->build_first, sizeof c->build_first, "%.*s", (int)len, first);
    if (strstr(c->build_first, "[-Werror"))
        fmt(c->build_first + strlen(c->build_first), sizeof c->build_first - strlen(c->build_first),
            " (warnings are errors in svrlab: a warning most often points at a real bug, so "
            "the code must compile without any)");

    char mkf[4400], ch[16], log[4400], names[1024], path[4400];
    fmt(log, sizeof log, "%s/prog-names", c->tree);
    char *argv[] = {"make", "-s", "--no-print-directory", "-f",
                    fmt(mkf, sizeof mkf, "%s/grader/build.mk", c->tree),
                    fmt(ch, sizeof ch, "CH=%d", c->number), "prog-names", NULL};
    if (run_cmd(argv, log) != 0 || read_file(log, names, sizeof names, 0) == 0)
        names[0] = 0; /* then only the runner is looked for */
    strncat(names, " runner", sizeof names - strlen(names) - 1);
    c->broken[0] = 0;
    for (char *save, *f = strtok_r(names, " \n", &save); f; f = strtok_r(NULL, " \n", &save))
        if (!is_regular(fmt(path, sizeof path, "%s/out/student/%s", c->tree, f)))
            fmt(c->broken + strlen(c->broken), sizeof c->broken - strlen(c->broken), "%s%s",
                c->broken[0] ? ", " : "", strcmp(f, "runner") ? f : "the test runner");
    if (!c->broken[0])
        fmt(c->broken, sizeof c->broken, "part of the chapter");
}

/* A failed test of a chapter whose build failed: say which program did not build and quote the
 * compiler, not what running a missing program looks like (status 127). */
static void blame_build(const struct chapter *c, struct item *it)
{
    if (!c->build_err[0] || it->status != FAIL)
        return;
    char names[sizeof c->broken], which[sizeof c->broken] = "";
    fmt(names, sizeof names, "%s", c->broken);
    for (char *save, *f = strtok_r(names, ", ", &save); f; f = strtok_r(NULL, ", ", &save)) {
        char path[300];
        if (strstr(it->reason, fmt(path, sizeof path, "/%s", f)) ||
            strstr(it->reason, fmt(path, sizeof path, "%s ", f)))
            fmt(which, sizeof which, "%s", f);
    }
    if (!which[0] && !strstr(it->reason, "127") && !strstr(it->reason, "cannot execute"))
        return;
    fmt(it->reason, sizeof it->reason, "%s did not build, so this test could not run it; the "
        "compiler's first error:\n%s", which[0] ? which : c->broken, c->build_first);
}

/* The tests the runner has must be exactly the tests of the points data. */
static int check_runner_list(struct chapter *c)
{
    char runner[4400], log[4400], list[16384];
    fmt(runner, sizeof runner, "%s/out/student/runner", c->tree);
    fmt(log, sizeof log, "%s/runner-list", c->tree);
    char *argv[] = {runner, "--list", NULL};
    if (job_run(argv, log) != 0) {
        printf("  the test runner did not build or run\n");
        return -1;
    }
    read_file(log, list, sizeof list, 0);
    int bad = 0;
    for (size_t i = 0; i < c->pts.ntests; i++) {
        char needle[128];
        fmt(needle, sizeof needle, "\n%s ", c->pts.tests[i].name);
        char padded[sizeof list + 1];
        fmt(padded, sizeof padded, "\n%s", list);
        if (!strstr(padded, needle)) {
            printf("  %s: in the points data but not a test\n", c->pts.tests[i].name);
            bad = 1;
        }
    }
    for (char *save, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        size_t len = strcspn(l, " ");
        double listed = l[len] ? atof(l + len + 1) : 0;
        l[len] = 0;
        int found = 0;
        for (size_t i = 0; i < c->pts.ntests; i++) {
            const struct pt_test *t = &c->pts.tests[i];
            if (strcmp(t->name, l) != 0)
                continue;
            found = 1;
            if (t->timeout != listed) {
                printf("  %s: its timeout is %g s, but the grader read %g s from GT_TEST(%s, ...)\n",
                       l, listed, t->timeout, l);
                bad = 1;
            }
        }
        if (!found) {
            printf("  %s: a test without points\n", l);
            bad = 1;
        }
    }
    printf("  %zu tests, points data %s\n", c->pts.ntests, bad ? "does not match" : "matches");
    return bad ? -1 : 0;
}

/* Run every item of one kind, opt.jobs at a time; print them in order as they complete. */
static void run_items(struct chapter *c, enum kind kind)
{
    if (!c->items) {
        c->items = calloc(2 * c->pts.ntests + 1, sizeof *c->items);
        if (!c->items) {
            fprintf(stderr, "grade: out of memory\n");
            exit(EXIT_CANNOT_RUN);
        }
    }
    size_t first = c->nitems;
    for (size_t i = 0; i < c->pts.ntests; i++) {
        const struct pt_test *t = &c->pts.tests[i];
        if (!sel_wants(c->number, t) || (kind == MEMCHECK && !t->memcheck))
            continue;
        struct item *it = &c->items[c->nitems++];
        it->t = t;
        it->kind = kind;
        it->max = kind == MEMCHECK ? t->memcheck : t->points;
    }
    size_t count = c->nitems - first;
    pid_t *sup = calloc(count + 1, sizeof *sup);
    long *keys = calloc(count + 1, sizeof *keys);
    if (!sup || !keys) {
        fprintf(stderr, "grade: out of memory\n");
        exit(EXIT_CANNOT_RUN);
    }
    char runner[4400];
    fmt(runner, sizeof runner, "%s/out/student/runner", c->tree);
    int have_runner = is_regular(runner);

    size_t next = 0, printed = 0;
    int running = 0;
    while (printed < count) {
        /* start what we may */
        while (next < count && running < opt.jobs && !interrupted) {
            struct item *it = &c->items[first + next];
            if (kind == MEMCHECK) {
                const struct item *fn = NULL;
                for (size_t i = 0; i < first; i++)
                    if (c->items[i].t == it->t)
                        fn = &c->items[i];
                if (!fn || fn->status != PASS) {
                    it->status = SKIP;
                    fmt(it->reason, sizeof it->reason,
                             "not run: memory-clean points need the test itself to pass");
                    next++;
                    continue;
                }
            }
            if (!have_runner) {
                it->status = FAIL;
                fmt(it->reason, sizeof it->reason,
                    "the test runner did not build, so no test could run; the compiler's first "
                    "error:\n%s", c->build_first);
                next++;
                continue;
            }
            char dir[4400];
            fmt(dir, sizeof dir, "%s/run/%zu-%s%s", c->tree, first + next, it->t->name,
                     kind == MEMCHECK ? "-memcheck" : "");
            char *mk[] = {"mkdir", "-p", dir, NULL};
            run_cmd(mk, NULL);
            if (next_ipc_job + 2 > IPC_SLOT / IPC_KEYS_PER_JOB) {
                fprintf(stderr, "grade: too many tests for one run\n");
                exit(EXIT_CANNOT_RUN);
            }
            keys[next] = ipc_base + (long)(++next_ipc_job) * IPC_KEYS_PER_JOB;

            double timeout = it->t->timeout; /* the grader's sources say, not the runner */
            int scale = kind == MEMCHECK ? MEMCHECK_TIME_SCALE : 1;
            if (timeout <= 0)
                timeout = 30;
            if (timeout > MAX_TEST_TIMEOUT)
                timeout = MAX_TEST_TIMEOUT;
            /* a functional test ends at its limit, its stacks taken first (stack.h: Check's
             * own timer, GT_CHECK_BACKSTOP later, is a backstop); under valgrind Check's timer
             * ends it, and ours, later still, is the backstop */
            timeout = kind == MEMCHECK ? timeout * scale + GT_CHECK_BACKSTOP + 10 : timeout + 1;

            struct testenv te;
            testenv_fill(&te, dir, c->tree, keys[next], kind == MEMCHECK, scale,
                         kind != MEMCHECK);
            char xml[4400], vgxml[4400], supp[4400];
            fmt(xml, sizeof xml, "%s/check.xml", dir);
            fmt(vgxml, sizeof vgxml, "--xml-file=%s/vgr-%%p.xml", dir);
            fmt(supp, sizeof supp, "--suppressions=%s/grader/valgrind.supp", c->tree);
            char *fargv[] = {runner, "--run", (char *)it->t->name, "--xml", xml, NULL};
            char *margv[] = {valgrind, "--quiet", "--xml=yes", vgxml, "--leak-check=full",
                             "--show-leak-kinds=definite,indirect",
                             "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
                             "--child-silent-after-fork=yes", supp, runner, "--run",
                             (char *)it->t->name, "--xml", xml, NULL};
            /* a ThreadSanitizer test maps tens of terabytes of shadow memory: no data limit */
            new_token(it->token, sizeof it->token);
            job_set_deadline_hook(kind == FUNCTIONAL ? stack_at_deadline : NULL);
            sup[next] = job_start(dir, kind == MEMCHECK ? margv : fargv, te.env, timeout,
                                  strstr(it->t->name, "tsan") == NULL, it->token);
            if (sup[next] < 0) {
                it->status = FAIL;
                fmt(it->reason, sizeof it->reason, "grader: could not start the test");
            } else {
                running++;
            }
            next++;
        }
        /* print what is done, in order */
        while (printed < next && (c->items[first + printed].status != PENDING)) {
            fold_item(&c->items[first + printed]); /* print_item, or one line for a starter */
            printed++;
        }
        if (printed >= count || (running == 0 && (next >= count || interrupted)))
            break;
        if (running == 0)
            continue;
        int st;
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0) {
            if (errno == EINTR && interrupted)
                for (size_t i = 0; i < next; i++)
                    if (sup[i] > 0)
                        kill(sup[i], SIGTERM);
            continue;
        }
        for (size_t i = 0; i < next; i++) {
            if (sup[i] != p)
                continue;
            struct item *it = &c->items[first + i];
            char dir[4400];
            fmt(dir, sizeof dir, "%s/run/%zu-%s%s", c->tree, first + i, it->t->name,
                     kind == MEMCHECK ? "-memcheck" : "");
            judge(c, it, dir);
            struct stack_test where = {c->tree, c->number, c->up.student, dir, keys[i], opt.keep};
            stack_explain(&where, it); /* a signal, an exit or a hang: where, in their files */
            blame_build(c, it);
            utf8_sanitize(it->reason); /* a student's bytes must not break JSON or XML */
            job_remove_ipc(keys[i], keys[i] + IPC_KEYS_PER_JOB);
            if (!opt.keep) {
                char *rm[] = {"rm", "-rf", dir, NULL};
                run_cmd(rm, NULL);
            }
            sup[i] = 0;
            running--;
        }
    }
    fold_end();
    free(sup);
    free(keys);
}

/* 32 random hex digits into out (cap >= 33): a test's end token. */
static void new_token(char *out, size_t cap)
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        fprintf(stderr, "grade: getrandom: %s\n", strerror(errno));
        exit(EXIT_CANNOT_RUN);
    }
    for (size_t i = 0; i < sizeof r && 2 * i + 2 < cap; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* The marker GT_TEST writes after the body, with the token only the runner was given. */
static int reached_end(const char *dir, const struct item *it)
{
    char path[4400], text[8192], line[256];
    fmt(path, sizeof path, "%s/%s", dir, GT_REACHED_END_FILE);
    read_file(path, text, sizeof text, 0);
    fmt(line, sizeof line, "%s %s\n", it->t->name, it->token);
    return strcmp(text, line) == 0;
}

/* Decide an item from what its run left in dir. */
static void judge(struct chapter *c, struct item *it, const char *dir)
{
    (void)c;
    struct job_outcome o = {0};
    char xml[4400], msg[REASON_CAP];
    int ok = job_outcome(dir, &o) == 0;
    it->seconds = o.seconds;
    it->status = FAIL;
    const char *under = it->kind == MEMCHECK ? "under valgrind, " : "";
    if (!ok) {
        fmt(it->reason, sizeof it->reason, "grader: the test's supervisor failed");
        return;
    }
    if (o.timed_out) {
        it->ending = END_TIMEOUT;
        fmt(it->reason, sizeof it->reason,
                 "%stimed out after %.0f s: the test did not finish (the code under test hangs?)",
                 under, o.seconds);
        return;
    }
    fmt(xml, sizeof xml, "%s/check.xml", dir);
    int r = rp_check_result(xml, it->t->name, msg, sizeof msg);
    char skip_path[4400], skip_reason[1024];
    fmt(skip_path, sizeof skip_path, "%s/%s", dir, GT_SKIPPED_FILE);
    if (r == 0 && read_file(skip_path, skip_reason, sizeof skip_reason, 0) > 0) {
        it->status = SKIP;
        fmt(it->reason, sizeof it->reason, "skipped: %s", skip_reason);
        return;
    }
    if (r < 0) {
        char out[600], path[4400];
        fmt(path, sizeof path, "%s/output", dir);
        read_file(path, out, sizeof out, 1);
        it->ending = WIFSIGNALED(o.status) ? END_SIGNAL : ENDED;
        fmt(it->reason, sizeof it->reason, "%sthe test runner ended without a result (%s)%s%s",
                 under,
                 WIFSIGNALED(o.status) ? strsignal(WTERMSIG(o.status)) : "no log written",
                 out[0] ? "\n" : "", out);
        return;
    }
    if (r == 0) {
        it->ending = strncmp(msg, "Received signal", 15) == 0 ? END_SIGNAL
                     : strncmp(msg, "Early exit", 10) == 0    ? END_EXIT
                     : strcmp(msg, "Test timeout expired") == 0 ? END_TIMEOUT
                                                               : ENDED;
        if (strcmp(msg, "Test timeout expired") == 0)
            fmt(msg, sizeof msg, "timed out: the test did not finish in time "
                                      "(the code under test hangs?)");
        fmt(it->reason, sizeof it->reason, "%s%s", under, msg);
        return;
    }
    if (!reached_end(dir, it)) {
        it->ending = END_EXIT;
        fmt(it->reason, sizeof it->reason,
                 "%sthe test did not run to its end: the code under test ended the process "
                 "early (exit() or _exit()?)",
                 under);
        return;
    }
    if (it->kind == MEMCHECK) {
        char first[REASON_CAP - 64];
        int errors = rp_valgrind_errors(dir, first, sizeof first);
        if (errors > 0) {
            fmt(it->reason, sizeof it->reason, "valgrind found %d error%s; the first:\n%s",
                     errors, errors == 1 ? "" : "s", first);
            return;
        }
        if (WIFEXITED(o.status) && WEXITSTATUS(o.status) == 99) {
            fmt(it->reason, sizeof it->reason, "valgrind reported errors (exit status 99)");
            return;
        }
    }
    /* The runner's exit status comes from Check's own count, which code under test (in Check's
     * child process) can not reach the way it can reach the files of its test directory. */
    if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0) {
        fmt(it->reason, sizeof it->reason,
            "%sthe test runner ended with %s although its log says the test passed (a log "
            "written by the code under test?)",
            under, WIFSIGNALED(o.status) ? strsignal(WTERMSIG(o.status)) : "a failure status");
        return;
    }
    it->status = PASS;
    it->score = it->max;
}

/* The reason under a failed test: long lines wrapped at word boundaries, at most
 * REASON_LINES lines unless -v. */
static void print_reason(const char *reason)
{
    int lines = 0;
    const char *p = reason;
    while (*p && (opt.verbose || lines < REASON_LINES)) {
        size_t len = strcspn(p, "\n");
        if (len > REASON_LINE_LEN) {
            len = REASON_LINE_LEN;
            while (len > REASON_LINE_LEN / 2 && p[len] != ' ')
                len--;
            if (p[len] != ' ')
                len = REASON_LINE_LEN;
        }
        printf("        ");
        for (size_t i = 0; i < len; i++) { /* a test's output may hold \r or ESC: not to us */
            unsigned char ch = (unsigned char)p[i];
            putchar((ch < ' ' && ch != '\t') || ch == 127 ? '?' : ch);
        }
        printf("\n");
        lines++;
        p += len;
        p += strspn(p, p[0] == '\n' ? "\n" : " ");
    }
    if (*p)
        printf("        [...] (grader/grade -v shows it all)\n");
}

static void print_item(const struct item *it)
{
    char name[160];
    fmt(name, sizeof name, "%s%s", it->t->name, it->kind == MEMCHECK ? " [memcheck]" : "");
    int pad = 52 - (int)strlen(name);
    char dots[64];
    memset(dots, '.', sizeof dots);
    dots[pad > 2 ? pad : 2] = 0;
    static const char *const words[] = {"", "PASS", "FAIL", "SKIP"};
    static const char *const colors[] = {"", "\033[32m", "\033[31m", "\033[33m"};
    const char *word = words[it->status];
    const char *on = "", *off = "";
    if (opt.color) {
        on = colors[it->status];
        off = "\033[0m";
    }
    shown++;
    printf("[%*d/%d] %-6s %s %s %s%s%s %3d/%-3d (%.1fs)\n", total_shown >= 100 ? 3 : 2, shown,
           total_shown, it->t->exercise, name, dots, on, word, off, it->score, it->max,
           it->seconds);
    if (it->status == FAIL || (it->status == SKIP && it->kind == FUNCTIONAL))
        print_reason(it->reason);
    fflush(stdout);
}


/* The grader's files, the reference solutions and the starters, copied before any student code
 * runs: each chapter's tree is made from this copy, so what an earlier chapter's tests did to
 * the checkout (as the caller, without the sandbox) changes nothing of a later chapter. */
static int snapshot_lab(void)
{
    static const char *const parts[] = {"common", "grader", "solutions", "chapter1", "chapter2",
                                        "chapter3", "chapter4", "chapter5"};
    fmt(lab, sizeof lab, "%s/lab", run_dir);
    /* root's alone when sandboxed: the tests' users read only their chapter's tree */
    char *mk[] = {"mkdir", "-m", "700", "-p", lab, NULL};
    if (run_cmd(mk, NULL) != 0)
        return -1;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char from[4400], to[4400];
        fmt(from, sizeof from, "%s/%s", opt.root, parts[i]);
        if (is_dir(from) && copy(from, fmt(to, sizeof to, "%s/%s", lab, parts[i])) != 0) {
            fprintf(stderr, "grade: could not copy %s into %s\n", from, lab);
            return -1;
        }
    }
    return 0;
}

/* Each points file the same as when it was read; if not, say so and put back what was read. */
static void verify_points(void)
{
    for (int n = 0; n < MAX_CHAPTER; n++) {
        if (!points_read[n].path[0] || !points_read[n].len)
            continue;
        static char now[sizeof points_read[n].text];
        size_t len = read_file(points_read[n].path, now, sizeof now, 0);
        if (len == points_read[n].len && memcmp(now, points_read[n].text, len) == 0)
            continue;
        fprintf(stderr, "grade: %s changed while grading (a test wrote it?): put back as it was "
                        "read at the start\n", points_read[n].path);
        unlink(points_read[n].path); /* a link put in its place is not followed */
        int fd = open(points_read[n].path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0644);
        if (fd < 0 || write(fd, points_read[n].text, points_read[n].len) !=
                          (ssize_t)points_read[n].len)
            fprintf(stderr, "grade: could not restore %s: %s\n", points_read[n].path,
                    strerror(errno));
        if (fd >= 0)
            close(fd);
    }
}

static void cleanup(void)
{
    if (ipc_base >= 0) {
        job_remove_ipc(ipc_base, ipc_base + IPC_SLOT);
        ipc_base = -1;
    }
    if (run_dir[0] && !opt.keep) {
        char *rm[] = {"rm", "-rf", run_dir, NULL};
        run_cmd(rm, NULL);
    } else if (run_dir[0]) {
        printf("grade: kept %s\n", run_dir);
    }
}
