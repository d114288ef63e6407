/*
 * args: the command-line conventions every program of the lab follows.
 *
 * Programs parse their options with getopt_long and these helpers:
 *  - "--help" prints the usage on stdout and exits 0;
 *  - a bad argument prints one line "prog: <what is wrong> (see --help)" on stderr and
 *    exits with status 2 (ARGS_EXIT_USAGE);
 *  - "-a ADDR" is a numeric IPv4 address, "-p PORT" the TCP port (0 = let the kernel pick
 *    one), "-k KEY" the System V IPC base key of programs that use shared memory.
 */
#ifndef SVRLAB_ARGS_H
#define SVRLAB_ARGS_H

#include <stdio.h>
#include <sys/types.h>

#define ARGS_EXIT_USAGE 2

/* The address of -a when it is not given: the lab's programs talk over loopback. */
#define ARGS_DEFAULT_ADDR "127.0.0.1"

/* Print "prog: <message> (see --help)" on stderr and exit(ARGS_EXIT_USAGE). */
void args_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Parse s as a whole decimal integer in [min, max] (an optional sign, then digits only:
 * no blanks, no trailing characters). Returns 0 and stores it in *out, or returns -1
 * with *out untouched (errno EINVAL for a non-number, ERANGE when out of range). */
int args_parse_long(const char *s, long min, long max, long *out);

/* The value of option `opt` (e.g. "-n"), a decimal integer in [min, max]; anything else is a
 * usage error that names the option, the range and what was given. */
long args_number(const char *opt, const char *s, long min, long max);

/* The value of option `opt` (e.g. "-i"), a decimal number of seconds in [min, max] (a fraction
 * is fine: "0.5"); anything else is a usage error that names the option and the range. */
double args_seconds(const char *opt, const char *s, double min, double max);

/* The value of -p: a TCP port, 0 to 65535. */
int args_port(const char *s);

/* The value of -a: s itself when it is a numeric IPv4 address such as 127.0.0.1 (names
 * are refused, as net.h refuses them); anything else is a usage error. */
const char *args_ipv4(const char *s);

/* The value of -k: a System V IPC key, a positive integer (decimal, or hex with 0x; a
 * leading 0 does not mean octal). */
key_t args_ipc_key(const char *s);

/* The usage error for getopt_long's '?' case (programs set opterr = 0 so getopt prints
 * nothing itself) and for unexpected operands: arg is the offending word, argv[optind - 1]
 * or the operand. Prints "prog: unknown option or missing value: 'arg' (see --help)". */
void args_bad_option(const char *arg) __attribute__((noreturn));

/* The options of a server that takes -a ADDR, -p PORT and --help, and nothing else. */
struct args_listen {
    const char *addr; /* -a: a numeric IPv4 address; ARGS_DEFAULT_ADDR when not given */
    int port;         /* -p: 0 to 65535, 0 lets the kernel pick; required */
};

/* The option lines of args_parse_listen() for the server's usage text, kept next to the
 * parser so that --help and the parser can not disagree. */
#define ARGS_LISTEN_HELP                                                                           \
    "  -a, --addr ADDR  numeric IPv4 address to listen on (default " ARGS_DEFAULT_ADDR ")\n"       \
    "  -p, --port PORT  TCP port, 0 to 65535; 0 lets the system pick a free one\n"                 \
    "  -h, --help       print this help and exit\n"

/* Parse such a server's whole command line with getopt_long, from argv[1] (getopt must not
 * have run before). --help (-h) calls usage(stdout) and exits 0. A bad value, an unknown
 * option, an operand or a missing -p is a usage error, so on return *opt is valid. */
void args_parse_listen(int argc, char **argv, void (*usage)(FILE *out), struct args_listen *opt);

/* The command line of a live viewer of shared memory (chapter 4's viewstat, chapter 5's
 * viewconn): -k KEY (required), --once, -i SECONDS. */
#define ARGS_VIEW_INTERVAL_DEFAULT 1.0
#define ARGS_VIEW_INTERVAL_MIN 0.01
#define ARGS_VIEW_INTERVAL_MAX 3600.0
struct args_view {
    const char *key; /* -k's text: each viewer reads it its own way (args_ipc_key, ...) */
    int once;        /* --once: one look, then exit */
    double interval; /* -i: seconds between two looks, ARGS_VIEW_INTERVAL_MIN to _MAX */
};

/* Parse such a viewer's whole command line, as args_parse_listen does; a missing -k is a usage
 * error that says what the key is (`key_is`: "the key md was started with"). */
void args_parse_view(int argc, char **argv, void (*usage)(FILE *out), const char *key_is,
                     struct args_view *opt);

#endif
