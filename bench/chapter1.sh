#!/bin/sh
# bench/chapter1.sh: chapter 1's benchmarks, run by bench/run (`make bench CH=1`).
#
# It measures the reference programs of build/solutions/chapter1/ (`make` builds them):
#   roundtrip       one echoclient, one connection, COUNT round trips of SIZE bytes, against
#                   echosvr_v0 and echosvr_fork, SIZE 1 B to 64 KiB;
#   second_client   client A makes a long run; client B starts 0.2 s later and makes a short
#                   one. B's worst round trip (max_us) shows how long B waited for the server.
# Each in two CPU placements: "default" (the scheduler decides) and "pinned" (every server
# process on CPU 0, every client on CPU 1; skipped on a machine with one CPU).
#
# A quick try (figures that mean little): BENCH_SIZES="64", BENCH_COUNT=200 (round trips per
# client run, clients A and B too), BENCH_PLACEMENTS=default.
#
# Each configuration runs $BENCH_RUNS times (default 5). The candidates alternate within one
# run (v0, fork, v0, fork, ...) so that a change in the machine's load hits both alike.
#
# Yours against ours (`make bench CH=1 MINE=1`, bench/lib.sh's mine_*): your echosvr_v0 and
# echosvr_fork of build/chapter1/ (mine_echosvr_v0, mine_echosvr_fork), each right after the
# reference one within every run, loaded by the reference echoclient (which checks every byte).
# One of yours that does not build, is not implemented or fails a client is reported in one
# line and measured no more. chapter1.csv gets mine_ratio_median/_min/_max (your rate / ours in
# the same run), the plots your series too, chapter1_mine.png the ratios.
#
# Writes to bench/results/:
#   chapter1_raw.csv              every client run: benchmark,server,size,placement,server_cpu,
#                                 client_cpu,run,count,seconds,rate,p50_us,p99_us,max_us
#   chapter1.csv                  per configuration: runs, median/min/max of rate, p50, p99, max
#                                 (benchmark second_client_a is client A, second_client_b B)
#   chapter1_rate.png             round trips/s against message size
#   chapter1_latency.png          p50 and p99 latency against message size
#   chapter1_second_client.png    client B's worst round trip, v0 against fork
# and prints a short summary.

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

bin=build/solutions/chapter1
bench_set_runs
sizes=${BENCH_SIZES:-1 64 1024 16384 65536}  # BENCH_SIZES="64": a quick try
for size in $sizes; do
    case $size in '' | *[!0-9]* | 0) die "BENCH_SIZES: '$size' is not a size in bytes" ;; esac
done
count=$(bench_count) || exit 1     # BENCH_COUNT: every client run makes that many round trips
servers="echosvr_v0 echosvr_fork"
client_timeout=30           # seconds; a run takes well under 2 s on a 2-vCPU VM
wait_a_count=50000          # client A of second_client: about 0.5 to 1 s of round trips
wait_b_count=1000
wait_delay=0.2              # seconds between starting A and starting B

for p in echoclient $servers; do
    [ -x "$bin/$p" ] || die "$bin/$p is missing: run 'make' first"
done

# shellcheck disable=SC2086 # a list of names
mine_setup 1 $servers

# count SIZE: round trips per run, so that a run lasts a few tenths of a second.
count_for() {
    [ -n "$count" ] && { echo "$count"; return; }
    case $1 in
    16384) echo 10000 ;;
    65536) echo 5000 ;;
    *) echo 20000 ;;
    esac
}

if [ -n "$count" ]; then
    wait_a_count=$count
    wait_b_count=$count
fi
bench_placements chapter1

# One server per program and placement, for the whole benchmark; port_<prog>_<placement>.
for pl in $placements; do
    # shellcheck disable=SC2086 # a list of names
    for s in $(mine_expand $servers); do
        if mine_is "$s"; then
            : >"$tmp/${s}_$pl.out"
            server_try_start "${s}_$pl" "$(srv_cpu_of "$pl")" "$(mine_prog "$s" "$bin")" ||
                { mine_fail "$s" "$srv_err" "$tmp/${s}_$pl.err"; continue; }
        else
            server_start "${s}_$pl" "$(srv_cpu_of "$pl")" "$bin/$s"
        fi
        eval "pid_${s}_$pl=\$srv_pid port_${s}_$pl=\$srv_port"
    done
