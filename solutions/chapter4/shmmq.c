/*
 * shmmq: the single-producer single-consumer queue in shared memory (ex4.2). shmmq.h
 * describes the segment, the records, the memory ordering and the wake-up protocol; this
 * file follows it. The hot path (enqueue, peek, consume) makes no system call unless the
 * consumer sleeps, and touches the other side's cache line only when its copy of the other
 * side's index says full or empty.
 */
#include "shmmq.h"

#include "log.h"
#include "timing.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(offsetof(struct shmmq_segment, capacity) == 64, "constants at 64");
_Static_assert(offsetof(struct shmmq_segment, tail) == 128, "producer line at 128");
_Static_assert(offsetof(struct shmmq_segment, head) == 192, "consumer line at 192");
_Static_assert(offsetof(struct shmmq_segment, sleeping) == 256, "wake-up line at 256");
_Static_assert(offsetof(struct shmmq_segment, ring) == SHMMQ_RING_OFFSET, "ring at 320");
_Static_assert(sizeof(struct shmmq_record) == SHMMQ_RECORD_HEADER, "record header is 24 bytes");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free in shared memory");

#define ATTACH_WAIT_NS 1000000000ull /* how long an attacher waits for the creator's constants */
#define SPIN_PAUSES_MAX 4u           /* pauses (about 15 ns each here) between two looks at tail */
#define CLOCK_FIRST 8u               /* looks at tail before the clock is first read */
#define CLOCK_EVERY 32u              /* looks at tail between two readings of the clock */

struct shmmq {
    struct shmmq_segment *seg;
    unsigned char *ring;
    uint64_t mask; /* capacity - 1 */
    uint64_t capacity;
    uint64_t other; /* producer: head, consumer: tail, as last read from the segment */
    uint32_t max_payload;
    uint32_t peeked; /* consumer: ring bytes of the record shmmq_peek returned, 0: none */
    enum shmmq_role role;
    int fd;            /* the FIFO, or -1 */
    int notify_logged; /* a failed wake-up write was logged already */
    key_t key;
    char *fifo_path; /* NULL without a FIFO */
};

static int fifo_open(const char *path, int *created);
/* given helpers for the gaps (unused in the starter until they are filled) */
static void notify(shmmq *q) __attribute__((unused));
static void count(_Atomic uint64_t *c) __attribute__((unused));

