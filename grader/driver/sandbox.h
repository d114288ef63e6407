/*
 * sandbox: when the grader runs as root, every test runs as an unprivileged user of its own.
 *
 * Each test running at a given moment gets a uid, and a gid of the same number, that nothing
 * else on the machine uses: the tests of one grader run take them from a block of 64 that
 * follows from the run's IPC slot (unique on the machine, see reserve_ipc in grade.c). So a
 * test can not signal, trace or write to another test, the driver or another grader, its
 * RLIMIT_NPROC counts its own processes only, and whatever it leaves behind (processes, System V
 * objects, files in the world-writable directories) is found by its owner and removed.
 *
 * What a sandboxed test gets: read access to the temporary tree (through the run's group, so
 * not to another grader's tree, which may hold another student's work), its own test directory
 * (writable, also its $HOME and $TMPDIR), an environment of PATH, HOME, LANG, TMPDIR and the
 * variables the driver passes (SVRLAB_*, CK_FORK), no descriptor above stderr, no way to gain
 * privileges (PR_SET_NO_NEW_PRIVS), limits on CPU time, file size, processes, data size and
 * core files, a bounded disk (its folder and the world-writable folders are tmpfs mounts of its
 * own: sb_private_fs) and a network of its own (a namespace with only a loopback interface):
 * nothing outside the machine, nor another test's servers, is reachable. The two namespaces
 * only where the kernel allows them (a note on stderr says when not). It can not write the
 * driver's outputs (--json, --gradescope, --junit, the gradebook), the tree's build outputs or
 * its points data: all are root's.
 *
 * If the machine can not run processes under those uids (a user namespace that maps few
 * uids), every test runs as nobody (65534) instead, with the same limits but without the
 * per-uid clean-up (other tests may share the uid); a note on stderr says so.
 *
 * When the grader is not root nothing changes: the tests run as the caller, as before.
 */
#ifndef SVRLAB_SANDBOX_H
#define SVRLAB_SANDBOX_H

#include <sys/types.h>

/* Before the temporary tree exists: turns the sandbox on when running as root and returns the
 * folder to make the tree in: `tmp` itself, or /tmp when the sandbox's users can not reach
 * `tmp` (a parent folder closed to others; a note on stderr says so). */
const char *sb_init(const char *tmp);

/* Once the run has its temporary tree and its IPC slot (an index unique on the machine):
 * picks this run's uids (one per test at a time, `jobs` of them) and opens `run_dir` to
 * them. Returns 0, or -1 with a message. Does nothing when the sandbox is off. */
int sb_setup(const char *run_dir, long slot, int jobs);

/* After a chapter's tree is built: every file of it readable and every folder searchable by
 * this run's tests (never writable). Returns 0, or -1 with a message. */
int sb_open_tree(const char *tree);

/* Run argv, a build of the student's code (make with the chapter's build data), as one of
 * this run's unprivileged users when the sandbox is on, so that the compiler reads nothing the
 * tests could not (an #include of a file only root may read fails as it would for them):
 * stdout and stderr appended to `log`, `out_dir` (created here) its own while it runs and its
 * HOME and TMPDIR, the environment cleared, a test's limits with `cpu_s` seconds of CPU per
 * process, stopped after `idle_s` seconds without using CPU or `wall_s` seconds in all
 * (run_cmd_bounded, util.h: RUN_TIMED_OUT, RUN_STOPPED).
 * Afterwards every process and leftover of that user is gone, and out_dir and all in it are
 * root's again (a later test may get the same uid). Returns the exit status, -1 if it could
 * not run. When the sandbox is off: run_cmd_bounded as the caller. */
int sb_run_build(char *const argv[], const char *log, const char *out_dir, double cpu_s,
                 double idle_s, double wall_s);

/* After sb_open_tree: `path` (a folder of the tree, if it exists) and all in it closed to
 * this run's tests and builds again, root's alone; with `programs`, the folder stays
 * searchable and the programs at its top executable (0711), never readable: a test can start
 * them but not read, copy or load them. Returns 0, or -1 with a message. Does nothing when the
 * sandbox is off. */
int sb_close(const char *path, int programs);

/* A folder of reference sources that tests must not read (as root, with mount namespaces): in
 * each test's mounts it is covered by an empty, read-only folder that no one may open. */
void sb_hide(const char *path);

/* --keep: a test's other plain files (each bounded) come back from its tmpfs with the
 * driver's own. */
void sb_keep(int on);

/* 1 when tests run sandboxed. */
int sb_active(void);

/* ---- used by jobs.c ---------------------------------------------------------------- */

/* A uid for a new test: one no running test holds (a test holds it until its supervisor,
 * `pid` given to sb_hold, has ended). Returns the slot (>= 0) or -1 if all are taken. */
int sb_claim(void);
void sb_hold(int slot, pid_t supervisor);
uid_t sb_uid(int slot);

/* Make `dir` the test's own (owner uid, mode 0700). Returns 0 or -1. */
int sb_give_dir(const char *dir, uid_t uid);

/* In the test's supervisor, before the test starts (root, sandbox on): a mount namespace of
 * its own where `dir` is a tmpfs of 256 MiB owned by uid, and /tmp, /var/tmp, /dev/shm and
 * /run/lock each a fresh tmpfs of 64 MiB (the run's tree, if it was under one of them, bound
 * back at its path). So what a test can write is bounded in total, and what it leaves outside
 * its folder vanishes with it. Returns 0 with *under_fd a descriptor of the folder under the
 * tmpfs (for sb_private_fs_end); 1 when the sandbox is off or the machine allows no mount
 * namespace (nothing changed); -1 on failure, with a message (the test must not run). */
int sb_private_fs(const char *dir, uid_t uid, int *under_fd);
/* After the test (and sb_take_back): copy the files the driver reads from the tmpfs at dir into
 * the folder under it (`under`, closed here), each bounded, and with --keep (sb_keep) the other
 * plain files too, bounded; unmount the tmpfs. 0, or -1 if a file could not be copied. */
int sb_private_fs_end(const char *dir, int under);
/* In the test's child process, after its descriptors are set: the environment becomes PATH,
 * HOME (= dir), LANG and the "NAME=value" strings of env; descriptors above 2 are closed; the
 * limits are set (CPU time from the test's timeout; data size unless data_limit is 0); the
 * process becomes uid. Returns 0, or -1
 * with errno set (the caller must not run the test then). */
int sb_enter(uid_t uid, const char *dir, char *const env[], double timeout, int data_limit);

/* In a child of a test's supervisor that is to look at the test's processes (stack.h: gdb
 * attached to each at its deadline): become the test's user, uid, with the run's group and no
 * way to gain privileges, so that what the student's programs hold is never read as root.
 * 0 (nothing to do when the sandbox is off), or -1 with errno. */
int sb_become(uid_t uid);

/* After the test, in its supervisor: kill every process of uid; remove the System V objects
 * it created and its files in the world-writable folders. Returns how many processes were
 * killed. */
int sb_kill_all(uid_t uid);
void sb_clean(uid_t uid);

/* Take the test's directory back: root's again, with every entry the driver might read that is
 * not a plain file (links, FIFOs, sockets, hard links) removed, so that reading it as root
 * reads only what the test wrote. */
void sb_take_back(const char *dir);

#endif
