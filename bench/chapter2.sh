#!/bin/sh
# bench/chapter2.sh: chapter 2's benchmarks, run by bench/run (`make bench CH=2`).
#
# It measures the reference programs of build/solutions/chapter2/ (`make` builds them):
#   muxbench   one wait over N idle descriptors plus one active one, select / poll / epoll,
#              N = 10 to 10,000 (select up to 1,000), with UDP sockets and with eventfds;
#   ipcbench   round trips (p50, p99) and a one-way stream between two processes, by pipe,
#              unix socket, TCP loopback and a shared-memory slot, 64-byte and 64 KiB
#              messages, in three placements: "default" (the scheduler decides), "two_cpus"
#              (parent on CPU 0, child on CPU 1) and "one_cpu" (both on CPU 0); the pinned
#              placements are skipped on a machine with one CPU.
# Each configuration runs $BENCH_RUNS times (default 5), the candidates of one comparison
# inside one run (muxbench alternates its mechanisms round by round; ipcbench runs the four
# mechanisms one after the other), so that a change in the machine's load hits all alike.
#
# Yours against ours (`make bench CH=2 MINE=1`, bench/lib.sh's mine_*): your muxbench and
# ipcbench of build/chapter2/ run right after ours, with the same arguments, in every run; their
# rows go into the raw CSVs with the mechanism named mine_MECHANISM. The ratios are of what
# your program measures to what ours measures in the same run (ns per wait; the round trip's
# p50): a program of yours that measures more than the operation (a clock read per wait, a
# copy) shows above 1. One that does not build, is not implemented, fails or prints another
# CSV header than ours is reported in one line and run no more. chapter2_mux.csv and
# chapter2_ipc.csv get mine_ratio_median/_min/_max, chapter2_mine_mux.png and
# chapter2_mine_ipc.png the ratios.
#
# Writes to bench/results/:
#   chapter2_mux_raw.csv          every muxbench line, with the run number
#   chapter2_mux.csv              per mechanism, fds and N: median / min / max over the runs of
#                                 ns_per_wait (each run's own median of 3 rounds), setup_ns
#   chapter2_ipc_raw.csv          every ipcbench line, with the run number and the placement
#   chapter2_ipc.csv              per mechanism, size and placement: median / min / max of
#                                 p50_ns, p99_ns, roundtrips_per_s, msgs_per_s, mb_per_s
#   chapter2_muxbench.png         time per wait against N (log-log), UDP sockets and eventfds
#   chapter2_ipc_latency.png      round-trip p50 and p99 per mechanism and placement (64 B)
#   chapter2_ipc_throughput.png   the one-way stream: messages/s at 64 B, MB/s at 64 KiB
# and prints a short summary.

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

bin=build/solutions/chapter2
bench_set_runs
mux_timeout=120          # seconds; one muxbench run takes 2 to 5 s on a 2-vCPU VM
ipc_timeout=180          # seconds; one ipcbench run takes 1 to 10 s
ipc_sizes="64 65536"
# a System V key of our own for the shm slot: two benchmarks at once must not collide
ipc_key=$((0x53560000 + ($$ % 65536)))

for p in muxbench ipcbench; do
    [ -x "$bin/$p" ] || die "$bin/$p is missing: run 'make' first"
done
mine_setup 2 muxbench ipcbench

# mine_rows PROGRAM HEADER OUTFILE PREFIX RAW: after a run of the student's PROGRAM, its rows
# (mechanism renamed mine_MECHANISM, PREFIX in front) into RAW, or PROGRAM dropped if its CSV
# header is not ours (HEADER).
mine_rows() {
    if [ "$(head -n 1 "$3")" != "$2" ]; then
        mine_fail "mine_$1" "its CSV header is not ours ($2): $(head -n 1 "$3")" "$3"
        return 0
    fi
    sed 1d "$3" | sed "s/^/$4mine_/" >>"$5"
}

# count SIZE: round trips (and streamed messages) per ipcbench run
ipc_count() {
    case $1 in
    65536) echo 2000 ;;
    *) echo 10000 ;;
    esac
}

placements=default
if can_pin; then
    placements="default two_cpus one_cpu"
else
    echo "chapter2: fewer than 2 usable CPUs: ipcbench runs in the default placement only" >&2
fi
pin_args() {
    case $1 in
    two_cpus) echo "--cpus 0,1" ;;
    one_cpu) echo "--cpus 0,0" ;;
    *) echo "" ;;
    esac
}

mux_raw=$out/chapter2_mux_raw.csv
ipc_raw=$out/chapter2_ipc_raw.csv
mux_header=
ipc_header=

