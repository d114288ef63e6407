/*
 * results: what grading found, chapter by chapter and test by test, and the files it can be
 * written to for other tools: JSON, Gradescope's results.json, JUnit XML.
 */
#ifndef SVRLAB_RESULTS_H
#define SVRLAB_RESULTS_H

#include <stddef.h>

#include "points.h"

#define MAX_CHAPTER 5
#define REASON_CAP 2048

enum kind { FUNCTIONAL, MEMCHECK };
/* SKIP: a memcheck run of a failing test, or a test this machine can not run (gt_skip) */
enum status { PENDING, PASS, FAIL, SKIP };

/* How a failed test's process ended, when that says where to look (stack.h) */
enum ending { ENDED, END_SIGNAL, END_EXIT, END_TIMEOUT };

struct item {
    const struct pt_test *t;
    enum kind kind;
    enum status status;
    int score, max;
    double seconds;
    enum ending ending;
    char token[33]; /* random, for the test's reached-end marker (gt_env.h) */
    char reason[REASON_CAP];
};

#define FILE_LIST_CAP 1024
#define BUILD_LOG_CAP 8192

/* What grading took from the upload for one chapter (upload.h): space-separated file names. */
struct upload_files {
    char dir[4096];                /* the folder the chapter's files come from; "" if none */
    char student[FILE_LIST_CAP];   /* the chapter's student files (its build data) */
    char taken[FILE_LIST_CAP];     /* found in the upload and graded */
    char missing[FILE_LIST_CAP];   /* not in the upload: the starter's were graded */
    char outside[FILE_LIST_CAP];   /* links leading out of the upload: the starter's too */
    char ignored[FILE_LIST_CAP];   /* in the upload but not student files: not graded */
};

struct chapter {
    int number;
    int available;
    struct pt_chapter pts;
    char tree[4096];      /* temporary tree of this chapter */
    struct upload_files up;
    char build_err[BUILD_LOG_CAP]; /* the compiler's complaint, if the build failed */
    char build_first[REASON_CAP];  /* its first error line, with why a warning fails it */
    int build_errors;              /* how many error lines the compiler wrote */
    char broken[256];              /* the programs (and "runner") that did not build */
    struct item *items;
    size_t nitems;
    int score, max, bonus;
    double seconds; /* the chapter's grading, its build included */
};

struct totals {
    const char *source; /* the graded tree */
    int score, max, bonus;
    double seconds; /* the grading's wall-clock time */
};

/* "pass", "fail", "skip" (as in the JSON outputs), or "pending". */
const char *results_status_word(enum status s);

/* Write the results of chapters[0..MAX_CHAPTER) (only those with `selected` set are listed) to
 * path. Each returns 0, or -1 after printing why on stderr. */
int results_json(const char *path, const struct chapter *chapters, const int *selected,
                 const struct totals *t);
int results_gradescope(const char *path, const struct chapter *chapters, const int *selected,
                       const struct totals *t);
int results_junit(const char *path, const struct chapter *chapters, const int *selected,
                  const struct totals *t);

#endif
