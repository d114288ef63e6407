/*
 * cache: the multi-hash in one shared segment, one writer and readers in other processes
 * (ex5.2). cache.h describes the rows, the slot states, the segment and the sequence lock;
 * this file follows it. A lookup makes no system call and no division: each row's `key %
 * prime` is a multiplication by a constant worked out once per handle (row_index).
 */
#include "cache.h"

#include "timing.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(struct cache_segment, rows) == 64, "geometry at 64");
_Static_assert(offsetof(struct cache_segment, entries) == 256, "statistics at 256");
_Static_assert(sizeof(struct cache_segment) == CACHE_ROWS_OFFSET, "rows at CACHE_ROWS_OFFSET");
_Static_assert(sizeof(struct cache_slot) == 16, "a slot's header is 16 bytes");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free in shared memory");

#define SPINS 64u                      /* a reader's pauses before it yields the CPU */
#define READ_PATIENCE_NS 1000000000ull /* a slot odd for this long: its writer died */
#define GROUP 4u                       /* rows a lookup loads before it branches */
#define ANY_RECORD CACHE_KEY_EMPTY     /* slot_read: copy the value of whatever record is there */

/* Row i as the handle sees it: where it starts, its prime, and the constants that compute
 * key % prime with a multiplication (see row_index). */
struct cache_row {
    unsigned char *base;
    uint64_t mul;
    uint32_t prime;
    uint32_t shift;
};

/* The geometry an attacher checked (or the creator chose): the handle uses this copy, never
 * the segment's fields again, so a segment changed behind its back can not send it outside
 * the mapping. */
struct geometry {
    uint32_t rows;
    uint32_t value_size;
    uint32_t prime[CACHE_MAX_ROWS];
};

struct cache {
    uint32_t rows;
    uint32_t slot_size;
    uint32_t value_size;
    int readonly;
    struct cache_segment *seg;
    unsigned char *copy; /* cache_foreach's copy of one value */
    struct cache_row row[CACHE_MAX_ROWS];
};

/* What writer_find saw along key's probe. */
struct probe {
    struct cache_slot *found; /* the slot holding key, or NULL */
    uint32_t found_row;
    struct cache_slot *free; /* the first EMPTY or REMOVED slot before it, or NULL */
    uint32_t free_row;
};

/* the gaps */
static int is_prime(uint32_t n);
static int check_geometry(const struct cache_segment *seg, struct geometry *g);
static inline int slot_read(const struct cache *c, const struct cache_slot *s, uint64_t want,
                            uint64_t *key, void *value, uint64_t *retries);
static int writer_find(const struct cache *c, uint64_t key, struct probe *p);
/* given helpers for the gaps (some unused in the starter until the gaps are filled) */
static int backoff(uint64_t tries, uint64_t *since) __attribute__((unused));
static void slot_write(const struct cache *c, struct cache_slot *s, uint64_t key,
                       const void *value);
static void count(_Atomic uint64_t *x, int64_t delta);

/* ---- rows and slots (given) ------------------------------------------------------------------ */

static int live(uint64_t key)
{
    return key != CACHE_KEY_EMPTY && key != CACHE_KEY_REMOVED;
}

/*
 * The constants of row_index for the divisor p >= 2 (Granlund and Montgomery, "Division by
 * invariant integers using multiplication", 1994, figure 4.1): with l = ceil(log2 p),
 * mul = floor(2^64 * (2^l - p) / p) + 1 fits in 64 bits, and for every 64-bit n,
 * n / p = (t + ((n - t) >> 1)) >> (l - 1), where t = (n * mul) >> 64.
 */
static void row_divisor(struct cache_row *r, uint32_t p)
{
    uint32_t l = 0;
    while (((uint64_t)1 << l) < p)
        l++;
    unsigned __int128 num = (unsigned __int128)(((uint64_t)1 << l) - p) << 64;
    r->mul = (uint64_t)(num / p) + 1;
    r->shift = l - 1;
    r->prime = p;
}

