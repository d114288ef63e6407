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

# ex4.2 the queue: shmmq.c

# ex4.3-ex4.5 the flow table, io_conn and md (with workers)

# ex4.6 (*) wsecho
