/*
 * stack: where a failed test ended, in the student's own files.
 *
 * A test that ended on a signal, on an exit() or _exit() of the code under test, or on its
 * time limit, is run once more, alone, in the same sandbox and environment but with Check's
 * fork mode off (the test's body runs in the runner itself):
 *   - on a signal or an exit, under `gdb -batch`, which stops at the fatal signal or at the
 *     call of exit()/_exit() and prints the stack;
 *   - on a time limit, plainly, with the supervisor told to take the stack of each process of
 *     the test (`gdb -p PID`) when the limit passes, before it kills them (jobs.h). A grading's
 *     own supervisor already does that for a functional test (its limit is the driver's, Check's
 *     timer only a backstop), so its stacks need no re-run.
 * The innermost frames whose file is one of the student's files (function, file:line) are
 * added to the test's reason. Only failed tests pay for it, once each, and only the first few
 * of a grading (a re-run for a hang lasts its whole limit again).
 */
#ifndef SVRLAB_STACK_H
#define SVRLAB_STACK_H

/* The first options of every gdb the grader starts on a student's program (stack.c, debug.c):
 * nothing fetched from the network, and no script a student's binary names (its
 * .debug_gdb_scripts section) loaded. */
#define STACK_GDB_SAFE "-iex", "set debuginfod enabled off", "-iex", "set auto-load off"

#include <sys/types.h>

#include "results.h"

struct stack_test {
    const char *tree;    /* the chapter's temporary tree (its runner, the student's sources) */
    int chapter;
    const char *student; /* the chapter's student files, space-separated */
    const char *dir;     /* the test's directory; the re-run's is this name + "-where" */
    long ipc_key;        /* the test's first IPC key (the re-run's keys are removed after it) */
    int keep;            /* 1: keep the re-run's directory (--keep) */
};

/* For a failed functional item that ended on a signal, an exit or its time limit (it->ending):
 * re-run it as above and append where it was to it->reason. Anything else: nothing. */
void stack_explain(const struct stack_test *st, struct item *it);

/* For the supervisor of a test (jobs.h, job_set_deadline_hook): at the deadline, the stack of
 * each process of the test (`gdb -p`, run as the test's user `uid`), each after a header
 * line. */
size_t stack_at_deadline(uid_t uid, char *out, size_t cap);

/* The innermost frames in the student's files of a gdb backtrace `text` (its "#N ..." lines):
 * at most `max` lines "INDENTin FUNCTION at FILE:LINE" (the first) and "INDENTcalled from
 * FUNCTION at FILE:LINE", appended to out. `student_dir` holds the student's sources, `student` names them.
 * Returns how many frames were written. */
int stack_student_frames(const char *text, const char *student_dir, const char *student, int max,
                         const char *indent, char *out, size_t cap);

#endif
