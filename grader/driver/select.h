/*
 * select: which tests a grading runs. --test TEXT keeps the tests whose name contains TEXT,
 * --ex N.M those of exercise N.M, --failed FILE those that failed in the results FILE (JSON
 * of an earlier grading, e.g. build/last-grade.json); given together, a test must pass each.
 */
#ifndef SVRLAB_SELECT_H
#define SVRLAB_SELECT_H

#include <stddef.h>

#include "points.h"

/* --test TEXT (NULL: none). */
void sel_name(const char *text);

/* --ex: "1.2" or "ex1.2". Returns its chapter (1 to max_chapter), or -1 with err. */
int sel_exercise(const char *ex, int max_chapter, char *err, size_t cap);

/* --failed: read the failed tests of results FILE. Returns the chapter they are all in, 0 if
 * they are in several, -2 with err when none failed, or -1 with err (no such file). */
int sel_failed(const char *path, char *err, size_t cap);

/* 1 if test t of chapter `chapter` is to run. */
int sel_wants(int chapter, const struct pt_test *t);

/* What selected nothing, for a one-line error: "no test name contains 'x'", ... */
const char *sel_describe(char *buf, size_t cap);

#endif
