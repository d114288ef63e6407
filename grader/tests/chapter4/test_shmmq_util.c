/*
 * test_shmmq_util.c: the helpers of the ex4.2 tests (see test_shmmq.h).
 */
#include "test_shmmq.h"

#include "gt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

static const char *role_name(enum shmmq_role role)
{
    return role == SHMMQ_PRODUCER ? "SHMMQ_PRODUCER" : "SHMMQ_CONSUMER";
}

void tq_fifo_path(char *buf, size_t cap, int n)
{
    snprintf(buf, cap, "%s/q%d.fifo", gt_tmpdir(), n);
}

shmmq *tq_open(key_t key, size_t capacity, const char *fifo, enum shmmq_role role)
{
    errno = 0;
    shmmq *q = shmmq_open(key, capacity, fifo, role);
    if (!q) {
        int err = errno;
        gt_fail_if_not_implemented("shmmq_open");
        gt_fail("shmmq_open(key 0x%x, capacity %zu, %s, %s) returned NULL: %s", (unsigned)key,
                capacity, fifo ? fifo : "NULL", role_name(role), strerror(err));
    }
    return q;
}

static uint64_t word_of(uint64_t id, size_t k)
{
    uint64_t x = (id + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)k * 0xD1B54A32D192ED03ull);
    return x ^ (x >> 31);
}

void tq_payload(unsigned char *buf, uint32_t len, uint64_t id)
{
    size_t k = 0;
    for (; (k + 1) * 8 <= len; k++) {
        uint64_t w = word_of(id, k);
        memcpy(buf + k * 8, &w, 8);
    }
    if (k * 8 < len) {
        uint64_t w = word_of(id, k);
        memcpy(buf + k * 8, &w, len - k * 8);
    }
}

uint32_t tq_len(uint64_t id, uint32_t max, uint32_t salt)
{
    uint64_t x = (id ^ ((uint64_t)salt << 40)) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    uint32_t r = (uint32_t)(x >> 32), pick = (uint32_t)x % 1000, len;
    if (pick < 850)
        len = r % 65; /* most messages are small */
    else if (pick < 998)
        len = 65 + r % 448;
    else
        len = r % (max + 1);
    return len > max ? max : len;
}

int tq_enqueue(shmmq *q, uint64_t id, uint32_t len)
{
    static unsigned char buf[1 << 20];
    if (len > sizeof buf)
        len = sizeof buf;
    tq_payload(buf, len, id);
    return shmmq_enqueue(q, id, TQ_TS(id), buf, len);
}

void tq_enqueue_ok(shmmq *q, uint64_t id, uint32_t len, const char *when)
{
    if (tq_enqueue(q, id, len) != 0) {
        int err = errno;
        gt_fail_if_not_implemented("shmmq_enqueue");
        gt_fail("%s: shmmq_enqueue(id %llu, %u bytes) failed: %s", when, (unsigned long long)id,
                len, strerror(err));
    }
}

int tq_check(uint64_t want_id, uint32_t want_len, uint64_t id, uint64_t ts, const void *data,
             uint32_t len, char *why, size_t cap)
{
    if (id != want_id) {
        snprintf(why, cap, "got message id %llu, expected id %llu (lost, repeated or reordered)",
                 (unsigned long long)id, (unsigned long long)want_id);
        return -1;
    }
    if (ts != TQ_TS(id)) {
        snprintf(why, cap, "message %llu: ts %llu, sent %llu", (unsigned long long)id,
                 (unsigned long long)ts, (unsigned long long)TQ_TS(id));
        return -1;
    }
    if (len != want_len) {
        snprintf(why, cap, "message %llu: %u bytes, sent %u", (unsigned long long)id, len,
                 want_len);
        return -1;
    }
    const unsigned char *p = data;
    size_t k = 0;
    for (; (k + 1) * 8 <= len; k++) {
        uint64_t w = word_of(id, k), got;
        memcpy(&got, p + k * 8, 8);
        if (got != w)
            break;
    }
    if (k * 8 < len) {
        unsigned char want[8];
        uint64_t w = word_of(id, k);
        memcpy(want, &w, 8);
        for (size_t i = k * 8; i < len; i++)
            if (p[i] != want[i - k * 8]) {
                snprintf(why, cap,
                         "message %llu (%u bytes): payload byte %zu is 0x%02x, sent 0x%02x",
                         (unsigned long long)id, len, i, p[i], want[i - k * 8]);
                return -1;
            }
    }
    return 0;
}

void tq_expect(shmmq *q, uint64_t want_id, uint32_t want_len, const char *when)
{
    static unsigned char buf[1 << 20];
    uint64_t id = 0, ts = 0;
    uint32_t len = 0;
    errno = 0;
    if (shmmq_dequeue(q, &id, &ts, buf, sizeof buf, &len) != 0) {
        int err = errno;
        gt_fail_if_not_implemented("shmmq_dequeue");
        gt_fail("%s: shmmq_dequeue (expecting message %llu, %u bytes) failed: %s", when,
                (unsigned long long)want_id, want_len, strerror(err));
    }
    char why[256];
    if (tq_check(want_id, want_len, id, ts, buf, len, why, sizeof why) != 0)
        gt_fail("%s: shmmq_dequeue: %s", when, why);
}

void tq_expect_empty(shmmq *q, const char *when)
{
    static unsigned char buf[1 << 16];
    uint64_t id = 0;
    uint32_t len = 0;
    errno = 0;
    int r = shmmq_dequeue(q, &id, NULL, buf, sizeof buf, &len);
    int err = errno;
    if (r == 0)
        gt_fail("%s: shmmq_dequeue returned message %llu (%u bytes); expected -1 with EAGAIN "
                "(empty)",
                when, (unsigned long long)id, len);
    gt_fail_if_not_implemented("shmmq_dequeue");
    if (err != EAGAIN)
        gt_fail("%s: shmmq_dequeue on an empty queue: %s; expected EAGAIN", when, strerror(err));
}

struct shmmq_segment *tq_raw(key_t key)
{
    int id = shmget(key, 0, 0);
    if (id == -1)
        gt_fail("shmget(key 0x%x) (the test looks at the queue's segment): %s", (unsigned)key,
                strerror(errno));
    void *p = shmat(id, NULL, 0);
    if (p == (void *)-1)
        gt_fail("shmat(key 0x%x) (the test's own view of the segment): %s", (unsigned)key,
                strerror(errno));
    return p;
}

void tq_expect_gone(key_t key, const char *fifo, const char *after)
{
    if (shmget(key, 0, 0) != -1 || errno != ENOENT)
        gt_fail("%s, a segment is still there at key 0x%x (ipcs -m); the last shmmq_close "
                "must remove it",
                after, (unsigned)key);
    if (fifo && access(fifo, F_OK) == 0)
        gt_fail("%s, the FIFO %s is still there; the last shmmq_close must unlink it", after, fifo);
}