shmmq *shmmq_open(key_t key, size_t capacity, const char *fifo_path, enum shmmq_role role)
{
    if (capacity < SHMMQ_MIN_CAPACITY || capacity > SHMMQ_MAX_CAPACITY ||
        (capacity & (capacity - 1)) != 0 || (role != SHMMQ_PRODUCER && role != SHMMQ_CONSUMER)) {
        errno = EINVAL;
        return NULL;
    }
    shmmq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->fd = -1;
    q->key = key;
    q->role = role;
    q->capacity = capacity;
    q->mask = capacity - 1;
    q->max_payload = (uint32_t)(capacity / 2 - SHMMQ_RECORD_HEADER);
    int fifo_created = 0, created = 0;
    if (fifo_path) {
        q->fifo_path = strdup(fifo_path);
        if (!q->fifo_path || (q->fd = fifo_open(fifo_path, &fifo_created)) < 0)
            goto fail;
    }
    void *base = shm_create_or_attach(key, SHMMQ_RING_OFFSET + capacity, SHMMQ_MAGIC, SHMMQ_VERSION,
                                      &created);
    if (!base)
        goto fail;
    struct shmmq_segment *seg = base;
    q->seg = seg;
    q->ring = seg->ring;
    if (created) {
        /* the kernel zeroed the segment: head = tail = 0, nobody sleeps */
        seg->max_payload = q->max_payload;
        atomic_store_explicit(&seg->capacity, capacity, memory_order_release);
    } else {
        //@solution
        /* shm_attach checked magic, version and size; the creator may still be writing the
         * constants, which it publishes with capacity. Read, never write, what it set. */
        uint64_t cap = 0, start = timing_now_ns();
        while ((cap = atomic_load_explicit(&seg->capacity, memory_order_acquire)) == 0 &&
               timing_now_ns() - start < ATTACH_WAIT_NS)
            usleep(1000);
        if (cap == 0) {
            errno = EAGAIN; /* a creator that died half-way; it can be removed */
            goto fail;
        }
        if (cap != capacity) {
            errno = EINVAL;
            goto fail;
        }
        if (seg->max_payload != q->max_payload) {
            errno = EBADMSG;
            goto fail;
        }
        //@stub check what the creator wrote (capacity: EINVAL if it differs; max_payload)
        //@ errno = ENOSYS;
        //@ goto fail;
        //@end
    }
    if (role == SHMMQ_PRODUCER) {
        q->other = atomic_load_explicit(&seg->head, memory_order_acquire);
        atomic_store_explicit(&seg->producer_pid, (int32_t)getpid(), memory_order_relaxed);
    } else {
        q->other = atomic_load_explicit(&seg->tail, memory_order_acquire);
        /* What earlier consumers took ends here; released with the pid, so that whoever reads
         * this pid (acquire) reads this count, not an earlier consumer's. */
        atomic_store_explicit(&seg->deq_at_attach,
                              atomic_load_explicit(&seg->deq_msgs, memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&seg->consumer_pid, (int32_t)getpid(), memory_order_release);
    }
    return q;

fail:;
    int err = errno;
    if (q->seg) {
        shm_detach(q->seg);
        if (created)
            shm_remove(key);
    }
    if (q->fd >= 0)
        close(q->fd);
    if (fifo_created)
        unlink(fifo_path);
    free(q->fifo_path);
    free(q);
    errno = err;
    return NULL;
}

void shmmq_close(shmmq *q)
{
    if (!q)
        return;
    int32_t me = (int32_t)getpid();
    _Atomic int32_t *pid =
        q->role == SHMMQ_PRODUCER ? &q->seg->producer_pid : &q->seg->consumer_pid;
    atomic_compare_exchange_strong_explicit(pid, &me, 0, memory_order_relaxed,
                                            memory_order_relaxed);
    if (shm_detach(q->seg) != 0)
        log_sys("shmmq_close: shmdt(key 0x%x)", (unsigned)q->key);
    /* The last one out removes the segment and the FIFO. If the segment is gone already, the
     * other side removed it while we were attached (it can not have): nothing is left to use
     * the FIFO either. */
    int n = shm_attached_count(q->key);
    if (n == 0 && shm_remove(q->key) != 0 && errno != ENOENT)
        log_sys("shmmq_close: shmctl(key 0x%x, IPC_RMID)", (unsigned)q->key);
    if ((n == 0 || (n < 0 && errno == ENOENT)) && q->fifo_path && unlink(q->fifo_path) != 0 &&
        errno != ENOENT)
        log_sys("shmmq_close: unlink(%s)", q->fifo_path);
    if (q->fd >= 0)
        close(q->fd);
    free(q->fifo_path);
    free(q);
}

int shmmq_enqueue(shmmq *q, uint64_t id, uint64_t ts, const void *data, uint32_t len)
{
    //@solution
    if (q->role != SHMMQ_PRODUCER) {
        errno = EINVAL;
        return -1;
    }
    if (len > q->max_payload) {
        errno = EMSGSIZE; /* it would wait for room for ever */
        return -1;
    }
    struct shmmq_segment *seg = q->seg;
    uint64_t tail = atomic_load_explicit(&seg->tail, memory_order_relaxed); /* ours */
    uint64_t size = SHMMQ_RECORD_SIZE(len), pos = tail & q->mask, room = q->capacity - pos;
    /* a record never wraps: the rest of the ring becomes a marker, the record goes to 0 */
    uint64_t need = size <= room ? size : room + size;
    if (tail & 7) {
        errno = EBADMSG;
        return -1;
    }
    uint64_t used = tail - q->other;
    if (used > q->capacity || need > q->capacity - used) {
        /* full by our copy of head: read the consumer's line (acquire: its reads of the
         * bytes we are about to overwrite are done) */
        uint64_t head = atomic_load_explicit(&seg->head, memory_order_acquire);
        used = tail - head;
        if (used > q->capacity || (head & 7)) {
            errno = EBADMSG;
            return -1;
        }
        q->other = head;
        if (need > q->capacity - used) {
            count(&seg->enq_full);
            errno = EAGAIN;
            return -1;
        }
    }
    if (need != size) {
        uint32_t wrap = SHMMQ_WRAP;
        memcpy(q->ring + pos, &wrap, sizeof wrap);
        pos = 0;
    }
    struct shmmq_record *rec = (struct shmmq_record *)(void *)(q->ring + pos);
    rec->len = len;
    rec->flags = 0;
    rec->id = id;
    rec->ts = ts;
    if (len)
        memcpy(rec + 1, data, len);
    /* release: whoever reads this tail sees the record's bytes written above */
    atomic_store_explicit(&seg->tail, tail + need, memory_order_release);
    count(&seg->enq_msgs);
    if (q->fd >= 0) {
        /* Dekker with shmmq_sleep: our tail store before our read of sleeping, its store of
         * sleeping before its read of tail; one of us sees the other's */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&seg->sleeping, memory_order_relaxed) &&
            atomic_exchange_explicit(&seg->sleeping, 0, memory_order_relaxed))
            notify(q);
    }
    return 0;
    //@stub copy the record into the ring (wrap marker if needed), publish tail, wake a sleeper
    //@ (void)q, (void)id, (void)ts, (void)data, (void)len;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

