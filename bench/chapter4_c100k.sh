#!/bin/sh
# bench/chapter4_c100k.sh: the connection-count figures of the performance targets. Heavy (a minute or two, up to
# 100,000 sockets on each side): bench/chapter4.sh runs it at its end only with BENCH_C100K=1;
# it also runs alone: `sh bench/chapter4_c100k.sh`.
#
#   part A  echosvr_v1 (chapter 3) holding 10,000 connections from one loadgen, one 64-byte
#           message a second each (`loadgen -c 10000 -n 10 -r 1 -q`): p50 / p99, and the
#           server's memory per connection: VmRSS (/proc/PID/status) once every connection is
#           open, less VmRSS before the load, over the connections. Targets: p99 <= 1 ms,
#           <= 4 KiB per connection.
#   part B  C100K_CONNS connections (default 100,000) to K io_conn + md pairs (chapter 4),
#           every io_conn with --reuseport on one fixed port (the kernel spreads the
#           connections over them by a hash of the addresses), each pair with a base key of
#           its own; L loadgen processes, loadgen i with at most C100K_PER_CLIENT connections
#           (default 19,000) bound to source address 127.0.0.(2+i) (`loadgen -b`), each
#           sending C100K_COUNT messages (default 30) at C100K_RATE a second (default 1, as part
#           A; decimals allowed: at 100,000 connections one message a second each is 100,000
#           echoes a second, more than two CPUs carry while they also accept and ramp up, so a
#           lower rate shows what holding them all at once costs). The ramp-up to 100,000
#           takes some 20 s here, and every connection must be open at once. Reported: the
#           connections held (the sum of loadgen's connections=, every errors=0), p50 and
#           the worst p99 over the loadgens, and the memory per connection of io_conn + md
#           together (VmRSS summed over the 2K processes, after less before).
#
# Why several processes: the hard descriptor limit (ulimit -Hn, RLIMIT_NOFILE) is 20,000 per
# process on the lab machine and only root raises it, so one process holds at most ~19,900
# connections (io_conn serves -c 19,900 at most here; loadgen keeps 32 descriptors spare).
# K = ceil(N / 19,000) servers and as many clients. fs.nr_open (the most a hard limit may be
# raised to) and fs.file-max (the whole system) are far above 200,000 sockets; one source
# address gives connect() net.ipv4.ip_local_port_range ports (28,232 by default) per server
# address and port, hence one 127.0.0.x per loadgen. All are printed and written to the CSV.
#
# Placement: the scheduler's (no pinning: 2K + L processes on the machine's CPUs). Every load
# is bounded (loadgen -n, timeout(1)) and every process is stopped by its PID. A loadgen with
# errors != 0 stops the benchmark (exit status 1).
#
# Writes bench/results/chapter4_c100k.csv:
#   part,server,processes,clients,connections_wanted,connections,errors,messages,seconds,
#   p50_us,p99_us,rss_before_kib,rss_after_kib,rss_per_conn_bytes,hard_nofile,nr_open,
#   file_max,port_range,open_at_once (the connections open at the same time at the peak, which
#   the memory per connection divides by),rate_per_conn

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

b3=build/solutions/chapter3
b4=build/solutions/chapter4
loadgen=$b3/loadgen
conns_b=${C100K_CONNS:-100000}
per_client=${C100K_PER_CLIENT:-19000}
count=${C100K_COUNT:-30}
rate=${C100K_RATE:-1}
conns_a=${C100K_CONNS_A:-10000}
key=$((0x7d000000 + ($$ % 65536) * 256)) # pair i uses key + 16 i .. + 16 i + 9

for v in "$conns_b" "$per_client" "$count"; do
    case $v in '' | *[!0-9]* | 0) die "C100K_CONNS, C100K_PER_CLIENT and C100K_COUNT must be positive numbers" ;; esac
