/*
 * test_shmmq.c: unit tests of ex4.2, the student's queue (shmmq.c), one behaviour each.
 *
 * A test opens the producer and the consumer handle in its own process (two attachments of
 * one segment, as two processes would have) on keys of its own (gt_ipc_key), and checks
 * every message that comes out (tq_expect: id, ts, length, every payload byte). What the
 * queue keeps in shared memory is looked at, and corrupted, through a mapping of the test's
 * own, at the offsets shmmq.h fixes; segments and FIFOs are checked with the system calls.
 * The two-process tests (wake-ups, the stress, a killed peer, ThreadSanitizer) are in
 * test_shmmq_procs.c.
 */
#include "gt.h"
#include "test_shmmq.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#define CAP 4096u
#define CAP_MAX_PAYLOAD (CAP / 2 - 24)

/* A pair of handles on queue n of the test (key n, FIFO q<n>.fifo unless no_fifo). */
struct pair {
    shmmq *p, *c;
    key_t key;
    char fifo[512];
};

static void pair_open(struct pair *q, int n, size_t cap, int with_fifo)
{
    q->key = gt_ipc_key(n);
    tq_fifo_path(q->fifo, sizeof q->fifo, n);
    q->p = tq_open(q->key, cap, with_fifo ? q->fifo : NULL, SHMMQ_PRODUCER);
    q->c = tq_open(q->key, cap, with_fifo ? q->fifo : NULL, SHMMQ_CONSUMER);
}

static void pair_close(struct pair *q)
{
    shmmq_close(q->p);
    shmmq_close(q->c);
    q->p = q->c = NULL;
}

/* Bytes readable on fd (a FIFO), or the test fails. */
static int fifo_bytes(int fd, const char *when)
{
    int n = 0;
    if (ioctl(fd, FIONREAD, &n) != 0)
        gt_fail("%s: ioctl(shmmq_fd %d, FIONREAD): %s", when, fd, strerror(errno));
    return n;
}

static struct shmmq_stats stats_of(shmmq *q)
{
    struct shmmq_stats s;
    memset(&s, 0, sizeof s);
    if (shmmq_stats(q, &s) != 0)
        gt_fail("shmmq_stats failed: %s", strerror(errno));
    return s;
}

/* Enqueue messages of len bytes from id on until EAGAIN; returns how many went in. */
static uint64_t fill(shmmq *q, uint64_t id, uint32_t len, uint64_t limit, const char *when)
{
    uint64_t n = 0;
    for (; n < limit; n++) {
        errno = 0;
        if (tq_enqueue(q, id + n, len) != 0) {
            int err = errno;
            gt_fail_if_not_implemented("shmmq_enqueue");
            if (err != EAGAIN)
                gt_fail("%s: shmmq_enqueue(id %llu, %u bytes) failed: %s; expected 0 or EAGAIN "
                        "when full",
                        when, (unsigned long long)(id + n), len, strerror(err));
            return n;
        }
    }
    return n;
}

/* Move the indices of the empty queue q to ring position pos (a multiple of 8, not 8 or 16:
 * a record is at least 24 bytes, so no tail ends there) with messages that are taken out at
 * once. Where the tail is, is read from the segment. */
static void move_to(struct pair *q, uint64_t *id, uint64_t cap, uint64_t pos)
{
    struct shmmq_segment *raw = tq_raw(q->key);
    for (int guard = 0; guard < 64; guard++) {
        uint64_t cur = atomic_load(&raw->tail) & (cap - 1);
        if (cur == pos)
            break;
        uint64_t r; /* bytes to write next: up to pos, or up to the ring's end */
        if (pos >= cur + 24) {
            r = pos - cur;
        } else if (cap - cur >= 24) {
            r = cap - cur;
        } else { /* no room for a record before the end: this one goes to 0 */
            tq_enqueue_ok(q->p, *id, 0, "moving the indices along the ring");
            tq_expect(q->c, *id, 0, "moving the indices along the ring");
            (*id)++;
            continue;
        }
        /* records of at most cap / 4 bytes, none of fewer than 24 */
        uint64_t step = r <= cap / 4 ? r : r - cap / 4 >= 24 ? cap / 4 : r - 24;
        tq_enqueue_ok(q->p, *id, (uint32_t)(step - 24), "moving the indices along the ring");
        tq_expect(q->c, *id, (uint32_t)(step - 24), "moving the indices along the ring");
        (*id)++;
    }
    if ((atomic_load(&raw->tail) & (cap - 1)) != pos)
        gt_fail("could not bring the tail to ring position %llu with messages (it is at %llu): "
                "does each record take 24 + len bytes rounded up to 8, and start again at 0 "
                "when it does not fit before the end?",
                (unsigned long long)pos, (unsigned long long)(atomic_load(&raw->tail) & (cap - 1)));
    shmdt(raw);
}

/* ---- messages in, messages out ----------------------------------------------------------- */

