# bench/lib.sh: helpers shared by the benchmark scripts bench/chapterN.sh (sourced, POSIX sh).
#
# A benchmark script sets nothing before sourcing this file. Afterwards it has:
#   $top      the repository's top folder (the current directory too)
#   $out      the results folder, bench/results/ (or $BENCH_OUT)
#   $tmp      a private temporary folder, removed on exit
# Every server started with server_start and every background client started with bg_start
# is stopped on exit, also on an error or Ctrl-C, by its PID: never by name.

set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
out=${BENCH_OUT:-bench/results}
mkdir -p "$out" || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/svrlab-bench.XXXXXX") || exit 2
bench_pids=

bench_cleanup() {
    for p in $bench_pids; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in $bench_pids; do
        proc_wait_gone "$p" 50 || kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
    echo "bench: $*" >&2
    exit 1
}

# bench_set_runs: runs = $BENCH_RUNS (default 5), refused unless a positive number.
bench_set_runs() {
    runs=${BENCH_RUNS:-5}
    case $runs in
    '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive number, not '$runs'" ;;
    esac
}

# bench_placements NAME: placements = "default pinned" (server on CPU 0, client on CPU 1), or
# "default" alone with a note when this machine has fewer than 2 usable CPUs; srv_cpu_of and
# cli_cpu_of PLACEMENT name the CPU of each side ("any": the scheduler's choice).
bench_placements() {
    placements=default
    if can_pin; then
        placements="default pinned"
    else
        echo "$1: fewer than 2 usable CPUs: only the default placement is measured" >&2
    fi
}
srv_cpu_of() { if [ "$1" = pinned ]; then echo 0; else echo any; fi; }
cli_cpu_of() { if [ "$1" = pinned ]; then echo 1; else echo any; fi; }

# bench_loop NAME: the measuring loop of an echo benchmark: $runs runs; in each, for every
# placement of $placements and configuration of $configs, every candidate of $candidates once,
# the first one rotating from run to run (rotated), so that no candidate always runs first.
# Calls the script's `measure CANDIDATE PLACEMENT CONFIG RUN`; prints "NAME: run R of N done".
bench_loop() {
    bl_start=$(date +%s)
    bl_run=1
    while [ "$bl_run" -le "$runs" ]; do
        # shellcheck disable=SC2086 # a list of names
        bl_order=$(rotated "$(printf '%s\n' $candidates)" "$bl_run")
        for bl_pl in $placements; do
            for bl_cfg in $configs; do
                for bl_cand in $bl_order; do
                    measure "$bl_cand" "$bl_pl" "$bl_cfg" "$bl_run"
                done
            done
        done
        echo "$1: run $bl_run of $runs done ($(($(date +%s) - bl_start)) s)"
        bl_run=$((bl_run + 1))
    done
}

# proc_alive PID: true while PID runs (a zombie waiting to be reaped counts as gone).
proc_alive() {
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case $st in
    Z* | "") return 1 ;;
    esac
    return 0
}

# proc_wait_gone PID TENTHS: wait up to TENTHS tenths of a second for PID to end.
proc_wait_gone() {
    i=0
    while proc_alive "$1"; do
        [ "$i" -ge "$2" ] && return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 0
}

# forget_pid PID: drop PID from the list that the exit handler stops.
forget_pid() {
    rest=
    for p in $bench_pids; do
        [ "$p" = "$1" ] || rest="$rest $p"
    done
    bench_pids=$rest
}

# cpu_prefix CPU: the command prefix that runs a program on CPU (nothing for "any").
cpu_prefix() {
    if [ "$1" = any ]; then echo ""; else echo "taskset -c $1"; fi
}

# can_pin: true if this machine has two CPUs we may run on, 0 and 1.
can_pin() {
    command -v taskset >/dev/null 2>&1 || return 1
    [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ] || return 1
    taskset -c 0 true 2>/dev/null && taskset -c 1 true 2>/dev/null
}

