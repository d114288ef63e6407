/*
 * upload: where a submission keeps the student's files, chapter by chapter. The one rule, used
 * by `grader/grade --src`, `--batch` and Gradescope alike (they all run the driver on the
 * unpacked upload):
 *
 *   - the upload is searched from its top down to two folders below it, never inside a dot
 *     folder (.git, ...), __MACOSX, build/, solutions/ (a checkout's reference code), or the
 *     grader's output folders results/ and reports/;
 *   - a folder named chapterN/ holding at least one of chapter N's student files (the
 *     `student` list of grader/chapters/chapterN.mk) is chapter N's files: a whole checkout,
 *     a bare chapterN/ folder, either of them one or two folders down;
 *   - any other folder holding student files directly is a flat upload (Gradescope's "upload
 *     files"): each file goes to the chapter whose student list names it;
 *   - two places for the same chapter is an error naming both: the grader never guesses.
 *
 * A student file not found there comes from the pristine starter (generated from solutions/),
 * never from the grading checkout's working tree.
 */
#ifndef SVRLAB_UPLOAD_H
#define SVRLAB_UPLOAD_H

#include <stddef.h>

#include "results.h"

/* Fill each available chapter's `up` from the upload at src (a real path), with the student
 * lists the chapters' build data give (read with `make` from root, into files below work).
 * Returns 0, or -1 with a one-line reason in err. */
int upload_locate(const char *src, const char *root, const char *work,
                  struct chapter chapters[MAX_CHAPTER], char *err, size_t cap);

/* The summary of what was taken from the upload, as lines for people (terminal, Gradescope,
 * JUnit): the folder, then per chapter the files taken, missing and ignored. */
void upload_summary(const struct chapter *c, const char *src, char *out, size_t cap);

#endif
