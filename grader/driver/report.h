/*
 * report: read what a test run left behind: Check's XML log and valgrind's XML reports.
 * Both are parsed with libxml2, never scraped from a program's output.
 */
#ifndef SVRLAB_REPORT_H
#define SVRLAB_REPORT_H

#include <stddef.h>

/* Find test `name` in Check's XML log at `path`. Returns 1 if Check says it succeeded, 0 if it
 * did not (its message in msg), -1 if the log is missing or does not hold the test. */
int rp_check_result(const char *path, const char *name, char *msg, size_t cap);

/* Read every valgrind XML report (files vg*.xml) in dir. Returns the number of errors they
 * count (invalid accesses, uses of uninitialised values, bad frees, definite and indirect
 * leaks); the first one, with the top of its stack, is described in first. */
int rp_valgrind_errors(const char *dir, char *first, size_t cap);

#endif