GT_TEST(shmmq_roundtrip_fields, 20)
{
    struct pair q;
    pair_open(&q, 0, CAP, 0);
    tq_expect_empty(q.c, "a new queue");
    static const uint32_t lens[] = {0, 1, 7, 8, 9, 23, 24, 25, 100, 1000, CAP_MAX_PAYLOAD};
    uint64_t id = 0;
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++, id++) {
            tq_enqueue_ok(q.p, id, lens[i], "one message at a time");
            if (id % 2) {
                tq_expect(q.c, id, lens[i], "dequeue after one enqueue");
                continue;
            }
            uint64_t gid = 0, ts = 0;
            uint32_t len = 0;
            errno = 0;
            const void *m = shmmq_peek(q.c, &gid, &ts, &len);
            if (!m) {
                gt_fail_if_not_implemented("shmmq_peek");
                gt_fail("shmmq_peek after enqueue of message %llu returned NULL: %s",
                        (unsigned long long)id, strerror(errno));
            }
            char why[256];
            if (tq_check(id, lens[i], gid, ts, m, len, why, sizeof why) != 0)
                gt_fail("shmmq_peek: %s", why);
            if (shmmq_peek(q.c, &gid, &ts, &len) != m || gid != id)
                gt_fail("shmmq_peek twice without shmmq_consume: the second peek did not return "
                        "the same message %llu",
                        (unsigned long long)id);
            shmmq_consume(q.c);
        }
    tq_expect_empty(q.c, "after every message was taken out");
    /* a batch: first in, first out */
    for (uint64_t k = 0; k < 20; k++)
        tq_enqueue_ok(q.p, id + k, (uint32_t)(k * 13), "a batch of 20");
    for (uint64_t k = 0; k < 20; k++)
        tq_expect(q.c, id + k, (uint32_t)(k * 13), "a batch of 20, in order");
    tq_expect_empty(q.c, "after the batch");
    pair_close(&q);
}

GT_TEST(shmmq_full_eagain_keeps_messages, 20)
{
    struct pair q;
    pair_open(&q, 0, CAP, 0);
    const uint32_t len = 104; /* 128-byte records: 32 fill the ring */
    uint64_t n = fill(q.p, 0, len, 1000, "filling the queue");
    if (n == 1000)
        gt_fail("shmmq_enqueue took 1000 messages of %u bytes into a ring of %u bytes without "
                "EAGAIN: a full queue must refuse, not overwrite",
                len, CAP);
    if (n < CAP / 128 - 1)
        gt_fail("shmmq_enqueue said EAGAIN after only %llu messages of %u bytes (records of 128 "
                "bytes) in a ring of %u bytes",
                (unsigned long long)n, len, CAP);
    if (n * 128 + 24 > CAP && tq_enqueue(q.p, 5000, 0) == 0)
        gt_fail("shmmq_enqueue took a 24-byte record into a full queue (%llu records of 128 "
                "bytes in %u)",
                (unsigned long long)n, CAP);
    if (stats_of(q.p).enq_full < 1)
        gt_fail("shmmq_stats: enq_full is 0 after an enqueue refused with EAGAIN");
    for (uint64_t k = 0; k < n; k++)
        tq_expect(q.c, k, len, "draining a full queue (every message must be intact)");
    tq_expect_empty(q.c, "after draining the full queue");
    /* room again, and still in order */
    uint64_t m = fill(q.p, n, len, 1000, "filling the queue again");
    if (m < CAP / 128 - 1)
        gt_fail("after draining, the queue took only %llu messages of %u bytes",
                (unsigned long long)m, len);
    for (uint64_t k = 0; k < m; k++)
        tq_expect(q.c, n + k, len, "draining it again");
    pair_close(&q);
}

GT_TEST(shmmq_oversized_emsgsize, 20)
{
    struct pair q;
    pair_open(&q, 0, CAP, 0);
    uint32_t max = shmmq_max_payload(q.p);
    if (max != CAP_MAX_PAYLOAD)
        gt_fail("shmmq_max_payload of a %u-byte ring: %u; expected %u (capacity / 2 - 24)", CAP,
                max, CAP_MAX_PAYLOAD);
    static const uint32_t bad[] = {
        CAP_MAX_PAYLOAD + 1, CAP_MAX_PAYLOAD + 8, CAP - 24, CAP, 1u << 20,
        0x7fffffffu,         0xffffffffu};
    /* a buffer of 1 MiB: a queue that copies a refused message reads past it only for the
     * largest sizes, and crashes there, which fails the test too */
    static unsigned char buf[(1u << 20) + 64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        int r = shmmq_enqueue(q.p, 1000 + i, TQ_TS(1000 + i), buf, bad[i]);
        int err = errno;
        if (r == 0)
            gt_fail("shmmq_enqueue of %u bytes into a queue whose max_payload is %u returned 0; "
                    "expected EMSGSIZE (it could never be dequeued, or never fit)",
                    bad[i], max);
        gt_fail_if_not_implemented("shmmq_enqueue");
        if (err != EMSGSIZE)
            gt_fail("shmmq_enqueue of %u bytes (max_payload %u): %s; expected EMSGSIZE", bad[i],
                    max, strerror(err));
    }
    tq_expect_empty(q.c, "after the oversized enqueues were refused");
    /* max_payload itself always fits once the queue is empty, wherever the indices are */
    uint64_t id = 0;
    static const uint64_t spots[] = {0,        24,          1000,       CAP / 2 - 8,
                                     CAP / 2,  CAP / 2 + 8, CAP - 2048, CAP - 40,
                                     CAP - 24, CAP - 16,    CAP - 8};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        move_to(&q, &id, CAP, spots[i]);
        char when[128];
        snprintf(when, sizeof when, "a message of max_payload (%u) bytes at ring position %llu",
                 max, (unsigned long long)spots[i]);
        tq_enqueue_ok(q.p, id, max, when);
        tq_expect(q.c, id, max, when);
        id++;
    }
    pair_close(&q);
}

