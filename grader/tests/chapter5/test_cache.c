/*
 * test_cache.c: unit tests of ex5.2's multi-hash (cache.c), everything in the test's process:
 * the primes of the rows against the test's own sieve; insert, lookup and remove; never a
 * second copy of a key, also when the probe passes a slot freed by a remove; a full probe
 * refused without overwriting; statistics against the test's own model of where each key
 * goes; what an attacher refuses; creation and removal of the segment.
 *
 * Keys that collide are built from the primes: k and k + p_0 share their slot of row 0, and
 * k + p_0 * p_1 shares rows 0 and 1 with k. (The two-process tests are in
 * test_cache_procs.c.)
 */
#include "gt.h"
#include "test_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#define VSIZE 32u /* the tests' value size, unless said otherwise */
#define SIEVE_MAX 100000u

/* ---- the primes ------------------------------------------------------------------------------ */

static unsigned char composite[SIEVE_MAX + 1]; /* the test's sieve: 1 for 0, 1 and composites */

static void sieve(void)
{
    composite[0] = composite[1] = 1;
    for (uint32_t i = 2; i * i <= SIEVE_MAX; i++)
        if (!composite[i])
            for (uint32_t j = i * i; j <= SIEVE_MAX; j += i)
                composite[j] = 1;
}

