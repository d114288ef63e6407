#!/bin/sh
# bench/chapter3.sh: chapter 3's benchmark, run by bench/run (`make bench CH=3`).
#
# The echo comparison of the performance targets: 64-byte messages in three configurations,
#   1x1     1 connection, 1 message in flight
#   50x1    50 connections, 1 message in flight each
#   50x16   50 connections, 16 messages in flight each (pipelining)
# against the reference servers of build/solutions/chapter3/ (`make` builds them), loaded by
# the reference loadgen (`loadgen -c C -P D -s 64 -d 1 -q`, every byte of every echo checked),
# and, in the same run, against redis-server as a known event-driven reference: its PING
# through redis-benchmark at the same connections and pipelining (`-t ping_inline` and
# `-t ping_mbulk`, each its own candidate). redis-server is started here on 127.0.0.1 with a
# port of its own and no persistence (`--save '' --appendonly no`), and stopped by its PID.
# The two clients differ (loadgen checks 64-byte echoes; redis-benchmark sends 6-byte inline or
# 14-byte multi-bulk PINGs, reads 7-byte PONGs): a ratio compares server + client, so the CPU of
# each side is recorded too: server_cpu_pct and client_cpu_pct (CPU time / wall time; 100 is
# one CPU busy all the time) and the CPU microseconds each side spent per message. What the
# rest of the machine used meanwhile (others_cpu_pct: all CPUs' busy and stolen time from
# /proc/stat, less server and client) tells a quiet run from a disturbed one.
#
# Two CPU placements: "default" (the scheduler decides) and "pinned" (every server on CPU 0,
# every client on CPU 1, with taskset; skipped on a machine with one CPU). Each configuration
# runs $BENCH_RUNS times (default 5); within a run the candidates follow each other, the
# first one rotating from run to run, so that a change in the machine's load hits all alike.
# Ratios (a candidate's rate / redis's rate) are taken within one run, then summarized.
#
# Fail-safe: a loadgen run with errors != 0 (or any failing client) stops the benchmark with
# exit status 1: a benchmark of a broken server is no figure.
#
# Yours against ours (`make bench CH=3 MINE=1`, bench/lib.sh's mine_*): your echosvr_poll,
# echosvr_v1 and echosvr_v2 of build/chapter3/ (candidates mine_echosvr_poll, ...), each right
# after the reference one within every run, loaded by the reference loadgen alike. One of yours
# that does not build, is not implemented or gets loadgen errors is reported in one line and
# measured no more; the rest goes on. chapter3.csv gets mine_ratio_median/_min/_max (your rate /
# ours in the same run) and chapter3_mine.png the ratios; chapter3_mine.txt lists what was reported.
#
# Writes to bench/results/:
#   chapter3_raw.csv   every client run: benchmark,config,connections,depth,size,server,client,
#                      placement,server_cpu,client_cpu,run,count,seconds,rate,p50_us,p99_us,
#                      max_us,server_cpu_pct,client_cpu_pct,server_cpu_us_per_msg,
#                      client_cpu_us_per_msg,others_cpu_pct
#   chapter3.csv       per configuration, server and placement: runs, median/min/max of rate,
#                      p50 and p99, median of max_us and of both CPU percentages, the
#                      ratios to redis's PING_INLINE and PING_MBULK of the same run
#                      (vs_redis_inline_*, vs_redis_mbulk_*: median/min/max over the runs),
#                      the medians of the CPU microseconds per message of each side, and
#                      the median and max of others_cpu_pct
#   chapter3_echo.png  messages per second per candidate, one panel per configuration
# and prints a short summary with the lab's performance targets, met or not.

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

bin=build/solutions/chapter3
loadgen=$bin/loadgen
bench_set_runs
msg_size=64
configs="1x1 50x1 50x16"
load_secs=1                 # loadgen -d: each run sends for this long, then drains
client_timeout=60           # seconds; a run takes 1 to 2 s on a 2-vCPU VM

