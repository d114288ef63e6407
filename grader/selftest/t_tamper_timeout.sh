# Grader self-test: a test's time limit is the grader's, never the student's. The driver takes
# each limit from GT_TEST(name, seconds) in its own copy of the tests, read before anything is
# built; the student-linked runner's `--list` is not asked. The attack needs code before the
# runner's main, which grader/linkcheck refuses (t_tamper_premain.sh), so this self-test
# supposes a route linkcheck does not know: it grades with a copy of the lab whose linkcheck
# lets everything through. A constructor in rio.c then makes `runner --list` report 300 s for
# every test and lifts Check's own timer (CK_TIMEOUT_MULTIPLIER); rio_read_exact hangs for
# 40 s. rio_read_exact_buffered_data (GT_TEST(..., 10)) must be stopped by the driver after its
# 10 s (plus the driver's 1 s of slack), not run to its 40th second.

t_tamper_timeout() {
    d=$tmp/tamper-timeout
    lab=$d/lab
    mkdir -p "$lab/grader" "$lab/build/grader" || return 1
    cp -R common solutions chapter1 "$lab/" && cp -R grader/lib grader/tests grader/chapters \
        grader/build.mk grader/valgrind.supp grader/depcheck grader/studentcc "$lab/grader/" &&
        printf '#!/bin/sh\nexit 0\n' >"$lab/grader/linkcheck" && chmod 755 "$lab/grader/linkcheck" &&
        mkdir -p "$d/sub" && cp -R chapter1 "$d/sub/" || return 1
    { cat <<'CODE'
/* TAMPER: time limits of the student's choosing (grader/selftest/t_tamper_timeout.sh) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void tamper_limits(void)
{
    static char cmd[4096];
    FILE *f = fopen("/proc/self/cmdline", "r");
    size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
    if (f)
        fclose(f);
    setenv("CK_TIMEOUT_MULTIPLIER", "100", 1);
    if (n > strlen(cmd) + 1 && strcmp(cmd + strlen(cmd) + 1, "--list") == 0) {
        printf("rio_read_exact_buffered_data 300\n");
        _exit(0);
    }
}
CODE
      cat "$d/sub/chapter1/rio.c"; } >"$d/rio.c" && mv "$d/rio.c" "$d/sub/chapter1/rio.c" &&
        insert_at_start "$d/sub/chapter1/rio.c" rio_read_exact 'sleep(40);' || return 1
    build/grader/grade --root "$lab" --src "$d/sub" --ch 1 --test rio_read_exact_buffered_data \
        --no-memcheck --json "$d.json" >"$d.out" 2>&1 || { cat "$d.out"; return 1; }
    cat "$d.out"
    expect_test "$d.json" rio_read_exact_buffered_data fail "timed out after 1[0-2] s"
}

check "tamper: a test's time limit comes from the grader's sources, not the runner" t_tamper_timeout
