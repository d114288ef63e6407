/*
 * fold: a quiet listing for a starter. The tests of an exercise whose every failed test says
 * "not implemented" (its gaps still empty; the tests of the code a starter gives may pass)
 * print as one line, "ex1.2 not started: 3/35", and the memcheck lines of such an exercise
 * (each a SKIP) not at all; -v lists every test. The items come in order, as they complete:
 * an exercise's lines are held back while each is a pass or "not implemented", and folded
 * once its last item is in.
 */
#ifndef SVRLAB_FOLD_H
#define SVRLAB_FOLD_H

#include "results.h"

/* print: how one item is listed (it counts it in *shown); verbose: never fold; memcheck: the
 * memcheck points count in an exercise's maximum. */
void fold_init(void (*print)(const struct item *it), int *shown, int verbose, int memcheck);

/* The next item of the pass, in order. */
void fold_item(const struct item *it);

/* The pass is over: list what is still held. */
void fold_end(void);

/* 1 if exercise ("ex1.2") was listed as not started. */
int fold_was_folded(const char *exercise);

#endif