echo "chapter2: $runs runs of: muxbench (udp and eventfd), ipcbench at $(echo "$ipc_sizes" | wc -w)" \
    "sizes in the placements: $placements"
start=$(date +%s)
r=1
while [ "$r" -le "$runs" ]; do
    for kind in udp eventfd; do
        fg_run "muxbench -f $kind (run $r)" "$tmp/mux.out" "$mux_timeout" any \
            "$bin/muxbench" -f "$kind" -r 3
        if [ -z "$mux_header" ]; then
            mux_header=$(head -n 1 "$tmp/mux.out")
            echo "run,$mux_header" >"$mux_raw"
        fi
        sed 1d "$tmp/mux.out" | sed "s/^/$r,/" >>"$mux_raw"
        if mine_live muxbench && mine_client mine_muxbench /dev/null fg \
            "your muxbench -f $kind (run $r)" "$tmp/mux.out" "$mux_timeout" any \
            "$mine_dir/muxbench" -f "$kind" -r 3; then
            mine_rows muxbench "$mux_header" "$tmp/mux.out" "$r," "$mux_raw"
        fi
    done
    for size in $ipc_sizes; do
        for pl in $placements; do
            # shellcheck disable=SC2046 # pin_args is meant to split into words
            fg_run "ipcbench -s $size ($pl, run $r)" "$tmp/ipc.out" "$ipc_timeout" any \
                "$bin/ipcbench" -n "$(ipc_count "$size")" -s "$size" -k "$ipc_key" $(pin_args "$pl")
            if [ -z "$ipc_header" ]; then
                ipc_header=$(head -n 1 "$tmp/ipc.out")
                echo "run,placement,$ipc_header" >"$ipc_raw"
            fi
            sed 1d "$tmp/ipc.out" | sed "s/^/$r,$pl,/" >>"$ipc_raw"
            # shellcheck disable=SC2046 # pin_args is meant to split into words
            if mine_live ipcbench && mine_client mine_ipcbench /dev/null fg \
                "your ipcbench -s $size ($pl, run $r)" "$tmp/ipc.out" "$ipc_timeout" any \
                "$mine_dir/ipcbench" -n "$(ipc_count "$size")" -s "$size" -k "$((ipc_key + 1))" \
                $(pin_args "$pl"); then
                mine_rows ipcbench "$ipc_header" "$tmp/ipc.out" "$r,$pl," "$ipc_raw"
            fi
        done
    done
    echo "chapter2: run $r of $runs done ($(($(date +%s) - start)) s)"
    r=$((r + 1))
done

# ---- summaries -----------------------------------------------------------------------------

mux_csv=$out/chapter2_mux.csv
mine_filter "$mux_raw" mechanism muxbench || die "could not drop the figures of your muxbench"
awk -F, "$bench_stats_awk"'
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
        k = $col["mechanism"] "," $col["fds"] "," $col["n"]
        if (!(k in n)) order[++nk] = k
        n[k]++
        v["w", k, n[k]] = $col["ns_per_wait"]
        v["s", k, n[k]] = $col["setup_ns"]
    }
    END {
        print "mechanism,fds,n,runs,ns_per_wait_median,ns_per_wait_min,ns_per_wait_max," \
              "setup_ns_median,setup_ns_min,setup_ns_max"
        for (i = 1; i <= nk; i++) {
            k = order[i]
            print k "," n[k] "," stats("w", k, n[k], "%.0f") "," stats("s", k, n[k], "%.0f")
        }
    }' "$mux_raw" >"$mux_csv" || die "could not summarize $mux_raw"

