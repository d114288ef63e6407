/*
 * flow: the flow table (see flow.h): slots with a generation each, and a free list.
 *
 * Every entry holds the object of the connection that lives in it (NULL while the entry is
 * free), the entry's current generation, and, while free, the slot of the next free entry.
 * flow_create links all entries into the free list in order; flow_add pops its head,
 * flow_remove pushes the entry back after changing its generation. The entry that was freed
 * last is taken first: that keeps the working set small, and it is also the case a stale id
 * must survive (the slot is reused at once), which the tests check.
 */
#include "flow.h"

#include <errno.h>
#include <stdlib.h>

#define NO_SLOT UINT32_MAX /* the end of the free list */

struct flow_entry {
    void *obj;          /* the connection, or NULL while the entry is free */
    uint32_t gen;       /* the generation of the entry's current (or next) id; never 0 */
    uint32_t next_free; /* while free: the next free slot, or NO_SLOT */
};

struct flow_table {
    struct flow_entry *e;
    uint32_t capacity;
    uint32_t count;     /* live ids */
    uint32_t free_head; /* first free slot, or NO_SLOT when full */
};

struct flow_table *flow_create(uint32_t capacity, uint32_t seed)
{
    if (capacity == 0 || capacity > FLOW_CAPACITY_MAX) {
        errno = EINVAL;
        return NULL;
    }
    struct flow_table *t = malloc(sizeof *t);
    if (t == NULL)
        return NULL;
    t->e = malloc((size_t)capacity * sizeof *t->e);
    if (t->e == NULL) {
        free(t);
        return NULL;
    }
    uint32_t gen = seed != 0 ? seed : 1;
    for (uint32_t i = 0; i < capacity; i++)
        t->e[i] = (struct flow_entry){NULL, gen, i + 1 < capacity ? i + 1 : NO_SLOT};
    t->capacity = capacity;
    t->count = 0;
    t->free_head = 0;
    return t;
}

void flow_destroy(struct flow_table *t)
{
    if (t == NULL)
        return;
    free(t->e);
    free(t);
}

uint32_t flow_count(const struct flow_table *t)
{
    return t->count;
}

flow_id flow_add(struct flow_table *t, void *obj)
{
    //@solution
    if (obj == NULL) {
        errno = EINVAL;
        return 0;
    }
    uint32_t slot = t->free_head;
    if (slot == NO_SLOT) {
        errno = ENOSPC;
        return 0;
    }
    struct flow_entry *e = &t->e[slot];
    t->free_head = e->next_free;
    e->obj = obj;
    t->count++;
    return (flow_id)e->gen << 32 | slot;
    //@stub pop the head of the free list, keep obj there; id = generation << 32 | slot
    //@ (void)t;
    //@ (void)obj;
    //@ errno = ENOSYS;
    //@ return 0;
    //@end
}

void *flow_get(const struct flow_table *t, flow_id id)
{
    //@solution
    uint32_t slot = flow_slot(id);
    /* The slot first: an id read from a queue may hold anything. */
    if (slot >= t->capacity || t->e[slot].obj == NULL || t->e[slot].gen != flow_generation(id)) {
        errno = ENOENT;
        return NULL;
    }
    return t->e[slot].obj;
    //@stub the slot's object if the slot is in range, taken, and of the id's generation
    //@ (void)t;
    //@ (void)id;
    //@ errno = ENOSYS;
    //@ return NULL;
    //@end
}

int flow_remove(struct flow_table *t, flow_id id)
{
    //@solution
    uint32_t slot = flow_slot(id);
    if (slot >= t->capacity || t->e[slot].obj == NULL || t->e[slot].gen != flow_generation(id)) {
        errno = ENOENT;
        return -1;
    }
    struct flow_entry *e = &t->e[slot];
    e->obj = NULL;
    /* The next id of this slot differs from every copy of this one still in a queue. */
    e->gen++;
    if (e->gen == 0)
        e->gen = 1;
    e->next_free = t->free_head;
    t->free_head = slot;
    t->count--;
    return 0;
    //@stub free the slot: obj = NULL, a new generation (never 0), push it on the free list
    //@ (void)t;
    //@ (void)id;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}
