# The instruction-count guard (the performance targets): callgrind's instructions per operation of the reference
# code, for each measure of bench/baseline/icount.txt (its comment gives the format), must not
# grow by more than 10% over the baseline there. Counts, not times: exact and repeatable on any
# machine that builds the same code, so a slower pool or hash shows up in `make test`, not only
# in a benchmark someone has to read. Figures below the baseline pass (and are shown, so the
# baseline can be lowered). bench/icount.sh does the counting; each measure takes about a second.
# The measures: the pool's alloc+free pair, the queue's enqueue+dequeue pair in one process,
# the multi-hash's hit. Run only once chapter 5 has points data.

t_ch5_icount() {
    bad=0
    while read -r measure base prog args; do
        case $measure in '' | '#'*) continue ;; esac
        if [ ! -x "build/solutions/$prog" ]; then
            echo "$measure: build/solutions/$prog is missing (make)"
            bad=1
            continue
        fi
        args=$(echo "$args" | sed "s/@KEY@/$((0x7c900000 + ($$ % 65536) * 4))/g")
        # shellcheck disable=SC2086 # the arguments are meant to split into words
        if ! got=$(sh bench/icount.sh "build/solutions/$prog" $args); then
            echo "$measure: could not count instructions"
            bad=1
        elif awk -v g="$got" -v b="$base" 'BEGIN { exit !(g > b * 1.10) }'; then
            echo "$measure: $got instructions per operation, more than 10% over the baseline $base" \
                "(bench/baseline/icount.txt)"
            bad=1
        else
            echo "$measure: $got instructions per operation (baseline $base)"
        fi
    done <bench/baseline/icount.txt
    return $bad
}

if [ -f grader/chapters/chapter5.points ]; then
    check "bench: instructions per operation within 10% of bench/baseline/icount.txt" t_ch5_icount
fi
