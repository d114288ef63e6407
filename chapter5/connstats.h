/*
 * connstats: md's statistics per connection in a multi-hash (ex5.3), shared by the process
 * that writes them (md: connstats.c, behind chapter 4's mdstats.h) and the one that reads them
 * (viewconn). Given: you read it, you do not edit it.
 *
 * The table is a multi-hash (cache.h) at key iomd_key_stats(K) = K+34, K being md's -k (see
 * iomd.h's list of keys): CONNSTATS_ROWS rows of the largest primes up to CONNSTATS_ROW_LEN,
 * one record per live connection, keyed by its flow id (never 0, never UINT64_MAX: flow.h).
 *
 *   md (alone, or the master of -w N)                         viewconn -k K
 *     first bytes of a flow   -> record created                 attaches read-only, lists
 *     more bytes              -> record updated (cache_update)  every record (cache_foreach):
 *     the flow's len-0 message -> record removed                a copy is never half written
 *     clean exit              -> segment removed
 *
 * md creates the table when it starts. A table that is there already was left by an md that
 * did not stop cleanly (SIGKILL): md removes it and starts afresh, unless its creator still
 * runs (another md on the same -k: refused). So the table's creator (shmctl IPC_STAT:
 * shm_cpid) is the md that writes it, which is how viewconn tells a live table from a stale one.
 */
#ifndef SVRLAB_CONNSTATS_H
#define SVRLAB_CONNSTATS_H

#include <stdint.h>

/* The geometry: 4 rows of about 16k slots (65474 in all, 48 bytes each: 3 MiB), room for tens
 * of thousands of connections (the rows fill from the top; chapter 5's guide has the load a
 * multi-hash reaches before the first refusal). */
#define CONNSTATS_ROWS 4u
#define CONNSTATS_ROW_LEN 16384u

/* One connection's record, the value of its flow id. Times are the ts of io_conn's messages:
 * timing_now_ns(), CLOCK_MONOTONIC, the same clock in every process of the machine. */
struct connstat {
    uint64_t messages; /* messages with bytes (len > 0) md answered */
    uint64_t bytes;    /* their bytes */
    uint64_t first_ns; /* ts of the first of them: when the connection was first seen */
    uint64_t last_ns;  /* ts of the latest: when it was last seen */
};

#endif