/* The test's own answer above the sieve: trial division by every number up to the root. */
static int prime_by_division(uint64_t n)
{
    if (n < 2)
        return 0;
    for (uint64_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

static int is_prime_here(uint32_t n)
{
    return n <= SIEVE_MAX ? !composite[n] : prime_by_division(n);
}

/* The expected primes for (row_len, rows) into want; the number found (< rows: too few). */
static uint32_t expected_primes(uint32_t row_len, uint32_t rows, uint32_t *want)
{
    uint32_t found = 0;
    for (uint64_t n = row_len; n >= 2 && found < rows; n--)
        if (is_prime_here((uint32_t)n))
            want[found++] = (uint32_t)n;
    return found;
}

static void expect_primes(uint32_t row_len, uint32_t rows)
{
    uint32_t want[CACHE_MAX_ROWS], got[CACHE_MAX_ROWS];
    uint32_t n = expected_primes(row_len, rows, want);
    memset(got, 0, sizeof got);
    errno = 0;
    int rc = cache_primes(row_len, rows, got);
    int err = errno;
    if (n < rows) {
        if (rc == 0)
            gt_fail("cache_primes(row_len %u, rows %u) returned 0 with primes %u, ..., %u; there "
                    "are only %u primes up to %u (1 is not one), so it must fail with EINVAL",
                    row_len, rows, got[0], got[rows - 1], n, row_len);
        tc_expect_errno(rc, err, EINVAL, "cache_primes", "too few primes");
        return;
    }
    if (rc != 0) {
        errno = err;
        gt_fail_if_not_implemented("cache_primes");
        gt_fail("cache_primes(row_len %u, rows %u) returned %d (%s); expected 0 and %u, ..., %u",
                row_len, rows, rc, strerror(err), want[0], want[rows - 1]);
    }
    for (uint32_t i = 0; i < rows; i++)
        if (got[i] != want[i])
            gt_fail("cache_primes(row_len %u, rows %u): row %u's prime is %u; expected %u (the "
                    "%u largest distinct primes <= %u, decreasing)%s",
                    row_len, rows, i, got[i], want[i], rows, row_len,
                    is_prime_here(got[i]) ? "" : ": it is not a prime");
}

GT_TEST(cache_primes_largest_distinct, 60)
{
    sieve();
    for (uint32_t len = 2; len <= 300; len++)
        for (uint32_t rows = 1; rows <= 8; rows++)
            if (expected_primes(len, rows, (uint32_t[CACHE_MAX_ROWS]){0}) == rows)
                expect_primes(len, rows);
    static const uint32_t big[] = {1009,    4096,     65536,       99991,      100000,
                                   1048576, 16777216, 2147483647u, 4294967295u};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        expect_primes(big[i], 4);
    expect_primes(1000, CACHE_MAX_ROWS);
    /* what cache_create puts in the segment */
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 5, 1000, VSIZE);
    struct cache_stats st;
    cache_stats(c, &st);
    uint32_t want[CACHE_MAX_ROWS];
    expected_primes(1000, 5, want);
    for (uint32_t i = 0; i < 5; i++)
        if (st.prime[i] != want[i])
            gt_fail("cache_create(rows 5, row_len 1000): row %u has %u slots; expected %u", i,
                    st.prime[i], want[i]);
    cache_close(c);
    cache_destroy(key);
}

GT_TEST(cache_primes_too_few_einval, 20)
{
    sieve();
    uint32_t p[CACHE_MAX_ROWS + 1];
    expect_primes(10, 5); /* 7 5 3 2: four */
    expect_primes(2, 2);
    expect_primes(1, 1);
    expect_primes(0, 1);
    expect_primes(30, 11); /* ten primes up to 30 */
    static const uint32_t bad_rows[] = {0, CACHE_MAX_ROWS + 1};
    for (int i = 0; i < 2; i++) {
        errno = 0;
        int rc = cache_primes(1000, bad_rows[i], p);
        char when[64];
        snprintf(when, sizeof when, "cache_primes(row_len 1000, rows %u)", bad_rows[i]);
        tc_expect_errno(rc, errno, EINVAL, "cache_primes", when);
    }
    key_t key = gt_ipc_key(0);
    errno = 0;
    struct cache *c = cache_create(key, 5, 10, VSIZE);
    int err = errno;
    if (c)
        gt_fail("cache_create(rows 5, row_len 10) made a multi-hash; there are only 4 primes up "
                "to 10: expected NULL with EINVAL");
    tc_expect_errno(-1, err, EINVAL, "cache_create", "rows 5, row_len 10");
    tc_expect_gone(key, "a refused cache_create");
}

/* ---- insert, lookup, remove ------------------------------------------------------------------ */

GT_TEST(cache_insert_lookup_remove, 30)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 4, 400, VSIZE);
    uint64_t keys[300], state = 11;
    for (int i = 0; i < 300; i++) {
        keys[i] = tc_rand(&state);
        tc_insert_ok(c, keys[i], 1, VSIZE, "filling the table");
    }
    for (int i = 0; i < 300; i++)
        tc_expect_value(c, keys[i], 1, VSIZE, "after 300 inserts");
    for (int i = 0; i < 50; i++)
        tc_expect_absent(c, tc_rand(&state), "a key never inserted");
    if (cache_lookup(c, keys[7], NULL, NULL) != 0)
        gt_fail("cache_lookup(key 0x%llx, value NULL) (only: is it there?): %s",
                (unsigned long long)keys[7], strerror(errno));
    for (int i = 0; i < 300; i += 2) {
        errno = 0;
        if (cache_remove(c, keys[i]) != 0) {
            int err = errno;
            gt_fail_if_not_implemented("cache_remove");
            gt_fail("cache_remove(key 0x%llx) of a key in the table: %s",
                    (unsigned long long)keys[i], strerror(err));
        }
    }
    for (int i = 0; i < 300; i++) {
        if (i % 2 == 0)
            tc_expect_absent(c, keys[i], "after cache_remove of that key");
        else
            tc_expect_value(c, keys[i], 1, VSIZE, "after removing every other key");
    }
    errno = 0;
    int rc = cache_remove(c, keys[0]);
    tc_expect_errno(rc, errno, ENOENT, "cache_remove", "a key removed already");
    for (int i = 0; i < 300; i += 2)
        tc_insert_ok(c, keys[i], 2, VSIZE, "inserting the removed keys again");
    for (int i = 0; i < 300; i++)
        tc_expect_value(c, keys[i], i % 2 ? 1 : 2, VSIZE, "after inserting them again");
    cache_close(c);
    cache_destroy(key);
}

