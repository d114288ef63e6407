#!/bin/sh
# bench/chapter4.sh: chapter 4's benchmark, run by bench/run (`make bench CH=4`).
#
# The echo part of the performance targets for the split server: 64-byte messages in three configurations,
#   1x1     1 connection, 1 message in flight
#   50x1    50 connections, 1 message in flight each
#   50x16   50 connections, 16 messages in flight each (pipelining)
# loaded by chapter 3's reference loadgen (`loadgen -c C -P D -s 64 -d 1 -q`, every byte of
# every echo checked) against
#   echosvr_v1   chapter 3's one-process server, the yardstick
#   io_conn_md   build/solutions/chapter4/io_conn + md (ex4.4)
#   md_w1, md_w2, md_w4   the same with `md -w 1`, `-w 2`, `-w 4` (ex4.5)
# Each configuration runs $BENCH_RUNS times (default 5); within a run the candidates follow each
# other, the first one rotating from run to run, and ratios to echosvr_v1 are taken within one
# run. The pair is started afresh for every client run (md first, then io_conn, on the keys
# $key and up) and stopped with SIGTERM after it: their exit lines give what the queues did
# during that run alone:
#   notifications per message   FIFO wake-up bytes written by io_conn (notifications_to_md) and
#                               by md and its workers (wakeups=), over the messages io_conn
#                               sent to md
#   in-system latency           io_conn's average time from reading a client's bytes to
#                               having md's answer (latency_avg_us)
# and the CPU time of all the server's processes (io_conn, md, workers) per message.
#
# Placements: "default" (the scheduler decides) and "pinned" (every server process on CPU 0,
# loadgen on CPU 1; skipped with fewer than 2 CPUs). A loadgen run with errors != 0 stops the
# benchmark (exit status 1): a benchmark of a broken server is no figure.
#
# Yours against ours (`make bench CH=4 MINE=1`, bench/lib.sh's mine_*): your io_conn and md of
# build/chapter4/ as mine_io_conn_md, mine_md_w1, ... each right after the reference pair
# within every run. A pair of yours that does not build, is not implemented or gets loadgen
# errors is reported in one line and measured no more. chapter4.csv gets mine_ratio_median/
# _min/_max (your rate / ours in the same run), chapter4_mine.png the ratios. The queue part
# (chapter4_queue.sh) and the connection count measure ours only.
#
# Writes to bench/results/:
#   chapter4_raw.csv    every client run: benchmark,config,connections,depth,size,server,
#                       placement,server_cpu,client_cpu,run,count,seconds,rate,p50_us,p99_us,
#                       max_us,server_cpu_us_per_msg,notif_per_msg,insystem_us
#   chapter4.csv        per configuration, candidate and placement: runs, median/min/max of
#                       rate, p50 and p99, median of the ratio to echosvr_v1's rate in the same
#                       run (vs_v1_*), of the p50 added to echosvr_v1's (added_p50_us), of
#                       notifications per message, in-system latency and server CPU per message
#   chapter4_echo.png   messages per second per candidate, one panel per configuration
# and prints a short summary with the lab's performance targets for io_conn + md, met or not.
# Then bench/chapter4_queue.sh measures the queue alone (shmmq against a pipe and a unix socket).

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

b3=build/solutions/chapter3
b4=build/solutions/chapter4
loadgen=$b3/loadgen
bench_set_runs
configs="1x1 50x1 50x16"
load_secs=1
client_timeout=60
candidates="echosvr_v1 io_conn_md md_w1 md_w2 md_w4"
# a base key of our own (the queues use key .. key+9): two benchmarks at once must not collide
key=$((0x7c000000 + ($$ % 65536) * 64))

for p in "$loadgen" "$b3/echosvr_v1" "$b4/io_conn" "$b4/md"; do
    [ -x "$p" ] || die "$p is missing: run 'make' first"
done
bench_placements chapter4
mine_setup 4 io_conn md
# the student's programs behind a candidate: the pair; echosvr_v1 is chapter 3's
mine_programs() {
    case $1 in
    io_conn_md | md_w*) echo io_conn md ;;
    *) echo "$1" ;;
    esac
}
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

# md's arguments for a candidate
md_args() {
    case $1 in
    io_conn_md) echo "" ;;
    md_w*) echo "-w ${1#md_w}" ;;
    esac
}

# ticks PID...: user + system CPU ticks of the processes so far
ticks() {
    for p in "$@"; do
        sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }'
    done | awk '{ t += $1 } END { print t + 0 }'
}

