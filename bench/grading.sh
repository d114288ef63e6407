#!/bin/sh
# bench/grading.sh: how long Gradescope's autograder takes on one CPU, the figures behind the
# resources grader/README.md ("Gradescope") recommends. Not a test: it measures, it never
# passes or fails on speed. Run it as root (as Gradescope does: tests run sandboxed) on a quiet
# machine; it says so when the load is not low.
#
#   sh bench/grading.sh
#
# It builds the bundle (`make gradescope`), unpacks it into a temporary /autograder-like root
# and runs setup.sh's build steps there (not its apt-get: the packages are installed), then
# runs run_autograder pinned to CPU 0 (`taskset -c 0`) on the reference solutions uploaded as
# `make submission` writes them: once for every chapter, then once per chapter (the bundle of
# `make gradescope CH=N` differs only by its file svrlab-chapter), each from the build/ that
# setup left (a fresh container: no cache a run filled). Results: a line per run,
# and bench/results/grading.csv (or $BENCH_OUT/grading.csv).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
die() { echo "bench/grading.sh: $*" >&2; exit 2; }
command -v taskset >/dev/null || die "taskset is missing (util-linux)"
out=${BENCH_OUT:-$top/bench/results}
mkdir -p "$out" || die "can not create $out"
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN { exit !(l < 1.5) }' ||
    echo "bench/grading.sh: the load is $load: the figures will be slower than on a quiet machine" >&2

work=$(mktemp -d "${TMPDIR:-/tmp}/svrlab-bench-grading.XXXXXX") || die "mktemp failed"
chmod 711 "$work"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
make --no-print-directory -s gradescope >/dev/null || die "make gradescope failed"
ag=$work/autograder
mkdir -p "$ag/source" && unzip -qq build/gradescope/autograder.zip -d "$ag/source" ||
    die "could not unpack the bundle"
grader/mksubmission --from solutions -o "$work/submission.zip" >/dev/null || die "mksubmission failed"

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; } # seconds since $1
t0=$(now)
make -C "$ag/source" --no-print-directory -s >/dev/null 2>&1 || die "the bundle's make failed"
setup=$(since "$t0")
echo "setup (make, all CPUs): $setup s"
# each run starts from what setup left, as each Gradescope run starts from the image (the
# reference cache that a run fills is not there for the next)
cp -a "$ag/source/build" "$work/build-after-setup" || die "could not copy the bundle's build/"

csv=$out/grading.csv
echo "run,chapters,seconds,execution_time,score,load_before" >"$csv"
run() { # run NAME [CHAPTER]: run_autograder on one CPU, for CHAPTER alone or every chapter
    rm -rf "$ag/submission" "$ag/results" "$ag/source/svrlab-chapter" "$ag/source/build"
    cp -a "$work/build-after-setup" "$ag/source/build" || return 1
    mkdir -p "$ag/submission" && unzip -qq "$work/submission.zip" -d "$ag/submission" || return 1
    [ -z "${2:-}" ] || echo "$2" >"$ag/source/svrlab-chapter"
    l=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(now)
    AUTOGRADER_ROOT=$ag taskset -c 0 "$ag/source/run_autograder" || return 1
    secs=$(since "$t0")
    r=$ag/results/results.json
    printf '%s,%s,%s,%s,%s,%s\n' "$1" "${2:-all}" "$secs" "$(jq .execution_time "$r")" \
        "$(jq .score "$r")" "$l" | tee -a "$csv"
}
run full || die "the full run failed"
for pts in grader/chapters/chapter*.points; do
    n=${pts##*chapter}
    n=${n%.points}
    run "chapter$n" "$n" || die "the run of chapter $n failed"
done
echo "bench/grading.sh: wrote $csv"