GT_TEST(cache_insert_present_key_eexist, 20)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 4, 100, VSIZE);
    unsigned char v[VSIZE];
    for (uint64_t k = 1; k <= 40; k++)
        tc_insert_ok(c, k * 1000003, 1, VSIZE, "filling the table");
    for (uint64_t k = 1; k <= 40; k++) {
        tc_value(v, VSIZE, k * 1000003, 2);
        errno = 0;
        int rc = cache_insert(c, k * 1000003, v);
        char when[80];
        snprintf(when, sizeof when, "a second insert of key 0x%llx",
                 (unsigned long long)(k * 1000003));
        tc_expect_errno(rc, errno, EEXIST, "cache_insert", when);
        tc_expect_value(c, k * 1000003, 1, VSIZE, "after a refused second insert (EEXIST)");
    }
    struct cache_stats st;
    cache_stats(c, &st);
    if (st.entries != 40)
        gt_fail("40 keys inserted, 40 refused with EEXIST: cache_stats says %llu entries",
                (unsigned long long)st.entries);
    cache_close(c);
    cache_destroy(key);
}

/* Remove `k`, failing the test unless that works. */
static void remove_ok(struct cache *c, uint64_t k, const char *when)
{
    errno = 0;
    if (cache_remove(c, k) != 0) {
        int err = errno;
        gt_fail_if_not_implemented("cache_remove");
        gt_fail("%s: cache_remove(key %llu): %s", when, (unsigned long long)k, strerror(err));
    }
}

/* Count the records of key k that cache_foreach lists. */
struct occurrences {
    uint64_t key;
    int seen;
};

static int count_key(uint64_t k, const void *value, void *arg)
{
    struct occurrences *o = arg;
    (void)value;
    o->seen += k == o->key;
    return 0;
}

static void expect_once(const struct cache *c, uint64_t k, const char *when)
{
    struct occurrences o = {k, 0};
    if (cache_foreach(c, count_key, &o) != 0)
        gt_fail("cache_foreach: %s", strerror(errno));
    if (o.seen != 1)
        gt_fail("%s: cache_foreach lists key %llu %d times; a key is in the table once", when,
                (unsigned long long)k, o.seen);
}

GT_TEST(cache_no_duplicate_after_remove, 20)
{
    /* rows 97, 89, 83: a, b and d share row 0's slot 5; b and d share row 1's slot 5 too */
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 3, 100, VSIZE);
    const uint64_t a = 5, b = 5 + 97 * 89, d = 5 + 2 * 97 * 89, e = 5 + 97;
    tc_insert_ok(c, a, 1, VSIZE, "a = 5 (row 0)");
    tc_insert_ok(c, b, 1, VSIZE, "b = 5 + 97*89 (row 0 taken by a: row 1)");
    tc_insert_ok(c, d, 1, VSIZE, "d = 5 + 2*97*89 (rows 0 and 1 taken: row 2)");
    remove_ok(c, a, "removing a (row 0)");
    unsigned char v[VSIZE];
    tc_value(v, VSIZE, d, 2);
    errno = 0;
    int rc = cache_insert(c, d, v);
    tc_expect_errno(rc, errno, EEXIST, "cache_insert",
                    "inserting d again after removing a (row 0's slot of d is free now, but d is "
                    "in row 2: a second copy)");
    expect_once(c, d, "after a refused insert of d");
    remove_ok(c, b, "removing b (row 1)");
    errno = 0;
    rc = cache_insert(c, d, v);
    tc_expect_errno(rc, errno, EEXIST, "cache_insert",
                    "inserting d again after removing a and b (its slots in rows 0 and 1 are free "
                    "now, d is in row 2)");
    expect_once(c, d, "after a second refused insert of d");
    tc_expect_value(c, d, 1, VSIZE, "after the refused inserts");
    /* the freed slots are used again, and every key stays findable */
    tc_insert_ok(c, e, 1, VSIZE, "e = 5 + 97 (row 0's slot freed by a)");
    tc_insert_ok(c, b, 3, VSIZE, "b again (row 1's slot it left)");
    tc_expect_value(c, d, 1, VSIZE, "d, with rows 0 and 1 taken again");
    tc_expect_value(c, e, 1, VSIZE, "e");
    tc_expect_value(c, b, 3, VSIZE, "b, inserted again");
    remove_ok(c, d, "removing d (row 2)");
    tc_expect_absent(c, d, "after removing d");
    tc_insert_ok(c, d, 4, VSIZE, "d again");
    expect_once(c, d, "after d was removed and inserted again");
    tc_expect_value(c, d, 4, VSIZE, "d, inserted again");
    cache_close(c);
    cache_destroy(key);
}

