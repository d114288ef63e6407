/*
 * rio: robust I/O on blocking descriptors (ex1.1).
 *
 * read() and write() on a socket or pipe may move fewer bytes than asked (a short count),
 * and may be interrupted by a signal before moving any (EINTR). Code that assumes a whole
 * message moves in one call works on a quiet machine and fails under load. These two
 * helpers loop until the job is done, so the rest of the lab never has to.
 */
#ifndef SVRLAB_RIO_H
#define SVRLAB_RIO_H

#include <stddef.h>
#include <sys/types.h>

/* Write all len bytes of buf to fd, retrying after short writes and EINTR.
 * Returns len, or -1 with errno set by the write that failed (EPIPE when the peer has gone,
 * EAGAIN if fd is non-blocking and full). len 0 returns 0 without writing. */
ssize_t rio_write_all(int fd, const void *buf, size_t len);

/* Read exactly len bytes from fd into buf, retrying after short reads and EINTR.
 * Returns len; or the number of bytes read before end of file (0 to len-1) when the peer
 * closed first; or -1 with errno set by the read that failed. len 0 returns 0. */
ssize_t rio_read_exact(int fd, void *buf, size_t len);

#endif
