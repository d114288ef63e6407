/*
 * cachebench: what the multi-hash costs and how full it gets (ex5.2's figures; not a student
 * file: it links whichever cache.c is built next to it, so `build/chapter5/cachebench`
 * measures yours).
 *
 *   cachebench [-k KEY] [-m MODE] [-e ENTRIES] [-r ROWS] [-l LOAD%] [-v VALUE_SIZE]
 *              [-n LOOKUPS] [-o ORDER] [-s SEED] [-V]
 *
 * MODE:
 *   lookup  (default) a multi-hash of ROWS rows holding ENTRIES random keys at LOAD% of its
 *           slots, and a plain linear-probing table (one array, the same number of slots,
 *           Fibonacci hashing) holding the same keys, in this one process. Each table answers
 *           LOOKUPS hits (inserted keys, in random order) and LOOKUPS misses (keys never
 *           inserted), after one untimed pass of each to warm the caches; ORDER 0 measures the
 *           multi-hash first, 1 the linear table first. Two lines, one per table:
 *           table=... entries=... rows=... slots=... load=... hit_ns=... miss_ns=...
 *           (the multi-hash's also: probes_per_hit= rows a hit reads on average, retries=
 *           copies made again under the sequence lock, none here since nobody writes,
 *           insert_failures= keys it refused while being filled, replaced by others).
 *   fill    an empty multi-hash of ROWS rows of about ENTRIES slots in all gets fresh random
 *           keys until 2 x its slots have been tried: one line with the load at the first
 *           refused insert (first_fail=), where the failure rate over the last 1,000 tries
 *           first reached 1%, 10% and 50%, and the load at the end; then, with -V, a line per
 *           band of 2% of load: the tries made at that load and how many failed.
 *   icount  ENTRIES keys, then LOOKUPS hit lookups, nothing else depending on LOOKUPS: run
 *           under callgrind with two values of -n, the difference of the instruction counts
 *           over the difference of -n is the instructions of one hit (bench/icount.sh, and
 *           the guard of `make test`: bench/baseline/icount.txt).
 *
 * Keys are 64-bit random numbers (SEED), never 0 or UINT64_MAX; values VALUE_SIZE bytes.
 * The segment is made at KEY (by default one made of the process id, so that two runs do not
 * collide) and removed before the exit.
 */
#include "args.h"
#include "cache.h"
#include "log.h"
#include "timing.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAND 0.02    /* fill mode: width of a band of load */
#define WINDOW 1000u /* fill mode: tries the running failure rate is taken over */

struct opts {
    key_t key;
    const char *mode;
    long entries, rows, load, value_size, lookups, order, verbose;
    uint64_t seed;
};

/* The plain table: slots of a key and the value, key 0 = empty, no removal. */
struct linear {
    unsigned char *slots;
    uint64_t n; /* slots */
    size_t slot_size;
    size_t value_size;
};

static void usage(FILE *out);
static uint64_t next_key(uint64_t *state);
static uint32_t row_len_for(long slots, long rows);
static struct cache *make_cache(const struct opts *o, uint32_t row_len);
static int fill_keys(struct cache *c, const struct opts *o, uint64_t *keys, uint64_t *state,
                     uint64_t *failures);
static int finish(struct cache *c, const struct opts *o, int rc);
static int linear_init(struct linear *t, uint64_t n, size_t value_size);
static int linear_insert(struct linear *t, uint64_t key, const void *value);
static int linear_lookup(const struct linear *t, uint64_t key, void *value);
static int run_lookup(const struct opts *o);
static int run_fill(const struct opts *o);
static int run_icount(const struct opts *o);

