#!/bin/sh
# bench/chapter5.sh: chapter 5's benchmark, run by bench/run (`make bench CH=5`).
#
# The pool part of the performance targets (pool_part below): build/solutions/chapter5/poolbench times alloc +
# free pairs of 64-byte chunks, in one binary, for
#   pool        mempool_alloc + mempool_free (ex5.1)
#   malloc      glibc's malloc + free
#   bare        the tutorial's pool: a free list through the free chunks, no check at all (not
#               a usable pool: the floor, which shows what mempool's checks cost)
# each in two patterns: "pairs" (a chunk freed as soon as it is taken: last-in first-out, the
# best case of both) and "ring" (-w 1000: 1000 chunks stay taken, each pair frees the oldest, so
# the chunks come back in another order than they left). Each configuration runs $BENCH_RUNS
# times (default 5); within a run the six candidates follow each other, the first one rotating
# from run to run, and the ratio malloc / pool is taken within one run. Then the instructions
# per pair, counted by callgrind by the difference of two run lengths (bench/icount.sh): exact
# figures, the same on every run, where the times depend on the machine and its load.
#
# Writes to bench/results/:
#   chapter5_pool_raw.csv   every run: name,mode,live,run,count,ns
#   chapter5_pool.csv       per candidate: runs, median/min/max ns per pair, the median of
#                           malloc's ns over the pool's in the same run and pattern, and
#                           callgrind's instructions per pair
#   chapter5_pool.png       ns per pair per candidate
# and prints a short summary with the lab's performance targets for the pool, met or not.
#
# Yours against ours (`make bench CH=5 MINE=1`, bench/lib.sh's mine_*): your poolbench of
# build/chapter5/ (your mempool.c) runs the pool's two patterns too, as mine_pool-pairs and
# mine_pool-ring, each right after the reference one within every run. A poolbench of yours that
# does not build, is not implemented or fails is reported in one line and run no more.
# chapter5_pool.csv gets mine_ratio_median/_min/_max (your ns / ours in the same run: above 1
# yours is slower), chapter5_mine.png the ratios. The multi-hash part measures ours only.

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

b5=build/solutions/chapter5
bench_set_runs
mine_setup 5 poolbench