# ---- the candidates ------------------------------------------------------------------------
# Echo servers measured with loadgen: names (shell identifiers) and how to start each. A server
# must print "listening on port N" and exit 0 on SIGTERM; server_start
# adds "-a 127.0.0.1 -p 0". chapter 1's echosvr_fork (a process per connection) is the
# pre-event-driven baseline; chapter 4's split server has its own script (bench/chapter4.sh),
# which measures it against echosvr_v1 in the same run.
# A candidate whose program is not built (echo_optional) is skipped with a note.
echo_candidates="echosvr_fork echosvr_poll echosvr_v1 echosvr_v2"
echo_cmd() {
    case $1 in
    echosvr_fork) echo build/solutions/chapter1/echosvr_fork ;;
    echosvr_poll | echosvr_v1 | echosvr_v2) echo "$bin/$1" ;;
    mine_echosvr_poll | mine_echosvr_v1 | mine_echosvr_v2) mine_prog "$1" "$bin" ;;
    *) return 1 ;;
    esac
}
echo_optional=""            # names of echo_candidates that may be missing (later chapters)

# redis-benchmark's two PING tests; one redis-server per placement serves both.
redis_candidates="redis_ping_inline redis_ping_mbulk"
# requests per redis-benchmark run (-n), so that a run lasts about a second here
redis_count() {
    case $1 in
    1x1) echo 40000 ;;
    50x1) echo 120000 ;;
    *) echo 1000000 ;;
    esac
}

[ -x "$loadgen" ] || die "$loadgen is missing: run 'make' first"
candidates=
for c in $echo_candidates; do
    prog=$(echo_cmd "$c") || die "no command for candidate $c"
    prog=${prog%% *}
    if [ ! -x "$prog" ]; then
        case " $echo_optional " in
        *" $c "*) echo "chapter3: $prog is not built: $c skipped" >&2; continue ;;
        esac
        die "$prog is missing: run 'make' first"
    fi
    candidates="$candidates $c"
done
if command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; then
    candidates="$candidates $redis_candidates"
    have_redis=1
else
    have_redis=
    echo "chapter3: redis-server or redis-benchmark not found: measuring without the redis" \
        "reference (install: make deps DEB_PKGS_EXTRA='redis-server redis-tools')" >&2
fi
candidates=${candidates# }
mine_setup 3 echosvr_poll echosvr_v1 echosvr_v2

bench_placements chapter3

# ---- servers -------------------------------------------------------------------------------
# redis_start TAG CPU: redis-server on 127.0.0.1 on CPU. Redis takes no port 0, so it tries
# ports below the ephemeral range (where -p 0 servers and clients get theirs) until one binds.
# Sets srv_pid and srv_port.
redis_start() {
    rtag=$1
    tries=0
    : >"$tmp/$rtag.out"     # the waits below read it before the server may have opened it
    while :; do
        srv_port=$((20000 + ($$ * 7919 + tries * 1009) % 12000))
        # shellcheck disable=SC2046 # the prefix is meant to split into words
        $(cpu_prefix "$2") redis-server --bind 127.0.0.1 --port "$srv_port" --save '' \
            --appendonly no --dir "$tmp" >"$tmp/$rtag.out" 2>"$tmp/$rtag.err" &
        srv_pid=$!
        bench_pids="$bench_pids $srv_pid"
        k=0
        while ! grep -q 'Ready to accept connections' "$tmp/$rtag.out"; do
            proc_alive "$srv_pid" || break
            [ "$k" -ge 100 ] && die "$rtag did not say 'Ready to accept connections' within 5 s"
            sleep 0.05
            k=$((k + 1))
        done
        proc_alive "$srv_pid" && return 0
        wait "$srv_pid" 2>/dev/null
        forget_pid "$srv_pid"
        tries=$((tries + 1))
        if ! grep -q 'Address already in use' "$tmp/$rtag.out" "$tmp/$rtag.err" || [ "$tries" -ge 20 ]; then
            die "$rtag (port $srv_port) ended: $(tail -n 3 "$tmp/$rtag.out" "$tmp/$rtag.err" | head -c 400)"
        fi
    done
}

# One server per candidate and placement, for the whole benchmark: pid_<cand>_<pl>, port_...
for pl in $placements; do
    # shellcheck disable=SC2086 # a list of names
    for c in $(mine_expand $candidates); do
        case $c in
        mine_*)
            : >"$tmp/${c}_$pl.out"
            # shellcheck disable=SC2046 # the command is meant to split into words
            if server_try_start "${c}_$pl" "$(srv_cpu_of "$pl")" $(echo_cmd "$c"); then
                eval "pid_${c}_$pl=\$srv_pid port_${c}_$pl=\$srv_port"
            else
                mine_fail "$c" "$srv_err" "$tmp/${c}_$pl.err"
            fi
            ;;
        redis_*)
            [ "$c" = redis_ping_inline ] || continue
            redis_start "redis_$pl" "$(srv_cpu_of "$pl")"
            eval "pid_redis_$pl=\$srv_pid port_redis_$pl=\$srv_port"
            ;;
        *)
            : >"$tmp/${c}_$pl.out" # server_start reads it before the server may have opened it
            # shellcheck disable=SC2046 # the command is meant to split into words
            server_start "${c}_$pl" "$(srv_cpu_of "$pl")" $(echo_cmd "$c")
            eval "pid_${c}_$pl=\$srv_pid port_${c}_$pl=\$srv_port"
            ;;
        esac
    done
