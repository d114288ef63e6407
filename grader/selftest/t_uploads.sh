# Grader self-test: the grader grades what a student sent, as they sent it. One rule (the
# driver's, grader/driver/upload.h) finds chapter 1 in every layout a student uploads, whatever
# decoys sit beside it; a file not sent is the pristine starter's, even when the grading
# checkout holds an answer; a build failure is quoted in every output. (Full gradings of these
# layouts through --batch and Gradescope: t_batch.sh, t_gradescope.sh.)

# Every layout of the solution and of the starter: chapter 1's three files are taken from its
# one right folder, never from build/, .git/, __MACOSX/ or solutions/ (which hold the other
# version), and the files that are not the student's are listed as ignored.
t_uploads_layouts() {
    u=$tmp/uploads
    for from in solutions .; do
        for kind in $UPLOAD_LAYOUTS; do
            d=$u/$kind-$(basename "$from")
            upload_layout "$kind" "$from" "$d.up" && unpack_upload "$d.up" "$d" || return 1
            grader/grade --src "$d" --ch 1 --show-files >"$d.out" 2>&1 ||
                { echo "$kind of $from:"; cat "$d.out"; return 1; }
            case "$kind" in
            checkout-*) want="graded from repo/chapter1" ;;
            chapter|submission) want="graded from chapter1" ;;
            nested) want="graded from a/b/chapter1" ;;
            flat) want="graded from the top of your upload" ;;
            esac
            grep -qx "chapter 1: $want" "$d.out" &&
                grep -qx "  taken from your upload: rio.c echoclient.c echosvr_fork.c" "$d.out" &&
                ! grep -q "not in your upload" "$d.out" ||
                { echo "$kind of $from: expected '$want' and all three files:"; cat "$d.out"; return 1; }
        done
    done
    grep -q "ignored (not files you are graded on): notes.txt" "$u/flat-solutions.out" &&
        grep -q "ignored.*echosvr_v0.c" "$u/chapter-solutions.out" ||
        { echo "ignored files not listed"; cat "$u/flat-solutions.out" "$u/chapter-solutions.out"; return 1; }
}
check "uploads: every layout's chapter 1 is found, decoys and dot folders left alone" t_uploads_layouts

# Two folders for one chapter: the grader does not guess (exit status 2, one line naming both).
t_uploads_two_places() {
    d=$tmp/uploads/two
    mkdir -p "$d/old" "$d/new" && cp -R chapter1 "$d/old/" && cp -R solutions/chapter1 "$d/new/" ||
        return 1
    grader/grade --src "$d" --ch 1 --no-memcheck >"$d.out" 2>&1
    st=$?
    cat "$d.out"
    [ $st -eq 2 ] && [ "$(wc -l <"$d.out")" -eq 1 ] &&
        grep -q "new/chapter1/ and old/chapter1/" "$d.out"
}
check "uploads: two folders for one chapter is a one-line error (exit 2)" t_uploads_two_places

# A grading checkout whose chapter1/rio.c is the answer (an instructor's): a submission without
# rio.c gets the starter's score for ex1.1, and is told that rio.c was missing.
t_uploads_missing_file() {
    g=$tmp/uploads/instructor
    d=$tmp/uploads/no-rio
    git clone -q "$top" "$g" && cp solutions/chapter1/rio.c "$g/chapter1/rio.c" &&
        mkdir -p "$d" && cp solutions/chapter1/echoclient.c solutions/chapter1/echosvr_fork.c "$d/" ||
        return 1
    # the driver built here, on the copy's files (its grader/grade would build one of its own)
    build/grader/grade --root "$g" --src "$d" --ch 1 --no-memcheck --test rio_ \
        --json "$d.json" >"$d.out" 2>&1 || { cat "$d.out"; return 1; }
    starter=$(jq '[.chapters[] | select(.chapter == 1) | .tests[]
        | select(.kind == "test" and (.name | contains("rio_"))) | .score] | add' "$tmp/starters.json")
    got=$(jq '[.chapters[].tests[] | select(.kind == "test") | .score] | add' "$d.json")
    max=$(jq '[.chapters[].tests[] | select(.kind == "test") | .max_score] | add' "$d.json")
    [ "$got" = "$starter" ] && [ "$got" != "$max" ] ||
        { echo "ex1.1: $got/$max, the starter gets $starter"; cat "$d.out"; return 1; }
    grep -q "rio.c: not in your upload; the starter's was used" "$d.out" &&
        jq -e '.chapters[0].upload.missing == ["rio.c"]' "$d.json" >/dev/null ||
        { echo "rio.c not reported missing"; cat "$d.out"; return 1; }
}
check "uploads: a file not sent is the starter's, not the grading checkout's" t_uploads_missing_file

