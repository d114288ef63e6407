/*
 * iomd: the protocol between io_conn (the network process) and md (the logic process), and
 * the small helpers both use (ex4.4, ex4.5). Given: you read it, you do not edit it.
 *
 *     clients ==TCP== io_conn --[queue io->md, key K  ]--> md ( -w N: --> workers )
 *                             <--[queue md->io, key K+1]--
 *
 * Queues. Two shmmq queues (ex4.2), each with one producer and one consumer process:
 * io->md at the base key K (-k) and md->io at K+1, both of -q bytes (the same on both sides:
 * a queue that exists with another capacity is refused). `md -w N` adds, for worker i
 * (0 <= i < N), md->worker at K+2+2i and worker->md at K+3+2i; only md and its workers know
 * them. Each queue's notification FIFO is at shmmq_fifo_path(key). Either program may start
 * first: each creates what is missing and attaches what exists (shmmq_open), and the last to
 * leave removes the queues (shmmq_close). Above them all, K+34 (iomd_key_stats) is md's
 * segment of per-connection statistics in chapter 5 (mdstats.h: a multi-hash that md writes
 * and viewconn reads); chapter 4's md makes none. The keys, from the base key K:
 *
 *     K       io->md           K+2+2i  md->worker i     K+34  connection statistics
 *     K+1     md->io           K+3+2i  worker i->md           (chapter 5)
 *
 * Messages. id = the flow id of the client (flow.h), ts = timing_now_ns() when io_conn read
 * the bytes (CLOCK_MONOTONIC: the same clock in every process of the machine), payload = the
 * client's bytes, at most the queue's max payload per message (a longer read is cut into
 * several messages; TCP has no message boundaries anyway).
 *   io->md, len > 0   bytes from the client.
 *   io->md, len 0     the client is done: it has sent everything it will (end of file), or the
 *                     connection is closed. Sent exactly once per flow, after the flow's last
 *                     bytes. md forgets the flow and answers with len 0.
 *   md->io, len > 0   bytes for the client; ts = the ts of the message they answer (io_conn
 *                     knows from it which messages md has answered, and their latency).
 *   md->io, len 0     close the connection once the bytes sent before are written out (the
 *                     answer to io_conn's len 0, or md's own decision to close).
 * A message for an id io_conn does not know (closed, reused slot, an earlier io_conn run) is
 * dropped and counted by io_conn, never delivered: the flow table's generations see to it.
 *
 * Flow control. Nothing is ever dropped for want of room: a producer that finds its queue full
 * (EAGAIN) keeps the message and tries again a little later (RETRY_US), and meanwhile stops
 * taking input: io_conn stops reading that client, md stops consuming its input queue.
 * Consumers keep looking for a while (IOMD_SPIN_NS) before they sleep on the FIFO
 * (shmmq_sleep), so that under load the queues carry messages without a wake-up each.
 *
 * md dies. io_conn keeps its clients when md dies (SIGKILL, a crash): it sees that the pid
 * recorded as io->md's consumer is gone (a timer checks), closes, with a log line, every
 * connection with a message that md took from io->md and did not answer (their bytes are
 * lost), and keeps the others: a message still in io->md waits for the next md. md takes a
 * message from io->md only once its answer is in md->io, so a lone md loses nothing; with
 * workers, what they held is lost. A new md attaches the same queues and consumes what waits
 * there; its answers for connections closed meanwhile are dropped by their ids.
 *
 * Statistics lines (read by the grader): on a clean exit io_conn prints one line on stderr
 * with "exiting:" and key=value fields, among them "stale=N" (replies dropped for unknown
 * ids); md prints one with "exiting:", "messages=N" and "closes=N" (len-0 messages from
 * io_conn), and with -w each worker prints one with "worker I: exiting:" (I from 0) and
 * "messages=N" (the given print_stats and print_counts do; keep their counters right).
 */
#ifndef SVRLAB_IOMD_H
#define SVRLAB_IOMD_H

#include "args.h"
#include "log.h"
#include "shm.h"
#include "shmmq.h"
#include "timing.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define IOMD_QUEUE_DEFAULT (1u << 20) /* -q: bytes of each queue's ring */
#define IOMD_QUEUE_MIN 4096u
#define IOMD_QUEUE_MAX (1u << 30)
#define IOMD_WORKERS_MAX 16 /* md -w */
#define IOMD_STATS_OFFSET (2 + 2 * IOMD_WORKERS_MAX) /* iomd_key_stats: above every queue */

/* How long a consumer whose queue is empty keeps looking before it sleeps on the FIFO (after
 * its last message). Under load the next message comes sooner, so it never sleeps and nobody
 * writes a wake-up; idle, it sleeps after this long. While it looks it calls sched_yield: on a
 * machine with few CPUs, a plain spin would keep off the CPU the very processes (a client,
 * io_conn, md) that make the next message. */
#define IOMD_SPIN_NS 100000

/* Consumer: look for a message in q for up to IOMD_SPIN_NS, letting any process that is ready
 * have the CPU between two looks (sched_yield). 1 if one came, 0 if not: then shmmq_sleep. */
static inline int iomd_wait_ready(shmmq *q)
{
    uint64_t until = timing_now_ns() + IOMD_SPIN_NS;
    do {
        if (shmmq_wait_ready(q, 0))
            return 1;
        sched_yield();
    } while (timing_now_ns() < until);
    return 0;
}