done

# ---- one measurement -----------------------------------------------------------------------
raw=$out/chapter3_raw.csv
echo "benchmark,config,connections,depth,size,server,client,placement,server_cpu,client_cpu,run,count,seconds,rate,p50_us,p99_us,max_us,server_cpu_pct,client_cpu_pct,server_cpu_us_per_msg,client_cpu_us_per_msg,others_cpu_pct" >"$raw"
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks (all its threads).
cpu_ticks() {
    # utime + stime, and cutime + cstime: echosvr_fork's children, once reaped
    sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }'
}
# children_cpu FILE: the children's user + system seconds from the output of `times` in FILE
# (`times` runs in this shell, not in a $(...) subshell, which would have no children).
children_cpu() {
    sed -n 2p "$1" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] } print t }'
}

# machine_busy: busy and stolen time of all CPUs so far, in clock ticks (/proc/stat's cpu line:
# user nice system idle iowait irq softirq steal)
machine_busy() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# measure CAND PLACEMENT CONFIG RUN: one client run against CAND; appends a row to $raw.
measure() {
    cand=$1 mpl=$2 cfg=$3 mrun=$4
    conns=${cfg%x*}
    depth=${cfg#*x}
    ccpu=$(cli_cpu_of "$mpl")
    case $cand in
    redis_*) skey=redis ;;
    *) skey=$cand ;;
    esac
    spid='' sport=''
    eval "spid=\$pid_${skey}_$mpl sport=\$port_${skey}_$mpl"
    what="$cand, ${conns}x$depth, $mpl, run $mrun"
    if mine_is "$cand"; then
        mine_live "$(mine_name "$cand")" || return 0
        proc_alive "$spid" || { mine_fail "$cand" "ended during the benchmark ($what)" \
            "$tmp/${skey}_$mpl.err"; return 0; }
    fi
    proc_alive "$spid" || die "the server for $what is no longer running: $(head -c 300 "$tmp/${skey}_$mpl.err")"
    co=$tmp/client.out
    case $cand in
    redis_ping_inline) test=ping_inline ;;
    redis_ping_mbulk) test=ping_mbulk ;;
    *) test= ;;
    esac

    tk0=$(cpu_ticks "$spid")
    mb0=$(machine_busy)
    t0=$(date +%s%N)
    times >"$tmp/times0"
    if [ -n "$test" ]; then
        # shellcheck disable=SC2046
        timeout "$client_timeout" $(cpu_prefix "$ccpu") redis-benchmark -h 127.0.0.1 \
            -p "$sport" -c "$conns" -P "$depth" -n "$(redis_count "$cfg")" -t "$test" --csv \
            >"$co" 2>"$co.err"
    else
        # shellcheck disable=SC2046
        timeout "$client_timeout" $(cpu_prefix "$ccpu") "$loadgen" -a 127.0.0.1 -p "$sport" \
            -c "$conns" -P "$depth" -s "$msg_size" -d "$load_secs" -q >"$co" 2>"$co.err"
    fi
    mrc=$?
    times >"$tmp/times1"
    t1=$(date +%s%N)
    mb1=$(machine_busy)
    tk1=$(cpu_ticks "$spid")

    if mine_is "$cand" && { [ "$mrc" -ne 0 ] || [ "$(kv errors "$co")" != 0 ]; }; then
        mine_fail "$cand" "loadgen errors=$(kv errors "$co"), status $mrc ($what)" \
            "$tmp/${skey}_$mpl.err" "$co" "$co.err"
        return 0
    fi
    [ "$mrc" -eq 124 ] && die "the client timed out after $client_timeout s ($what)"
    if [ -n "$test" ]; then
        [ "$mrc" -eq 0 ] || die "redis-benchmark failed with status $mrc ($what): $(head -c 300 "$co.err") $(head -c 300 "$co")"
        # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
        # "p99_latency_ms","max_latency_ms"
        line=$(tr -d '"' <"$co" | awk -F, 'toupper($1) ~ /^PING_/ && $2 > 0 {
            printf "%s %.0f %.1f %.1f %.1f", $2, $2, $5 * 1000, $7 * 1000, $8 * 1000; exit }')
        [ -n "$line" ] || die "no result line from redis-benchmark ($what): $(head -c 300 "$co")"
        # shellcheck disable=SC2086 # the five numbers are meant to split
        set -- $line
        count=$(redis_count "$cfg")
        seconds=$(awk -v n="$count" -v r="$1" 'BEGIN { printf "%.3f", n / r }')
        rate=$2 p50=$3 p99=$4 pmax=$5
        client=redis-benchmark
    else
        errs=$(kv errors "$co")
        if [ "$mrc" -ne 0 ] || [ "${errs:-x}" != 0 ]; then
            echo "chapter3: loadgen reported errors=${errs:-?} (exit status $mrc) against $what:" >&2
            sed 's/^/  /' "$co" "$co.err" | head -n 12 >&2
            die "a benchmark of a broken server is no figure: stopping"
        fi
        count=$(kv messages "$co") seconds=$(kv seconds "$co") rate=$(kv rate "$co")
        p50=$(kv p50_us "$co") p99=$(kv p99_us "$co") pmax=$(kv max_us "$co")
        case $count in
        '' | *[!0-9]* | 0) die "no result line from loadgen ($what): $(head -c 300 "$co")" ;;
        esac
        client=loadgen
    fi
    wall_us=$(((t1 - t0) / 1000))
    ccpu_s=$(awk -v a="$(children_cpu "$tmp/times0")" -v b="$(children_cpu "$tmp/times1")" \
        'BEGIN { printf "%.3f", b - a }')
    # CPU per wall time and per message (the count includes connecting and draining, as the
    # CPU times do); the server's ticks are 1/CLK_TCK s, the children's times 10 ms or finer
    pcts=$(awk -v t0="$tk0" -v t1="$tk1" -v hz="$clk_tck" -v c="$ccpu_s" -v w="$wall_us" -v n="$count" \
        -v m0="$mb0" -v m1="$mb1" \
        'BEGIN { w /= 1e6; if (w <= 0) w = 1e-6; sv = (t1 - t0) / hz; o = (m1 - m0) / hz - sv - c
                 if (o < 0) o = 0
                 printf "%.0f,%.0f,%.3f,%.3f,%.0f", sv / w * 100, c / w * 100, sv / n * 1e6, c / n * 1e6, o / w * 100 }')
    printf "echo,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n" "$cfg" "$conns" "$depth" \
        "$msg_size" "$cand" "$client" "$mpl" "$(srv_cpu_of "$mpl")" "$ccpu" "$mrun" "$count" \
        "$seconds" "$rate" "$p50" "$p99" "$pmax" "$pcts" >>"$raw"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# what was measured: the commit, and whether the servers' sources had uncommitted changes