int main(int argc, char **argv)
{
    log_init(argv[0]);
    struct opts o = {0, "lookup", 100000, 8, 80, 16, 2000000, 0, 0, 1};
    int have_key = 0;
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "k:m:e:r:l:v:n:o:s:Vh", longs, NULL)) != -1) {
        switch (ch) {
        case 'k':
            o.key = args_ipc_key(optarg);
            have_key = 1;
            break;
        case 'm': o.mode = optarg; break;
        case 'e': o.entries = args_number("-e", optarg, 1, 100000000); break;
        case 'r': o.rows = args_number("-r", optarg, 1, CACHE_MAX_ROWS); break;
        case 'l': o.load = args_number("-l", optarg, 1, 100); break;
        case 'v': o.value_size = args_number("-v", optarg, 1, CACHE_MAX_VALUE); break;
        case 'n': o.lookups = args_number("-n", optarg, 1, 1000000000); break;
        case 'o': o.order = args_number("-o", optarg, 0, 1); break;
        case 's': o.seed = (uint64_t)args_number("-s", optarg, 1, 1000000000); break;
        case 'V': o.verbose = 1; break;
        case 'h': usage(stdout); return 0;
        default: args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
    if (!have_key)
        o.key = (key_t)(0x7c5e0000 + getpid() % 65536);
    if (strcmp(o.mode, "lookup") == 0)
        return run_lookup(&o);
    if (strcmp(o.mode, "fill") == 0)
        return run_fill(&o);
    if (strcmp(o.mode, "icount") == 0)
        return run_icount(&o);
    args_usage_error("unknown mode '%s'", o.mode);
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: cachebench [-k KEY] [-m MODE] [-e ENTRIES] [-r ROWS] [-l LOAD%%] [-v SIZE]\n"
        "                  [-n LOOKUPS] [-o ORDER] [-s SEED] [-V]\n"
        "Measures the multi-hash (cache.c) against a linear-probing table; results on stdout.\n"
        "  -k KEY      System V key of the multi-hash's segment, removed at the end\n"
        "              (default: 0x7c5e0000 + the process id modulo 65536)\n"
        "  -m MODE     lookup (default): hit and miss lookups, both tables;\n"
        "              fill: the load reached and the insert failure rate;\n"
        "              icount: ENTRIES inserts then LOOKUPS hits (for callgrind)\n"
        "  -e ENTRIES  keys in the tables (lookup, icount), or slots in all (fill)\n"
        "              (default 100000)\n"
        "  -r ROWS     rows of the multi-hash, 1 to %u (default 8)\n"
        "  -l LOAD     lookup: entries as a percentage of the slots (default 80)\n"
        "  -v SIZE     value bytes, 1 to %u (default 16)\n"
        "  -n LOOKUPS  lookups of each kind (lookup, icount; default 2000000)\n"
        "  -o ORDER    lookup: 0 the multi-hash first, 1 the linear table first\n"
        "  -s SEED     of the random keys, 1 to 1000000000 (default 1)\n"
        "  -V          fill: one more line per band of 2%% of load\n"
        "  -h, --help  print this help and exit\n",
        CACHE_MAX_ROWS, CACHE_MAX_VALUE);
}

/* splitmix64: a different 64-bit key per call, never a reserved one. */
static uint64_t next_key(uint64_t *state)
{
    for (;;) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        z ^= z >> 31;
        if (z != CACHE_KEY_EMPTY && z != CACHE_KEY_REMOVED)
            return z;
    }
}

/* A row length that makes `rows` rows about `slots` slots in all (the primes fall a little
 * short of row_len: a few percent at most at these sizes). */
static uint32_t row_len_for(long slots, long rows)
{
    long len = (slots + rows - 1) / rows;
    return (uint32_t)(len < 2 * rows + 10 ? 2 * rows + 10 : len);
}

static struct cache *make_cache(const struct opts *o, uint32_t row_len)
{
    struct cache *c = cache_create(o->key, (uint32_t)o->rows, row_len, (uint32_t)o->value_size);
    if (!c)
        log_msg("cache_create(key 0x%x, %ld rows, row_len %u, value %ld bytes): %s",
                (unsigned)o->key, o->rows, row_len, o->value_size, shm_strerror(errno));
    return c;
}

/* Close and remove the multi-hash; the exit status: rc, or 1 if it could not be removed. */
static int finish(struct cache *c, const struct opts *o, int rc)
{
    cache_close(c);
    if (cache_destroy(o->key) != 0) {
        log_sys("cache_destroy(key 0x%x)", (unsigned)o->key);
        rc = 1;
    }
    return rc;
}

/* Insert o->entries fresh random keys (a refused one is replaced by another) into keys[]. */
static int fill_keys(struct cache *c, const struct opts *o, uint64_t *keys, uint64_t *state,
                     uint64_t *failures)
{
    unsigned char value[CACHE_MAX_VALUE];
    *failures = 0;
    for (long i = 0; i < o->entries;) {
        uint64_t k = next_key(state);
        memcpy(value, &k, o->value_size < 8 ? (size_t)o->value_size : 8);
        if (cache_insert(c, k, value) == 0) {
            keys[i++] = k;
        } else if (errno == ENOSPC) {
            if (++*failures > (uint64_t)o->entries) {
                log_msg("more than %ld inserts refused: use a lower -l or more -r", o->entries);
                return -1;
            }
        } else {
            log_sys("cache_insert");
            return -1;
        }
    }
    return 0;
}

/* ---- the linear-probing table ---------------------------------------------------------------- */

static int linear_init(struct linear *t, uint64_t n, size_t value_size)
{
    t->n = n;
    t->value_size = value_size;
    t->slot_size = (8 + value_size + 7) & ~(size_t)7;
    t->slots = calloc(n, t->slot_size);
    if (!t->slots) {
        log_sys("calloc(%llu slots of %zu bytes)", (unsigned long long)n, t->slot_size);
        return -1;
    }
    return 0;
}

