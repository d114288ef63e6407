# Grader self-test of the requirements lists (grader/tests/chapterN/requirements, checked by
# grader/reqcheck): the checkout's lists hold (every must/never/always sentence of a guide is
# listed, every named test exists, every listed phrase is still in its guide), and the check
# fails, naming the culprit, on each of those faults in a copy. Text checks only: seconds.

t_requirements_hold() {
    sh grader/reqcheck
}

# reqcheck_copy DIR: a lab of chapter 1 only in DIR, enough for grader/reqcheck.
reqcheck_copy() {
    mkdir -p "$1/grader/chapters" "$1/grader/tests/chapter1" "$1/chapter1"
    cp grader/reqcheck "$1/grader/"
    cp grader/chapters/chapter1.points "$1/grader/chapters/"
    cp grader/tests/chapter1/requirements "$1/grader/tests/chapter1/"
    cp chapter1/README.md "$1/chapter1/"
}

# reqcheck_refuses DIR TEXT: grader/reqcheck of DIR fails and says TEXT.
reqcheck_refuses() {
    if sh "$1/grader/reqcheck" >"$1/out" 2>&1; then
        cat "$1/out"
        echo "expected reqcheck to fail"
        return 1
    fi
    cat "$1/out"
    grep -qF "$2" "$1/out" || { echo "expected: $2"; return 1; }
}

t_requirements_faults() {
    d=$tmp/reqcheck
    # a named test that does not exist
    reqcheck_copy "$d/a"
    sed -i 's/echosvr_fork_large_message/echosvr_fork_no_such_test/' \
        "$d/a/grader/tests/chapter1/requirements"
    reqcheck_refuses "$d/a" "no test echosvr_fork_no_such_test" || return 1
    # a requirement the guide no longer states in those words
    reqcheck_copy "$d/b"
    sed -i 's/A 2 MiB message must come back intact/A 2 MiB message comes back intact/' \
        "$d/b/chapter1/README.md"
    reqcheck_refuses "$d/b" "ch1.09: its words are not in" || return 1
    # a new must sentence that no requirement lists
    reqcheck_copy "$d/c"
    printf '\nThe server must sing at start-up.\n' >>"$d/c/chapter1/README.md"
    reqcheck_refuses "$d/c" "The server must sing at start-up." || return 1
    # a sentence in a code block is no requirement
    reqcheck_copy "$d/d"
    fence='```'
    printf '\n%ssh\necho it must never fail  # a comment\n%s\n' "$fence" "$fence" >>"$d/d/chapter1/README.md"
    sh "$d/d/grader/reqcheck" || return 1
    # untestable needs its reason, and an ID is listed once
    reqcheck_copy "$d/e"
    echo "ch1.01 | untestable: | Children must be reaped" >>"$d/e/grader/tests/chapter1/requirements"
    reqcheck_refuses "$d/e" "ch1.01 is listed twice" || return 1
    grep -q "ch1.01: untestable, but says not why" "$d/e/out" || { echo "expected: untestable, but says not why"; return 1; }
}

check "requirements: every guide requirement is traced to existing tests" t_requirements_hold
check "requirements: reqcheck names a missing test, a reworded or unlisted sentence" t_requirements_faults
