# Chapter 1 (measure first): the student's files and how the chapter is built.
# Read by grader/build.mk; the grader copies only `student` files from a submission.

student := rio.c echoclient.c echosvr_fork.c
progs := echoclient echosvr_v0 echosvr_fork
echoclient_srcs := echoclient.c rio.c
echosvr_v0_srcs := echosvr_v0.c rio.c
echosvr_fork_srcs := echosvr_fork.c rio.c
# student code linked into the chapter's test runner (unit tests)
testlib := rio.c
# pkg-config packages the chapter's programs use
pkgs :=
