/*
 * jobs: run one grader test in isolation and leave nothing of it behind.
 *
 * job_start() forks a supervisor that makes itself a child subreaper (prctl), so every
 * process the test starts, daemons included, ends up as its descendant; it runs the command
 * in a process group of its own, in the test's directory, with a deadline. When the command
 * has exited or the deadline passed, it kills every remaining descendant, and writes the
 * outcome into the test's directory for job_outcome() to read. The supervisor is the
 * driver's own code: it never runs student code itself.
 *
 * When the grader is root, the command runs in the sandbox (sandbox.h): as a uid of its own,
 * with a cleared environment and limits; after it, the supervisor also kills whatever still
 * runs under that uid, removes what it left in System V IPC and the world-writable folders,
 * and takes the test's directory back before writing the outcome there.
 */
#ifndef SVRLAB_JOBS_H
#define SVRLAB_JOBS_H

#include <sys/types.h>

struct job_outcome {
    int status;     /* wait status of the command */
    int timed_out;  /* 1 if the deadline killed it */
    double seconds; /* wall time */
    int leftovers;  /* processes killed after the command ended */
};

/* Start argv[0] (a path) with argv in `dir`, with the "NAME=value" strings of `env` (NULL-
 * terminated) added to the environment and stdout/stderr sent to dir/output. data_limit: 1
 * for the sandbox's limit on data size, 0 for none (see sb_enter). token: NULL, or the text
 * of the test's GT_END_TOKEN_FILE, written into dir just before the command starts. Returns
 * the supervisor's pid (wait for it with waitpid), or -1. */
pid_t job_start(const char *dir, char *const argv[], char *const env[], double timeout,
                int data_limit, const char *token);

/* Run argv to its end as a test runs (in the sandbox when the grader is root; see sandbox.h),
 * in a scratch folder next to `log`, with its stdout and stderr copied into `log`. For the
 * other commands that hold student code (the runner's --list): as root, student code never
 * runs with the driver's privileges. Returns its exit status, or -1. */
int job_run(char *const argv[], const char *log);

/* A function the supervisor calls when a test's deadline has passed, just before it kills the
 * test (stack.h: where each process of the test was). It runs as the supervisor, which is the
 * parent or ancestor of every process of the test; what it puts in out (at most cap bytes,
 * returned: its length) is written to the test's directory as JOB_STACKS_FILE, a file of the
 * driver's own. NULL (the default): nothing. Supervisors started afterwards use it. */
typedef size_t (*job_deadline_fn)(uid_t uid, char *out, size_t cap); /* uid: the test's */
void job_set_deadline_hook(job_deadline_fn fn);
#define JOB_STACKS_FILE ".stacks"

/* Read the outcome the supervisor left in dir. Returns 0, or -1 if there is none. */
int job_outcome(const char *dir, struct job_outcome *o);

/* Remove every System V shared memory segment, semaphore set and message queue whose key is
 * in [lo, hi). Returns how many were removed. */
int job_remove_ipc(long lo, long hi);

/* A grader run claims the keys [base, base + slot) by creating a 1-byte segment at base (base =
 * first + n * slot, below end). A run killed with SIGKILL leaves that marker behind, and the
 * objects of the tests it was running. For each marker of ours whose creator is gone, once no
 * segment in its range is attached any more (the orphaned tests have ended), remove everything
 * in the range. Returns how many ranges were freed. */
int job_reclaim_ipc(long first, long slot, long end);

#endif