# start CAND PLACEMENT: sets srv_pid, srv_port, md_pid (empty for echosvr_v1). The student's
# pair (mine_*) that does not start returns 1, both stopped, srv_err saying why.
start() {
    md_pid=
    cpu=$(srv_cpu_of "$2")
    # server_start reads the .out file before the server may have truncated it: empty it first
    : >"$tmp/$1.out"
    : >"$tmp/io_conn.out"
    if [ "$1" = echosvr_v1 ]; then
        server_start "$1" "$cpu" "$b3/echosvr_v1"
        return
    fi
    sb=$b4
    mine_is "$1" && sb=$mine_dir
    # shellcheck disable=SC2046 # the prefix and the arguments are meant to split into words
    $(cpu_prefix "$cpu") "$sb/md" -k "$key" $(md_args "$(mine_name "$1")") >"$tmp/md.out" 2>"$tmp/md.err" &
    md_pid=$!
    bench_pids="$bench_pids $md_pid"
    if ! mine_is "$1"; then
        server_start io_conn "$cpu" "$b4/io_conn" -k "$key"
        return
    fi
    server_try_start io_conn "$cpu" "$sb/io_conn" -k "$key" && return 0
    srv_pid=
    mine_kill "$md_pid"
    return 1
}

# stop: SIGTERM to io_conn, then md; both must exit 0 (the student's: said, if not)
stop() {
    if mine_is "$cand"; then
        mine_server_stop io_conn "$srv_pid" "$cand"
        mine_server_stop md "$md_pid" "$cand"
        return 0
    fi
    server_stop "$cand" "$srv_pid"
    [ -n "$md_pid" ] || return 0
    kill -TERM "$md_pid" 2>/dev/null
    proc_wait_gone "$md_pid" 50 || die "md (pid $md_pid) still ran 5 s after SIGTERM"
    wait "$md_pid"
    rc=$?
    forget_pid "$md_pid"
    [ "$rc" -eq 0 ] || die "md exited with status $rc: $(head -c 300 "$tmp/md.err")"
}

raw=$out/chapter4_raw.csv
echo "benchmark,config,connections,depth,size,server,placement,server_cpu,client_cpu,run,count,seconds,rate,p50_us,p99_us,max_us,server_cpu_us_per_msg,notif_per_msg,insystem_us" >"$raw"

