/*
 * sandbox: tests as unprivileged users of their own when the grader is root (see sandbox.h).
 */
#include "sandbox.h"

#include "../lib/gt_env.h"

#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>

/* The uids: SB_UID_BASE + slot * SB_UIDS_PER_RUN + j, for the run's IPC slot (fewer than 7168
 * of them) and j < the tests at a time (at most 64). Far above the accounts of a system and
 * outside the ranges systemd hands out (containers, dynamic users), below 2^31. */
#define SB_UID_BASE 0x7a000000L
#define SB_UIDS_PER_RUN 64
#define SB_SLOTS_MAX 7168
#define SB_NOBODY 65534

/* Limits of a test's processes. CPU time is per process: generous (the test's timeout, which
 * already counts valgrind's slowdown, times 4), so only a process that spins far past its
 * test's deadline meets it. Processes (threads, in fact) are counted per uid, so per test:
 * chapters 1-3 all pass with 64 and one test fails with 40 (chapter 1's 50 clients at once,
 * each served by a forked server process); 512 leaves room and still stops a fork bomb.
 * Data (RLIMIT_DATA: heap and private writable mappings, per process): every test of
 * chapters 1-3, memcheck runs and 10,000 connections included, passes with 256 MiB, and the
 * memcheck runs fail with 32 MiB; 4 GiB stops a process that allocates without end long
 * before the machine runs out of memory. Not with SAN=1: AddressSanitizer reserves terabytes
 * of shadow memory, which RLIMIT_DATA counts. No RLIMIT_AS, for that reason and valgrind's.
 * Soft and hard, so student code can not raise it; except for a test whose name says "tsan":
 * it runs a program built with ThreadSanitizer (chapter 4's shmmq_tsan), which maps tens of
 * terabytes of shadow memory, and gets no data limit. */
#define SB_CPU_FACTOR 4
#define SB_FSIZE (256L << 20)
#define SB_NPROC 512
#define SB_DATA (4L << 30)
#define SB_NPROC_SHARED 2048 /* as nobody, all the tests of all graders count together */

/* Disk a test may fill, in total (where mount namespaces are allowed): its folder is a tmpfs
 * of SB_DIR_BYTES and each world-writable folder a tmpfs of SB_SHARED_BYTES of its own, so a
 * test that writes without end meets ENOSPC there, never the machine's disk. The largest
 * legitimate use (chapter 4's memcheck runs: valgrind's XML and the servers' logs) is a few
 * MiB. */
#define SB_DIR_BYTES "256m"
#define SB_SHARED_BYTES "64m"

/* What comes back from a test's tmpfs to the disk (sb_private_fs_end): the files the driver
 * reads, each at most SB_BACK_FILE bytes (of "output", its last ones: the driver quotes its
 * end), and with --keep the other plain files at the top too, each at most SB_BACK_KEPT; at
 * most SB_BACK_TOTAL bytes in all per test. Never the whole tmpfs: 256 MiB per running test. */
#define SB_BACK_FILE (4L << 20)
#define SB_BACK_KEPT (1L << 20)
#define SB_BACK_TOTAL (16L << 20)

/* Where a test could leave files outside its directory: the world-writable folders. */
static const char *const shared_dirs[] = {"/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue",
                                          "/run/lock"};

static int active;     /* running as root: tests are sandboxed */
static int shared;     /* fallback: every test runs as nobody */
static int limit_data; /* not with AddressSanitizer */
static int own_net;    /* each test gets a network namespace of its own */
static int own_fs;     /* ... and a mount namespace: a bounded tmpfs for each writable folder */
static char run_top[4096]; /* the run's temporary tree, kept visible in a test's own /tmp */
static long uid_base;  /* this run's first uid */
static gid_t run_gid;  /* this run's group: its tests read its tree, no one else's */
static int have_run_gid;
static int nslots; /* tests at a time */
static int keep_all; /* --keep: more than the driver's files comes back from a test's tmpfs */
#define SB_HIDDEN_MAX 16
static char hidden[SB_HIDDEN_MAX][4200]; /* folders covered by an empty one in a test's mounts */
static int nhidden;
static pid_t holder[SB_UIDS_PER_RUN];
static char tmp_dir[4096]; /* the folder that holds the temporary tree, also swept */

