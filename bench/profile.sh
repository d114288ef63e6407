#!/bin/sh
# bench/profile.sh: echosvr_v2 under load with the gperftools CPU profiler (tutorial section
# 3.5). `make profile` runs it after installing the tools and building the programs.
#
#   sh bench/profile.sh                      the reference echosvr_v2
#   PROFILE_VARIANT=copy4k sh bench/profile.sh
#                                            the same server with another read callback (below)
#
# It starts build/solutions/chapter3/echosvr_v2 with libprofiler preloaded, loads it with the
# reference loadgen (50 connections, 16 messages in flight each, PROFILE_SECONDS, default 5),
# stops it with SIGINT (the profile is written as the program exits), and turns the profile
# into a text report and a call graph:
#
#   build/profile/echosvr_v2[-VARIANT].txt   google-pprof --text: functions by CPU samples
#   build/profile/echosvr_v2[-VARIANT].svg   google-pprof --svg: the call graph (graphviz)
#   build/profile/echosvr_v2[-VARIANT].prof  the raw profile, for google-pprof --web, --list ...
#   build/profile/echosvr_v2[-VARIANT].load  loadgen's result line and the server's stats lines
#
# Environment: PROFILE_SECONDS (5), PROFILE_SIZE (message bytes, 64), PROFILE_VARIANT:
#   (empty)   the reference read callback: evbuffer_add_buffer moves the input to the output
#   copy4k    tutorial section 3 exercise 3, done the way the listing hints: every byte goes
#             through a 4 KiB buffer on the stack (evbuffer_remove, then bufferevent_write)
#   tutorial  the listing itself: the reference callback plus an unused zeroed 4 KiB array
# lib.sh's helpers use the variable `name` themselves, so this script calls its own `tag`.
# A variant is built from solutions/chapter3/ with echo_input's body (echo.c) replaced, into
# build/profile/. The profile never passes or fails anything: it measures.

BENCH_OUT=${PROFILE_OUT:-build/profile}
export BENCH_OUT
. "$(dirname "$0")/lib.sh"

seconds=${PROFILE_SECONDS:-5}
size=${PROFILE_SIZE:-64}
variant=${PROFILE_VARIANT:-}
case $seconds in
'' | *[!0-9.]*) die "PROFILE_SECONDS must be a number of seconds, got '$seconds'" ;;
esac
case $size in
'' | *[!0-9]*) die "PROFILE_SIZE must be a number of bytes, got '$size'" ;;
esac

lib=$(ldconfig -p 2>/dev/null | sed -n 's/^[[:space:]]*libprofiler\.so\.0 .*=> //p' | head -n 1)
[ -n "$lib" ] && [ -f "$lib" ] ||
    die "libprofiler.so.0 not found: install google-perftools (make profile does it)"
command -v google-pprof >/dev/null 2>&1 || die "google-pprof not found (package google-perftools)"
command -v dot >/dev/null 2>&1 || die "dot not found (package graphviz): no call graph without it"

ref=build/solutions/chapter3
loadgen=$ref/loadgen
[ -x "$loadgen" ] || die "$loadgen is missing: run 'make profile' (it builds chapter 3 first)"

# The read callback's body of each variant, spliced into echo_input() between its //@solution
# and //@stub markers. Back-pressure is the same in all of them.
variant_body() {
    case $1 in
    copy4k) cat <<'EOF'
    struct evbuffer *in = bufferevent_get_input(c->bev);
    char buffer[4 * 1024];
    int n;
    /* Two copies per byte (out of the input, into the output) and one round per 4 KiB. */
    while ((n = evbuffer_remove(in, buffer, sizeof buffer)) > 0) {
        if (bufferevent_write(c->bev, buffer, (size_t)n) == -1) {
            errno = ENOMEM;
            return -1;
        }
    }
EOF
        ;;
    tutorial) cat <<'EOF'
    char buffer[4 * 1024] = {0}; /* the listing's array: zeroed, and never used */
    (void)buffer;
    if (evbuffer_add_buffer(bufferevent_get_output(c->bev), bufferevent_get_input(c->bev)) == -1) {
        errno = EINVAL;
        return -1;
    }
