# Grader self-test: batch grading of thirteen submissions (folders, .tar.gz, .zip; a full
# solution as a zipped checkout with decoys in build/ and dot folders, the starters as such a
# checkout in a .tar.gz, one that does not compile, a broken archive, one without chapters, one
# that tampers with tests, one that leaves a daemon, one that leaves a System V segment, one
# that prints fake results, the starters zipped two folders down, the solution's files uploaded
# flat, the solution as `make submission` writes it, one whose warning fails the build) gives
# one CSV row each with the scores their real behaviour earns, one report each (what was taken
# from the upload; a build's first error in full), and leaves no process, segment or temporary
# file behind.
t_batch() {
    b=$tmp/batch
    mkdir -p "$b/subs" "$b/make" || return 1
    upload_layout checkout-zip solutions "$b/subs/alice" &&
        upload_layout checkout-tgz . "$b/subs/bob" &&
        upload_layout flat solutions "$b/subs/kim" &&
        upload_layout submission solutions "$b/subs/lee" || return 1
    # mia: the solution with an unused variable (a warning, an error in svrlab)
    submission "$b/subs/mia" 1 && insert_at_start "$b/subs/mia/chapter1/rio.c" rio_read_exact \
        'int unused_variable;' || return 1
    submission "$b/make/carol" 1 && echo "syntax error" >>"$b/make/carol/chapter1/rio.c" &&
        (cd "$b/make/carol" && zip -qr "$b/subs/carol.zip" chapter1) || return 1
    echo "not a zip" >"$b/subs/dave.zip"
    mkdir -p "$b/subs/erin/notes"
    mkdir -p "$b/subs/frank" && cp -R chapter1 "$b/subs/frank/" &&
        mkdir -p "$b/subs/frank/grader/tests/chapter1" &&
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
    # ex1.1's tests only (rio_): every submission's fault or attack is in rio.c, and a grading
    # then takes half the time
    TMPDIR=$b/tmp grader/grade --batch "$b/subs" -j 2 -o "$b/gradebook.csv" --ch 1 --no-memcheck \
        --test rio_ ||
        return 1
    cat "$b/gradebook.csv"
    full=$(jq '[.chapters[] | select(.chapter == 1) | .tests[]
        | select(.name | startswith("rio_")) | .max_score] | add' "$tmp/starters.json")
    starter=$(jq '[.chapters[] | select(.chapter == 1) | .tests[]
        | select(.name | startswith("rio_")) | .score] | add' "$tmp/starters.json")
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
        [ "$(row kim)" = "$full/$full \"graded\"" ] &&
        [ "$(row lee)" = "$full/$full \"graded\"" ] &&
        [ "$(row mia)" = "0/$full \"graded\"" ] &&
        [ "$(wc -l <"$b/gradebook.csv")" -eq 14 ] || { echo "unexpected gradebook"; return 1; }
    # the reports say what was graded, and quote a failed build's first error, never status 127
    grep -q "graded from repo/chapter1" "$b/reports/alice.txt" &&
        grep -q "taken from your upload: rio.c echoclient.c echosvr_fork.c" "$b/reports/kim.txt" &&
        grep -q "rio.c:.*error: unused variable.*warnings are errors in svrlab" "$b/reports/mia.txt" &&
        grep -q "chapter1/rio.c:.*error:" "$b/reports/carol.txt" &&
        ! grep -q "status 127" "$b/reports/carol.txt" "$b/reports/mia.txt" &&
        grep -q "no chapter1/ .. chapter5/ folder" "$b/reports/erin.txt" ||
        { echo "unexpected reports:"; head -20 "$b/reports/alice.txt" "$b/reports/mia.txt" \
            "$b/reports/erin.txt"; return 1; }
    seg=$(ipcs -m | awk '$5 == 12347')
    [ -z "$seg" ] || { echo "segment left behind: $seg"; return 1; }
    left=$(ps -eo pid,args | grep -F "$b" | grep -v grep)
    [ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
    [ -z "$(ls -A "$b/tmp")" ] || { echo "temporary files left:"; ls "$b/tmp"; return 1; }
}
check "grader: batch grading of 13 submissions into one gradebook" t_batch
