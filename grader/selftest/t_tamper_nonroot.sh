# Grader self-test: a grading run by a normal user, where no sandbox exists and the tests run as
# that user (here nobody, on a copy of the lab that nobody owns). The attack, from chapter 1's
# starter: rio_read_exact rewrites the checkout's grader/chapters/chapter1.points (every test
# worth 0 but its own) so that it persists into later runs. The driver read the points before any student code ran and builds every
# chapter from a copy taken at its start; at the end it finds the points file changed, says so
# and puts back what it read; and it says once which defences are off. What a non-root run
# does not defend is in grader/README.md.

t_tamper_nonroot() {
    [ "$(id -u)" = 0 ] || { echo "note: not root: can not switch to another user here"; return 0; }
    command -v setpriv >/dev/null || { echo "note: no setpriv: nothing to show"; return 0; }
    d=$tmp/tamper-nonroot
    lab=$d/lab
    mkdir -p "$lab" "$d/tmp" && cp -R common grader solutions chapter1 "$lab/" &&
        mkdir -p "$lab/build" "$d/sub" && cp -R build/grader "$lab/build/" && cp -R chapter1 "$d/sub/" ||
        return 1
    pts=$lab/grader/chapters/chapter1.points
    cp "$pts" "$d/points.orig" &&
        sed -i '1i #include <stdio.h>' "$d/sub/chapter1/rio.c" &&
        insert_at_start "$d/sub/chapter1/rio.c" rio_read_exact \
            "{ FILE *f = fopen(\"$pts\", \"w\"); if (f) { fputs(\"chapter 1 forged\", f); fputc(10, f); fputs(\"ex1.1 rio_read_exact_len_zero 100 0\", f); fputc(10, f); fclose(f); } }" ||
        return 1
    chown -R nobody "$d" && chmod 711 "$d" || return 1
    setpriv --reuid=nobody --regid=nogroup --clear-groups env TMPDIR="$d/tmp" \
        "$lab/build/grader/grade" --root "$lab" --src "$d/sub" --ch 1 --test rio_read_exact_len_zero \
        --no-memcheck >"$d.out" 2>&1
    cat "$d.out"
    grep -q "chapter1.points changed while grading (a test wrote it?): put back" "$d.out" &&
        grep -q "^grade: note: not root, so no sandbox: the tests run as you" "$d.out" &&
        cmp "$pts" "$d/points.orig" && grep -q "total: 0/1" "$d.out"
}

check "tamper: a points file a test rewrote (no sandbox) is found and put back" t_tamper_nonroot
