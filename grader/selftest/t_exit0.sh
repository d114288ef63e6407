# Grader self-test: a helper that calls exit(0) or _exit(0) must not pass. Check 0.15 in fork
# mode reports such a test as passed; the grader requires the test to reach its end. Exactly
# the tests that call the helper lose their points.
# exit0_case FUNCTION CALL: FUNCTION starts with CALL; its tests are cut short, the others pass.
exit0_case() {
    fn=$1
    sub=$tmp/exit0-$fn
    submission "$sub" 1 &&
        insert_at_start "$sub/chapter1/rio.c" "$fn" "$2" &&
        sed -i '1i #include <stdlib.h>\n#include <unistd.h>' "$sub/chapter1/rio.c" &&
        grade_json "$sub.json" --src "$sub" --ch 1 --test rio_ --no-memcheck || return 1
    short=${fn#rio_}
    cut=$(tests_where "$sub.json" '.status == "fail" and (.reason | test("did not run to its end"))')
    echo "$2 in $fn: cut short: $cut"
    [ -n "$cut" ] &&
        [ -z "$(tests_where "$sub.json" "(.name | test(\"$short\")) and .status == \"pass\"")" ] &&
        [ -z "$(tests_where "$sub.json" "(.name | test(\"$short\") | not) and .status == \"fail\"")" ]
}
t_exit0() {
    exit0_case rio_read_exact '_exit(0);' && exit0_case rio_write_all 'exit(0);'
}
check "grader: exit(0) or _exit(0) in code under test is not a pass" t_exit0