sources=$(git describe --always --dirty 2>/dev/null) || sources=unknown
[ -n "$(git status --porcelain -- solutions/chapter3 common 2>/dev/null)" ] &&
    sources="$sources, with uncommitted changes in solutions/chapter3 or common"
echo "chapter3: $runs runs of: echo, 64-byte messages, configurations $configs;" \
    "candidates $candidates; placements: $placements (load average $load_before)"
bench_loop chapter3
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

for pl in $placements; do
    # shellcheck disable=SC2086 # a list of names
    for c in $candidates $(for t in $mine_twins; do echo "mine_$t"; done); do
        case $c in
        mine_*)
            pid=
            eval "pid=\${pid_${c}_$pl:-}"
            [ -n "$pid" ] && mine_server_stop "${c}_$pl" "$pid" "$c"
            ;;
        redis_ping_inline) eval "server_stop redis_$pl \$pid_redis_$pl" ;;
        redis_*) ;;
        *) eval "server_stop ${c}_$pl \$pid_${c}_$pl" ;;
        esac
    done
done

# ---- summary CSV ---------------------------------------------------------------------------
csv=$out/chapter3.csv
mine_filter "$raw" server || die "could not drop the figures of your failed programs"
awk -F, "$bench_stats_awk"'
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
        g = $col["config"] "," $col["placement"]
        k = $col["benchmark"] "," $col["config"] "," $col["connections"] "," $col["depth"] "," \
            $col["size"] "," $col["server"] "," $col["client"] "," $col["placement"] "," \
            $col["server_cpu"] "," $col["client_cpu"]
        if (!(k in n)) { order[++nk] = k; srv[k] = $col["server"]; grp[k] = g }
        m = ++n[k]
        run[k, m] = $col["run"]
        v["count", k, m] = $col["count"]
        v["rate", k, m] = $col["rate"]
        v["p50", k, m] = $col["p50_us"]
        v["p99", k, m] = $col["p99_us"]
        v["max", k, m] = $col["max_us"]
        v["scpu", k, m] = $col["server_cpu_pct"]
        v["ccpu", k, m] = $col["client_cpu_pct"]
        v["sus", k, m] = $col["server_cpu_us_per_msg"]
        v["cus", k, m] = $col["client_cpu_us_per_msg"]
        v["oth", k, m] = $col["others_cpu_pct"]
        rate_of[g, $col["run"], $col["server"]] = $col["rate"]
    }
    # this row set'"'"'s rate / the reference'"'"'s rate in the same run, configuration, placement
    function ratios(k, ref,   i, m, x) {
        m = 0
        for (i = 1; i <= n[k]; i++) {
            x = rate_of[grp[k], run[k, i], ref]
            if (x > 0) v["ratio", k, ++m] = v["rate", k, i] / x
        }
        return stats("ratio", k, m, "%.3f")
    }
    END {
        print "benchmark,config,connections,depth,size,server,client,placement,server_cpu," \
              "client_cpu,runs,count_median,rate_median,rate_min,rate_max,p50_us_median," \
              "p50_us_min,p50_us_max,p99_us_median,p99_us_min,p99_us_max,max_us_median," \
              "server_cpu_pct_median,client_cpu_pct_median,vs_redis_inline_median," \
              "vs_redis_inline_min,vs_redis_inline_max,vs_redis_mbulk_median," \
              "vs_redis_mbulk_min,vs_redis_mbulk_max,server_cpu_us_per_msg_median," \
              "client_cpu_us_per_msg_median,others_cpu_pct_median,others_cpu_pct_max"
        for (i = 1; i <= nk; i++) {
            k = order[i]
            m = n[k]
            print k "," m "," sprintf("%.0f", med("count", k, m)) "," stats("rate", k, m, "%.0f") \
                  "," stats("p50", k, m, "%.1f") "," stats("p99", k, m, "%.1f") "," \
                  sprintf("%.1f", med("max", k, m)) "," sprintf("%.0f", med("scpu", k, m)) "," \
                  sprintf("%.0f", med("ccpu", k, m)) "," ratios(k, "redis_ping_inline") "," \
                  ratios(k, "redis_ping_mbulk") "," sprintf("%.3f", med("sus", k, m)) "," \
                  sprintf("%.3f", med("cus", k, m)) "," sprintf("%.0f", med("oth", k, m)) "," \
                  sprintf("%.0f", s[m])
        }
    }' "$raw" >"$csv" || die "could not summarize $raw"
