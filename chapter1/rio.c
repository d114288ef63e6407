/*
 * rio: robust I/O on blocking descriptors (ex1.1).
 *
 * The two loops every later program relies on: write a whole buffer, and read an exact
 * number of bytes, whatever the kernel chooses to move per call. The contracts are in rio.h.
 */
#include "rio.h"

#include <errno.h>
#include <unistd.h>

ssize_t rio_write_all(int fd, const void *buf, size_t len)
{
    /* YOUR CODE HERE: write all len bytes of buf to fd, looping over short writes and EINTR */
    (void)fd;
    (void)buf;
    (void)len;
    errno = ENOSYS;
    return -1;
}

ssize_t rio_read_exact(int fd, void *buf, size_t len)
{
    /* YOUR CODE HERE: read exactly len bytes from fd into buf; stop early only at end of file */
    (void)fd;
    (void)buf;
    (void)len;
    errno = ENOSYS;
    return -1;
}
