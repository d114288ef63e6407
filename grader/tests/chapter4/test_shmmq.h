/*
 * test_shmmq.h: what the tests of ex4.2 (the student's shmmq.c) share: opening queues that
 * fail the test with a clear message, the messages they send (an id, a timestamp derived from
 * it, a length and payload bytes that depend on the id, so a lost, repeated, reordered or
 * damaged message is seen), and a view of the segment of the test's own, to corrupt it.
 */
#ifndef TEST_SHMMQ_H
#define TEST_SHMMQ_H

#include "shmmq.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TQ_TS(id) ((id)*3 + 7) /* the ts every test message carries */

/* The FIFO path of the test's queue n: <scratch dir>/q<n>.fifo. */
void tq_fifo_path(char *buf, size_t cap, int n);

/* shmmq_open, or the test fails (not implemented, or the call and its errno). */
shmmq *tq_open(key_t key, size_t capacity, const char *fifo, enum shmmq_role role);

/* The payload of message id: len bytes that depend on id and on their position. */
void tq_payload(unsigned char *buf, uint32_t len, uint64_t id);

/* A length for message id, from 0 to max, mostly small: a hash of the id (and salt). */
uint32_t tq_len(uint64_t id, uint32_t max, uint32_t salt);

/* Enqueue message id with len payload bytes: 0, or -1 with shmmq_enqueue's errno. */
int tq_enqueue(shmmq *q, uint64_t id, uint32_t len);

/* tq_enqueue, and the test fails if it does not return 0. */
void tq_enqueue_ok(shmmq *q, uint64_t id, uint32_t len, const char *when);

/* 0 if (id, ts, data, len) is message want_id of want_len bytes, else -1 with what differs
 * in why. */
int tq_check(uint64_t want_id, uint32_t want_len, uint64_t id, uint64_t ts, const void *data,
             uint32_t len, char *why, size_t cap);

/* Dequeue one message and fail the test unless it is message want_id of want_len bytes. */
void tq_expect(shmmq *q, uint64_t want_id, uint32_t want_len, const char *when);

/* Fail the test unless dequeue says the queue is empty (EAGAIN). */
void tq_expect_empty(shmmq *q, const char *when);

/* The queue's segment at key, attached by the test itself (read-write), or the test fails. */
struct shmmq_segment *tq_raw(key_t key);

/* Fail unless no segment is left at key and (fifo not NULL) nothing at the FIFO's path. */
void tq_expect_gone(key_t key, const char *fifo, const char *after);

#endif
