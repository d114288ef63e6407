# Grader self-test: progress lasts. Two gradings of the starters (chapter 1's rio tests, then
# part of chapter 2) merge into one progress file, whose status shows both; --failed runs again
# exactly the tests that failed; the run ends with the list of its failures.
t_progress() {
    p=$tmp/progress.json
    grader/grade --src . --ch 1 --test rio --no-memcheck --json "$tmp/p1.json" --progress "$p" \
        >"$tmp/p1.out" || return 1
    grader/grade --src . --ch 2 --test muxbench --no-memcheck --json "$tmp/p2.json" \
        --progress "$p" >/dev/null || return 1
    grader/status "$p" >"$tmp/status" || return 1
    grep -Eq "^    ex1.1  [0-9]+/[0-9]+ tests passed" "$tmp/status" &&
        grep -Eq "^    ex2.2  [0-9]+/[0-9]+ tests passed" "$tmp/status" &&
        grep -q "^chapter 2 .*last graded" "$tmp/status" ||
        { echo "status does not show both gradings:"; cat "$tmp/status"; return 1; }
    last_failed=$(jq -r '[.chapters[].tests[] | select(.status == "fail") | .name] | sort | join(" ")' "$tmp/p1.json")
    [ -n "$last_failed" ] || { echo "the starter failed no rio test"; return 1; }
    grep -q "^$(echo $last_failed | wc -w) failed; " "$tmp/p1.out" ||
        { echo "the run does not end with its failures:"; tail "$tmp/p1.out"; return 1; }
    grader/grade --src . --failed "$tmp/p1.json" --no-memcheck --json "$tmp/p3.json" >/dev/null &&
        [ "$(jq -r '[.chapters[].tests[] | .name] | sort | join(" ")' "$tmp/p3.json")" = "$last_failed" ] ||
        { echo "--failed did not run exactly the failed tests"; return 1; }
}

# A result older than the exercise's files is marked stale, in every chapter (chapter 4 lists its
# student files over several lines of its build data): a progress file whose one chapter 4 result
# was graded at the epoch's first second.
t_progress_stale() {
    jq -n '{chapters: {"4": {title: "t", graded_at: 1, seconds: 1, tests_run: 1, tests: {
        "shm_create_mode_0600": {exercise: "ex4.1", name: "shm_create_mode_0600", kind: "test",
            bonus: false, status: "pass", score: 1, max_score: 1, graded_at: 1, reason: ""}}}}}' \
        >"$tmp/p-stale.json" && grader/status "$tmp/p-stale.json" >"$tmp/status-stale" || return 1
    grep -q "^    ex4.1 .*STALE: .*shm.c.* changed since" "$tmp/status-stale" ||
        { echo "ex4.1 is not marked stale:"; cat "$tmp/status-stale"; return 1; }
}
check "grader: progress merges gradings, status shows them, --failed re-runs the failures" t_progress
check "student tools: make status marks a result older than its files stale" t_progress_stale