static int probe(uid_t uid, const char *path);
static int enter_own_network(void);
static int enter_own_mounts(void);
static int mount_tmpfs(const char *dir, const char *size, const char *mode, uid_t uid);
static int copy_back(int from, int to);
static int drop_to(uid_t uid);
static int alive_child(pid_t pid);
static int count_procs(uid_t uid);
static void remove_ipc_of(const char *table, uid_t uid);
static void sweep(const char *dir, uid_t uid, int depth);
static void remove_tree(const char *path);

const char *sb_init(const char *tmp)
{
    if (geteuid() != 0)
        return tmp;
    active = 1;
    const char *san = getenv("SAN");
    limit_data = !(san && strcmp(san, "1") == 0);
    umask(022); /* the tree the driver makes is readable by the tests, never writable */
    int r = probe((uid_t)SB_UID_BASE, NULL);
    if (r == 0)
        r = probe((uid_t)(SB_UID_BASE + SB_SLOTS_MAX * SB_UIDS_PER_RUN - 1), NULL);
    if (r != 0) {
        shared = 1;
        fprintf(stderr,
                "grade: note: this system can not run processes as uid %ld and up "
                "(a user namespace?): every test runs as nobody (%d)\n",
                SB_UID_BASE, SB_NOBODY);
    }
    /* a network of each test's own, if the kernel lets us (a container may not) */
    pid_t pid = fork();
    if (pid == 0)
        _exit(enter_own_network() == 0 ? 0 : 1);
    int st;
    own_net = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!own_net)
        fprintf(stderr, "grade: note: no network namespaces here: the tests share the "
                        "machine's network\n");
    /* and a private tmpfs (tried on tmp, in a child's namespace: the machine sees nothing) */
    pid = fork();
    if (pid == 0)
        _exit(enter_own_mounts() == 0 && mount_tmpfs(tmp, "1m", "0700", 0) == 0 ? 0 : 1);
    own_fs = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!own_fs)
        fprintf(stderr, "grade: note: no mount namespaces here: a test's disk use is bounded "
                        "per file only (RLIMIT_FSIZE)\n");
    const char *where = tmp;
    if (probe(shared ? SB_NOBODY : (uid_t)SB_UID_BASE, tmp) != 0) {
        fprintf(stderr,
                "grade: note: %s is closed to the unprivileged users that run the "
                "tests: the temporary tree goes to /tmp\n",
                tmp);
        where = "/tmp";
    }
    snprintf(tmp_dir, sizeof tmp_dir, "%s", where);
    return where;
}

int sb_setup(const char *run_dir, long slot, int jobs)
{
    if (!active)
        return 0;
    nslots = jobs < SB_UIDS_PER_RUN ? jobs : SB_UIDS_PER_RUN;
    if (!shared && (slot < 0 || slot >= SB_SLOTS_MAX)) {
        fprintf(stderr, "grade: IPC slot %ld out of the sandbox's range\n", slot);
        return -1;
    }
    uid_base = SB_UID_BASE + slot * SB_UIDS_PER_RUN;
    if (!realpath(run_dir, run_top)) {
        fprintf(stderr, "grade: realpath(%s): %s\n", run_dir, strerror(errno));
        return -1;
    }
    /* A uid with an account is someone's: never run a test as it. */
    for (int j = 0; j < nslots && !shared; j++)
        if (getpwuid((uid_t)(uid_base + j)) || getgrgid((gid_t)(uid_base + j))) {
            shared = 1;
            fprintf(stderr,
                    "grade: note: uid or gid %ld has an account on this system: every "
                    "test runs as nobody (%d)\n",
                    uid_base + j, SB_NOBODY);
        }
    /* The tree is open to this run's tests only (its group), not to another grader's, which
     * may be another student's in a batch. As nobody, open to all. */
    have_run_gid = !shared;
    run_gid = (gid_t)uid_base;
    if ((have_run_gid && chown(run_dir, 0, run_gid) != 0) ||
        chmod(run_dir, have_run_gid ? 0750 : 0755) != 0) {
        fprintf(stderr, "grade: could not open %s to the tests: %s\n", run_dir, strerror(errno));
        return -1;
    }
    return 0;
}

