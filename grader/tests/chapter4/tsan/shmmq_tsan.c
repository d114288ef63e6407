/*
 * shmmq_tsan: the student's queue run by two threads over ONE mapping of its segment, built
 * with ThreadSanitizer (grader/build.mk, `tsan_progs`), for the test shmmq_tsan_two_threads.
 *
 *   shmmq_tsan KEY COUNT
 *
 * A producer thread enqueues COUNT messages of varied sizes (ids 0, 1, ...; payload bytes
 * derived from the id) into a small queue, so it is often full and records often wrap; the
 * main thread consumes them (dequeue and peek/consume in turn), mostly spinning when empty,
 * every so often through shmmq_sleep and poll on shmmq_fd, and checks every one.
 * Exit 0: all arrived intact; 1: a wrong or missing message or a failed call (one line on
 * stderr); 2: bad arguments. ThreadSanitizer exits 66 when it sees a data race: a release or
 * acquire missing on head or tail leaves the ring's bytes unordered between the threads.
 *
 * One mapping: shmmq_open attaches the segment with shmat once per handle, and two mappings
 * of the same memory at two addresses hide every race from ThreadSanitizer, which watches
 * addresses. So this program defines shmat and shmdt: a second attach of a segment gets the
 * first one's address, and only the last detach detaches.
 */
#include "shmmq.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#define CAPACITY 4096
#define MAX_LEN 700 /* some records straddle the ring's end, some fill half of it */

static uint32_t msg_len(uint64_t id);
static unsigned char msg_byte(uint64_t id, uint32_t k);
static void *produce(void *arg);
static int consume_all(shmmq *q, uint64_t count);

static struct {
    int id;
    void *addr;
    int refs;
} maps[8];
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;

struct producer {
    shmmq *q;
    uint64_t count;
    int failed;
};

int main(int argc, char **argv)
{
    long key = argc == 3 ? strtol(argv[1], NULL, 0) : 0;
    long count = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
    if (key <= 0 || count <= 0) {
        fprintf(stderr, "usage: shmmq_tsan KEY COUNT\n");
        return 2;
    }
    char path[512];
    if (shmmq_fifo_path(path, sizeof path, (key_t)key) != 0) {
        fprintf(stderr, "shmmq_tsan: shmmq_fifo_path: %s\n", strerror(errno));
        return 1;
    }
    shmmq *cq = shmmq_open((key_t)key, CAPACITY, path, SHMMQ_CONSUMER);
    if (!cq) {
        fprintf(stderr, "shmmq_tsan: shmmq_open(consumer): %s\n", strerror(errno));
        return 1;
    }
    struct producer p = {shmmq_open((key_t)key, CAPACITY, path, SHMMQ_PRODUCER), (uint64_t)count,
                         0};
    if (!p.q) {
        fprintf(stderr, "shmmq_tsan: shmmq_open(producer): %s\n", strerror(errno));
        shmmq_close(cq);
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, produce, &p) != 0) {
        fprintf(stderr, "shmmq_tsan: pthread_create failed\n");
        return 1;
    }
    int bad = consume_all(cq, (uint64_t)count);
    if (bad)
        _exit(1); /* the producer may be stuck on a full queue */
    pthread_join(t, NULL);
    shmmq_close(p.q);
    shmmq_close(cq);
    if (p.failed)
        return 1;
    if (shmget((key_t)key, 0, 0) != -1 || errno != ENOENT) {
        fprintf(stderr, "shmmq_tsan: the segment is still there after both handles closed\n");
        return 1;
    }
    return 0;
}

static uint32_t msg_len(uint64_t id)
{
    uint64_t x = id * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return (x & 7) == 0 ? (uint32_t)(x >> 40) % (MAX_LEN + 1) : (uint32_t)(x >> 40) % 48;
}

static unsigned char msg_byte(uint64_t id, uint32_t k)
{
    return (unsigned char)(id * 31 + k * 7 + 1);
}

