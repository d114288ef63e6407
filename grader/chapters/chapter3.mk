# Chapter 3 (event-driven servers with libevent): the student's files and how they are built.
# Read by grader/build.mk; the grader copies only `student` files from a submission.

student := echosvr_poll.c echo.c echosvr_v2.c echosvr_udp.c loadgen.c
progs := echosvr_poll echosvr_v1 echosvr_v2 echosvr_udp loadgen
echosvr_poll_srcs := echosvr_poll.c
# The two libevent echo servers share the given common/evserver.c (linked from common/) and
# the student's echo.c (ex3.2, the echo itself; echo.h is given); echosvr_v1.c (given) puts
# them together, echosvr_v2.c (ex3.3) adds the statistics.
echosvr_v1_srcs := echosvr_v1.c echo.c
echosvr_v2_srcs := echosvr_v2.c echo.c
echosvr_udp_srcs := echosvr_udp.c
loadgen_srcs := loadgen.c
# student code linked into the chapter's test runner (unit tests): none, every test is black-box
testlib :=
# pkg-config packages the chapter's programs use
pkgs := libevent