EOF
        ;;
    *) die "unknown PROFILE_VARIANT '$1' (copy4k or tutorial)" ;;
    esac
    cat <<'EOF'
    if (!c->paused && evbuffer_get_length(bufferevent_get_output(c->bev)) >= OUT_HIGH) {
        if (bufferevent_disable(c->bev, EV_READ) == -1) {
            errno = EINVAL;
            return -1;
        }
        bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
        c->paused = 1;
    }
    return 0;
EOF
}

tag=echosvr_v2
server=$ref/echosvr_v2
if [ -n "$variant" ]; then
    tag=echosvr_v2-$variant
    vsrc=$out/$tag-src
    # afresh: objects left from an older tree would be linked with today's (and crash)
    rm -rf "$vsrc" "$out/$tag-bin" && mkdir -p "$vsrc" || exit 1
    variant_body "$variant" >"$tmp/body" || exit 1
    cp solutions/chapter3/echosvr_v2.c solutions/chapter3/echo.h "$vsrc/" || exit 1
    # The first //@solution after echo_input's definition opens its body; //@stub closes it.
    awk -v body="$tmp/body" '
        /^int echo_input\(struct conn \*c\)$/ { infn = 1 }
        infn && /^[ \t]*\/\/@solution$/ { while ((getline l < body) > 0) print l; skip = 1; next }
        skip && /^[ \t]*\/\/@stub / { skip = 0; infn = 0; stub = 1; next }
        stub && /^[ \t]*\/\/@end$/ { stub = 0; next }
        skip || stub { next }
        { print }
    ' solutions/chapter3/echo.c >"$vsrc/echo.c" || exit 1
    grep -q 'evbuffer_remove\|the listing' "$vsrc/echo.c" ||
        die "could not splice the $variant variant into echo_input"
    case $out in /*) vout=$out/$tag-bin ;; *) vout=$top/$out/$tag-bin ;; esac
    make --no-print-directory -s -f grader/build.mk CH=3 SRC="$vsrc" OUT="$vout" \
        "$vout/echosvr_v2" || die "could not build the $variant variant"
    server=$out/$tag-bin/echosvr_v2
fi
[ -x "$server" ] || die "$server is missing: run 'make profile' (it builds chapter 3 first)"

prof=$out/$tag.prof
rm -f "$prof" "$prof".*
echo "profile: $server under loadgen -c 50 -P 16 -s $size -d $seconds ($(machine_line))"
# CPUPROFILE switches the profiler on as the preloaded library starts. It asks for 1000 samples
# per CPU-second (the default is 100); the kernel's timer tick may deliver fewer.
server_start "$tag" any env LD_PRELOAD="$lib" CPUPROFILE="$prof" CPUPROFILE_FREQUENCY=1000 \
    "$server" -i 1
fg_run loadgen "$tmp/load" $((${seconds%.*} + 60)) any \
    "$loadgen" -p "$srv_port" -c 50 -P 16 -s "$size" -d "$seconds" -q

# SIGINT, as Ctrl-C would: the server leaves its loop and exits normally, and the profiler
# writes the profile from its exit handler. A killed server would leave no profile.
kill -INT "$srv_pid"
proc_wait_gone "$srv_pid" 100 || die "$tag still ran 10 s after SIGINT"
wait "$srv_pid"
rc=$?
forget_pid "$srv_pid"
[ "$rc" -eq 0 ] || die "$tag exited with status $rc: $(head -c 300 "$tmp/$tag.err")"
[ -s "$prof" ] || die "no profile written to $prof: $(head -c 300 "$tmp/$tag.err")"

{
    echo "loadgen -c 50 -P 16 -s $size -d $seconds: $(cat "$tmp/load")"
    grep '^stats ' "$tmp/$tag.out"
} >"$out/$tag.load"
google-pprof --text "$server" "$prof" >"$out/$tag.txt" 2>"$tmp/pprof.err" ||
    die "google-pprof --text failed: $(head -c 300 "$tmp/pprof.err")"
google-pprof --svg "$server" "$prof" >"$out/$tag.svg" 2>"$tmp/pprof.err" ||
    die "google-pprof --svg failed: $(head -c 300 "$tmp/pprof.err")"

echo "load:    $(cat "$tmp/load")"
echo "server:  $(grep '^stats ' "$tmp/$tag.out" | tail -n 1)"
echo "top of the report (flat: samples in the function itself; cum: with what it calls):"
head -n 16 "$out/$tag.txt" | sed 's/^/  /'
echo "written: $out/$tag.txt $out/$tag.svg ($out/$tag.prof, $out/$tag.load)"
