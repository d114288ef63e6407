# Helpers of grader/selftest/run and its t_*.sh cases (sourced; $top and $tmp are set).

# grade_json OUT ARGS...: grade with the given arguments, results as JSON in OUT.
grade_json() {
    out=$1
    shift
    grader/grade "$@" --json "$out" || return 1
    [ -s "$out" ]
}

# submission DIR CH: DIR/chapterCH/ becomes a copy of the reference solution.
submission() {
    mkdir -p "$1" && cp -R "solutions/chapter$2" "$1/chapter$2"
}

# insert_at_start FILE FUNCTION CODE: put CODE as the first statement of FUNCTION's body
# (the function's definition starts at column 0 and its '{' is on a line of its own).
insert_at_start() {
    awk -v fn="$2" -v code="$3" '
        { print }
        $0 ~ "^[a-z].*[ *]" fn "\\(" && $0 !~ /;$/ { want = 1; next }
        want && /^\{/ { print "    " code; want = 0; done = 1 }
        END { if (!done) exit 1 }' "$1" >"$1.new" && mv "$1.new" "$1"
}

# tests_where JSON FILTER: names of the tests (jq FILTER on each test object is true).
tests_where() {
    jq -r ".chapters[] | select(.available) | .tests[] | select($2) | .name" "$1"
}

starters_have_tasks() {
    ! grep -rn "YOUR CODE HERE" chapter*/ | grep -v "YOUR CODE HERE: [A-Za-z]"
}

# starters_fail_clearly [ARGS...]: grade the starters (ARGS: e.g. --ch 1): every exercise fails
# with "not implemented"; the JSON keeps every test, while the listing says each such exercise
# in one line ("ex1.2 not started: 3/35"), not test by test.
starters_fail_clearly() {
    grade_json "$tmp/starters.json" --src . --no-memcheck "$@" >"$tmp/starters.out" || return 1
    # exercises that have no failing test with a "not implemented" reason
    bad=$(jq -r '.chapters[] | select(.available) | .tests
        | group_by(.exercise)[]
        | select(all(.[]; (.status == "pass") or (.reason | test("not implemented") | not)))
        | .[0].exercise' "$tmp/starters.json")
    [ -z "$bad" ] || { echo "exercises without a 'not implemented' failure: $bad"; return 1; }
    for n in $(jq -r '.chapters[] | select(.available) | .chapter' "$tmp/starters.json"); do
        want=$(awk '!/^#/ && $1 ~ /^ex/' "grader/chapters/chapter$n.points" | wc -l)
        got=$(jq --argjson n "$n" '[.chapters[] | select(.chapter == $n) | .tests[]] | length' "$tmp/starters.json")
        [ "$want" = "$got" ] || { echo "chapter $n: $got tests in the JSON, $want in the points data"; return 1; }
    done
    # exercises whose every failure says "not implemented": one line each, no line per test
    for ex in $(jq -r '.chapters[] | select(.available) | .tests | group_by(.exercise)[]
        | select(all(.[]; .status == "pass" or (.reason | startswith("not implemented"))))
        | .[0].exercise' "$tmp/starters.json"); do
        grep -q "^ *$ex not started: [0-9]*/[0-9]* " "$tmp/starters.out" &&
            ! grep -q "^\[ *[0-9]*/[0-9]*\] $ex " "$tmp/starters.out" ||
            { echo "$ex is not one line:"; grep "$ex" "$tmp/starters.out" | head; return 1; }
    done
}

# Every test of each chapter's runner (built by `make` from the reference) is in the chapter's
# points data, and every line of the points data is a test: the names, sorted, are the same.
points_match_tests() {
    for pts in grader/chapters/chapter*.points; do
        n=${pts##*chapter}
        n=${n%.points}
        build/solutions/chapter$n/runner --list | awk '{ print $1 }' | sort >"$tmp/tests-$n" &&
            awk '!/^#/ && $1 ~ /^ex/ { print $2 }' "$pts" | sort >"$tmp/points-$n" || return 1
        if ! cmp -s "$tmp/tests-$n" "$tmp/points-$n"; then
            echo "chapter $n: tests (<) and points data (>) differ:"
            diff "$tmp/tests-$n" "$tmp/points-$n"
            return 1
        fi
        [ -z "$(uniq -d "$tmp/points-$n")" ] || { echo "chapter $n: listed twice:"; uniq -d "$tmp/points-$n"; return 1; }
    done
}

# ---- patching a copy of the solutions to make a faulty submission (the fault self-tests) ----

# patch_function FILE FUNCTION SED-SCRIPT: apply SED-SCRIPT to the lines of FUNCTION's
# definition only (it starts at column 0 and ends with "}" at column 0); fails if nothing changed.
patch_function() {
    awk -v fn="$2" '
        $0 ~ "^[a-z].*[ *]" fn "\\(" && $0 !~ /;$/ { infn = 1 }
        { print (infn ? "@@IN@@" : "") $0 }
        infn && /^}/ { infn = 0 }' "$1" |
        sed -e "/^@@IN@@/{" -e "$3" -e "}" -e 's/^@@IN@@//' >"$1.new" &&
        ! cmp -s "$1" "$1.new" && mv "$1.new" "$1"
}

# patch_insert_before FILE FUNCTION CODE: put CODE (lines) just before FUNCTION's definition.
patch_insert_before() {
    awk -v fn="$2" -v code="$3" '
        $0 ~ "^[a-z].*[ *]" fn "\\(" && $0 !~ /;$/ && !done { print code; done = 1 }
        { print }
        END { if (!done) exit 1 }' "$1" >"$1.new" && mv "$1.new" "$1"
}

# patch_solution FILE FUNCTION CODE: CODE replaces FUNCTION's gap (its //@solution ...
# //@end block, the reference answer and the starter's stub).
patch_solution() {
    awk -v fn="$2" -v code="$3" '
        $0 ~ "^[a-z].*[ *]" fn "\\(" && $0 !~ /;$/ { infn = 1 }
        infn && /^}/ { infn = 0 }
        infn && /\/\/@solution/ { print code; skip = 1; done = 1; next }
        skip && /\/\/@end/ { skip = 0; next }
        skip { next }
        { print }
        END { if (!done) exit 1 }' "$1" >"$1.new" && mv "$1.new" "$1"
}

# grade_filtered DIR CH FILTER: grade chapter CH of DIR (the functional tests whose name contains
# FILTER: one server's), results in DIR/r.json, shown one line per test.
grade_filtered() {
    grade_json "$1/r.json" --src "$1" --ch "$2" --no-memcheck --test "$3" || return 1
    jq -r '.chapters[].tests[] | "\(.kind) \(.name) \(.status): \(.reason)"' "$1/r.json" |
        cut -c 1-400
}

# expect_test JSON TEST STATUS [REGEX]: TEST (the functional run) has STATUS, and its reason
# matches REGEX when given.
expect_test() {
    jq -e --arg t "$2" --arg s "$3" --arg re "${4:-}" '[.chapters[].tests[]
        | select(.name == $t and .kind == "test")
        | select(.status == $s and ($re == "" or (.reason | test($re))))] | length == 1' \
        "$1" >/dev/null || { echo "expected $2: $3${4:+ (reason matching '$4')}"; return 1; }
}

# fault_grade DIR CH FILTER PATCH...: DIR becomes a copy of solutions/chapterCH patched by each
# PATCH (a function, called with DIR), then graded (the functional tests whose name contains
# FILTER): its output in DIR/log, its status (0 or 1) in DIR/rc. Run several in the background
# (each grading builds the chapter, which is most of its time) and collect each with fault_wait.
fault_grade() {
    d=$1
    ch=$2
    filter=$3
    shift 3
    mkdir -p "$d"
    ok=1
    submission "$d" "$ch" || ok=0
    for f in "$@"; do
        [ $ok = 1 ] && "$f" "$d" || ok=0
    done
    if [ $ok = 1 ] && grade_filtered "$d" "$ch" "$filter" >"$d/log" 2>&1; then
        echo 0 >"$d/rc"
    else
        echo 1 >"$d/rc"
    fi
}

# fault_wait DIR: wait (at most 5 minutes) for the fault_grade of DIR, show its output; fail
# if it failed.
fault_wait() {
    waited=0
    while [ ! -f "$1/rc" ] && [ $waited -lt 1500 ]; do
        sleep 0.2
        waited=$((waited + 1))
    done
    cat "$1/log" 2>/dev/null
    [ -f "$1/rc" ] && [ "$(cat "$1/rc")" = 0 ]
}

# ---- uploads: one chapter 1 laid out the ways students send it (t_uploads.sh, t_batch.sh) ----

# upload_layout KIND FROM DEST: chapter 1's student files of FROM (solutions or ., the starters)
# as an upload at DEST (a folder), or at DEST.zip / DEST.tar.gz for the archive kinds:
#   checkout-zip, checkout-tgz  a whole working folder in a folder of its own, with decoys that
#                   hold the other version (FROM's opposite): build/chapter1, .git/chapter1,
#                   __MACOSX/, besides the checkout's own solutions/chapter1
#   chapter         a bare chapter1/ folder;  nested  a/b/chapter1/ in a zip
#   flat            the files themselves at the top, and a note that is no student file
#   submission      what `make submission CH=1` writes
upload_layout() {
    other=solutions
    [ "$2" = solutions ] && other=.
    case "$1" in
    checkout-*)
        w=$3.d/repo
        mkdir -p "$w/build" "$w/.git" "$w/__MACOSX/repo" "$w/solutions" &&
            cp -R "$2/chapter1" "$w/" && cp -R solutions/chapter1 "$w/solutions/" &&
            for decoy in build .git __MACOSX/repo; do cp -R "$other/chapter1" "$w/$decoy/" || return 1; done &&
            echo "# my svrlab" >"$w/README.md" || return 1
        case "$1" in
        checkout-zip) (cd "$3.d" && zip -qr "$3.zip" repo) ;;
        *) tar -czf "$3.tar.gz" -C "$3.d" repo ;;
        esac && rm -rf "$3.d"
        ;;
    chapter) mkdir -p "$3" && cp -R "$2/chapter1" "$3/" ;;
    nested)
        mkdir -p "$3.d/a/b" && cp -R "$2/chapter1" "$3.d/a/b/" &&
            (cd "$3.d" && zip -qr "$3.zip" a) && rm -rf "$3.d"
        ;;
    flat)
        mkdir -p "$3" && echo "notes" >"$3/notes.txt" &&
            for f in rio.c echoclient.c echosvr_fork.c; do cp "$2/chapter1/$f" "$3/" || return 1; done
        ;;
    submission) grader/mksubmission 1 --from "$2" -o "$3.zip" >/dev/null ;;
    *) echo "upload_layout: unknown kind $1"; return 1 ;;
    esac
}
UPLOAD_LAYOUTS="checkout-zip checkout-tgz chapter nested flat submission"

# unpack_upload DEST DIR: the upload upload_layout made at DEST, unpacked (or copied) into DIR.
unpack_upload() {
    mkdir -p "$2" || return 1
    if [ -f "$1.zip" ]; then
        unzip -qq "$1.zip" -d "$2"
    elif [ -f "$1.tar.gz" ]; then
        tar -xzf "$1.tar.gz" -C "$2"
    else
        cp -R "$1/." "$2/"
    fi
}
