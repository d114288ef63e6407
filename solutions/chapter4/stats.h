/*
 * stats: the statistics segment of echosvr_v4, which viewstat reads (ex4.1). Given.
 *
 * Layout, from the segment's base:
 *   [0, 64)   struct shm_header: magic STATS_MAGIC, version STATS_VERSION, size
 *             STATS_SEGMENT_SIZE (shm.h)
 *   [64, ...) struct stats: the counters below, each an aligned uint64_t
 *
 * One writer, any number of readers. Only echosvr_v4, the segment's creator, writes the
 * counters, from its one thread; viewstat (and a test, or anyone) attaches read-only and reads
 * them while it runs. There is no lock, so this is the whole contract:
 *  - every counter is written and read whole, with the relaxed atomic stores and loads of
 *    stats_set / stats_add and stats_get: a reader never sees half of an old value and half of
 *    a new one (a "torn" counter). On x86-64 these are plain aligned 64-bit moves: they cost
 *    what an ordinary `++` costs, and unlike a locked increment they need no bus lock, which
 *    one writer does not need;
 *  - the counters are NOT a snapshot of one instant: a reader that reads `messages` and then
 *    `bytes` may see a message counted in one and not yet in the other. Each is right on its
 *    own and they agree again a moment later; viewstat shows them as they come.
 * The writer updates a counter with stats_add(&st->messages, 1): a read of its own value, then
 * a store, both by the one thread that writes; no read-modify-write instruction is needed.
 */
#ifndef SVRLAB_STATS_H
#define SVRLAB_STATS_H

#include "shm.h"

#include <stdint.h>

#define STATS_MAGIC 0x53544134u /* "STA4": the statistics of echosvr_v4 */
#define STATS_VERSION 1u        /* of the layout below: bump it when the layout changes */

/* The counters, 64 bytes in. All unsigned 64-bit: a signed int would overflow (undefined
 * behaviour) after 2 GiB echoed, which a fast server reaches in seconds. */
struct stats {
    uint64_t messages;        /* read callbacks that brought data (one per chunk read: TCP
                               * keeps no message boundaries) */
    uint64_t bytes;           /* bytes read from clients (and echoed) */
    uint64_t accepted;        /* connections accepted since the start */
    uint64_t open;            /* connections open now: +1 per accept, -1 per close */
    uint64_t started_ns;      /* CLOCK_REALTIME nanoseconds when the server started */
    uint64_t last_message_ns; /* CLOCK_REALTIME nanoseconds of the last message, 0 before */
};

#define STATS_SEGMENT_SIZE (SHM_HEADER_SIZE + sizeof(struct stats))

_Static_assert(sizeof(struct shm_header) <= SHM_HEADER_SIZE, "the header fits its line");
_Static_assert(sizeof(struct stats) == 6 * sizeof(uint64_t), "no padding in struct stats");

/* The counters of the segment whose base shm_create / shm_attach returned. */
static inline struct stats *stats_of(void *base)
{
    return (struct stats *)(void *)((char *)base + SHM_HEADER_SIZE);
}

/* A reader's load of one counter: whole, never torn. */
static inline uint64_t stats_get(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* The writer's store of one counter: whole, so a reader never sees it torn. */
static inline void stats_set(uint64_t *counter, uint64_t value)
{
    __atomic_store_n(counter, value, __ATOMIC_RELAXED);
}

/* The writer's increment (the writer alone: it reads its own last store back). */
static inline void stats_add(uint64_t *counter, uint64_t n)
{
    stats_set(counter, *counter + n);
}

#endif