# measure CAND PLACEMENT CONFIG RUN: one client run; appends a row to $raw
measure() {
    cand=$1 mpl=$2 cfg=$3 mrun=$4
    conns=${cfg%x*}
    depth=${cfg#*x}
    if mine_is "$cand"; then
        mine_live "$(mine_name "$cand")" || return 0
        start "$cand" "$mpl" || { mine_fail "$cand" "$srv_err" "$tmp/md.err" "$tmp/io_conn.err"; return 0; }
    else
        start "$cand" "$mpl"
    fi
    pids="$srv_pid $md_pid"
    [ -n "$md_pid" ] && pids="$pids $(cat "/proc/$md_pid/task/$md_pid/children" 2>/dev/null)"
    t0=$(ticks $pids)
    co=$tmp/client.out
    # shellcheck disable=SC2046
    timeout "$client_timeout" $(cpu_prefix "$(cli_cpu_of "$mpl")") "$loadgen" -a 127.0.0.1 \
        -p "$srv_port" -c "$conns" -P "$depth" -s 64 -d "$load_secs" -q >"$co" 2>"$co.err"
    mrc=$?
    t1=$(ticks $pids)
    if mine_is "$cand" && { [ "$mrc" -ne 0 ] || [ "$(kv errors "$co")" != 0 ]; }; then
        mine_kill "$srv_pid"
        mine_kill "$md_pid"
        mine_fail "$cand" "loadgen errors=$(kv errors "$co"), status $mrc ($cfg, $mpl, run $mrun)" \
            "$tmp/md.err" "$tmp/io_conn.err" "$co" "$co.err"
        return 0
    fi
    stop
    [ "$mrc" -eq 124 ] && die "loadgen timed out after $client_timeout s ($cand, $cfg, $mpl)"
    errs=$(kv errors "$co")
    if [ "$mrc" -ne 0 ] || [ "${errs:-x}" != 0 ]; then
        echo "chapter4: loadgen reported errors=${errs:-?} (exit status $mrc) against $cand, $cfg, $mpl:" >&2
        sed 's/^/  /' "$co" "$co.err" | head -n 12 >&2
        die "a benchmark of a broken server is no figure: stopping"
    fi
    count=$(kv messages "$co")
    case $count in
    '' | *[!0-9]* | 0) die "no result line from loadgen ($cand, $cfg): $(head -c 300 "$co")" ;;
    esac
    notif='' insys=''
    if [ -n "$md_pid" ]; then
        line=$(grep 'exiting:' "$tmp/io_conn.err" | tail -n 1)
        [ -n "$line" ] || mine_is "$cand" || die "io_conn printed no statistics line: $(head -c 300 "$tmp/io_conn.err")"
        [ -n "$line" ] || line="to_md=0 notifications_to_md=0"
        echo "$line" >"$tmp/line"
        sent=$(kv to_md "$tmp/line")
        insys=$(kv latency_avg_us "$tmp/line")
        wakes=$(($(kv notifications_to_md "$tmp/line") + $(grep -o 'wakeups=[0-9]*' "$tmp/md.err" |
            awk -F= '{ t += $2 } END { print t + 0 }')))
        notif=$(awk -v w="$wakes" -v n="$sent" 'BEGIN { printf "%.4f", n ? w / n : 0 }')
    fi
    cpu_us=$(awk -v a="$t0" -v b="$t1" -v hz="$clk_tck" -v n="$count" \
        'BEGIN { printf "%.3f", (b - a) / hz / n * 1e6 }')
    printf "echo,%s,%s,%s,64,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n" "$cfg" "$conns" \
        "$depth" "$cand" "$mpl" "$(srv_cpu_of "$mpl")" "$(cli_cpu_of "$mpl")" "$mrun" "$count" \
        "$(kv seconds "$co")" "$(kv rate "$co")" "$(kv p50_us "$co")" "$(kv p99_us "$co")" \
        "$(kv max_us "$co")" "$cpu_us" "$notif" "$insys" >>"$raw"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
sources=$(git describe --always --dirty 2>/dev/null) || sources=unknown
echo "chapter4: $runs runs of: echo, 64-byte messages, configurations $configs;" \
    "candidates $candidates; placements: $placements (load average $load_before)"
bench_loop chapter4
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- summary CSV ---------------------------------------------------------------------------
csv=$out/chapter4.csv
mine_filter "$raw" server || die "could not drop the figures of your failed programs"
awk -F, "$bench_stats_awk"'
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
        k = $col["config"] "," $col["server"] "," $col["placement"]
        if (!(k in n)) order[++nk] = k
        m = ++n[k]
        g = $col["config"] "," $col["placement"] "," $col["run"]
        run[k, m] = g
        v["rate", k, m] = $col["rate"]
        v["p50", k, m] = $col["p50_us"]
        v["p99", k, m] = $col["p99_us"]
        v["cpu", k, m] = $col["server_cpu_us_per_msg"]
        v["notif", k, m] = $col["notif_per_msg"]
        v["insys", k, m] = $col["insystem_us"]
        if ($col["server"] == "echosvr_v1") { v1_rate[g] = $col["rate"]; v1_p50[g] = $col["p50_us"] }
    }
    END {
        print "config,server,placement,runs,rate_median,rate_min,rate_max,p50_us_median," \
              "p50_us_min,p50_us_max,p99_us_median,p99_us_min,p99_us_max,vs_v1_median," \
              "vs_v1_min,vs_v1_max,added_p50_us_median,notif_per_msg_median," \
              "insystem_us_median,server_cpu_us_per_msg_median"
        for (i = 1; i <= nk; i++) {
            k = order[i]
            m = n[k]
            r = 0
            for (j = 1; j <= m; j++) {
                g = run[k, j]
                if (v1_rate[g] > 0) {
                    r++
                    v["ratio", k, r] = v["rate", k, j] / v1_rate[g]
                    v["added", k, r] = v["p50", k, j] - v1_p50[g]
                }
            }
            notif = v["notif", k, 1] == "" ? "" : sprintf("%.4f", med("notif", k, m))
            insys = v["insys", k, 1] == "" ? "" : sprintf("%.1f", med("insys", k, m))
            print k "," m "," stats("rate", k, m, "%.0f") "," stats("p50", k, m, "%.1f") "," \
                  stats("p99", k, m, "%.1f") "," stats("ratio", k, r, "%.3f") "," \
                  (r ? sprintf("%.1f", med("added", k, r)) : "") "," notif "," insys "," \
                  sprintf("%.2f", med("cpu", k, m))
        }
    }' "$raw" >"$csv" || die "could not summarize $raw"
mine_ratios "$raw" "$csv" config,placement rate server run || die "could not take your / our ratios"

