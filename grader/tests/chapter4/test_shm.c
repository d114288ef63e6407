/*
 * test_shm.c: unit tests of ex4.1's segment helpers (shm.c): create, attach, remove.
 *
 * Each test calls the student's functions on keys of its own (gt_ipc_key) and looks at the
 * segments behind them with the system calls themselves (shmget, shmctl IPC_STAT, shmat), so
 * that what is checked is what the kernel holds, not what shm.c says. "Foreign" segments are
 * made here with plain shmget and filled with a known pattern, to see that an attach that
 * refuses them also left every byte as it was.
 */
#include "gt.h"
#include "shm.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x54534d31u /* "TSM1" */
#define VERSION 3u
#define SEG_SIZE 8192u

/* ---- helpers ------------------------------------------------------------------------- */

/* shm_create that fails the test (naming the call) when it returns NULL. */
static void *create_ok(key_t key, size_t size, uint32_t magic, uint32_t version)
{
    void *base = shm_create(key, size, magic, version);
    if (base == NULL) {
        int err = errno;
        gt_fail_if_not_implemented("shm_create");
        gt_fail("shm_create(key 0x%x, size %zu, magic 0x%x, version %u) returned NULL: %s",
                (unsigned)key, size, magic, version, strerror(err));
    }
    return base;
}

/* Call shm_attach and fail the test unless it refuses with errno `want`. */
static void expect_attach_refused(key_t key, uint32_t magic, uint32_t version, size_t size,
                                  int want, const char *why)
{
    errno = 0;
    void *base = shm_attach(key, magic, version, size, 0);
    int err = errno;
    if (base != NULL) {
        (void)shmdt(base);
        gt_fail("shm_attach(key 0x%x, magic 0x%x, version %u, size %zu) attached %s; expected "
                "NULL with errno %s",
                (unsigned)key, magic, version, size, why, strerror(want));
    }
    errno = err;
    gt_fail_if_not_implemented("shm_attach");
    if (err != want)
        gt_fail("shm_attach(key 0x%x, magic 0x%x, version %u, size %zu) on %s: errno %d (%s); "
                "expected %s",
                (unsigned)key, magic, version, size, why, err, strerror(err), strerror(want));
}

/* A segment made by the test itself: size bytes, mode 0600, attached read-write. */
static void *raw_segment(key_t key, size_t size, int *id)
{
    *id = shmget(key, size, IPC_CREAT | IPC_EXCL | 0600);
    if (*id == -1)
        gt_fail("shmget(key 0x%x, %zu, IPC_CREAT|IPC_EXCL|0600) (the test's own segment): %s",
                (unsigned)key, size, strerror(errno));
    void *base = shmat(*id, NULL, 0);
    if (base == (void *)-1)
        gt_fail("shmat(the test's own segment): %s", strerror(errno));
    return base;
}

/* A segment of ours, as shm_create would have made it, with every field chosen by the test
 * and the user's part filled with a pattern. */
static void *fake_segment(key_t key, size_t size, uint32_t magic, uint32_t version,
                          uint64_t header_size, int *id)
{
    unsigned char *base = raw_segment(key, size, id);
    gt_fill_pattern(base, size, 41);
    struct shm_header h = {magic, version, header_size, 1, (int32_t)getpid(), 0};
    memcpy(base, &h, sizeof h);
    return base;
}

static void drop_raw(void *base, int id)
{
    (void)shmdt(base);
    (void)shmctl(id, IPC_RMID, NULL);
}

/* Fail the test unless the size bytes at base equal snapshot (copied before the call). */
static void expect_unchanged(const void *base, const void *snapshot, size_t size, const char *call)
{
    const unsigned char *a = base, *b = snapshot;
    for (size_t i = 0; i < size; i++)
        if (a[i] != b[i])
            gt_fail("%s wrote to the segment it refused: byte %zu was 0x%02x, now 0x%02x (an "
                    "attach must never write)",
                    call, i, b[i], a[i]);
}

static uint64_t realtime_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- create and attach ----------------------------------------------------------------- */