pool_part() {
    poolbench=$b5/poolbench
    [ -x "$poolbench" ] || die "$poolbench is missing: run 'make' first"
    # candidates: "name mode live count"
    candidates="pool-pairs pool 0 20000000
malloc-pairs malloc 0 20000000
bare-pairs bare 0 20000000
pool-ring pool 1000 10000000
malloc-ring malloc 1000 10000000
bare-ring bare 1000 10000000"
    raw=$out/chapter5_pool_raw.csv
    csv=$out/chapter5_pool.csv
    echo "name,mode,live,run,count,ns" >"$raw"
    r=1
    while [ "$r" -le "$runs" ]; do
        rotated "$candidates" "$r" >"$tmp/order"
        while read -r cand mode live count; do
            fg_run "poolbench -m $mode -w $live" "$tmp/line" 120 any "$poolbench" -m "$mode" \
                -w "$live" -n "$count" -s 64
            ns=$(kv ns "$tmp/line")
            [ -n "$ns" ] || die "poolbench -m $mode printed no ns= figure: $(cat "$tmp/line")"
            echo "$cand,$mode,$live,$r,$count,$ns" >>"$raw"
            # yours, right after ours
            { [ "$mode" = pool ] && mine_live poolbench; } || continue
            if mine_client mine_poolbench /dev/null fg "your poolbench -m $mode -w $live" \
                "$tmp/line" 120 any "$mine_dir/poolbench" -m "$mode" -w "$live" -n "$count" -s 64; then
                ns=$(kv ns "$tmp/line")
                if [ -n "$ns" ]; then
                    echo "mine_$cand,$mode,$live,$r,$count,$ns" >>"$raw"
                else
                    mine_fail mine_poolbench "it printed no ns= figure" "$tmp/line"
                fi
            fi
        done <"$tmp/order"
        r=$((r + 1))
    done

    # the figures of a poolbench of yours that failed in a later run go too
    mine_filter "$raw" name poolbench || die "could not drop the figures of your failed poolbench"

    # instructions per pair: exact, so once each (ours)
    echo "$candidates" | while read -r cand mode live count; do
        n=$(sh bench/icount.sh "$poolbench" -m "$mode" -w "$live" -s 64) ||
            die "could not count the instructions of poolbench -m $mode -w $live"
        echo "$cand $n"
    done >"$tmp/ir" || exit 1

    # per candidate: ns per pair; and per pool pattern, malloc's ns over the pool's, run by run
    awk -F, 'NR > 1 { print $1, $6 }' "$raw" | stats >"$tmp/ns"
    awk -F, 'NR > 1 { ns[$1, $4] = $6; if ($1 ~ /^pool/) run[$1, $4] = 1 }
        END { for (kr in run) { split(kr, f, SUBSEP); m = f[1]; sub(/^pool/, "malloc", m)
                print f[1], ns[m, f[2]] / ns[f[1], f[2]] } }' "$raw" | stats >"$tmp/ratio"
    echo "name,runs,ns_median,ns_min,ns_max,malloc_over_pool_median,instructions_per_pair" >"$csv"
    awk -v rfile="$tmp/ratio" -v ifile="$tmp/ir" '
        BEGIN { while ((getline l < rfile) > 0) { split(l, f, " "); ratio[f[1]] = f[3] }
                while ((getline l < ifile) > 0) { split(l, f, " "); ir[f[1]] = f[2] } }
        { printf "%s,%d,%.2f,%.2f,%.2f,%s,%s\n", $1, $2, $3, $4, $5,
            ($1 in ratio) ? sprintf("%.2f", ratio[$1]) : "", ir[$1] }' "$tmp/ns" >>"$csv" ||
        die "cannot summarize $raw"
    mine_ratios "$raw" "$csv" "" ns name run || die "could not take your / our ratios"

    plotted=
    if have_gnuplot; then
        cat >"$tmp/p.gp" <<GP
set terminal $gp_term size 900,520
set termoption noenhanced
set output '$out/chapter5_pool.png'
set title "chapter 5: an alloc + free pair of 64 bytes, mempool against glibc malloc (lower is better)\n\
median of $runs runs, bars min to max; $(machine_line)"
set datafile separator ','
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set yrange [0:*]
set grid ytics
set xtics scale 0
set ylabel 'ns per alloc + free pair'
plot '$csv' every ::1 using 3:4:5:xtic(1) title 'ns'
GP
        gnuplot "$tmp/p.gp" 2>"$tmp/p.err" ||
            { sed 's/^/  /' "$tmp/p.err" >&2; die "gnuplot failed on the pool plot"; }
        plotted=$out/chapter5_pool.png
        mine_plot "$csv" "" "chapter 5: your mempool against ours (poolbench, ns per alloc + free pair; lower is better)" \
            "$out/chapter5_mine.png" name
        plotted="$plotted${mine_png:+ $mine_png}"
    fi

    echo
    echo "chapter 5, the pool ($runs runs each; ns per alloc + free pair of 64 bytes, median [min-max]; $(machine_line))"
    awk -F, 'NR > 1 { printf "  %-15s %7.2f [%6.2f-%6.2f] ns  %s%s\n", $1, $3, $4, $5,
        ($7 != "") ? sprintf("%6s instructions", $7) : "",
        ($6 != "") ? sprintf("   malloc takes %.1fx as long", $6) : "" }' "$csv"
    echo "  the lab's performance targets for the pool (pairs):"
    awk -F, 'NR > 1 && $1 == "pool-pairs" {
        printf "    %.2f ns per pair (target <= 2: %s), %s instructions per pair (target <= 15: %s),\n", $3, ($3 <= 2) ? "met" : "not met", $7, ($7 <= 15) ? "met" : "not met"
        printf "    %.1fx faster than glibc malloc (target >= 4: %s)\n", $6, ($6 >= 4) ? "met" : "not met" }
        NR > 1 && $1 == "bare-pairs" { printf "    the floor, a free list without checks: %.2f ns, %s instructions per pair\n", $3, $7 }' "$csv"
    mine_summary "$csv" "" "ns per pair (above 1 yours is slower)" name
    echo "  files: $raw $csv${plotted:+ $plotted}"
}

