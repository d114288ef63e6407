/*
 * testenv: the environment of a test runner (see testenv.h).
 */
#include "testenv.h"
#include "../lib/gt_env.h"
#include "util.h"

void testenv_fill(struct testenv *e, const char *dir, const char *tree, long ipc_key, int memcheck,
                  int scale, int fork)
{
    size_t cap = sizeof e->var[0];
    fmt(e->var[0], cap, "%s=%s", GT_ENV_TEST_DIR, dir);
    fmt(e->var[1], cap, "TMPDIR=%s", dir);
    fmt(e->var[2], cap, "%s=%s/out/student", GT_ENV_STUDENT_BIN, tree);
    fmt(e->var[3], cap, "%s=%s/out/ref", GT_ENV_REF_BIN, tree);
    fmt(e->var[4], cap, "%s=%ld", GT_ENV_IPC_KEY, ipc_key);
    fmt(e->var[5], cap, "%s=%d", GT_ENV_MEMCHECK, memcheck);
    fmt(e->var[6], cap, "%s=%d", GT_ENV_TIME_SCALE, scale);
    fmt(e->var[7], cap, "%s=%s/grader/valgrind.supp", GT_ENV_VALGRIND_SUPP, tree);
    fmt(e->var[8], cap, "CK_FORK=%s", fork ? "yes" : "no");
    for (int i = 0; i < TESTENV_VARS; i++)
        e->env[i] = e->var[i];
    e->env[TESTENV_VARS] = NULL;
}