# ---- plot ----------------------------------------------------------------------------------
plotted=
if have_gnuplot; then
    plots=
    for cfg in $configs; do
        # one row per candidate: label, then median min max per placement ("?" if none)
        # shellcheck disable=SC2086 # a list of names
        for c in $(mine_expand $candidates); do
            line=$c
            for pl in $placements; do
                line="$line $(awk -F, -v c="$cfg" -v s="$c" -v p="$pl" '
                    NR > 1 && $1 == c && $2 == s && $3 == p { printf "%g %g %g", $5 / 1000, $6 / 1000, $7 / 1000; f = 1 }
                    END { if (!f) printf "? ? ?" }' "$csv")"
            done
            echo "$line"
        done >"$tmp/bars_$cfg.dat"
        ymax=$(awk '{ for (i = 2; i <= NF; i++) if ($i != "?" && $i + 0 > m) m = $i + 0 }
            END { print (m > 0 ? m * 1.3 : 1) }' "$tmp/bars_$cfg.dat")
        cols= col=2
        for pl in $placements; do
            case $pl in
            default) lc='#7f7f7f' t='default placement' ;;
            *) lc='#d62728' t='servers on CPU 0, loadgen on CPU 1' ;;
            esac
            [ "$col" -eq 2 ] && cols="'$tmp/bars_$cfg.dat' using 2:3:4:xtic(1) lc rgb '$lc' title '$t'" ||
                cols="$cols, '' using $col:$((col + 1)):$((col + 2)) lc rgb '$lc' title '$t'"
            col=$((col + 3))
        done
        [ "${cfg%x*}" = 1 ] && cw=connection || cw=connections
        plots="$plots
set title '${cfg%x*} $cw x ${cfg#*x} in flight'
set yrange [0:$ymax]
plot $cols"
    done
    cat >"$tmp/plot.gp" <<EOF
set terminal $gp_term size 1500,640
set termoption noenhanced
set datafile missing '?'
set output '$out/chapter4_echo.png'
set multiplot layout 1,3 title "chapter 4: echosvr_v1 against io_conn + md (and md -w N), loadgen, 64-byte echoes, same run\n\
median of $runs runs, bars min to max (higher is better); $(machine_line); load average $load_before at the start"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set grid ytics
set xtics rotate by 30 right scale 0
set key top right box opaque
set ylabel 'thousands of echoes per second'
$plots
unset multiplot
EOF
    if gnuplot "$tmp/plot.gp" 2>"$tmp/gnuplot.err"; then
        plotted="$out/chapter4_echo.png"
        mine_plot "$csv" config,placement "chapter 4: your io_conn + md against ours (loadgen, 64-byte echoes)" \
            "$out/chapter4_mine.png"
        plotted="$plotted${mine_png:+ $mine_png}"
    else
        sed 's/^/  /' "$tmp/gnuplot.err" >&2
        die "gnuplot failed on the chapter 4 plot"
    fi
else
    echo "chapter4: gnuplot not found: CSV only, no plot (make bench installs gnuplot-nox)" >&2
fi

# ---- summary -------------------------------------------------------------------------------
echo
echo "chapter 4 ($runs runs each; median [min-max]; $(machine_line))"
echo "  rate in echoes/s; /v1: this rate / echosvr_v1's in the same run; +p50: p50 minus v1's;"
echo "  notif/msg: FIFO wake-ups per message; in-system: io_conn's read to md's answer; CPU: all"
echo "  the server's processes, per message. Load average $load_before at the start, $load_after at"
echo "  the end; sources: git $sources"
awk -F, '
    NR == 1 { next }
    {
        if ($3 != pl) { pl = $3; printf "  %s placement%s\n", pl, (pl == "pinned") ? " (servers on CPU 0, loadgen on CPU 1)" : "" }
        if ($1 != cf) { cf = $1; printf "    %s:\n", cf }
        printf "      %-11s %8d/s [%8d-%8d]  p50 %6.1f  p99 %7.1f us", $2, $5, $6, $7, $8, $11
        if ($2 != "echosvr_v1") printf "  /v1 %.2f  +p50 %5.1f us  notif/msg %.4f  in-system %6.1f us", $14, $17, $18, $19
        printf "  CPU %.2f us/msg\n", $20
    }' "$csv"
echo "  the lab's performance targets for io_conn + md (medians of the per-run figures):"
awk -F, '
    NR > 1 && $2 == "io_conn_md" && $1 == "50x1" {
        printf "    %-8s 50x1: %.2fx echosvr_v1 (target >= 0.9: %s), %.4f notifications per message (target <= 0.01: %s)\n", \
            $3, $14, ($14 >= 0.9) ? "met" : "not met", $18, ($18 <= 0.01) ? "met" : "not met" }
    NR > 1 && $2 == "io_conn_md" && $1 == "1x1" {
        printf "    %-8s 1x1: the split adds %.1f us to the p50 round trip (target <= 2: %s)\n", \
            $3, $17, ($17 <= 2) ? "met" : "not met" }' "$csv"
mine_summary "$csv" config,placement "rate (echoes/s)"
echo "  files: $raw $csv${plotted:+ $plotted}"

# ---- the queue alone (the queue's performance targets) --------------------------------------
sh bench/chapter4_queue.sh || exit 1
# ---- the connection-count figures: heavy (100,000 sockets), only with BENCH_C100K=1 ----------
if [ "${BENCH_C100K:-0}" = 1 ]; then
    sh bench/chapter4_c100k.sh || exit 1
fi