const void *shmmq_peek(shmmq *q, uint64_t *id, uint64_t *ts, uint32_t *len)
{
    //@solution
    if (q->role != SHMMQ_CONSUMER) {
        errno = EINVAL;
        return NULL;
    }
    struct shmmq_segment *seg = q->seg;
    uint64_t head = atomic_load_explicit(&seg->head, memory_order_relaxed); /* ours */
    uint64_t tail = q->other;
    if (tail == head) {
        /* empty by our copy: read the producer's line (acquire: the records it covers) */
        tail = atomic_load_explicit(&seg->tail, memory_order_acquire);
        q->other = tail;
        if (tail == head) {
            errno = EAGAIN;
            return NULL;
        }
    }
    for (;;) {
        uint64_t used = tail - head, pos = head & q->mask, room = q->capacity - pos;
        if (used > q->capacity || ((head | tail) & 7)) {
            errno = EBADMSG;
            return NULL;
        }
        const struct shmmq_record *rec = (const void *)(q->ring + pos);
        uint32_t n = rec->len; /* read once: the value checked is the value used */
        if (n == SHMMQ_WRAP) {
            /* the record is at 0; the marker and the record came with one tail */
            if (pos == 0 || used < room + SHMMQ_RECORD_HEADER) {
                errno = EBADMSG;
                return NULL;
            }
            head += room;
            atomic_store_explicit(&seg->head, head, memory_order_release);
            continue;
        }
        uint64_t size = SHMMQ_RECORD_SIZE(n);
        if (n > q->max_payload || size > room || size > used) {
            errno = EBADMSG;
            return NULL;
        }
        if (id)
            *id = rec->id;
        if (ts)
            *ts = rec->ts;
        *len = n;
        q->peeked = (uint32_t)size;
        return rec + 1;
    }
    //@stub the oldest record: check it, skip a wrap marker, return its payload
    //@ (void)q, (void)id, (void)ts, (void)len;
    //@ errno = ENOSYS;
    //@ return NULL;
    //@end
}

void shmmq_consume(shmmq *q)
{
    //@solution
    if (q->role != SHMMQ_CONSUMER || q->peeked == 0)
        return;
    uint64_t head = atomic_load_explicit(&q->seg->head, memory_order_relaxed);
    /* release: our reads of the record are done before the producer may reuse its bytes */
    atomic_store_explicit(&q->seg->head, head + q->peeked, memory_order_release);
    q->peeked = 0;
    count(&q->seg->deq_msgs);
    //@stub free the record shmmq_peek returned (publish head)
    //@ (void)q;
    //@end
}

