# Self-test of the student's tools: `make status` reads a grading's results, `make hint`
# finds the hints of every exercise of every available chapter in its guide, and gives them one
# at a time.
t_status() {
    out=$(grader/status "$tmp/starters.json") || return 1
    echo "$out"
    echo "$out" | grep -q '^chapter 1 ' && echo "$out" | grep -q 'next: ' &&
        echo "$out" | grep -q '^total: '
}
t_hints() {
    for ex in $(awk '!/^#/ && $1 ~ /^ex/ { sub(/\*$/, "", $1); print $1 }' \
        grader/chapters/chapter*.points | sort -u); do
        grader/hint --all "$ex" | grep -q '^1\. ' || { echo "no hints for $ex"; return 1; }
    done
}
t_hint_next() {
    hint_count=$(HINT_STATE=$tmp/hints grader/hint --all 1.2 | grep -c '^[0-9]*\. ')
    [ "$hint_count" -gt 1 ] || { echo "ex1.2 has $hint_count hints"; return 1; }
    HINT_STATE=$tmp/hints grader/hint 1.2 >"$tmp/hint1" &&
        HINT_STATE=$tmp/hints grader/hint 1.2 >"$tmp/hint2" || return 1
    grep -q "^ex1.2: hint 1 of $hint_count" "$tmp/hint1" && grep -q "^($((hint_count - 1)) more" "$tmp/hint1" &&
        [ "$(grep -c '^[0-9]*\. ' "$tmp/hint1")" = 1 ] && grep -q '^1\. ' "$tmp/hint1" &&
        grep -q "^ex1.2: hint 2 of $hint_count" "$tmp/hint2" && grep -q '^2\. ' "$tmp/hint2" &&
        [ "$(grep -c '^[0-9]*\. ' "$tmp/hint2")" = 1 ] ||
        { cat "$tmp/hint1" "$tmp/hint2"; return 1; }
}
check "student tools: make status shows progress from the last grading" t_status
check "student tools: make hint finds the hints of every exercise" t_hints
check "student tools: make hint shows the next hint each time, and how many are left" t_hint_next
