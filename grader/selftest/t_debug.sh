# Grader self-test: `grader/grade --debug NAME` builds the chapter and starts the test under gdb,
# stopped at the start of the test's body, with the student's sources: gdb's commands come
# from stdin here, as a student types them.
t_debug() {
    d=$tmp/debug
    submission "$d" 1 &&
        insert_at_start "$d/chapter1/rio.c" rio_read_exact '(void)"svrlab debug marker";' || return 1
    printf 'list rio_read_exact\nbreak rio_read_exact\ncontinue\n' |
        grader/grade --src "$d" --debug rio_read_exact_buffered_data >"$d/out" 2>&1
    grep -q "^Breakpoint 1, rio_read_exact_buffered_data_body" "$d/out" ||
        { echo "the test did not stop at its start:"; tail -20 "$d/out"; return 1; }
    grep -q 'svrlab debug marker' "$d/out" || { echo "the student's source was not listed:"; tail -20 "$d/out"; return 1; }
    grep -q "^Breakpoint 2, rio_read_exact (" "$d/out" && grep -q " at rio.c:[0-9]" "$d/out" ||
        { echo "the student's function was not reached:"; tail -20 "$d/out"; return 1; }
}
check "grader: --debug starts a test under gdb with the student's sources" t_debug