/* key % r->prime. A 64-bit division takes 15 to 90 cycles depending on the CPU; this takes
 * two multiplications and a few additions and shifts. */
static inline uint64_t row_index(const struct cache_row *r, uint64_t key)
{
    uint64_t t = (uint64_t)(((unsigned __int128)key * r->mul) >> 64);
    uint64_t q = (t + ((key - t) >> 1)) >> r->shift;
    return key - q * r->prime;
}

/* Slot key % prime of row i. */
static inline struct cache_slot *slot_of(const struct cache *c, uint32_t i, uint64_t key)
{
    const struct cache_row *r = &c->row[i];
    return (struct cache_slot *)(r->base + row_index(r, key) * c->slot_size);
}

/* Slot j of row i. */
static inline struct cache_slot *slot_at(const struct cache *c, uint32_t i, uint64_t j)
{
    return (struct cache_slot *)(c->row[i].base + j * c->slot_size);
}

/* memcpy(dst, src, n) for a value: n is often a small multiple of 8 (a struct of 64-bit
 * counters), and src is 8-aligned (in a slot); then 8-byte moves in line are cheaper than a
 * call of the C library's memcpy, which has to look at n first. */
static inline void copy_value(void *dst, const void *src, size_t n)
{
    if ((n & 7) == 0 && n <= 64) {
        for (size_t i = 0; i < n; i += 8)
            memcpy((unsigned char *)dst + i, (const unsigned char *)src + i, 8);
    } else {
        memcpy(dst, src, n);
    }
}

/*
 * A reader found a slot odd, or changed during its copy, for the tries-th time (from 1):
 * pause. At first a spin (the writer is a few nanoseconds from done); then, since the writer
 * may be waiting for this very CPU (two processes, one CPU), yield it. -1 with errno EAGAIN
 * once the slot has stayed busy for READ_PATIENCE_NS: its writer died in the middle.
 */
static int backoff(uint64_t tries, uint64_t *since)
{
    if (tries < SPINS) {
        timing_cpu_relax();
        return 0;
    }
    uint64_t now = timing_now_ns();
    if (tries == SPINS)
        *since = now;
    else if (now - *since > READ_PATIENCE_NS) {
        errno = EAGAIN;
        return -1;
    }
    sched_yield();
    return 0;
}

/*
 * The writer's half of the sequence lock: make seq odd, then (release fence: a reader that
 * sees any of the new bytes sees the odd seq too) write the key and the value (zeros if value
 * is NULL), then make seq even with a release store (a reader that sees the new seq sees
 * every new byte).
 */
static void slot_write(const struct cache *c, struct cache_slot *s, uint64_t key, const void *value)
{
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    __atomic_store_n(&s->key, key, __ATOMIC_RELAXED);
    if (value)
        memcpy(s->value, value, c->value_size);
    else
        memset(s->value, 0, c->value_size);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/* A statistics counter of the segment: one writer, so a load and a store (a locked add would
 * cost 20 cycles for nothing); readers load it whenever they like. */
static void count(_Atomic uint64_t *x, int64_t delta)
{
    atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + (uint64_t)delta,
                          memory_order_relaxed);
}

/* The writer's checks before a change: a read-only handle can not write (EPERM), reserved
 * keys are no records (EINVAL). */