GT_TEST(shm_create_then_attach_sees_header, 20)
{
    key_t key = gt_ipc_key(0);
    uint64_t before = realtime_ns();
    struct shm_header *h = create_ok(key, SEG_SIZE, MAGIC, VERSION);
    uint64_t after = realtime_ns();
    if (h->magic != MAGIC || h->version != VERSION || h->size != SEG_SIZE)
        gt_fail("after shm_create(size %u, magic 0x%x, version %u) the header holds magic 0x%x, "
                "version %u, size %llu",
                SEG_SIZE, MAGIC, VERSION, h->magic, h->version, (unsigned long long)h->size);
    if (h->creator_pid != (int32_t)getpid())
        gt_fail("header creator_pid is %d; the creating process is %d", (int)h->creator_pid,
                (int)getpid());
    if (h->created_ns < before || h->created_ns > after)
        gt_fail("header created_ns is %llu, not within the shm_create call [%llu, %llu] "
                "(CLOCK_REALTIME nanoseconds)",
                (unsigned long long)h->created_ns, (unsigned long long)before,
                (unsigned long long)after);
    const unsigned char *user = (const unsigned char *)h + SHM_HEADER_SIZE;
    for (size_t i = 0; i < SEG_SIZE - SHM_HEADER_SIZE; i++)
        if (user[i] != 0)
            gt_fail("byte %zu of a new segment is 0x%02x, not 0", SHM_HEADER_SIZE + i, user[i]);

    /* A second mapping, as another process would get it: the same header. */
    const struct shm_header *seen = shm_attach(key, MAGIC, VERSION, SEG_SIZE, 0);
    if (seen == NULL) {
        int err = errno;
        gt_fail_if_not_implemented("shm_attach");
        gt_fail("shm_attach(key 0x%x, the same magic, version and size) after shm_create: %s",
                (unsigned)key, strerror(err));
    }
    if (seen == (const void *)h)
        gt_fail("shm_attach returned the creator's own address, not a mapping of its own");
    if (memcmp(seen, h, sizeof *h) != 0)
        gt_fail("the header seen through shm_attach differs from the creator's");
    const struct shm_header *any = shm_attach(key, MAGIC, VERSION, 0, 1);
    if (any == NULL)
        gt_fail("shm_attach(key 0x%x, size 0 = the header's, readonly): %s", (unsigned)key,
                strerror(errno));
    if (shm_attached_count(key) != 3)
        gt_fail("shm_attached_count says %d after one create and two attaches; expected 3",
                shm_attached_count(key));
    if (shm_detach((void *)any) == -1 || shm_detach((void *)seen) == -1 || shm_detach(h) == -1)
        gt_fail("shm_detach: %s", strerror(errno));
    if (shm_remove(key) == -1)
        gt_fail("shm_remove(key 0x%x): %s", (unsigned)key, strerror(errno));
}

GT_TEST(shm_create_twice_eexist, 20)
{
    key_t key = gt_ipc_key(0);
    unsigned char *base = create_ok(key, SEG_SIZE, MAGIC, VERSION);
    memset(base + SHM_HEADER_SIZE, 0x5a, 100);
    errno = 0;
    void *again = shm_create(key, SEG_SIZE, MAGIC, VERSION);
    int err = errno;
    if (again != NULL)
        gt_fail("a second shm_create(key 0x%x) succeeded; expected NULL with EEXIST (IPC_EXCL)",
                (unsigned)key);
    if (err != EEXIST)
        gt_fail("a second shm_create(key 0x%x): errno %d (%s); expected EEXIST", (unsigned)key,
                err, strerror(err));
    const struct shm_header *h = (const void *)base;
    if (h->magic != MAGIC || base[SHM_HEADER_SIZE] != 0x5a || base[SHM_HEADER_SIZE + 99] != 0x5a)
        gt_fail("the failed second shm_create changed the existing segment");
    (void)shm_detach(base);
    (void)shm_remove(key);
}

GT_TEST(shm_attach_foreign_segment_ebadmsg, 20)
{
    key_t key = gt_ipc_key(0);
    static unsigned char snapshot[SEG_SIZE];
    int id;
    void *base = fake_segment(key, SEG_SIZE, 0x0badf00du, VERSION, SEG_SIZE, &id);
    memcpy(snapshot, base, SEG_SIZE);
    expect_attach_refused(key, MAGIC, VERSION, SEG_SIZE, EBADMSG,
                          "a segment whose magic is another program's");
    expect_unchanged(base, snapshot, SEG_SIZE, "shm_attach");
    /* Too small to hold a header at all: another program's too. */
    int small_id;
    void *small = raw_segment(gt_ipc_key(1), 16, &small_id);
    memset(small, 0, 16);
    memcpy(small, &(uint32_t){MAGIC}, 4);
    expect_attach_refused(gt_ipc_key(1), MAGIC, VERSION, 0, EBADMSG,
                          "a 16-byte segment (smaller than the 64-byte header)");
    drop_raw(small, small_id);
    drop_raw(base, id);
}

GT_TEST(shm_attach_other_version_eproto, 20)
{
    key_t key = gt_ipc_key(0);
    static unsigned char snapshot[SEG_SIZE];
    int id;
    void *base = fake_segment(key, SEG_SIZE, MAGIC, VERSION + 1, SEG_SIZE, &id);
    memcpy(snapshot, base, SEG_SIZE);
    expect_attach_refused(key, MAGIC, VERSION, SEG_SIZE, EPROTO,
                          "a segment of the same magic but version 4");
    expect_unchanged(base, snapshot, SEG_SIZE, "shm_attach");
    drop_raw(base, id);
}