done
case $rate in '' | *[!0-9.]* | *.*.* | .) die "C100K_RATE must be a positive number" ;; esac
awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || die "C100K_RATE must be a positive number"
life=$(awk -v n="$count" -v r="$rate" 'BEGIN { printf "%d", n / r + 1 }') # seconds of sending
for p in "$loadgen" "$b3/echosvr_v1" "$b4/io_conn" "$b4/md"; do
    [ -x "$p" ] || die "$p is missing: run 'make' first"
done

# ---- the limits that apply -----------------------------------------------------------------
# shellcheck disable=SC3045 # dash, bash and busybox sh all have ulimit -H and -n
hard=$(ulimit -Hn)
nr_open=$(cat /proc/sys/fs/nr_open 2>/dev/null || echo '?')
file_max=$(cat /proc/sys/fs/file-max 2>/dev/null || echo '?')
port_range=$(tr -s '\t ' '-' </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo '?')
ports=$(echo "$port_range" | awk -F- '{ print $2 - $1 + 1 }')
mem_kib=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo)
echo "chapter4_c100k: descriptor limits: ulimit -Hn $hard per process, fs.nr_open $nr_open," \
    "fs.file-max $file_max; net.ipv4.ip_local_port_range $port_range ($ports ports per source" \
    "address and server port); MemAvailable $((mem_kib / 1024)) MiB"
# shellcheck disable=SC3045
ulimit -n "$hard" 2>/dev/null || die "can not raise the soft descriptor limit to the hard one ($hard)"
case $hard in
unlimited) per_proc=$per_client ;;
*)
    per_proc=$((hard - 100))
    [ "$per_proc" -gt 0 ] || die "the hard descriptor limit $hard is too low"
    [ "$per_client" -gt "$per_proc" ] && per_client=$per_proc
    ;;
esac
[ "$per_client" -le "$ports" ] || per_client=$ports
[ "$conns_a" -le "$per_proc" ] || die "part A needs $conns_a descriptors in one process; ulimit -Hn is $hard"

csv=$out/chapter4_c100k.csv
echo "part,server,processes,clients,connections_wanted,connections,errors,messages,seconds,p50_us,p99_us,rss_before_kib,rss_after_kib,rss_per_conn_bytes,hard_nofile,nr_open,file_max,port_range,open_at_once,rate_per_conn" >"$csv"

# rss PID...: the sum of VmRSS (KiB)
rss() {
    for p in "$@"; do
        awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null
    done | awk '{ t += $1 } END { print t + 0 }'
}

# sockets PID...: the descriptors the processes hold
sockets() {
    for p in "$@"; do
        find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
    done | awk '{ t += $1 } END { print t + 0 }'
}

# wait_held WANT SECS PID...: wait (at most SECS) until the processes hold WANT descriptors or
# more, or until none of the loadgens ($lg_wait, PIDs) runs any more; sets held to the most
# descriptors seen and peak_rss to the VmRSS sum (KiB) sampled at that moment
wait_held() {
    want=$1 secs=$2
    shift 2
    i=0 held=0 peak_rss=0
    while :; do
        h=$(sockets "$@")
        if [ "$h" -gt "$held" ]; then
            held=$h
            # shellcheck disable=SC2086
            peak_rss=$(rss "$@" $rss_also)
        fi
        [ "$held" -ge "$want" ] && return 0
        [ "$i" -ge $((secs * 5)) ] && return 1
        running=0
        for q in $lg_wait; do proc_alive "$q" && running=1; done
        [ "$running" -eq 0 ] && return 1
        sleep 0.2
        i=$((i + 1))
    done
}

# free_port: a TCP port below the ephemeral range that nothing listens on
free_port() {
    p=$((20000 + $$ % 5000))
    while ss -Htln "sport = :$p" 2>/dev/null | grep -q .; do
        p=$((p + 1))
    done
    echo "$p"
}