# A syntax error (echoclient.c) and a warning (an unused variable in echosvr_fork.c): the test
# runner still builds, so the programs' tests run; each says which program did not build and
# quotes the compiler, JSON has the build log, JUnit its system-err, results.json a visible
# top-level output; the warning's reason says that warnings are errors.
t_uploads_build_failures() {
    d=$tmp/uploads
    submission "$d/syntax" 1 && echo "syntax error" >>"$d/syntax/chapter1/echoclient.c" &&
        submission "$d/unused" 1 &&
        insert_at_start "$d/unused/chapter1/echosvr_fork.c" main "int unused_variable;" || return 1
    # both at once: a grading's time is mostly its builds
    for kind in syntax unused; do
        prog=echoclient
        [ $kind = syntax ] || prog=echosvr_fork
        grade_json "$d/$kind.json" --src "$d/$kind" --ch 1 --no-memcheck --test $prog \
            --gradescope "$d/$kind-gs.json" --junit "$d/$kind.xml" >"$d/$kind.out" 2>&1 &
    done
    wait
    for kind in syntax unused; do
        prog=echoclient
        [ $kind = syntax ] || prog=echosvr_fork
        jq -e '.visibility == "visible" and (.output | test("error:"))
            and any(.tests[]; .output | test("did not build.*\n.*error:"))' "$d/$kind-gs.json" \
            >/dev/null || { echo "$kind: results.json:"; cat "$d/$kind.out"; return 1; }
        jq -e --arg p "$prog" '.chapters[0] | (.build_log | test("error:"))
            and all(.tests[] | select(.status == "fail"); .reason | test("status 127") | not)
            and any(.tests[]; .reason | startswith($p + " did not build"))' "$d/$kind.json" \
            >/dev/null || { echo "$kind: JSON:"; cat "$d/$kind.out"; return 1; }
        grep -A3 '<system-err>' "$d/$kind.xml" | grep -q 'error:' ||
            { echo "$kind: no system-err in JUnit"; cat "$d/$kind.xml"; return 1; }
    done
    jq -e 'any(.chapters[0].tests[]; .reason | test("warnings are errors in svrlab"))' \
        "$d/unused.json" >/dev/null || { echo "the warning is not explained"; return 1; }
}
check "uploads: build failures are quoted in every output, never 'status 127'" t_uploads_build_failures

# `make starters` in that checkout (its chapter1/rio.c holds an answer) refuses to overwrite it,
# and does with FORCE=1.
t_uploads_starters_keep_work() {
    g=$tmp/uploads/instructor
    [ -d "$g" ] || return 1
    (cd "$g" && grader/mkstarters) >"$g.out" 2>&1
    st=$?
    cat "$g.out"
    [ $st -eq 2 ] && grep -q "chapter1/rio.c" "$g.out" &&
        cmp -s "$g/chapter1/rio.c" solutions/chapter1/rio.c || return 1
    (cd "$g" && FORCE=1 grader/mkstarters >/dev/null) && cmp -s "$g/chapter1/rio.c" chapter1/rio.c
}
check "uploads: make starters keeps a changed student file unless FORCE=1" t_uploads_starters_keep_work
