/*
 * log: one-line diagnostics on stderr, prefixed with the program's name.
 *
 * A failed system call is reported with the call and its arguments, so the reader
 * knows what was attempted, not only that something failed:
 *
 *     log_sys("connect(fd=%d, %s:%d)", fd, host, port);
 *     -> "echoclient: connect(fd=3, 127.0.0.1:9): Connection refused"
 */
#ifndef SVRLAB_LOG_H
#define SVRLAB_LOG_H

/* Set the name that prefixes every message (usually argv[0]; only its last path
 * component is kept). Before the first call the prefix is "svrlab". A NULL or empty
 * name, or one ending in '/', leaves the prefix as it was. */
void log_init(const char *progname);

/* The name set by log_init(). */
const char *log_progname(void);

/* "prog: <message>\n" on stderr. errno is preserved. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: <call with its arguments>: strerror(errno)\n" on stderr, for a failed system
 * or library call that set errno. errno is preserved, so a caller may still test it. */
void log_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
