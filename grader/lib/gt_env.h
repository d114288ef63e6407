/*
 * gt_env: the environment through which the driver hands a test its context. Shared by the
 * driver (which sets it) and the test library (which reads it); nothing else.
 */
#ifndef SVRLAB_GT_ENV_H
#define SVRLAB_GT_ENV_H

#define GT_ENV_TEST_DIR "SVRLAB_TEST_DIR"       /* scratch directory of this test run */
#define GT_ENV_STUDENT_BIN "SVRLAB_STUDENT_BIN" /* directory of the student's programs */
#define GT_ENV_REF_BIN "SVRLAB_REF_BIN"         /* directory of the reference programs */
#define GT_ENV_IPC_KEY "SVRLAB_IPC_KEY"         /* first key of this test's IPC key range */
#define GT_ENV_MEMCHECK "SVRLAB_MEMCHECK"       /* "1": run student programs under valgrind */
#define GT_ENV_TIME_SCALE "SVRLAB_TIME_SCALE"   /* factor for every wait, e.g. "8" */
#define GT_ENV_VALGRIND_SUPP "SVRLAB_VALGRIND_SUPP" /* valgrind suppressions file */

/* Seconds Check's own timer gives a test beyond its limit: the driver ends it first. */
#define GT_CHECK_BACKSTOP 10

/* Number of IPC keys reserved for each test run, from $SVRLAB_IPC_KEY on. */
#define GT_IPC_KEYS 64

/* File in the test directory that GT_TEST writes when a test body ran to its end: the test's
 * name and the run's end token. */
#define GT_REACHED_END_FILE "reached-end"
/* File in the test directory where the driver puts a random token for the run (at most
 * GT_END_TOKEN_MAX characters): the runner reads and removes it before any test code runs, so
 * code under test that writes the marker itself and ends the process (exit(0) after a forged
 * marker) does not know what to write. */
#define GT_END_TOKEN_FILE "end-token"
#define GT_END_TOKEN_MAX 64
/* File in the test directory that gt_skip() writes, holding the reason. */
#define GT_SKIPPED_FILE "skipped"
/* valgrind XML reports of student programs: <test dir>/GT_VG_PREFIX<pid>.xml */
#define GT_VG_PREFIX "vg-"

#endif
