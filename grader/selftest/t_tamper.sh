# Grader self-test: a submission that edits the grader's tests, points or Makefiles gets the
# same score as without those edits: only the student's own files are taken from it.
t_tamper() {
    mkdir -p "$tmp/plain" && cp -R chapter1 "$tmp/plain/" &&
        cp -R "$tmp/plain" "$tmp/tamper" &&
        mkdir -p "$tmp/tamper/grader/tests/chapter1" "$tmp/tamper/grader/chapters" || return 1
    # tests that always pass, points that give everything, a Makefile that fakes success
    for f in grader/tests/chapter1/*.c; do
        printf '#include "gt.h"\n' >"$tmp/tamper/$f"
    done
    sed 's/ [0-9][0-9]* [0-9][0-9]*$/ 0 0/' grader/chapters/chapter1.points \
        >"$tmp/tamper/grader/chapters/chapter1.points"
    printf 'all:\n\t@echo PASS\n' >"$tmp/tamper/chapter1/Makefile"
    printf 'progs runner:\n\t@true\n' >"$tmp/tamper/grader/build.mk"
    grade_json "$tmp/plain.json" --src "$tmp/plain" --ch 1 --no-memcheck &&
        grade_json "$tmp/tamper.json" --src "$tmp/tamper" --ch 1 --no-memcheck || return 1
    a=$(jq -c '[.chapters[].tests[] | [.name, .status, .score]]' "$tmp/plain.json")
    b=$(jq -c '[.chapters[].tests[] | [.name, .status, .score]]' "$tmp/tamper.json")
    [ "$a" = "$b" ] || { echo "plain:  $a"; echo "tamper: $b"; return 1; }
}
check "grader: edited tests, points and Makefiles change nothing" t_tamper