mine_ratios "$mux_raw" "$mux_csv" fds,n ns_per_wait mechanism run || die "could not take your / our ratios"
ipc_csv=$out/chapter2_ipc.csv
mine_filter "$ipc_raw" mechanism ipcbench || die "could not drop the figures of your ipcbench"
awk -F, "$bench_stats_awk"'
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
        k = $col["mechanism"] "," $col["size"] "," $col["placement"] "," $col["parent_cpu"] "," \
            $col["child_cpu"]
        if (!(k in n)) { order[++nk] = k; cnt[k] = $col["count"] }
        n[k]++
        v["p50", k, n[k]] = $col["p50_ns"]
        v["p99", k, n[k]] = $col["p99_ns"]
        v["rt", k, n[k]] = $col["roundtrips_per_s"]
        v["msg", k, n[k]] = $col["msgs_per_s"]
        v["mb", k, n[k]] = $col["mb_per_s"]
    }
    END {
        print "mechanism,size,placement,parent_cpu,child_cpu,runs,count," \
              "p50_ns_median,p50_ns_min,p50_ns_max,p99_ns_median,p99_ns_min,p99_ns_max," \
              "roundtrips_per_s_median,roundtrips_per_s_min,roundtrips_per_s_max," \
              "msgs_per_s_median,msgs_per_s_min,msgs_per_s_max,mb_per_s_median,mb_per_s_min,mb_per_s_max"
        for (i = 1; i <= nk; i++) {
            k = order[i]
            print k "," n[k] "," cnt[k] "," stats("p50", k, n[k], "%.0f") "," \
                  stats("p99", k, n[k], "%.0f") "," stats("rt", k, n[k], "%.0f") "," \
                  stats("msg", k, n[k], "%.0f") "," stats("mb", k, n[k], "%.1f")
        }
    }' "$ipc_raw" >"$ipc_csv" || die "could not summarize $ipc_raw"
mine_ratios "$ipc_raw" "$ipc_csv" size,placement p50_ns mechanism run || die "could not take your / our ratios"

# ---- plots ---------------------------------------------------------------------------------
plotted=
if have_gnuplot; then
    machine=$(machine_line)
    # muxbench series: n median min max (microseconds)
    for kind in udp eventfd; do
        for m in select poll epoll; do
            awk -F, -v m="$m" -v f="$kind" 'NR > 1 && $1 == m && $2 == f {
                print $3, $5 / 1000, $6 / 1000, $7 / 1000 }' "$mux_csv" >"$tmp/mux_${kind}_$m.dat"
        done
    done
    mux_plot() { # mux_plot KIND
        sep=
        for m in select poll epoll; do
            case $m in select) lc='#1f77b4' pt=7 ;; poll) lc='#ff7f0e' pt=5 ;; *) lc='#2ca02c' pt=9 ;; esac
            [ -s "$tmp/mux_${1}_$m.dat" ] || continue
            printf "%s'%s' using 1:2:3:4 with yerrorlines lc rgb '%s' pt %s lw 2 title '%s'" \
                "$sep" "$tmp/mux_${1}_$m.dat" "$lc" "$pt" "$m"
            sep=', '
        done
        echo
    }

    # ipcbench bars: one row per mechanism, three columns (median min max) per placement
    ipc_bars() { # ipc_bars SIZE FIRST_COLUMN SCALE > file: "mech m1 lo1 hi1 m2 lo2 hi2 ..."
        for m in pipe unix tcp shm; do
            line=$m
            for pl in $placements; do
                vals=$(awk -F, -v m="$m" -v s="$1" -v p="$pl" -v c="$2" -v sc="$3" '
                    NR > 1 && $1 == m && $2 == s && $3 == p {
                        printf "%g %g %g", $c / sc, $(c + 1) / sc, $(c + 2) / sc; found = 1 }
                    END { if (!found) printf "? ? ?" }' "$ipc_csv")
                line="$line $vals"
            done
            echo "$line"
        done
    }
    ipc_bars 64 8 1000 >"$tmp/ipc_p50.dat"
    ipc_bars 64 11 1000 >"$tmp/ipc_p99.dat"
    ipc_bars 64 17 1000 >"$tmp/ipc_msgs.dat"
    ipc_bars 65536 20 1 >"$tmp/ipc_mb.dat"
    bars_plot() { # bars_plot FILE
        sep=
        col=2
        for pl in $placements; do
            case $pl in default) lc='#7f7f7f' t='default placement' ;;
                two_cpus) lc='#d62728' t='parent CPU 0, child CPU 1' ;;
                *) lc='#1f77b4' t='both on CPU 0' ;; esac
            if [ "$col" -eq 2 ]; then
                printf "'%s' using %d:%d:%d:xtic(1) lc rgb '%s' title '%s'" "$1" "$col" \
                    $((col + 1)) $((col + 2)) "$lc" "$t"
            else
                printf "%s'' using %d:%d:%d lc rgb '%s' title '%s'" "$sep" "$col" $((col + 1)) \
                    $((col + 2)) "$lc" "$t"
            fi
            sep=', '
            col=$((col + 3))
        done
        echo
    }

    cat >"$tmp/plot.gp" <<EOF