GT_TEST(cache_full_probe_enospc_keeps_records, 20)
{
    /* rows 97, 89, 83: keys 5 + j * 97*89*83 share their slot in every row */
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 3, 100, VSIZE);
    const uint64_t step = 97u * 89u * 83u;
    for (uint64_t j = 0; j < 3; j++)
        tc_insert_ok(c, 5 + j * step, 1, VSIZE, "three keys with the same slot in each row");
    for (int other = 0; other < 50; other++)
        tc_insert_ok(c, 1000 + (uint64_t)other * 7, 1, VSIZE, "other keys");
    unsigned char v[VSIZE];
    for (uint64_t j = 3; j < 6; j++) {
        tc_value(v, VSIZE, 5 + j * step, 1);
        errno = 0;
        int rc = cache_insert(c, 5 + j * step, v);
        tc_expect_errno(rc, errno, ENOSPC, "cache_insert",
                        "a fourth key whose three slots hold the other three (the table has room "
                        "elsewhere, but not in this key's probe)");
    }
    for (uint64_t j = 0; j < 3; j++)
        tc_expect_value(c, 5 + j * step, 1, VSIZE, "after the refused inserts (ENOSPC)");
    for (uint64_t j = 3; j < 6; j++)
        tc_expect_absent(c, 5 + j * step, "a key refused with ENOSPC");
    for (int other = 0; other < 50; other++)
        tc_expect_value(c, 1000 + (uint64_t)other * 7, 1, VSIZE, "the other keys");
    struct cache_stats st;
    cache_stats(c, &st);
    if (st.entries != 53)
        gt_fail("53 keys inserted and 3 refused: cache_stats says %llu entries",
                (unsigned long long)st.entries);
    int created = -1;
    errno = 0;
    void *p = cache_get_or_claim(c, 5 + 3 * step, &created);
    int err = errno;
    if (p)
        gt_fail("cache_get_or_claim of a fourth key of a full probe returned a slot (created %d)",
                created);
    tc_expect_errno(-1, err, ENOSPC, "cache_get_or_claim", "a key whose probe is full");
    cache_close(c);
    cache_destroy(key);
}

GT_TEST(cache_reserved_keys_einval, 20)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 2, 50, VSIZE);
    tc_insert_ok(c, 12, 1, VSIZE, "key 12");
    static const uint64_t reserved[] = {CACHE_KEY_EMPTY, CACHE_KEY_REMOVED};
    unsigned char v[VSIZE] = {0};
    for (int i = 0; i < 2; i++) {
        char when[64];
        snprintf(when, sizeof when, "key 0x%llx (reserved)", (unsigned long long)reserved[i]);
        errno = 0;
        int rc = cache_insert(c, reserved[i], v);
        tc_expect_errno(rc, errno, EINVAL, "cache_insert", when);
        errno = 0;
        rc = cache_lookup(c, reserved[i], v, NULL);
        tc_expect_errno(rc, errno, EINVAL, "cache_lookup", when);
        errno = 0;
        rc = cache_remove(c, reserved[i]);
        tc_expect_errno(rc, errno, EINVAL, "cache_remove", when);
    }
    tc_expect_value(c, 12, 1, VSIZE, "after the refused calls");
    cache_close(c);
    cache_destroy(key);
}