static int writer_check(const struct cache *c, uint64_t key)
{
    if (c->readonly) {
        errno = EPERM;
        return -1;
    }
    if (!live(key)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* Put key and value (NULL: zeros) into p->free, the first free slot of key's probe, and count
 * the new record. */
static void slot_claim(struct cache *c, const struct probe *p, uint64_t key, const void *value)
{
    struct cache_segment *seg = c->seg;
    if (p->free->key == CACHE_KEY_REMOVED)
        count(&seg->tombstones, -1);
    slot_write(c, p->free, key, value);
    count(&seg->fill[p->free_row], 1);
    count(&seg->entries, 1);
    count(&seg->inserts, 1);
}

/* ---- the primes ------------------------------------------------------------------------------ */

/* 1 if n is a prime, 0 if not. */
static int is_prime(uint32_t n)
{
    //@solution
    if (n < 2)
        return 0; /* 0 and 1 are not primes: a row of length 1 is no row */
    if (n < 4)
        return 1;
    if (n % 2 == 0)
        return 0;
    /* an odd composite n has an odd divisor d with d * d <= n: try those (d <= n / d says
     * it without overflow) */
    for (uint32_t d = 3; d <= n / d; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
    //@stub Return 1 if n is a prime, 0 if not (what are 0 and 1?); trial division by odd d, d*d <= n
    //@ (void)n;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

int cache_primes(uint32_t row_len, uint32_t rows, uint32_t *primes)
{
    if (rows == 0 || rows > CACHE_MAX_ROWS) {
        errno = EINVAL;
        return -1;
    }
    uint32_t found = 0;
    for (uint32_t n = row_len; n > 0 && found < rows; n--) {
        int p = is_prime(n);
        if (p < 0)
            return -1;
        if (p)
            primes[found++] = n;
    }
    if (found < rows) {
        errno = EINVAL; /* a multi-hash with fewer rows than asked for is not what was asked */
        return -1;
    }
    return 0;
}

size_t cache_segment_size(uint32_t rows, const uint32_t *primes, uint32_t value_size)
{
    uint64_t slots = 0;
    for (uint32_t i = 0; i < rows; i++)
        slots += primes[i];
    /* at most 32 rows of 2^32 slots of CACHE_SLOT_SIZE(4096) bytes: below 2^50, no overflow */
    return CACHE_ROWS_OFFSET + (size_t)(slots * CACHE_SLOT_SIZE(value_size));
}

/* ---- creating, attaching --------------------------------------------------------------------- */

/* A handle on seg with geometry g; NULL with ENOMEM. */
static struct cache *handle_new(struct cache_segment *seg, const struct geometry *g, int readonly)
{
    struct cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->copy = malloc(g->value_size);
    if (!c->copy) {
        free(c);
        return NULL;
    }
    c->seg = seg;
    c->rows = g->rows;
    c->value_size = g->value_size;
    c->slot_size = (uint32_t)CACHE_SLOT_SIZE(g->value_size);
    c->readonly = readonly;
    unsigned char *base = (unsigned char *)seg + CACHE_ROWS_OFFSET;
    for (uint32_t i = 0; i < g->rows; i++) {
        c->row[i].base = base;
        row_divisor(&c->row[i], g->prime[i]);
        base += (size_t)g->prime[i] * c->slot_size;
    }
    /* cache_lookup reads rows GROUP at a time: the rows after the last one up to a multiple
     * of GROUP are copies of the last, so it needs no test for the end inside a group */
    for (uint32_t i = g->rows; i % GROUP != 0; i++)
        c->row[i] = c->row[g->rows - 1];
    return c;
}

struct cache *cache_create(key_t key, uint32_t rows, uint32_t row_len, uint32_t value_size)
{
    struct geometry g = {rows, value_size, {0}};
    if (value_size == 0 || value_size > CACHE_MAX_VALUE) {
        errno = EINVAL;
        return NULL;
    }
    if (cache_primes(row_len, rows, g.prime) != 0)
        return NULL;
    size_t size = cache_segment_size(rows, g.prime, value_size);
    struct cache_segment *seg = shm_create(key, size, CACHE_MAGIC, CACHE_VERSION);
    if (!seg)
        return NULL;
    struct cache *c = handle_new(seg, &g, 0);
    if (!c) {
        (void)shm_detach(seg);
        (void)shm_remove(key);
        errno = ENOMEM;
        return NULL;
    }
    /* The kernel zero-filled the segment: every slot is EMPTY with seq 0, every counter 0. */
    seg->row_len = row_len;
    seg->value_size = value_size;
    seg->slot_size = c->slot_size;
    uint64_t slots = 0;
    for (uint32_t i = 0; i < rows; i++) {
        seg->prime[i] = g.prime[i];
        slots += g.prime[i];
    }
    seg->slots = slots;
    /* Last, and released: an attacher that loads rows != 0 (acquire) sees the fields above. */
    atomic_store_explicit(&seg->rows, rows, memory_order_release);
    return c;
}

/*
 * Check the geometry of an attached segment (whose header shm_attach checked: its size is
 * the mapping's) and copy it into g. 0, or -1 with errno: EAGAIN (rows still 0: the creator
 * is filling it in), EINVAL (anything impossible, or a size that is not this geometry's).
 * Reads only.
 */
static int check_geometry(const struct cache_segment *seg, struct geometry *g)
{
    //@solution
    uint32_t rows = atomic_load_explicit(&seg->rows, memory_order_acquire);
    if (rows == 0) {
        errno = EAGAIN;
        return -1;
    }
    /* Read each field once: the values checked are the values used. */
    uint32_t row_len = seg->row_len, value_size = seg->value_size;
    if (rows > CACHE_MAX_ROWS || value_size == 0 || value_size > CACHE_MAX_VALUE ||
        seg->slot_size != CACHE_SLOT_SIZE(value_size)) {
        errno = EINVAL;
        return -1;
    }
    g->rows = rows;
    g->value_size = value_size;
    if (cache_primes(row_len, rows, g->prime) != 0)
        return -1; /* EINVAL: fewer primes than rows up to that row_len */
    uint64_t slots = 0;
    for (uint32_t i = 0; i < rows; i++) {
        if (seg->prime[i] != g->prime[i]) {
            errno = EINVAL;
            return -1;
        }
        slots += g->prime[i];
    }
    /* The rows must end exactly where the segment does: larger primes or slots than the
     * creator's would send a lookup beyond the mapping. */
    if (seg->slots != slots || seg->hdr.size != cache_segment_size(rows, g->prime, value_size)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
    //@stub rows (0: EAGAIN), value_size, slot_size, the primes of row_len, the size; fill g
    //@ (void)seg;
    //@ (void)g;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

struct cache *cache_attach(key_t key, int readonly)
{
    struct cache_segment *seg = shm_attach(key, CACHE_MAGIC, CACHE_VERSION, 0, readonly);
    if (!seg)
        return NULL;
    struct geometry g;
    struct cache *c = NULL;
    if (check_geometry(seg, &g) == 0 && (c = handle_new(seg, &g, readonly)) == NULL)
        errno = ENOMEM;
    if (!c) {
        int err = errno;
        (void)shm_detach(seg);
        errno = err;
    }
    return c;
}

void cache_close(struct cache *c)
{
    if (!c)
        return;
    (void)shm_detach(c->seg);
    free(c->copy);
    free(c);
}

int cache_destroy(key_t key)
{
    return shm_remove(key);
}

/* ---- readers --------------------------------------------------------------------------------- */

/*
 * Read slot s as one state the writer left it in: its key into *key and, when that key is
 * `want` (or any record's key if want is ANY_RECORD) and value is not NULL, its value into
 * value. Copies made again (the slot was odd, or its seq changed during the copy) are added
 * to *retries unless retries is NULL. 0, or -1 with errno EAGAIN (backoff gave up).
 */
static inline int slot_read(const struct cache *c, const struct cache_slot *s, uint64_t want,
                            uint64_t *key, void *value, uint64_t *retries)
{
    //@solution
    uint64_t tries = 0, since = 0;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        if ((seq & 1) == 0) {
            uint64_t k = __atomic_load_n(&s->key, __ATOMIC_RELAXED);
            if (value && (k == want || (want == ANY_RECORD && live(k))))
                copy_value(value, s->value, c->value_size);
            /* the copy's loads before the second look at seq */
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&s->seq, memory_order_relaxed) == seq) {
                *key = k;
                if (retries)
                    *retries += tries;
                return 0;
            }
        }
        if (backoff(++tries, &since) != 0)
            return -1;
    }
    //@stub seq (acquire): odd? backoff; copy key (and value); fence; seq changed? again
    //@ (void)c, (void)s, (void)want, (void)key, (void)value, (void)retries;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

int cache_lookup(const struct cache *c, uint64_t key, void *value, uint64_t *seq_retries)
{
    //@solution
    if (!live(key)) {
        errno = EINVAL;
        return -1;
    }
    /* GROUP rows at a time: their keys are loaded first, with no branch between the loads, so
     * the CPU fetches the GROUP slots at once (a miss in the cache costs the same for four
     * slots as for one); then which of them holds key, or is EMPTY, is worked out with bit
     * masks. A loop that tested each row before loading the next would pay one mispredicted
     * branch and one full memory latency per row, and no two lookups would overlap. These
     * unlocked loads are only a guess: slot_read confirms under the sequence lock. */
    uint32_t rows = c->rows;
    for (uint32_t i = 0; i < rows; i += GROUP) {
        const struct cache_slot *s[GROUP];
        uint64_t k[GROUP];
        const struct cache_row *r = &c->row[i];
#pragma GCC unroll 4
        for (uint32_t j = 0; j < GROUP; j++) { /* rows past the last repeat the last one */
            s[j] = (const struct cache_slot *)(r[j].base + row_index(&r[j], key) * c->slot_size);
            k[j] = __atomic_load_n(&s[j]->key, __ATOMIC_RELAXED);
        }
        unsigned hit = 0, empty = 0;
#pragma GCC unroll 4
        for (uint32_t j = 0; j < GROUP; j++)
            hit |= (unsigned)(k[j] == key) << j;
        if (hit) {
            uint64_t seen;
            if (slot_read(c, s[__builtin_ctz(hit)], key, &seen, value, seq_retries) != 0)
                return -1;
            if (seen == key)
                return 0;
            break; /* removed since the guess: not there now */
        }
#pragma GCC unroll 4
        for (uint32_t j = 0; j < GROUP; j++)
            empty |= (unsigned)(k[j] == CACHE_KEY_EMPTY) << j;
        if (empty)
            break; /* an insert never passes an EMPTY slot: key is in no later row */
    }
    errno = ENOENT;
    return -1;
    //@stub probe row 0, 1, ... (slot_of, slot_read) until key, or an EMPTY slot: ENOENT
    //@ (void)c, (void)key, (void)value, (void)seq_retries;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

int cache_foreach(const struct cache *c, int (*fn)(uint64_t key, const void *value, void *arg),
                  void *arg)
{
    for (uint32_t i = 0; i < c->rows; i++) {
        for (uint64_t j = 0; j < c->row[i].prime; j++) {
            uint64_t k;
            if (slot_read(c, slot_at(c, i, j), ANY_RECORD, &k, c->copy, NULL) != 0)
                return -1;
            if (live(k)) {
                int rc = fn(k, c->copy, arg);
                if (rc != 0)
                    return rc;
            }
        }
    }
    return 0;
}

int cache_stats(const struct cache *c, struct cache_stats *out)
{
    struct cache_segment *seg = c->seg;
    memset(out, 0, sizeof *out);
    out->rows = c->rows;
    out->row_len = seg->row_len;
    out->value_size = c->value_size;
    for (uint32_t i = 0; i < c->rows; i++) {
        out->prime[i] = c->row[i].prime;
        out->slots += c->row[i].prime;
        out->fill[i] = atomic_load_explicit(&seg->fill[i], memory_order_relaxed);
    }
    out->entries = atomic_load_explicit(&seg->entries, memory_order_relaxed);
    out->load = (double)out->entries / (double)out->slots;
    out->tombstones = atomic_load_explicit(&seg->tombstones, memory_order_relaxed);
    out->inserts = atomic_load_explicit(&seg->inserts, memory_order_relaxed);
    out->removes = atomic_load_explicit(&seg->removes, memory_order_relaxed);
    out->updates = atomic_load_explicit(&seg->updates, memory_order_relaxed);
    out->full = atomic_load_explicit(&seg->full, memory_order_relaxed);
    return 0;
}

/* ---- the writer ------------------------------------------------------------------------------ */

/*
 * Walk key's probe as the writer (no sequence lock: nobody else writes) and fill p: the slot
 * holding key, if any, and the first free (EMPTY or REMOVED) slot met before it. The walk
 * stops at key, or at the first EMPTY slot (key is in no later row), or after the last row.
 * 0, or -1 with errno.
 */
static int writer_find(const struct cache *c, uint64_t key, struct probe *p)
{
    //@solution
    p->found = NULL;
    p->free = NULL;
    p->found_row = p->free_row = 0;
    for (uint32_t i = 0; i < c->rows; i++) {
        struct cache_slot *s = slot_of(c, i, key);
        uint64_t k = s->key;
        if (k == key) {
            p->found = s;
            p->found_row = i;
            return 0;
        }
        if (!live(k) && !p->free) {
            p->free = s;
            p->free_row = i;
        }
        /* A tombstone does not end the walk: key may live further down, put there while
         * this slot held another record. */
        if (k == CACHE_KEY_EMPTY)
            return 0;
    }
    return 0;
    //@stub walk rows 0, 1, ... (slot_of): key's slot, the first free one; stop at EMPTY
    //@ (void)c, (void)key, (void)p;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

int cache_insert(struct cache *c, uint64_t key, const void *value)
{
    if (writer_check(c, key) != 0)
        return -1;
    //@solution
    struct probe p;
    if (writer_find(c, key, &p) != 0)
        return -1;
    if (p.found) {
        errno = EEXIST;
        return -1;
    }
    if (!p.free) {
        count(&c->seg->full, 1);
        errno = ENOSPC; /* every slot of the probe holds another record: overwrite none */
        return -1;
    }
    slot_claim(c, &p, key, value);
    return 0;
    //@stub writer_find; EEXIST if found; ENOSPC (count full) if no free slot; slot_claim
    //@ (void)value;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

void *cache_get_or_claim(struct cache *c, uint64_t key, int *created)
{
    struct probe p;
    if (writer_check(c, key) != 0 || writer_find(c, key, &p) != 0)
        return NULL;
    if (p.found) {
        *created = 0;
        return p.found->value;
    }
    if (!p.free) {
        count(&c->seg->full, 1);
        errno = ENOSPC;
        return NULL;
    }
    slot_claim(c, &p, key, NULL);
    *created = 1;
    return p.free->value;
}

int cache_update(struct cache *c, uint64_t key, const void *value)
{
    struct probe p;
    if (writer_check(c, key) != 0 || writer_find(c, key, &p) != 0)
        return -1;
    if (!p.found) {
        errno = ENOENT;
        return -1;
    }
    slot_write(c, p.found, key, value);
    count(&c->seg->updates, 1);
    return 0;
}

int cache_remove(struct cache *c, uint64_t key)
{
    if (writer_check(c, key) != 0)
        return -1;
    //@solution
    struct probe p;
    if (writer_find(c, key, &p) != 0)
        return -1;
    if (!p.found) {
        errno = ENOENT;
        return -1;
    }
    struct cache_segment *seg = c->seg;
    /* A tombstone keeps the probes of keys further down going; after the last row there is
     * no further down, so the slot can be EMPTY again. */
    int last = p.found_row == c->rows - 1;
    slot_write(c, p.found, last ? CACHE_KEY_EMPTY : CACHE_KEY_REMOVED, NULL);
    if (!last)
        count(&seg->tombstones, 1);
    count(&seg->fill[p.found_row], -1);
    count(&seg->entries, -1);
    count(&seg->removes, 1);
    return 0;
    //@stub writer_find; ENOENT; a tombstone (EMPTY in the last row) via slot_write; counters
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}