done

raw=$out/chapter1_raw.csv
echo "benchmark,server,size,placement,server_cpu,client_cpu,run,count,seconds,rate,p50_us,p99_us,max_us" >"$raw"

# record BENCHMARK SERVER PLACEMENT RUN FILE: one row of the raw CSV from echoclient's line.
record() {
    f=$5
    printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n" "$1" "$2" "$(kv size "$f")" "$3" \
        "$(srv_cpu_of "$3")" "$(cli_cpu_of "$3")" "$4" "$(kv messages "$f")" "$(kv seconds "$f")" \
        "$(kv rate "$f")" "$(kv p50_us "$f")" "$(kv p99_us "$f")" "$(kv max_us "$f")" >>"$raw"
}

echo "chapter1: $runs runs of: round trips at $(echo "$sizes" | wc -w) sizes and the second-client" \
    "test, v0 and fork alternating, placements: $placements"
start=$(date +%s)
r=1
while [ "$r" -le "$runs" ]; do
    for pl in $placements; do
        ccpu=$(cli_cpu_of "$pl")
        for size in $sizes; do
            # shellcheck disable=SC2086 # a list of names
            for s in $(mine_expand $servers); do
                eval "port=\$port_${s}_$pl"
                mine_client "$s" "$tmp/${s}_$pl.err" fg "echoclient -s $size against $s ($pl, run $r)" \
                    "$tmp/c.out" "$client_timeout" "$ccpu" "$bin/echoclient" -p "$port" \
                    -n "$(count_for "$size")" -s "$size" || continue
                record roundtrip "$s" "$pl" "$r" "$tmp/c.out"
            done
        done
        # shellcheck disable=SC2086 # a list of names
        for s in $(mine_expand $servers); do
            eval "port=\$port_${s}_$pl"
            bg_start "$tmp/a.out" "$client_timeout" "$ccpu" "$bin/echoclient" -p "$port" \
                -n "$wait_a_count" -s 64
            a_pid=$bg_pid
            sleep "$wait_delay"
            if ! mine_client "$s" "$tmp/${s}_$pl.err" fg "client B against $s ($pl, run $r)" \
                "$tmp/b.out" "$client_timeout" "$ccpu" "$bin/echoclient" -p "$port" \
                -n "$wait_b_count" -s 64; then
                kill -TERM "$a_pid" 2>/dev/null
                wait "$a_pid"
                forget_pid "$a_pid"
                continue
            fi
            mine_client "$s" "$tmp/${s}_$pl.err" bg "client A against $s ($pl, run $r)" "$a_pid" \
                "$tmp/a.out" || continue
            record second_client_a "$s" "$pl" "$r" "$tmp/a.out"
            record second_client_b "$s" "$pl" "$r" "$tmp/b.out"
        done
    done
    echo "chapter1: run $r of $runs done ($(($(date +%s) - start)) s)"
    r=$((r + 1))
done

for pl in $placements; do
    for s in $servers; do
        eval "pid=\$pid_${s}_$pl"
        server_stop "${s}_$pl" "$pid"
        pid=
        eval "pid=\${pid_mine_${s}_$pl:-}"
        [ -n "$pid" ] && mine_server_stop "mine_${s}_$pl" "$pid" "mine_$s"
    done
done

csv=$out/chapter1.csv
mine_filter "$raw" server || die "could not drop the figures of your failed programs"
summarize "$raw" >"$csv" || die "could not summarize $raw"
mine_ratios "$raw" "$csv" benchmark,size,placement rate server run || die "could not take your / our ratios"

# ---- plots ---------------------------------------------------------------------------------
# series BENCHMARK SERVER PLACEMENT: the summary's rows for it, as columns gnuplot reads:
# size rate_med rate_min rate_max p50_med p50_min p50_max p99_med p99_min p99_max max_med
# max_min max_max
series() {
    awk -F, -v b="$1" -v s="$2" -v p="$3" '
        NR > 1 && $1 == b && $2 == s && $4 == p {
            print $3, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20 }' "$csv"
}