GT_TEST(cache_get_or_claim_and_update, 20)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 4, 100, VSIZE);
    tc_insert_ok(c, 77, 1, VSIZE, "key 77");
    int created = -1;
    errno = 0;
    unsigned char *p = cache_get_or_claim(c, 78, &created);
    if (!p) {
        int err = errno;
        gt_fail_if_not_implemented("cache_get_or_claim");
        gt_fail("cache_get_or_claim(key 78) of a new key: %s", strerror(err));
    }
    if (created != 1)
        gt_fail("cache_get_or_claim(key 78) of a new key set *created to %d, not 1", created);
    for (unsigned i = 0; i < VSIZE; i++)
        if (p[i] != 0)
            gt_fail(
                "the value cache_get_or_claim claimed for a new key has byte %u = 0x%02x, not 0", i,
                p[i]);
    unsigned char *again = cache_get_or_claim(c, 78, &created);
    if (again != p || created != 0)
        gt_fail("a second cache_get_or_claim(key 78) returned %p (created %d); the first gave %p "
                "(expected the same, created 0)",
                (void *)again, created, (void *)p);
    unsigned char v[VSIZE];
    tc_value(v, VSIZE, 78, 5);
    if (cache_update(c, 78, v) != 0)
        gt_fail("cache_update(key 78) of a claimed key: %s", strerror(errno));
    tc_expect_value(c, 78, 5, VSIZE, "after cache_update");
    if (memcmp(p, v, VSIZE) != 0)
        gt_fail("after cache_update(key 78) the pointer cache_get_or_claim gave does not show the "
                "new value");
    unsigned char *old = cache_get_or_claim(c, 77, &created);
    if (!old || created != 0)
        gt_fail("cache_get_or_claim(key 77) of an inserted key returned %p, created %d",
                (void *)old, created);
    tc_value(v, VSIZE, 77, 1);
    if (memcmp(old, v, VSIZE) != 0)
        gt_fail("cache_get_or_claim(key 77) returned a pointer to another value than key 77's");
    errno = 0;
    int rc = cache_update(c, 79, v);
    tc_expect_errno(rc, errno, ENOENT, "cache_update", "a key not in the table");
    cache_close(c);
    cache_destroy(key);
}

/* ---- statistics ------------------------------------------------------------------------------ */

/* The test's model of the table: where each key is, by the rules of cache.h. */
#define M_ROWS 4u
#define M_LEN 500u
struct model {
    uint32_t prime[M_ROWS];
    uint64_t slot[M_ROWS][M_LEN]; /* 0 empty, UINT64_MAX removed, else the key */
    uint64_t entries, tombstones, full, inserts, removes;
};

static int model_insert(struct model *m, uint64_t k)
{
    int free_row = -1;
    for (uint32_t i = 0; i < M_ROWS; i++) {
        uint64_t s = m->slot[i][k % m->prime[i]];
        if (s == k)
            return -1;
        if ((s == 0 || s == UINT64_MAX) && free_row < 0)
            free_row = (int)i;
        if (s == 0)
            break;
    }
    if (free_row < 0) {
        m->full++;
        return -1;
    }
    uint64_t *s = &m->slot[free_row][k % m->prime[free_row]];
    m->tombstones -= *s == UINT64_MAX;
    *s = k;
    m->entries++;
    m->inserts++;
    return 0;
}

static void model_remove(struct model *m, uint64_t k)
{
    for (uint32_t i = 0; i < M_ROWS; i++) {
        uint64_t *s = &m->slot[i][k % m->prime[i]];
        if (*s == k) {
            *s = i == M_ROWS - 1 ? 0 : UINT64_MAX;
            m->tombstones += i < M_ROWS - 1;
            m->entries--;
            m->removes++;
            return;
        }
    }
}

