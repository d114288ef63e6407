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
mine=                       # set by mine_setup (MINE=1): the student's programs are measured too
mine_twins=
mine_dropped=
mine_png=

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

# bench_count: $BENCH_COUNT if set (client runs of that many messages instead of a script's
# own counts: a quick try of a script, whose figures then mean little), refused unless a
# positive number; empty otherwise.
bench_count() {
    case ${BENCH_COUNT:-} in
    '') ;;
    *[!0-9]* | 0) die "BENCH_COUNT must be a positive number, not '$BENCH_COUNT'" ;;
    *) echo "$BENCH_COUNT" ;;
    esac
}

# bench_placements NAME: placements = "default pinned" (server on CPU 0, client on CPU 1), or
# "default" alone with a note when this machine has fewer than 2 usable CPUs (BENCH_PLACEMENTS=
# default or pinned: that one alone); srv_cpu_of and
# cli_cpu_of PLACEMENT name the CPU of each side ("any": the scheduler's choice).
bench_placements() {
    if [ -n "${BENCH_PLACEMENTS:-}" ]; then   # a quick try: "default" or "pinned" alone
        placements=$BENCH_PLACEMENTS
        case $placements in
        default) ;;
        pinned) can_pin || die "BENCH_PLACEMENTS=pinned needs 2 usable CPUs and taskset" ;;
        *) die "BENCH_PLACEMENTS must be default or pinned, not '$placements'" ;;
        esac
        return 0
    fi
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
# the first one rotating from run to run (rotated), so that no candidate always runs first;
# with MINE=1 each reference is followed by the student's twin (mine_expand).
# Calls the script's `measure CANDIDATE PLACEMENT CONFIG RUN`; prints "NAME: run R of N done".
bench_loop() {
    bl_start=$(date +%s)
    bl_run=1
    while [ "$bl_run" -le "$runs" ]; do
        # shellcheck disable=SC2086 # a list of names
        bl_order=$(rotated "$(printf '%s\n' $candidates)" "$bl_run")
        for bl_pl in $placements; do
            for bl_cfg in $configs; do
                # shellcheck disable=SC2086 # a list of names
                for bl_cand in $(mine_expand $bl_order); do
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
    server_try_start "$@" || die "$srv_err"
}