# The multi-hash part of the performance targets (cache_part below): build/solutions/chapter5/cachebench (ex5.2)
#   lookup   hit and miss lookups, 64-bit random keys, 16-byte values, in one binary: the
#            multi-hash (cache.c, sequence lock on) and a plain linear-probing table with the
#            same number of slots holding the same keys; at 100,000 and 1,000,000 entries, in
#            two geometries: 4 rows at 50% load and 8 rows at 80%. $BENCH_RUNS runs (default
#            5), the table measured first alternating from run to run (-o), the ratio of the
#            two taken within one run.
#   fill     the load reached as random keys keep coming, and the insert failure rate, for
#            1, 2, 4, 8, 16 and 32 rows of 100,000 slots in all (exact: one run)
#   icount   callgrind's instructions per hit lookup (10,000 entries, 4 rows, 50% load), by the
#            difference of two run lengths (bench/icount.sh)
# Writes to bench/results/:
#   chapter5_cache_raw.csv    every lookup run: table,entries,rows,load_pct,run,hit_ns,miss_ns,
#                             probes_per_hit,insert_failures
#   chapter5_cache.csv        per table, size and geometry: runs, median/min/max ns of a hit and
#                             of a miss, the median of the multi-hash's ns over the linear
#                             table's in the same run (vs_linear_*)
#   chapter5_cache_fill.csv   per number of rows: the load at the first refused insert, where
#                             1%, 10% and 50% of the inserts were refused, and at the end
#   chapter5_cache_bands.csv  per number of rows and band of 2% of load: tries, failures, rate
#   chapter5_cache.png        ns per lookup; insert failure rate against load per number of rows
cache_part() {
    cachebench=$b5/cachebench
    [ -x "$cachebench" ] || die "$cachebench is missing: run 'make' first"
    ckey=$((0x7c400000 + ($$ % 65536) * 4))
    sizes="100000 1000000"
    geometries="4x50 8x80"
    lookups=2000000
    raw=$out/chapter5_cache_raw.csv
    csv=$out/chapter5_cache.csv
    fill=$out/chapter5_cache_fill.csv
    bands=$out/chapter5_cache_bands.csv
    echo "table,entries,rows,load_pct,run,hit_ns,miss_ns,probes_per_hit,insert_failures" >"$raw"
    r=1
    while [ "$r" -le "$runs" ]; do
        for e in $sizes; do
            for g in $geometries; do
                fg_run "cachebench -m lookup -e $e -r ${g%x*} -l ${g#*x}" "$tmp/c" 300 any \
                    "$cachebench" -k "$ckey" -e "$e" -r "${g%x*}" -l "${g#*x}" -n "$lookups" \
                    -o $((r % 2)) -s "$r"
                while read -r line; do
                    echo "$line" >"$tmp/l"
                    t=$(kv table "$tmp/l")
                    [ -n "$t" ] || die "cachebench printed no table= line: $(head -c 300 "$tmp/c")"
                    echo "$t,$e,${g%x*},${g#*x},$r,$(kv hit_ns "$tmp/l"),$(kv miss_ns "$tmp/l"),$(kv probes_per_hit "$tmp/l"),$(kv insert_failures "$tmp/l")"
                done <"$tmp/c" >>"$raw"
            done
        done
        r=$((r + 1))
    done

    echo "rows,slots,first_fail,fail1,fail10,fail50,final" >"$fill"
    echo "rows,band,tries,failures,rate" >"$bands"
    for rows in 1 2 4 8 16 32; do
        fg_run "cachebench -m fill -r $rows" "$tmp/f" 300 any "$cachebench" -k "$ckey" -m fill \
            -e 100000 -r "$rows" -V
        head -n 1 "$tmp/f" >"$tmp/l"
        echo "$rows,$(kv slots "$tmp/l"),$(kv first_fail "$tmp/l"),$(kv fail1 "$tmp/l"),$(kv fail10 "$tmp/l"),$(kv fail50 "$tmp/l"),$(kv final "$tmp/l")" >>"$fill"
        sed -n 's/^rows=\([0-9]*\) band=\([0-9.]*\) tries=\([0-9]*\) failures=\([0-9]*\) rate=\([0-9.]*\)$/\1,\2,\3,\4,\5/p' \
            "$tmp/f" >>"$bands"
    done
    ir=$(sh bench/icount.sh "$cachebench" -k "$ckey" -m icount -e 10000 -r 4 -l 50) ||
        die "could not count the instructions of a hit lookup"

    # per table, size and geometry: ns of hits and misses; the multi-hash over the linear table
    awk -F, 'NR > 1 { k = $1 "/" $2 "/" $3 "x" $4; print k "/hit", $6; print k "/miss", $7 }' \
        "$raw" | stats >"$tmp/cns"
    awk -F, 'NR > 1 { ns[$1, $2, $3, $4, $5] = $6; mi[$1, $2, $3, $4, $5] = $7; run[$2, $3, $4, $5] = 1 }
        END { for (k in run) { split(k, f, SUBSEP); g = f[1] "/" f[2] "x" f[3]
                print g "/hit", ns["multihash", f[1], f[2], f[3], f[4]] / ns["linear", f[1], f[2], f[3], f[4]]
                print g "/miss", mi["multihash", f[1], f[2], f[3], f[4]] / mi["linear", f[1], f[2], f[3], f[4]] } }' \
        "$raw" | sort -t/ -k1,1n -k2,2 | stats >"$tmp/cratio"
    echo "table,entries,geometry,runs,hit_ns_median,hit_ns_min,hit_ns_max,miss_ns_median,miss_ns_min,miss_ns_max,vs_linear_hit_median,vs_linear_miss_median" >"$csv"
    awk -v rfile="$tmp/cratio" '
        BEGIN { while ((getline l < rfile) > 0) { split(l, f, " "); ratio[f[1]] = f[3] } }
        { split($1, k, "/"); g = k[1] "/" k[2] "/" k[3]; v[g, k[4]] = $3 "," $4 "," $5; n[g] = $2
          if (!(g in seen)) { seen[g] = 1; order[++ng] = g } }
        END { for (i = 1; i <= ng; i++) { g = order[i]; split(g, k, "/"); s = k[2] "/" k[3]
                printf "%s,%s,%s,%d,%s,%s,%s,%s\n", k[1], k[2], k[3], n[g], v[g, "hit"], v[g, "miss"],
                    (k[1] == "multihash") ? sprintf("%.2f", ratio[s "/hit"]) : "",
                    (k[1] == "multihash") ? sprintf("%.2f", ratio[s "/miss"]) : "" } }' \
        "$tmp/cns" >>"$csv" || die "cannot summarize $raw"

    plotted=
    if have_gnuplot; then
        # panel 1: one row per size and geometry: median hit and miss of both tables
        awk -F, 'NR > 1 { k = $2 / 1000 "k " $3; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
                v[k, $1, "hit"] = $5; v[k, $1, "miss"] = $8 }
            END { for (i = 1; i <= n; i++) { k = order[i]; g = k; gsub(" ", "_", g)
                printf "%s %s %s %s %s\n", g, v[k, "multihash", "hit"], v[k, "linear", "hit"],
                    v[k, "multihash", "miss"], v[k, "linear", "miss"] } }' "$csv" >"$tmp/bars.dat"
        plots=
        for rows in 1 2 4 8 16 32; do
            awk -F, -v r="$rows" 'NR > 1 && $1 == r { print $2 + 0.01, $5 * 100 }' "$bands" >"$tmp/band$rows.dat"
            plots="$plots${plots:+, }'$tmp/band$rows.dat' using 1:2 with linespoints title '$rows row$([ "$rows" = 1 ] || echo s)'"
        done
        cat >"$tmp/c.gp" <<GP
