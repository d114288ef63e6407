/*
 * test_flow.c: unit tests of ex4.3, the flow table (flow.c), linked into the test runner.
 *
 * flow_create, flow_destroy and flow_count are given; the tests call the student's
 * flow_add, flow_get and flow_remove directly. What matters most is the stale id: an id of a
 * removed connection must stay dead after its slot was given to a new connection, because
 * io_conn looks up md's late replies by it. A capacity of 1 forces the reuse of the slot,
 * whatever order the student's free list keeps.
 *
 * Objects are the addresses of a static array: nothing to free. A test that fails leaves by a
 * long jump, so the table is destroyed only on the way out of a passing test.
 */
#include "flow.h"
#include "gt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#define MANY 4096

static int objs[MANY]; /* the "connections" */

static struct flow_table *table(uint32_t capacity, uint32_t seed)
{
    struct flow_table *t = flow_create(capacity, seed);
    if (t == NULL)
        gt_fail("flow_create(%" PRIu32 ", %" PRIu32 ") (given code) returned NULL: %s", capacity,
                seed, strerror(errno));
    return t;
}

/* flow_add that must work. */
static flow_id add(struct flow_table *t, void *obj, const char *what)
{
    errno = 0;
    flow_id id = flow_add(t, obj);
    if (id == 0) {
        gt_fail_if_not_implemented("flow_add");
        gt_fail("flow_add (%s) returned 0 (errno %d, %s), expected a new id", what, errno,
                strerror(errno));
    }
    return id;
}

/* flow_get that must give obj. */
static void expect_get(struct flow_table *t, flow_id id, void *obj, const char *what)
{
    errno = 0;
    void *got = flow_get(t, id);
    if (got == NULL) {
        gt_fail_if_not_implemented("flow_get");
        gt_fail("flow_get(0x%016" PRIx64 ") (%s) returned NULL, expected the object it was "
                "added with",
                id, what);
    }
    if (got != obj)
        gt_fail("flow_get(0x%016" PRIx64 ") (%s) returned another object than the one added "
                "with that id",
                id, what);
}

/* flow_get that must refuse id. */
static void expect_dead(struct flow_table *t, flow_id id, const char *what)
{
    errno = 0;
    void *got = flow_get(t, id);
    if (got != NULL)
        gt_fail("flow_get(0x%016" PRIx64 ") (%s) returned an object, expected NULL: a late "
                "reply with this id would reach a connection it is not for",
                id, what);
    gt_fail_if_not_implemented("flow_get");
}

static void expect_remove(struct flow_table *t, flow_id id, const char *what)
{
    errno = 0;
    if (flow_remove(t, id) == -1) {
        gt_fail_if_not_implemented("flow_remove");
        gt_fail("flow_remove(0x%016" PRIx64 ") (%s) returned -1 (errno %d, %s), expected 0", id,
                what, errno, strerror(errno));
    }
}

static void expect_count(struct flow_table *t, uint32_t want, const char *when)
{
    uint32_t n = flow_count(t);
    if (n != want)
        gt_fail("flow_count is %" PRIu32 " %s, expected %" PRIu32
                " (flow_add and flow_remove keep the count)",
                n, when, want);
}

GT_TEST(flow_add_then_get, 10)
{
    struct flow_table *t = table(16, 7);
    flow_id a = add(t, &objs[0], "first of three");
    flow_id b = add(t, &objs[1], "second of three");
    flow_id c = add(t, &objs[2], "third of three");
    if (a == b || b == c || a == c)
        gt_fail("flow_add gave the same id twice: 0x%016" PRIx64 ", 0x%016" PRIx64
                ", 0x%016" PRIx64,
                a, b, c);
    expect_get(t, a, &objs[0], "first");
    expect_get(t, c, &objs[2], "third");
    expect_get(t, b, &objs[1], "second");
    expect_count(t, 3, "after three flow_add");
    if (flow_slot(a) >= 16 || flow_slot(b) >= 16 || flow_slot(c) >= 16)
        gt_fail("an id's slot (its low 32 bits) is beyond the capacity of 16: 0x%016" PRIx64
                ", 0x%016" PRIx64 ", 0x%016" PRIx64,
                a, b, c);
    flow_destroy(t);
}

