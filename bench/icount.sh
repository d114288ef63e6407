#!/bin/sh
# bench/icount.sh: instructions per operation of a benchmark mode, counted by callgrind.
#
#   sh bench/icount.sh [-c COUNT] PROGRAM ARGS...
#
# Runs `PROGRAM ARGS... -n COUNT` and `PROGRAM ARGS... -n 2*COUNT` (COUNT 100000 unless -c says
# otherwise) under valgrind's callgrind and prints (Ir(2*COUNT) - Ir(COUNT)) / COUNT with one
# decimal: what one operation costs, the program's start, setup and exit cancelling out. So
# -n must set the number of operations, and nothing else in the run may depend on it. Counts
# are exact and the same from run to run (not times): `make test` compares them with
# bench/baseline/icount.txt (grader/selftest/t_ch5_icount.sh), bench/chapterN.sh reports them.
# Exit status 1 (a message on stderr) if valgrind is missing or a run fails.
set -u
count=100000
if [ "${1:-}" = -c ]; then
    count=$2
    shift 2
fi
[ $# -ge 1 ] || { echo "usage: bench/icount.sh [-c COUNT] PROGRAM ARGS..." >&2; exit 2; }
command -v valgrind >/dev/null 2>&1 || { echo "icount: valgrind is missing (make deps)" >&2; exit 1; }
log=$(mktemp "${TMPDIR:-/tmp}/icount.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT

# ir N: the instructions callgrind counted in a run with -n N
ir() {
    if ! valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >/dev/null 2>"$log"; then
        echo "icount: under callgrind, '$*' failed: $(grep -v '^==' "$log" | head -c 300)" >&2
        return 1
    fi
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$log"
}

a=$(ir "$@" -n "$count") && b=$(ir "$@" -n $((count * 2))) || exit 1
[ -n "$a" ] && [ -n "$b" ] || { echo "icount: no 'Collected' line in callgrind's output" >&2; exit 1; }
awk -v a="$a" -v b="$b" -v n="$count" 'BEGIN { printf "%.1f\n", (b - a) / n }'
