# Grader self-test: a server that leaks memory on every connection keeps the points of its
# tests but loses its "memory clean" points, with valgrind's stack in the reason.
t_leak() {
    submission "$tmp/leak" 1 &&
        insert_at_start "$tmp/leak/chapter1/echosvr_fork.c" hand_off \
            '{ char *volatile leak = malloc(64); leak = NULL; (void)leak; }' &&
        grade_json "$tmp/leak.json" --src "$tmp/leak" --ch 1 --test echosvr_fork || return 1
    jq -r '.chapters[].tests[] | "\(.kind) \(.name) \(.status): \(.reason)"' "$tmp/leak.json"
    # every functional test passes; some memcheck run fails and names the leaking function
    [ -z "$(tests_where "$tmp/leak.json" '.kind == "test" and .status == "fail"')" ] &&
        [ -n "$(tests_where "$tmp/leak.json" '.kind == "memcheck" and .status == "fail"
              and (.reason | test("definitely lost")) and (.reason | test("hand_off"))')" ]
}
check "grader: a leak per connection costs the memcheck points, with its stack" t_leak
