# Grader self-tests of chapter 3: a server with one of the classic faults of tutorial section 3
# loses the points of the test that targets that fault, and keeps those of the basic echo
# tests. Each faulty server is a copy of the reference with one function patched (anchored on
# its name): the tutorial listing's fixed static buffer filled with the whole input, a write
# whose leftover is dropped, SIGPIPE left deadly, no back-pressure.
# Chapter 3 is graded only once it has points data; until then these checks are not run.

# ch3_in_function FILE FUNCTION SED-SCRIPT: apply SED-SCRIPT to the lines of FUNCTION's
# definition only (it starts at column 0 and ends with "}" at column 0); fails if nothing changed.
ch3_in_function() {
    awk -v fn="$2" '
        $0 ~ "^[a-z].*[ *]" fn "\\(" && $0 !~ /;$/ { infn = 1 }
        { print (infn ? "@@IN@@" : "") $0 }
        infn && /^}/ { infn = 0 }' "$1" |
        sed -e "/^@@IN@@/{" -e "$3" -e "}" -e 's/^@@IN@@//' >"$1.new" &&
        ! cmp -s "$1" "$1.new" && mv "$1.new" "$1"
}

# ch3_insert_before FILE FUNCTION CODE: put CODE (lines) just before FUNCTION's definition.
ch3_insert_before() {
    awk -v fn="$2" -v code="$3" '
        $0 ~ "^[a-z].*[ *]" fn "\\(" && $0 !~ /;$/ && !done { print code; done = 1 }
        { print }
        END { if (!done) exit 1 }' "$1" >"$1.new" && mv "$1.new" "$1"
}

# ch3_replace_solution FILE FUNCTION CODE: CODE replaces FUNCTION's gap (its //@solution ...
# //@end block, the reference answer and the starter's stub).
ch3_replace_solution() {
    awk -v fn="$2" -v code="$3" '
        $0 ~ "^[a-z].*[ *]" fn "\\(" && $0 !~ /;$/ { infn = 1 }
        infn && /^}/ { infn = 0 }
        infn && /\/\/@solution/ { print code; skip = 1; done = 1; next }
        skip && /\/\/@end/ { skip = 0; next }
        skip { next }
        { print }
        END { if (!done) exit 1 }' "$1" >"$1.new" && mv "$1.new" "$1"
}

# ch3_grade DIR FILTER: grade chapter 3 of DIR (the functional tests whose name contains
# FILTER: one server's), results in DIR/r.json, shown one line per test.
ch3_grade() {
    grade_json "$1/r.json" --src "$1" --ch 3 --no-memcheck --test "$2" || return 1
    jq -r '.chapters[].tests[] | "\(.kind) \(.name) \(.status): \(.reason)"' "$1/r.json" |
        cut -c 1-400
}

# ch3_expect JSON TEST STATUS [REGEX]: TEST (the functional run) has STATUS, and its reason
# matches REGEX when given.
ch3_expect() {
    jq -e --arg t "$2" --arg s "$3" --arg re "${4:-}" '[.chapters[].tests[]
        | select(.name == $t and .kind == "test")
        | select(.status == $s and ($re == "" or (.reason | test($re))))] | length == 1' \
        "$1" >/dev/null || { echo "expected $2: $3${4:+ (reason matching '$4')}"; return 1; }
}