mine_ratios "$raw" "$csv" benchmark,config,placement rate server run || die "could not take your / our ratios"

# ---- plot ----------------------------------------------------------------------------------
# bars CONFIG > file: one row per candidate: "label med min max" per placement ('?' if none)
bars() {
    # shellcheck disable=SC2086 # a list of names
    for c in $(mine_expand $candidates); do
        case $c in
        redis_ping_inline) label='redis PING_INLINE' ;;
        redis_ping_mbulk) label='redis PING_MBULK' ;;
        *) label=$c ;;
        esac
        line="\"$label\""
        for pl in $placements; do
            line="$line $(awk -F, -v c="$1" -v s="$c" -v p="$pl" '
                NR > 1 && $2 == c && $6 == s && $8 == p { printf "%g %g %g", $13 / 1000, $14 / 1000, $15 / 1000; f = 1 }
                END { if (!f) printf "? ? ?" }' "$csv")"
        done
        echo "$line"
    done
}
# v1_title CONFIG: the panel's second title line: echosvr_v1 / redis per placement
v1_title() {
    awk -F, -v c="$1" '
        NR > 1 && $2 == c && $6 == "echosvr_v1" && $25 != "" {
            t = t sep sprintf("%s: %.2f / %.2f", $8, $25, $28); sep = "; " }
        END { if (t != "") print "v1 / redis (INLINE / MBULK), " t }' "$csv"
}

