/*
 * points: parse a chapter's points file (format in points.h). Strict: a malformed line,
 * a duplicate test or a missing header is an error, since a silent mistake here would
 * change every student's score.
 */
#include "points.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read the lines of path into ch. extra: an instructor's file of hidden tests, appended to a
 * chapter already loaded, without the 'chapter N title' line. */
static int read_points(const char *path, struct pt_chapter *ch, int extra, char *err,
                       size_t errcap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errcap, "fopen(%s): %s", path, strerror(e));
        errno = e;
        return -1;
    }
    char line[512];
    int lineno = 0;
    size_t cap = ch->ntests;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == 0)
            continue;
        if (ch->number == 0 && !extra) {
            int used = 0;
            if (sscanf(p, "chapter %d %n", &ch->number, &used) != 1 || ch->number <= 0) {
                snprintf(err, errcap, "%s:%d: expected 'chapter N title'", path, lineno);
                goto bad;
            }
            snprintf(ch->title, sizeof ch->title, "%s", p + used);
            continue;
        }
        struct pt_test t = {0};
        char ex[32], name[128], rest[2];
        if (sscanf(p, "%31s %127s %d %d %1s", ex, name, &t.points, &t.memcheck, rest) != 4 ||
            strncmp(ex, "ex", 2) != 0 || t.points < 0 || t.memcheck < 0 ||
            strlen(name) >= sizeof t.name) {
            snprintf(err, errcap, "%s:%d: expected 'exercise test points memcheck-points'", path,
                     lineno);
            goto bad;
        }
        size_t exlen = strlen(ex);
        if (ex[exlen - 1] == '*') {
            t.bonus = 1;
            ex[--exlen] = 0;
        }
        if (exlen >= sizeof t.exercise) {
            snprintf(err, errcap, "%s:%d: exercise id too long", path, lineno);
            goto bad;
        }
        t.hidden = extra;
        memcpy(t.exercise, ex, exlen + 1);
        memcpy(t.name, name, strlen(name) + 1);
        for (size_t i = 0; i < ch->ntests; i++)
            if (strcmp(ch->tests[i].name, t.name) == 0) {
                snprintf(err, errcap, "%s:%d: test %s listed twice", path, lineno, t.name);
                goto bad;
            }
        if (ch->ntests == cap) {
            cap = cap ? 2 * cap : 32;
            struct pt_test *n = realloc(ch->tests, cap * sizeof *n);
            if (!n) {
                snprintf(err, errcap, "out of memory");
                goto bad;
            }
            ch->tests = n;
        }
        ch->tests[ch->ntests++] = t;
    }
    if (ch->number == 0) {
        snprintf(err, errcap, "%s: no 'chapter N title' line", path);
        goto bad;
    }
    fclose(f);
    return 0;
bad:
    fclose(f);
    pt_free(ch);
    errno = EINVAL;
    return -1;
}

int pt_load(const char *path, struct pt_chapter *ch, char *err, size_t errcap)
{
    memset(ch, 0, sizeof *ch);
    return read_points(path, ch, 0, err, errcap);
}

int pt_load_extra(const char *path, struct pt_chapter *ch, char *err, size_t errcap)
{
    return read_points(path, ch, 1, err, errcap);
}

/* The GT_TEST(name, seconds) of one source text, applied to ch's tests. */
static int timeouts_of(const char *text, struct pt_chapter *ch)
{
    int found = 0;
    for (const char *p = text; (p = strstr(p, "GT_TEST(")); ) {
        p += strlen("GT_TEST(");
        char name[128];
        double secs;
        int used = 0;
        if (sscanf(p, " %127[A-Za-z0-9_] , %lf )%n", name, &secs, &used) != 2 || used == 0 ||
            secs <= 0)
            continue; /* the macro's own definition, or prose */
        for (size_t i = 0; i < ch->ntests; i++)
            if (strcmp(ch->tests[i].name, name) == 0) {
                ch->tests[i].timeout = secs;
                found++;
            }
    }
    return found;
}

int pt_load_timeouts(const char *tests_dir, struct pt_chapter *ch, char *err, size_t errcap)
{
    DIR *d = opendir(tests_dir);
    if (!d) {
        snprintf(err, errcap, "opendir(%s): %s", tests_dir, strerror(errno));
        return -1;
    }
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", tests_dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        static char text[1 << 20];
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = 0;
        found += timeouts_of(text, ch);
    }
    closedir(d);
    return found;
}

void pt_free(struct pt_chapter *ch)
{
    free(ch->tests);
    ch->tests = NULL;
    ch->ntests = 0;
}
