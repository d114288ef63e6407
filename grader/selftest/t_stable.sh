# Grader self-test: stable scores (LAB-SPEC 5.3). solutions/ graded again while one CPU is kept
# busy by stress-ng (one worker, bounded in time, stopped by its pid) gives every test the status
# it had in the solo run ($tmp/solutions.json): chapter 1 in full, memcheck runs included,
# chapter 3's heaviest tests (1000 clients at once, 10,000 connections), and the tests of
# chapters 4 and 5 where processes meet (io_conn with md and its workers, restarts, md's
# statistics read by viewconn, the pool in io_conn). No pass or fail may depend on the speed of
# the machine. (Grading all of solutions/ twice more would double make test's time.)

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

# stable_diff JSON CHAPTER: the tests of JSON (a chapter's) whose status differs from the solo
# run's, one line each; fails if JSON holds no test of that chapter.
stable_diff() {
    jq -r -n --argjson ch "$2" --slurpfile solo "$tmp/solutions.json" --slurpfile got "$1" '
        def statuses($f): [$f[0].chapters[] | select(.chapter == $ch) | .tests[]
            | {key: "\(.name) [\(.kind)]", value: .status}] | from_entries;
        statuses($got) as $g | statuses($solo) as $s
        | if ($g | length) == 0 then error("no test of chapter \($ch) graded") else . end
        | $g | to_entries[] | select($s[.key] != .value)
        | "\(.key): \(.value) under load, \($s[.key] // "not run") alone"'
}

# stable_case NAME CHAPTER GRADER-OPTIONS...: grade solutions/ under load, compare with solo.
stable_case() {
    sname=$1 ch=$2
    shift 2
    stable_load_start || return 1
    grader/grade --src solutions --ch "$ch" "$@" --json "$tmp/stable-$sname.json" \
        >"$tmp/stable-$sname.log" 2>&1
    st=$?
    stable_load_stop
    [ $st -eq 0 ] || { cat "$tmp/stable-$sname.log"; return 1; }
    diff=$(stable_diff "$tmp/stable-$sname.json" "$ch") || return 1
    [ -z "$diff" ] || { echo "$diff"; grep -A8 FAIL "$tmp/stable-$sname.log" | head -40; return 1; }
    jq -r '.chapters[].tests[] | "\(.name) [\(.kind)] \(.status) \(.seconds)s"' "$tmp/stable-$sname.json"
}

t_stable_ch1() { stable_case ch1 1; }
t_stable_ch3() { stable_case ch3 3 --test _ref_loadgen --no-memcheck; }
t_stable_ch4() { stable_case ch4 4 --test md --no-memcheck; }
t_stable_ch5() { stable_case ch5 5 --test conn --no-memcheck; }

check "stable: chapter 1 scores the same with one CPU kept busy" t_stable_ch1
if [ -f grader/chapters/chapter3.points ]; then
    check "stable: chapter 3's 1000-client and c10k tests, CPU kept busy" t_stable_ch3
fi
if [ -f grader/chapters/chapter4.points ]; then
    check "stable: chapter 4's io_conn + md tests, CPU kept busy" t_stable_ch4
fi
if [ -f grader/chapters/chapter5.points ]; then
    check "stable: chapter 5's md statistics and pool tests, CPU kept busy" t_stable_ch5
fi
