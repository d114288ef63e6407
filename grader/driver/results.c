/*
 * results: grading results written for other tools (see results.h). JSON with jansson, JUnit
 * XML with libxml2's writer, so every string is escaped by a library, not by hand.
 */
#include "results.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <libxml/xmlwriter.h>

#include "upload.h"
#include "util.h"

const char *results_status_word(enum status s)
{
    return s == PASS ? "pass" : s == SKIP ? "skipped" : "fail";
}

/* "rio_read_exact_eof [memcheck]": a test's name as shown to people. */
static void display_name(const struct item *it, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", it->t->name, it->kind == MEMCHECK ? " [memcheck]" : "");
}

static int dump(json_t *root, const char *path)
{
    int r = json_dump_file(root, path, JSON_INDENT(2));
    json_decref(root);
    if (r != 0)
        fprintf(stderr, "grade: could not write %s\n", path);
    return r == 0 ? 0 : -1;
}

/* A space-separated list as a JSON array. An upload's names may be in any encoding (a zip made
 * on Windows): JSON and XML take only UTF-8, and jansson drops a string that is not. */
static json_t *words_json(const char *list)
{
    json_t *a = json_array();
    char copy[FILE_LIST_CAP];
    snprintf(copy, sizeof copy, "%s", list);
    utf8_sanitize(copy);
    for (char *save, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
        json_array_append_new(a, json_string(w));
    return a;
}

/* What the student sees first about a chapter: where its files came from, which were taken,
 * missing or ignored, and the build's first error if it failed. */
static void chapter_summary(const struct chapter *c, const char *src, char *out, size_t cap)
{
    upload_summary(c, src, out, cap);
    size_t used = strlen(out);
    if (c->build_err[0] && used < cap)
        snprintf(out + used, cap - used,
                 "  build FAILED (%s did not build); the compiler's first error:\n  %s\n%s",
                 c->broken, c->build_first,
                 c->build_errors > 1 ? "  (the build log has the rest)\n" : "");
    utf8_sanitize(out); /* names from the upload: see words_json */
}

static json_t *chapter_json(const struct chapter *c, const char *src)
{
    json_t *o = json_object();
    json_object_set_new(o, "chapter", json_integer(c->number));
    json_object_set_new(o, "available", json_boolean(c->available));
    if (!c->available)
        return o;
    json_object_set_new(o, "title", json_string(c->pts.title));
    json_object_set_new(o, "score", json_integer(c->score));
    json_object_set_new(o, "max_score", json_integer(c->max));
    json_object_set_new(o, "bonus", json_integer(c->bonus));
    json_object_set_new(o, "build_failed", json_boolean(c->build_err[0] != 0));
    json_object_set_new(o, "build_log", json_string(c->build_err));
    json_object_set_new(o, "build_error", json_string(c->build_first));
    json_t *up = json_object();
    char summary[4 * FILE_LIST_CAP];
    chapter_summary(c, src, summary, sizeof summary);
    char folder[sizeof c->up.dir];
    snprintf(folder, sizeof folder, "%s", c->up.dir);
    utf8_sanitize(folder);
    json_object_set_new(up, "folder", json_string(folder));
    json_object_set_new(up, "taken", words_json(c->up.taken));
    json_object_set_new(up, "missing", words_json(c->up.missing));
    json_object_set_new(up, "ignored", words_json(c->up.ignored));
    json_object_set_new(up, "summary", json_string(summary));
    json_object_set_new(o, "upload", up);
    json_t *tests = json_array();
    for (size_t i = 0; i < c->nitems; i++) {
        const struct item *it = &c->items[i];
        json_t *t = json_object();
        json_object_set_new(t, "exercise", json_string(it->t->exercise));
        json_object_set_new(t, "name", json_string(it->t->name));
        json_object_set_new(t, "kind", json_string(it->kind == MEMCHECK ? "memcheck" : "test"));
        json_object_set_new(t, "bonus", json_boolean(it->t->bonus));
        json_object_set_new(t, "hidden", json_boolean(it->t->hidden));
        json_object_set_new(t, "status", json_string(results_status_word(it->status)));
        json_object_set_new(t, "score", json_integer(it->score));
        json_object_set_new(t, "max_score", json_integer(it->max));
        json_object_set_new(t, "seconds", json_real(it->seconds));
        json_object_set_new(t, "reason", json_string(it->reason));
        json_array_append_new(tests, t);
    }
    json_object_set_new(o, "tests", tests);
    return o;
}

int results_json(const char *path, const struct chapter *chapters, const int *selected,
                 const struct totals *t)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    for (int i = 0; i < MAX_CHAPTER; i++)
        if (selected[i])
            json_array_append_new(arr, chapter_json(&chapters[i], t->source));
    json_object_set_new(root, "source", json_string(t->source));
    json_object_set_new(root, "score", json_integer(t->score));
    json_object_set_new(root, "max_score", json_integer(t->max));
    json_object_set_new(root, "bonus", json_integer(t->bonus));
    json_object_set_new(root, "chapters", arr);
    return dump(root, path);
}

/* Gradescope's results.json: one entry per test (memcheck runs are tests of their own), the
 * score including bonus points, every reason as the test's output, the grading's time in whole
 * seconds (execution_time), and no leaderboard. */
