# Grader self-tests of ex5.2 (cache, the multi-hash): a multi-hash with one of the faults the
# chapter guide's requirements rule out loses the points of the test aimed at that fault. Each faulty
# submission is a copy of the reference with functions patched (anchored on their names): a
# prime search that takes 1 for a prime, one that takes the squares of primes (9, 25, 49) for
# primes, an attach that wipes the rows, an insert that stops at the first freed slot and so
# adds a second copy of a key further down, and a reader that does not look at the sequence
# number again after its copy (torn records).
# Each grading builds chapter 5 (about 5 s), so there are two: the faults that touch different
# functions and tests share one. They start when this file is read, in the background; each
# check waits for the one it reads. The torn-read stress needs two CPUs (with one, a reader is
# rarely stopped in the middle of a copy): with fewer its check only says so.
# Chapter 5 is graded only once it has points data; until then these checks are not run.

t_ch5_cache_patch_one() {
    patch_function "$1/chapter5/cache.c" is_prime 's/if (n < 2)/if (n < 1) \/* FAULT *\//'
}

t_ch5_cache_patch_square() {
    patch_function "$1/chapter5/cache.c" is_prime 's|d <= n / d;|d < n / d; /* FAULT */|'
}

t_ch5_cache_patch_wipe() {
    patch_function "$1/chapter5/cache.c" cache_attach \
        's/    return c;/    if (c \&\& !readonly) \/* FAULT: a second process wipes the rows *\/\n        memset((char *)seg + CACHE_ROWS_OFFSET, 0, seg->hdr.size - CACHE_ROWS_OFFSET);\n&/'
}

t_ch5_cache_patch_dup() {
    patch_function "$1/chapter5/cache.c" writer_find \
        's/if (k == CACHE_KEY_EMPTY)/if (!live(k)) \/* FAULT: stops at a tombstone *\//'
}

t_ch5_cache_patch_torn() {
    patch_function "$1/chapter5/cache.c" slot_read \
        's/if (atomic_load_explicit(&s->seq, memory_order_relaxed) == seq) {/if (1) { \/* FAULT *\//'
}

# t_ch5_cache_grade NAME FAULT...: $tmp/ch5c-NAME, patched with each FAULT, graded (the cache
# tests): fault_grade in lib.sh.
t_ch5_cache_grade() {
    n=$1
    shift
    fault_grade "$tmp/ch5c-$n" 5 cache_ $(for f in "$@"; do echo "t_ch5_cache_patch_$f"; done)
}

t_ch5_cache_wait() { fault_wait "$tmp/ch5c-$1"; }

t_ch5_cache_one() {
    t_ch5_cache_wait a || return 1
    expect_test "$tmp/ch5c-a/r.json" cache_primes_too_few_einval fail "only 4 primes up to 10"
}

t_ch5_cache_square() {
    t_ch5_cache_wait b || return 1
    expect_test "$tmp/ch5c-b/r.json" cache_primes_largest_distinct fail "not a prime"
}

t_ch5_cache_wipe() {
    t_ch5_cache_wait a || return 1
    expect_test "$tmp/ch5c-a/r.json" cache_attach_never_wipes fail "attached read-write"
}

t_ch5_cache_dup() {
    t_ch5_cache_wait b || return 1
    expect_test "$tmp/ch5c-b/r.json" cache_no_duplicate_after_remove fail "a second copy"
}

t_ch5_cache_torn() {
    t_ch5_cache_wait a || return 1
    if [ "$(nproc 2>/dev/null || echo 1)" -lt 2 ]; then
        echo "(one CPU: the torn-read stress can not be expected to catch the fault here)"
        return 0
    fi
    expect_test "$tmp/ch5c-a/r.json" cache_two_process_no_torn_reads fail "torn record"
}

if [ -f grader/chapters/chapter5.points ]; then
    # the driver first, once: two gradings must not both rebuild it
    SAN= make -s --no-print-directory grader-ready >/dev/null 2>&1
    t_ch5_cache_grade a one wipe torn >/dev/null 2>&1 &
    t_ch5_cache_grade b square dup >/dev/null 2>&1 &
    check "grader: ch5 a prime search that takes 1 loses the too-few-primes test" t_ch5_cache_one
    check "grader: ch5 a prime search that takes 9, 25, 49 loses the primes test" t_ch5_cache_square
    check "grader: ch5 wiping on attach loses the attach test" t_ch5_cache_wipe
    check "grader: ch5 a duplicate after a remove loses the duplicate test" t_ch5_cache_dup
    check "grader: ch5 a reader without the sequence check loses the torn-read test" t_ch5_cache_torn
    wait
fi
