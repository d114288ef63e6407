# Grader self-test: the machine-readable outputs agree with each other: Gradescope's
# results.json (its schema's fields) and JUnit XML list the same tests as --json.
t_outputs() {
    grader/grade --ch 1 --test rio_read_exact --json "$tmp/o.json" \
        --gradescope "$tmp/o-gs.json" --junit "$tmp/o-junit.xml" >/dev/null || return 1
    n=$(jq '[.chapters[].tests[]] | length' "$tmp/o.json")
    [ "$n" -gt 0 ] || { echo "no tests in the JSON"; return 1; }
    jq -e --argjson n "$n" '(.tests | length) == $n and (.score | type) == "number"
        and all(.tests[]; (.name | type) == "string" and (.score | type) == "number"
            and (.max_score | type) == "number" and (.status == "passed" or .status == "failed")
            and (.output | type) == "string" and .visibility == "visible")' \
        "$tmp/o-gs.json" >/dev/null || { echo "results.json does not match"; cat "$tmp/o-gs.json"; return 1; }
    [ "$(grep -c '<testcase ' "$tmp/o-junit.xml")" -eq "$n" ] &&
        [ "$(grep -c '<failure ' "$tmp/o-junit.xml")" -eq \
          "$(jq '[.chapters[].tests[] | select(.status == "fail")] | length' "$tmp/o.json")" ] ||
        { echo "JUnit XML does not match"; cat "$tmp/o-junit.xml"; return 1; }
}
check "grader: Gradescope and JUnit outputs list the same results as --json" t_outputs
