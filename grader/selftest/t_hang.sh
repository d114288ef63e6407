# Grader self-test: a helper that hangs fails on the timeout, the run goes on, and no process
# of it is left behind.
t_hang() {
    submission "$tmp/hang" 1 &&
        insert_at_start "$tmp/hang/chapter1/rio.c" rio_write_all 'for (;;) pause();' &&
        sed -i '1i #include <unistd.h>' "$tmp/hang/chapter1/rio.c" || return 1
    test=$(grep -o 'GT_TEST(rio_write_all[a-z_]*' grader/tests/chapter1/*.c | head -1 | sed 's/.*(//')
    [ -n "$test" ] || { echo "no rio_write_all test found"; return 1; }
    mkdir -p "$tmp/hang/tmp"
    TMPDIR="$tmp/hang/tmp" grade_json "$tmp/hang.json" --src "$tmp/hang" --ch 1 --test "$test" || return 1
    jq -e --arg t "$test" '.chapters[0].tests[] | select(.name == $t and .kind == "test")
        | .status == "fail" and (.reason | test("timed out"))' "$tmp/hang.json" >/dev/null || {
        echo "expected $test to fail on its timeout"; jq . "$tmp/hang.json"; return 1; }
    left=$(ps -eo pid,args | grep -F "$tmp/hang" | grep -v grep)
    [ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
}
check "grader: a hang fails on its timeout and leaves no process" t_hang
