#!/bin/sh
# grade.sh: GitHub Classroom's grading step (.github/workflows/classroom.yml). Run from a grader
# the student can not edit (the template repository checked out at a pinned commit), it grades
# the student's repository STUDENT with that grader: only the student's files are taken from
# STUDENT (the upload rule of `grader/grade --help`), so edits to tests, points or build files
# there change nothing; the grader files STUDENT holds that differ from the grader's (mkmanifest)
# are listed in the results, as a failed test worth no points.
#
#   grader/classroom/grade.sh STUDENT
#
# Environment: SVRLAB_CHAPTER (grade this chapter alone), SVRLAB_GRADE_OPTS (more grader
# options), GITHUB_OUTPUT (gets `result=`: base64 JSON in the format GitHub Classroom's
# autograding-grading-reporter reads: version, status, max_score, tests [name, status, score,
# message]), GITHUB_STEP_SUMMARY (gets the score, the changed grader files and the grader's
# output, as Markdown), SVRLAB_OUT (a folder that gets results.json, the grader's JSON, and
# grade-output.txt, its output). Exit status: 0 graded, 1 the grading could not run (the result says
# why, with status "error"), 2 bad arguments.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
die() { echo "grade.sh: $*" >&2; exit 2; }
[ $# -eq 1 ] || die "usage: grader/classroom/grade.sh STUDENT (the student's repository)"
[ -d "$1" ] || die "'$1' is not a folder"
student=$(cd "$1" && pwd)
ch=${SVRLAB_CHAPTER:-}
case "$ch" in '' | [1-9]) ;; *) die "SVRLAB_CHAPTER: expected a chapter number, got '$ch'" ;; esac
command -v jq >/dev/null || die "jq is missing (run 'make deps')"
work=$(mktemp -d "${TMPDIR:-/tmp}/svrlab-classroom.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# The grader files the student's repository holds otherwise (or not at all). Only regular
# files are read: a link to a device or a FIFO is reported, never opened.
"$top/grader/classroom/mkmanifest" "$top" >"$work/manifest" || exit 2
: >"$work/changed"
while read -r sum path; do
    if [ -f "$student/$path" ] && [ ! -L "$student/$path" ]; then
        printf '%s  %s\n' "$sum" "$path" >>"$work/regular"
    else
        echo "$path" >>"$work/changed"
    fi
done <"$work/manifest"
[ ! -s "$work/regular" ] ||
    (cd "$student" && sha256sum -c --quiet "$work/regular" 2>/dev/null) |
    sed -n 's/: FAILED.*$//p' >>"$work/changed"
changed=$(sort -u "$work/changed" | tr '\n' ' ' | sed 's/ $//')

# shellcheck disable=SC2086 # SVRLAB_GRADE_OPTS is a list of words
"$top/grader/grade" --src "$student" ${ch:+--ch "$ch"} --json "$work/r.json" \
    ${SVRLAB_GRADE_OPTS:-} >"$work/out.txt" 2>&1
status=$?
cat "$work/out.txt"

# The reporter's format. Messages are cut so that the base64 text stays far below the 128 KiB
# an environment variable may hold (the reporter reads it from one).
if [ $status -eq 0 ] && [ -s "$work/r.json" ]; then
    for cap in 400 150 60 0; do
        jq -c --argjson cap "$cap" --arg changed "$changed" '
            [.chapters[] | select(.available) | .tests[]
             | {name: "\(.exercise) \(.name)\(if .kind == "memcheck" then " [memcheck]" else "" end)",
                status: (if .status == "pass" then "pass" else "fail" end),
                score, message: .reason[0:$cap], duration: .seconds}]
            + (if $changed == "" then [] else [{name: "grader files as in the template",
                status: "fail", score: 0, duration: 0,
                message: ("changed in your repository, not used for grading: " + $changed)}] end)
            | {version: 1, status: (if all(.[]; .status == "pass") then "pass" else "fail" end),
               max_score: $max, tests: .}' --argjson max "$(jq .max_score "$work/r.json")" \
            "$work/r.json" >"$work/result.json" || exit 1
        [ "$(base64 -w0 <"$work/result.json" | wc -c)" -lt 100000 ] && break
    done
    score=$(jq '[.tests[].score] | add // 0' "$work/result.json")
    max=$(jq .max_score "$work/result.json")
else
    why=$(grep '^grade: ' "$work/out.txt" | tail -1 | sed 's/^grade: //')
    why=${why:-the grader could not run (exit status $status)}
    jq -nc --arg why "$why" '{version: 1, status: "error", max_score: 0,
        tests: [{name: "svrlab grading", status: "error", score: 0, message: $why}]}' \
        >"$work/result.json"
    score=0 max=0
fi
if [ -n "${SVRLAB_OUT:-}" ]; then
    mkdir -p "$SVRLAB_OUT" && cp "$work/out.txt" "$SVRLAB_OUT/grade-output.txt" &&
        { [ ! -s "$work/r.json" ] || cp "$work/r.json" "$SVRLAB_OUT/results.json"; } ||
        echo "grade.sh: could not write $SVRLAB_OUT" >&2
fi
[ -z "${GITHUB_OUTPUT:-}" ] || echo "result=$(base64 -w0 <"$work/result.json")" >>"$GITHUB_OUTPUT"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    {
        echo '### svrlab'
        echo
        echo "Score: $score / $max"
        echo
        [ -z "$changed" ] || { echo "Grader files changed in this repository (not used for grading): $changed"; echo; }
        echo '```'
        cat "$work/out.txt"
        echo '```'
    } >>"$GITHUB_STEP_SUMMARY"
fi
[ -z "$changed" ] || echo "grade.sh: grader files changed in $1 (not used for grading): $changed"
echo "grade.sh: $score / $max"
[ "$(jq -r .status "$work/result.json")" != error ] || exit 1
