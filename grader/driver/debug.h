/*
 * debug: one test's own process under gdb (`grader/grade --debug NAME`, `make debug T=NAME`).
 *
 * The chapter is built as a grading builds it; then the test runner starts under gdb with the
 * environment a grading gives it (testenv.h), Check's fork mode off so that the test's body,
 * and the student's code it calls, run in the process gdb holds. gdb stops at the start of the
 * test's body; its source paths lead to the student's own files. As root, the test runs as a
 * user of the sandbox, as in a grading (sandbox.h), with the caller's terminal.
 */
#ifndef SVRLAB_DEBUG_H
#define SVRLAB_DEBUG_H

#include "results.h"

struct debug_test {
    const char *tree;       /* the chapter's built temporary tree */
    const char *name;       /* the test */
    const char *sources;    /* the folder of the student's files ("" if none) */
    long ipc_key;           /* the first of the test's IPC keys */
};

/* The test whose name is `text`, or the only one whose name contains it, among the available
 * chapters of chapters[0..MAX_CHAPTER); its chapter's number in *chapter. NULL if none or
 * several (a message on stderr says which). */
const struct pt_test *debug_find(const struct chapter *chapters, const char *text, int *chapter);

/* Run gdb on the test, with the caller's terminal, until gdb ends. Returns gdb's exit status,
 * or -1 with a message. */
int debug_run(const struct debug_test *d);

#endif
