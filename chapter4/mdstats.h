/*
 * mdstats: what md tells about each connection it serves, for whoever keeps statistics of
 * them. Given: you read it, you do not edit it.
 *
 * md calls these from one process only, the one that sees every message of io->md: md itself,
 * or with -w N the master (never a worker), so whatever keeps the statistics has one writer.
 * A connection is a flow id (iomd.h): it is first heard of with its first bytes, and it ends
 * with io_conn's len-0 message (the client is done, or gone).
 *
 * Chapter 4 links mdstats_none.c, which keeps nothing. Chapter 5 links your connstats.c
 * (ex5.3), which keeps a record per live connection in a multi-hash (ex5.2) at the key
 * iomd_key_stats(base), where viewconn, another process, reads them.
 */
#ifndef SVRLAB_MDSTATS_H
#define SVRLAB_MDSTATS_H

#include <stdint.h>
#include <sys/types.h>

/* md starts, with its -k base key, after its queues are open. 0, or -1 once logged why (md then
 * stops, exit status 1). */
int mdstats_open(key_t base);

/* md answered len bytes (len > 0) of flow; ts_ns: when io_conn read them (the message's ts,
 * timing_now_ns: CLOCK_MONOTONIC, the same clock in every process of the machine). Never
 * fails md: a statistic that can not be kept is logged (not once per message) and dropped. */
void mdstats_message(uint64_t flow, uint32_t len, uint64_t ts_ns);

/* Flow ended (io_conn's len-0 message): forget it. */
void mdstats_closed(uint64_t flow);

/* md stops cleanly: free and remove what mdstats_open made. Safe after a failed open. */
void mdstats_close(void);

#endif
