# Grader self-tests of ex4.3-ex4.4 (the flow table, io_conn and md): a submission with one of
# the classic faults of tutorial section 4.4 loses the points of the test aimed at it, and keeps
# those of the basic echo test. Each faulty submission is a copy of the reference with a
# function patched (anchored on its name): a flow table that ignores the generation, an io_conn
# that never frees the id of a closed connection, an io_conn that drops what a full queue did
# not take.
# Chapter 4 is graded only once it has points data; until then these checks are not run.

# 1. flow_get that looks at the slot only: a late reply reaches whoever has the slot now.
t_ch4_no_generation() {
    d=$tmp/ch4-nogen
    submission "$d" 4 &&
        patch_function "$d/chapter4/flow.c" flow_get \
            's/ || t->e\[slot\].gen != flow_generation(id)) {/) { \/* FAULT: no generation check *\//' &&
        grade_filtered "$d" 4 io || return 1
    expect_test "$d/r.json" iomd_stale_reply_never_reaches_new_client fail "never A" &&
        expect_test "$d/r.json" io_conn_echo_1_byte_to_1_mib pass
}

# 1b. io_conn's forwarding that drops the bytes of a message the full io->md queue refused. The
# test that keeps its points must be one whose queue never fills (a 1 MiB echo may fill it, and
# then this fault rightly loses bytes there too): small messages, closes told to md.
t_ch4_drop_on_full() {
    d=$tmp/ch4-drop
    submission "$d" 4 &&
        patch_function "$d/chapter4/io_conn.c" conn_forward \
            's/            break;$/            evbuffer_drain(in, n); \/* FAULT: dropped *\/\n            full = 0;\n            continue;/' &&
        grade_filtered "$d" 4 io_conn_ || return 1
    expect_test "$d/r.json" io_conn_full_queue_no_drop fail "never drop" &&
        expect_test "$d/r.json" io_conn_tells_md_of_closes pass
}

# 2. The tutorial listing's connection ids that are never freed: io_conn's flow_end skips
# flow_remove, so the id of a closed connection stays live, pointing at freed memory.
t_ch4_id_never_freed() {
    d=$tmp/ch4-noremove
    submission "$d" 4 &&
        patch_function "$d/chapter4/io_conn.c" flow_end \
            's/    if (flow_remove(io->flows, c->id) == -1)$/    if (0) \/* FAULT: the id stays live *\//' &&
        grade_filtered "$d" 4 iomd_ || return 1
    expect_test "$d/r.json" iomd_stale_reply_never_reaches_new_client fail &&
        expect_test "$d/r.json" iomd_pair_many_clients pass
}

if [ -f grader/chapters/chapter4.points ]; then
    check "grader: ch4 a flow table without generations loses the stale-id test" \
        t_ch4_no_generation
    check "grader: ch4 dropping on a full queue loses the no-drop test" t_ch4_drop_on_full
    check "grader: ch4 an id never freed loses the stale-id test" t_ch4_id_never_freed
fi