static void expect_stats(const struct cache *c, const struct model *m, const char *when)
{
    struct cache_stats st;
    cache_stats(c, &st);
    uint64_t slots = 0;
    for (uint32_t i = 0; i < M_ROWS; i++)
        slots += m->prime[i];
    if (st.rows != M_ROWS || st.row_len != M_LEN || st.value_size != VSIZE || st.slots != slots)
        gt_fail("%s: cache_stats says rows %u, row_len %u, value_size %u, slots %llu; expected "
                "%u, %u, %u, %llu",
                when, st.rows, st.row_len, st.value_size, (unsigned long long)st.slots, M_ROWS,
                M_LEN, VSIZE, (unsigned long long)slots);
    if (st.entries != m->entries)
        gt_fail("%s: cache_stats says %llu entries; %llu records are in the table", when,
                (unsigned long long)st.entries, (unsigned long long)m->entries);
    double load = (double)m->entries / (double)slots;
    if (st.load < load - 1e-9 || st.load > load + 1e-9)
        gt_fail("%s: cache_stats says load %.6f; entries / slots = %llu / %llu = %.6f", when,
                st.load, (unsigned long long)m->entries, (unsigned long long)slots, load);
    for (uint32_t i = 0; i < M_ROWS; i++) {
        uint64_t fill = 0;
        for (uint32_t j = 0; j < m->prime[i]; j++)
            fill += m->slot[i][j] != 0 && m->slot[i][j] != UINT64_MAX;
        if (st.fill[i] != fill)
            gt_fail("%s: cache_stats says row %u holds %llu records; by the rules of cache.h (the "
                    "first free slot of the probe) it holds %llu",
                    when, i, (unsigned long long)st.fill[i], (unsigned long long)fill);
    }
    if (st.full != m->full || st.inserts != m->inserts || st.removes != m->removes ||
        st.tombstones != m->tombstones)
        gt_fail("%s: cache_stats says full %llu, inserts %llu, removes %llu, tombstones %llu; "
                "expected %llu, %llu, %llu, %llu",
                when, (unsigned long long)st.full, (unsigned long long)st.inserts,
                (unsigned long long)st.removes, (unsigned long long)st.tombstones,
                (unsigned long long)m->full, (unsigned long long)m->inserts,
                (unsigned long long)m->removes, (unsigned long long)m->tombstones);
}

GT_TEST(cache_stats_fill_per_row, 30)
{
    static struct model m;
    memset(&m, 0, sizeof m);
    if (cache_primes(M_LEN, M_ROWS, m.prime) != 0) {
        gt_fail_if_not_implemented("cache_primes");
        gt_fail("cache_primes(%u, %u): %s", M_LEN, M_ROWS, strerror(errno));
    }
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, M_ROWS, M_LEN, VSIZE);
    expect_stats(c, &m, "a new table");
    static uint64_t keys[1900];
    static int in[1900];
    uint64_t state = 5;
    unsigned char v[VSIZE];
    for (int i = 0; i < 1900; i++) {
        keys[i] = tc_rand(&state);
        tc_value(v, VSIZE, keys[i], 1);
        int want = model_insert(&m, keys[i]);
        errno = 0;
        int rc = cache_insert(c, keys[i], v);
        if (rc != want) {
            int err = errno;
            gt_fail_if_not_implemented("cache_insert");
            gt_fail("cache_insert of the %d-th random key returned %d (%s); by the rules of "
                    "cache.h it should %s",
                    i + 1, rc, rc ? strerror(err) : "added",
                    want ? "fail with ENOSPC (its four slots are taken)" : "succeed");
        }
        in[i] = rc == 0;
    }
    expect_stats(c, &m, "after 1900 inserts of random keys into 1,964 slots");
    for (int i = 0; i < 1900; i += 3)
        if (in[i]) {
            model_remove(&m, keys[i]);
            remove_ok(c, keys[i], "removing every third key");
        }
    expect_stats(c, &m, "after removing every third key");
    for (int i = 0; i < 400; i++) {
        uint64_t k = tc_rand(&state);
        tc_value(v, VSIZE, k, 1);
        if (cache_insert(c, k, v) != model_insert(&m, k))
            gt_fail("cache_insert of a new key after the removes: the table took %s",
                    "another decision than the rules of cache.h");
    }
    expect_stats(c, &m, "after 400 more inserts (reusing freed slots)");
    cache_close(c);
    cache_destroy(key);
}

