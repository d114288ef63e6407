# `make bench CH=N MINE=1` (bench/lib.sh's mine_*): the student's programs measured beside the
# reference ones. Chapter 1's benchmark runs once, quickly (one size, 200 round trips, the
# default placement: the figures mean nothing, only what is said and written), in a scratch
# tree that holds what it needs (bench/, common/, chapter1/, grader/ for the build rules, the
# reference programs of build/solutions/chapter1/): with the starters, each of the student's servers must
# be reported as not implemented, with no figure; with the solutions copied in, each must have
# a ratio to the reference in the CSV and the summary; with one of them broken so that it does
# not compile, that one is reported and the other still measured.

# bm_tree DIR: the scratch tree, chapter1/ holding the starters. common/ keeps its times, so
# that the common objects of build/chapter1/, when there, are taken as they are.
bm_tree() {
    mkdir -p "$1/build/solutions/chapter1" "$1/build/chapter1" || return 1
    cp -R bench chapter1 grader "$1/" && cp -Rp common "$1/" || return 1
    if [ -d build/chapter1/common ]; then cp -Rp build/chapter1/common "$1/build/chapter1/" || return 1; fi
    for p in echoclient echosvr_v0 echosvr_fork; do
        [ -x "build/solutions/chapter1/$p" ] || { echo "build/solutions/chapter1/$p is missing (make)"; return 1; }
        cp "build/solutions/chapter1/$p" "$1/build/solutions/chapter1/" || return 1
    done
}

# bm_run DIR: the quick benchmark with MINE=1 in DIR, results in DIR/out, its output in DIR/log.
bm_run() {
    (cd "$1" && BENCH_MINE=1 BENCH_RUNS=1 BENCH_SIZES=64 BENCH_COUNT=200 BENCH_PLACEMENTS=default \
        BENCH_OUT="$1/out" timeout 120 sh bench/run 1) >"$1/log" 2>&1
    bm_rc=$?
    cat "$1/log"
    [ "$bm_rc" -eq 0 ] || { echo "bench/run 1 with MINE=1 exited with status $bm_rc"; return 1; }
}

# bm_rows DIR SERVER: the CSV rows of SERVER (benchmark,server,mine_ratio_median).
bm_rows() {
    awk -F, -v s="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["server"] == s { print $c["benchmark"] "," s "," $c["mine_ratio_median"] }' "$1/out/chapter1.csv"
}

t_bench_mine_starters() {
    d=$tmp/bench-mine-starters
    bm_tree "$d" && bm_run "$d" || return 1
    for p in echosvr_v0 echosvr_fork; do
        grep -q "^chapter1: yours: $p is not implemented" "$d/log" ||
            { echo "FAIL: no line saying that the starter's $p is not implemented"; return 1; }
        grep -q "^chapter1: yours: $p is not implemented" "$d/out/chapter1_mine.txt" ||
            { echo "FAIL: chapter1_mine.txt does not say that $p is not implemented"; return 1; }
        [ -z "$(bm_rows "$d" "mine_$p")" ] || { echo "FAIL: the starter's $p has figures"; return 1; }
        [ -n "$(bm_rows "$d" "$p")" ] || { echo "FAIL: the reference $p has no figures"; return 1; }
    done
    head -n 1 "$d/out/chapter1.csv" | grep -q ',mine_ratio_median,mine_ratio_min,mine_ratio_max$' ||
        { echo "FAIL: chapter1.csv has no ratio columns"; return 1; }
}

t_bench_mine_solutions() {
    d=$tmp/bench-mine-solutions
    bm_tree "$d" && cp solutions/chapter1/*.c "$d/chapter1/" && bm_run "$d" || return 1
    if grep 'yours: ' "$d/log"; then echo "FAIL: the solutions copied in were reported"; return 1; fi
    for p in echosvr_v0 echosvr_fork; do
        for b in roundtrip second_client_a second_client_b; do
            bm_rows "$d" "mine_$p" | grep -Eq "^$b,mine_$p,[0-9]+\.[0-9]+$" ||
                { echo "FAIL: no ratio for your $p in $b"; return 1; }
        done
        grep -Eq "^    $p +roundtrip 64 default +[0-9]+\.[0-9]+ \[" "$d/log" ||
            { echo "FAIL: the summary gives no ratio for $p"; return 1; }
    done
    # echosvr_fork does not compile: reported, echosvr_v0 still measured
    echo 'this is not C' >>"$d/chapter1/echosvr_fork.c"
    bm_run "$d" || return 1
    grep -q '^chapter1: yours: echosvr_fork does not build' "$d/log" ||
        { echo "FAIL: no line saying that echosvr_fork does not build"; return 1; }
    [ -z "$(bm_rows "$d" mine_echosvr_fork)" ] || { echo "FAIL: a program that does not build has figures"; return 1; }
    bm_rows "$d" mine_echosvr_v0 | grep -Eq '^roundtrip,mine_echosvr_v0,[0-9]+\.[0-9]+$' ||
        { echo "FAIL: echosvr_v0 was not measured beside a broken echosvr_fork"; return 1; }
}

check "bench MINE=1: the starters' programs are reported as not implemented, with no figure" t_bench_mine_starters
check "bench MINE=1: the solutions copied in get ratios; one that does not compile is reported" t_bench_mine_solutions
