# Grader self-test: batch grading of a folder of submissions (folders, .tar.gz, .zip; a full
# solution, the starters nested two folders down, one that does not compile, a broken archive,
# one without chapters, one that tampers with tests) gives one CSV row each with the scores
# their real behaviour earns, one report each, and leaves no process behind.
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
        [ "$(wc -l <"$b/gradebook.csv")" -eq 7 ] || { echo "unexpected gradebook"; return 1; }
    left=$(ps -eo pid,args | grep -F "$b" | grep -v grep)
    [ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
    [ -z "$(ls -A "$b/tmp")" ] || { echo "temporary files left:"; ls "$b/tmp"; return 1; }
}
check "grader: batch grading of 6 submissions into one gradebook" t_batch
