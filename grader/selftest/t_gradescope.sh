# Grader self-test: the Gradescope bundle. `make gradescope` builds the zip; its run_autograder,
# run against a folder laid out like /autograder (AUTOGRADER_ROOT), writes a results.json that
# follows Gradescope's schema, with the score the submission earns.
t_gradescope() {
    ag=$tmp/autograder
    make --no-print-directory -s gradescope >/dev/null &&
        mkdir -p "$ag/source" "$ag/submission/repo" &&
        unzip -qq build/gradescope/autograder.zip -d "$ag/source" &&
        [ -x "$ag/source/setup.sh" ] && [ -x "$ag/source/run_autograder" ] &&
        cp -R solutions/chapter1 "$ag/submission/repo/" || return 1
    AUTOGRADER_ROOT=$ag SVRLAB_GRADE_OPTS="--ch 1 --no-memcheck" "$ag/source/run_autograder" ||
        return 1
    r=$ag/results/results.json
    full=$(jq '.chapters[] | select(.chapter == 1) | .max_score' "$tmp/starters.json")
    jq -e --argjson full "$full" '.score == $full and (.tests | length) > 0
        and all(.tests[]; .status == "passed" and .score == .max_score and .visibility == "visible")' \
        "$r" >/dev/null || { echo "unexpected results.json:"; head -c 2000 "$r"; return 1; }
    # an empty submission still gets a results.json, with score 0
    rm -rf "$ag/submission/repo" "$ag/results"
    AUTOGRADER_ROOT=$ag "$ag/source/run_autograder" &&
        jq -e '.score == 0 and (.output | test("chapter"))' "$ag/results/results.json" >/dev/null
}
check "grader: the Gradescope bundle's run_autograder writes results.json" t_gradescope