struct walk {
    uint64_t keys[200];
    int seen[200];
    int others;
    int bad_value;
};

static int walk_one(uint64_t k, const void *value, void *arg)
{
    struct walk *w = arg;
    char why[200];
    for (int i = 0; i < 200; i++)
        if (w->keys[i] == k) {
            w->seen[i]++;
            if (tc_value_check(value, VSIZE, k, why, sizeof why) != 0)
                w->bad_value++;
            return 0;
        }
    w->others++;
    return 0;
}

static int stop_at_third(uint64_t k, const void *value, void *arg)
{
    (void)k, (void)value;
    return ++*(int *)arg == 3 ? 42 : 0;
}

GT_TEST(cache_foreach_each_record_once, 20)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 6, 60, VSIZE);
    static struct walk w;
    memset(&w, 0, sizeof w);
    uint64_t state = 9;
    for (int i = 0; i < 200; i++) {
        w.keys[i] = tc_rand(&state);
        tc_insert_ok(c, w.keys[i], 1, VSIZE, "filling");
    }
    for (int i = 0; i < 200; i += 4)
        remove_ok(c, w.keys[i], "removing every fourth key");
    int rc = cache_foreach(c, walk_one, &w);
    if (rc != 0) {
        gt_fail_if_not_implemented("cache_foreach");
        gt_fail("cache_foreach returned %d: %s", rc, strerror(errno));
    }
    for (int i = 0; i < 200; i++)
        if (w.seen[i] != (i % 4 ? 1 : 0))
            gt_fail("cache_foreach listed key 0x%llx %d times; expected %d (%s)",
                    (unsigned long long)w.keys[i], w.seen[i], i % 4 ? 1 : 0,
                    i % 4 ? "in the table" : "removed");
    if (w.others || w.bad_value)
        gt_fail("cache_foreach listed %d keys never inserted and %d wrong values", w.others,
                w.bad_value);
    int calls = 0;
    rc = cache_foreach(c, stop_at_third, &calls);
    if (rc != 42 || calls != 3)
        gt_fail("a cache_foreach whose function returns 42 at its third call returned %d after "
                "%d calls; expected 42 after 3",
                rc, calls);
    cache_close(c);
    cache_destroy(key);
}

/* ---- the segment ----------------------------------------------------------------------------- */

/* Call cache_attach and fail unless it refuses with want; the segment must be unchanged. */
static void expect_attach_refused(key_t key, int want, const char *what)
{
    struct cache_segment *raw = tc_raw(key);
    size_t size = raw->hdr.size;
    unsigned char *before = malloc(size);
    if (!before)
        gt_fail("malloc(%zu)", size);
    memcpy(before, raw, size);
    errno = 0;
    struct cache *c = cache_attach(key, 0);
    int err = errno;
    if (c) {
        cache_close(c);
        gt_fail("cache_attach(key 0x%x) attached a segment with %s; expected NULL with %s",
                (unsigned)key, what, strerror(want));
    }
    tc_expect_errno(-1, err, want, "cache_attach", what);
    for (size_t i = 0; i < size; i++)
        if (((unsigned char *)raw)[i] != before[i])
            gt_fail("cache_attach wrote to the segment it refused (%s): byte %zu was 0x%02x, now "
                    "0x%02x (an attach must never write)",
                    what, i, before[i], ((unsigned char *)raw)[i]);
    free(before);
    shmdt(raw);
}

