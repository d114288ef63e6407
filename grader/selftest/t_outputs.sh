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

# A program that writes bytes that are not UTF-8 into a failure reason, and a file of the upload
# whose name is not UTF-8 (a zip made on Windows): both still reach JSON, JUnit and Gradescope's
# output (jansson refuses invalid UTF-8 and would drop them), with '?' for each such byte.
t_outputs_not_utf8() {
    d=$tmp/not-utf8
    submission "$d" 1 &&
        insert_at_start "$d/chapter1/echoclient.c" main \
            'fputs("bad \\377\\376 bytes\\033[0m\\n", stderr); return 3; /* awk -v unescapes once */' &&
        printf 'notes' >"$d/chapter1/$(printf 'caf\351.txt')" &&
        grade_json "$d/r.json" --src "$d" --ch 1 --no-memcheck --test echoclient_help \
            --junit "$d/junit.xml" --gradescope "$d/gs.json" >/dev/null || return 1
    jq -e '[.chapters[].tests[] | select(.status == "fail")
        | select(.reason | contains("bad ?? bytes?[0m"))] | length == 1' "$d/r.json" >/dev/null ||
        { echo "the reason is missing or not cleaned:"; cat "$d/r.json"; return 1; }
    grep -q 'bad ?? bytes' "$d/junit.xml" || { echo "JUnit XML lacks the reason"; return 1; }
    jq -e '.chapters[0].upload.ignored | index("caf?.txt")' "$d/r.json" >/dev/null &&
        jq -e '.output | contains("caf?.txt")' "$d/gs.json" >/dev/null &&
        grep -q 'caf?.txt' "$d/junit.xml" ||
        { echo "a file name that is not UTF-8 is missing from an output:"; cat "$d/gs.json"; return 1; }
}
check "grader: a reason or a file name with bytes that are not UTF-8 reaches every output cleaned" t_outputs_not_utf8

# --require-full (what make test grades solutions/ with) fails below full marks in bonus tests
# too: chapter 4's optional WebSocket echo test (ex4.6*, no points of the maximum) on the starter.
t_outputs_require_full_bonus() {
    grader/grade --src . --ch 4 --test wsecho_text_and_binary --no-memcheck --require-full >"$tmp/reqfull.out" 2>&1
    st=$?
    grep -q 'total: 0/0' "$tmp/reqfull.out" ||
        { echo "expected bonus tests only:"; tail -3 "$tmp/reqfull.out"; return 1; }
    [ $st -eq 1 ] || { echo "exit status $st, expected 1"; return 1; }
}
check "grader: --require-full counts the bonus tests" t_outputs_require_full_bonus