GT_TEST(shmmq_small_buffer_keeps_message, 20)
{
    struct pair q;
    pair_open(&q, 0, CAP, 0);
    tq_enqueue_ok(q.p, 0, 500, "the first message (500 bytes)");
    tq_enqueue_ok(q.p, 1, 20, "the second message (20 bytes)");
    static unsigned char buf[600];
    for (int attempt = 0; attempt < 2; attempt++) {
        uint64_t id = 77;
        uint32_t len = 0;
        memset(buf, 0xEE, sizeof buf);
        errno = 0;
        int r = shmmq_dequeue(q.c, &id, NULL, buf, 100, &len);
        int err = errno;
        if (r == 0)
            gt_fail("shmmq_dequeue with a 100-byte buffer returned message %llu of %u bytes; the "
                    "first message has 500: expected -1 with EMSGSIZE",
                    (unsigned long long)id, len);
        gt_fail_if_not_implemented("shmmq_dequeue");
        if (err != EMSGSIZE)
            gt_fail("shmmq_dequeue of a 500-byte message into a 100-byte buffer: %s; expected "
                    "EMSGSIZE",
                    strerror(err));
        if (len != 500)
            gt_fail("shmmq_dequeue said EMSGSIZE with *len = %u; expected the size needed, 500",
                    len);
        for (size_t i = 100; i < sizeof buf; i++)
            if (buf[i] != 0xEE)
                gt_fail("shmmq_dequeue with cap 100 wrote byte %zu of the buffer", i);
    }
    /* the message stayed first: a larger buffer gets it, then the next one */
    tq_expect(q.c, 0, 500, "a 500-byte buffer after EMSGSIZE (the message must still be first)");
    tq_expect(q.c, 1, 20, "the message after it");
    tq_expect_empty(q.c, "after both");
    /* the exact size is enough, and 0 bytes need no buffer at all */
    tq_enqueue_ok(q.p, 2, 64, "a 64-byte message");
    tq_enqueue_ok(q.p, 3, 0, "an empty message");
    uint64_t id = 0;
    uint32_t len = 0;
    if (shmmq_dequeue(q.c, &id, NULL, buf, 64, &len) != 0 || id != 2 || len != 64)
        gt_fail("shmmq_dequeue of a 64-byte message into a buffer of exactly 64 bytes: %s",
                strerror(errno));
    if (shmmq_dequeue(q.c, &id, NULL, buf, 0, &len) != 0 || id != 3 || len != 0)
        gt_fail("shmmq_dequeue of an empty message with cap 0: %s; expected it", strerror(errno));
    pair_close(&q);
}