# server_try_start NAME CPU PROGRAM ARGS...: server_start, but a server that ends before it
# listens, or does not say so within 5 s, returns 1 with srv_err saying why (and is stopped).
server_try_start() {
    name=$1
    cpu=$2
    shift 2
    srv_err=
    # shellcheck disable=SC2046 # the prefix is meant to split into words
    $(cpu_prefix "$cpu") "$@" -a 127.0.0.1 -p 0 >"$tmp/$name.out" 2>"$tmp/$name.err" &
    srv_pid=$!
    bench_pids="$bench_pids $srv_pid"
    srv_port=
    i=0
    while [ -z "$srv_port" ]; do
        srv_port=$(sed -n 's/^listening on port \([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
        [ -n "$srv_port" ] && break
        if ! proc_alive "$srv_pid"; then
            wait "$srv_pid" 2>/dev/null
            forget_pid "$srv_pid"
            srv_err="$name ended before it listened: $(head -c 300 "$tmp/$name.err")"
            return 1
        fi
        if [ "$i" -ge 100 ]; then
            kill -KILL "$srv_pid" 2>/dev/null
            wait "$srv_pid" 2>/dev/null
            forget_pid "$srv_pid"
            srv_err="$name did not say 'listening on port N' within 5 s"
            return 1
        fi
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
    bg_try_wait "$@" || die "$run_err"
}

# bg_try_wait NAME PID OUTFILE: bg_wait, but a bad status returns 1 with run_err saying why.
bg_try_wait() {
    wait "$2"
    rc=$?
    forget_pid "$2"
    run_check "$1" "$rc" "$3" "$1"
}

# fg_run NAME OUTFILE SECONDS CPU PROGRAM ARGS...: run a client, bounded by timeout(1).
fg_run() {
    fg_try "$@" || die "$run_err"
}

# fg_try NAME OUTFILE SECONDS CPU PROGRAM ARGS...: fg_run, but a client that fails or times
# out returns 1 with run_err saying why.
fg_try() {
    name=$1
    f=$2
    secs=$3
    cpu=$4
    shift 4
    # shellcheck disable=SC2046
    timeout "$secs" $(cpu_prefix "$cpu") "$@" >"$f" 2>"$f.err"
    run_check "$name" $? "$f" "$name after $secs s"
}

# run_check NAME STATUS OUTFILE WHAT: 0 if STATUS is 0; else run_err says why, and 1.
run_check() {
    run_err=
    [ "$2" -eq 0 ] && return 0
    if [ "$2" -eq 124 ]; then
        run_err="$4 timed out"
    else
        run_err="$1 failed (status $2): $(head -c 300 "$3.err")"
    fi
    return 1
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

# ---- yours against ours (MINE=1) -----------------------------------------------------------
# With BENCH_MINE=1 (`make bench CH=N MINE=1`) a chapter script measures the student's programs
# of build/chapterN/ beside the reference ones. A student program is candidate "mine_PROG",
# the twin of candidate PROG; mine_expand puts each twin right after its reference, so that the
# two alternate within every run (reference, student, reference, student, ...). A student
# program that does not build, is not implemented (it says "not implemented", as the
# starters' functions do: ENOSYS) or fails the benchmark's check under load is reported in one
# line (also in chapterN_mine.txt) and gets no figure; the rest goes on. Its ratio to the
# reference is taken within each run, then summarized (median, min, max over the runs).

# mine_setup CHAPTER PROGRAM...: mine = 1 with BENCH_MINE=1 (else empty, and nothing more is
# done); builds each PROGRAM from chapterN/ into build/chapterN/ (mine_twins: those that built).
mine_setup() {
    mine_ch=$1
    shift
    mine=
    mine_twins=
    mine_dropped=
    case ${BENCH_MINE:-} in
    '' | 0) return 0 ;;
    1) ;;
    *) die "MINE must be 1 (or unset), not '$BENCH_MINE'" ;;
    esac
    mine=1
    mine_dir=build/chapter$mine_ch
    mine_lines=$out/chapter${mine_ch}_mine.txt
    : >"$mine_lines" || die "cannot write $mine_lines"
    for mp in "$@"; do
        if mine_build "$mp"; then
            mine_twins="$mine_twins $mp"
        else
            mine_report "$mp" "does not build" "$(grep -m 1 -i 'error' "$tmp/build_$mp.log" ||
                tail -n 1 "$tmp/build_$mp.log")"
        fi
    done
    echo "chapter$mine_ch: yours against ours: your programs of $mine_dir/ beside the" \
        "reference ones:${mine_twins:- none built}"
}

# mine_build PROGRAM: build the student's PROGRAM (grader/build.mk), log in $tmp/build_PROGRAM.log.
mine_build() {
    [ -d "chapter$mine_ch" ] || { echo "no folder chapter$mine_ch/" >"$tmp/build_$1.log"; return 1; }
    make -s --no-print-directory -f grader/build.mk CH="$mine_ch" SRC="chapter$mine_ch" \
        OUT="$top/$mine_dir" "$top/$mine_dir/$1" >"$tmp/build_$1.log" 2>&1 && [ -x "$mine_dir/$1" ]
}

# mine_report PROGRAM WHAT [DETAIL]: the one line that says what became of the student's PROGRAM.
mine_report() {
    ml="chapter$mine_ch: yours: $1 $2"
    [ -n "${3:-}" ] && ml="$ml: $(printf '%s' "$3" | tr '\n' ' ' | cut -c 1-200)"
    echo "$ml"
    echo "$ml" >>"$mine_lines"
}

# mine_is CANDIDATE: true for a student's candidate (mine_PROG); mine_name CANDIDATE: its PROG.
mine_is() { case $1 in mine_*) return 0 ;; esac; return 1; }
mine_name() { echo "${1#mine_}"; }

# mine_programs CANDIDATE: the student's programs that CANDIDATE runs: itself, unless the
# chapter script defines mine_programs again (chapter 4: io_conn_md runs io_conn and md).
mine_programs() { echo "$1"; }

# mine_live CANDIDATE: true while the student's twin of CANDIDATE is measured: its programs
# built, and it not dropped.
mine_live() {
    [ -n "$mine" ] || return 1
    case " $mine_dropped " in *" $1 "*) return 1 ;; esac
    for ml_p in $(mine_programs "$1"); do
        case " $mine_twins " in *" $ml_p "*) ;; *) return 1 ;; esac
    done
    return 0
}

# mine_expand CANDIDATE...: the candidates, each followed by its student twin while it is live.
mine_expand() {
    for mc in "$@"; do
        echo "$mc"
        if mine_live "$mc"; then echo "mine_$mc"; fi
    done
}

