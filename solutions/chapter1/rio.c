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
    //@solution
    const unsigned char *p = buf;
    size_t left = len;

    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n == -1) {
            /* A signal arrived before anything was written: nothing is lost, try again. */
            if (errno == EINTR)
                continue;
            return -1;
        }
        /* A short count is not an error: the kernel took what fitted in the socket buffer
         * (or a signal cut the call short after some bytes). Go on from where it stopped. */
        p += n;
        left -= (size_t)n;
    }
    return (ssize_t)len;
    //@stub write all len bytes of buf to fd, looping over short writes and EINTR
    //@ (void)fd;
    //@ (void)buf;
    //@ (void)len;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}

ssize_t rio_read_exact(int fd, void *buf, size_t len)
{
    //@solution
    unsigned char *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        /* End of file: the peer will send nothing more. Report how much did arrive, so the
         * caller can tell "closed after 10 of 64 bytes" from "closed before replying". */
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
    //@stub read exactly len bytes from fd into buf; stop early only at end of file
    //@ (void)fd;
    //@ (void)buf;
    //@ (void)len;
    //@ errno = ENOSYS;
    //@ return -1;
    //@end
}
