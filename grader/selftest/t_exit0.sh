# Grader self-test: a helper that calls _exit(0) must not pass. Check 0.15 in fork mode
# reports such a test as passed; the grader requires the test to reach its end.
t_exit0() {
    submission "$tmp/exit0" 1 &&
        insert_at_start "$tmp/exit0/chapter1/rio.c" rio_read_exact '_exit(0);' &&
        sed -i '1i #include <unistd.h>' "$tmp/exit0/chapter1/rio.c" &&
        grade_json "$tmp/exit0.json" --src "$tmp/exit0" --ch 1 --test rio_ --no-memcheck || return 1
    cut=$(tests_where "$tmp/exit0.json" '.status == "fail" and (.reason | test("did not run to its end"))')
    echo "cut short: $cut"
    # every rio_read_exact test is cut short, and only those fail
    [ -n "$cut" ] &&
        [ -z "$(tests_where "$tmp/exit0.json" '(.name | test("read_exact")) and .status == "pass"')" ] &&
        [ -z "$(tests_where "$tmp/exit0.json" '(.name | test("read_exact") | not) and .status == "fail"')" ]
}
check "grader: _exit(0) in code under test is not a pass" t_exit0