# check_client NAME FILE STATUS: loadgen must have exited 0 with errors=0
check_client() {
    [ "$3" -eq 124 ] && die "$1 timed out"
    e=$(kv errors "$2")
    if [ "$3" -ne 0 ] || [ "${e:-x}" != 0 ]; then
        echo "chapter4_c100k: $1 reported errors=${e:-?} (exit status $3):" >&2
        sed 's/^/  /' "$2" "$2.err" | head -n 12 >&2
        die "a benchmark of a broken server is no figure: stopping"
    fi
}

limits="$hard,$nr_open,$file_max,$port_range"

# ---- part A: echosvr_v1, 10,000 connections -------------------------------------------------
echo "chapter4_c100k: part A: echosvr_v1, $conns_a connections, 1 message/s each, 10 s"
: >"$tmp/v1.out"
server_start v1 any "$b3/echosvr_v1"
sleep 0.5
before=$(rss "$srv_pid")
bg_start "$tmp/a.out" 120 any "$loadgen" -a 127.0.0.1 -p "$srv_port" -c "$conns_a" -s 64 -n 10 -r 1 -q
a_pid=$bg_pid
lg_wait=$a_pid rss_also=''
wait_held "$conns_a" 60 "$srv_pid" || echo "chapter4_c100k: echosvr_v1 held $held descriptors at most" >&2
after=$peak_rss
wait "$a_pid"
arc=$?
forget_pid "$a_pid"
server_stop v1 "$srv_pid"
check_client "loadgen (part A)" "$tmp/a.out" "$arc"
f=$tmp/a.out
got=$(kv connections "$f")
per=$(((after - before) * 1024 / conns_a))
echo "A,echosvr_v1,1,1,$conns_a,$got,$(kv errors "$f"),$(kv messages "$f"),$(kv seconds "$f"),$(kv p50_us "$f"),$(kv p99_us "$f"),$before,$after,$per,$limits,$got,1" >>"$csv"

# ---- part B: K io_conn + md pairs on one port, L loadgens from 127.0.0.(2+i) -----------------
clients=$(((conns_b + per_client - 1) / per_client))
[ "$clients" -le 250 ] || die "C100K_CONNS / C100K_PER_CLIENT needs more than 250 source addresses"
servers=$clients # each io_conn takes ~N/K connections, the hash's spread is small beside the rest
max_srv=$per_proc
echo "chapter4_c100k: part B: $conns_b connections, $servers io_conn + md pairs (--reuseport," \
    "-c $max_srv each), $clients loadgens from 127.0.0.2 up, $rate message(s)/s each, $count messages"
port=$(free_port)
io_pids='' md_pids=''
i=0
while [ "$i" -lt "$servers" ]; do
    k=$((key + 16 * i))
    "$b4/md" -k "$k" >"$tmp/md$i.out" 2>"$tmp/md$i.err" &
    md_pids="$md_pids $!"
    bench_pids="$bench_pids $!"
    : >"$tmp/io$i.out"
    "$b4/io_conn" -k "$k" -c "$max_srv" -a 127.0.0.1 -p "$port" --reuseport \
        >"$tmp/io$i.out" 2>"$tmp/io$i.err" &
    p=$!
    io_pids="$io_pids $p"
    bench_pids="$bench_pids $p"
    j=0
    until grep -q "^listening on port $port\$" "$tmp/io$i.out"; do
        proc_alive "$p" || die "io_conn $i ended before it listened: $(head -c 300 "$tmp/io$i.err")"
        [ "$j" -ge 100 ] && die "io_conn $i did not listen within 5 s"
        sleep 0.05
        j=$((j + 1))
    done
    i=$((i + 1))
done
sleep 0.5
# shellcheck disable=SC2086 # lists of PIDs
before=$(rss $io_pids $md_pids)
base_fds=
for p in $io_pids; do base_fds="$base_fds $(sockets "$p")"; done
lg_pids=
i=0
left=$conns_b
while [ "$i" -lt "$clients" ]; do
    c=$(((left + clients - i - 1) / (clients - i)))
    left=$((left - c))
    bg_start "$tmp/b$i.out" $((life + 150)) any "$loadgen" -a 127.0.0.1 -p "$port" \
        -b "127.0.0.$((2 + i))" -c "$c" -s 64 -n "$count" -r "$rate" -q
    lg_pids="$lg_pids $bg_pid"
    i=$((i + 1))
