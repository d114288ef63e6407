/*
 * refcache: a chapter's reference programs, built once for each content of their sources.
 *
 * Every grading builds the same reference (solutions/chapterN, common/, the build files) into
 * its own temporary tree, and that build was most of the time of a short grading (a test or an
 * exercise, the self-tests, a course's batch). The cache keeps what the reference build made
 * (the tree's out/ref: the reference programs, and what the test runner takes from the
 * grader alone, build.mk's given-objs, which the student's build then copies instead of
 * compiling it again) under <checkout>/build/grader-refcache/chN-<key>, where the key is a
 * hash of every file that build reads, of SAN, CC and CFLAGS, and of the compiler's and the
 * libraries' versions, and a
 * grading whose key is there copies it instead of building.
 *
 * Only as root: the cache is then root's alone (mode 0700), out of reach of the unprivileged
 * users that build and run student code. Without the sandbox, a test runs as the caller and
 * could change the cache for the gradings after it: no cache is used or kept.
 */
#ifndef SVRLAB_REFCACHE_H
#define SVRLAB_REFCACHE_H

#include <stddef.h>

/* Look for chapter n's reference build of `tree` (whose ref/, common/, grader/ and solutions/
 * are what the build reads) in the cache of checkout `root`. 1: found, copied to tree/out/ref;
 * 0: not there, `entry` (cap bytes) says where refcache_put stores it; -1: no cache (not root,
 * or the key could not be made). */
int refcache_get(const char *root, const char *tree, int n, char *entry, size_t cap);

/* After a reference build that refcache_get did not find: keep tree/out/ref as `entry`. Two
 * gradings that build it at once both try; one wins, the other's copy is dropped. */
void refcache_put(const char *entry, const char *tree);

#endif