GT_TEST(flow_remove_then_get_null, 10)
{
    struct flow_table *t = table(16, 7);
    flow_id a = add(t, &objs[0], "a");
    flow_id b = add(t, &objs[1], "b");
    expect_remove(t, a, "a live id");
    expect_dead(t, a, "just removed");
    expect_get(t, b, &objs[1], "the other id, still live");
    expect_count(t, 1, "after two flow_add and one flow_remove");
    flow_destroy(t);
}

GT_TEST(flow_reused_slot_new_id_old_stays_dead, 10)
{
    /* Capacity 1: the second connection must get the first one's slot. */
    struct flow_table *t = table(1, 1000);
    flow_id old = add(t, &objs[0], "the first connection");
    expect_remove(t, old, "the first connection leaves");
    flow_id now = add(t, &objs[1], "a new connection in the same slot");
    if (now == old)
        gt_fail("the new connection got the id of the removed one (0x%016" PRIx64
                "): a late reply for the old connection would reach the new one; the slot's "
                "generation must change on remove",
                old);
    expect_dead(t, old, "the removed id, its slot now taken by another connection");
    expect_get(t, now, &objs[1], "the new connection");
    /* once more: an id two generations old is dead too */
    expect_remove(t, now, "the second connection leaves");
    flow_id third = add(t, &objs[2], "a third connection in the same slot");
    expect_dead(t, old, "an id two generations old");
    expect_dead(t, now, "an id one generation old");
    expect_get(t, third, &objs[2], "the third connection");
    flow_destroy(t);
}

GT_TEST(flow_full_enospc, 10)
{
    struct flow_table *t = table(8, 3);
    flow_id ids[8];
    for (int i = 0; i < 8; i++)
        ids[i] = add(t, &objs[i], "filling a table of 8");
    errno = 0;
    flow_id extra = flow_add(t, &objs[8]);
    if (extra != 0)
        gt_fail("flow_add on a full table of 8 returned an id (0x%016" PRIx64
                "), expected 0 with errno ENOSPC",
                extra);
    gt_fail_if_not_implemented("flow_add");
    if (errno != ENOSPC)
        gt_fail("flow_add on a full table returned 0 with errno %d (%s), expected ENOSPC", errno,
                strerror(errno));
    for (int i = 0; i < 8; i++)
        expect_get(t, ids[i], &objs[i], "every id of the full table still live");
    expect_remove(t, ids[5], "one entry of the full table freed");
    flow_id again = add(t, &objs[9], "after one entry was freed");
    expect_get(t, again, &objs[9], "the id added after the table had room again");
    expect_count(t, 8, "after refilling");
    flow_destroy(t);
}

GT_TEST(flow_remove_twice_enoent, 10)
{
    struct flow_table *t = table(4, 9);
    flow_id a = add(t, &objs[0], "a");
    flow_id b = add(t, &objs[1], "b");
    expect_remove(t, a, "the first time");
    errno = 0;
    int r = flow_remove(t, a);
    if (r != -1)
        gt_fail("flow_remove of an id removed already returned %d, expected -1 with errno ENOENT "
                "(a second remove would free the slot twice)",
                r);
    gt_fail_if_not_implemented("flow_remove");
    if (errno != ENOENT)
        gt_fail("flow_remove of an id removed already: errno %d (%s), expected ENOENT", errno,
                strerror(errno));
    /* a stale id must not remove the connection that got its slot */
    flow_id c = add(t, &objs[2], "c, maybe in a's slot");
    errno = 0;
    if (flow_remove(t, a) != -1 || errno != ENOENT)
        gt_fail("flow_remove of a stale id after its slot was reused did not fail with ENOENT");
    expect_get(t, c, &objs[2], "c, after a stale flow_remove");
    expect_get(t, b, &objs[1], "b, after a stale flow_remove");
    expect_count(t, 2, "after a double and a stale flow_remove");
    flow_destroy(t);
}

