# Chapter 4 (multi-process with message queues): the student's files and how they are built.
# Read by grader/build.mk; the grader copies only `student` files from a submission.
# Each exercise adds its own files below; headers are given, the .c files are the student's.

student :=
progs :=
# student code linked into the chapter's test runner (unit tests)
testlib :=
# pkg-config packages the chapter's programs use
pkgs := libevent

# ex4.1 shared memory: shm.c, echosvr_v4, viewstat
student += shm.c echosvr_v4.c viewstat.c
progs += echosvr_v4 viewstat
echosvr_v4_srcs := echosvr_v4.c shm.c
viewstat_srcs := viewstat.c shm.c
testlib += shm.c

# ex4.2 the queue: shmmq.c. shmmq_tsan: the grader's two-thread test of the student's queue
# (grader/tests/chapter4/tsan/shmmq_tsan.c) built with ThreadSanitizer (see grader/build.mk).
student += shmmq.c
testlib += shmmq.c
# mqbench: the queue's benchmark (given, not graded), built with whichever shmmq.c is there
progs += mqbench
mqbench_srcs := mqbench.c shmmq.c shm.c
tsan_progs += shmmq_tsan
shmmq_tsan_srcs := shmmq.c shm.c

# ex4.3-ex4.5 the flow table, io_conn and md (with workers); iomd.h (given) is their protocol.
# connalloc_malloc.c and mdstats_none.c (given) are the defaults of two hooks that chapter 5
# fills: io_conn's connection contexts (connalloc.h) and md's per-connection statistics
# (mdstats.h).
student += flow.c io_conn.c md.c
progs += io_conn md
io_conn_srcs := io_conn.c flow.c shmmq.c shm.c connalloc_malloc.c
md_srcs := md.c mdloop.c shmmq.c shm.c mdstats_none.c
testlib += flow.c

# ex4.6 (*) wsecho: the WebSocket codec ws.c (unit-tested) and the logic process wsecho, which
# takes md's place behind io_conn; SHA-1 and base64 come from OpenSSL's libcrypto. mdloop.c is
# given (not a student file): the queue loop of a logic process, md's loop made reusable.
student += ws.c wsecho.c
progs += wsecho
wsecho_srcs := wsecho.c ws.c mdloop.c shmmq.c shm.c
testlib += ws.c
pkgs += libcrypto
