/*
 * debug: one test's own process under gdb (see debug.h).
 */
#include "debug.h"
#include "sandbox.h"
#include "stack.h"
#include "testenv.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEBUG_CPU_SECONDS 3600.0 /* the sandbox's CPU limit for the session (sb_enter) */

static void start_gdb(const struct debug_test *d, const char *dir, uid_t uid, char *const env[],
                      char *const argv[]);

const struct pt_test *debug_find(const struct chapter *chapters, const char *text, int *chapter)
{
    const struct pt_test *found = NULL;
    char names[1024] = "";
    int count = 0;
    for (int exact = 1; exact >= 0 && count == 0; exact--)
        for (int n = 0; n < MAX_CHAPTER; n++)
            for (size_t i = 0; chapters[n].available && i < chapters[n].pts.ntests; i++) {
                const struct pt_test *t = &chapters[n].pts.tests[i];
                if (exact ? strcmp(t->name, text) != 0 : !strstr(t->name, text))
                    continue;
                size_t used = strlen(names);
                fmt(names + used, sizeof names - used, "%s%s", count ? ", " : "", t->name);
                count++;
                found = t;
                *chapter = n + 1;
            }
    if (count == 1)
        return found;
    if (count > 1)
        fprintf(stderr, "grade: --debug %s: %d tests match (%s); give one name\n", text, count,
                names);
    else
        fprintf(stderr, "grade: --debug %s: no test has that name (the names are in "
                        "grader/chapters/chapterN.points)\n", text);
    return NULL;
}

int debug_run(const struct debug_test *d)
{
    char dir[4400], runner[4400], gdb[4096], subst[8800], brk[200], xml[4500];
    fmt(dir, sizeof dir, "%s/run/debug-%s", d->tree, d->name);
    fmt(runner, sizeof runner, "%s/out/student/runner", d->tree);
    if (!is_regular(runner)) {
        fprintf(stderr, "grade: the test runner did not build (see above), so no test can run\n");
        return -1;
    }
    if (!find_in_path("gdb", gdb, sizeof gdb)) {
        fprintf(stderr, "grade: gdb not found (run 'make deps')\n");
        return -1;
    }
    char *mk[] = {"mkdir", "-p", dir, NULL};
    if (run_cmd(mk, NULL) != 0) {
        fprintf(stderr, "grade: mkdir -p %s failed\n", dir);
        return -1;
    }
    int slot = -1;
    if (sb_active() && ((slot = sb_claim()) < 0 || sb_give_dir(dir, sb_uid(slot)) != 0)) {
        fprintf(stderr, "grade: could not give %s to a user of the sandbox: %s\n", dir,
                strerror(errno));
        return -1;
    }
    struct testenv te;
    testenv_fill(&te, dir, d->tree, d->ipc_key, 0, 1, 0);
    /* gdb's own needs beside the test's: the caller's terminal type */
    char term[300];
    const char *t = getenv("TERM");
    fmt(term, sizeof term, "TERM=%s", t && *t ? t : "dumb");
    char *env[TESTENV_VARS + 2];
    memcpy(env, te.env, sizeof te.env);
    env[TESTENV_VARS] = term;
    env[TESTENV_VARS + 1] = NULL;
    /* the student's own files, when gdb runs as the student (a sandbox's user may not read
     * them: it reads the tree's copies, the same files) */
    fmt(subst, sizeof subst, "set substitute-path %s/student %s", d->tree,
        d->sources[0] ? d->sources : ".");
    fmt(brk, sizeof brk, "break %s_body", d->name);
    fmt(xml, sizeof xml, "%s/check.xml", dir);
    char *argv[] = {gdb, "-q", STACK_GDB_SAFE,
                    "-ex", "set breakpoint pending on",
                    "-ex", "set filename-display basename",
                    "-ex", "pipe handle all nostop noprint pass | true",
                    "-ex", "pipe handle SIGSEGV SIGBUS SIGFPE SIGILL SIGABRT SIGSYS stop print | true",
                    "-ex", d->sources[0] && !sb_active() ? subst : "echo",
                    "-ex", brk, "-ex", "run",
                    "--args", runner, "--run", (char *)d->name, "--xml", xml, NULL};
    printf("\ndebug: %s under gdb, stopped at the start of the test's body. Set breakpoints "
           "in your functions (break rio_read_exact), then continue; bt shows the stack, "
           "quit ends.\n", d->name);
    fflush(NULL);
    /* Ctrl-C is gdb's while it runs (it stops the test), not the driver's */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    pid_t pid = fork();
    if (pid == 0)
        start_gdb(d, dir, slot >= 0 ? sb_uid(slot) : 0, slot >= 0 ? env : NULL, argv);
    int st = -1;
    if (pid < 0)
        fprintf(stderr, "grade: fork: %s\n", strerror(errno));
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    sb_hold(slot, 0);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* In the child: into the test's folder, as the sandbox's user when env is set (else as the
 * caller, with the test's variables added to the environment), then gdb. Does not return. */
static void start_gdb(const struct debug_test *d, const char *dir, uid_t uid, char *const env[],
                      char *const argv[])
{
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    if (chdir(dir) != 0) {
        fprintf(stderr, "grade: chdir(%s): %s\n", dir, strerror(errno));
        _exit(126);
    }
    if (env) {
        if (sb_enter(uid, dir, env, DEBUG_CPU_SECONDS, 1) != 0) {
            fprintf(stderr, "grade: could not run the test as uid %lu: %s\n", (unsigned long)uid,
                    strerror(errno));
            _exit(126);
        }
    } else {
        struct testenv te;
        testenv_fill(&te, dir, d->tree, d->ipc_key, 0, 1, 0);
        for (int i = 0; i < TESTENV_VARS; i++)
            putenv(te.var[i]);
    }
    execv(argv[0], argv);
    fprintf(stderr, "grade: execv(%s): %s\n", argv[0], strerror(errno));
    _exit(127);
}
