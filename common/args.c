/*
 * args: strict number and address parsing, the one-line usage errors every program of the
 * lab prints (exit status 2), so a typo in a script fails loudly instead of running with 0,
 * and the whole command line of the servers that take only -a, -p and --help.
 */
#include "args.h"

#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* key_t is an int on every system the lab targets; args_ipc_key relies on it. */
_Static_assert(sizeof(key_t) == sizeof(int) && (key_t)-1 < 0, "key_t must be a signed int");

void args_usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* The message quotes what the user typed; a newline or escape in it must not
     * break the promise of exactly one line. */
    for (char *c = msg; *c != '\0'; c++)
        if (iscntrl((unsigned char)*c))
            *c = '?';
    log_msg("%s (see --help)", msg);
    exit(ARGS_EXIT_USAGE);
}

int args_parse_long(const char *s, long min, long max, long *out)
{
    /* strtol alone would accept "", " 12" and "12abc"; refuse all three. */
    if (s == NULL || s[0] == '\0' || isspace((unsigned char)s[0])) {
        errno = EINVAL;
        return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0') {
        errno = EINVAL;
        return -1;
    }
    if (errno == ERANGE || v < min || v > max) {
        errno = ERANGE;
        return -1;
    }
    *out = v;
    return 0;
}

long args_number(const char *opt, const char *s, long min, long max)
{
    long v;
    if (args_parse_long(s, min, max, &v) < 0)
        args_usage_error("%s: expected a whole number from %ld to %ld, got '%s'", opt, min, max,
                         s != NULL ? s : "");
    return v;
}

double args_seconds(const char *opt, const char *s, double min, double max)
{
    char *end;
    errno = 0;
    double d = s != NULL ? strtod(s, &end) : 0.0;
    if (s == NULL || end == s || *end != '\0' || errno != 0 || !isfinite(d) || d < min || d > max)
        args_usage_error("%s: expected seconds from %g to %g, got '%s'", opt, min, max,
                         s != NULL ? s : "");
    return d;
}

int args_port(const char *s)
{
    return (int)args_number("-p", s, 0, 65535);
}

const char *args_ipv4(const char *s)
{
    struct in_addr addr;
    if (s == NULL || inet_pton(AF_INET, s, &addr) != 1)
        args_usage_error("-a wants a numeric IPv4 address such as 127.0.0.1, got '%s'",
                         s != NULL ? s : "");
    return s;
}

/* Parse "0x..." as hex: every character after the prefix must be a hex digit, since
 * strtol would also take a sign, blanks or a second "0x" there. */
static int parse_hex(const char *digits, long *out)
{
    size_t len = strlen(digits);
    if (len == 0 || strspn(digits, "0123456789abcdefABCDEF") != len)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(digits, &end, 16);
    if (errno == ERANGE || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

key_t args_ipc_key(const char *s)
{
    long v = 0;
    int ok;
    if (s != NULL && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        ok = parse_hex(s + 2, &v) == 0 && v >= 1 && v <= INT_MAX;
    else
        /* Decimal only: "010" is ten, not the octal eight strtol's base 0 would give. */
        ok = args_parse_long(s, 1, INT_MAX, &v) == 0;
    if (!ok)
        args_usage_error("-k: expected a positive whole number (decimal, or hex with 0x) up to "
                         "%d (0x%x), got '%s'",
                         INT_MAX, INT_MAX, s != NULL ? s : "");
    return (key_t)v;
}

void args_bad_option(const char *arg)
{
    args_usage_error("unknown option or missing value: '%s'", arg != NULL ? arg : "");
}

void args_parse_listen(int argc, char **argv, void (*usage)(FILE *out), struct args_listen *opt)
{
    static const struct option longopts[] = {
        {"addr", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opt->addr = ARGS_DEFAULT_ADDR;
    opt->port = -1; /* not a port: tells "not given" apart from -p 0 */

    opterr = 0; /* our own one-line message instead of getopt's */
    while ((c = getopt_long(argc, argv, "a:p:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            opt->addr = args_ipv4(optarg);
            break;
        case 'p':
            opt->port = args_port(optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
    if (opt->port == -1)
        args_usage_error("-p PORT is required; 0 picks a free port");
}

void args_parse_view(int argc, char **argv, void (*usage)(FILE *out), const char *key_is,
                     struct args_view *opt)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"once", no_argument, NULL, 'o'},
        {"interval", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opt->key = NULL;
    opt->once = 0;
    opt->interval = ARGS_VIEW_INTERVAL_DEFAULT;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "k:i:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            opt->key = optarg;
            break;
        case 'o':
            opt->once = 1;
            break;
        case 'i':
            opt->interval =
                args_seconds("-i", optarg, ARGS_VIEW_INTERVAL_MIN, ARGS_VIEW_INTERVAL_MAX);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            args_bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        args_bad_option(argv[optind]);
    if (opt->key == NULL)
        args_usage_error("-k KEY is required: %s", key_is);
}