# mine_prog CANDIDATE REFDIR: the program of CANDIDATE: build/chapterN/PROG for mine_PROG,
# REFDIR/CANDIDATE for a reference one.
mine_prog() {
    if mine_is "$1"; then echo "$mine_dir/$(mine_name "$1")"; else echo "$2/$1"; fi
}

# mine_fail CANDIDATE DETAIL FILE...: drop the student's CANDIDATE, reported as "not
# implemented" if FILE (its server's or client's output) says so, else as failing under load.
mine_fail() {
    mf_cand=$(mine_name "$1")
    mf_detail=$2
    shift 2
    if cat "$@" 2>/dev/null | grep -qi 'not implemented'; then
        mf_what="is not implemented"
        mf_detail=$(cat "$@" 2>/dev/null | grep -i -m 1 'not implemented')
    else
        mf_what="fails the benchmark's check under load: no figure"
    fi
    mine_dropped="$mine_dropped $mf_cand"
    mine_report "$mf_cand" "$mf_what" "$mf_detail"
}

# mine_kill PID: stop a student's process without a word: SIGTERM, SIGKILL if it still runs 5 s
# later; mk_rc is its exit status.
mine_kill() {
    kill -TERM "$1" 2>/dev/null
    proc_wait_gone "$1" 50 || kill -KILL "$1" 2>/dev/null
    wait "$1"
    mk_rc=$?
    forget_pid "$1"
}

# mine_server_stop NAME PID CANDIDATE: stop a student's server; one that does not end on
# SIGTERM within 5 s is killed, and one that ends badly is said in a line (its figures stand).
mine_server_stop() {
    mine_kill "$2"
    if [ "$mk_rc" -ne 0 ] && mine_live "$(mine_name "$3")"; then
        mine_report "$(mine_name "$3")" "exited with status $mk_rc after SIGTERM (its figures stand)" \
            "$(head -c 200 "$tmp/$1.err")"
    fi
}

# mine_filter RAW SERVERCOL [CANDIDATE]: drop from the raw CSV the rows of every dropped student
# candidate (SERVERCOL: mine_CANDIDATE); with CANDIDATE, every mine_ row once it is dropped (a
# program of yours that measures several things: chapter 5's poolbench, chapter 2's muxbench).
mine_filter() {
    [ -n "$mine" ] || return 0
    mf_all=0
    [ -n "${3:-}" ] && ! mine_live "$3" && mf_all=1
    awk -F, -v col="$2" -v drop="$mine_dropped" -v all="$mf_all" '
        BEGIN { n = split(drop, d, " "); for (i = 1; i <= n; i++) out["mine_" d[i]] = 1 }
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; print; next }
        !($c[col] in out) && !(all && $c[col] ~ /^mine_/)' "$1" >"$tmp/mine_filter.csv" && cat "$tmp/mine_filter.csv" >"$1"
}

# mine_ratios RAW CSV KEYS VALUE SERVERCOL RUNCOL: append mine_ratio_median, _min, _max to
# the summary CSV: on a row of mine_PROG, the student's VALUE / PROG's VALUE in the same run
# and configuration (KEYS: the comma-separated columns that name one, in RAW and CSV alike),
# over the runs; empty on the reference's rows.
mine_ratios() {
    [ -n "$mine" ] || return 0
    awk -F, -v keys="$3" -v val="$4" -v scol="$5" -v rcol="$6" "$bench_stats_awk"'
        FNR == 1 { split("", c); for (i = 1; i <= NF; i++) c[$i] = i; nk = split(keys, kk, ",") }
        function key(   i, k) { k = ""; for (i = 1; i <= nk; i++) k = k SUBSEP $c[kk[i]]; return k }
        NR == FNR && FNR > 1 {
            k = key(); r = $c[rcol]
            if (!((k, r) in seen)) { seen[k, r] = 1; rl[k] = rl[k] " " r }
            x[k, r, $c[scol]] = $c[val]; next }
        NR == FNR { next }
        FNR == 1 { print $0 ",mine_ratio_median,mine_ratio_min,mine_ratio_max"; next }
        {
            who = $c[scol]
            if (who !~ /^mine_/) { print $0 ",,,"; next }
            ref = substr(who, 6); k = key(); m = 0
            nr = split(rl[k], rr, " ")
            for (i = 1; i <= nr; i++) {
                r = rr[i]
                if ((k, r, ref) in x && (k, r, who) in x && x[k, r, ref] + 0 > 0)
                    v["r", k, ++m] = x[k, r, who] / x[k, r, ref]
            }
            print $0 "," stats("r", k, m, "%.3f")
        }' "$1" "$2" >"$tmp/mine_ratios.csv" && cat "$tmp/mine_ratios.csv" >"$2"
}

