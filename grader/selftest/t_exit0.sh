# Grader self-test: a helper that calls exit(0) or _exit(0) must not pass. Check 0.15 in fork
# mode reports such a test as passed; the grader requires the test to reach its end (a marker
# with a token the code under test never sees), also when the helper forges the marker first.
# Exactly the tests that call the helper lose their points.
# exit0_case FUNCTION CALL: FUNCTION starts with CALL; its tests are cut short, the others pass.
exit0_case() {
    fn=$1
    sub=$tmp/exit0-$fn
    submission "$sub" 1 &&
        insert_at_start "$sub/chapter1/rio.c" "$fn" "$2" &&
        sed -i '1i #include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>' "$sub/chapter1/rio.c" &&
        grade_json "$sub.json" --src "$sub" --ch 1 --test rio_ --no-memcheck || return 1
    short=${fn#rio_}
    cut=$(tests_where "$sub.json" '.status == "fail" and (.reason | test("did not run to its end"))')
    echo "$2 in $fn: cut short: $cut"
    [ -n "$cut" ] &&
        [ -z "$(tests_where "$sub.json" "(.name | test(\"$short\")) and .status == \"pass\"")" ] &&
        [ -z "$(tests_where "$sub.json" "(.name | test(\"$short\") | not) and .status == \"fail\"")" ]
}
# The marker forged: the test's own name written where GT_TEST writes it, then _exit(0). The
# marker also carries a token that the runner took (and removed) before any test code ran.
exit0_forged_marker='{ const char *d = getenv("SVRLAB_TEST_DIR"); char p[4200], n[256]; snprintf(n, sizeof n, "%s", strchr(strrchr(d, 47) + 1, 45) + 1); snprintf(p, sizeof p, "%s/reached-end", d); FILE *f = fopen(p, "w"); if (f) { fprintf(f, "%s%c", n, 10); fclose(f); } _exit(0); }'
t_exit0() {
    exit0_case rio_read_exact '_exit(0);' && exit0_case rio_write_all 'exit(0);' &&
        exit0_case rio_read_exact "$exit0_forged_marker"
}
check "grader: exit(0) or _exit(0) in code under test is not a pass" t_exit0
