/*
 * progress: what lasts between gradings (see progress.h). The file is read and written with
 * jansson; it is replaced whole (a new file renamed over it), so a grading cut short leaves
 * the last complete one.
 *
 *   {"chapters": {"1": {"title": ..., "graded_at": EPOCH, "seconds": S, "tests_run": N,
 *                        "tests": {"NAME" or "NAME [memcheck]": {"exercise", "name", "kind",
 *                                   "bonus", "status", "score", "max_score", "graded_at",
 *                                   "reason"}}}}}
 */
#include "progress.h"
#include "fold.h"
#include "select.h"
#include "util.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_WIDTH 100 /* columns of the list of failures */

static json_t *load(const char *path);
static json_t *chapter_entry(json_t *root, int number);

void progress_announce(const char *path, const struct chapter *c, int memcheck)
{
    int runs = 0;
    for (size_t i = 0; i < c->pts.ntests; i++)
        if (sel_wants(c->number, &c->pts.tests[i]))
            runs += 1 + (memcheck && c->pts.tests[i].memcheck > 0);
    printf("building chapter %d, then %d test run%s", c->number, runs, runs == 1 ? "" : "s");
    json_t *root = path ? load(path) : NULL;
    json_t *ch = root ? chapter_entry(root, c->number) : NULL;
    double seconds = json_number_value(json_object_get(ch, "seconds"));
    json_int_t before = json_integer_value(json_object_get(ch, "tests_run"));
    if (seconds > 0)
        printf(" (the last grading of chapter %d, %d test run%s, took %.0f s)", c->number,
               (int)before, before == 1 ? "" : "s", seconds);
    printf("\n");
    fflush(stdout);
    json_decref(root);
}

int progress_merge(const char *path, const struct chapter *chapters, const int *selected)
{
    /* two gradings at once merge one after the other (neither loses the other's results):
     * a lock beside the file, waited for 10 s at most (then merged without it) */
    char lockpath[4200];
    int lock = open(fmt(lockpath, sizeof lockpath, "%s.lock", path),
                    O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    for (int tries = 0; lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) != 0 && tries < 100; tries++) {
        struct timespec pause = {0, 100000000};
        nanosleep(&pause, NULL);
    }
    json_t *root = load(path);
    json_int_t now = (json_int_t)time(NULL);
    for (int n = 0; n < MAX_CHAPTER; n++) {
        const struct chapter *c = &chapters[n];
        if (!selected[n] || !c->available)
            continue;
        json_t *ch = chapter_entry(root, c->number);
        json_object_set_new(ch, "title", json_string(c->pts.title));
        json_object_set_new(ch, "graded_at", json_integer(now));
        json_object_set_new(ch, "seconds", json_real(c->seconds));
        json_object_set_new(ch, "tests_run", json_integer((json_int_t)c->nitems));
        json_t *tests = json_object_get(ch, "tests");
        if (!json_is_object(tests)) {
            tests = json_object();
            json_object_set_new(ch, "tests", tests);
        }
        for (size_t i = 0; i < c->nitems; i++) {
            const struct item *it = &c->items[i];
            if (it->status == PENDING)
                continue; /* interrupted before it ran */
            char key[128], reason[REASON_CAP];
            fmt(key, sizeof key, "%s%s", it->t->name, it->kind == MEMCHECK ? " [memcheck]" : "");
            fmt(reason, sizeof reason, "%s", it->reason);
            json_t *t = json_object();
            json_object_set_new(t, "exercise", json_string(it->t->exercise));
            json_object_set_new(t, "name", json_string(it->t->name));
            json_object_set_new(t, "kind", json_string(it->kind == MEMCHECK ? "memcheck" : "test"));
            json_object_set_new(t, "bonus", json_boolean(it->t->bonus));
            json_object_set_new(t, "status", json_string(results_status_word(it->status)));
            json_object_set_new(t, "score", json_integer(it->score));
            json_object_set_new(t, "max_score", json_integer(it->max));
            json_object_set_new(t, "graded_at", json_integer(now));
            json_object_set_new(t, "reason", json_string(reason));
            json_object_set_new(tests, key, t);
        }
    }
    char tmp[4200];
    fmt(tmp, sizeof tmp, "%s.new.%d", path, (int)getpid());
    int r = json_dump_file(root, tmp, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    if (r != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "grade: could not write %s (through %s)\n", path, tmp);
        unlink(tmp);
        r = -1;
    }
    if (lock >= 0)
        close(lock); /* and the lock with it */
    return r == 0 ? 0 : -1;
}

void progress_failures(const struct chapter *chapters, const int *selected)
{
    int count = 0, col = 0;
    const char *ex = "";
    for (int n = 0; n < MAX_CHAPTER; n++)
        for (size_t i = 0; selected[n] && chapters[n].available && i < chapters[n].nitems; i++) {
            const struct item *it = &chapters[n].items[i];
            if (it->status != FAIL)
                continue;
            char name[128];
            fmt(name, sizeof name, "%s%s", it->t->name, it->kind == MEMCHECK ? " [memcheck]" : "");
            int folded = fold_was_folded(it->t->exercise);
            if (!count++)
                printf("\nfailed:");
            if (folded && strcmp(ex, it->t->exercise) == 0)
                continue;
            if (folded) {
                col = printf("\n  %-6s not started", it->t->exercise) - 1;
            } else if (strcmp(ex, it->t->exercise) != 0) {
                col = printf("\n  %-6s %s", it->t->exercise, name) - 1;
            } else if (col + 2 + (int)strlen(name) > PROGRESS_WIDTH) {
                col = printf(",\n         %s", name) - 2;
            } else {
                col += printf(", %s", name);
            }
            ex = it->t->exercise;
        }
    if (count)
        printf("\n%d failed; `make grade FAILED=1` runs them again, `make debug T=name` runs one "
               "under gdb\n", count);
}

/* The file's JSON, or a new empty progress when it is missing or unreadable. */
static json_t *load(const char *path)
{
    json_t *root = access(path, F_OK) == 0 ? json_load_file(path, 0, NULL) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        root = json_object();
    }
    if (!json_is_object(json_object_get(root, "chapters")))
        json_object_set_new(root, "chapters", json_object());
    return root;
}

/* Chapter `number`'s object in root (made when missing). */
static json_t *chapter_entry(json_t *root, int number)
{
    char key[16];
    fmt(key, sizeof key, "%d", number);
    json_t *chapters = json_object_get(root, "chapters");
    json_t *ch = json_object_get(chapters, key);
    if (!json_is_object(ch)) {
        ch = json_object();
        json_object_set_new(chapters, key, ch);
    }
    return ch;
}
