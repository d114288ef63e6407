/*
 * points: a chapter's points data (grader/chapters/chapterN.points).
 *
 *     chapter 1 measure first
 *     # exercise  test                          points  memcheck-points
 *     ex1.1       rio_read_exact_one_byte        3       1
 *
 * The first line names the chapter; then one line per test. An exercise id that ends in
 * '*' is optional in the tutorial: its points are bonus, outside the chapter's maximum.
 */
#ifndef SVRLAB_POINTS_H
#define SVRLAB_POINTS_H

#include <stddef.h>

struct pt_test {
    char exercise[16];  /* "ex1.1", without the bonus star */
    char name[96];      /* the GT_TEST name */
    int points;         /* for the functional test */
    int memcheck;       /* for "memory clean" (0: no memcheck run) */
    int bonus;          /* 1 if the exercise is optional (*) */
    int hidden;         /* 1 for an instructor's extra test (--extra-tests): hidden from students */
    double timeout;     /* seconds, from the test's GT_TEST in the grader's sources (0: none) */
};

struct pt_chapter {
    int number;
    char title[128];
    size_t ntests;
    struct pt_test *tests;
};

/* Read `path`. Returns 0; or -1 with a one-line description of what is wrong in err
 * (errno ENOENT when the file does not exist: the chapter is not available yet). */
int pt_load(const char *path, struct pt_chapter *ch, char *err, size_t errcap);

/* Append an instructor's extra tests (--extra-tests DIR: DIR/chapterN/points, the same lines
 * without the 'chapter' line) to a loaded chapter; they are marked hidden. Same returns. */
int pt_load_extra(const char *path, struct pt_chapter *ch, char *err, size_t errcap);

/* Set each test's timeout from the GT_TEST(name, seconds) lines of the C files of tests_dir
 * (the grader's own copy of the chapter's tests, read before any student code runs: the
 * limits the student-linked runner reports are the student's to change). Returns how many
 * tests got one, or -1 with err when the folder can not be read. */
int pt_load_timeouts(const char *tests_dir, struct pt_chapter *ch, char *err, size_t errcap);

void pt_free(struct pt_chapter *ch);

#endif
