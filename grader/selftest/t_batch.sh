# Grader self-test: batch grading of ten submissions (folders, .tar.gz, .zip; a full solution,
# the starters nested two folders down, one that does not compile, a broken archive, one
# without chapters, one that tampers with tests, one that leaves a daemon, one that leaves a
# System V segment, one that prints fake results, the starters zipped two folders down) gives
# one CSV row each with the scores their real behaviour earns, one report each, and leaves no
# process, segment or temporary file behind.
t_batch() {
    b=$tmp/batch
    mkdir -p "$b/subs" "$b/make" || return 1
    submission "$b/subs/alice" 1 || return 1
    mkdir -p "$b/make/bob/repo" && cp -R chapter1 "$b/make/bob/repo/" &&
        tar -czf "$b/subs/bob.tar.gz" -C "$b/make" bob || return 1
    submission "$b/make/carol" 1 && echo "syntax error" >>"$b/make/carol/chapter1/rio.c" &&
        (cd "$b/make/carol" && zip -qr "$b/subs/carol.zip" chapter1) || return 1
    echo "not a zip" >"$b/subs/dave.zip"
    mkdir -p "$b/subs/erin/notes"
    cp -R "$b/make/bob/repo" "$b/subs/frank" && mkdir -p "$b/subs/frank/grader/tests/chapter1" &&
        printf '#include "gt.h"\n' >"$b/subs/frank/grader/tests/chapter1/test_rio.c" || return 1
    # grace: the solution, whose rio_write_all leaves a daemon the first time it runs (one that
    # closes its descriptors, so that it changes nothing the tests can see)
    submission "$b/subs/grace" 1 && insert_at_start "$b/subs/grace/chapter1/rio.c" rio_write_all \
        'static int forked; if (!forked) { forked = 1; if (fork() == 0) { setsid(); for (int i = 0; i < 1024; i++) close(i); sleep(600); _exit(0); } }' ||
        return 1
    # heidi: the solution, whose rio_read_exact leaves a segment (of an odd size) at a key of
    # its test's range
    submission "$b/subs/heidi" 1 && sed -i '1i #include <stdlib.h>\n#include <sys/shm.h>' \
        "$b/subs/heidi/chapter1/rio.c" && insert_at_start "$b/subs/heidi/chapter1/rio.c" rio_read_exact \
        'const char *k = getenv("SVRLAB_IPC_KEY"); if (k) shmget((key_t)atoi(k) + 7, 12347, IPC_CREAT | 0600);' ||
        return 1
    # ivan: the solution, printing fake results on every call (on stderr: on stdout they would
    # break echoclient's own output, a real fault)
    submission "$b/subs/ivan" 1 && sed -i '1i #include <stdio.h>' "$b/subs/ivan/chapter1/rio.c" &&
        insert_at_start "$b/subs/ivan/chapter1/rio.c" rio_read_exact \
            'fprintf(stderr, "[ 1/1] ex1.1  rio_read_exact PASS 99/99\\ntotal: 999/999\\n");' || return 1
    # judy: the starters in a .zip, two folders down
    mkdir -p "$b/make/judy/a/b" && cp -R chapter1 "$b/make/judy/a/b/" &&
        (cd "$b/make/judy" && zip -qr "$b/subs/judy.zip" a) || return 1
    mkdir -p "$b/tmp"
    TMPDIR=$b/tmp grader/grade --batch "$b/subs" -j 2 -o "$b/gradebook.csv" --ch 1 --no-memcheck ||
        return 1
    cat "$b/gradebook.csv"
    full=$(jq '.chapters[] | select(.chapter == 1) | .max_score' "$tmp/starters.json")
    starter=$(jq '.chapters[] | select(.chapter == 1) | .score' "$tmp/starters.json")
    row() { grep "^\"$1\"," "$b/gradebook.csv" | awk -F, '{ print $(NF-3) "/" $(NF-2) " " $NF }'; }
    [ "$(row alice)" = "$full/$full \"graded\"" ] &&
        [ "$(row bob)" = "$starter/$full \"graded\"" ] &&
        [ "$(row frank)" = "$starter/$full \"graded\"" ] &&
        [ "$(row carol)" = "0/$full \"graded\"" ] &&
        grep -q "error:" "$b/reports/carol.txt" &&
        [ "$(row dave)" = "0/ \"not graded: see reports/dave.txt\"" ] &&
        [ "$(row erin)" = "0/ \"not graded: see reports/erin.txt\"" ] &&
        [ "$(row grace)" = "$full/$full \"graded\"" ] &&
        [ "$(row heidi)" = "$full/$full \"graded\"" ] &&
        [ "$(row ivan)" = "$full/$full \"graded\"" ] &&
        [ "$(row judy)" = "$starter/$full \"graded\"" ] &&
        [ "$(wc -l <"$b/gradebook.csv")" -eq 11 ] || { echo "unexpected gradebook"; return 1; }
    seg=$(ipcs -m | awk '$5 == 12347')
    [ -z "$seg" ] || { echo "segment left behind: $seg"; return 1; }
    left=$(ps -eo pid,args | grep -F "$b" | grep -v grep)
    [ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
    [ -z "$(ls -A "$b/tmp")" ] || { echo "temporary files left:"; ls "$b/tmp"; return 1; }
}
check "grader: batch grading of 10 submissions into one gradebook" t_batch