int shmmq_dequeue(shmmq *q, uint64_t *id, uint64_t *ts, void *buf, uint32_t cap, uint32_t *len)
{
    //@solution
    uint32_t n;
    const void *p = shmmq_peek(q, id, ts, &n);
    if (!p)
        return -1;
    *len = n;
    if (n > cap) {
        errno = EMSGSIZE; /* it stays first: the caller needs a larger buffer */
        return -1;
    }
    if (n)
        memcpy(buf, p, n);
    shmmq_consume(q);
    return 0;
    //@stub copy the oldest message out (EMSGSIZE and *len if buf is too small), remove it
    //@ (void)q, (void)id, (void)ts, (void)buf, (void)cap, (void)len;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

int shmmq_fd(const shmmq *q)
{
    return q->fd;
}

int shmmq_wait_ready(shmmq *q, uint64_t spin_ns)
{
    uint64_t head = atomic_load_explicit(&q->seg->head, memory_order_relaxed);
    if (q->other != head)
        return 1;
    /* Each look at an empty queue pulls the producer's line over here, and its next store of
     * tail has to take it back: pause between looks (1, 2, then SPIN_PAUSES_MAX pauses), so
     * that a fast stream is taken a few messages at a time and the producer runs undisturbed.
     * Longer pauses add to the latency of a lone message and gain nothing measurable.
     * The clock costs 25 to 100 ns a reading here, as much as a look, so it is read rarely:
     * not at all during the first CLOCK_FIRST looks (a few hundred nanoseconds, in which a
     * message of a busy ping-pong has usually come), then every CLOCK_EVERY looks; spin_ns
     * counts from the first reading. spin_ns 0 means one look. Reading it at every look made
     * the round trip 17% slower (mqbench -m rtt -P: 889 ns against 741 ns, medians of 11
     * alternating runs); the two readings at the start of every wait, another 3 to 9% (the
     * chapter's guide has the figures). */
    uint64_t start = 0;
    unsigned pauses = 1;
    for (unsigned looks = 1;; looks++) {
        uint64_t tail = atomic_load_explicit(&q->seg->tail, memory_order_acquire);
        if (tail != head) {
            q->other = tail;
            return 1;
        }
        if (spin_ns == 0)
            return 0;
        for (unsigned i = 0; i < pauses; i++)
            timing_cpu_relax();
        if (pauses < SPIN_PAUSES_MAX)
            pauses *= 2;
        if (looks == CLOCK_FIRST)
            start = timing_now_ns();
        else if (looks > CLOCK_FIRST && looks % CLOCK_EVERY == 0 &&
                 timing_now_ns() - start >= spin_ns)
            return 0;
    }
}

int shmmq_sleep(shmmq *q)
{
    //@solution
    if (q->role != SHMMQ_CONSUMER || q->fd < 0) {
        errno = EINVAL;
        return -1;
    }
    struct shmmq_segment *seg = q->seg;
    atomic_store_explicit(&seg->sleeping, 1, memory_order_relaxed);
    /* Dekker with enqueue: our store of sleeping before our read of tail */
    atomic_thread_fence(memory_order_seq_cst);
    uint64_t tail = atomic_load_explicit(&seg->tail, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&seg->head, memory_order_relaxed);
    if (tail != head) {
        /* a message came before the producer could see the flag: do not sleep. If it saw
         * the flag after all, its byte only causes one extra wake-up. */
        atomic_store_explicit(&seg->sleeping, 0, memory_order_relaxed);
        q->other = tail;
        return 1;
    }
    count(&seg->sleeps);
    return 0;
    //@stub announce the sleep (sleeping = 1, fence), look at tail again: 0 sleep, 1 a message
    //@ (void)q;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

void shmmq_woken(shmmq *q)
{
    //@solution
    if (q->fd < 0)
        return;
    char buf[64];
    ssize_t n;
    while ((n = read(q->fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        ;
    /* awake: the producer need not write until we announce the next sleep */
    atomic_store_explicit(&q->seg->sleeping, 0, memory_order_relaxed);
    //@stub read the wake-up bytes until EAGAIN, clear sleeping
    //@ (void)q;
    //@end
}

int shmmq_stats(const shmmq *q, struct shmmq_stats *out)
{
    struct shmmq_segment *s = q->seg;
    out->enq_msgs = atomic_load_explicit(&s->enq_msgs, memory_order_relaxed);
    out->enq_full = atomic_load_explicit(&s->enq_full, memory_order_relaxed);
    out->notify_writes = atomic_load_explicit(&s->notify_writes, memory_order_relaxed);
    out->notify_errors = atomic_load_explicit(&s->notify_errors, memory_order_relaxed);
    out->deq_msgs = atomic_load_explicit(&s->deq_msgs, memory_order_relaxed);
    out->sleeps = atomic_load_explicit(&s->sleeps, memory_order_relaxed);
    out->capacity = q->capacity;
    uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
    out->used = atomic_load_explicit(&s->tail, memory_order_relaxed) - head;
    out->producer_pid = atomic_load_explicit(&s->producer_pid, memory_order_relaxed);
    out->consumer_pid = atomic_load_explicit(&s->consumer_pid, memory_order_acquire);
    out->deq_at_attach = atomic_load_explicit(&s->deq_at_attach, memory_order_relaxed);
    return 0;
}

uint64_t shmmq_enqueued(const shmmq *q)
{
    return atomic_load_explicit(&q->seg->enq_msgs, memory_order_relaxed);
}

uint32_t shmmq_max_payload(const shmmq *q)
{
    return q->max_payload;
}

int shmmq_fifo_path(char *buf, size_t cap, key_t key)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int n = snprintf(buf, cap, "%s/svrlab-shmmq-%x.fifo", dir, (unsigned)key);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Make (mode 0600) or check the FIFO at path and open it. An existing path must be a FIFO
 * owned by us with mode 0600: anything else (a symlink planted to make us open another
 * file, a FIFO others may write) is refused with EEXIST. Both ends open it O_RDWR, so an
 * open never waits for the other side and a read never sees end of file. */
static int fifo_open(const char *path, int *created)
{
    *created = 0;
    if (mkfifo(path, 0600) == 0)
        *created = 1;
    else if (errno != EEXIST)
        return -1;
    struct stat st, fst;
    if (lstat(path, &st) != 0)
        goto fail;
    //@solution
    if (!S_ISFIFO(st.st_mode) || st.st_uid != geteuid() ||
        (!*created && (st.st_mode & 07777) != 0600)) {
        log_msg("shmmq: %s exists and is not a FIFO of ours with mode 0600: refused", path);
        errno = EEXIST;
        goto fail;
    }
    //@stub refuse (EEXIST) a path that is not a FIFO owned by us with mode 0600 (st: its lstat)
    //@ errno = ENOSYS;
    //@ goto fail;
    //@end
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ELOOP) /* replaced by a symlink since the lstat */
            errno = EEXIST;
        goto fail;
    }
    if (fstat(fd, &fst) != 0)
        goto fail_fd;
    if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
        errno = EEXIST; /* replaced since the lstat */
        goto fail_fd;
    }
    /* ours: a umask may have taken bits away, never added any */
    if (*created && (fst.st_mode & 07777) != 0600 && fchmod(fd, 0600) != 0)
        goto fail_fd;
    return fd;

fail_fd:;
    int e = errno;
    close(fd);
    errno = e;

fail:;
    int err = errno;
    if (*created)
        unlink(path);
    *created = 0;
    errno = err;
    return -1;
}

/* Wake the consumer: one byte on the FIFO. A failure loses no message (it is in the ring),
 * so it is counted and logged once, not reported. A full FIFO means unread bytes: the
 * consumer will wake anyway. */
static void notify(shmmq *q)
{
    static const char byte = 1;
    ssize_t n;
    do
        n = write(q->fd, &byte, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1) {
        count(&q->seg->notify_writes);
        return;
    }
    count(&q->seg->notify_errors);
    if (!q->notify_logged) {
        q->notify_logged = 1;
        log_sys("shmmq: write(%s, 1 byte) to wake the consumer (logged once)", q->fifo_path);
    }
}

/* One more in a counter that only this process writes: no read-modify-write needed. */
static void count(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}