# others_avg: the average of others_cpu_pct over every client run (for the plot's title)
others_avg=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { t += $col["others_cpu_pct"]; n++ } END { printf "%.0f", n ? t / n : 0 }' "$raw")

plotted=
if have_gnuplot; then
    machine=$(machine_line)
    plots=
    # shellcheck disable=SC2086 # a list of names
    ncand=$(mine_expand $candidates | wc -l)
    for cfg in $configs; do
        bars "$cfg" >"$tmp/bars_$cfg.dat"
        # room above the tallest bar for the key
        ymax=$(awk '{ for (i = 2; i <= NF; i++) if ($i != "?" && $i + 0 > m) m = $i + 0 }
            END { print (m > 0 ? m * 1.3 : 1) }' "$tmp/bars_$cfg.dat")
        conns=${cfg%x*}
        depth=${cfg#*x}
        cols=
        col=2
        for pl in $placements; do
            case $pl in
            default) lc='#7f7f7f' t='default placement' ;;
            *) lc='#d62728' t='servers on CPU 0, clients on CPU 1' ;;
            esac
            if [ "$col" -eq 2 ]; then
                cols="'$tmp/bars_$cfg.dat' using 2:3:4:xtic(1) lc rgb '$lc' title '$t'"
            else
                cols="$cols, '' using $col:$((col + 1)):$((col + 2)) lc rgb '$lc' title '$t'"
            fi
            col=$((col + 3))
        done
        [ "$conns" = 1 ] && cw=connection || cw=connections
        plots="$plots
set title \"$conns $cw x $depth in flight\\n$(v1_title "$cfg")\"
set yrange [0:$ymax]
plot $cols"
    done
    cat >"$tmp/plot.gp" <<EOF
