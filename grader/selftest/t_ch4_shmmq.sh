# Grader self-tests of ex4.2 (shmmq, the queue): a queue with one of the classic faults (the
# pitfalls of the tutorial's listings and the chapter guide's requirements) loses the points of the test aimed at that fault. Each
# faulty submission is a copy of the reference with one function patched (anchored on its
# name): relaxed index stores, a wake-up per message, overwriting when full, wiping the
# segment on attach, taking a message larger than max_payload, dropping a message the
# reader's buffer can not hold.
# Each grading builds chapter 4 (about 7 s of CPU), so there are four: overwriting when full,
# wiping on attach and dropping a too-large message touch different functions and tests and
# share one submission. The gradings start when this file is read, two at a time in the
# background; each check waits for the one it reads.
# Chapter 4 is graded only once it has points data; until then these checks are not run.

t_ch4_shmmq_patch_relaxed() {
    for fn in shmmq_enqueue shmmq_peek shmmq_consume; do
        patch_function "$1/chapter4/shmmq.c" $fn \
            's/memory_order_release/memory_order_relaxed/g; s/memory_order_acquire/memory_order_relaxed/g' ||
            return 1
    done
}

t_ch4_shmmq_patch_notify() {
    patch_function "$1/chapter4/shmmq.c" shmmq_enqueue \
        's/if (atomic_load_explicit(&seg->sleeping, memory_order_relaxed) &&/if (1 || /'
}

t_ch4_shmmq_patch_overwrite() {
    patch_function "$1/chapter4/shmmq.c" shmmq_enqueue \
        's/if (used > q->capacity || need > q->capacity - used) {/if (0) { \/* FAULT *\//'
}

t_ch4_shmmq_patch_wipe() {
    patch_function "$1/chapter4/shmmq.c" shmmq_open \
        's/    if (role == SHMMQ_PRODUCER) {/    if (!created) { atomic_store(\&seg->head, 0); atomic_store(\&seg->tail, 0); } \/* FAULT *\/\n&/'
}

t_ch4_shmmq_patch_oversize() {
    patch_function "$1/chapter4/shmmq.c" shmmq_enqueue \
        's/if (len > q->max_payload) {/if (len > q->capacity - 24) {/'
}

t_ch4_shmmq_patch_drop() {
    patch_function "$1/chapter4/shmmq.c" shmmq_dequeue \
        's/errno = EMSGSIZE;/shmmq_consume(q); errno = EMSGSIZE;/'
}

# t_ch4_shmmq_grade NAME FILTER FAULT...: $tmp/ch4q-NAME, patched with each FAULT (faults that
# touch different functions and tests), graded (FILTER): fault_grade in lib.sh.
t_ch4_shmmq_grade() {
    n=$1
    filter=$2
    shift 2
    fault_grade "$tmp/ch4q-$n" 4 "$filter" $(for f in "$@"; do echo "t_ch4_shmmq_patch_$f"; done)
}

t_ch4_shmmq_wait() { fault_wait "$tmp/ch4q-$1"; }

t_ch4_shmmq_relaxed() {
    t_ch4_shmmq_wait relaxed || return 1
    expect_test "$tmp/ch4q-relaxed/r.json" shmmq_tsan_two_threads fail "ThreadSanitizer saw a data race"
}

t_ch4_shmmq_notify() {
    t_ch4_shmmq_wait notify || return 1
    expect_test "$tmp/ch4q-notify/r.json" shmmq_no_notify_while_awake fail "wake-ups" &&
        expect_test "$tmp/ch4q-notify/r.json" shmmq_notify_once_per_sleep fail
}

t_ch4_shmmq_overwrite() {
    t_ch4_shmmq_wait kept || return 1
    expect_test "$tmp/ch4q-kept/r.json" shmmq_full_eagain_keeps_messages fail "without EAGAIN"
}

t_ch4_shmmq_wipe() {
    t_ch4_shmmq_wait kept || return 1
    expect_test "$tmp/ch4q-kept/r.json" shmmq_attach_keeps_messages fail "must not wipe"
}

t_ch4_shmmq_oversize() {
    t_ch4_shmmq_wait oversize || return 1
    expect_test "$tmp/ch4q-oversize/r.json" shmmq_oversized_emsgsize fail "expected EMSGSIZE"
}

t_ch4_shmmq_drop() {
    t_ch4_shmmq_wait kept || return 1
    expect_test "$tmp/ch4q-kept/r.json" shmmq_small_buffer_keeps_message fail "100-byte buffer"
}

if [ -f grader/chapters/chapter4.points ]; then
    # the driver first, once: two gradings must not both rebuild it
    SAN= make -s --no-print-directory grader-ready >/dev/null 2>&1
    (t_ch4_shmmq_grade relaxed shmmq_tsan relaxed
        t_ch4_shmmq_grade oversize shmmq_oversized oversize) >/dev/null 2>&1 &
    (t_ch4_shmmq_grade notify notify notify
        t_ch4_shmmq_grade kept keeps_message overwrite wipe drop) >/dev/null 2>&1 &
    check "grader: ch4 relaxed index stores lose the TSan test" t_ch4_shmmq_relaxed
    check "grader: ch4 a wake-up per message loses the notify tests" t_ch4_shmmq_notify
    check "grader: ch4 overwrite when full loses the full-queue test" t_ch4_shmmq_overwrite
    check "grader: ch4 wipe on attach loses the attach test" t_ch4_shmmq_wipe
    check "grader: ch4 taking an oversized message loses the EMSGSIZE test" t_ch4_shmmq_oversize
    check "grader: ch4 dropping a too-large message loses the buffer test" t_ch4_shmmq_drop
    wait
fi
