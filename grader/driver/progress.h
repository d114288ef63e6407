/*
 * progress: what lasts between gradings (`make grade`, `make status`).
 *
 * A progress file (JSON, build/progress.json for `make grade`) holds every test's latest
 * result, whichever grading ran it, with when it ran, and for each chapter how long its last
 * grading took. Each grading merges its results into it; `grader/status` shows it.
 */
#ifndef SVRLAB_PROGRESS_H
#define SVRLAB_PROGRESS_H

#include "results.h"

/* Before chapter c is built (path: the progress file, NULL if none): one line that says what is
 * about to happen, and how long the last grading of the chapter took. */
void progress_announce(const char *path, const struct chapter *c, int memcheck);

/* Merge the results of the selected, available chapters into the file at path (made if
 * missing). Returns 0, or -1 after a message on stderr. */
int progress_merge(const char *path, const struct chapter *chapters, const int *selected);

/* After the totals: the failed tests of the run, one line per exercise, and how to re-run them
 * (nothing when none failed). */
void progress_failures(const struct chapter *chapters, const int *selected);

#endif
