# Grader self-test: stable scores (LAB-SPEC 5.3, issue 6). solutions/ graded twice more while
# stress-ng keeps a CPU busy (one worker, bounded in time, stopped by its pid) gives every test
# the status it had in the solo run ($tmp/solutions.json). No pass or fail may depend on the
# speed of the machine.

# stable_load_start / stable_load_stop: one CPU kept busy, at most 5 minutes in any case.
stable_load_start() {
    command -v stress-ng >/dev/null 2>&1 || make --no-print-directory -s deps >/dev/null 2>&1
    command -v stress-ng >/dev/null 2>&1 || { echo "stress-ng is missing (make deps)"; return 1; }
    stress-ng --cpu 1 --timeout 300s --quiet >/dev/null 2>&1 &
    stable_load=$!
}
stable_load_stop() {
    kill "$stable_load" 2>/dev/null
    wait "$stable_load" 2>/dev/null
    return 0
}

# stable_diff JSON: the tests of JSON whose status differs from the solo run's, one line each;
# fails if JSON holds no test.
stable_diff() {
    jq -r -n --slurpfile solo "$tmp/solutions.json" --slurpfile got "$1" '
        def statuses($f): [$f[0].chapters[] | .chapter as $ch | .tests[]
            | {key: "ch\($ch) \(.name) [\(.kind)]", value: .status}] | from_entries;
        statuses($got) as $g | statuses($solo) as $s
        | if ($g | length) == 0 then error("no test graded") else . end
        | $g | to_entries[] | select($s[.key] != .value)
        | "\(.key): \(.value) under load, \($s[.key] // "not run") alone"'
}

# All of solutions/ graded twice more at once (functional runs), and chapter 1 with its memcheck
# runs beside them, while stress-ng keeps a CPU busy: three graders and the load on two CPUs,
# harder than the issue's one busy CPU. Every status must be the solo run's. (The memcheck runs
# of all chapters twice more would add about five minutes to make test.)
t_stable() {
    stable_load_start || return 1
    grader/grade --src solutions --no-memcheck --json "$tmp/stable-a.json" >"$tmp/stable-a.log" 2>&1 &
    pa=$!
    grader/grade --src solutions --no-memcheck --json "$tmp/stable-b.json" >"$tmp/stable-b.log" 2>&1 &
    pb=$!
    grader/grade --src solutions --ch 1 --json "$tmp/stable-m.json" >"$tmp/stable-m.log" 2>&1
    sm=$?
    wait "$pa"
    sa=$?
    wait "$pb"
    sb=$?
    stable_load_stop
    bad=0
    for run in a:$sa b:$sb m:$sm; do
        r=${run%%:*} st=${run#*:}
        [ "$st" -eq 0 ] || { echo "grading $r ended with $st:"; tail -20 "$tmp/stable-$r.log"; bad=1; continue; }
        diff=$(stable_diff "$tmp/stable-$r.json") || { bad=1; continue; }
        [ -z "$diff" ] || { echo "$diff"; grep -A8 FAIL "$tmp/stable-$r.log" | head -40; bad=1; }
    done
    [ $bad -eq 0 ] || return 1
    for r in a b m; do
        echo "grading $r: $(jq -r '"\(.score)/\(.max_score), \([.chapters[].tests[]] | length) tests"' "$tmp/stable-$r.json")"
    done
}

check "stable: solutions/ graded twice more with a CPU kept busy, every status the same" t_stable
