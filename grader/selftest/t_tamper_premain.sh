# Grader self-test: code in the student's file that runs before main (or replaces what the C
# library, Check or the grader define) must not build into anything the grader runs.
#
# The attack: before the runner's main, read the test's name and log path from
# /proc/self/cmdline and the end token from the test's folder (the runner has not taken it
# yet), write a passing Check log and the reached-end marker, then _exit(0): every test the
# runner is asked for "passes" (chapter 1's starter scored 100/100 through .init). It is
# reached by every route to code before main that a C file can take, each tried on its own
# against grader/linkcheck (which must refuse it, naming the file and the section or symbol):
#   init        a top-level asm that adds a call to the legacy .init section
#   fini        the same in .fini (runs after main, where the marker can still be written)
#   ifunc       an IFUNC resolver (__attribute__((ifunc))): runs while the program loads
#   gmon        a definition of __gmon_start__, which crti's _init calls when it is defined
#   ctor        a constructor (.init_array), and the asm ones: .preinit_array, .ctors, and an
#               INIT_ARRAY section named like data
# and names that others define: atexit, at_quick_exit, pthread_atfork (libc_nonshared.a, not
# in libc.so.6's dynamic table), a Check function and a grader function. One grading of the
# .init route checks the end: the build output names the problem and the score is the
# starter's.

tp=$tmp/tamper-premain

# The forging code, put in front of the starter's rio.c; HOOK (a variant below) calls it.
tamper_premain_code() {
    cat <<'EOF'
/* TAMPER: forge a passing test before main (grader/selftest/t_tamper_premain.sh) */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
EOF
    sed -n '/^#define TAMPER_PASS_XML/,/^$/p' grader/selftest/t_tamper_attacks.sh
    cat <<'EOF'
void tamper_forge(void);
void tamper_forge(void)
{
    static char env[65536], cmd[8192], tok[128], path[4400], text[4096];
    const char *dir = NULL, *arg[5] = {NULL};
    int fd = open("/proc/self/environ", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, env, sizeof env - 1) : -1;
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(env + i) + 1)
        if (strncmp(env + i, "SVRLAB_TEST_DIR=", 16) == 0)
            dir = env + i + 16;
    fd = open("/proc/self/cmdline", O_RDONLY);
    n = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
    int k = 0;
    for (ssize_t i = 0; i < n && k < 5; i += (ssize_t)strlen(cmd + i) + 1)
        arg[k++] = cmd + i;
    if (!dir || k < 5 || strcmp(arg[1], "--run") != 0)
        return;
    snprintf(path, sizeof path, "%s/end-token", dir);
    fd = open(path, O_RDONLY);
    n = fd >= 0 ? read(fd, tok, sizeof tok - 1) : 0;
    tok[n > 0 ? n : 0] = 0;
    snprintf(path, sizeof path, "%s/reached-end", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dprintf(fd, "%s %s\n", arg[2], tok);
    fd = open(arg[4], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    snprintf(text, sizeof text, TAMPER_PASS_XML, arg[2], arg[2]);
    if (write(fd, text, strlen(text)) < 0)
        _exit(1);
    _exit(0);
}
EOF
}

# The hook of each route, and the words linkcheck's lines must hold (a line each).
tamper_premain_hook() {
    case $1 in
    init) printf '%s\n' '__asm__(".section .init,\"ax\",@progbits\n\tcall tamper_forge\n\t.text");' ;;
    fini) printf '%s\n' '__asm__(".section .fini,\"ax\",@progbits\n\tcall tamper_forge\n\t.text");' ;;
    ifunc) printf '%s\n' 'static void *tamper_resolve(void) { tamper_forge(); return NULL; }
int tamper_ifunc(void) __attribute__((ifunc("tamper_resolve")));
__attribute__((used)) static int (*volatile tamper_use)(void) = tamper_ifunc;' ;;
    gmon) printf '%s\n' 'void __gmon_start__(void); void __gmon_start__(void) { tamper_forge(); }' ;;
    ctor) printf '%s\n' '__attribute__((constructor)) static void tamper_ctor(void) { tamper_forge(); }' ;;
    preinit) printf '%s\n' '__asm__(".section .preinit_array,\"aw\",@preinit_array\n\t.quad tamper_forge\n\t.text");' ;;
    ctors) printf '%s\n' '__asm__(".section .ctors,\"aw\",@progbits\n\t.quad tamper_forge\n\t.text");' ;;
    datainit) printf '%s\n' '__asm__(".section .data.tamper,\"aw\",@init_array\n\t.quad tamper_forge\n\t.text");' ;;
    names) printf '%s\n' '#include <pthread.h>