GT_TEST(shmmq_wraparound_straddling_sizes, 30)
{
    struct pair q;
    pair_open(&q, 0, CAP, 0);
    uint64_t id = 0;
    /* records that end exactly at the end, and that leave 8, 16, 24, 32 or 40 bytes there */
    static const uint64_t rests[] = {0, 8, 16, 24, 32, 40, 48};
    static const uint32_t next[] = {0, 1, 8, 16, 17, 100, CAP_MAX_PAYLOAD};
    for (size_t i = 0; i < sizeof rests / sizeof rests[0]; i++)
        for (size_t j = 0; j < sizeof next / sizeof next[0]; j++) {
            move_to(&q, &id, CAP, (CAP - rests[i]) & (CAP - 1));
            char when[160];
            snprintf(when, sizeof when,
                     "a %u-byte message, then a %u-byte one, with %llu bytes left before the "
                     "ring's end",
                     (unsigned)next[j], 40u, (unsigned long long)rests[i]);
            tq_enqueue_ok(q.p, id, next[j], when);
            tq_enqueue_ok(q.p, id + 1, 40, when);
            tq_expect(q.c, id, next[j], when);
            tq_expect(q.c, id + 1, 40, when);
            id += 2;
        }
    /* many laps with the queue partly full: sizes from a hash, batches of varied length */
    uint64_t sent = id, got = id, bytes = 0;
    for (int round = 0; round < 4000; round++) {
        int batch = 1 + round % 7;
        for (int k = 0; k < batch; k++) {
            uint32_t len = tq_len(sent, CAP_MAX_PAYLOAD, 1);
            if (tq_enqueue(q.p, sent, len) != 0) {
                gt_fail_if_not_implemented("shmmq_enqueue");
                if (errno != EAGAIN)
                    gt_fail("shmmq_enqueue(id %llu, %u bytes): %s", (unsigned long long)sent, len,
                            strerror(errno));
                break;
            }
            bytes += SHMMQ_RECORD_SIZE(len);
            sent++;
        }
        int take = 1 + (round * 5) % 6;
        for (int k = 0; k < take && got < sent; k++, got++)
            tq_expect(q.c, got, tq_len(got, CAP_MAX_PAYLOAD, 1), "laps around the ring");
    }
    for (; got < sent; got++)
        tq_expect(q.c, got, tq_len(got, CAP_MAX_PAYLOAD, 1), "draining after the laps");
    tq_expect_empty(q.c, "after the laps");
    if (bytes < 20 * (uint64_t)CAP)
        gt_fail("the laps moved only %llu bytes through the ring (the producer said EAGAIN too "
                "often?)",
                (unsigned long long)bytes);
    pair_close(&q);
}

/* ---- corrupt segments ------------------------------------------------------------------- */

/* After the segment was corrupted (what), every call of the consumer must say EBADMSG (and
 * dequeue must leave buf alone past what it may write). up_to: valid messages that may still
 * come out first (ids from first_id, len bytes each). */
static void expect_ebadmsg(shmmq *c, const char *what, int up_to, uint64_t first_id, uint32_t len)
{
    static unsigned char buf[CAP];
    for (int i = 0; i <= up_to + 1; i++) {
        uint64_t id = 0, ts = 0;
        uint32_t got = 0;
        errno = 0;
        int r = shmmq_dequeue(c, &id, &ts, buf, sizeof buf, &got);
        int err = errno;
        if (r == 0) {
            char why[256];
            if (i < up_to &&
                tq_check(first_id + (uint64_t)i, len, id, ts, buf, got, why, sizeof why) == 0)
                continue;
            gt_fail("%s: shmmq_dequeue returned a message (id %llu, %u bytes); expected -1 with "
                    "EBADMSG",
                    what, (unsigned long long)id, got);
        }
        gt_fail_if_not_implemented("shmmq_dequeue");
        if (err != EBADMSG)
            gt_fail("%s: shmmq_dequeue: %s; expected EBADMSG (check every index and length read "
                    "from the segment)",
                    what, strerror(err));
        errno = 0;
        if (shmmq_peek(c, &id, &ts, &got) != NULL || errno != EBADMSG)
            gt_fail("%s: shmmq_dequeue said EBADMSG but shmmq_peek then said %s", what,
                    errno ? strerror(errno) : "nothing wrong");
        if (shmmq_dequeue(c, &id, &ts, buf, sizeof buf, &got) == 0 || errno != EBADMSG)
            gt_fail("%s: the second shmmq_dequeue did not say EBADMSG again", what);
        return;
    }
}

GT_TEST(shmmq_corrupt_tail_ebadmsg, 20)
{
    static const char *const what[] = {
        "tail past head by capacity + 8 (more in use than the ring holds)",
        "tail 8 bytes behind head (negative use)", "tail not a multiple of 8",
        "tail past head by 2^63"};
    for (int i = 0; i < 4; i++) {
        struct pair q;
        pair_open(&q, i, CAP, 0);
        uint64_t id = 0;
        move_to(&q, &id, CAP, (uint64_t)(i * 1000) & ~7ull); /* somewhere in the ring, empty */
        struct shmmq_segment *raw = tq_raw(q.key);
        uint64_t t = atomic_load(&raw->tail);
        uint64_t bad[] = {t + CAP + 8, t - 8, t + 4, t + (1ull << 63)};
        atomic_store(&raw->tail, bad[i]);
        char desc[200];
        snprintf(desc, sizeof desc, "the test wrote a corrupt tail into the segment (%s)", what[i]);
        expect_ebadmsg(q.c, desc, 0, 0, 0);
        /* the producer must not write out of the ring either: any result but a crash */
        (void)tq_enqueue(q.p, 9999, 100);
        atomic_store(&raw->tail, t);
        shmdt(raw);
        pair_close(&q);
    }
}

