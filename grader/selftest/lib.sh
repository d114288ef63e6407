# Helpers of grader/selftest/run and its t_*.sh cases (sourced; $top and $tmp are set).

# grade_json OUT ARGS...: grade with the given arguments, results as JSON in OUT.
grade_json() {
    out=$1
    shift
    grader/grade "$@" --json "$out" || return 1
    [ -s "$out" ]
}

# submission DIR CH: DIR/chapterCH/ becomes a copy of the reference solution.
submission() {
    mkdir -p "$1" && cp -R "solutions/chapter$2" "$1/chapter$2"
}

# insert_at_start FILE FUNCTION CODE: put CODE as the first statement of FUNCTION's body
# (the function's definition starts at column 0 and its '{' is on a line of its own).
insert_at_start() {
    awk -v fn="$2" -v code="$3" '
        { print }
        $0 ~ "^[a-z].*[ *]" fn "\\(" && $0 !~ /;$/ { want = 1; next }
        want && /^\{/ { print "    " code; want = 0; done = 1 }
        END { if (!done) exit 1 }' "$1" >"$1.new" && mv "$1.new" "$1"
}

# tests_where JSON FILTER: names of the tests (jq FILTER on each test object is true).
tests_where() {
    jq -r ".chapters[] | select(.available) | .tests[] | select($2) | .name" "$1"
}

starters_have_tasks() {
    ! grep -rn "YOUR CODE HERE" chapter*/ | grep -v "YOUR CODE HERE: [A-Za-z]"
}

starters_fail_clearly() {
    grade_json "$tmp/starters.json" --src . --no-memcheck || return 1
    # exercises that have no failing test with a "not implemented" reason
    bad=$(jq -r '.chapters[] | select(.available) | .tests
        | group_by(.exercise)[]
        | select(all(.[]; (.status == "pass") or (.reason | test("not implemented") | not)))
        | .[0].exercise' "$tmp/starters.json")
    [ -z "$bad" ] || { echo "exercises without a 'not implemented' failure: $bad"; return 1; }
}

# Every test of each chapter's runner (built by `make` from the reference) is in the chapter's
# points data, and every line of the points data is a test: the names, sorted, are the same.
points_match_tests() {
    for pts in grader/chapters/chapter*.points; do
        n=${pts##*chapter}
        n=${n%.points}
        build/solutions/chapter$n/runner --list | awk '{ print $1 }' | sort >"$tmp/tests-$n" &&
            awk '!/^#/ && $1 ~ /^ex/ { print $2 }' "$pts" | sort >"$tmp/points-$n" || return 1
        if ! cmp -s "$tmp/tests-$n" "$tmp/points-$n"; then
            echo "chapter $n: tests (<) and points data (>) differ:"
            diff "$tmp/tests-$n" "$tmp/points-$n"
            return 1
        fi
        [ -z "$(uniq -d "$tmp/points-$n")" ] || { echo "chapter $n: listed twice:"; uniq -d "$tmp/points-$n"; return 1; }
    done
}