int atexit(void (*f)(void)) { (void)f; return 0; }
int at_quick_exit(void (*f)(void)) { (void)f; return 0; }
int pthread_atfork(void (*a)(void), void (*b)(void), void (*c)(void)) { (void)a; (void)b; (void)c; return 0; }
int srunner_ntests_run(void *sr); int srunner_ntests_run(void *sr) { (void)sr; return 0; }
const char *gt_student(const char *p); const char *gt_student(const char *p) { return p; }' ;;
    esac
}
tamper_premain_expect() {
    case $1 in
    init) echo "has section .init (PROGBITS)" ;;
    fini) echo "has section .fini (PROGBITS)" ;;
    ifunc) echo "defines 'tamper_ifunc' as an IFUNC" ;;
    gmon) echo "defines '__gmon_start__', a name reserved" ;;
    ctor) echo "has section .init_array (INIT_ARRAY)" ;;
    preinit) echo "has section .preinit_array (PREINIT_ARRAY)" ;;
    ctors) echo "has section .ctors (PROGBITS)" ;;
    datainit) echo "has section .data.tamper (INIT_ARRAY)" ;;
    names) for s in atexit at_quick_exit pthread_atfork srunner_ntests_run gt_student; do
        echo "defines '$s', a name of"
    done ;;
    esac
}

# tamper_premain_sub DIR ROUTE: DIR/chapter1/ is the starter with the attack of ROUTE.
tamper_premain_sub() {
    mkdir -p "$1" && cp -R chapter1 "$1/" &&
        { tamper_premain_code; tamper_premain_hook "$2"; cat chapter1/rio.c; } >"$1/rio.c" &&
        mv "$1/rio.c" "$1/chapter1/rio.c"
}

# Every route, compiled as the grader compiles it (object ROUTE.o), is refused by linkcheck
# with its reason.
tamper_premain_routes="init fini ifunc gmon ctor preinit ctors datainit names"
t_tamper_premain_routes() {
    objs=
    for r in $tamper_premain_routes; do
        tamper_premain_sub "$tp/$r" "$r" &&
            cc -std=c11 -D_GNU_SOURCE -O2 -g -Icommon -c "$tp/$r/chapter1/rio.c" -o "$tp/$r.o" 2>/dev/null ||
            { echo "$r: the attack does not compile"; return 1; }
        objs="$objs $tp/$r.o"
    done
    # shellcheck disable=SC2086 # a list of paths without spaces
    if grader/linkcheck $objs -- build/solutions/chapter1/gt/*.o >"$tp/out" 2>&1; then
        echo "linkcheck accepted them all"
        return 1
    fi
    cat "$tp/out"
    bad=
    for r in $tamper_premain_routes; do
        tamper_premain_expect "$r" | while read -r why; do
            grep -q "^$r.c: $why" "$tp/out" || { echo "$r: no line says '$why'"; exit 1; }
        done || bad=1
    done
    [ -z "$bad" ]
}

# The .init route, graded: refused before the link, so it scores what the starter scores.
t_tamper_premain_graded() {
    d=$tp/graded
    tamper_premain_sub "$d" init &&
        grade_json "$d.json" --src "$d" --ch 1 --test rio_ --no-memcheck >"$d.out" 2>&1 ||
        { cat "$d.out"; return 1; }
    grep "rio.c: has section .init" "$d.out" || { cat "$d.out"; return 1; }
    got=$(jq '.score' "$d.json")
    [ "$got" = 0 ] || { echo "scored $got, the starter 0"; return 1; }
}

check "tamper: every route to code before main, and libc/Check/grader names, are refused" t_tamper_premain_routes
check "tamper: a forged pass from .init scores what the starter scores" t_tamper_premain_graded
