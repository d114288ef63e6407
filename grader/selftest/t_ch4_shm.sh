# Grader self-tests of ex4.1 (shared memory): a submission with one of the classic faults of
# tutorial section 4.1 loses the points of the test aimed at it, and keeps those of a basic
# test next to it. Each faulty submission is a copy of the reference with a function or two
# patched (anchored on their names): an attach that wipes the segment, a segment created 0666, a
# connections-open counter never decremented, a viewer that never notices a restarted server.
# Chapter 4 is graded only once it has points data; until then these checks are not run.

# 1. The tutorial's segment, in shm.c: created 0666 (any user may read and overwrite it), and
# wiped by whoever attaches it second. Two faults of one file in one submission (one build
# less): each loses its own test, with its own reason, and the basic test still passes.
t_ch4_wipe_and_0666() {
    d=$tmp/ch4-shm
    submission "$d" 4 &&
        patch_function "$d/chapter4/shm.c" shm_attach \
            's|\(    \)return base;|\1if (!readonly) /* FAULT: the attacher wipes */\n\1    memset((char *)base + SHM_HEADER_SIZE, 0, ds.shm_segsz - SHM_HEADER_SIZE);\n\1return base;|' &&
        patch_function "$d/chapter4/shm.c" shm_create 's/| 0600)/| 0666) \/* FAULT *\//' &&
        grade_filtered "$d" 4 shm_ || return 1
    expect_test "$d/r.json" shm_attach_never_wipes fail "must leave the data" &&
        expect_test "$d/r.json" shm_create_mode_0600 fail "0666" &&
        expect_test "$d/r.json" shm_create_then_attach_sees_header pass
}

# 2. Statistics counters that are never decremented: a close leaves `open` as it was.
t_ch4_open_never_decremented() {
    d=$tmp/ch4-open
    submission "$d" 4 &&
        patch_function "$d/chapter4/echosvr_v4.c" stats_count \
            's|stats_set(&st->open, st->open - 1);|/* FAULT: open never decremented */|' &&
        grade_filtered "$d" 4 echosvr_v4_ || return 1
    expect_test "$d/r.json" echosvr_v4_open_decremented_on_close fail "open=" &&
        expect_test "$d/r.json" echosvr_v4_counts_messages_and_bytes pass
}

# 3. A viewer that keeps the segment it first attached: after a restart it shows the old,
# removed segment for ever.
t_ch4_viewstat_no_restart() {
    d=$tmp/ch4-restart
    submission "$d" 4 &&
        patch_function "$d/chapter4/viewstat.c" view_gone \
            's|    struct shmid_ds ds;|    return 0; /* FAULT: never notices */\n    struct shmid_ds ds;|' &&
        grade_filtered "$d" 4 viewstat_ || return 1
    expect_test "$d/r.json" viewstat_waits_and_picks_up_restarted_server fail "restarted|started again" &&
        expect_test "$d/r.json" viewstat_once_shows_counters pass
}

if [ -f grader/chapters/chapter4.points ]; then
    check "grader: ch4 an attach that wipes, a 0666 segment lose their tests" t_ch4_wipe_and_0666
    check "grader: ch4 open never decremented loses the close test" t_ch4_open_never_decremented
    check "grader: ch4 a viewer blind to restarts loses the restart test" t_ch4_viewstat_no_restart
fi
