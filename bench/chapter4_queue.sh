#!/bin/sh
# bench/chapter4_queue.sh: the queue part of chapter 4's benchmark (the performance targets), run at the end of
# bench/chapter4.sh (`make bench CH=4`), or alone: `sh bench/chapter4_queue.sh`.
#
# build/solutions/chapter4/mqbench passes 64-byte messages between two processes, pinned one to
# each CPU (-P), in these modes (each a candidate; `mqbench --help` says more):
#   cacheline          one cache line handed back and forth: the floor of any hand-off here
#   stream             shmmq, producer to consumer, busy-polling, ns per message
#   stream-wake        the same with the consumer sleeping on the FIFO when the queue is empty
#   pipe-stream-B      a pipe, B messages per write/read (B = 1, 32, 256)
#   unix-stream-B      a unix stream socket, the same
#   rtt, rtt-wake      shmmq ping-pong round trip, busy-polling / spin-then-sleep
#   pipe-rtt, unix-rtt the same round trip over pipes and unix sockets
#   floor-rtt          the round trip over the bare bones of shmmq's protocol (tail polled, no
#                      checks, no counters): what the design costs before the code does
#   floor-rtt-stamp    the same with the records polled instead of tail (the other design)
# Each runs $BENCH_RUNS times (default 5), the candidates in turn within a run, the first one
# rotating from run to run; ratios are taken within a run.
#
# Writes to bench/results/:
#   chapter4_queue_raw.csv   every run: mode,batch,run,count,ns
#   chapter4_queue.csv       per mode: runs, median/min/max of ns, the median ratio of the
#                            pipe's ns (batch 1) to it in the same run (read it for the streams)
#                            and of it to floor-rtt's (read it for the round trips)
#   chapter4_queue.png       ns per message / round trip per mode (log scale)
# and prints a summary with the lab's performance targets, met or not.

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

mqbench=build/solutions/chapter4/mqbench
bench_set_runs
key=$((0x7c400000 + ($$ % 65536) * 4)) # mqbench uses key and key+1
[ -x "$mqbench" ] || die "$mqbench is missing: run 'make' first"
pin=-P
can_pin || pin=

# candidates: "name mode batch count"
candidates="cacheline cacheline 1 200000
stream stream 1 5000000
stream-wake stream-wake 1 2000000
pipe-stream-1 pipe-stream 1 300000
pipe-stream-32 pipe-stream 32 2000000
pipe-stream-256 pipe-stream 256 2000000
unix-stream-1 unix-stream 1 300000
unix-stream-32 unix-stream 32 2000000
unix-stream-256 unix-stream 256 2000000
rtt rtt 1 300000
rtt-wake rtt-wake 1 300000
floor-rtt floor-rtt 1 300000
floor-rtt-stamp floor-rtt-stamp 1 300000
pipe-rtt pipe-rtt 1 50000
unix-rtt unix-rtt 1 50000"

raw=$out/chapter4_queue_raw.csv
csv=$out/chapter4_queue.csv
echo "name,mode,batch,run,count,ns" >"$raw"
r=1
while [ "$r" -le "$runs" ]; do
    rotated "$candidates" "$r" >"$tmp/order"
    while read -r cand mode batch count; do
        # shellcheck disable=SC2086
        fg_run "mqbench -m $mode" "$tmp/line" 120 any "$mqbench" -k "$key" -m "$mode" \
            -b "$batch" -n "$count" $pin
        ns=$(kv ns "$tmp/line")
        [ -n "$ns" ] || die "mqbench -m $mode printed no ns= figure: $(cat "$tmp/line")"
        echo "$cand,$mode,$batch,$r,$count,$ns" >>"$raw"
    done <"$tmp/order"
    r=$((r + 1))
done

# per candidate: median, min, max; for the streams the pipe's ns (batch 1) over theirs, and for
# the shmmq round trips theirs over the protocol's floor (floor-rtt), each ratio within a run
awk -F, "$bench_stats_awk"'
    NR == 1 { next }
    { k = $1; if (!(k in n)) order[++nk] = k; n[k]++; v["ns", k, n[k]] = $6; ns[k, $4] = $6 + 0 }
    END {
        print "name,runs,ns_median,ns_min,ns_max,pipe1_over_this_median,this_over_floor_median"
        for (i = 1; i <= nk; i++) {
            k = order[i]
            for (r = 1; r <= n[k]; r++) {
                v["pipe", k, r] = ns["pipe-stream-1", r] / ns[k, r]
                v["floor", k, r] = ns[k, r] / ns["floor-rtt", r]
            }
            printf "%s,%d,%s,%.1f,%.2f\n", k, n[k], stats("ns", k, n[k], "%.1f"),
                med("pipe", k, n[k]), med("floor", k, n[k])
        }
    }' "$raw" >"$csv" || die "cannot summarize $raw"

if have_gnuplot; then
    cat >"$tmp/q.gp" <<EOF
set terminal $gp_term size 1100,560
set termoption noenhanced
set output '$out/chapter4_queue.png'
set title "chapter 4: passing 64-byte messages between two processes (lower is better)\n\
median of $runs runs, bars min to max; $(machine_line)"
set datafile separator ','
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set logscale y
set grid ytics
set xtics rotate by 30 right scale 0
set ylabel 'ns per message (streams) or per round trip (rtt)'
plot '$csv' every ::1 using 3:4:5:xtic(1) title 'ns'
EOF
    gnuplot "$tmp/q.gp" 2>"$tmp/q.err" || { sed 's/^/  /' "$tmp/q.err" >&2; die "gnuplot failed on the queue plot"; }
    plotted=$out/chapter4_queue.png
fi

echo
echo "chapter 4, the queue ($runs runs each; median [min-max] ns; ${pin:+pinned to CPUs 0 and 1; }$(machine_line))"
awk -F, 'NR > 1 { printf "  %-16s %9.1f [%9.1f-%9.1f]%s\n", $1, $3, $4, $5, ($1 ~ /^stream/) ? sprintf("   a pipe takes %.1fx as long", $6) : "" }' "$csv"
echo "  the lab's performance targets for shmmq:"
awk -F, '
    NR > 1 && $1 == "stream" { printf "    streaming: %.1f ns per message (target <= 20: %s), %.1fx a pipe (target >= 25: %s)\n", $3, ($3 <= 20) ? "met" : "not met", $6, ($6 >= 25) ? "met" : "not met" }
    NR > 1 && $1 == "rtt" { printf "    round trip busy-polling: %.0f ns (target <= 450: %s), %.2fx its protocol'"'"'s floor\n", $3, ($3 <= 450) ? "met" : "not met", $7 }
    NR > 1 && $1 == "rtt-wake" { printf "    round trip spin-then-block: %.0f ns (target <= 600: %s), %.2fx the floor\n", $3, ($3 <= 600) ? "met" : "not met", $7 }
    NR > 1 && $1 == "floor-rtt" { printf "    the floor of a round trip with tail polled (floor-rtt): %.0f ns\n", $3 }
    NR > 1 && $1 == "floor-rtt-stamp" { printf "    ... with the records polled (floor-rtt-stamp): %.0f ns\n", $3 }
    NR > 1 && $1 == "cacheline" { printf "    the floor of any hand-off, one cache line one way: %.0f ns\n", $3 }' "$csv"
echo "  files: $raw $csv${plotted:+ $plotted}"