/* Fibonacci hashing: the key times 2^64 / golden ratio, whose top bits, scaled to [0, n)
 * with a multiplication (no division), pick the first slot. */
static inline uint64_t linear_home(const struct linear *t, uint64_t key)
{
    uint64_t h = key * 0x9e3779b97f4a7c15u;
    return (uint64_t)(((unsigned __int128)h * t->n) >> 64);
}

static int linear_insert(struct linear *t, uint64_t key, const void *value)
{
    for (uint64_t i = linear_home(t, key), tries = 0; tries < t->n; tries++) {
        unsigned char *s = t->slots + i * t->slot_size;
        uint64_t k;
        memcpy(&k, s, 8);
        if (k == 0) {
            memcpy(s, &key, 8);
            memcpy(s + 8, value, t->value_size);
            return 0;
        }
        if (++i == t->n)
            i = 0;
    }
    return -1;
}

static inline int linear_lookup(const struct linear *t, uint64_t key, void *value)
{
    for (uint64_t i = linear_home(t, key);;) {
        const unsigned char *s = t->slots + i * t->slot_size;
        uint64_t k;
        memcpy(&k, s, 8);
        if (k == key) {
            memcpy(value, s + 8, t->value_size);
            return 0;
        }
        if (k == 0)
            return -1;
        if (++i == t->n)
            i = 0;
    }
}

/* ---- the modes ------------------------------------------------------------------------------- */

/* One timed pass of the multi-hash (which 0) or the linear table (1) over keys[0..n);
 * ns per lookup, and the number found in *found. */
static double pass(int which, struct cache *c, const struct linear *t, const uint64_t *keys, long n,
                   uint64_t *retries, long *found, uint64_t *sink)
{
    unsigned char value[CACHE_MAX_VALUE];
    long hits = 0;
    uint64_t start = timing_now_ns();
    if (which == 0) {
        for (long i = 0; i < n; i++)
            if (cache_lookup(c, keys[i], value, retries) == 0) {
                hits++;
                *sink += value[0];
            }
    } else {
        for (long i = 0; i < n; i++)
            if (linear_lookup(t, keys[i], value) == 0) {
                hits++;
                *sink += value[0];
            }
    }
    uint64_t ns = timing_now_ns() - start;
    *found = hits;
    return (double)ns / (double)n;
}

static int run_lookup(const struct opts *o)
{
    long slots = (long)((double)o->entries * 100.0 / (double)o->load + 0.5);
    struct cache *c = make_cache(o, row_len_for(slots, o->rows));
    if (!c)
        return 1;
    int rc = 1;
    struct linear t = {0};
    uint64_t *keys = malloc(sizeof *keys * (size_t)o->entries);
    uint64_t *hits = malloc(sizeof *hits * (size_t)o->lookups);
    uint64_t *misses = malloc(sizeof *misses * (size_t)o->lookups);
    uint64_t state = o->seed, failures = 0, retries = 0, sink = 0;
    struct cache_stats st;
    if (!keys || !hits || !misses) {
        log_sys("malloc(%ld keys and 2 x %ld lookups)", o->entries, o->lookups);
        goto out;
    }
    if (fill_keys(c, o, keys, &state, &failures) != 0)
        goto out;
    cache_stats(c, &st);
    if (linear_init(&t, st.slots, (size_t)o->value_size) != 0)
        goto out;
    unsigned char value[CACHE_MAX_VALUE] = {0};
    for (long i = 0; i < o->entries; i++) {
        memcpy(value, &keys[i], o->value_size < 8 ? (size_t)o->value_size : 8);
        if (linear_insert(&t, keys[i], value) != 0) {
            log_msg("the linear table is full");
            goto out;
        }
    }
    for (long i = 0; i < o->lookups; i++) {
        hits[i] = keys[next_key(&state) % (uint64_t)o->entries];
        misses[i] = next_key(&state); /* a new 64-bit random number: never inserted, in practice */
    }
    double ns[2][2]; /* [table][hit, miss] */
    long found[2][2];
    for (int timed = 0; timed <= 1; timed++) {
        for (int kind = 0; kind <= 1; kind++) {
            for (int k = 0; k <= 1; k++) {
                int which = k ^ (int)o->order;
                uint64_t r = 0;
                ns[which][kind] = pass(which, c, &t, kind ? misses : hits, o->lookups, &r,
                                       &found[which][kind], &sink);
                if (timed && which == 0)
                    retries += r;
            }
        }
    }
    for (int which = 0; which <= 1; which++) {
        if (found[which][0] != o->lookups || found[which][1] != 0) {
            log_msg("%s: %ld of %ld hits found, %ld of %ld misses found: wrong answers",
                    which ? "linear" : "multihash", found[which][0], o->lookups, found[which][1],
                    o->lookups);
            goto out;
        }
    }
    double probes = 0; /* rows a hit reads on average: a record in row i costs i + 1 */
    for (uint32_t i = 0; i < st.rows; i++)
        probes += (double)(i + 1) * (double)st.fill[i] / (double)st.entries;
    printf("table=multihash entries=%ld rows=%u slots=%llu load=%.3f value=%ld lookups=%ld "
           "hit_ns=%.2f miss_ns=%.2f probes_per_hit=%.2f retries=%llu insert_failures=%llu\n",
           o->entries, st.rows, (unsigned long long)st.slots, st.load, o->value_size, o->lookups,
           ns[0][0], ns[0][1], probes, (unsigned long long)retries, (unsigned long long)failures);
    printf("table=linear entries=%ld rows=1 slots=%llu load=%.3f value=%ld lookups=%ld "
           "hit_ns=%.2f miss_ns=%.2f sink=%llu\n",
           o->entries, (unsigned long long)t.n, (double)o->entries / (double)t.n, o->value_size,
           o->lookups, ns[1][0], ns[1][1], (unsigned long long)(sink & 0xff));
    rc = 0;
out:
    free(t.slots);
    free(keys);
    free(hits);
    free(misses);
    return finish(c, o, rc);
}

