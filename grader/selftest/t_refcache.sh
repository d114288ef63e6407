# Grader self-test of the reference build cache (grader/driver/refcache.h): a grading whose
# reference sources are unchanged takes the cached build, and any change to them is a new
# build, never hidden by the cache. On a copy of the committed lab (its own cache), so that
# the checkout's cache is left as it is.

# refcache_entries ROOT: the cached builds of chapter 1 under ROOT.
refcache_entries() {
    ls -d "$1"/build/grader-refcache/ch1-* 2>/dev/null | grep -cv '\.tmp\.'
}

t_refcache() {
    if [ "$(id -u)" != 0 ]; then
        echo "not root: the grader keeps no cache, nothing to test"
        return 0
    fi
    r=$tmp/refcache-lab
    mkdir -p "$r" && git archive HEAD | tar -x -C "$r" || return 1
    g() { build/grader/grade --root "$r" --src "$r/solutions" --ch 1 --test "$1" --no-memcheck -v \
        --json "$tmp/refcache.json" >"$tmp/refcache.out" 2>&1 || { cat "$tmp/refcache.out"; return 1; }; }
    g echoclient_bad_count_exit_2 && [ "$(refcache_entries "$r")" = 1 ] ||
        { echo "expected one cached build after the first grading"; return 1; }
    g echoclient_bad_count_exit_2 && [ "$(refcache_entries "$r")" = 1 ] &&
        grep -q "reference programs: the cached build" "$tmp/refcache.out" ||
        { echo "the second grading of the same reference did not use the cached build"; return 1; }
    # the reference echo server now ends at once (status 3): a test that runs it must see that,
    # whatever the cache holds
    insert_at_start "$r/solutions/chapter1/echosvr_fork.c" main 'if (argc > 0) return 3;' ||
        { echo "could not change the reference"; return 1; }
    g echoclient_size_1_ref_server
    [ "$(refcache_entries "$r")" = 2 ] || { echo "a changed reference was not built again"; return 1; }
    jq -e '[.chapters[].tests[] | select(.kind == "test")] | length > 0 and all(.status == "fail")' \
        "$tmp/refcache.json" >/dev/null ||
        { echo "the changed reference did not show in the grading:"; cat "$tmp/refcache.out"; return 1; }
}

check "grader: the reference build is cached by content, and a changed reference is built again" t_refcache
