# Grader self-test: the Gradescope bundle. `make gradescope` builds the zip; its run_autograder,
# run against a folder laid out like /autograder (AUTOGRADER_ROOT), writes a results.json that
# follows Gradescope's schema, with the score the submission earns and a visible top-level
# output that says what was graded. The bundle is a `git archive` (no .git): a file the student
# did not send is still the starter's.
t_gradescope() {
    ag=$tmp/autograder
    make --no-print-directory -s gradescope >/dev/null &&
        mkdir -p "$ag/source" &&
        unzip -qq build/gradescope/autograder.zip -d "$ag/source" &&
        [ -x "$ag/source/setup.sh" ] && [ -x "$ag/source/run_autograder" ] || return 1
    r=$ag/results/results.json
    # run_autograder on SUBMISSION (a folder made by upload_layout or by hand) with OPTIONS
    gs_run() {
        rm -rf "$ag/submission" "$ag/results" && mkdir -p "$ag/submission" &&
            cp -R "$1/." "$ag/submission/" &&
            AUTOGRADER_ROOT=$ag SVRLAB_GRADE_OPTS="$2" "$ag/source/run_autograder"
    }
    # the solution's files uploaded one by one ("upload files"), echosvr_fork.c left out
    upload_layout flat solutions "$tmp/gs-flat" && rm "$tmp/gs-flat/echosvr_fork.c" &&
        gs_run "$tmp/gs-flat" "--ch 1 --no-memcheck" || return 1
    full=$(jq '[.chapters[] | select(.chapter == 1) | .tests[] | .max_score] | add' "$tmp/starters.json")
    fork_starter=$(jq '[.chapters[] | select(.chapter == 1) | .tests[]
        | select(.exercise == "ex1.3") | .score] | add' "$tmp/starters.json")
    fork_max=$(jq '[.chapters[] | select(.chapter == 1) | .tests[]
        | select(.exercise == "ex1.3") | .max_score] | add' "$tmp/starters.json")
    jq -e --argjson want "$((full - fork_max + fork_starter))" '.score == $want
        and (.tests | length) > 0 and all(.tests[]; .visibility == "visible")
        and all(.tests[] | select(.number | startswith("1.3") | not); .status == "passed")
        and .visibility == "visible"
        and (.output | test("taken from your upload: rio.c echoclient.c\n"))
        and (.output | test("echosvr_fork.c: not in your upload; the starter.s was used"))
        and (.output | test("ignored.*notes.txt"))' \
        "$r" >/dev/null || { echo "unexpected results.json:"; head -c 2000 "$r"; return 1; }
    # a syntax error: the top-level output and the tests of the program quote the compiler
    mkdir -p "$tmp/gs-syntax" && cp -R solutions/chapter1 "$tmp/gs-syntax/" &&
        echo "syntax error" >>"$tmp/gs-syntax/chapter1/echoclient.c" &&
        gs_run "$tmp/gs-syntax" "--ch 1 --no-memcheck --test echoclient_help" || return 1
    jq -e '(.output | test("echoclient.c:[0-9]+:[0-9]+: error:"))
        and all(.tests[]; .output | test("^echoclient did not build.*\n.*error:"))' \
        "$r" >/dev/null || { echo "a syntax error, results.json:"; head -c 2000 "$r"; return 1; }
    # two folders for one chapter: a visible message naming both, score 0
    mkdir -p "$tmp/gs-two/a" "$tmp/gs-two/b" && cp -R chapter1 "$tmp/gs-two/a/" &&
        cp -R chapter1 "$tmp/gs-two/b/" && gs_run "$tmp/gs-two" "" &&
        jq -e '.score == 0 and .visibility == "visible"
            and (.output | test("a/chapter1/ and b/chapter1/"))' "$r" >/dev/null ||
        { echo "two places, results.json:"; cat "$r"; return 1; }
    # an empty submission still gets a results.json, with score 0
    mkdir -p "$tmp/gs-empty" && gs_run "$tmp/gs-empty" "" &&
        jq -e '.score == 0 and (.output | test("chapter"))' "$r" >/dev/null
}
check "grader: the Gradescope bundle's run_autograder writes results.json" t_gradescope