int results_gradescope(const char *path, const struct chapter *chapters, const int *selected,
                       const struct totals *t)
{
    json_t *root = json_object();
    json_t *tests = json_array();
    for (int i = 0; i < MAX_CHAPTER; i++) {
        const struct chapter *c = &chapters[i];
        if (!selected[i] || !c->available)
            continue;
        for (size_t k = 0; k < c->nitems; k++) {
            const struct item *it = &c->items[k];
            char name[160], number[32];
            display_name(it, name, sizeof name);
            snprintf(number, sizeof number, "%s", it->t->exercise + 2); /* "1.1" */
            json_t *o = json_object();
            json_object_set_new(o, "name", json_string(name));
            json_object_set_new(o, "number", json_string(number));
            json_object_set_new(o, "score", json_integer(it->score));
            json_object_set_new(o, "max_score", json_integer(it->t->bonus ? 0 : it->max));
            json_object_set_new(o, "status", json_string(it->status == PASS ? "passed" : "failed"));
            json_object_set_new(o, "output", json_string(it->reason));
            json_object_set_new(o, "visibility",
                                json_string(it->t->hidden ? "hidden" : "visible"));
            json_array_append_new(tests, o);
        }
    }
    /* the top-level output: what was graded, shown above the tests */
    char output[MAX_CHAPTER * 4 * FILE_LIST_CAP] = "";
    for (int i = 0; i < MAX_CHAPTER; i++) {
        size_t used = strlen(output);
        if (selected[i] && chapters[i].available)
            chapter_summary(&chapters[i], t->source, output + used, sizeof output - used);
    }
    json_object_set_new(root, "output", json_string(output));
    json_object_set_new(root, "score", json_integer(t->score + t->bonus));
    json_object_set_new(root, "execution_time", json_integer((json_int_t)(t->seconds + 0.5)));
    json_object_set_new(root, "visibility", json_string("visible"));
    json_object_set_new(root, "stdout_visibility", json_string("visible"));
    json_object_set_new(root, "tests", tests);
    return dump(root, path);
}

/* JUnit XML: a testsuite per chapter, a testcase per test; a failed test carries its reason,
 * a skipped one is <skipped/>. */
int results_junit(const char *path, const struct chapter *chapters, const int *selected,
                  const struct totals *t)
{
    xmlTextWriterPtr w = xmlNewTextWriterFilename(path, 0);
    if (!w) {
        fprintf(stderr, "grade: could not write %s\n", path);
        return -1;
    }
    int bad = xmlTextWriterSetIndent(w, 1) < 0 ||
              xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0 ||
              xmlTextWriterStartElement(w, BAD_CAST "testsuites") < 0;
    for (int i = 0; i < MAX_CHAPTER && !bad; i++) {
        const struct chapter *c = &chapters[i];
        if (!selected[i] || !c->available)
            continue;
        int failures = 0, skipped = 0;
        for (size_t k = 0; k < c->nitems; k++) {
            failures += c->items[k].status == FAIL;
            skipped += c->items[k].status == SKIP;
        }
        char suite[32];
        snprintf(suite, sizeof suite, "chapter%d", c->number);
        bad |= xmlTextWriterStartElement(w, BAD_CAST "testsuite") < 0 ||
               xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST suite) < 0 ||
               xmlTextWriterWriteFormatAttribute(w, BAD_CAST "tests", "%zu", c->nitems) < 0 ||
               xmlTextWriterWriteFormatAttribute(w, BAD_CAST "failures", "%d", failures) < 0 ||
               xmlTextWriterWriteFormatAttribute(w, BAD_CAST "skipped", "%d", skipped) < 0;
        for (size_t k = 0; k < c->nitems && !bad; k++) {
            const struct item *it = &c->items[k];
            char name[160], cls[64];
            display_name(it, name, sizeof name);
            snprintf(cls, sizeof cls, "%s.%s", suite, it->t->exercise);
            bad |= xmlTextWriterStartElement(w, BAD_CAST "testcase") < 0 ||
                   xmlTextWriterWriteAttribute(w, BAD_CAST "classname", BAD_CAST cls) < 0 ||
                   xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST name) < 0 ||
                   xmlTextWriterWriteFormatAttribute(w, BAD_CAST "time", "%.3f", it->seconds) < 0;
            if (it->status == FAIL)
                bad |= xmlTextWriterStartElement(w, BAD_CAST "failure") < 0 ||
                       xmlTextWriterWriteFormatAttribute(w, BAD_CAST "message", "0/%d points",
                                                         it->max) < 0 ||
                       xmlTextWriterWriteString(w, BAD_CAST it->reason) < 0 ||
                       xmlTextWriterEndElement(w) < 0;
            else if (it->status == SKIP)
                bad |= xmlTextWriterStartElement(w, BAD_CAST "skipped") < 0 ||
                       xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST it->reason) < 0 ||
                       xmlTextWriterEndElement(w) < 0;
            bad |= xmlTextWriterEndElement(w) < 0;
        }
        /* after the testcases, where JUnit's schema puts a suite's output */
        char summary[4 * FILE_LIST_CAP];
        chapter_summary(c, t->source, summary, sizeof summary);
        bad |= xmlTextWriterWriteElement(w, BAD_CAST "system-out", BAD_CAST summary) < 0;
        if (c->build_err[0])
            bad |= xmlTextWriterWriteElement(w, BAD_CAST "system-err", BAD_CAST c->build_err) < 0;
        bad |= xmlTextWriterEndElement(w) < 0;
    }
    bad |= xmlTextWriterEndDocument(w) < 0;
    xmlFreeTextWriter(w);
    if (bad)
        fprintf(stderr, "grade: could not write %s\n", path);
    return bad ? -1 : 0;
}