GT_TEST(flow_ids_never_zero, 10)
{
    /* Seeds 0 and UINT32_MAX: a generation that starts at 0 or wraps to 0 would give slot 0
     * the id 0, which means "no flow". */
    static const uint32_t seeds[] = {0, UINT32_MAX, UINT32_MAX - 1};
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        struct flow_table *t = table(1, seeds[s]);
        for (int i = 0; i < 5; i++) {
            flow_id id = add(t, &objs[i], "capacity 1, again and again");
            if (flow_generation(id) == 0)
                gt_fail("seed %" PRIu32 ", round %d: flow_add gave 0x%016" PRIx64
                        ", whose generation is 0 (slot 0 would make id 0, \"no flow\")",
                        seeds[s], i, id);
            expect_get(t, id, &objs[i], "capacity 1, again and again");
            expect_remove(t, id, "capacity 1, again and again");
        }
        expect_dead(t, 0, "id 0 never names a flow");
        flow_destroy(t);
    }
}

GT_TEST(flow_capacity_edge, 10)
{
    struct flow_table *t = table(3, 77);
    flow_id ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = add(t, &objs[i], "a table of 3");
    uint32_t gen = flow_generation(ids[0]);
    /* forged ids, as a corrupt queue could carry: slots at and far beyond the capacity */
    expect_dead(t, (flow_id)gen << 32 | 3, "slot 3 of a table of 3");
    expect_dead(t, (flow_id)gen << 32 | 0xFFFFFFFFu, "slot 0xFFFFFFFF of a table of 3");
    expect_dead(t, (flow_id)(gen + 12345) << 32 | flow_slot(ids[1]),
                "a live slot with another generation");
    errno = 0;
    if (flow_remove(t, (flow_id)gen << 32 | 3) != -1)
        gt_fail("flow_remove of slot 3 in a table of 3 did not return -1");
    for (int i = 0; i < 3; i++)
        expect_get(t, ids[i], &objs[i], "a table of 3, after forged lookups");
    /* empty it completely and fill it again */
    for (int i = 2; i >= 0; i--)
        expect_remove(t, ids[i], "emptying a table of 3");
    expect_count(t, 0, "after emptying");
    for (int i = 0; i < 3; i++) {
        flow_id id = add(t, &objs[3 + i], "refilling a table of 3");
        expect_get(t, id, &objs[3 + i], "refilled");
    }
    if (flow_add(t, &objs[9]) != 0)
        gt_fail("flow_add on a refilled table of 3 returned an id, expected 0 (ENOSPC)");
    flow_destroy(t);
}

GT_TEST(flow_many_adds_and_removes, 20)
{
    /* 200,000 rounds over a table of MANY entries, checked against a plain array of the ids
     * each object should have. */
    static flow_id live[MANY];
    struct flow_table *t = table(MANY, 0x5eed);
    uint32_t n = 0;
    uint64_t x = 88172645463325252ULL;
    memset(live, 0, sizeof live);
    for (int round = 0; round < 200000; round++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned i = (unsigned)(x % MANY);
        if (live[i] == 0) {
            live[i] = add(t, &objs[i], "random rounds");
            n++;
        } else {
            if ((x >> 32) % 4 == 0)
                expect_get(t, live[i], &objs[i], "random rounds");
            flow_id gone = live[i];
            expect_remove(t, gone, "random rounds");
            live[i] = 0;
            n--;
            if ((x >> 40) % 8 == 0)
                expect_dead(t, gone, "random rounds, just removed");
        }
    }
    expect_count(t, n, "after 200,000 random adds and removes");
    for (unsigned i = 0; i < MANY; i++)
        if (live[i] != 0)
            expect_get(t, live[i], &objs[i], "every live id at the end");
    flow_destroy(t);
}