set terminal $gp_term size 1400,560
set termoption noenhanced
set output '$out/chapter5_cache.png'
set multiplot layout 1,2 title "chapter 5: the multi-hash (sequence lock on) against a linear-probing table; $(machine_line)"
set title "ns per lookup (median of $runs runs; 16-byte values; lower is better)\nentries, rows x load %"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.7 border -1
set yrange [0:*]
set grid ytics
set xtics scale 0
set key top left
set ylabel 'ns per lookup'
plot '$tmp/bars.dat' using 2:xtic(1) title 'multi-hash hit', '' using 3 title 'linear hit', '' using 4 title 'multi-hash miss', '' using 5 title 'linear miss'
set title "inserts refused as the table fills (random keys, 100,000 slots in all)"
set style data linespoints
set xrange [0:1]
set yrange [0:100]
set xtics 0.1
set key top left
set xlabel 'load (records / slots)'
set ylabel '% of inserts refused (ENOSPC)'
plot $plots
unset multiplot
GP
        gnuplot "$tmp/c.gp" 2>"$tmp/c.err" ||
            { sed 's/^/  /' "$tmp/c.err" >&2; die "gnuplot failed on the cache plot"; }
        plotted=$out/chapter5_cache.png
    fi

    echo
    echo "chapter 5, the multi-hash ($runs runs each; ns per lookup, median [min-max]; $(machine_line))"
    awk -F, 'NR > 1 { printf "  %-9s %7d entries, %-4s  hit %6.1f [%5.1f-%5.1f]  miss %6.1f [%5.1f-%5.1f]%s\n",
        $1, $2, $3, $5, $6, $7, $8, $9, $10,
        ($11 != "") ? sprintf("  (%.2fx / %.2fx the linear table)", $11, $12) : "" }' "$csv"
    echo "  load reached (100,000 slots; rows: first refused insert, 1% / 10% / 50% refused, after 2 x slots tries):"
    awk -F, 'NR > 1 { printf "    %2d rows: %.3f, %.3f / %.3f / %.3f, %.3f\n", $1, $3, $4, $5, $6, $7 }' "$fill"
    echo "  $ir instructions per hit lookup (callgrind; 10,000 entries, 4 rows, 50% load)"
    awk -F, 'NR > 1 && $1 == "multihash" && $2 == 100000 && $3 == "4x50" {
        printf "  target: a hit at 100,000 entries (4 rows, 50%%) in %.1f ns (target <= 25: %s)\n", $5, ($5 <= 25) ? "met" : "not met" }' "$csv"
    echo "  files: $raw $csv $fill $bands${plotted:+ $plotted}"
}

pool_part
cache_part