# mine_summary CSV KEYS WHAT [SERVERCOL]: the summary's lines: per student program and
# configuration, the median ratio [min-max] (WHAT says of what, e.g. "rate"); then what was
# reported. SERVERCOL names the candidates' column (default: server).
mine_summary() {
    [ -n "$mine" ] || return 0
    echo "  yours / ours, $3 in the same run (median [min-max] over the runs; the reference is 1):"
    awk -F, -v keys="$2" -v scol="${4:-server}" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; nk = split(keys, kk, ","); next }
        $c["mine_ratio_median"] != "" {
            cfg = ""; for (i = 1; i <= nk; i++) cfg = cfg " " $c[kk[i]]
            printf "    %-16s%-36s %.2f [%.2f-%.2f]\n", substr($c[scol], 6), cfg, \
                $c["mine_ratio_median"], $c["mine_ratio_min"], $c["mine_ratio_max"]; n++ }
        END { if (!n) print "    (none: no program of yours was measured)" }' "$1"
    [ -n "${mine_said:-}" ] || sed 's/^/  /' "$mine_lines"
    mine_said=1
}

# mine_plot CSV KEYS TITLE PNG [SERVERCOL]: one bar per student program and configuration: its
# ratio to the reference (median, bars min to max), a line at 1. Nothing without gnuplot or a
# ratio. Sets mine_png to PNG once drawn.
mine_plot() {
    [ -n "$mine" ] || return 0
    awk -F, -v keys="$2" -v scol="${5:-server}" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; nk = split(keys, kk, ","); next }
        $c["mine_ratio_median"] != "" {
            cfg = ""; for (i = 1; i <= nk; i++) cfg = cfg " " $c[kk[i]]
            printf "%d \"%s\" %s %s %s\n", n++, substr($c[scol], 6) cfg, \
                $c["mine_ratio_median"], $c["mine_ratio_min"], $c["mine_ratio_max"] }' "$1" \
        >"$tmp/mine_plot.dat"
    [ -s "$tmp/mine_plot.dat" ] || return 0
    have_gnuplot || return 0
    mp_n=$(wc -l <"$tmp/mine_plot.dat")
    cat >"$tmp/mine_plot.gp" <<EOGP
set terminal $gp_term size $((400 + mp_n * 60)),560
set termoption noenhanced
set output '$4'
set title "$3\nyours / ours in the same run: median, bars min to max; the reference is 1\n$(machine_line)"
set style fill solid 0.6 border -1
set boxwidth 0.7
set xrange [-0.7:$mp_n - 0.3]
set yrange [0:*]
set grid ytics
set xtics rotate by 30 right scale 0
set key off
set ylabel 'yours / ours'
plot '$tmp/mine_plot.dat' using 1:3:4:5:(0.7):xtic(2) with boxerrorbars lc rgb '#2ca02c', 1 with lines lc rgb '#000000' dt 2
EOGP
    gnuplot "$tmp/mine_plot.gp" 2>"$tmp/mine_gnuplot.err" ||
        { sed 's/^/  /' "$tmp/mine_gnuplot.err" >&2; die "gnuplot failed on $4"; }
    # shellcheck disable=SC2034 # read by the chapter script
    mine_png=$4
}

# mine_client CANDIDATE SERVER_ERR fg|bg ARGS...: for a reference CANDIDATE, fg_run ARGS
# (fg) or bg_wait ARGS (bg); for a student's, fg_try or bg_try_wait, and a failing client
# drops it (mine_fail, with its server's stderr SERVER_ERR and the client's output) and returns 1.
mine_client() {
    mc_cand=$1
    mc_err=$2
    mc_kind=$3
    shift 3
    case $mc_kind in
    fg) mc_must=fg_run mc_try=fg_try mc_out=$2 ;;
    bg) mc_must=bg_wait mc_try=bg_try_wait mc_out=$3 ;;
    *) die "mine_client: '$mc_kind' is neither fg nor bg" ;;
    esac
    mine_is "$mc_cand" || { "$mc_must" "$@"; return 0; }
    "$mc_try" "$@" && return 0
    mine_fail "$mc_cand" "$run_err" "$mc_err" "$mc_out" "$mc_out.err"
    return 1
}