# server_start NAME CPU PROGRAM ARGS...: start a server on 127.0.0.1 with -p 0, on CPU
# ("any" = wherever the scheduler likes). Sets srv_pid and srv_port; NAME names its log files.
server_start() {
    name=$1
    cpu=$2
    shift 2
    # shellcheck disable=SC2046 # the prefix is meant to split into words
    $(cpu_prefix "$cpu") "$@" -a 127.0.0.1 -p 0 >"$tmp/$name.out" 2>"$tmp/$name.err" &
    srv_pid=$!
    bench_pids="$bench_pids $srv_pid"
    srv_port=
    i=0
    while [ -z "$srv_port" ]; do
        srv_port=$(sed -n 's/^listening on port \([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
        [ -n "$srv_port" ] && break
        proc_alive "$srv_pid" || die "$name ended before it listened: $(head -c 300 "$tmp/$name.err")"
        [ "$i" -ge 100 ] && die "$name did not say 'listening on port N' within 5 s"
        sleep 0.05
        i=$((i + 1))
    done
}

# server_stop NAME PID: SIGTERM to PID, then wait (at most 5 s) for exit status 0.
server_stop() {
    kill -TERM "$2" 2>/dev/null
    if ! proc_wait_gone "$2" 50; then
        kill -KILL "$2" 2>/dev/null
        wait "$2" 2>/dev/null
        forget_pid "$2"
        die "$1 (pid $2) still ran 5 s after SIGTERM; killed"
    fi
    wait "$2"
    rc=$?
    forget_pid "$2"
    [ "$rc" -eq 0 ] || die "$1 (pid $2) exited with status $rc after SIGTERM: $(head -c 300 "$tmp/$1.err")"
}

# bg_start OUTFILE SECONDS CPU PROGRAM ARGS...: run a client in the background, bounded by
# timeout(1); sets bg_pid (the timeout process: SIGTERM to it ends the client too).
bg_start() {
    f=$1
    secs=$2
    cpu=$3
    shift 3
    # shellcheck disable=SC2046
    timeout "$secs" $(cpu_prefix "$cpu") "$@" >"$f" 2>"$f.err" &
    bg_pid=$!
    bench_pids="$bench_pids $bg_pid"
}

# bg_wait NAME PID OUTFILE: wait for a client started with bg_start; fail on a bad status.
bg_wait() {
    wait "$2"
    rc=$?
    forget_pid "$2"
    [ "$rc" -eq 124 ] && die "$1 timed out"
    [ "$rc" -eq 0 ] || die "$1 failed (status $rc): $(head -c 300 "$3.err")"
}

# fg_run NAME OUTFILE SECONDS CPU PROGRAM ARGS...: run a client, bounded by timeout(1).
fg_run() {
    name=$1
    f=$2
    secs=$3
    cpu=$4
    shift 4
    # shellcheck disable=SC2046
    timeout "$secs" $(cpu_prefix "$cpu") "$@" >"$f" 2>"$f.err"
    rc=$?
    [ "$rc" -eq 124 ] && die "$name timed out after $secs s"
    [ "$rc" -eq 0 ] || die "$name failed (status $rc): $(head -c 300 "$f.err")"
}

# kv KEY FILE: the value of KEY in a "k=v k=v ..." line of FILE.
kv() {
    tr ' ' '\n' <"$2" | sed -n "s/^$1=//p" | head -n 1
}

# bench_stats_awk: awk functions for the summaries, put in front of a program (awk -F,
# "$bench_stats_awk"'...'). Over the values v[f, k, 1..m] (a handful of runs: insertion sort):
# sorted(f, k, m) puts them in order into s[1..m]; med(f, k, m) is their median;
# stats(f, k, m, fmt) is "median,min,max", each printed with fmt (",," when m is 0).
bench_stats_awk='
    function sorted(f, k, m,   i, j, x) {
        for (i = 1; i <= m; i++) {
            x = v[f, k, i] + 0
            for (j = i - 1; j >= 1 && s[j] > x; j--) s[j + 1] = s[j]
            s[j + 1] = x
        }
    }
    function med(f, k, m) {
        sorted(f, k, m)
        return (m % 2) ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
    }
    function stats(f, k, m, fmt,   md) {
        if (m == 0) return ",,"
        md = med(f, k, m)
        return sprintf(fmt "," fmt "," fmt, md, s[1], s[m])
    }'

# summarize RAW.csv: one row per configuration of a raw CSV of runs (see chapter1.sh for the
# columns): how many runs, and median, min and max of rate, p50_us, p99_us and max_us.
summarize() {
    awk -F, "$bench_stats_awk"'
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
        k = $col["benchmark"] "," $col["server"] "," $col["size"] "," $col["placement"] "," \
            $col["server_cpu"] "," $col["client_cpu"]
        if (!(k in n)) { order[++nk] = k; count[k] = $col["count"] }
        n[k]++
        v["rate", k, n[k]] = $col["rate"]
        v["p50_us", k, n[k]] = $col["p50_us"]
        v["p99_us", k, n[k]] = $col["p99_us"]
        v["max_us", k, n[k]] = $col["max_us"]
    }
    END {
        print "benchmark,server,size,placement,server_cpu,client_cpu,runs,count," \
              "rate_median,rate_min,rate_max,p50_us_median,p50_us_min,p50_us_max," \
              "p99_us_median,p99_us_min,p99_us_max,max_us_median,max_us_min,max_us_max"
        for (i = 1; i <= nk; i++) {
            k = order[i]
            m = n[k]
            print k "," m "," count[k] "," stats("rate", k, m, "%.0f") "," \
                  stats("p50_us", k, m, "%.1f") "," stats("p99_us", k, m, "%.1f") "," \
                  stats("max_us", k, m, "%.1f")
        }
    }' "$1"
}

# stats: "KEY VALUE" lines on stdin; "KEY RUNS MEDIAN MIN MAX" on stdout, one line per key in
# the order of first appearance
stats() {
    awk '{ if (!($1 in n)) order[++nk] = $1; v[$1, ++n[$1]] = $2 + 0 }
    END {
        for (i = 1; i <= nk; i++) {
            k = order[i]; m = n[k]
            for (a = 1; a <= m; a++) s[a] = v[k, a]
            for (a = 2; a <= m; a++)
                for (b = a; b > 1 && s[b - 1] > s[b]; b--) { t = s[b]; s[b] = s[b - 1]; s[b - 1] = t }
            print k, m, (m % 2) ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2, s[1], s[m]
        }
    }'
}

# rotated LINES R: the lines of LINES (one candidate each), starting with line number
# ((R - 1) mod count) + 1: run R begins with another candidate than run R - 1
rotated() {
    nl=$(echo "$1" | wc -l)
    first=$((($2 - 1) % nl))
    { echo "$1" | tail -n $((nl - first)); echo "$1" | head -n "$first"; } | grep .
}

# machine_line: the CPU model, how many CPUs, the kernel (for result files and summaries).
machine_line() {
    model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
    echo "${model:-unknown CPU}, $(nproc 2>/dev/null || echo '?') CPUs, $(uname -s) $(uname -r)"
}

# have_gnuplot: true if gnuplot can draw PNG here; sets gp_term to the terminal to use.
have_gnuplot() {
    command -v gnuplot >/dev/null 2>&1 || return 1
    if echo 'set terminal' | gnuplot 2>&1 | grep -q pngcairo; then
        gp_term="pngcairo noenhanced font 'sans,10'"
    else
        gp_term='png noenhanced'
    fi
}
