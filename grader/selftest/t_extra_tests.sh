# Grader self-test: an instructor's hidden tests (--extra-tests DIR) are built into the chapter's
# runner, count in the score, and are hidden in Gradescope's results.json; the starters fail them.
t_extra_tests() {
    x=grader/selftest/extra
    grader/grade --src solutions --ch 1 --test hidden --extra-tests "$x" \
        --gradescope "$tmp/x-sol.json" >/dev/null &&
        grader/grade --ch 1 --test hidden --extra-tests "$x" --no-memcheck \
            --gradescope "$tmp/x-start.json" >/dev/null || return 1
    jq -e '(.tests | length) == 2 and all(.tests[]; .visibility == "hidden" and .status == "passed")
        and .score == 3' "$tmp/x-sol.json" >/dev/null &&
        jq -e '(.tests | length) == 1 and .tests[0].status == "failed"
            and (.tests[0].output | test("not implemented"))' "$tmp/x-start.json" >/dev/null ||
        { cat "$tmp/x-sol.json" "$tmp/x-start.json"; return 1; }
}
check "grader: an instructor's hidden tests count and stay hidden" t_extra_tests
