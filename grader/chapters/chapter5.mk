# Chapter 5 (caching): the student's files and how they are built.
# Read by grader/build.mk; the grader copies only `student` files from a submission.
# Each exercise adds its own files below; headers are given, the .c files are the student's.

student :=
progs :=
# student code linked into the chapter's test runner (unit tests)
testlib :=
# pkg-config packages the chapter's programs use
pkgs := libevent
# chapter 4's reference code this chapter builds on (solutions/chapter4/, never the student's)
prior_chapter := 4
prior_srcs := shm.c

# ex5.1 the memory pool: mempool.c. poolbench: its benchmark (given, not graded), built with
# whichever mempool.c is there. poolcheck: the grader's program (grader/tests/chapter5/progs/)
# that runs the student's pool under valgrind and counts its mallocs (see grader/build.mk).
student += mempool.c
testlib += mempool.c
progs += poolbench
poolbench_srcs := poolbench.c mempool.c
test_progs += poolcheck
poolcheck_srcs := mempool.c

# ex5.2 the multi-hash: cache.c (its tests fork readers: test_cache.c, test_cache_procs.c).
# cachebench: its benchmark (given, not graded), built with whichever cache.c is there.
student += cache.c
testlib += cache.c
progs += cachebench
cachebench_srcs := cachebench.c cache.c

# ex5.3 md's statistics per connection in a multi-hash (connstats.c, behind chapter 4's
# mdstats.h) and viewconn, which lists them. md is chapter 4's reference md.c (linked as an
# object, main() and all: md_prior, see grader/build.mk) with connstats.c and cache.c where
# chapter 4 links mdstats_none.c.
student += connstats.c viewconn.c
progs += md viewconn
md_srcs := connstats.c cache.c
md_prior := md.c
viewconn_srcs := viewconn.c cache.c
prior_srcs += shmmq.c mdloop.c

# ex5.4 io_conn's connection contexts from the pool (connpool.c, behind chapter 4's
# connalloc.h): chapter 4's reference io_conn.c with connpool.c and mempool.c where chapter 4
# links connalloc_malloc.c.
student += connpool.c
progs += io_conn
io_conn_srcs := connpool.c mempool.c
io_conn_prior := io_conn.c
prior_srcs += flow.c
