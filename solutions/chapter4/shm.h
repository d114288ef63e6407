/*
 * shm: System V shared memory segments with a header that says whose they are (ex4.1).
 *
 * Every segment of the lab starts with a struct shm_header: a magic number (which program's
 * segment this is), a version (of its layout), the size of the whole segment, and when and by
 * whom it was created. The user's part starts SHM_HEADER_SIZE bytes in. A key is just a number
 * anyone may pick, so a segment found at a key may be a stale one from an older build, or
 * another program's: shm_attach checks the header before handing the memory out, and never
 * writes to it, so attaching can not destroy what someone else keeps there.
 *
 * The creator fills the header and stores the magic last, with a release store; an attacher
 * reads the magic with an acquire load, so one that sees the magic sees the whole header.
 * Segments are created with mode 0600: only their owner may read or write them.
 *
 * Functions return the segment's base address (the header, at offset 0) or NULL, or 0 / -1,
 * and set errno on failure. shm prints nothing: callers log, with shm_strerror for its errnos.
 */
#ifndef SVRLAB_SHM_H
#define SVRLAB_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The first bytes of every segment of the lab. Plain fields, written once by the creator
 * before it publishes the magic; nobody writes them afterwards. */
struct shm_header {
    uint32_t magic;      /* which program's segment; 0 while being created */
    uint32_t version;    /* of that program's layout */
    uint64_t size;       /* of the whole segment, header included, in bytes */
    uint64_t created_ns; /* CLOCK_REALTIME nanoseconds at creation */
    int32_t creator_pid; /* the process that created it */
    uint32_t pad;
};

/* The user's part of a segment starts this many bytes in: a cache line of its own for the
 * header, so that data written often never shares the line with it. */
#define SHM_HEADER_SIZE 64

/*
 * Create the segment of `size` bytes (at least SHM_HEADER_SIZE) at `key`, mode 0600, refusing
 * a key that is taken; attach it read-write and fill its header (the rest is zero: the kernel
 * zero-fills new segments). The magic (not 0) is stored last, with a release store.
 * Returns the base, or NULL with errno: EEXIST (a segment with that key exists: nothing was
 * touched), EINVAL (size or magic unusable), or shmget's / shmat's errno (nothing left behind).
 */
void *shm_create(key_t key, size_t size, uint32_t magic, uint32_t version);

/*
 * Attach the existing segment at `key`, read-only if `readonly`, after checking that it is one
 * of ours: it never writes to the segment, whatever it finds. `size` is the whole segment's
 * expected size, or 0 to accept the size recorded in the header (a reader that does not know
 * it). Returns the base, or NULL with errno:
 *   ENOENT   no segment at key
 *   EBADMSG  not a segment of this program: the magic differs (or too small for a header)
 *   EPROTO   a segment of another version of this program
 *   EINVAL   the size differs: the segment's real size against `size` or against its header
 *   EAGAIN   the magic is still 0: being created; try again a little later
 *   or shmget's / shmat's errno (EACCES: someone else's segment).
 */
void *shm_attach(key_t key, uint32_t magic, uint32_t version, size_t size, int readonly);

/*
 * Either side may come first: create the segment, or attach it (read-write) if it exists,
 * waiting up to a second while its creator is still filling it in (EAGAIN). *created is set
 * to 1 if this call created it, else 0. Returns the base, or NULL with shm_create's or
 * shm_attach's errno.
 */
void *shm_create_or_attach(key_t key, size_t size, uint32_t magic, uint32_t version, int *created);

/* Detach a segment that shm_create / shm_attach returned. 0, or -1 with errno (EINVAL: not
 * the start of an attached segment). */
int shm_detach(void *base);

/* Mark the segment at `key` for removal: it goes once the last process has detached, and the
 * key is free at once. 0, or -1 with errno (ENOENT if there is none, EPERM if not ours). */
int shm_remove(key_t key);

/* How many processes have the segment at `key` attached, or -1 with errno (ENOENT). */
int shm_attached_count(key_t key);

/* A message for an errno set by shm (EBADMSG: "not a segment of this program (magic
 * differs)", ...), strerror's for the others. */
const char *shm_strerror(int err);

#endif
