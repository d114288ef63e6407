/*
 * test_cache_util.c: the helpers of the ex5.2 tests (see test_cache.h).
 */
#include "test_cache.h"

#include "gt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

struct cache *tc_create(key_t key, uint32_t rows, uint32_t row_len, uint32_t value_size)
{
    errno = 0;
    struct cache *c = cache_create(key, rows, row_len, value_size);
    if (!c) {
        int err = errno;
        gt_fail_if_not_implemented("cache_create");
        gt_fail("cache_create(key 0x%x, rows %u, row_len %u, value_size %u) returned NULL: %s",
                (unsigned)key, rows, row_len, value_size, strerror(err));
    }
    return c;
}

struct cache *tc_attach(key_t key, int readonly)
{
    errno = 0;
    struct cache *c = cache_attach(key, readonly);
    if (!c) {
        int err = errno;
        gt_fail_if_not_implemented("cache_attach");
        gt_fail("cache_attach(key 0x%x, %s) of a multi-hash cache_create made returned NULL: %s",
                (unsigned)key, readonly ? "read-only" : "read-write", strerror(err));
    }
    return c;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

uint64_t tc_rand(uint64_t *state)
{
    for (;;) {
        uint64_t x = mix(*state += 0x9e3779b97f4a7c15u);
        if (x != 0 && x != UINT64_MAX)
            return x;
    }
}

static uint64_t checksum(const uint64_t *w, size_t n)
{
    uint64_t h = 0x243f6a8885a308d3u;
    for (size_t i = 0; i < n; i++)
        h = mix(h ^ w[i]);
    return h;
}

void tc_value(void *buf, size_t size, uint64_t key, uint64_t version)
{
    uint64_t w[CACHE_MAX_VALUE / 8];
    size_t n = size / 8;
    w[0] = key;
    w[1] = version;
    for (size_t i = 2; i + 1 < n; i++)
        w[i] = mix(key ^ mix(version + i));
    w[n - 1] = checksum(w, n - 1);
    memcpy(buf, w, n * 8);
}

uint64_t tc_value_version(const void *buf)
{
    uint64_t v;
    memcpy(&v, (const unsigned char *)buf + 8, 8);
    return v;
}

int tc_value_check(const void *buf, size_t size, uint64_t key, char *why, size_t whycap)
{
    uint64_t w[CACHE_MAX_VALUE / 8];
    size_t n = size / 8;
    memcpy(w, buf, n * 8);
    if (w[0] != key) {
        snprintf(why, whycap, "the value's first word (its key) is 0x%llx, not the key 0x%llx",
                 (unsigned long long)w[0], (unsigned long long)key);
        return -1;
    }
    if (w[n - 1] != checksum(w, n - 1)) {
        /* which words belong to another version than word 1 says: the torn part */
        size_t other = 0, first = 0;
        for (size_t i = 2; i + 1 < n; i++)
            if (w[i] != mix(key ^ mix(w[1] + i)) && other++ == 0)
                first = i;
        snprintf(why, whycap,
                 "the value of key 0x%llx fails its checksum: %zu of its %zu middle words are "
                 "not those of version %llu (the first: word %zu); half old, half new",
                 (unsigned long long)key, other, n - 3, (unsigned long long)w[1], first);
        return -1;
    }
    return 0;
}

void tc_insert_ok(struct cache *c, uint64_t key, uint64_t version, size_t size, const char *when)
{
    unsigned char v[CACHE_MAX_VALUE];
    tc_value(v, size, key, version);
    errno = 0;
    if (cache_insert(c, key, v) != 0) {
        int err = errno;
        gt_fail_if_not_implemented("cache_insert");
        gt_fail("%s: cache_insert(key 0x%llx) returned -1: %s", when, (unsigned long long)key,
                strerror(err));
    }
}

void tc_expect_value(const struct cache *c, uint64_t key, uint64_t version, size_t size,
                     const char *when)
{
    unsigned char v[CACHE_MAX_VALUE], want[CACHE_MAX_VALUE];
    errno = 0;
    if (cache_lookup(c, key, v, NULL) != 0) {
        int err = errno;
        gt_fail_if_not_implemented("cache_lookup");
        gt_fail("%s: cache_lookup(key 0x%llx) returned -1 (%s); the key is in the table", when,
                (unsigned long long)key, strerror(err));
    }
    tc_value(want, size, key, version);
    if (memcmp(v, want, size) != 0) {
        char why[200] = "";
        if (tc_value_check(v, size, key, why, sizeof why) == 0)
            snprintf(why, sizeof why, "version %llu, not %llu",
                     (unsigned long long)tc_value_version(v), (unsigned long long)version);
        gt_fail("%s: cache_lookup(key 0x%llx) found a wrong value: %s", when,
                (unsigned long long)key, why);
    }
}

void tc_expect_absent(const struct cache *c, uint64_t key, const char *when)
{
    unsigned char v[CACHE_MAX_VALUE];
    errno = 0;
    int rc = cache_lookup(c, key, v, NULL);
    int err = errno;
    if (rc == 0)
        gt_fail("%s: cache_lookup(key 0x%llx) found it; it is not in the table", when,
                (unsigned long long)key);
    tc_expect_errno(rc, err, ENOENT, "cache_lookup", when);
}

void tc_expect_errno(int rc, int err, int want, const char *call, const char *when)
{
    if (rc != -1)
        gt_fail("%s: %s returned %d; expected -1 with %s", when, call, rc, strerror(want));
    errno = err;
    gt_fail_if_not_implemented(call);
    if (err != want)
        gt_fail("%s: %s returned -1 with errno %d (%s); expected %s", when, call, err,
                strerror(err), strerror(want));
}

struct cache_segment *tc_raw(key_t key)
{
    int id = shmget(key, 0, 0);
    if (id == -1)
        gt_fail("shmget(key 0x%x, 0, 0) (the test looking at the segment): %s", (unsigned)key,
                strerror(errno));
    void *base = shmat(id, NULL, 0);
    if (base == (void *)-1)
        gt_fail("shmat(the segment at key 0x%x) (the test's own view): %s", (unsigned)key,
                strerror(errno));
    return base;
}

void tc_expect_gone(key_t key, const char *after)
{
    if (shmget(key, 0, 0) != -1 || errno != ENOENT)
        gt_fail("after %s, a segment is still at key 0x%x", after, (unsigned)key);
}