set terminal $gp_term size 1100,560
set termoption noenhanced
set datafile missing '?'
set output '$out/chapter2_muxbench.png'
set multiplot layout 1,2 title "chapter 2: one wait over N idle descriptors and one active (muxbench)\n\
median of $runs runs, bars min to max (log-log; lower is better); $machine"
set logscale xy 10
set xrange [7:14000]
set xlabel 'N idle descriptors (plus one active)'
set ylabel 'microseconds per wait'
set grid xtics ytics mxtics mytics
set key top left box opaque
set format y '%g'
set title 'UDP sockets'
plot $(mux_plot udp)
set title 'eventfds'
plot $(mux_plot eventfd)
unset multiplot

reset
set terminal $gp_term size 1100,560
set termoption noenhanced
set datafile missing '?'
set output '$out/chapter2_ipc_latency.png'
set multiplot layout 1,2 title "chapter 2: round trip between two processes, 64-byte messages (ipcbench)\n\
median of $runs runs, bars min to max (log scale; lower is better); $machine"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set logscale y 10
set format y '%g'
set yrange [0.1:*]
set grid ytics mytics
set key top left box opaque
set ylabel 'round-trip time (microseconds)'
set title 'p50 (half the round trips took less)'
plot $(bars_plot "$tmp/ipc_p50.dat")
set title 'p99 (one round trip in 100 took longer)'
unset key
plot $(bars_plot "$tmp/ipc_p99.dat")
unset multiplot

set output '$out/chapter2_ipc_throughput.png'
set multiplot layout 1,2 title "chapter 2: one-way stream between two processes (ipcbench)\n\
median of $runs runs, bars min to max (higher is better); $machine"
unset logscale y
set yrange [0:*]
set key top right box opaque
set title '64-byte messages'
set ylabel 'thousands of messages per second'
plot $(bars_plot "$tmp/ipc_msgs.dat")
set title '64 KiB messages'
set ylabel 'MB per second (10^6 bytes)'
unset key
plot $(bars_plot "$tmp/ipc_mb.dat")
unset multiplot
EOF
    if gnuplot "$tmp/plot.gp" 2>"$tmp/gnuplot.err"; then
        plotted="$out/chapter2_muxbench.png $out/chapter2_ipc_latency.png $out/chapter2_ipc_throughput.png"
        mine_plot "$mux_csv" fds,n "chapter 2: your muxbench against ours (ns per wait)" \
            "$out/chapter2_mine_mux.png" mechanism
        plotted="$plotted${mine_png:+ $mine_png}"
        mine_png=
        mine_plot "$ipc_csv" size,placement "chapter 2: your ipcbench against ours (round trip p50)" \
            "$out/chapter2_mine_ipc.png" mechanism
        plotted="$plotted${mine_png:+ $mine_png}"
    else
        sed 's/^/  /' "$tmp/gnuplot.err" >&2
        die "gnuplot failed on the chapter 2 plots"
    fi
else
    echo "chapter2: gnuplot not found: CSV only, no plots (make bench installs gnuplot-nox)" >&2
fi

# ---- summary -------------------------------------------------------------------------------
echo
echo "chapter 2 ($runs runs each; median [min-max]; $(machine_line))"
echo "  muxbench, microseconds per wait (UDP sockets):"
awk -F, '
    NR > 1 && $2 == "udp" { t[$1, $3] = sprintf("%.2f [%.2f-%.2f]", $5 / 1000, $6 / 1000, $7 / 1000)
                            if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 } }
    END {
        printf "  %8s  %-22s %-22s %-22s\n", "N", "select", "poll", "epoll"
        for (i = 1; i <= n; i++) {
            k = order[i]
            printf "  %8s  %-22s %-22s %-22s\n", k, ((("select", k) in t) ? t["select", k] : "-"), \
                t["poll", k], t["epoll", k]
        }
    }' "$mux_csv"
echo "  ipcbench, 64-byte round trip p50 / p99 in microseconds, and streamed messages/s:"
awk -F, '
    NR > 1 && $2 == 64 { printf "  %-5s %-9s  p50 %7.1f [%6.1f-%7.1f]  p99 %7.1f   stream %9d msg/s\n", \
                         $1, $3, $8 / 1000, $9 / 1000, $10 / 1000, $11 / 1000, $17 }' "$ipc_csv"
echo "  ipcbench, 64 KiB stream in MB/s:"
awk -F, '
    NR > 1 && $2 == 65536 { printf "  %-5s %-9s  %8.1f [%.1f-%.1f]\n", $1, $3, $20, $21, $22 }' "$ipc_csv"
mine_summary "$mux_csv" fds,n "muxbench's ns per wait" mechanism
mine_summary "$ipc_csv" size,placement "ipcbench's round trip p50" mechanism
echo "  files: $mux_raw $mux_csv $ipc_raw $ipc_csv${plotted:+ $plotted}"
