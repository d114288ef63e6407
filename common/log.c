/*
 * log: one-line diagnostics on stderr, prefixed with the program's name.
 *
 * Each message is assembled in memory and handed to the kernel with a single write(2),
 * so lines from several processes sharing one stderr (the io and logic processes of
 * chapter 4, a server and its children) never interleave mid-line.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Long enough for any program name of the lab; a longer one is cut, not rejected. */
static char progname[64] = "svrlab";

/* A message longer than this is cut and ends with "...": a diagnostic must not fail. */
#define LOG_LINE_MAX 2048

void log_init(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return;
    const char *slash = strrchr(name, '/');
    const char *base = slash != NULL ? slash + 1 : name;
    /* "./dir/" has no last component; keep the previous name rather than print ": msg". */
    if (base[0] == '\0')
        return;
    snprintf(progname, sizeof progname, "%s", base);
}

const char *log_progname(void)
{
    return progname;
}

/* Write all of buf to stderr, riding out EINTR and short writes. Errors are dropped:
 * there is nowhere left to report them. */
static void write_stderr(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Format "prog: <fmt...>[: <reason>]\n" into one buffer and write it. */
static void emit(const char *reason, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    /* Room kept for "...\n" so a cut line still ends like every other line. */
    const size_t room = sizeof line - 4;
    size_t len = 0;
    int n;

    n = snprintf(line, room, "%s: ", progname);
    len = n < 0 ? 0 : (size_t)n;
    if (len < room) {
        n = vsnprintf(line + len, room - len, fmt, ap);
        len += n < 0 ? 0 : (size_t)n;
    }
    if (reason != NULL && len < room) {
        n = snprintf(line + len, room - len, ": %s", reason);
        len += n < 0 ? 0 : (size_t)n;
    }
    if (len >= room) {
        len = room - 1; /* snprintf stopped there and wrote a NUL */
        memcpy(line + len, "...", 3);
        len += 3;
    }
    line[len++] = '\n';
    write_stderr(line, len);
}

void log_msg(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    emit(NULL, fmt, ap);
    va_end(ap);
    errno = saved;
}

void log_sys(const char *fmt, ...)
{
    int saved = errno;
    char reason[256];
    /* The GNU strerror_r (we build with _GNU_SOURCE) returns the text, possibly in a
     * static string rather than our buffer; unlike strerror it is safe in threads. */
    const char *text = strerror_r(saved, reason, sizeof reason);
    va_list ap;
    va_start(ap, fmt);
    emit(text, fmt, ap);
    va_end(ap);
    errno = saved;
}
