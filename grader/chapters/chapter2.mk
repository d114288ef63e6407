# Chapter 2 (design choices, measured): the student's files and how the chapter is built.
# Read by grader/build.mk; the grader copies only `student` files from a submission.

student := ready.c muxbench.c ipcbench.c
progs := readywait muxbench ipcbench
readywait_srcs := readywait.c ready.c
muxbench_srcs := muxbench.c
ipcbench_srcs := ipcbench.c
# student code linked into the chapter's test runner (unit tests of ex2.1)
testlib := ready.c
# pkg-config packages the chapter's programs use
pkgs :=
