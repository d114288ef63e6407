# Grader self-tests of chapter 3: a server with one of the classic faults of tutorial section 3
# loses the points of the test that targets that fault, and keeps those of the basic echo
# tests. Each faulty server is a copy of the reference with one function patched (anchored on
# its name): the tutorial listing's fixed static buffer filled with the whole input, a write
# whose leftover is dropped, SIGPIPE left deadly, no back-pressure.
# Chapter 3 is graded only once it has points data; until then these checks are not run.

# 1. The tutorial listing: a static 4096-byte buffer filled with everything readable
# (evbuffer_remove of the whole input length), then buf[len] = 0. The reference reads up to
# 256 KiB per wake-up, so a large message overflows it. The listing has no write of its own:
# the reference's (the echo written at once when the output is empty) goes too.
t_ch3_static_buffer() {
    d=$tmp/ch3-static
    submission "$d" 3 &&
        patch_insert_before "$d/chapter3/echo.c" echo_input '/* FAULT: the tutorial listing */
static int static_copy(struct evbuffer *out, struct evbuffer *in)
{
    static char buf[4096];
    size_t len = evbuffer_get_length(in);
    evbuffer_remove(in, buf, len);
    buf[len] = 0;
    return evbuffer_add(out, buf, len);
}
' &&
        patch_function "$d/chapter3/echo.c" echo_input \
            's/evbuffer_add_buffer(\([a-z_]*\), *\([a-z_]*\))/static_copy(\1, \2)/; s/(void)evbuffer_write([^;]*);/(void)0;/' &&
        grep -q 'static_copy(out, in)' "$d/chapter3/echo.c" &&
        ! grep -q 'evbuffer_write(' "$d/chapter3/echo.c" &&
        grade_filtered "$d" 3 echosvr_v1_ || return 1
    expect_test "$d/r.json" echosvr_v1_echo_1_byte_to_1_mib fail &&
        expect_test "$d/r.json" echosvr_v1_1000_clients_ref_loadgen pass
}

# 2. Partial writes ignored: echosvr_poll writes once and forgets whatever the write did not
# take. Only a client that reads late sees it.
t_ch3_partial_write() {
    d=$tmp/ch3-partial
    submission "$d" 3 &&
        patch_solution "$d/chapter3/echosvr_poll.c" conn_write \
            '    /* FAULT: one write, and whatever it did not take is dropped */
    (void)send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
    c->off = c->len = 0;
    return CONN_KEEP;' &&
        grade_filtered "$d" 3 echosvr_poll_ || return 1
    expect_test "$d/r.json" echosvr_poll_slow_reader_gets_every_byte fail "came back" &&
        expect_test "$d/r.json" echosvr_poll_echo_1_byte_to_1_mib pass &&
        expect_test "$d/r.json" echosvr_poll_1000_clients_ref_loadgen pass
}

# 3. SIGPIPE deadly again: echosvr_poll restores its default action and writes with write().
# A client that leaves with the echo unread (FIN, then a reset) kills it.
t_ch3_sigpipe() {
    d=$tmp/ch3-sigpipe
    submission "$d" 3 &&
        insert_at_start "$d/chapter3/echosvr_poll.c" serve_forever \
            'signal(SIGPIPE, SIG_DFL); /* FAULT: SIGPIPE kills again */' &&
        sed -i '1i #include <signal.h>' "$d/chapter3/echosvr_poll.c" &&
        patch_function "$d/chapter3/echosvr_poll.c" conn_write \
            's/send(\(.*\), *MSG_NOSIGNAL)/write(\1)/' &&
        grade_filtered "$d" 3 echosvr_poll_ || return 1
    expect_test "$d/r.json" echosvr_poll_client_reset_mid_message fail "Broken pipe|SIGPIPE" &&
        expect_test "$d/r.json" echosvr_poll_echo_1_byte_to_1_mib pass &&
        expect_test "$d/r.json" echosvr_poll_1000_clients_ref_loadgen pass
}

# 4. No back-pressure: echo.c (graded through echosvr_v1) never stops reading a client that
# does not read its echo
# (its output threshold raised to SIZE_MAX), so its memory follows what the client sends.
t_ch3_no_backpressure() {
    d=$tmp/ch3-nobp
    submission "$d" 3 &&
        patch_function "$d/chapter3/echo.c" echo_input 's/OUT_HIGH/(size_t)-1/g' &&
        grade_filtered "$d" 3 echosvr_v1_ || return 1
    expect_test "$d/r.json" echosvr_v1_nonreading_client_memory_bounded fail "VmRSS" &&
        expect_test "$d/r.json" echosvr_v1_echo_1_byte_to_1_mib pass &&
        expect_test "$d/r.json" echosvr_v1_1000_clients_ref_loadgen pass
}

if [ -f grader/chapters/chapter3.points ]; then
    check "grader: ch3 fixed static buffer loses the echo test" t_ch3_static_buffer
    check "grader: ch3 dropping partial writes loses slow reader" t_ch3_partial_write
    check "grader: ch3 SIGPIPE death loses the client-reset test" t_ch3_sigpipe
    check "grader: ch3 no back-pressure loses the non-reader test" t_ch3_no_backpressure
fi
