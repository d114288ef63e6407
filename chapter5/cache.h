/*
 * cache: the multi-hash, fixed-size records in one System V shared memory segment, with one
 * writer process and any number of reader processes, no lock (ex5.2).
 *
 * THE TABLE. A record is a 64-bit key and value_size bytes. The slots are cut into `rows`
 * rows; row i has p_i slots, where p_0 > p_1 > ... are the largest distinct primes not above
 * row_len (row_len 100, 4 rows: 97, 89, 83, 79). Key k may live in one slot of each row only,
 * slot k % p_i of row i, and nowhere else:
 *
 *   row 0  (97 slots)  [  .  .  .  .  A  .  .  .  .  .  ...  ]   k % 97
 *   row 1  (89 slots)  [  .  .  B  .  .  .  .  .  ...  ]         k % 89
 *   row 2  (83 slots)  [  .  .  .  .  .  .  C  ...  ]            k % 83
 *   row 3  (79 slots)  [  .  .  .  .  .  ...  ]                  k % 79
 *
 * A lookup probes row 0, then row 1, and so on: at most `rows` slots, each at a place computed
 * at once, never a chain or a run to follow. Two keys that share a slot in one row (k and
 * k + p_0 in row 0) land apart in the next, because the moduli are distinct primes: they meet
 * again in every row only if they differ by a multiple of p_0 * p_1 * ... . An insert takes
 * the first free slot of its probe, so the rows fill from the top, and the table can be loaded
 * far beyond what one row would allow (the chapter guide has the figures per number of rows).
 * When all `rows` slots of a key are taken, the insert fails (ENOSPC): nothing is overwritten.
 *
 * SLOT STATES, in `key`: CACHE_KEY_EMPTY (0, never used since creation), CACHE_KEY_REMOVED
 * (a tombstone: held a record once), or a record's key. A lookup stops at the first EMPTY
 * slot of its probe: an insert never passes an EMPTY slot, so a key is never found beyond one.
 * A remove must therefore leave a tombstone, not EMPTY, in every row but the last (there a
 * slot can go back to EMPTY: no probe goes further). Inserts reuse tombstones; an insert must
 * still probe on, up to the first EMPTY slot, before it puts its key into a tombstone, or it
 * adds a second copy of a key that lives further down. Keys 0 and UINT64_MAX are reserved.
 *
 * THE SEGMENT (offsets from its base; the structures below fix every field):
 *
 *   [0, 64)       struct shm_header   magic CACHE_MAGIC, version, size: written by shm_create
 *   [64, 256)     geometry            rows, row_len, value_size, slot_size, slots, the primes:
 *                                     written once by the creator, rows last (release)
 *   [256, 576)    statistics          entries, tombstones, counters, fill per row: written by
 *                                     the writer only (relaxed atomics), read by anyone
 *   [576, ...)    the rows            row 0's p_0 slots, then row 1's p_1 slots, ...: slot j of
 *                                     row i is at CACHE_ROWS_OFFSET + (p_0 + ... + p_{i-1} + j)
 *                                     * slot_size. Written by the writer only.
 *
 * A slot (struct cache_slot) is a sequence number, the key, then the value, padded to a
 * multiple of 8 bytes (CACHE_SLOT_SIZE). The segment's size is CACHE_ROWS_OFFSET + (p_0 + ...
 * + p_{rows-1}) * slot_size exactly; an attacher checks that before it touches a row.
 *
 * NO TORN READS: A SEQUENCE LOCK PER SLOT. Readers never write, so they can not lock. The
 * writer makes a slot's seq odd before it changes the slot and even again after (seq + 1,
 * release fence, the writes, seq + 1 with a release store). A reader loads seq (acquire),
 * waits while it is odd, copies the key and the value, and loads seq again after an acquire
 * fence: if it changed, the writer was in the slot during the copy, and the copy may be half
 * old, half new; the reader copies again. A copy whose seq did not change is a record as the
 * writer left it. On x86 the fences cost nothing but the compiler's reordering; the price is
 * two loads of a line the reader reads anyway.
 *
 * WHO DOES WHAT. Exactly one process writes (insert, update, remove, get_or_claim) at a time:
 * the caller sees to it (two writers corrupt the table). Readers (lookup, foreach, stats) may
 * be in any process, attached read-only or not. A handle is for one thread. All functions set
 * errno on failure.
 */