/* The keys of the queues, from the base key K. */
static inline key_t iomd_key_to_md(key_t k)
{
    return k;
}
static inline key_t iomd_key_to_io(key_t k)
{
    return k + 1;
}
static inline key_t iomd_key_to_worker(key_t k, int i)
{
    return k + 2 + 2 * i;
}
static inline key_t iomd_key_from_worker(key_t k, int i)
{
    return k + 3 + 2 * i;
}
static inline key_t iomd_key_stats(key_t k)
{
    return k + IOMD_STATS_OFFSET;
}

/* The value of -q: a power of two from IOMD_QUEUE_MIN to IOMD_QUEUE_MAX, or a usage error. */
static inline size_t iomd_queue_bytes(const char *s)
{
    long v = args_number("-q", s, IOMD_QUEUE_MIN, IOMD_QUEUE_MAX);
    if ((v & (v - 1)) != 0)
        args_usage_error("-q must be a power of two, like 65536 or 1048576, not %ld", v);
    return (size_t)v;
}

/* The key of -k, checked to leave room for the keys above it (up to K+34, iomd_key_stats). */
static inline key_t iomd_base_key(const char *s)
{
    key_t k = args_ipc_key(s);
    if (k > (key_t)0x7fffffff - IOMD_STATS_OFFSET)
        args_usage_error("-k %s is too large: the queues use the keys above it", s);
    return k;
}

/* 1 if process pid runs (a zombie, dead but not yet reaped by its parent, does not). */
static inline int iomd_pid_alive(pid_t pid)
{
    if (pid <= 0)
        return 0;
    if (kill(pid, 0) == -1 && errno != EPERM)
        return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return errno != ENOENT;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 1;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* "pid (comm) state ...": comm may hold anything */
    return p == NULL || (p[1] != ' ' || (p[2] != 'Z' && p[2] != 'X'));
}

/* The pid recorded as the producer or the consumer (role) of the queue at key, read without
 * taking part in it (a read-only attach); 0 if there is none, or no such queue. */
static inline pid_t iomd_role_pid(key_t key, enum shmmq_role role)
{
    int id = shmget(key, 0, 0);
    struct shmid_ds ds;
    if (id == -1 || shmctl(id, IPC_STAT, &ds) == -1 || ds.shm_segsz < SHMMQ_RING_OFFSET)
        return 0;
    const struct shmmq_segment *seg = shmat(id, NULL, SHM_RDONLY);
    if (seg == (void *)-1)
        return 0;
    pid_t pid = 0;
    if (seg->hdr.magic == SHMMQ_MAGIC)
        pid = role == SHMMQ_PRODUCER
                  ? atomic_load_explicit(&seg->producer_pid, memory_order_relaxed)
                  : atomic_load_explicit(&seg->consumer_pid, memory_order_relaxed);
    shmdt(seg);
    return pid;
}

/* Open (create or attach) the queue at key with its notification FIFO, as role. A queue that
 * two processes use already, or whose producer or consumer (the role asked for) is a live
 * process, is refused (EBUSY): a second io_conn or md on the same key would be a second
 * producer or consumer, which corrupts it. A recorded one that is gone is replaced, and
 * said so. Logs why it failed (NULL, errno
 * kept). */
static inline shmmq *iomd_open(key_t key, size_t bytes, enum shmmq_role role)
{
    char fifo[4096];
    pid_t other = iomd_role_pid(key, role);
    if (other != 0 && other != getpid()) {
        const char *side = role == SHMMQ_PRODUCER ? "producer" : "consumer";
        if (iomd_pid_alive(other)) {
            log_msg("the queue at key 0x%x has a %s already: pid %d (another io_conn or md "
                    "with this -k?)",
                    (unsigned)key, side, (int)other);
            errno = EBUSY;
            return NULL;
        }
        log_msg("the queue at key 0x%x: its %s, pid %d, is gone; taking its place", (unsigned)key,
                side, (int)other);
    }
    int users = shm_attached_count(key);
    /* The kernel counts an attach in progress twice for a moment (shmat), so the peer that is
     * attaching right now may look like two processes: look again before refusing. */
    for (int again = 0; users >= 2 && again < 5; again++) {
        (void)nanosleep(&(struct timespec){0, 20000000}, NULL);
        users = shm_attached_count(key);
    }
    if (users >= 2) {
        log_msg("the queue at key 0x%x is used by %d processes already: is another io_conn or "
                "md running with this -k?",
                (unsigned)key, users);
        errno = EBUSY;
        return NULL;
    }
    if (shmmq_fifo_path(fifo, sizeof fifo, key) == -1) {
        log_sys("shmmq_fifo_path(key 0x%x)", (unsigned)key);
        return NULL;
    }
    shmmq *q = shmmq_open(key, bytes, fifo, role);
    if (q == NULL) {
        int e = errno;
        if (e == EINVAL)
            log_msg("shmmq_open(key 0x%x, %zu bytes, %s): the queue exists with another size: "
                    "give io_conn and md the same -q",
                    (unsigned)key, bytes, fifo);
        else
            log_msg("shmmq_open(key 0x%x, %zu bytes, %s): %s", (unsigned)key, bytes, fifo,
                    shm_strerror(e));
        errno = e;
    }
    return q;
}

#endif
