# Grader self-test: a build that never ends, and a build that reads the grader's reference.
#   - `#include "/dev/ptmx"` blocks the compiler at 0 CPU, where no CPU limit ends it: the
#     build is stopped once it has used no CPU for --build-timeout seconds (here 5; 60 by default)
#     and the chapter does not compile; a SIGTERM to the grader while it waits ends the build
#     and the grader at once (exit status 130, nothing of it left); a batch stops a grading
#     at its per-submission limit (--limit) and goes on.
#   - an #include of the reference solution, by absolute path (a world-readable copy of it) or
#     relative to the student's folder in the grader's tree (../ref/rio.c): every file the
#     preprocessor opened must be the chapter's own, common/'s or the system's headers
#     (grader/studentcc, grader/depcheck), so the build fails and names it; as root the tree's
#     ref/ is closed to the user that builds, so the compiler can not even open it.
# Each starts from chapter 1's starter, which scores 0 on the rio_read_exact tests graded here.

tb=$tmp/tamper-build
tb_filter=rio_read_exact_len_zero

# tamper_build_sub DIR FILE LINE: DIR/chapter1/ is the starter with LINE first in FILE. (The
# include attacks are whole files: the reference's own text, included.)
tamper_build_sub() {
    mkdir -p "$1" && cp -R chapter1 "$1/" && printf '%s\n' "$3" >"$1/f" &&
        cat "$1/chapter1/$2" >>"$1/f" && mv "$1/f" "$1/chapter1/$2"
}

t_tamper_build_never_ends() {
    tamper_build_sub "$tb/ptmx" rio.c '#include "/dev/ptmx"' &&
        mkdir -p "$tb/inc" && cp -R chapter1 "$tb/inc/" &&
        cp solutions/chapter1/rio.c "$tb/refcopy.c" && chmod 644 "$tb/refcopy.c" &&
        printf '#include "%s/refcopy.c"\n' "$tb" >"$tb/inc/chapter1/rio.c" &&
        printf '#include "../ref/echoclient.c"\n' >"$tb/inc/chapter1/echoclient.c" || return 1
    # both gradings at once: the include one runs while the other waits for its limit
    grade_json "$tb/inc.json" --src "$tb/inc" --ch 1 --test $tb_filter --no-memcheck \
        >"$tb/inc.out" 2>&1 &
    inc=$!
    start=$(date +%s)
    grade_json "$tb/ptmx.json" --src "$tb/ptmx" --ch 1 --test $tb_filter --no-memcheck \
        --build-timeout 5 >"$tb/ptmx.out" 2>&1 || { cat "$tb/ptmx.out"; return 1; }
    took=$(($(date +%s) - start))
    wait $inc || { cat "$tb/inc.out"; return 1; }
    cat "$tb/ptmx.out" "$tb/inc.out"
    grep -q "the build used no CPU for 5 s" "$tb/ptmx.out" && [ "$took" -lt 60 ] &&
        jq -e '.score == 0' "$tb/ptmx.json" >/dev/null ||
        { echo "the blocked build was not stopped in time ($took s)"; return 1; }
    jq -r '.chapters[].build_log' "$tb/inc.json" >"$tb/inc.log"
    grep -q "rio.c: reads $(realpath "$tb/refcopy.c"): only the chapter's own files" "$tb/inc.log" &&
        grep -Eq "echoclient.c: reads .*/ref/echoclient.c: only the chapter's own files|echoclient.c:1:10: fatal error: .*/ref/echoclient.c: Permission denied" "$tb/inc.log" &&
        jq -e '.score == 0' "$tb/inc.json" >/dev/null ||
        { echo "an include of the reference was not refused"; return 1; }
}

# SIGTERM while the grader waits for the blocked build: it ends at once, with its build.
t_tamper_build_sigterm() {
    mkdir -p "$tb/term-tmp" && chmod 711 "$tb" "$tb/term-tmp" || return 1
    TMPDIR=$tb/term-tmp grader/grade --src "$tb/ptmx" --ch 1 --test $tb_filter --no-memcheck \
        >"$tb/term.out" 2>&1 &
    g=$!
    # the build has started once the grader's tree holds the student's output folder
    for _ in $(seq 100); do
        ls -d "$tb"/term-tmp/svrlab-grade.*/ch1/out/student >/dev/null 2>&1 && break
        sleep 0.2
    done
    sleep 1
    kill -TERM $g
    for _ in $(seq 50); do kill -0 $g 2>/dev/null || break; sleep 0.2; done
    if kill -0 $g 2>/dev/null; then
        echo "the grader is still running 10 s after SIGTERM"
        kill -KILL $g
        return 1
    fi
    wait $g
    st=$?
    cat "$tb/term.out"
    left=$(ps -eo pid,args | grep -F "$tb/term-tmp" | grep -v grep)
    [ $st = 130 ] && [ -z "$left" ] && [ -z "$(ls "$tb/term-tmp")" ] ||
        { echo "exit status $st; left: $left $(ls "$tb/term-tmp")"; return 1; }
}

# A batch whose only submission never builds: its grading is stopped at --limit, the batch ends.
t_tamper_build_batch() {
    mkdir -p "$tb/batch" && cp -R "$tb/ptmx" "$tb/batch/mallory" || return 1
    start=$(date +%s)
    grader/grade --batch "$tb/batch" -j 1 --limit 8 -o "$tb/book.csv" --ch 1 --test $tb_filter \
        --no-memcheck >"$tb/batch.out" 2>&1 || { cat "$tb/batch.out"; return 1; }
    took=$(($(date +%s) - start))
    cat "$tb/batch.out" "$tb/reports/mallory.txt"
    grep -q "mallory: grading stopped after 8 s" "$tb/reports/mallory.txt" && [ "$took" -lt 40 ] &&
        grep -q '^"mallory",.*not graded' "$tb/book.csv"
}

check "tamper: a build that never ends is stopped; an #include of the reference is refused" t_tamper_build_never_ends
check "tamper: SIGTERM stops the grader while it waits for a build" t_tamper_build_sigterm
check "tamper: a batch stops a grading at its per-submission limit" t_tamper_build_batch