set terminal $gp_term size 1500,640
set termoption noenhanced
set datafile missing '?'
set output '$out/chapter3_echo.png'
set multiplot layout 1,3 title "chapter 3: echo servers (loadgen, 64-byte echoes) and redis-server (redis-benchmark, PING), same run\n\
median of $runs runs, bars min to max (higher is better); panel titles: echosvr_v1's rate / redis's, median of the ratios within each run\n\
$machine; load average $load_before at the start; the rest of the machine used $others_avg% of one CPU meanwhile"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set xrange [-0.6:$ncand - 0.4]
set grid ytics
set xtics rotate by 30 right scale 0
set key top left box opaque
set ylabel 'thousands of messages (echoes or PINGs) per second'
$plots
unset multiplot
EOF
    if gnuplot "$tmp/plot.gp" 2>"$tmp/gnuplot.err"; then
        plotted="$out/chapter3_echo.png"
        mine_plot "$csv" config,placement "chapter 3: your echo servers against ours (loadgen, 64-byte echoes)" \
            "$out/chapter3_mine.png"
        plotted="$plotted${mine_png:+ $mine_png}"
    else
        sed 's/^/  /' "$tmp/gnuplot.err" >&2
        die "gnuplot failed on the chapter 3 plot"
    fi
else
    echo "chapter3: gnuplot not found: CSV only, no plot (make bench installs gnuplot-nox)" >&2
fi

# ---- summary -------------------------------------------------------------------------------
echo
echo "chapter 3 ($runs runs each; median [min-max]; $(machine_line))"
echo "  rate in messages/s; CPU: of each side, in % of one CPU and in CPU microseconds per message;"
echo "  /redis: this rate / redis-benchmark's PING_INLINE, PING_MBULK rate in the same run (median);"
echo "  others: CPU used by the rest of the machine during these runs (median, % of one CPU)"
echo "  load average at the start $load_before, at the end $load_after; sources: git $sources"
awk -F, '
    NR == 1 { next }
    {
        if ($8 != pl) { pl = $8; printf "  %s placement%s\n", pl, (pl == "pinned") ? " (servers on CPU 0, clients on CPU 1)" : "" }
        if ($2 != cf) { cf = $2; printf "    %s x %s in flight:\n", $3, $4 }
        printf "      %-17s %8d/s [%8d-%8d]  p50 %5.0f  p99 %5.0f us  CPU server %3d%% %5.2f us/msg, client %3d%% %5.2f us/msg", \
            $6, $13, $14, $15, $16, $19, $23, $31, $24, $32
        if ($25 != "") printf "  /redis %.2f %.2f", $25, $28
        printf "  others %d%%\n", $33
    }' "$csv"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { x = $col["others_cpu_pct"] + 0; t += x; n++; if (x > mx) mx = x; if (x >= 20) hi++ }
    END { if (n) printf "  the rest of the machine used %.0f%% of one CPU on average during the %d client runs" \
                        " (max %d%%; %d runs at 20%% or more)\n", t / n, n, mx, hi }' "$raw"
if [ -n "$have_redis" ]; then
    echo "  the lab's performance target: echosvr_v1 at least 1.3x redis at 50x1 and 50x16 (ratios within each run):"
    awk -F, '
        NR > 1 && $6 == "echosvr_v1" && ($2 == "50x1" || $2 == "50x16") {
            printf "    %-8s %-6s v1/PING_INLINE %.2f [%.2f-%.2f]  v1/PING_MBULK %.2f [%.2f-%.2f]  %s\n", \
                $8, $2, $25, $26, $27, $28, $29, $30, \
                ($25 >= 1.3 && $28 >= 1.3) ? "met" : ($25 >= 1.3 || $28 >= 1.3) ? "met against one PING test only" : "not met"
        }' "$csv"
fi
mine_summary "$csv" config,placement "rate (messages/s)"
echo "  files: $raw $csv${plotted:+ $plotted}"
