/*
 * testenv: the environment a test runner gets from the driver (gt_env.h): its directory, the
 * student's and the reference's programs, its IPC keys, the memcheck switch and time scale,
 * and Check's fork mode. One place builds it, for a grading's runs, the re-runs that find
 * where a test ended (stack.h) and a test started under gdb (debug.h).
 */
#ifndef SVRLAB_TESTENV_H
#define SVRLAB_TESTENV_H

#define TESTENV_VARS 9

struct testenv {
    char var[TESTENV_VARS][4400];
    char *env[TESTENV_VARS + 1]; /* NULL-terminated, pointing into var */
};

/* Fill e for a run of a test of the chapter tree `tree` in `dir`, with the IPC keys from
 * `ipc_key`; memcheck: 1 on the valgrind pass (time scale `scale`); fork: Check's CK_FORK. */
void testenv_fill(struct testenv *e, const char *dir, const char *tree, long ipc_key, int memcheck,
                  int scale, int fork);

#endif