plotted=
if have_gnuplot; then
    # the servers measured: the reference ones, and with MINE=1 yours that were not dropped
    # shellcheck disable=SC2086 # a list of names
    plot_servers=$(mine_expand $servers)
    for pl in $placements; do
        for s in $plot_servers; do
            series roundtrip "$s" "$pl" >"$tmp/rt_${s}_$pl.dat"
        done
    done
    # the second-client picture: one bar per placement and server, x = 0, 1 (default), 3, 4
    x=0
    : >"$tmp/wait.dat"
    for pl in $placements; do
        for s in $plot_servers; do
            case $s in
            echosvr_v0) c=2062260 ;;
            mine_echosvr_v0) c=1556175 ;;
            mine_*) c=16744206 ;;
            *) c=14034728 ;;
            esac
            l=${s#mine_}
            mine_is "$s" && l="yours ${l#echosvr_}" || l=${l#echosvr_}
            series second_client_b "$s" "$pl" |
                awk -v x="$x" -v l="$pl $l" -v c="$c" \
                    '{ printf "%d \"%s\" %g %g %g %d\n", x, l, $11 / 1000, $12 / 1000, $13 / 1000, c }' \
                    >>"$tmp/wait.dat"
            x=$((x + 1))
        done
        x=$((x + 1))
    done

    # plot lines for the size plots: v0 and fork in two colours, pinned dashed
    rt_plot() { # rt_plot COLUMN_MED COLUMN_MIN COLUMN_MAX SCALE
        sep=
        for pl in $placements; do
            for s in $plot_servers; do
                case $s in
                echosvr_v0) lc='#1f77b4' shift_x=0.93 ;;
                mine_echosvr_v0) lc='#17becf' shift_x=0.96 ;;
                mine_*) lc='#ff7f0e' shift_x=1.04 ;;
                *) lc='#d62728' shift_x=1.07 ;;
                esac
                case $pl in pinned) dt=2 pt=6 ;; *) dt=1 pt=7 ;; esac
                [ "$pl" = pinned ] && shift_x=$(echo "$shift_x" | awk '{ print ($1 < 1) ? 0.87 : 1.14 }')
                printf "%s'%s' using (\$1*%s):(\$%s/%s):(\$%s/%s):(\$%s/%s) with yerrorlines" \
                    "$sep" "$tmp/rt_${s}_$pl.dat" "$shift_x" "$1" "$4" "$2" "$4" "$3" "$4"
                printf " lc rgb '%s' dt %s pt %s lw 2 title '%s, %s'" "$lc" "$dt" "$pt" \
                    "$(if mine_is "$s"; then echo "yours: $(mine_name "$s")"; else echo "$s"; fi)" \
                    "$(if [ "$pl" = pinned ]; then echo 'server CPU 0, client CPU 1'; else echo 'default placement'; fi)"
                sep=', \
    '
            done
        done
        echo
    }
    machine=$(machine_line)
    cat >"$tmp/plot.gp" <<EOF
set terminal $gp_term size 900,560
set termoption noenhanced
set datafile missing '?'
set logscale x 2
set xrange [0.6:110000]
set xtics ("1" 1, "64" 64, "1K" 1024, "16K" 16384, "64K" 65536)
set xlabel "message size in bytes (log scale; 1K = 1024)"
set grid ytics
set key inside bottom left box opaque
set yrange [0:*]

set output '$out/chapter1_rate.png'
set title "chapter 1: one client on one connection against echosvr_v0 and echosvr_fork\n\
round trips per second: median of $runs runs, bars min to max (higher is better)\n\
$machine"
set ylabel 'round trips per second (thousands)'
plot $(rt_plot 2 3 4 1000)

set terminal $gp_term size 1100,560
set output '$out/chapter1_latency.png'
set multiplot layout 1,2 title "chapter 1: round-trip latency on one connection (lower is better)\n\
median of $runs runs, bars min to max; $machine"
set title 'p50 (half the round trips took less)'
set ylabel 'round-trip time (µs)'
set key inside top left box opaque
plot $(rt_plot 5 6 7 1)
set title 'p99 (one round trip in 100 took longer)'
unset key
plot $(rt_plot 8 9 10 1)
unset multiplot

