/*
 * flow: connection ids that a late message can not send to the wrong client (ex4.3).
 *
 * io_conn gives every client a flow id and puts it on each message it sends to md; md's
 * replies carry it back, and io_conn looks the connection up by it. The reply may come late:
 * the client may have left meanwhile, and its place in the table may already belong to a new
 * client. An id is therefore two numbers:
 *
 *     id = (generation << 32) | slot
 *
 * The slot is the index of the table entry (O(1) lookup, no hashing); the generation is a
 * counter kept in that entry and changed every time the entry is freed. An id of a closed
 * connection names the right slot with an old generation, so flow_get refuses it even when a
 * new connection lives in that slot now. Generations start at the seed given to flow_create
 * (io_conn takes it from the clock, so ids of an earlier io_conn run do not match either) and
 * are never 0, so no id is ever 0: 0 means "no flow".
 *
 * Free entries form a list threaded through the table (the free list): add takes its head,
 * remove pushes the entry back, both O(1), no allocation after flow_create. A generation
 * repeats only after 2^32 reuses of one slot.
 *
 * The table belongs to one process and one thread (io_conn's loop); it is not shared memory.
 */
#ifndef SVRLAB_FLOW_H
#define SVRLAB_FLOW_H

#include <stdint.h>

/* A connection's id: (generation << 32) | slot. 0 is never a valid id. */
typedef uint64_t flow_id;

/* The table: opaque, see flow.c. */
struct flow_table;

/* Largest capacity flow_create accepts (slot numbers must leave room for "no next"). */
#define FLOW_CAPACITY_MAX (1u << 28)

/*
 * A table of `capacity` entries (1 to FLOW_CAPACITY_MAX), all free. `seed` is the first
 * generation of every entry (0 is taken as 1). Returns the table, or NULL with errno EINVAL
 * (capacity out of range) or ENOMEM.
 */
struct flow_table *flow_create(uint32_t capacity, uint32_t seed);

/* Free the table (the objects it points to are the caller's). NULL is fine. */
void flow_destroy(struct flow_table *t);

/*
 * Give obj (not NULL) an entry. Returns its id (never 0), or 0 with errno ENOSPC (every entry
 * is taken) or EINVAL (obj is NULL). O(1).
 */
flow_id flow_add(struct flow_table *t, void *obj);

/*
 * The object of id, or NULL (errno ENOENT) if id was never issued by this table, was removed,
 * or names a slot that was reused since: any id that is not live right now, 0 and ids with a
 * slot beyond the capacity included (ids come from a queue: trust nothing). O(1).
 */
void *flow_get(const struct flow_table *t, flow_id id);

/*
 * End id: its entry becomes free and its generation changes, so id (and any copy of it still
 * travelling in a queue) is dead from now on. Returns 0, or -1 with errno ENOENT if id is not
 * live (removed already, stale, never issued). O(1).
 */
int flow_remove(struct flow_table *t, flow_id id);

/* Number of live ids. */
uint32_t flow_count(const struct flow_table *t);

/* The two halves of an id (for messages and tests). */
static inline uint32_t flow_slot(flow_id id)
{
    return (uint32_t)id;
}

static inline uint32_t flow_generation(flow_id id)
{
    return (uint32_t)(id >> 32);
}

#endif