GT_TEST(shmmq_corrupt_head_ebadmsg, 20)
{
    static const char *const what[] = {"head 8 bytes past tail",
                                       "head more than capacity "
                                       "behind tail",
                                       "head not a multiple of 8"};
    for (int i = 0; i < 3; i++) {
        struct pair q;
        pair_open(&q, i, CAP, 0);
        /* full: the producer's copy of head says so, and it must read head to go on */
        uint64_t n = fill(q.p, 0, 104, 1000, "filling the queue");
        if (n == 0 || n == 1000)
            gt_fail("filling a %u-byte queue with 104-byte messages: %llu went in", CAP,
                    (unsigned long long)n);
        struct shmmq_segment *raw = tq_raw(q.key);
        uint64_t t = atomic_load(&raw->tail), h = atomic_load(&raw->head);
        uint64_t bad[] = {t + 8, t - CAP - 8, h + 4};
        atomic_store(&raw->head, bad[i]);
        errno = 0;
        int r = tq_enqueue(q.p, 5000, 8);
        int err = errno;
        if (r == 0 || err != EBADMSG)
            gt_fail("the test wrote a corrupt head (%s) into a full queue; then shmmq_enqueue "
                    "returned %d (%s); expected -1 with EBADMSG (check head when you read it)",
                    what[i], r, r == 0 ? "the message went in" : strerror(err));
        atomic_store(&raw->head, h);
        shmdt(raw);
        pair_close(&q);
    }
}

GT_TEST(shmmq_corrupt_length_ebadmsg, 20)
{
    enum { CASES = 6 };
    static const char *const what[CASES] = {
        "len = max_payload + 1",
        "len = 0x7fffffff",
        "len larger than the bytes published (record past tail)",
        "a wrap marker at ring position 0",
        "a wrap marker with nothing published after it",
        "len that runs past the ring's end"};
    for (int i = 0; i < CASES; i++) {
        struct pair q;
        pair_open(&q, i, CAP, 0);
        uint64_t id = 0;
        uint64_t pos = i == 3 ? 0 : i == 5 ? CAP - 64 : 1024;
        move_to(&q, &id, CAP, pos);
        tq_enqueue_ok(q.p, id, i == 4 ? 0 : 16, "a message to corrupt"); /* at pos */
        struct shmmq_segment *raw = tq_raw(q.key);
        struct shmmq_record *rec = (struct shmmq_record *)(void *)(raw->ring + pos);
        uint32_t bad[CASES] = {CAP_MAX_PAYLOAD + 1, 0x7fffffffu, 64,
                               SHMMQ_WRAP,          SHMMQ_WRAP,  CAP_MAX_PAYLOAD};
        rec->len = bad[i];
        char desc[200];
        snprintf(desc, sizeof desc, "the test wrote a corrupt record into the segment (%s)",
                 what[i]);
        expect_ebadmsg(q.c, desc, 0, 0, 0);
        shmdt(raw);
        pair_close(&q);
    }
}

/* ---- attaching -------------------------------------------------------------------------- */

GT_TEST(shmmq_attach_keeps_messages, 20)
{
    key_t key = gt_ipc_key(0);
    char fifo[512];
    tq_fifo_path(fifo, sizeof fifo, 0);
    shmmq *p = tq_open(key, CAP, fifo, SHMMQ_PRODUCER);
    for (uint64_t id = 0; id < 5; id++)
        tq_enqueue_ok(p, id, (uint32_t)(id * 100), "the producer, alone");
    shmmq *c = tq_open(key, CAP, fifo, SHMMQ_CONSUMER);
    tq_expect(c, 0, 0, "the consumer opened after 5 enqueues (attaching must not wipe the queue)");
    tq_expect(c, 1, 100, "the consumer opened after 5 enqueues");
    /* a producer that restarts finds the queue as it was */
    shmmq_close(p);
    p = tq_open(key, CAP, fifo, SHMMQ_PRODUCER);
    tq_enqueue_ok(p, 5, 50, "a restarted producer");
    for (uint64_t id = 2; id < 5; id++)
        tq_expect(c, id, (uint32_t)(id * 100), "after the producer re-attached");
    tq_expect(c, 5, 50, "the restarted producer's message");
    /* and so does a consumer that restarts */
    tq_enqueue_ok(p, 6, 60, "before the consumer restarts");
    shmmq_close(c);
    c = tq_open(key, CAP, fifo, SHMMQ_CONSUMER);
    tq_expect(c, 6, 60, "a restarted consumer");
    tq_expect_empty(c, "after everything");
    shmmq_close(c);
    shmmq_close(p);
}

GT_TEST(shmmq_consumer_first, 20)
{
    key_t key = gt_ipc_key(0);
    char fifo[512];
    tq_fifo_path(fifo, sizeof fifo, 0);
    shmmq *c = tq_open(key, CAP, fifo, SHMMQ_CONSUMER);
    tq_expect_empty(c, "the consumer, alone");
    shmmq *p = tq_open(key, CAP, fifo, SHMMQ_PRODUCER);
    for (uint64_t id = 0; id < 3; id++)
        tq_enqueue_ok(p, id, 10, "the producer that came second");
    for (uint64_t id = 0; id < 3; id++)
        tq_expect(c, id, 10, "the consumer that came first");
    shmmq_close(p);
    shmmq_close(c);
}

