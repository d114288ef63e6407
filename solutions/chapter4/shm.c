/*
 * shm: System V shared memory segments with a header that says whose they are (ex4.1).
 * See shm.h for the contract. shmget finds or makes a segment by key, shmat maps it into our
 * address space, shmdt unmaps it, and shmctl(IPC_RMID) marks it for removal: it goes away
 * when the last process detaches (or exits), and its key is free for a new segment at once.
 */
#include "shm.h"

#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#define RETRY_NS 1000000000L /* shm_create_or_attach: how long a creator may take */
#define RETRY_PAUSE_NS 1000000L

void *shm_create(key_t key, size_t size, uint32_t magic, uint32_t version)
{
    //@solution
    if (size < SHM_HEADER_SIZE || magic == 0) {
        errno = EINVAL;
        return NULL;
    }
    /* IPC_EXCL: a segment already at this key is someone's (a running program, or a stale
     * one from a run that died); taking it over or wiping it is never our call. */
    int id = shmget(key, size, IPC_CREAT | IPC_EXCL | 0600);
    if (id == -1)
        return NULL;
    void *base = shmat(id, NULL, 0);
    if (base == (void *)-1) {
        int err = errno;
        (void)shmctl(id, IPC_RMID, NULL); /* nobody else can have found it useful yet */
        errno = err;
        return NULL;
    }
    /* A new segment is zero-filled by the kernel: no memset, which would touch every page. */
    struct shm_header *h = base;
    struct timespec now;
    (void)clock_gettime(CLOCK_REALTIME, &now); /* can not fail with this clock */
    h->version = version;
    h->size = size;
    h->created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    h->creator_pid = (int32_t)getpid();
    /* Last, and released: an attacher that reads the magic with an acquire load sees the
     * fields above as written. Until then it sees 0 and answers EAGAIN. */
    __atomic_store_n(&h->magic, magic, __ATOMIC_RELEASE);
    return base;
    //@stub shmget(IPC_CREAT|IPC_EXCL|0600), shmat, fill the header, the magic last (release)
    //@ (void)key;
    //@ (void)size;
    //@ (void)magic;
    //@ (void)version;
    //@ errno = ENOSYS;
    //@ return NULL;
    //@end
}

void *shm_attach(key_t key, uint32_t magic, uint32_t version, size_t size, int readonly)
{
    //@solution
    int id = shmget(key, 0, 0); /* size 0 and no flags: find it, whatever its size */
    if (id == -1)
        return NULL;
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) == -1)
        return NULL;
    if (ds.shm_segsz < SHM_HEADER_SIZE) {
        errno = EBADMSG; /* too small to hold our header: not ours */
        return NULL;
    }
    void *base = shmat(id, NULL, readonly ? SHM_RDONLY : 0);
    if (base == (void *)-1)
        return NULL;
    /* Only reads from here: whatever the segment holds, it stays as it was. */
    const struct shm_header *h = base;
    uint32_t seen = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
    int err = 0;
    if (seen == 0)
        err = EAGAIN;
    else if (seen != magic)
        err = EBADMSG;
    else if (h->version != version)
        err = EPROTO;
    else if (h->size != ds.shm_segsz || (size != 0 && size != ds.shm_segsz))
        err = EINVAL; /* an old layout's size, or a header that lies about the mapping */
    if (err != 0) {
        (void)shmdt(base);
        errno = err;
        return NULL;
    }
    return base;
    //@stub shmget(key, 0, 0), IPC_STAT, shmat; check magic, version and size; never write
    //@ (void)key;
    //@ (void)magic;
    //@ (void)version;
    //@ (void)size;
    //@ (void)readonly;
    //@ errno = ENOSYS;
    //@ return NULL;
    //@end
}

void *shm_create_or_attach(key_t key, size_t size, uint32_t magic, uint32_t version, int *created)
{
    struct timespec start, now;
    (void)clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        void *base = shm_create(key, size, magic, version);
        if (base != NULL) {
            *created = 1;
            return base;
        }
        if (errno != EEXIST)
            return NULL;
        base = shm_attach(key, magic, version, size, 0);
        if (base != NULL) {
            *created = 0;
            return base;
        }
        /* EAGAIN: its creator is filling it in; ENOENT: removed since our shm_create, so the
         * key may be free now. Both are worth another try, for a while. */
        if (errno != EAGAIN && errno != ENOENT)
            return NULL;
        (void)clock_gettime(CLOCK_MONOTONIC, &now);
        long waited = (long)(now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec);
        if (waited >= RETRY_NS) {
            errno = EAGAIN;
            return NULL;
        }
        struct timespec pause = {0, RETRY_PAUSE_NS};
        (void)nanosleep(&pause, NULL);
    }
}

int shm_detach(void *base)
{
    return shmdt(base);
}

int shm_remove(key_t key)
{
    //@solution
    int id = shmget(key, 0, 0);
    if (id == -1)
        return -1;
    return shmctl(id, IPC_RMID, NULL);
    //@stub find the segment of key (shmget) and mark it for removal (shmctl IPC_RMID)
    //@ (void)key;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

int shm_attached_count(key_t key)
{
    int id = shmget(key, 0, 0);
    if (id == -1)
        return -1;
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) == -1)
        return -1;
    return (int)ds.shm_nattch;
}

const char *shm_strerror(int err)
{
    switch (err) {
    case ENOENT:
        return "no segment with this key";
    case EEXIST:
        return "a segment with this key exists already";
    case EBADMSG:
        return "not a segment of this program (magic differs)";
    case EPROTO:
        return "a segment of another version of this program (version differs)";
    case EINVAL:
        return "segment size differs from the expected one, or is unusable";
    case EAGAIN:
        return "segment still being created (magic not set yet)";
    default:
        return strerror(err);
    }
}
