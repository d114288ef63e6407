# Grader self-test: a test that ends on a signal, on an exit() of the code under test, or on its
# time limit says where, in the student's file: the function and rio.c:LINE, in the JSON
# reason and in Gradescope's output. One rio_read_exact test each, without valgrind; the three
# gradings run at once (two of them mostly wait: on gdb, and on the limit).

# where_start NAME CODE HEADER: a chapter 1 submission whose rio_read_exact starts with CODE,
# graded on one test in the background.
where_start() {
    d=$tmp/where-$1
    submission "$d" 1 &&
        insert_at_start "$d/chapter1/rio.c" rio_read_exact "$2" &&
        sed -i "1i #include <$3>" "$d/chapter1/rio.c" || return 1
    grep -nF "$2" "$d/chapter1/rio.c" | head -1 | cut -d: -f1 >"$d/line"
    grader/grade --src "$d" --ch 1 --test rio_read_exact_buffered_data --no-memcheck \
        --json "$d/r.json" --gradescope "$d/gs.json" >"$d/out" 2>&1 &
}
where_start signal '*(volatile char *)buf = *(volatile char *)0;' stddef.h
where_start exit 'exit(1);' stdlib.h
where_start hang 'for (volatile unsigned spin = 0;; spin++) continue;' stddef.h
wait

# where_check NAME: the reason names rio_read_exact and the line of its CODE, in both outputs.
where_check() {
    d=$tmp/where-$1
    [ -s "$d/r.json" ] || { echo "no results:"; cat "$d/out"; return 1; }
    want="rio_read_exact at rio.c:$(cat "$d/line")"
    jq -e --arg w "$want" '.chapters[0].tests[0] | .status == "fail" and (.reason | contains($w))' \
        "$d/r.json" >/dev/null || { echo "JSON: no '$want':"; jq -r '.chapters[0].tests[0].reason' "$d/r.json"; return 1; }
    jq -e --arg w "$want" '[.tests[] | select(.output | contains($w))] | length == 1' \
        "$d/gs.json" >/dev/null || { echo "Gradescope: no '$want':"; jq . "$d/gs.json"; return 1; }
}
t_where_hang() {
    where_check hang && grep -q "GT_TEST(rio_read_exact_buffered_data, [0-9]*) in grader/tests/" \
        "$tmp/where-hang/r.json" || { echo "the reason does not say where the limit comes from"; return 1; }
}
check "grader: a crash says where (function, rio.c:line)" where_check signal
check "grader: an exit() in the code under test says where it was called" where_check exit
check "grader: a hang says where the code was at the limit, and why the limit" t_where_hang