GT_TEST(shmmq_attach_refuses_mismatch, 20)
{
    key_t key = gt_ipc_key(0);
    shmmq *c = tq_open(key, 2 * CAP, NULL, SHMMQ_CONSUMER);
    errno = 0;
    shmmq *p = shmmq_open(key, CAP, NULL, SHMMQ_PRODUCER);
    int err = errno;
    if (p) {
        shmmq_close(p);
        gt_fail("shmmq_open(capacity %u) attached the queue made with capacity %u; expected NULL "
                "with EINVAL",
                CAP, 2 * CAP);
    }
    gt_fail_if_not_implemented("shmmq_open");
    if (err != EINVAL)
        gt_fail("shmmq_open(capacity %u) of a queue made with capacity %u: %s; expected EINVAL",
                CAP, 2 * CAP, strerror(err));
    /* the queue still works for a producer that agrees */
    p = tq_open(key, 2 * CAP, NULL, SHMMQ_PRODUCER);
    tq_enqueue_ok(p, 0, 10, "after a refused attach");
    tq_expect(c, 0, 10, "after a refused attach");
    shmmq_close(p);
    shmmq_close(c);

    /* a foreign segment of the right size: refused, and left as it was */
    key_t k2 = gt_ipc_key(1);
    size_t size = SHMMQ_RING_OFFSET + CAP;
    int id = shmget(k2, size, IPC_CREAT | IPC_EXCL | 0600);
    if (id == -1)
        gt_fail("shmget(the test's own segment): %s", strerror(errno));
    unsigned char *base = shmat(id, NULL, 0);
    if (base == (void *)-1)
        gt_fail("shmat(the test's own segment): %s", strerror(errno));
    gt_fill_pattern(base, size, 9);
    static unsigned char snap[SHMMQ_RING_OFFSET + CAP];
    memcpy(snap, base, size);
    errno = 0;
    p = shmmq_open(k2, CAP, NULL, SHMMQ_PRODUCER);
    err = errno;
    if (p) {
        shmmq_close(p);
        gt_fail("shmmq_open attached a segment that is not a queue (its magic is garbage); "
                "expected NULL");
    }
    if (memcmp(base, snap, size) != 0)
        gt_fail("shmmq_open refused a foreign segment (%s) but wrote to it first", strerror(err));
    shmdt(base);
    shmctl(id, IPC_RMID, NULL);
    (void)err;
}

/* ---- the FIFO, modes, removal ------------------------------------------------------------- */

/* shmmq_open with fifo at path must be refused with EEXIST, and leave no segment behind. */
static void expect_fifo_refused(key_t key, const char *path, const char *what)
{
    errno = 0;
    shmmq *q = shmmq_open(key, CAP, path, SHMMQ_CONSUMER);
    int err = errno;
    if (q) {
        shmmq_close(q);
        gt_fail("shmmq_open with the FIFO path %s, which is %s, succeeded; expected NULL with "
                "EEXIST",
                path, what);
    }
    gt_fail_if_not_implemented("shmmq_open");
    if (err != EEXIST)
        gt_fail("shmmq_open with the FIFO path %s (%s): %s; expected EEXIST", path, what,
                strerror(err));
    if (shmget(key, 0, 0) != -1)
        gt_fail("shmmq_open refused the FIFO path (%s) but left a segment at key 0x%x", what,
                (unsigned)key);
}

GT_TEST(shmmq_fifo_path_refused_unless_ours, 20)
{
    key_t key = gt_ipc_key(0);
    char path[512], target[512];
    snprintf(target, sizeof target, "%s/target", gt_tmpdir());
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, "keep", 4) != 4)
        gt_fail("creating %s: %s", target, strerror(errno));
    close(fd);

    snprintf(path, sizeof path, "%s/link.fifo", gt_tmpdir());
    if (symlink(target, path) != 0)
        gt_fail("symlink(%s, %s): %s", target, path, strerror(errno));
    expect_fifo_refused(key, path, "a symlink to a regular file");
    struct stat st;
    if (stat(target, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != 4 ||
        (st.st_mode & 07777) != 0600)
        gt_fail("shmmq_open changed the file a symlink at the FIFO path points to");

    char fifo2[512];
    snprintf(fifo2, sizeof fifo2, "%s/real.fifo", gt_tmpdir());
    if (mkfifo(fifo2, 0600) != 0)
        gt_fail("mkfifo(%s): %s", fifo2, strerror(errno));
    snprintf(path, sizeof path, "%s/link2.fifo", gt_tmpdir());
    if (symlink(fifo2, path) != 0)
        gt_fail("symlink: %s", strerror(errno));
    expect_fifo_refused(key, path, "a symlink to a FIFO of ours (never follow a symlink)");

    expect_fifo_refused(key, target, "a regular file");

    snprintf(path, sizeof path, "%s/open.fifo", gt_tmpdir());
    if (mkfifo(path, 0600) != 0 || chmod(path, 0666) != 0)
        gt_fail("mkfifo/chmod 0666 (%s): %s", path, strerror(errno));
    expect_fifo_refused(key, path, "a FIFO with mode 0666 (anyone could write to it)");

    snprintf(path, sizeof path, "%s/dir.fifo", gt_tmpdir());
    if (mkdir(path, 0700) != 0)
        gt_fail("mkdir(%s): %s", path, strerror(errno));
    expect_fifo_refused(key, path, "a directory");

    /* a FIFO of ours with mode 0600 is taken as it is */
    shmmq *q = tq_open(key, CAP, fifo2, SHMMQ_CONSUMER);
    shmmq_close(q);
}