static int run_fill(const struct opts *o)
{
    struct cache *c = make_cache(o, row_len_for(o->entries, o->rows));
    if (!c)
        return 1;
    struct cache_stats st;
    cache_stats(c, &st);
    int nbands = (int)(1.0 / BAND) + 1;
    uint64_t tries_in[64] = {0}, fails_in[64] = {0};
    unsigned char window[WINDOW] = {0};
    unsigned in_window = 0;
    double first = -1, at[3] = {-1, -1, -1};
    static const unsigned pct[3] = {1, 10, 50};
    uint64_t state = o->seed, entries = 0;
    int rc = 0;
    for (uint64_t i = 0; i < 2 * st.slots; i++) {
        double load = (double)entries / (double)st.slots;
        int band = (int)(load / BAND);
        int failed = 0;
        if (cache_insert(c, next_key(&state), NULL) == 0) {
            entries++;
        } else if (errno == ENOSPC) {
            failed = 1;
            if (first < 0)
                first = load;
        } else {
            log_sys("cache_insert");
            rc = 1;
            break;
        }
        tries_in[band]++;
        fails_in[band] += (uint64_t)failed;
        in_window += (unsigned)failed - window[i % WINDOW];
        window[i % WINDOW] = (unsigned char)failed;
        for (int p = 0; p < 3; p++)
            if (at[p] < 0 && i >= WINDOW && in_window * 100 >= pct[p] * WINDOW)
                at[p] = load;
    }
    if (rc == 0) {
        printf("mode=fill rows=%ld slots=%llu tries=%llu first_fail=%.3f fail1=%.3f fail10=%.3f "
               "fail50=%.3f final=%.3f\n",
               o->rows, (unsigned long long)st.slots, (unsigned long long)(2 * st.slots), first,
               at[0], at[1], at[2], (double)entries / (double)st.slots);
        for (int b = 0; o->verbose && b < nbands; b++)
            if (tries_in[b])
                printf("rows=%ld band=%.2f tries=%llu failures=%llu rate=%.4f\n", o->rows, b * BAND,
                       (unsigned long long)tries_in[b], (unsigned long long)fails_in[b],
                       (double)fails_in[b] / (double)tries_in[b]);
    }
    return finish(c, o, rc);
}

static int run_icount(const struct opts *o)
{
    long slots = (long)((double)o->entries * 100.0 / (double)o->load + 0.5);
    struct cache *c = make_cache(o, row_len_for(slots, o->rows));
    if (!c)
        return 1;
    int rc = 1;
    uint64_t *keys = malloc(sizeof *keys * (size_t)o->entries);
    uint64_t state = o->seed, failures, sink = 0;
    unsigned char value[CACHE_MAX_VALUE];
    if (!keys) {
        log_sys("malloc(%ld keys)", o->entries);
        goto out;
    }
    if (fill_keys(c, o, keys, &state, &failures) != 0)
        goto out;
    /* a fixed stride through the keys: no random-number work inside the counted loop */
    for (long i = 0, j = 0; i < o->lookups; i++) {
        if (cache_lookup(c, keys[j], value, NULL) != 0) {
            log_sys("cache_lookup of an inserted key");
            goto out;
        }
        sink += value[0];
        j += 7919;
        while (j >= o->entries)
            j -= o->entries;
    }
    printf("mode=icount entries=%ld rows=%ld lookups=%ld sink=%llu\n", o->entries, o->rows,
           o->lookups, (unsigned long long)(sink & 0xff));
    rc = 0;
out:
    free(keys);
    return finish(c, o, rc);
}