# 1. The tutorial listing: a static 4096-byte buffer filled with everything readable
# (evbuffer_remove of the whole input length), then buf[len] = 0. The reference reads up to
# 256 KiB per wake-up, so a large message overflows it.
t_ch3_static_buffer() {
    d=$tmp/ch3-static
    submission "$d" 3 &&
        ch3_insert_before "$d/chapter3/echosvr_v1.c" echo_input '/* FAULT: the tutorial listing */
static int static_copy(struct evbuffer *out, struct evbuffer *in)
{
    static char buf[4096];
    size_t len = evbuffer_get_length(in);
    evbuffer_remove(in, buf, len);
    buf[len] = 0;
    return evbuffer_add(out, buf, len);
}
' &&
        ch3_in_function "$d/chapter3/echosvr_v1.c" echo_input \
            's/evbuffer_add_buffer(\([a-z_]*\), *\([a-z_]*\))/static_copy(\1, \2)/' &&
        ch3_grade "$d" echosvr_v1_ || return 1
    ch3_expect "$d/r.json" echosvr_v1_echo_1_byte_to_1_mib fail &&
        ch3_expect "$d/r.json" echosvr_v1_1000_clients_ref_loadgen pass
}

# 2. Partial writes ignored: echosvr_poll writes once and forgets whatever the write did not
# take. Only a client that reads late sees it.
t_ch3_partial_write() {
    d=$tmp/ch3-partial
    submission "$d" 3 &&
        ch3_replace_solution "$d/chapter3/echosvr_poll.c" conn_write \
            '    /* FAULT: one write, and whatever it did not take is dropped */
    (void)send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
    c->off = c->len = 0;
    return CONN_KEEP;' &&
        ch3_grade "$d" echosvr_poll_ || return 1
    ch3_expect "$d/r.json" echosvr_poll_slow_reader_gets_every_byte fail "came back" &&
        ch3_expect "$d/r.json" echosvr_poll_echo_1_byte_to_1_mib pass &&
        ch3_expect "$d/r.json" echosvr_poll_1000_clients_ref_loadgen pass
}

# 3. SIGPIPE deadly again: echosvr_poll restores its default action and writes with write().
# A client that leaves with the echo unread (FIN, then a reset) kills it.
t_ch3_sigpipe() {
    d=$tmp/ch3-sigpipe
    submission "$d" 3 &&
        insert_at_start "$d/chapter3/echosvr_poll.c" serve_forever \
            'signal(SIGPIPE, SIG_DFL); /* FAULT: SIGPIPE kills again */' &&
        sed -i '1i #include <signal.h>' "$d/chapter3/echosvr_poll.c" &&
        ch3_in_function "$d/chapter3/echosvr_poll.c" conn_write \
            's/send(\(.*\), *MSG_NOSIGNAL)/write(\1)/' &&
        ch3_grade "$d" echosvr_poll_ || return 1
    ch3_expect "$d/r.json" echosvr_poll_client_reset_mid_message fail "Broken pipe|SIGPIPE" &&
        ch3_expect "$d/r.json" echosvr_poll_echo_1_byte_to_1_mib pass &&
        ch3_expect "$d/r.json" echosvr_poll_1000_clients_ref_loadgen pass
}

# 4. No back-pressure: echosvr_v1 never stops reading a client that does not read its echo
# (its output threshold raised to SIZE_MAX), so its memory follows what the client sends.
t_ch3_no_backpressure() {
    d=$tmp/ch3-nobp
    submission "$d" 3 &&
        ch3_in_function "$d/chapter3/echosvr_v1.c" echo_input 's/OUT_HIGH/(size_t)-1/g' &&
        ch3_grade "$d" echosvr_v1_ || return 1
    ch3_expect "$d/r.json" echosvr_v1_nonreading_client_memory_bounded fail "VmRSS" &&
        ch3_expect "$d/r.json" echosvr_v1_echo_1_byte_to_1_mib pass &&
        ch3_expect "$d/r.json" echosvr_v1_1000_clients_ref_loadgen pass
}

if [ -f grader/chapters/chapter3.points ]; then
    check "grader: ch3 fixed static buffer loses the echo test" t_ch3_static_buffer
    check "grader: ch3 dropping partial writes loses slow reader" t_ch3_partial_write
    check "grader: ch3 SIGPIPE death loses the client-reset test" t_ch3_sigpipe
    check "grader: ch3 no back-pressure loses the non-reader test" t_ch3_no_backpressure
fi
