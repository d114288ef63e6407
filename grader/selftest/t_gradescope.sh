# Grader self-test: the Gradescope bundle. `make gradescope` builds the zip; its run_autograder,
# run against a folder laid out like /autograder (AUTOGRADER_ROOT), writes a results.json that
# follows Gradescope's schema, with the score the submission earns, a visible top-level output
# that says what was graded, the grading's time (execution_time) and no leaderboard. The bundle
# is a `git archive` (no .git): a file the student did not send is still the starter's. `make
# gradescope CH=N` builds a bundle that grades chapter N alone, whatever the upload holds.

# gs_unpack ZIP ROOT: the bundle unpacked as Gradescope does, into ROOT/source.
gs_unpack() {
    rm -rf "$2" && mkdir -p "$2/source" && unzip -qq "$1" -d "$2/source" &&
        [ -x "$2/source/setup.sh" ] && [ -x "$2/source/run_autograder" ]
}

# gs_run ROOT SUBMISSION OPTIONS: run_autograder of ROOT on SUBMISSION (a folder made by
# upload_layout or by hand) with the grader OPTIONS; the results in ROOT/results/.
gs_run() {
    rm -rf "$1/submission" "$1/results" && mkdir -p "$1/submission" &&
        cp -R "$2/." "$1/submission/" &&
        AUTOGRADER_ROOT=$1 SVRLAB_GRADE_OPTS="$3" "$1/source/run_autograder"
}

t_gradescope() {
    ag=$tmp/autograder
    make --no-print-directory -s gradescope >/dev/null &&
        gs_unpack build/gradescope/autograder.zip "$ag" || return 1
    r=$ag/results/results.json
    # the solution's files uploaded one by one ("upload files"), echosvr_fork.c left out
    upload_layout flat solutions "$tmp/gs-flat" && rm "$tmp/gs-flat/echosvr_fork.c" &&
        gs_run "$ag" "$tmp/gs-flat" "--ch 1 --no-memcheck" || return 1
    full=$(jq '[.chapters[] | select(.chapter == 1) | .tests[] | .max_score] | add' "$tmp/starters.json")
    fork_starter=$(jq '[.chapters[] | select(.chapter == 1) | .tests[]
        | select(.exercise == "ex1.3") | .score] | add' "$tmp/starters.json")
    fork_max=$(jq '[.chapters[] | select(.chapter == 1) | .tests[]
        | select(.exercise == "ex1.3") | .max_score] | add' "$tmp/starters.json")
    jq -e --argjson want "$((full - fork_max + fork_starter))" '.score == $want
        and (.execution_time | type == "number" and . == floor and . >= 0)
        and (has("leaderboard") | not)
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
        gs_run "$ag" "$tmp/gs-syntax" "--ch 1 --no-memcheck --test echoclient_help" || return 1
    jq -e '(.output | test("echoclient.c:[0-9]+:[0-9]+: error:"))
        and all(.tests[]; .output | test("^echoclient did not build.*\n.*error:"))' \
        "$r" >/dev/null || { echo "a syntax error, results.json:"; head -c 2000 "$r"; return 1; }
    # two folders for one chapter: a visible message naming both, score 0
    mkdir -p "$tmp/gs-two/a" "$tmp/gs-two/b" && cp -R chapter1 "$tmp/gs-two/a/" &&
        cp -R chapter1 "$tmp/gs-two/b/" && gs_run "$ag" "$tmp/gs-two" "" &&
        jq -e '.score == 0 and .visibility == "visible"
            and (.output | test("a/chapter1/ and b/chapter1/"))' "$r" >/dev/null ||
        { echo "two places, results.json:"; cat "$r"; return 1; }
    # an empty submission still gets a results.json, with score 0
    mkdir -p "$tmp/gs-empty" && gs_run "$ag" "$tmp/gs-empty" "" &&
        jq -e '.score == 0 and (.output | test("chapter")) and (.execution_time | type == "number")' \
            "$r" >/dev/null
}
check "grader: the Gradescope bundle's run_autograder writes results.json" t_gradescope

# The bundle of one chapter: `make gradescope CH=1` names the chapter in its zip and in a file
# of it; its run_autograder grades chapter 1 alone of an upload that holds chapters 1 and 2 (one
# test, which the solution passes, so the score is that test's points). A chapter that does
# not exist is a one-line error.
t_gradescope_chapter() {
    ag=$tmp/autograder-ch1
    make --no-print-directory -s gradescope CH=1 >/dev/null &&
        gs_unpack build/gradescope/autograder-chapter1.zip "$ag" &&
        [ "$(cat "$ag/source/svrlab-chapter")" = 1 ] || return 1
    ! unzip -l build/gradescope/autograder.zip 2>/dev/null | grep -q svrlab-chapter ||
        { echo "the bundle of every chapter names a chapter"; return 1; }
    out=$(grader/gradescope/mkzip 9 2>&1)
    [ $? -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] ||
        { echo "mkzip 9: $out"; return 1; }
    test=rio_read_exact_eof_at_once
    points=$(awk -v t=$test '$2 == t { print $3 }' grader/chapters/chapter1.points)
    [ -n "$points" ] && [ "$points" -gt 0 ] || { echo "no points for $test"; return 1; }
    submission "$tmp/gs-ch12" 1 && cp -R chapter2 "$tmp/gs-ch12/" &&
        gs_run "$ag" "$tmp/gs-ch12" "--no-memcheck --test $test" || return 1
    r=$ag/results/results.json
    jq -e --argjson want "$points" '.score == $want and (.tests | length) == 1
        and .tests[0].number == "1.1" and .tests[0].status == "passed"
        and (.output | test("chapter1") and (test("chapter2") | not))
        and (.execution_time | type == "number" and . == floor and . >= 0)
        and (has("leaderboard") | not)' "$r" >/dev/null ||
        { echo "unexpected results.json:"; head -c 2000 "$r"; return 1; }
}
check "grader: the Gradescope bundle of one chapter grades that chapter alone" t_gradescope_chapter