#ifndef SVRLAB_CACHE_H
#define SVRLAB_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm.h"

#define CACHE_MAGIC 0x48434d53u /* "SMCH" */
#define CACHE_VERSION 1u
#define CACHE_MAX_ROWS 32u
#define CACHE_MAX_VALUE 4096u        /* value_size: 1 to this many bytes */
#define CACHE_KEY_EMPTY 0u           /* a slot never used */
#define CACHE_KEY_REMOVED UINT64_MAX /* a tombstone */
#define CACHE_ROWS_OFFSET 576u       /* where row 0 starts in the segment */

/* One slot. The value's value_size bytes follow the key, then padding to a multiple of 8. */
struct cache_slot {
    _Atomic uint32_t seq; /* even: stable; odd: the writer is changing this slot */
    uint32_t pad;
    uint64_t key;          /* CACHE_KEY_EMPTY, CACHE_KEY_REMOVED or a record's key */
    unsigned char value[]; /* value_size bytes */
};

/* Bytes a slot takes for values of value_size bytes. */
#define CACHE_SLOT_SIZE(value_size)                                                                \
    ((sizeof(struct cache_slot) + (uint64_t)(value_size) + 7u) & ~(uint64_t)7u)

/* The segment up to the rows, field by field (see the layout above; offsets are fixed by the
 * static assertions in cache.c, and the grader's tests rely on them). */
struct cache_segment {
    struct shm_header hdr;
    /* geometry: the creator writes every other field, then rows with a release store; an
     * attacher that loads rows (acquire) != 0 sees them all. Nobody writes them afterwards. */
    _Alignas(64) _Atomic uint32_t rows; /* 1 to CACHE_MAX_ROWS; 0 while being created */
    uint32_t row_len;                   /* as given to cache_create: every prime is <= it */
    uint32_t value_size;                /* 1 to CACHE_MAX_VALUE */
    uint32_t slot_size;                 /* CACHE_SLOT_SIZE(value_size) */
    uint64_t slots;                     /* prime[0] + ... + prime[rows - 1] */
    uint32_t prime[CACHE_MAX_ROWS];     /* row i's length, decreasing; 0 beyond rows */
    /* statistics: the writer's alone (relaxed load + store: it is their only writer) */
    _Alignas(64) _Atomic uint64_t entries; /* records in the table */
    _Atomic uint64_t tombstones;           /* slots holding CACHE_KEY_REMOVED */
    _Atomic uint64_t inserts;              /* records added (insert, get_or_claim) */
    _Atomic uint64_t removes;              /* records removed */
    _Atomic uint64_t updates;              /* values replaced by cache_update */
    _Atomic uint64_t full;                 /* inserts refused with ENOSPC */
    _Atomic uint64_t fill[CACHE_MAX_ROWS]; /* records in row i */
};

/* What cache_stats reports: the geometry and the writer's counters at one moment. */
struct cache_stats {
    uint32_t rows;
    uint32_t row_len;
    uint32_t value_size;
    uint64_t slots;   /* all rows together */
    uint64_t entries; /* records */
    double load;      /* entries / slots */
    uint64_t tombstones;
    uint64_t inserts, removes, updates, full;
    uint32_t prime[CACHE_MAX_ROWS]; /* row i's length */
    uint64_t fill[CACHE_MAX_ROWS];  /* records in row i */
};

struct cache; /* process-local handle */

/*
 * The `rows` largest distinct primes not above row_len, in decreasing order, into
 * primes[0 .. rows). 0, or -1 with errno EINVAL: rows is 0 or above CACHE_MAX_ROWS, or there
 * are fewer than `rows` primes up to row_len (1 is not a prime; nor is 0).
 */
int cache_primes(uint32_t row_len, uint32_t rows, uint32_t *primes);

