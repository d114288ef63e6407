/*
 * select: which tests a grading runs (see select.h).
 */
#include "select.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEL_MAX_FAILED 1024

static const char *name_part;   /* --test */
static char exercise[16];       /* --ex, as "exN.M" */
static const char *failed_from; /* --failed FILE */
static struct {
    int chapter;
    char name[96];
} failed[SEL_MAX_FAILED];
static size_t nfailed;

void sel_name(const char *text)
{
    name_part = text && *text ? text : NULL;
}

int sel_exercise(const char *ex, int max_chapter, char *err, size_t cap)
{
    const char *num = strncmp(ex, "ex", 2) == 0 ? ex + 2 : ex;
    char *end;
    long ch = strtol(num, &end, 10);
    long part = *end == '.' ? strtol(end + 1, &end, 10) : -1;
    if (*end || ch < 1 || ch > max_chapter || part < 1 || part > 99 || num[0] < '0' ||
        num[0] > '9') {
        fmt(err, cap, "--ex: expected an exercise such as 1.2, got '%s'", ex);
        return -1;
    }
    fmt(exercise, sizeof exercise, "ex%ld.%ld", ch, part);
    return (int)ch;
}

int sel_failed(const char *path, char *err, size_t cap)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        fmt(err, cap, "--failed: no earlier results to read in %s (%s): grade first", path,
            je.text);
        return -1;
    }
    failed_from = path;
    int chapter = -1;
    size_t ci, ti;
    json_t *c, *t;
    json_array_foreach(json_object_get(root, "chapters"), ci, c)
        json_array_foreach(json_object_get(c, "tests"), ti, t)
    {
        const char *status = json_string_value(json_object_get(t, "status"));
        const char *name = json_string_value(json_object_get(t, "name"));
        int n = (int)json_integer_value(json_object_get(c, "chapter"));
        if (!status || !name || strcmp(status, "fail") != 0 || nfailed == SEL_MAX_FAILED)
            continue;
        failed[nfailed].chapter = n;
        fmt(failed[nfailed++].name, sizeof failed[0].name, "%s", name);
        chapter = chapter == -1 || chapter == n ? n : 0;
    }
    json_decref(root);
    if (nfailed == 0)
        fmt(err, cap, "--failed: no test failed in the grading of %s", path);
    return nfailed ? chapter : -2;
}

int sel_wants(int chapter, const struct pt_test *t)
{
    if (name_part && !strstr(t->name, name_part))
        return 0;
    if (exercise[0] && strcmp(t->exercise, exercise) != 0)
        return 0;
    if (!failed_from)
        return 1;
    for (size_t i = 0; i < nfailed; i++)
        if (failed[i].chapter == chapter && strcmp(failed[i].name, t->name) == 0)
            return 1;
    return 0;
}

const char *sel_describe(char *buf, size_t cap)
{
    fmt(buf, cap, "no test%s%s%s%s%s%s", name_part ? " whose name contains '" : "",
        name_part ? name_part : "", name_part ? "'" : "", exercise[0] ? " of " : "", exercise,
        failed_from ? " among the last failures" : "");
    return buf;
}
