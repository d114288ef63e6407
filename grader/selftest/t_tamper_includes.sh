# Grader self-test: the ways around the check of what a student's file reads at build time.
# Each is refused when it builds, with a line naming the student's file, so the chapter scores
# what its starter scores (0 on the rio_read_exact tests graded here):
#   - `#pragma GCC system_header` in an included file (another student file) takes the
#     #includes after it off the compiler's -MMD list: grader/studentcc checks every file the
#     preprocessor opened (-H), and a system header must be root's under /usr/include,
#     /usr/local/include or /usr/lib/gcc;
#   - `#line 1 "the reference"` and errors after it: the compiler's messages would quote the
#     reference's lines, read from the file the location names; every file the preprocessed
#     text names is checked before the compile;
#   - assembler directives that read a file, wherever C can put them into the assembly: a
#     top-level asm spelling `.incbin` with an octal escape, upper case and a /**/ comment
#     (which the assembler drops), behind a '" (a character to the assembler, not a string);
#     a symbol's asm name that smuggles an `.incbin` line; an assembler macro that builds the
#     directive from its argument (`.macro`);
#   - chapter 5 building on chapter 4's reference: an #include of the tree's copy of it
#     (../solutions/chapter4/) fails: as root the user that builds can not open it, otherwise
#     it is not a file the chapter may read.

ti=$tmp/tamper-includes

# tamper_includes_grade NAME CH TEST: grade $ti/NAME's chapter CH, one test; the build's log
# in $ti/NAME.log, and the score must be 0.
tamper_includes_grade() {
    grade_json "$ti/$1.json" --src "$ti/$1" --ch "$2" --test "$3" --no-memcheck >"$ti/$1.out" 2>&1 ||
        { cat "$ti/$1.out"; return 1; }
    jq -r '.chapters[].build_log // empty' "$ti/$1.json" >"$ti/$1.log"
    cat "$ti/$1.log"
    jq -e '.score == 0' "$ti/$1.json" >/dev/null || { echo "$1: scored above the starter"; return 1; }
}

# $ti/refcopy.c: a copy of the reference's rio.c that anyone may read
tamper_includes_refcopy() {
    mkdir -p "$ti" && cp solutions/chapter1/rio.c "$ti/refcopy.c" && chmod 644 "$ti/refcopy.c"
}

t_tamper_includes_system_header() {
    d=$ti/syshdr
    tamper_includes_refcopy && mkdir -p "$d" && cp -R chapter1 "$d/" || return 1
    printf '#define TAMPER_VIA 1\n#include "echoclient.c"\n' >"$d/chapter1/rio.c"
    { printf '#ifdef TAMPER_VIA\n#pragma GCC system_header\n#include "%s"\n#else\n' "$ti/refcopy.c"
      cat chapter1/echoclient.c; printf '#endif\n'; } >"$d/chapter1/echoclient.c" || return 1
    printf '#line 1 "%s"\nint tamper1 = x1;\nint tamper2 = x2;\nint tamper3 = x3;\n' "$ti/refcopy.c" \
        >"$d/chapter1/echosvr_fork.c" || return 1
    tamper_includes_grade syshdr 1 rio_read_exact_len_zero || return 1
    grep -q "^rio.c: reads $(realpath "$ti/refcopy.c"): only the chapter's own files" "$ti/syshdr.log" ||
        { echo "the include behind '#pragma GCC system_header' was not refused"; return 1; }
    grep -q "^echosvr_fork.c: reads $(realpath "$ti/refcopy.c"): only the chapter's own files" "$ti/syshdr.log" &&
        ! grep -q "^ *[0-9]* | " "$ti/syshdr.log" ||
        { echo "a #line naming the reference was not refused, or a line was quoted"; return 1; }
}

t_tamper_includes_incbin() {
    d=$ti/incbin
    tamper_includes_refcopy && mkdir -p "$d" && cp -R chapter1 "$d/" || return 1
    ref=$ti/refcopy.c
    { cat chapter1/rio.c
      printf '__asm__(".section .rodata\\n\\t.byte '"'"'\\"; \\056INC/**/BIN \\"%s\\"\\n\\t.previous");\n' "$ref"
    } >"$d/chapter1/rio.c" &&
    { cat chapter1/echoclient.c
      printf 'int tamper_name __asm__("tamper_name\\n\\t.incbin \\"%s\\"\\n") = 1;\n' "$ref"
    } >"$d/chapter1/echoclient.c" &&
    { cat chapter1/echosvr_fork.c
      printf '__asm__(".macro tamper_m d\\n\\t.\\\\d \\"%s\\"\\n.endm\\n\\ttamper_m incbin");\n' "$ref"
    } >"$d/chapter1/echosvr_fork.c" || return 1
    tamper_includes_grade incbin 1 rio_read_exact_len_zero || return 1
    for want in "rio.c: its assembly holds a /\* comment" "echoclient.c: its assembly holds .incbin" \
        "echosvr_fork.c: its assembly holds .macro"; do
        grep -q "^$want (from an asm statement or an asm name)" "$ti/incbin.log" ||
            { echo "no line says '$want'"; return 1; }
    done
}

t_tamper_includes_prior() {
    d=$ti/prior
    mkdir -p "$d" && cp -R chapter5 "$d/" &&
        printf '#include "../solutions/chapter4/shm.c"\n' >"$d/chapter5/mempool.c" || return 1
    tamper_includes_grade prior 5 mempool_ || return 1
    grep -Eq "mempool.c: reads .*/solutions/chapter4/shm.c: only the chapter's own files|mempool.c:1:10: fatal error: .*/solutions/chapter4/shm.c: Permission denied" "$ti/prior.log" ||
        { echo "the include of chapter 4's reference was not refused"; return 1; }
}

check "tamper: an #include behind '#pragma GCC system_header', a #line naming the reference, are refused" t_tamper_includes_system_header
check "tamper: .incbin, however spelled, and assembler macros are refused" t_tamper_includes_incbin
check "tamper: chapter 5's build can not read chapter 4's reference" t_tamper_includes_prior
