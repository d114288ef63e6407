# Grader self-test: code under test that reads the reference at test time (as root): the
# checkout's solutions/ and the chapter tree's ref/ are covered by an empty folder no one may
# open in each test's mounts (with mount namespaces), the tree's ref/ is root's alone anyway,
# and the reference programs the black-box tests start ($SVRLAB_REF_BIN) can be run but not
# read or listed (0711), so they can not be copied or loaded; the checkout's build/solutions/
# (`make`'s build of the reference, objects and all) is covered too. The submission is the
# solution, whose rio_read_exact fails whenever it can open the reference's rio.c by either
# path, a reference program for reading, their folder, or the checkout's build of rio.o: it
# must pass (rio_read_exact_len_zero).
# (The reference programs stay executable by the test's user: grader/README.md.)

t_tamper_reference() {
    [ "$(id -u)" = 0 ] || { echo "note: not root: the tests can read what the caller can"; return 0; }
    d=$tmp/tamper-reference
    submission "$d" 1 && sed -i '1i #include <fcntl.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>' \
        "$d/chapter1/rio.c" && insert_at_start "$d/chapter1/rio.c" rio_read_exact \
        "{ char p[4200], b[4200]; const char *t = getenv(\"SVRLAB_TEST_DIR\"), *r = getenv(\"SVRLAB_REF_BIN\"); snprintf(p, sizeof p, \"%s/../../ref/rio.c\", t ? t : \".\"); snprintf(b, sizeof b, \"%s/echoclient\", r ? r : \".\"); const char *paths[] = {\"$top/solutions/chapter1/rio.c\", p, b, r ? r : \"/\", \"$top/build/solutions/chapter1/obj/rio.o\"}; for (int i = 0; i < 5; i++) { int o = open(paths[i], O_RDONLY); if (o >= 0) { close(o); return -1; } } }" ||
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