static void *produce(void *arg)
{
    struct producer *p = arg;
    unsigned char buf[MAX_LEN];
    for (uint64_t id = 0; id < p->count; id++) {
        uint32_t len = msg_len(id);
        for (uint32_t k = 0; k < len; k++)
            buf[k] = msg_byte(id, k);
        while (shmmq_enqueue(p->q, id, ~id, buf, len) != 0) {
            if (errno != EAGAIN) {
                fprintf(stderr, "shmmq_tsan: shmmq_enqueue(id %llu, %u bytes): %s\n",
                        (unsigned long long)id, len, strerror(errno));
                p->failed = 1;
                return NULL;
            }
            sched_yield();
        }
    }
    return NULL;
}

static int check(uint64_t want, uint64_t id, uint64_t ts, const unsigned char *data, uint32_t len)
{
    if (id != want || ts != ~want || len != msg_len(want)) {
        fprintf(stderr,
                "shmmq_tsan: message %llu: got id %llu, ts %llu, %u bytes; expected ts %llu, "
                "%u bytes\n",
                (unsigned long long)want, (unsigned long long)id, (unsigned long long)ts, len,
                (unsigned long long)~want, msg_len(want));
        return 1;
    }
    for (uint32_t k = 0; k < len; k++)
        if (data[k] != msg_byte(id, k)) {
            fprintf(stderr, "shmmq_tsan: message %llu: byte %u differs\n", (unsigned long long)id,
                    k);
            return 1;
        }
    return 0;
}

static int consume_all(shmmq *q, uint64_t count)
{
    unsigned char buf[MAX_LEN];
    uint64_t empty = 0;
    for (uint64_t want = 0; want < count;) {
        uint64_t id = 0, ts = 0;
        uint32_t len = 0;
        int got;
        if (want & 1) {
            const unsigned char *m = shmmq_peek(q, &id, &ts, &len);
            got = m != NULL;
            if (got && check(want, id, ts, m, len))
                return 1;
            if (got)
                shmmq_consume(q);
        } else {
            got = shmmq_dequeue(q, &id, &ts, buf, sizeof buf, &len) == 0;
            if (got && check(want, id, ts, buf, len))
                return 1;
        }
        if (got) {
            want++;
            continue;
        }
        if (errno != EAGAIN) {
            fprintf(stderr, "shmmq_tsan: dequeue of message %llu: %s\n", (unsigned long long)want,
                    strerror(errno));
            return 1;
        }
        if (++empty % 64 != 0) {
            shmmq_wait_ready(q, 2000);
            continue;
        }
        int s = shmmq_sleep(q);
        if (s < 0) {
            fprintf(stderr, "shmmq_tsan: shmmq_sleep: %s\n", strerror(errno));
            return 1;
        }
        if (s == 1)
            continue;
        struct pollfd pf = {shmmq_fd(q), POLLIN, 0};
        if (poll(&pf, 1, 10000) != 1) {
            fprintf(stderr, "shmmq_tsan: no wake-up within 10 s while waiting for message %llu\n",
                    (unsigned long long)want);
            return 1;
        }
        shmmq_woken(q);
    }
    return 0;
}

/* ---- one mapping per segment -------------------------------------------------------- */

void *shmat(int shmid, const void *addr, int flags)
{
    static void *(*real)(int, const void *, int);
    pthread_mutex_lock(&maps_lock);
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        if (maps[i].refs > 0 && maps[i].id == shmid) {
            maps[i].refs++;
            pthread_mutex_unlock(&maps_lock);
            return maps[i].addr;
        }
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "shmat");
    void *p = real ? real(shmid, addr, flags) : (void *)-1;
    if (p != (void *)-1)
        for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
            if (maps[i].refs == 0) {
                maps[i].id = shmid;
                maps[i].addr = p;
                maps[i].refs = 1;
                break;
            }
    pthread_mutex_unlock(&maps_lock);
    return p;
}

int shmdt(const void *addr)
{
    static int (*real)(const void *);
    pthread_mutex_lock(&maps_lock);
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        if (maps[i].refs > 0 && maps[i].addr == addr && --maps[i].refs > 0) {
            pthread_mutex_unlock(&maps_lock);
            return 0;
        }
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "shmdt");
    int r = real ? real(addr) : -1;
    pthread_mutex_unlock(&maps_lock);
    return r;
}
