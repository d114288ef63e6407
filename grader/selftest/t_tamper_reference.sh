# Grader self-test: code under test that reads the reference sources at test time (as root,
# with mount namespaces): the checkout's solutions/ and the chapter tree's ref/ are covered by
# an empty folder no one may open in each test's mounts (and the run's copy of the lab is
# root's alone). The submission is the solution, whose rio_read_exact fails whenever it can
# open the reference's rio.c by either path: it must pass (rio_read_exact_len_zero). (The
# reference programs the black-box tests start stay executable by the test's user:
# grader/README.md.)

t_tamper_reference() {
    [ "$(id -u)" = 0 ] || { echo "note: not root: the tests can read what the caller can"; return 0; }
    d=$tmp/tamper-reference
    submission "$d" 1 && sed -i '1i #include <fcntl.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>' \
        "$d/chapter1/rio.c" && insert_at_start "$d/chapter1/rio.c" rio_read_exact \
        "{ char p[4200]; const char *t = getenv(\"SVRLAB_TEST_DIR\"); snprintf(p, sizeof p, \"%s/../../ref/rio.c\", t ? t : \".\"); const char *paths[] = {\"$top/solutions/chapter1/rio.c\", p}; for (int i = 0; i < 2; i++) { int r = open(paths[i], O_RDONLY); if (r >= 0) { close(r); return -1; } } }" ||
        return 1
    grade_json "$d.json" --src "$d" --ch 1 --test rio_read_exact_len_zero --no-memcheck >"$d.out" 2>&1 ||
        { cat "$d.out"; return 1; }
    if grep -q "no mount namespaces here" "$d.out"; then
        echo "note: no mount namespaces on this machine: nothing to show"
        return 0
    fi
    jq -e '.score == .max_score' "$d.json" >/dev/null ||
        { echo "a test read the reference:"; grep -A1 FAIL "$d.out" | head; return 1; }
}

check "tamper: a test can not read the reference sources (root)" t_tamper_reference