GT_TEST(shmmq_segment_and_fifo_mode_0600, 20)
{
    umask(0); /* so that a mode of 0666 shows */
    key_t key = gt_ipc_key(0);
    char fifo[512];
    tq_fifo_path(fifo, sizeof fifo, 0);
    shmmq *q = tq_open(key, CAP, fifo, SHMMQ_PRODUCER);
    struct shmid_ds ds;
    int id = shmget(key, 0, 0);
    if (id == -1 || shmctl(id, IPC_STAT, &ds) != 0)
        gt_fail("shmget/shmctl(IPC_STAT) of the queue's segment: %s", strerror(errno));
    if ((ds.shm_perm.mode & 0777) != 0600)
        gt_fail("the queue's segment has mode %03o; expected 0600 (only its owner may touch it)",
                ds.shm_perm.mode & 0777);
    if (ds.shm_segsz != SHMMQ_RING_OFFSET + CAP)
        gt_fail("the queue's segment has %zu bytes; expected %u (320 + capacity)",
                (size_t)ds.shm_segsz, SHMMQ_RING_OFFSET + CAP);
    struct stat st;
    if (lstat(fifo, &st) != 0)
        gt_fail("lstat(%s) (the FIFO shmmq_open makes): %s", fifo, strerror(errno));
    if (!S_ISFIFO(st.st_mode) || (st.st_mode & 07777) != 0600)
        gt_fail("%s: mode %04o, %s; expected a FIFO with mode 0600", fifo, st.st_mode & 07777,
                S_ISFIFO(st.st_mode) ? "a FIFO" : "not a FIFO");
    shmmq_close(q);
}

GT_TEST(shmmq_close_removes_when_last, 20)
{
    key_t key = gt_ipc_key(0);
    char fifo[512];
    tq_fifo_path(fifo, sizeof fifo, 0);
    shmmq *p = tq_open(key, CAP, fifo, SHMMQ_PRODUCER);
    shmmq *c = tq_open(key, CAP, fifo, SHMMQ_CONSUMER);
    tq_enqueue_ok(p, 0, 10, "before the closes");
    shmmq_close(p);
    if (shmget(key, 0, 0) == -1)
        gt_fail("after the producer's shmmq_close, with the consumer still attached, the segment "
                "is gone: only the last one out may remove it");
    if (access(fifo, F_OK) != 0)
        gt_fail("after the producer's shmmq_close, with the consumer still there, the FIFO is "
                "gone");
    tq_expect(c, 0, 10, "the consumer after the producer closed");
    shmmq_close(c);
    tq_expect_gone(key, fifo, "after both handles were closed");
    shmmq_close(NULL);
    /* alone, without a FIFO */
    shmmq *q = tq_open(key, CAP, NULL, SHMMQ_CONSUMER);
    shmmq_close(q);
    tq_expect_gone(key, NULL, "after a lone handle was closed");
}

/* ---- notifications -------------------------------------------------------------------- */

GT_TEST(shmmq_no_notify_while_awake, 20)
{
    struct pair q;
    pair_open(&q, 0, CAP, 1);
    int fd = shmmq_fd(q.c);
    if (fd < 0)
        gt_fail("shmmq_fd of a queue opened with a FIFO path returned %d", fd);
    uint64_t id = 0, got = 0;
    for (int round = 0; round < 200; round++) {
        for (int k = 0; k < 5; k++, id++)
            tq_enqueue_ok(q.p, id, 32, "with the consumer awake");
        for (int k = 0; k < 5; k++, got++)
            tq_expect(q.c, got, 32, "with the consumer awake");
        tq_expect_empty(q.c, "with the consumer awake");
    }
    struct pollfd pf = {fd, POLLIN, 0};
    int readable = poll(&pf, 1, 0);
    struct shmmq_stats s = stats_of(q.p);
    if (s.notify_writes != 0 || readable != 0)
        gt_fail("%llu messages went through while the consumer never called shmmq_sleep, and "
                "the producer wrote wake-ups (notify_writes %llu, FIFO %s): write only when the "
                "consumer said it sleeps",
                (unsigned long long)id, (unsigned long long)s.notify_writes,
                readable ? "readable" : "empty");
    pair_close(&q);
}