GT_TEST(shm_attach_size_mismatch_einval, 20)
{
    key_t key = gt_ipc_key(0);
    void *base = create_ok(key, SEG_SIZE, MAGIC, VERSION);
    expect_attach_refused(key, MAGIC, VERSION, 2 * SEG_SIZE, EINVAL,
                          "an 8192-byte segment when 16384 bytes were expected");
    (void)shm_detach(base);
    (void)shm_remove(key);

    /* A header that claims more than the segment holds: a reader trusting it (size 0) would
     * read past the end of the mapping. */
    int id;
    void *fake = fake_segment(gt_ipc_key(1), SEG_SIZE, MAGIC, VERSION, 4 * SEG_SIZE, &id);
    expect_attach_refused(gt_ipc_key(1), MAGIC, VERSION, 0, EINVAL,
                          "an 8192-byte segment whose header says 32768 bytes (size 0 given)");
    drop_raw(fake, id);
}

GT_TEST(shm_attach_being_created_eagain, 20)
{
    key_t key = gt_ipc_key(0);
    int id;
    void *base = raw_segment(key, SEG_SIZE, &id); /* all zero: magic not published yet */
    expect_attach_refused(key, MAGIC, VERSION, SEG_SIZE, EAGAIN,
                          "a segment whose magic is still 0 (its creator is filling it)");
    drop_raw(base, id);
    expect_attach_refused(key, MAGIC, VERSION, SEG_SIZE, ENOENT, "a key with no segment");
}

GT_TEST(shm_attach_never_wipes, 20)
{
    key_t key = gt_ipc_key(0);
    unsigned char *base = create_ok(key, SEG_SIZE, MAGIC, VERSION);
    static unsigned char snapshot[SEG_SIZE];
    gt_fill_pattern(base + SHM_HEADER_SIZE, SEG_SIZE - SHM_HEADER_SIZE, 7);
    memcpy(snapshot, base, SEG_SIZE);
    for (int readonly = 0; readonly <= 1; readonly++) {
        const unsigned char *seen = shm_attach(key, MAGIC, VERSION, readonly ? 0 : SEG_SIZE,
                                               readonly);
        if (seen == NULL) {
            int err = errno;
            gt_fail_if_not_implemented("shm_attach");
            gt_fail("shm_attach(key 0x%x, %s) of a segment holding data: %s", (unsigned)key,
                    readonly ? "readonly" : "read-write", strerror(err));
        }
        for (size_t i = 0; i < SEG_SIZE; i++)
            if (seen[i] != snapshot[i] || base[i] != snapshot[i])
                gt_fail("after a %s shm_attach, byte %zu of the segment is 0x%02x, was 0x%02x: "
                        "attaching must leave the data as it was (a second process that wipes "
                        "the segment destroys the first one's state)",
                        readonly ? "readonly" : "read-write", i, base[i], snapshot[i]);
        (void)shm_detach((void *)seen);
    }
    (void)shm_detach(base);
    (void)shm_remove(key);
}

GT_TEST(shm_create_mode_0600, 20)
{
    key_t key = gt_ipc_key(0);
    void *base = create_ok(key, SEG_SIZE, MAGIC, VERSION);
    struct shmid_ds ds;
    int id = shmget(key, 0, 0);
    if (id == -1 || shmctl(id, IPC_STAT, &ds) == -1)
        gt_fail("shmget/shmctl(IPC_STAT) of the segment shm_create made: %s", strerror(errno));
    unsigned mode = ds.shm_perm.mode & 0777;
    if (mode != 0600)
        gt_fail("the segment shm_create made has mode 0%o; expected 0600 (0666 lets any user "
                "of the machine read and overwrite it)",
                mode);
    if (ds.shm_segsz != SEG_SIZE)
        gt_fail("the segment is %zu bytes; shm_create was asked for %u", (size_t)ds.shm_segsz,
                SEG_SIZE);
    (void)shm_detach(base);
    (void)shm_remove(key);
}

GT_TEST(shm_remove_then_gone, 20)
{
    key_t key = gt_ipc_key(0);
    void *base = create_ok(key, SEG_SIZE, MAGIC, VERSION);
    if (shm_remove(key) == -1) {
        int err = errno;
        gt_fail_if_not_implemented("shm_remove");
        gt_fail("shm_remove(key 0x%x) of a segment shm_create made: %s", (unsigned)key,
                strerror(err));
    }
    /* Still attached here, yet the key must be free at once: a new server can start. */
    if (shmget(key, 0, 0) != -1 || errno != ENOENT)
        gt_fail("after shm_remove(key 0x%x), shmget(key 0x%x, 0, 0) still finds a segment",
                (unsigned)key, (unsigned)key);
    (void)shm_detach(base);
    errno = 0;
    if (shm_remove(key) != -1 || errno != ENOENT)
        gt_fail("shm_remove(key 0x%x) with no segment there: expected -1 with ENOENT, got errno "
                "%d (%s)",
                (unsigned)key, errno, strerror(errno));
}