done
lg_wait=$lg_pids rss_also=$md_pids
# shellcheck disable=SC2086
wait_held "$conns_b" 150 $io_pids ||
    echo "chapter4_c100k: the io_conn processes held $held descriptors at most at once" >&2
after=$peak_rss
held_srv=$held
i=0
for p in $lg_pids; do
    wait "$p"
    rc=$?
    forget_pid "$p"
    eval "rc$i=$rc"
    i=$((i + 1))
done
for p in $io_pids; do server_stop io_conn "$p"; done
for p in $md_pids; do
    kill -TERM "$p" 2>/dev/null
    proc_wait_gone "$p" 50 || die "md (pid $p) still ran 5 s after SIGTERM"
    wait "$p" || die "md (pid $p) did not exit 0"
    forget_pid "$p"
done
i=0
while [ "$i" -lt "$clients" ]; do
    eval "rc=\$rc$i"
    check_client "loadgen $i (127.0.0.$((2 + i)))" "$tmp/b$i.out" "$rc"
    i=$((i + 1))
done
# the sums over the loadgens; p50 is their median's median, p99 the worst loadgen's
sum=$(cat "$tmp"/b[0-9]*.out | tr ' ' '\n' | awk -F= '
    $1 == "connections" { c += $2 } $1 == "errors" { e += $2 } $1 == "messages" { m += $2 }
    $1 == "seconds" && $2 > s { s = $2 } $1 == "p99_us" && $2 > p99 { p99 = $2 }
    $1 == "p50_us" { p50[++n] = $2 }
    END {
        for (a = 2; a <= n; a++) for (b = a; b > 1 && p50[b - 1] > p50[b]; b--) { t = p50[b]; p50[b] = p50[b - 1]; p50[b - 1] = t }
        printf "%d,%d,%d,%s,%s,%s", c, e, m, s, p50[int((n + 1) / 2)], p99
    }')
# memory per connection: over the connections open at once at the peak (io_conn's descriptors
# then, less those it had before the load)
base_sum=$(echo "$base_fds" | awk '{ for (i = 1; i <= NF; i++) t += $i } END { print t + 0 }')
at_once=$((held_srv - base_sum))
[ "$at_once" -gt 0 ] || at_once=1
per=$(((after - before) * 1024 / at_once))
echo "B,io_conn+md,$((2 * servers)),$clients,$conns_b,$sum,$before,$after,$per,$limits,$at_once,$rate" >>"$csv"

# ---- summary -------------------------------------------------------------------------------
echo
echo "chapter 4, connections ($(machine_line); default placement)"
echo "  limits: ulimit -Hn $hard per process, fs.nr_open $nr_open, fs.file-max $file_max," \
    "ip_local_port_range $port_range"
awk -F, 'NR > 1 {
    printf "  part %s: %-10s %d processes, %d loadgens: %d of %d connections held, errors %d, %d messages in %.1f s, p50 %.0f us, p99 %.0f us, RSS %d -> %d KiB: %d bytes per connection\n", \
        $1, $2, $3, $4, $6, $5, $7, $8, $9, $10, $11, $12, $13, $14
    if ($1 == "A") printf "    targets: p99 <= 1000 us: %s; <= 4096 bytes per connection: %s\n", \
        ($11 <= 1000) ? "met" : "not met", ($14 <= 4096) ? "met" : "not met"
    if ($1 == "B") printf "    %s message(s) a second per connection; open at once at the peak: %d (memory per connection is over these)\n", $20, $19
}' "$csv"
echo "  descriptors held by the io_conn processes at once, at most: $held_srv (before the load: $(echo "$base_fds" | tr ' ' '+'))"
echo "  file: $csv"