int sb_open_tree(const char *tree)
{
    if (!active)
        return 0;
    /* the copies keep the modes of the checkout's files, which may be closed to others */
    char gid[32];
    snprintf(gid, sizeof gid, "%lu", (unsigned long)run_gid);
    char *chgrp[] = {"chgrp", "-R", "-h", gid, (char *)tree, NULL};
    char *chmod_group[] = {"chmod", "-R", "g+rX,g-w,o-rwx", (char *)tree, NULL};
    char *chmod_all[] = {"chmod", "-R", "go+rX,go-w", (char *)tree, NULL};
    if (have_run_gid ? run_cmd(chgrp, NULL) != 0 || run_cmd(chmod_group, NULL) != 0
                     : run_cmd(chmod_all, NULL) != 0) {
        fprintf(stderr, "grade: could not open %s to the tests' users\n", tree);
        return -1;
    }
    return 0;
}

int sb_close(const char *path, int programs)
{
    if (!active || !is_dir(path))
        return 0;
    char *close_all[] = {"chmod", "-R", "go-rwx", (char *)path, NULL};
    if (run_cmd(close_all, NULL) != 0) {
        fprintf(stderr, "grade: could not close %s to the tests' users\n", path);
        return -1;
    }
    if (!programs)
        return 0;
    /* the folder searchable (not listable), its programs executable (not readable) */
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d || fchmod(fd, 0711) != 0) {
        fprintf(stderr, "grade: open/fchmod(%s, 0711): %s\n", path, strerror(errno));
        if (d)
            closedir(d);
        else if (fd >= 0)
            close(fd);
        return -1;
    }
    int r = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            !(st.st_mode & S_IXUSR))
            continue;
        if (fchmodat(fd, e->d_name, 0711, 0) != 0) {
            fprintf(stderr, "grade: fchmodat(%s/%s, 0711): %s\n", path, e->d_name,
                    strerror(errno));
            r = -1;
        }
    }
    closedir(d);
    return r;
}

void sb_hide(const char *path)
{
    char real[4096];
    if (nhidden < SB_HIDDEN_MAX && realpath(path, real))
        snprintf(hidden[nhidden++], sizeof hidden[0], "%s", real);
}

void sb_keep(int on)
{
    keep_all = on;
}

int sb_active(void)
{
    return active;
}

int sb_claim(void)
{
    for (int j = 0; j < nslots; j++)
        if (holder[j] == 0 || (holder[j] > 0 && !alive_child(holder[j]))) {
            holder[j] = -1; /* taken; sb_hold names its supervisor */
            return j;
        }
    return -1;
}

void sb_hold(int slot, pid_t supervisor)
{
    if (slot >= 0 && slot < SB_UIDS_PER_RUN)
        holder[slot] = supervisor > 0 ? supervisor : 0;
}

uid_t sb_uid(int slot)
{
    return shared ? (uid_t)SB_NOBODY : (uid_t)(uid_base + slot);
}

int sb_give_dir(const char *dir, uid_t uid)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fchown(fd, uid, (gid_t)uid) == 0 && fchmod(fd, 0700) == 0 ? 0 : -1;
    close(fd);
    return r;
}

