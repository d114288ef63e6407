/*
 * connstats: md's statistics per connection, kept in a multi-hash that other processes read
 * (ex5.3). md calls these functions (chapter 4's mdstats.h) from its one process that sees
 * every message; viewconn lists what they keep. connstats.h has the record and the geometry,
 * iomd.h the key (K+34).
 *
 * md is the table's only writer, so nothing here locks: the multi-hash's sequence numbers let
 * viewconn copy a record while md changes it and never see half of the change. A record is
 * added whole (cache_insert) at a flow's first bytes, so no reader ever sees one that is half
 * made, changed with cache_update at each message after, and removed with the flow's len-0
 * message.
 */
#include "cache.h"
#include "connstats.h"
#include "iomd.h"
#include "log.h"
#include "mdstats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/shm.h>

static struct cache *table; /* NULL until mdstats_open made it, and after mdstats_close */
static key_t table_key;
static uint64_t not_counted; /* messages whose flow found no room in the table */

/* A record could not be kept (errno says why: ENOSPC, every slot of the flow's probe holds
 * another connection). md goes on; the first time is logged, the rest counted (mdstats_close
 * says how many). */
static void not_kept(uint64_t flow)
{
    if (not_counted++ == 0)
        log_sys("the statistics of flow 0x%016" PRIx64 " can not be kept (nor those of any "
                "other connection that finds no room: counted, said at exit)",
                flow);
}

/*
 * cache_create found a segment at key. If it is a multi-hash whose creator no longer runs, an
 * md that did not stop cleanly left it: remove it and return 1 (the caller creates the table
 * afresh). Else log why it stays, and return 0 with errno EEXIST: another md keeps its
 * statistics there (two writers would corrupt the table), or it is not a table of ours
 * (never remove what is not ours).
 */
static int leftover_removed(key_t key)
{
    struct cache *old = cache_attach(key, 1);
    if (old == NULL) {
        log_msg("a segment at key 0x%x, where md keeps the connections' statistics, is not "
                "one md can use (%s): remove it (ipcrm -M 0x%x) or give md another -k",
                (unsigned)key, shm_strerror(errno), (unsigned)key);
        errno = EEXIST;
        return 0;
    }
    cache_close(old);
    struct shmid_ds ds;
    int id = shmget(key, 0, 0);
    if (id == -1 || shmctl(id, IPC_STAT, &ds) == -1) {
        log_sys("shmctl(key 0x%x, IPC_STAT)", (unsigned)key);
        errno = EEXIST;
        return 0;
    }
    if (iomd_pid_alive(ds.shm_cpid)) {
        log_msg("another md (pid %d) keeps the connections' statistics at key 0x%x: is an md "
                "running with this -k?",
                (int)ds.shm_cpid, (unsigned)key);
        errno = EEXIST;
        return 0;
    }
    if (cache_destroy(key) == -1 && errno != ENOENT) {
        log_sys("cache_destroy(key 0x%x)", (unsigned)key);
        errno = EEXIST;
        return 0;
    }
    log_msg("removed the connections' statistics that an earlier md (pid %d, gone) left at key "
            "0x%x",
            (int)ds.shm_cpid, (unsigned)key);
    return 1;
}

/*
 * Create the table at iomd_key_stats(base): CONNSTATS_ROWS rows up to CONNSTATS_ROW_LEN, a
 * struct connstat per record. A table there already (EEXIST): if leftover_removed says it was
 * an earlier md's, create it again. Keep the key for mdstats_close. Returns 0, or -1 once
 * logged (with the key and shm_strerror's words).
 */
int mdstats_open(key_t base)
{
    //@solution
    key_t key = iomd_key_stats(base);
    table = cache_create(key, CONNSTATS_ROWS, CONNSTATS_ROW_LEN, sizeof(struct connstat));
    if (table == NULL && errno == EEXIST && leftover_removed(key))
        table = cache_create(key, CONNSTATS_ROWS, CONNSTATS_ROW_LEN, sizeof(struct connstat));
    if (table == NULL) {
        log_msg("cache_create(key 0x%x) for the connections' statistics: %s", (unsigned)key,
                shm_strerror(errno));
        return -1;
    }
    table_key = key;
    return 0;
    //@stub cache_create at iomd_key_stats(base); EEXIST and leftover_removed: create again
    //@ (void)base;
    //@ (void)leftover_removed;
    //@ errno = ENOSYS;
    //@ log_sys("mdstats_open");
    //@ return -1;
    //@end
}

/*
 * len bytes of flow, read by io_conn at ts_ns: its record counts one message more, len bytes
 * more, last seen at ts_ns. A flow without a record (cache_lookup: ENOENT) gets one, whole, with
 * cache_insert: 1 message, len bytes, first and last seen at ts_ns. A record that can not be
 * kept (no table, no room): not_kept.
 */
void mdstats_message(uint64_t flow, uint32_t len, uint64_t ts_ns)
{
    //@solution
    if (table == NULL)
        return;
    struct connstat s;
    if (cache_lookup(table, flow, &s, NULL) == 0) {
        s.messages++;
        s.bytes += len;
        s.last_ns = ts_ns;
        if (cache_update(table, flow, &s) == -1)
            not_kept(flow);
        return;
    }
    if (errno != ENOENT) {
        not_kept(flow);
        return;
    }
    s = (struct connstat){.messages = 1, .bytes = len, .first_ns = ts_ns, .last_ns = ts_ns};
    if (cache_insert(table, flow, &s) == -1)
        not_kept(flow);
    //@stub update flow's record (cache_lookup, cache_update), or cache_insert a new one
    //@ (void)flow;
    //@ (void)len;
    //@ (void)ts_ns;
    //@ (void)not_kept;
    //@end
}

/* The flow ended: remove its record. It may have none (no bytes ever came, or no room):
 * ENOENT is fine; anything else is logged. */
void mdstats_closed(uint64_t flow)
{
    //@solution
    if (table != NULL && cache_remove(table, flow) == -1 && errno != ENOENT)
        log_sys("cache_remove(flow 0x%016" PRIx64 ")", flow);
    //@stub cache_remove(flow); ENOENT is fine
    //@ (void)flow;
    //@end
}

/* md stops cleanly: say how many messages were not counted (if any), close the table and
 * remove its segment (cache_destroy). Nothing to do if there is no table. */
void mdstats_close(void)
{
    //@solution
    if (table == NULL)
        return;
    if (not_counted > 0)
        log_msg("%" PRIu64 " message(s) of connections that found no room in the statistics "
                "table were not counted",
                not_counted);
    cache_close(table);
    table = NULL;
    if (cache_destroy(table_key) == -1)
        log_sys("cache_destroy(key 0x%x)", (unsigned)table_key);
    //@stub close the table (cache_close) and remove its segment (cache_destroy)
    //@ (void)table;
    //@ (void)table_key;
    //@end
}
