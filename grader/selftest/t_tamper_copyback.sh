# Grader self-test: as root a test's folder is a tmpfs of 256 MiB; what comes back from it to
# the disk afterwards is the driver's own files, each bounded (4 MiB; of its output, the last
# 4 MiB), and with --keep the test's other plain files of at most 1 MiB each: never the whole
# tmpfs (256 MiB per running test, gigabytes over a run with --keep). The attack, from chapter
# 1's starter: rio_read_exact writes a 200 MiB file and a 2 MiB one in its folder and 6 MiB on
# its output (the last line a mark), then fails as the starter does. Graded with --keep.

t_tamper_copyback() {
    [ "$(id -u)" = 0 ] || { echo "note: not root: no tmpfs per test, nothing to show"; return 0; }
    d=$tmp/tamper-copyback
    mkdir -p "$d/tmp" && chmod 711 "$d" "$d/tmp" && cp -R chapter1 "$d/" || return 1
    sed -i '1i #include <fcntl.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>' \
        "$d/chapter1/rio.c" && insert_at_start "$d/chapter1/rio.c" rio_read_exact \
        '{ static char mib[1 << 20]; const char *t = getenv("SVRLAB_TEST_DIR"); char p[4200]; size_t sizes[] = {200, 2}; const char *names[] = {"big", "mid"}; memset(mib, 120, sizeof mib); for (int f = 0; f < 2 && t; f++) { snprintf(p, sizeof p, "%s/%s", t, names[f]); int w = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644); for (size_t i = 0; w >= 0 && i < sizes[f]; i++) if (write(w, mib, sizeof mib) < 0) break; if (w >= 0) close(w); } for (int i = 0; i < 6; i++) if (write(1, mib, sizeof mib) < 0) break; if (write(1, "TAIL-MARK", 9) < 0) return -1; }' ||
        return 1
    TMPDIR=$d/tmp grade_json "$d.json" --src "$d" --ch 1 --test rio_read_exact_len_zero \
        --no-memcheck --keep >"$d.out" 2>&1 || { cat "$d.out"; return 1; }
    run=$(ls -d "$d"/tmp/svrlab-grade.*/ch1/run/*rio_read_exact_len_zero) || { cat "$d.out"; return 1; }
    ls -l "$run"
    tail -c 9 "$run/output" | grep -q TAIL-MARK || { echo "the end of the output is lost"; return 1; }
    size=$(du -sm "$run" | cut -f1)
    rm -rf "$d/tmp"/svrlab-grade.*
    [ "$size" -le 16 ] || { echo "$size MiB came back from the test's tmpfs"; return 1; }
    expect_test "$d.json" rio_read_exact_len_zero fail
}

check "tamper: only the driver's files, bounded, come back from a test's tmpfs (root)" t_tamper_copyback