int sb_private_fs(const char *dir, uid_t uid, int *under_fd)
{
    if (!active || !own_fs)
        return 1;
    int under = -1, top = -1;
    if (enter_own_mounts() != 0 ||
        (under = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
        (top = open(run_top, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "grade: a mount namespace for %s: %s\n", dir, strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < sizeof shared_dirs / sizeof shared_dirs[0]; i++) {
        const char *d = shared_dirs[i];
        struct stat st;
        if (strcmp(d, "/dev/mqueue") == 0 || lstat(d, &st) != 0 || !S_ISDIR(st.st_mode))
            continue; /* POSIX queues live in the IPC namespace, bounded by RLIMIT_MSGQUEUE */
        if (mount_tmpfs(d, SB_SHARED_BYTES, "1777", 0) != 0) {
            fprintf(stderr, "grade: mount(tmpfs, %s): %s\n", d, strerror(errno));
            goto fail;
        }
        size_t n = strlen(d);
        if (strncmp(run_top, d, n) != 0 || run_top[n] != '/')
            continue;
        /* the tree was in there: the same path in the new tmpfs, bound to the old folder */
        char path[4096], from[64];
        snprintf(path, sizeof path, "%s", run_top);
        for (char *p = path + n + 1; (p = strchr(p, '/')); *p++ = '/') {
            *p = 0;
            if (mkdir(path, 0755) != 0 && errno != EEXIST) {
                fprintf(stderr, "grade: mkdir(%s): %s\n", path, strerror(errno));
                goto fail;
            }
        }
        snprintf(from, sizeof from, "/proc/self/fd/%d", top);
        if (mkdir(path, 0755) != 0 || mount(from, path, NULL, MS_BIND | MS_REC, NULL) != 0) {
            fprintf(stderr, "grade: mount(%s, %s, MS_BIND): %s\n", run_top, path,
                    strerror(errno));
            goto fail;
        }
    }
    /* the reference's sources: an empty folder that no one may open, in the test's mounts */
    for (int i = 0; i < nhidden; i++)
        if (is_dir(hidden[i]) && (mount_tmpfs(hidden[i], "4k", "0000", 0) != 0 ||
                                  mount(NULL, hidden[i], NULL,
                                        MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)) {
            fprintf(stderr, "grade: mount(tmpfs, %s): %s\n", hidden[i], strerror(errno));
            goto fail;
        }
    if (mount_tmpfs(dir, SB_DIR_BYTES, "0700", uid) != 0) {
        fprintf(stderr, "grade: mount(tmpfs, %s): %s\n", dir, strerror(errno));
        goto fail;
    }
    close(top);
    *under_fd = under;
    return 0;
fail:
    if (under >= 0)
        close(under);
    if (top >= 0)
        close(top);
    return -1;
}

int sb_private_fs_end(const char *dir, int under)
{
    int from = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int r = from >= 0 ? copy_back(from, under) : -1;
    if (from >= 0)
        close(from);
    if (umount2(dir, MNT_DETACH) != 0)
        r = -1;
    close(under);
    return r;
}

int sb_enter(uid_t uid, const char *dir, char *const env[], double timeout, int data_limit)
{
    clearenv();
    if (setenv("PATH", "/usr/bin:/bin", 1) != 0 || setenv("HOME", dir, 1) != 0 ||
        setenv("LANG", "C", 1) != 0)
        return -1;
    for (char *const *e = env; *e; e++)
        if (putenv(*e) != 0)
            return -1;
    if (close_range(3, ~0U, 0) != 0) {
        DIR *d = opendir("/proc/self/fd");
        if (!d)
            return -1;
        int self = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d)))
            if (isdigit((unsigned char)e->d_name[0]) && atoi(e->d_name) > 2 &&
                atoi(e->d_name) != self)
                close(atoi(e->d_name));
        closedir(d);
    }
    rlim_t cpu = (rlim_t)(timeout * SB_CPU_FACTOR) + 1;
    struct rlimit lim_cpu = {cpu, cpu + 5}, lim_fsize = {SB_FSIZE, SB_FSIZE}, lim_core = {0, 0};
    rlim_t nproc = shared ? SB_NPROC_SHARED : SB_NPROC;
    struct rlimit lim_nproc = {nproc, nproc}, lim_data = {SB_DATA, SB_DATA};
    if (setrlimit(RLIMIT_CPU, &lim_cpu) != 0 || setrlimit(RLIMIT_FSIZE, &lim_fsize) != 0 ||
        setrlimit(RLIMIT_CORE, &lim_core) != 0 || setrlimit(RLIMIT_NPROC, &lim_nproc) != 0 ||
        (limit_data && data_limit && setrlimit(RLIMIT_DATA, &lim_data) != 0))
        return -1;
    if (own_net && enter_own_network() != 0)
        return -1;
    if (drop_to(uid) != 0)
        return -1;
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* What the build's child does before the exec: the sandbox (run_cmd_bounded's before_exec). */
struct build_ctx {
    uid_t uid;
    const char *out_dir;
    char *const *env;
    double cpu_s;
};

static int enter_build(void *ctx)
{
    const struct build_ctx *b = ctx;
    if (sb_enter(b->uid, b->out_dir, b->env, b->cpu_s, 1) == 0)
        return 0;
    fprintf(stderr, "grade: could not start the build as uid %lu: %s\n", (unsigned long)b->uid,
            strerror(errno));
    return -1;
}

int sb_run_build(char *const argv[], const char *log, const char *out_dir, double cpu_s,
                 double idle_s, double wall_s)
{
    char *mkdir_p[] = {"mkdir", "-p", (char *)out_dir, NULL};
    if (run_cmd(mkdir_p, NULL) != 0)
        return -1;
    if (!active)
        return run_cmd_bounded(argv, log, idle_s, wall_s, NULL, NULL);
    int slot = sb_claim();
    if (slot < 0)
        return -1;
    uid_t uid = sb_uid(slot);
    char owner[64], tmpdir[4200];
    snprintf(owner, sizeof owner, "%lu:%lu", (unsigned long)uid, (unsigned long)uid);
    char *give[] = {"chown", "-R", "-h", owner, (char *)out_dir, NULL};
    char *take[] = {"chown", "-R", "-h", "0:0", (char *)out_dir, NULL};
    if (run_cmd(give, NULL) != 0) {
        sb_hold(slot, 0);
        return -1;
    }
    snprintf(tmpdir, sizeof tmpdir, "TMPDIR=%s", out_dir);
    char *env[] = {tmpdir, NULL};
    struct build_ctx ctx = {uid, out_dir, env, cpu_s};
    int r = run_cmd_bounded(argv, log, idle_s, wall_s, enter_build, &ctx);
    sb_kill_all(uid); /* also what left the build's process group */
    sb_clean(uid);
    sb_hold(slot, 0);
    if (run_cmd(take, NULL) != 0)
        return -1;
    return r;
}

int sb_kill_all(uid_t uid)
{
    if (!active || shared)
        return 0;
    int killed = count_procs(uid);
    for (int round = 0; round < 100 && count_procs(uid) > 0; round++) {
        /* kill(-1) from a process of that uid reaches all of them at once, forks included:
         * no race with a fork bomb, which a kill per pid would have */
        pid_t pid = fork();
        if (pid == 0) {
            if (drop_to(uid) == 0)
                kill(-1, SIGKILL);
            _exit(0);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
        while (waitpid(-1, NULL, WNOHANG) > 0) /* the killed ones re-parented to us */
            ;
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
    }
    return killed;
}

void sb_clean(uid_t uid)
{
    if (!active || shared)
        return;
    remove_ipc_of("shm", uid);
    remove_ipc_of("sem", uid);
    remove_ipc_of("msg", uid);
    for (size_t i = 0; i < sizeof shared_dirs / sizeof shared_dirs[0]; i++)
        sweep(shared_dirs[i], uid, 0);
    int listed = 0;
    for (size_t i = 0; i < sizeof shared_dirs / sizeof shared_dirs[0]; i++)
        listed |= strcmp(tmp_dir, shared_dirs[i]) == 0;
    if (tmp_dir[0] && !listed)
        sweep(tmp_dir, uid, 0);
}

void sb_take_back(const char *dir)
{
    if (!active)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    /* first root's and closed, so nothing new appears in it while we look */
    if (fchown(fd, 0, 0) != 0 || fchmod(fd, 0755) != 0) {
        close(fd);
        return;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            continue; /* the driver reads none; rm -rf does not follow links */
        if (!S_ISREG(st.st_mode) || st.st_nlink > 1)
            unlinkat(fd, e->d_name, 0);
        else
            fchownat(fd, e->d_name, 0, 0, AT_SYMLINK_NOFOLLOW);
    }
    closedir(d);
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* Move this process to a new network namespace whose only interface is its loopback, up
 * (127.0.0.1 and ::1): a test reaches nothing outside the machine, nor a server of the
 * machine or of another test, even on 127.0.0.1, and its ports never collide with theirs.
 * 0, or -1 with errno. */
static int enter_own_network(void)
{
    if (unshare(CLONE_NEWNET) != 0)
        return -1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (r == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        r = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* Move this process to a mount namespace of its own whose mounts stay its own (private, also
 * the copies of the machine's). 0, or -1 with errno. */
static int enter_own_mounts(void)
{
    if (unshare(CLONE_NEWNS) != 0)
        return -1;
    return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* A tmpfs of `size` bytes ("256m") on dir, of `mode` (octal text) and owner uid. */
static int mount_tmpfs(const char *dir, const char *size, const char *mode, uid_t uid)
{
    char opts[128];
    snprintf(opts, sizeof opts, "size=%s,mode=%s,uid=%lu,gid=%lu", size, mode,
             (unsigned long)uid, (unsigned long)uid);
    return mount("svrlab-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

/* The most of file `name` that comes back from a test's tmpfs (0: none of it). */
static off_t back_cap(const char *name)
{
    static const char *const driver_files[] = {"check.xml", "output", GT_REACHED_END_FILE,
                                               GT_SKIPPED_FILE};
    for (size_t i = 0; i < sizeof driver_files / sizeof driver_files[0]; i++)
        if (strcmp(name, driver_files[i]) == 0)
            return SB_BACK_FILE;
    size_t len = strlen(name);
    if (strncmp(name, "vg", 2) == 0 && len > 4 && strcmp(name + len - 4, ".xml") == 0)
        return SB_BACK_FILE; /* valgrind's logs (report.c) */
    return keep_all ? SB_BACK_KEPT : 0;
}

/* Copy the plain files of folder `from` that the driver reads (back_cap) into folder `to`
 * (new files; none there may exist). 0, or -1 if one could not be copied. */
static int copy_back(int from, int to)
{
    int dup_from = dup(from);
    DIR *d = dup_from >= 0 ? fdopendir(dup_from) : NULL;
    if (!d) {
        if (dup_from >= 0)
            close(dup_from);
        return -1;
    }
    int r = 0;
    off_t total = 0;
    struct dirent *e;
    static char buf[1 << 16];
    while ((e = readdir(d))) {
        struct stat st;
        off_t cap = back_cap(e->d_name);
        if (cap == 0 || total >= SB_BACK_TOTAL ||
            fstatat(from, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (cap > SB_BACK_TOTAL - total)
            cap = SB_BACK_TOTAL - total;
        int in = openat(from, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        int out = openat(to, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         st.st_mode & 0644);
        if (in >= 0 && st.st_size > cap && strcmp(e->d_name, "output") == 0)
            lseek(in, st.st_size - cap, SEEK_SET);
        ssize_t n = 0;
        off_t left = cap;
        while (in >= 0 && out >= 0 && left > 0 &&
               (n = read(in, buf, left < (off_t)sizeof buf ? (size_t)left : sizeof buf)) > 0) {
            if (write(out, buf, (size_t)n) != n) {
                n = -1;
                break;
            }
            left -= n;
        }
        total += cap - left;
        if (in < 0 || out < 0 || n < 0)
            r = -1;
        if (in >= 0)
            close(in);
        if (out >= 0)
            close(out);
    }
    closedir(d);
    return r;
}

/* In a child: can uid run (and reach path, when given)? 0 if so. */
static int probe(uid_t uid, const char *path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (drop_to(uid) != 0)
            _exit(1);
        _exit(path && access(path, X_OK) != 0 ? 2 : 0);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static int drop_to(uid_t uid)
{
    gid_t gid = (gid_t)uid;
    if (setgroups(have_run_gid ? 1 : 0, &run_gid) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0)
        return -1;
    return 0;
}

int sb_become(uid_t uid)
{
    if (!active)
        return 0;
    return drop_to(uid) == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : -1;
}

/* 1 if pid is a running (not zombie) child of ours. */
static int alive_child(pid_t pid)
{
    char text[32];
    struct proc_stat ps;
    snprintf(text, sizeof text, "%d", (int)pid);
    return proc_stat_read(text, &ps) == 0 && ps.state != 'Z' && ps.ppid == (int)getpid();
}

/* How many live processes have uid as their real, effective or saved uid. */
static int count_procs(uid_t uid)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300], buf[2048];
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = 0;
        const char *state = strstr(buf, "\nState:");
        const char *ids = strstr(buf, "\nUid:");
        unsigned long r, eff, s;
        if (!ids || sscanf(ids, "\nUid: %lu %lu %lu", &r, &eff, &s) != 3)
            continue;
        if (state && strncmp(state, "\nState:\tZ", 9) == 0)
            continue;
        n += r == uid || eff == uid || s == uid;
    }
    closedir(d);
    return n;
}

/* Remove every object of /proc/sysvipc/<table> that uid created or owns, IPC_PRIVATE ones
 * included (their key says nothing of who made them). The columns are found by name. */
static void remove_ipc_of(const char *table, uid_t uid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/sysvipc/%s", table);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    int col_id = 1, col_uid = -1, col_cuid = -1;
    if (fgets(line, sizeof line, f)) {
        int i = 0;
        for (char *save, *w = strtok_r(line, " \t\n", &save); w;
             w = strtok_r(NULL, " \t\n", &save), i++) {
            if (strcmp(w, "uid") == 0)
                col_uid = i;
            else if (strcmp(w, "cuid") == 0)
                col_cuid = i;
        }
    }
    while (fgets(line, sizeof line, f)) {
        long id = -1, owner = -1, creator = -1;
        int i = 0;
        for (char *save, *w = strtok_r(line, " \t\n", &save); w;
             w = strtok_r(NULL, " \t\n", &save), i++) {
            if (i == col_id)
                id = strtol(w, NULL, 10);
            else if (i == col_uid)
                owner = strtol(w, NULL, 10);
            else if (i == col_cuid)
                creator = strtol(w, NULL, 10);
        }
        if (id < 0 || (owner != (long)uid && creator != (long)uid))
            continue;
        if (strcmp(table, "shm") == 0)
            shmctl((int)id, IPC_RMID, NULL);
        else if (strcmp(table, "sem") == 0)
            semctl((int)id, 0, IPC_RMID);
        else
            msgctl((int)id, IPC_RMID, NULL);
    }
    fclose(f);
}

/* Remove every entry of dir that uid owns (whole trees, links not followed); look into the
 * world-writable folders of dir too (/tmp/.X11-unix, say), a few levels down. */
static void sweep(const char *dir, uid_t uid, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (st.st_uid == uid)
            remove_tree(path);
        else if (S_ISDIR(st.st_mode) && (st.st_mode & S_IWOTH) && depth < 3)
            sweep(path, uid, depth + 1);
    }
    closedir(d);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}
