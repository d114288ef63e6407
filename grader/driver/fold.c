/*
 * fold: a quiet listing for a starter (see fold.h).
 */
#include "fold.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define FOLD_HOLD 1024     /* items held back, at most (more: listed one by one) */
#define FOLD_EXERCISES 64  /* exercises folded in one grading, at most */
#define NOT_IMPLEMENTED "not implemented"

static void (*print_one)(const struct item *it);
static int *shown_count;
static int never, with_memcheck;
static const struct item *held[FOLD_HOLD];
static size_t nheld;
static char folded[FOLD_EXERCISES][16];
static size_t nfolded;

static int not_started(const struct item *it);

void fold_init(void (*print)(const struct item *it), int *shown, int verbose, int memcheck)
{
    print_one = print;
    shown_count = shown;
    never = verbose;
    with_memcheck = memcheck;
}

static int not_started(const struct item *it)
{
    return it->kind == FUNCTIONAL && it->status == FAIL &&
           strncmp(it->reason, NOT_IMPLEMENTED, strlen(NOT_IMPLEMENTED)) == 0;
}

void fold_item(const struct item *it)
{
    if (never) {
        print_one(it);
        return;
    }
    if (it->kind == MEMCHECK && it->status == SKIP && fold_was_folded(it->t->exercise)) {
        (*shown_count)++; /* its exercise's line stands for it */
        return;
    }
    if (nheld && strcmp(held[0]->t->exercise, it->t->exercise) != 0)
        fold_end();
    if (!(not_started(it) || (it->kind == FUNCTIONAL && it->status == PASS)) ||
        nheld == FOLD_HOLD) {
        for (size_t i = 0; i < nheld; i++)
            print_one(held[i]);
        nheld = 0;
        print_one(it);
        return;
    }
    held[nheld++] = it;
}

void fold_end(void)
{
    if (!nheld)
        return;
    int score = 0, max = 0, empty = 0;
    for (size_t i = 0; i < nheld; i++) {
        score += held[i]->score;
        max += held[i]->max + (with_memcheck ? held[i]->t->memcheck : 0);
        empty += not_started(held[i]);
    }
    const struct item *first = held[0];
    if (!empty) { /* only passes: each has its line */
        for (size_t i = 0; i < nheld; i++)
            print_one(held[i]);
        nheld = 0;
        return;
    }
    if (nfolded < FOLD_EXERCISES)
        fmt(folded[nfolded++], sizeof folded[0], "%s", first->t->exercise);
    *shown_count += (int)nheld;
    char passed[64] = "";
    if ((size_t)empty < nheld)
        fmt(passed, sizeof passed, ", %zu pass%s", nheld - (size_t)empty,
            nheld - (size_t)empty == 1 ? "es" : "");
    printf("       %s not started: %d/%d (%d test%s say%s \"not implemented\"%s; -v lists them)\n",
           first->t->exercise, score, max, empty, empty == 1 ? "" : "s", empty == 1 ? "s" : "",
           passed);
    fflush(stdout);
    nheld = 0;
}

int fold_was_folded(const char *exercise)
{
    for (size_t i = 0; i < nfolded; i++)
        if (strcmp(folded[i], exercise) == 0)
            return 1;
    return 0;
}