set terminal $gp_term size 900,560
set output '$out/chapter1_second_client.png'
set title "chapter 1: how long a second client waits for the server\n\
client A makes $wait_a_count round trips; client B starts $wait_delay s later: B's worst round trip\n\
median of $runs runs, bars min to max (log scale; lower is better); $machine"
unset logscale x
set logscale y 10
set xrange [-0.7:$((x - 2)).7]
set yrange [0.005:10000]
set format y '%g'
set xlabel 'placement (default: the scheduler decides; pinned: server CPU 0, clients CPU 1) and server'
set ylabel "client B's worst round trip (ms)"
set style fill solid 0.6 border -1
set boxwidth 0.7
set key off
plot '$tmp/wait.dat' using 1:3:4:5:(0.7):6:xtic(2) with boxerrorbars lc rgb variable, \
     '' using 1:(\$5*1.6):(\$3 >= 1 ? sprintf('%.0f ms', \$3) : sprintf('%.0f µs', \$3 * 1000)) with labels
EOF
    if gnuplot "$tmp/plot.gp" 2>"$tmp/gnuplot.err"; then
        plotted="$out/chapter1_rate.png $out/chapter1_latency.png $out/chapter1_second_client.png"
        mine_plot "$csv" benchmark,size,placement "chapter 1: your echo servers against ours (echoclient, one connection)" \
            "$out/chapter1_mine.png"
        plotted="$plotted${mine_png:+ $mine_png}"
    else
        sed 's/^/  /' "$tmp/gnuplot.err" >&2
        die "gnuplot failed on the chapter 1 plots"
    fi
else
    echo "chapter1: gnuplot not found: CSV only, no plots (make bench installs gnuplot-nox)" >&2
fi

# ---- summary -------------------------------------------------------------------------------
echo
echo "chapter 1 ($runs runs each; median [min-max]; $(machine_line))"
awk -F, '
    NR == 1 { next }
    $1 == "roundtrip" { k = $4 SUBSEP $3; rate[$2, k] = $9; rmin[$2, k] = $10; rmax[$2, k] = $11
                        p50[$2, k] = $12; p99[$2, k] = $15
                        if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
    $1 == "second_client_b" { w[$2, $4] = $18; wmin[$2, $4] = $19; wmax[$2, $4] = $20
                              if (!($4 in wseen)) { wseen[$4] = 1; worder[++wn] = $4 } }
    function ms(us) { return us >= 10000 ? sprintf("%.0f ms", us / 1000) : us >= 1000 ? sprintf("%.1f ms", us / 1000) : sprintf("%.0f us", us) }
    END {
        printf "  round trips/s, one client        %-26s %-26s %7s  %s\n", "echosvr_v0", \
            "echosvr_fork", "fork/v0", "p50 / p99 us: v0; fork"
        for (i = 1; i <= n; i++) {
            split(order[i], kk, SUBSEP); v = "echosvr_v0"; f = "echosvr_fork"
            printf "  %-8s %6s B                 %7d [%6d-%6d]   %7d [%6d-%6d]   %6.2f   %s / %s; %s / %s\n", \
                kk[1], kk[2], rate[v, order[i]], rmin[v, order[i]], rmax[v, order[i]], \
                rate[f, order[i]], rmin[f, order[i]], rmax[f, order[i]], \
                rate[v, order[i]] ? rate[f, order[i]] / rate[v, order[i]] : 0, \
                p50[v, order[i]], p99[v, order[i]], p50[f, order[i]], p99[f, order[i]]
        }
        print "  second client waits: client B'"'"'s worst round trip while client A runs"
        for (i = 1; i <= wn; i++) {
            pl = worder[i]
            printf "  %-8s echosvr_v0 %s [%s - %s]   echosvr_fork %s [%s - %s]\n", pl, \
                ms(w["echosvr_v0", pl]), ms(wmin["echosvr_v0", pl]), ms(wmax["echosvr_v0", pl]), \
                ms(w["echosvr_fork", pl]), ms(wmin["echosvr_fork", pl]), ms(wmax["echosvr_fork", pl])
        }
    }' "$csv"
mine_summary "$csv" benchmark,size,placement "rate (round trips/s)"
echo "  files: $raw $csv${plotted:+ $plotted}"
