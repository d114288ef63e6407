# Grader self-test: stable scores. solutions/ graded again while the machine is busy with the
# other self-tests gives every test the status it had in the first run ($tmp/solutions.json,
# graded beside the starters only). No pass or fail may depend on the speed of the machine.

# stable_diff JSON: the tests of JSON whose status differs from the solo run's, one line each;
# fails if JSON holds no test.
stable_diff() {
    jq -r -n --slurpfile solo "$tmp/solutions.json" --slurpfile got "$1" '
        def statuses($f): [$f[0].chapters[] | .chapter as $ch | .tests[]
            | {key: "ch\($ch) \(.name) [\(.kind)]", value: .status}] | from_entries;
        statuses($got) as $g | statuses($solo) as $s
        | if ($g | length) == 0 then error("no test graded") else . end
        | $g | to_entries[] | select($s[.key] != .value)
        | "\(.key): \(.value) under load, \($s[.key] // "not run") in the first run"'
}

# All of solutions/ graded once more (functional runs), and chapter 1 with its memcheck runs
# beside it, while the two lanes of the other self-tests grade their own submissions: four
# graders on two CPUs for the whole run, harsher than one busy CPU. Every status must be the solo
# run's.
t_stable() {
    grader/grade --src solutions --no-memcheck --json "$tmp/stable-a.json" >"$tmp/stable-a.log" 2>&1 &
    pa=$!
    grader/grade --src solutions --ch 1 --json "$tmp/stable-m.json" >"$tmp/stable-m.log" 2>&1
    sm=$?
    wait "$pa"
    sa=$?
    bad=0
    for run in a:$sa m:$sm; do
        r=${run%%:*} st=${run#*:}
        [ "$st" -eq 0 ] || { echo "grading $r ended with $st:"; tail -20 "$tmp/stable-$r.log"; bad=1; continue; }
        diff=$(stable_diff "$tmp/stable-$r.json") || { bad=1; continue; }
        [ -z "$diff" ] || { echo "$diff"; grep -A8 FAIL "$tmp/stable-$r.log" | head -40; bad=1; }
    done
    [ $bad -eq 0 ] || return 1
    for r in a m; do
        echo "grading $r: $(jq -r '"\(.score)/\(.max_score), \([.chapters[].tests[]] | length) tests"' "$tmp/stable-$r.json")"
    done
}

check "stable: solutions/ graded again beside the other self-tests, every status the same" t_stable
