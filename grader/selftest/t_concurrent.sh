# Grader self-test: two graders at once on one machine give the same results as one alone
# (ports, IPC keys and temporary files are per run). The memcheck runs are left out: what two
# graders could share is the same with or without them.
t_concurrent() {
    grader/grade --src solutions --ch 1 --no-memcheck --json "$tmp/c1.json" >"$tmp/c1.log" 2>&1 &
    p1=$!
    grader/grade --src solutions --ch 1 --no-memcheck --json "$tmp/c2.json" >"$tmp/c2.log" 2>&1 &
    p2=$!
    wait $p1 && wait $p2 || { cat "$tmp/c1.log" "$tmp/c2.log"; return 1; }
    solo=$(jq -c '[.chapters[] | select(.chapter == 1) | .tests[] | select(.kind == "test")
        | [.name, .kind, .status, .score]]' \
        "$tmp/solutions.json")
    for f in c1 c2; do
        got=$(jq -c '[.chapters[].tests[] | [.name, .kind, .status, .score]]' "$tmp/$f.json")
        [ "$got" = "$solo" ] || { echo "$f differs from the solo run:"; cat "$tmp/$f.log"; return 1; }
    done
}
check "grader: two graders at once score like one alone" t_concurrent