/* The segment's size for that geometry (primes as cache_primes gives them). */
size_t cache_segment_size(uint32_t rows, const uint32_t *primes, uint32_t value_size);

/*
 * Create the multi-hash at `key` (mode 0600; a key that is taken is refused) with `rows` rows
 * of the largest distinct primes up to row_len, for values of value_size bytes; every slot
 * empty. The handle may write (the caller is the writer). Returns it, or NULL with errno:
 * EINVAL (rows, too few primes, value_size 0 or above CACHE_MAX_VALUE), EEXIST (a segment is
 * at key: untouched), ENOMEM, or shm_create's errno.
 */
struct cache *cache_create(key_t key, uint32_t rows, uint32_t row_len, uint32_t value_size);

/*
 * Attach the existing multi-hash at `key`, read-only if `readonly`. It never writes to the
 * segment: the records stay as they are (a restarted writer carries on with them). It checks
 * the header (shm_attach: ENOENT, EBADMSG foreign, EPROTO other version, EAGAIN being created)
 * and then the geometry: rows 1 to CACHE_MAX_ROWS, the primes those cache_primes gives for
 * row_len, value_size and slot_size consistent, and the segment exactly as large as that
 * geometry needs (EINVAL otherwise). Returns the handle, or NULL with errno.
 */
struct cache *cache_attach(key_t key, int readonly);

/* Detach and free the handle; the segment stays (cache_destroy removes it). NULL is fine. */
void cache_close(struct cache *c);

/* Remove the segment at key (IPC_RMID): it goes once the last process has detached, and the
 * key is free at once. 0, or -1 with errno (ENOENT: none there). */
int cache_destroy(key_t key);

/*
 * Find key; copy its value (value_size bytes) to value unless value is NULL. The copy is a
 * record as the writer left it, never half of one (see the sequence lock above). If
 * seq_retries is not NULL, the number of copies made again is added to *seq_retries.
 * 0, or -1 with errno: ENOENT (not there), EINVAL (a reserved key), EAGAIN (a slot stayed odd
 * for about a second: the writer died in the middle of a change).
 */
int cache_lookup(const struct cache *c, uint64_t key, void *value, uint64_t *seq_retries);

/*
 * Writer only. Add the record (key, value: value_size bytes, NULL for zeros) in the first
 * free slot of key's probe. 0, or -1 with errno: EEXIST (key is in the table, in any row:
 * never a second copy, also after removals), ENOSPC (every slot of key's probe holds another
 * record: nothing was changed), EINVAL (key 0 or UINT64_MAX), EPERM (a read-only handle).
 */
int cache_insert(struct cache *c, uint64_t key, const void *value);

/*
 * Writer only. The value of key if it is there (*created = 0), else a slot claimed for key
 * with a zero value (*created = 1). The pointer is into the segment, valid until the record
 * is removed: read through it, but change the value with cache_update, so that readers never
 * see it half written. NULL with errno: ENOSPC, EINVAL, EPERM (as cache_insert).
 */
void *cache_get_or_claim(struct cache *c, uint64_t key, int *created);

/* Writer only. Replace key's value. 0, or -1 with errno: ENOENT, EINVAL, EPERM. */
int cache_update(struct cache *c, uint64_t key, const void *value);

/* Writer only. Remove key's record. 0, or -1 with errno: ENOENT, EINVAL, EPERM. */
int cache_remove(struct cache *c, uint64_t key);

/*
 * Call fn(key, value, arg) for each record, row by row; value points to a copy that is one
 * record as the writer left it (valid during the call). Records changed during the walk may
 * be seen or not. Stops at the first fn that returns non-zero and returns that value; else 0
 * (-1 with errno EAGAIN as cache_lookup).
 */
int cache_foreach(const struct cache *c, int (*fn)(uint64_t key, const void *value, void *arg),
                  void *arg);

/* The geometry and the statistics. 0 (it can not fail on a handle cache_create or
 * cache_attach returned). */
int cache_stats(const struct cache *c, struct cache_stats *out);

#endif
