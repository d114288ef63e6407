# Grader self-test: GitHub Classroom's grading step (grader/classroom/grade.sh, which
# .github/workflows/classroom.yml runs from the template checked out at a pinned commit; here
# this checkout is that grader). Two student repositories (copies of this checkout's files):
# one with chapter 1 solved; one with the starter of chapter 1 whose points and tests were
# edited to give it more. Each is graded on one test that the solution passes and the starter
# fails; the step's output is the base64 JSON that Classroom's reporter reads (version,
# status, max_score, tests with name, status, score), with the score each earns by the
# grader's points, never by the student's; the edited files are named, in the result and the
# step summary; the grader's JSON and output are kept for the run's artifact. Bad arguments are a one-line error with exit status 2.

# classroom_repo DIR CHAPTER1: DIR becomes a copy of this checkout's tracked files, with
# CHAPTER1 (a folder) as its chapter1/.
classroom_repo() {
    mkdir -p "$1" && git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$1" &&
        rm -rf "$1/chapter1" && cp -R "$2" "$1/chapter1"
}

# classroom_grade DIR: grade.sh on DIR (chapter 1, one test), its output in DIR.out, the step's
# outputs in DIR.gho and summary in DIR.md, its exit status in DIR.rc.
classroom_grade() {
    : >"$1.gho" && : >"$1.md" &&
        GITHUB_OUTPUT=$1.gho GITHUB_STEP_SUMMARY=$1.md SVRLAB_OUT=$1.results SVRLAB_CHAPTER=1 \
        SVRLAB_GRADE_OPTS="--no-memcheck --test $cls_test" grader/classroom/grade.sh "$1" >"$1.out" 2>&1
    echo $? >"$1.rc"
}

# classroom_result DIR: the decoded result of DIR's grading, or nothing if the output is not
# one `result=` line of base64 JSON.
classroom_result() {
    [ "$(grep -c '^result=' "$1.gho")" -eq 1 ] || return 1
    sed -n 's/^result=//p' "$1.gho" | base64 -d | jq -e . 2>/dev/null
}

t_classroom() {
    cls_test=rio_read_exact_eof_at_once
    points=$(awk -v t=$cls_test '$2 == t { print $3 }' grader/chapters/chapter1.points)
    [ -n "$points" ] && [ "$points" -gt 0 ] || { echo "no points for $cls_test"; return 1; }
    classroom_repo "$tmp/cls-solved" solutions/chapter1 &&
        classroom_repo "$tmp/cls-tampered" chapter1 || return 1
    # the tampered one: its points give the test 100 times more, and the test's file is edited
    sed -i "s/^\(ex1.1 *$cls_test *\)[0-9]*/\1$((points * 100))/" \
        "$tmp/cls-tampered/grader/chapters/chapter1.points" &&
        ! cmp -s grader/chapters/chapter1.points "$tmp/cls-tampered/grader/chapters/chapter1.points" &&
        test_file=$(grep -l "$cls_test" grader/tests/chapter1/*.c | head -1) && [ -n "$test_file" ] &&
        printf '/* edited */\n' >>"$tmp/cls-tampered/$test_file" || return 1
    classroom_grade "$tmp/cls-solved" &
    solved_pid=$!
    classroom_grade "$tmp/cls-tampered"
    wait "$solved_pid"
    for r in solved tampered; do
        [ "$(cat "$tmp/cls-$r.rc")" = 0 ] || { echo "$r: grade.sh failed:"; tail "$tmp/cls-$r.out"; return 1; }
    done
    classroom_result "$tmp/cls-solved" >"$tmp/cls-solved.json" &&
        jq -e --argjson p "$points" --arg t "$cls_test" '.version == 1 and .status == "pass"
            and .max_score == $p and (.tests | length) == 1
            and .tests[0].name == "ex1.1 \($t)" and .tests[0].status == "pass"
            and .tests[0].score == $p and (.tests[0].message | type == "string")' \
            "$tmp/cls-solved.json" >/dev/null &&
        grep -q "^Score: $points / $points$" "$tmp/cls-solved.md" &&
        jq -e --argjson p "$points" '.score == $p' "$tmp/cls-solved.results/results.json" >/dev/null &&
        grep -q "^total: $points/$points" "$tmp/cls-solved.results/grade-output.txt" ||
        { echo "solved: unexpected result:"; cat "$tmp/cls-solved.gho" "$tmp/cls-solved.md"; return 1; }
    classroom_result "$tmp/cls-tampered" >"$tmp/cls-tampered.json" &&
        jq -e --argjson p "$points" --arg t "$cls_test" --arg f "$test_file" '.status == "fail"
            and .max_score == $p and ([.tests[].score] | add) == 0
            and any(.tests[]; .name == "ex1.1 \($t)" and .status == "fail")
            and any(.tests[]; .status == "fail" and (.message
                | contains("grader/chapters/chapter1.points") and contains($f)))' \
            "$tmp/cls-tampered.json" >/dev/null &&
        grep -q "^Score: 0 / $points$" "$tmp/cls-tampered.md" &&
        grep -q "changed.*grader/chapters/chapter1.points" "$tmp/cls-tampered.md" ||
        { echo "tampered: unexpected result:"; cat "$tmp/cls-tampered.json" "$tmp/cls-tampered.md"; return 1; }
    # the workflow runs this script from the pinned checkout and hands its result to the reporter
    wf=.github/workflows/classroom.yml
    grep -q 'ref: ${{ env.SVRLAB_TEMPLATE_COMMIT }}' $wf &&
        grep -q 'grader-pinned/grader/classroom/grade.sh submission' $wf &&
        grep -q 'id: svrlab$' $wf && grep -q 'SVRLAB_RESULTS: ${{ steps.svrlab.outputs.result }}' $wf &&
        grep -q 'runners: svrlab$' $wf || { echo "$wf does not wire grade.sh to the reporter"; return 1; }
    for bad in "" "$tmp/no-such-folder"; do
        out=$(grader/classroom/grade.sh ${bad:+"$bad"} 2>&1)
        [ $? -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] ||
            { echo "grade.sh '$bad': $out"; return 1; }
    done
}
check "classroom: the workflow's grading step scores with the template's grader" t_classroom
