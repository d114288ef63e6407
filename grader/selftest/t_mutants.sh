# Grader self-test of the mutation catalogue (grader/mutants/, `make mutants`): a fixed sample
# of chapter 1's mutants is killed on its own exercise, a correct alternative keeps full marks,
# and the runner fails, naming the culprit, on a mutant that survives without saying why and on
# a patch that no longer applies. The whole catalogue takes minutes: `make mutants` runs it.

mutants_sample="grader/mutants/chapter1/ex1.1-write-short-count-taken-as-done.diff
grader/mutants/chapter1/ex1.3-child-keeps-listener.diff
grader/mutants/chapter1/ex1.3-no-sigprocmask-around-fork.diff
grader/mutants/alternatives/chapter1/ex1.3-block-every-signal-across-fork.diff"

# expect_row OUT NAME VERDICT: the table in OUT has NAME's row with VERDICT.
expect_row() {
    grep -q "^$2 .* $3 " "$1" || { echo "expected $2: $3"; return 1; }
}

t_mutants_sample() {
    d=$tmp/mutants
    mkdir -p "$d"
    # A harmless change without a "survives:" line (it must be reported as SURVIVED), graded on
    # one test only, and a patch whose context is not in the solution (an error, no grading).
    {
        echo "# exercise: ex1.1"
        echo "# fault: none, a comment changed (the runner must call it a survivor)."
        echo "# tests: rio_write_all_len_zero"
        echo "--- a/solutions/chapter1/rio.c"
        echo "+++ b/solutions/chapter1/rio.c"
        echo "@@ -1,1 +1,2 @@"
        echo "+/* a comment */"
        sed -n 1p solutions/chapter1/rio.c | sed 's/^/ /'
    } >"$d/harmless.diff"
    sed 's/^-\( *if (sigprocmask\)/-\1 NOT IN THE SOLUTION/' \
        grader/mutants/chapter1/ex1.3-no-sigprocmask-around-fork.diff >"$d/stale.diff"
    # shellcheck disable=SC2086 # a list of paths without spaces
    if sh grader/mutants/run $mutants_sample "$d/harmless.diff" "$d/stale.diff" >"$d/out" 2>&1; then
        cat "$d/out"
        echo "expected exit status 1 (one mutant survived, one patch does not apply)"
        return 1
    fi
    cat "$d/out"
    expect_row "$d/out" chapter1/ex1.1-write-short-count-taken-as-done killed &&
        expect_row "$d/out" chapter1/ex1.3-child-keeps-listener killed &&
        expect_row "$d/out" chapter1/ex1.3-no-sigprocmask-around-fork killed &&
        expect_row "$d/out" alternatives/chapter1/ex1.3-block-every-signal-across-fork "full marks" &&
        expect_row "$d/out" "$d/harmless" SURVIVED &&
        expect_row "$d/out" "$d/stale" error &&
        grep -q "^ex1.1 *1 / 2 (0)$" "$d/out" # the harmless survivor counts against the score
}

check "mutants: a sample is killed, an alternative keeps full marks" t_mutants_sample
