# Grader self-tests of ex5.1 (mempool, the memory pool): a pool with one of the faults that issue
# 5's "Done means" names loses the points of the test aimed at it, and keeps those of a basic
# test next to it. The faulty submission is a copy of the reference with two functions patched
# (anchored on their names), three faults that touch different tests, so one grading (one
# build) serves all three:
#   - mempool_free accepts a double free (the check of the chunk's state is gone);
#   - mempool_create rounds the chunk size up to 8 bytes, not alignof(max_align_t) = 16: the
#     classic "aligned for a pointer is enough", which hands out misaligned chunks;
#   - mempool_create never tells memcheck about the pool: a use of a freed chunk goes unseen,
#     so the valgrind test must fail (it passes only with the client requests in place).
# Chapter 5 is graded only once it has points data; until then these checks are not run.

t_ch5_pool_faults() {
    d=$tmp/ch5-pool
    submission "$d" 5 &&
        patch_function "$d/chapter5/mempool.c" mempool_free \
            's/if (p->link\[i\] != LIVE)/if (0) \/* FAULT: double free accepted *\//' &&
        patch_function "$d/chapter5/mempool.c" mempool_create \
            's|(chunk_size + ALIGN - 1) / ALIGN \* ALIGN;|(chunk_size + 7) / 8 * 8; /* FAULT */|; s|p->memcheck = under_memcheck();|p->memcheck = 0; /* FAULT */|' &&
        grade_filtered "$d" 5 mempool_ || return 1
    expect_test "$d/r.json" mempool_double_free_ealready_pool_intact fail "EALREADY" &&
        expect_test "$d/r.json" mempool_alloc_distinct_aligned_usable fail "alignof" &&
        expect_test "$d/r.json" mempool_memcheck_sees_use_after_free fail "did not see" &&
        expect_test "$d/r.json" mempool_exhausted_null_enomem pass &&
        expect_test "$d/r.json" mempool_free_then_alloc_reuses pass
}

if [ -f grader/chapters/chapter5.points ]; then
    check "grader: ch5 a double free, misaligned chunks, no memcheck requests lose their tests" \
        t_ch5_pool_faults
fi
