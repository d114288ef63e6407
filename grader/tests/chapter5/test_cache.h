/*
 * test_cache.h: what the tests of ex5.2 (the student's cache.c) share: making and filling a
 * multi-hash that fails the test with a clear message, the values the tests store (words that
 * depend on the key and a version, the last one a checksum of the others, so a damaged or
 * half-written value is seen), a view of the segment of the test's own, and the check that no
 * segment is left.
 */
#ifndef TEST_CACHE_H
#define TEST_CACHE_H

#include "cache.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* cache_create, or the test fails (not implemented, or the call and its errno). */
struct cache *tc_create(key_t key, uint32_t rows, uint32_t row_len, uint32_t value_size);

/* cache_attach, or the test fails. */
struct cache *tc_attach(key_t key, int readonly);

/* The value of (key, version): size bytes (a multiple of 8, at least 24): the key, the
 * version, words that depend on both, and last a checksum of all the others. */
void tc_value(void *buf, size_t size, uint64_t key, uint64_t version);

/* 0 if buf (size bytes) is a whole value of key as tc_value makes it (any version), else -1
 * with what is wrong in why. */
int tc_value_check(const void *buf, size_t size, uint64_t key, char *why, size_t whycap);

/* The version a value of tc_value carries. */
uint64_t tc_value_version(const void *buf);

/* cache_insert of tc_value(key, version), and the test fails unless it returns 0. */
void tc_insert_ok(struct cache *c, uint64_t key, uint64_t version, size_t size, const char *when);

/* cache_lookup of key, and the test fails unless it finds tc_value(key, version). */
void tc_expect_value(const struct cache *c, uint64_t key, uint64_t version, size_t size,
                     const char *when);

/* cache_lookup of key, and the test fails unless it answers -1 with ENOENT. */
void tc_expect_absent(const struct cache *c, uint64_t key, const char *when);

/* Fail the test (naming `call` and `when`) unless rc is -1 with errno want. */
void tc_expect_errno(int rc, int err, int want, const char *call, const char *when);

/* The segment at key, attached read-write by the test itself (not through cache.c). */
struct cache_segment *tc_raw(key_t key);

/* Fail the test unless no segment is left at key. */
void tc_expect_gone(key_t key, const char *after);

/* A 64-bit pseudo-random number from *state (splitmix64), never 0 or UINT64_MAX. */
uint64_t tc_rand(uint64_t *state);

#endif