GT_TEST(shmmq_notify_once_per_sleep, 20)
{
    struct pair q;
    pair_open(&q, 0, CAP, 1);
    int fd = shmmq_fd(q.c);
    tq_expect_empty(q.c, "a new queue");
    errno = 0;
    int r = shmmq_sleep(q.c);
    if (r != 0) {
        gt_fail_if_not_implemented("shmmq_sleep");
        gt_fail("shmmq_sleep on an empty queue returned %d (%s); expected 0 (sleep)", r,
                strerror(errno));
    }
    if (fifo_bytes(fd, "after shmmq_sleep") != 0)
        gt_fail("the FIFO holds bytes before anything was enqueued");
    tq_enqueue_ok(q.p, 0, 8, "with the consumer asleep");
    int n = fifo_bytes(fd, "after one enqueue to a sleeping consumer");
    if (n != 1)
        gt_fail("after shmmq_sleep and one enqueue, the FIFO holds %d bytes; expected exactly 1 "
                "(the wake-up)",
                n);
    for (uint64_t id = 1; id < 50; id++)
        tq_enqueue_ok(q.p, id, 8, "more, before the consumer woke");
    n = fifo_bytes(fd, "after 50 enqueues to a sleeping consumer");
    struct shmmq_stats s = stats_of(q.p);
    if (n != 1 || s.notify_writes != 1)
        gt_fail("after shmmq_sleep and 50 enqueues, the FIFO holds %d bytes and notify_writes is "
                "%llu; expected 1 and 1 (one wake-up per sleep, not per message)",
                n, (unsigned long long)s.notify_writes);
    shmmq_woken(q.c);
    if (fifo_bytes(fd, "after shmmq_woken") != 0)
        gt_fail("shmmq_woken left bytes in the FIFO: read them all");
    for (uint64_t id = 0; id < 50; id++)
        tq_expect(q.c, id, 8, "after the wake-up");
    tq_expect_empty(q.c, "after the wake-up");
    /* a message that comes before the sleep: shmmq_sleep says so and nobody writes */
    tq_enqueue_ok(q.p, 50, 8, "just before the consumer goes to sleep");
    r = shmmq_sleep(q.c);
    if (r != 1)
        gt_fail("shmmq_sleep with a message waiting returned %d; expected 1 (dequeue again)", r);
    tq_enqueue_ok(q.p, 51, 8, "after shmmq_sleep returned 1");
    s = stats_of(q.p);
    if (s.notify_writes != 1 || fifo_bytes(fd, "after shmmq_sleep returned 1") != 0)
        gt_fail("shmmq_sleep returned 1 (not sleeping), yet the next enqueue wrote a wake-up "
                "(notify_writes %llu)",
                (unsigned long long)s.notify_writes);
    tq_expect(q.c, 50, 8, "after shmmq_sleep returned 1");
    tq_expect(q.c, 51, 8, "after shmmq_sleep returned 1");
    /* and a second sleep gets its own wake-up */
    tq_expect_empty(q.c, "before the second sleep");
    if (shmmq_sleep(q.c) != 0)
        gt_fail("the second shmmq_sleep on an empty queue did not return 0");
    tq_enqueue_ok(q.p, 52, 8, "to the second sleep");
    if (fifo_bytes(fd, "the second sleep") != 1)
        gt_fail("after a second shmmq_sleep and an enqueue, the FIFO does not hold exactly 1 "
                "byte");
    shmmq_woken(q.c);
    tq_expect(q.c, 52, 8, "after the second wake-up");
    pair_close(&q);
}

GT_TEST(shmmq_wait_ready_bounded, 20)
{
    struct pair q;
    pair_open(&q, 0, CAP, 0);
    double t0 = gt_now();
    int r = shmmq_wait_ready(q.c, 20000000); /* 20 ms */
    double took = gt_now() - t0;
    if (r != 0)
        gt_fail("shmmq_wait_ready on an empty queue returned %d; expected 0", r);
    if (took < 0.015 || took > 2 * gt_time_scale())
        gt_fail("shmmq_wait_ready(20 ms) on an empty queue took %.3f s", took);
    tq_enqueue_ok(q.p, 0, 8, "before shmmq_wait_ready");
    t0 = gt_now();
    r = shmmq_wait_ready(q.c, 5000000000ull);
    took = gt_now() - t0;
    if (r != 1 || took > 1 * gt_time_scale())
        gt_fail("shmmq_wait_ready(5 s) with a message waiting returned %d after %.3f s; expected "
                "1 at once",
                r, took);
    tq_expect(q.c, 0, 8, "after shmmq_wait_ready");
    pair_close(&q);
}
