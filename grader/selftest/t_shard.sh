# Grader self-test: a batch graded in parts. Ten submissions (the solution of chapter 1, graded
# on one test; nine that can not be graded and get 0: empty folders, broken archives, a folder
# of notes) are graded by three `--batch --shard I/3`
# processes at once (the tasks of a Slurm job array: grader/scale/slurm-array.sh with Slurm's
# variables) and by one whole batch beside them; `--merge` joins the three parts into a
# gradebook byte-equal to the whole batch's and one report folder with the same reports. Part
# I holds the submissions whose place in the order of the names is I modulo 3. A missing part,
# a part given twice, a folder that is no output and a bad --shard are one-line errors, exit
# status 2.

# shard_expect_error WHAT COMMAND...: COMMAND fails with status 2 and one line of output.
shard_expect_error() {
    what=$1
    shift
    out=$("$@" 2>&1)
    [ $? -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] ||
        { echo "$what: expected a one-line error, exit 2; got: $out"; return 1; }
}

t_shard() {
    sd=$tmp/shard
    mkdir -p "$sd/subs" "$sd/tmp" || return 1
    submission "$sd/subs/sol" 1 && echo "not a tar" >"$sd/subs/broken.tar.gz" || return 1
    for e in empty1 empty2 empty3 empty4; do mkdir -p "$sd/subs/$e" || return 1; done
    for b in bad1 bad2 bad3; do echo "not a zip" >"$sd/subs/$b.zip" || return 1; done
    mkdir -p "$sd/subs/notes" && echo "my notes" >"$sd/subs/notes/notes.txt" || return 1
    test=rio_read_exact_eof_at_once
    opts="--ch 1 --no-memcheck --test $test"
    # shellcheck disable=SC2086 # opts is a list of words
    for i in 0 1 2; do
        TMPDIR=$sd/tmp SLURM_ARRAY_TASK_ID=$((i + 5)) SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_COUNT=3 \
            SLURM_SUBMIT_DIR=$top sh grader/scale/slurm-array.sh "$sd/subs" "$sd" $opts \
            >"$sd/part$i.log" 2>&1 &
        eval "pid$i=\$!"
    done
    # shellcheck disable=SC2086
    TMPDIR=$sd/tmp grader/grade --batch "$sd/subs" -j 2 -o "$sd/whole/gradebook.csv" $opts \
        >"$sd/whole.log" 2>&1 || { cat "$sd/whole.log"; return 1; }
    for i in 0 1 2; do
        eval "wait \$pid$i" || { echo "part $i failed:"; cat "$sd/part$i.log"; return 1; }
    done
    grader/grade --merge "$sd/merged" "$sd/part-2" "$sd/part-0" "$sd/part-1" || return 1
    cat "$sd/whole/gradebook.csv"
    cmp "$sd/merged/gradebook.csv" "$sd/whole/gradebook.csv" ||
        { echo "merged:"; cat "$sd/merged/gradebook.csv"; return 1; }
    [ "$(ls "$sd/merged/reports")" = "$(ls "$sd/whole/reports")" ] &&
        [ "$(ls "$sd/whole/reports" | grep -c '\.txt$')" -eq 10 ] ||
        { echo "reports differ:"; ls "$sd/merged/reports" "$sd/whole/reports"; return 1; }
    # the split: part I has the names whose place (from 0) is I modulo 3
    for i in 0 1 2; do
        want=$(ls "$sd/subs" | sed 's/\.zip$//; s/\.tar\.gz$//' | LC_ALL=C sort | awk -v i=$i '(NR - 1) % 3 == i' | tr '\n' ' ')
        got=$(tail -n +2 "$sd/part-$i/gradebook.csv" | cut -d, -f1 | tr -d '"' | tr '\n' ' ')
        [ "$want" = "$got" ] || { echo "part $i: expected $want, got $got"; return 1; }
    done
    points=$(awk -v t=$test '$2 == t { print $3 }' grader/chapters/chapter1.points)
    shard_total() { grep "^\"$1\"," "$sd/whole/gradebook.csv" | awk -F, '{ print $(NF-3) }'; }
    [ -n "$points" ] && [ "$points" -gt 0 ] && [ "$(shard_total sol)" = "$points" ] &&
        [ "$(shard_total broken)" = 0 ] || { echo "sol and broken should score $points and 0"; return 1; }
    shard_expect_error "a missing part" grader/grade --merge "$sd/m2" "$sd/part-0" "$sd/part-2" &&
        shard_expect_error "a part twice" grader/grade --merge "$sd/m3" "$sd/part-0" "$sd/part-0" "$sd/part-1" &&
        shard_expect_error "not an output" grader/grade --merge "$sd/m4" "$sd/part-0" "$sd/part-1" "$sd/subs" &&
        shard_expect_error "--shard 3/3" grader/grade --batch "$sd/subs" --shard 3/3 -o "$sd/x/g.csv" &&
        shard_expect_error "--shard x" grader/grade --batch "$sd/subs" --shard x -o "$sd/x/g.csv" || return 1
    [ ! -e "$sd/m2" ] && [ ! -e "$sd/m3" ] && [ ! -e "$sd/m4" ] || { echo "a failed merge wrote its output"; return 1; }
    [ -z "$(ls -A "$sd/tmp")" ] || { echo "temporary files left:"; ls "$sd/tmp"; return 1; }
}
check "grader: a batch in 3 parts merges into the whole batch's gradebook" t_shard