GT_TEST(cache_attach_refuses_bad_geometry, 30)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 4, 100, VSIZE); /* rows 97 89 83 79 */
    tc_insert_ok(c, 31, 1, VSIZE, "key 31");
    struct cache *ok = tc_attach(key, 0);
    cache_close(ok);
    struct cache_segment *seg = tc_raw(key);
    struct cache_segment keep = *seg;

    seg->value_size = 2 * VSIZE;
    expect_attach_refused(key, EINVAL, "value_size doubled (slot_size left as it was)");
    seg->slot_size = (uint32_t)CACHE_SLOT_SIZE(2 * VSIZE);
    expect_attach_refused(key, EINVAL,
                          "value_size and slot_size doubled (rows that end beyond the segment)");
    *seg = keep;
    seg->prime[0] = 101;
    expect_attach_refused(key, EINVAL,
                          "row 0's prime 101 (above row_len 100, rows beyond the end)");
    seg->prime[0] = 91;
    expect_attach_refused(key, EINVAL, "row 0's length 91 (= 7 x 13, not a prime)");
    *seg = keep;
    atomic_store(&seg->rows, 5);
    expect_attach_refused(key, EINVAL, "rows 5 (the segment holds 4 rows)");
    atomic_store(&seg->rows, CACHE_MAX_ROWS + 1);
    expect_attach_refused(key, EINVAL, "rows above CACHE_MAX_ROWS");
    atomic_store(&seg->rows, 0);
    expect_attach_refused(key, EAGAIN, "rows 0 (its creator is filling it in)");
    *seg = keep;
    shmdt(seg);
    ok = tc_attach(key, 1);
    tc_expect_value(ok, 31, 1, VSIZE, "attached after the geometry was put back");
    cache_close(ok);
    cache_close(c);
    cache_destroy(key);
}

GT_TEST(cache_attach_refuses_foreign_or_old, 20)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 2, 50, VSIZE);
    struct cache *ok = tc_attach(key, 1);
    cache_close(ok);
    struct cache_segment *seg = tc_raw(key);
    seg->hdr.magic = 0x0badf00d;
    expect_attach_refused(key, EBADMSG, "another program's magic");
    seg->hdr.magic = CACHE_MAGIC;
    seg->hdr.version = CACHE_VERSION + 1;
    expect_attach_refused(key, EPROTO, "another version");
    seg->hdr.version = CACHE_VERSION;
    shmdt(seg);
    cache_close(c);
    cache_destroy(key);
    errno = 0;
    ok = cache_attach(key, 0);
    int err = errno;
    if (ok)
        gt_fail("cache_attach(key 0x%x) with no segment there returned a handle", (unsigned)key);
    tc_expect_errno(-1, err, ENOENT, "cache_attach", "no segment at the key");
}

GT_TEST(cache_create_mode_0600_eexist, 20)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 3, 64, VSIZE);
    struct shmid_ds ds;
    int id = shmget(key, 0, 0);
    if (id == -1 || shmctl(id, IPC_STAT, &ds) == -1)
        gt_fail("shmget/shmctl(IPC_STAT) of the segment cache_create made: %s", strerror(errno));
    if ((ds.shm_perm.mode & 0777) != 0600)
        gt_fail("the segment cache_create made has mode 0%o; expected 0600",
                (unsigned)(ds.shm_perm.mode & 0777));
    tc_insert_ok(c, 99, 1, VSIZE, "key 99");
    errno = 0;
    struct cache *again = cache_create(key, 3, 64, VSIZE);
    int err = errno;
    if (again)
        gt_fail("a second cache_create(key 0x%x) succeeded; expected NULL with EEXIST",
                (unsigned)key);
    tc_expect_errno(-1, err, EEXIST, "cache_create", "a key that is taken");
    tc_expect_value(c, 99, 1, VSIZE, "after the refused second cache_create");
    cache_close(c);
    cache_destroy(key);
}

GT_TEST(cache_destroy_removes_segment, 20)
{
    key_t key = gt_ipc_key(0);
    struct cache *c = tc_create(key, 2, 50, VSIZE);
    cache_close(c);
    if (shmget(key, 0, 0) == -1)
        gt_fail("after cache_close (without cache_destroy) the segment is gone: close must only "
                "detach");
    if (cache_destroy(key) != 0)
        gt_fail("cache_destroy(key 0x%x): %s", (unsigned)key, strerror(errno));
    tc_expect_gone(key, "cache_destroy");
    errno = 0;
    int rc = cache_destroy(key);
    tc_expect_errno(rc, errno, ENOENT, "cache_destroy", "no segment at the key");
}
