/*
 * runner: the main of every chapter's test program.
 *
 *   runner --list                  one line per test: "<name> <timeout seconds>"
 *   runner --run NAME [--xml FILE] run one test with Check, its XML log in FILE
 *
 * Tests register themselves (GT_TEST in gt.h). The driver runs one test per invocation, so
 * a crash, a hang or a stray exit() can only ever cost the test that caused it. Check runs
 * the test in a child process (fork mode) unless CK_FORK=no, as on the memcheck pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt.h"
#include "gt_env.h"

static int usage(FILE *to, int status);
static struct gt_test *find_test(const char *name);
static void take_end_token(void);

static struct gt_test *tests;       /* registration order */
static struct gt_test **tests_tail = &tests;
static char end_token[GT_END_TOKEN_MAX + 1]; /* the driver's, for the reached-end marker */

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (struct gt_test *t = tests; t; t = t->next)
            printf("%s %g\n", t->name, t->timeout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--help") == 0)
        return usage(stdout, 0);
    if ((argc != 3 && argc != 5) || strcmp(argv[1], "--run") != 0 ||
        (argc == 5 && strcmp(argv[3], "--xml") != 0))
        return usage(stderr, 2);

    struct gt_test *t = find_test(argv[2]);
    if (!t) {
        fprintf(stderr, "runner: no test named '%s' (see --list)\n", argv[2]);
        return 2;
    }
    take_end_token();

    Suite *suite = suite_create("svrlab");
    TCase *tc = tcase_create(t->name);
    /* The driver ends a test at its limit, once it has taken the stack of each of the test's
     * processes (which Check's own kill would leave it none of): Check's timer is a backstop. */
    tcase_set_timeout(tc, t->timeout * gt_time_scale() + GT_CHECK_BACKSTOP);
    tcase_add_test(tc, t->check);
    suite_add_tcase(suite, tc);
    SRunner *sr = srunner_create(suite);
    if (argc == 5)
        srunner_set_xml(sr, argv[4]);
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

static int usage(FILE *to, int status)
{
    fprintf(to, "usage: runner --list\n"
                "       runner --run NAME [--xml FILE]\n"
                "Runs one grader test; normally started by the grader's driver.\n");
    return status;
}

static struct gt_test *find_test(const char *name)
{
    for (struct gt_test *t = tests; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

void gt_register(struct gt_test *t)
{
    t->next = NULL;
    *tests_tail = t;
    tests_tail = &t->next;
}

/* Read the driver's token (GT_END_TOKEN_FILE) and remove the file, before the code under test
 * runs. Without one (a runner started by hand) the marker holds an empty token. */
static void take_end_token(void)
{
    const char *dir = getenv(GT_ENV_TEST_DIR);
    if (!dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, GT_END_TOKEN_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, end_token, GT_END_TOKEN_MAX);
    close(fd);
    end_token[n > 0 ? n : 0] = 0;
    end_token[strcspn(end_token, "\n")] = 0;
    unlink(path);
}

/* Called by GT_TEST after the body returned: the proof, read by the driver, that the test
 * was not cut short by an exit() in the code under test: "<name> <token>\n". Code under test
 * can not call it (grader/linkcheck refuses a student file that names the grader's functions)
 * and has never seen the token's file. */
void gt_reached_end(const char *name)
{
    const char *dir = getenv(GT_ENV_TEST_DIR);
    if (!dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, GT_REACHED_END_FILE);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ck_assert_msg(fd >= 0, "grader: open(%s): %s", path, strerror(errno));
    int n = dprintf(fd, "%s %s\n", name, end_token);
    close(fd);
    ck_assert_msg(n > 0, "grader: write(%s) failed", path);
}

void gt_skip(const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    const char *dir = getenv(GT_ENV_TEST_DIR);
    if (dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, GT_SKIPPED_FILE);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs(reason, f);
            fclose(f);
        }
    }
    /* A failure for Check, so nothing can mistake it for a pass; the driver reads the file. */
    ck_abort_msg("skipped: %s", reason);
}
