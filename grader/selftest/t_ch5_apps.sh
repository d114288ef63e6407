# Grader self-tests of ex5.3 (md's statistics per connection) and ex5.4 (io_conn's contexts
# from the pool): a submission with one of two faults loses the test aimed at it and keeps a
# basic test next to it. The faulty submission is a copy of the reference with two functions
# patched (anchored on their names); the faults touch different programs and tests, so one
# grading (one build) serves both:
#   - connstats.c's mdstats_closed never removes a record: a closed connection stays listed;
#   - connpool.c's connalloc_put never gives a context back to the pool (a no-op): io_conn
#     -c 3 still refuses clients after one of its three left.
# Chapter 5 is graded only once it has points data; until then these checks are not run.

t_ch5_apps_faults() {
    d=$tmp/ch5-apps
    submission "$d" 5 &&
        patch_function "$d/chapter5/connstats.c" mdstats_closed \
            's/if (table != NULL && cache_remove(table, flow) == -1 && errno != ENOENT)/if (0) \/* FAULT: the record stays *\//' &&
        patch_function "$d/chapter5/connpool.c" connalloc_put \
            's/if (ctx != NULL && mempool_free(pool, ctx) == -1)/if (0) \/* FAULT: never given back *\//' &&
        grade_filtered "$d" 5 conn || return 1
    expect_test "$d/r.json" connstats_record_removed_on_close fail "still lists" &&
        expect_test "$d/r.json" connpool_takes_new_client_after_one_left fail "given back" &&
        expect_test "$d/r.json" connstats_counts_messages_and_bytes pass &&
        expect_test "$d/r.json" connpool_refuses_client_beyond_max pass
}

if [ -f grader/chapters/chapter5.points ]; then
    check "grader: ch5 a record never removed, a context never given back lose their tests" \
        t_ch5_apps_faults
fi
