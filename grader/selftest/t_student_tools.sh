# Self-test of the student's tools: `make status` reads a grading's results, and `make hint`
# finds the hints of every exercise of every available chapter in its guide.
t_status() {
    out=$(grader/status "$tmp/starters.json") || return 1
    echo "$out"
    echo "$out" | grep -q '^chapter 1 ' && echo "$out" | grep -q 'next: ' &&
        echo "$out" | grep -q '^total: '
}
t_hints() {
    for ex in $(awk '!/^#/ && $1 ~ /^ex/ { sub(/\*$/, "", $1); print $1 }' \
        grader/chapters/chapter*.points | sort -u); do
        grader/hint "$ex" | grep -q . || { echo "no hints for $ex"; return 1; }
    done
}
check "student tools: make status shows progress from the last grading" t_status
check "student tools: make hint finds the hints of every exercise" t_hints
