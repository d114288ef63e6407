/*
 * upload: the one rule that finds the student's files in a submission (see upload.h).
 */
#include "upload.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

#define MAX_DEPTH 2 /* the upload's top, and two folders down */

/* Folders never searched: dot folders (.git, editor state), macOS zip debris, build output,
 * a checkout's reference code and the grader's own output folders. */
static int skipped_folder(const char *name)
{
    static const char *const names[] = {"__MACOSX", "build", "solutions", "results", "reports"};
    if (name[0] == '.')
        return 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static void add_word(char *list, size_t cap, const char *word)
{
    size_t used = strlen(list);
    snprintf(list + used, cap - used, "%s%s", used ? " " : "", word);
}

/* chapterN as a folder name: N, or 0. */
static int chapter_folder(const char *name)
{
    if (strncmp(name, "chapter", 7) != 0 || name[7] < '1' || name[7] > '0' + MAX_CHAPTER ||
        name[8] != 0)
        return 0;
    return name[7] - '0';
}

struct search {
    struct chapter *chapters;
    char found[MAX_CHAPTER][2][4096]; /* the first two places of each chapter's files */
    int places[MAX_CHAPTER];
};

static void found_at(struct search *s, int n, const char *dir)
{
    int i = s->places[n - 1]++;
    if (i < 2)
        fmt(s->found[n - 1][i], sizeof s->found[n - 1][i], "%s", dir);
}

/* Does dir hold, as a regular file at its top, a student file of chapter n? */
static int holds_student_file(const struct chapter *c, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int yes = 0;
    for (struct dirent *e; !yes && (e = readdir(d)) != NULL;) {
        char path[4400];
        yes = in_words(c->up.student, e->d_name) &&
              is_regular(fmt(path, sizeof path, "%s/%s", dir, e->d_name));
    }
    closedir(d);
    return yes;
}

static void search(struct search *s, const char *dir, int depth)
{
    int flat[MAX_CHAPTER] = {0};
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[4400];
        struct stat st;
        fmt(path, sizeof path, "%s/%s", dir, e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            lstat(path, &st) != 0)
            continue;
        int n = chapter_folder(e->d_name);
        /* a link named chapterN is looked at (its files are then refused as leading out of
         * the upload, below); other links to folders are never followed */
        if (n && S_ISLNK(st.st_mode))
            stat(path, &st);
        if (S_ISDIR(st.st_mode)) {
            if (n && s->chapters[n - 1].available && holds_student_file(&s->chapters[n - 1], path))
                found_at(s, n, path);
            else if (!n && !skipped_folder(e->d_name) && depth < MAX_DEPTH)
                search(s, path, depth + 1);
            continue;
        }
        for (int k = 1; k <= MAX_CHAPTER; k++)
            if (s->chapters[k - 1].available && in_words(s->chapters[k - 1].up.student, e->d_name))
                flat[k - 1] = 1;
    }
    closedir(d);
    for (int n = 1; n <= MAX_CHAPTER; n++)
        if (flat[n - 1])
            found_at(s, n, dir);
}

/* dir as the student knows it: relative to the upload's top. */
static const char *shown(const char *dir, const char *src)
{
    size_t len = strlen(src);
    if (strncmp(dir, src, len) == 0 && dir[len] == '/')
        return dir + len + 1;
    return strcmp(dir, src) == 0 ? "." : dir;
}

/* The files of c's folder that grading does not take (names relative to the folder; in a flat
 * folder, only those that are no chapter's student file). */
static void list_ignored(struct chapter *all, struct chapter *c, const char *dir,
                         const char *prefix, int flat)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[4400], name[4400];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            lstat(fmt(path, sizeof path, "%s/%s", dir, e->d_name), &st) != 0)
            continue;
        fmt(name, sizeof name, "%s%s", prefix, e->d_name);
        if (S_ISDIR(st.st_mode)) {
            if (!flat)
                list_ignored(all, c, path, fmt(name, sizeof name, "%s%s/", prefix, e->d_name), 0);
            continue;
        }
        int student = 0;
        for (int n = 1; n <= MAX_CHAPTER; n++)
            student |= (flat || &all[n - 1] == c) && all[n - 1].available && !prefix[0] &&
                       in_words(all[n - 1].up.student, e->d_name);
        if (!student)
            add_word(c->up.ignored, sizeof c->up.ignored, name);
    }
    closedir(d);
}

int upload_locate(const char *src, const char *root, const char *work,
                  struct chapter chapters[MAX_CHAPTER], char *err, size_t cap)
{
    struct search *s = calloc(1, sizeof *s);
    if (!s) {
        fmt(err, cap, "out of memory");
        return -1;
    }
    s->chapters = chapters;
    for (int n = 1; n <= MAX_CHAPTER; n++) {
        struct chapter *c = &chapters[n - 1];
        if (!c->available)
            continue;
        char mk[4400], ch[16], log[4400];
        fmt(log, sizeof log, "%s/student-files-%d", work, n);
        char *argv[] = {"make", "-s", "--no-print-directory", "-f",
                        fmt(mk, sizeof mk, "%s/grader/build.mk", root),
                        fmt(ch, sizeof ch, "CH=%d", n), "student-files", NULL};
        if (run_cmd(argv, log) != 0 || read_file(log, c->up.student, sizeof c->up.student, 0) == 0) {
            fmt(err, cap, "could not list the student files of chapter %d", n);
            free(s);
            return -1;
        }
        c->up.student[strcspn(c->up.student, "\n")] = 0;
    }
    search(s, src, 0);
    int bad = 0, any = 0;
    for (int n = 1; n <= MAX_CHAPTER && !bad; n++) {
        struct chapter *c = &chapters[n - 1];
        if (s->places[n - 1] > 1) {
            if (strcmp(s->found[n - 1][0], s->found[n - 1][1]) > 0) { /* the same words each run */
                char t[4096];
                memcpy(t, s->found[n - 1][0], sizeof t);
                memcpy(s->found[n - 1][0], s->found[n - 1][1], sizeof t);
                memcpy(s->found[n - 1][1], t, sizeof t);
            }
            fmt(err, cap, "chapter %d's files are in %d places of %s (%s/ and %s/%s): keep one",
                n, s->places[n - 1], src, shown(s->found[n - 1][0], src),
                shown(s->found[n - 1][1], src), s->places[n - 1] > 2 ? ", ..." : "");
            bad = 1;
        } else if (s->places[n - 1] == 1) {
            fmt(c->up.dir, sizeof c->up.dir, "%s", s->found[n - 1][0]);
            any = 1;
        }
    }
    free(s);
    if (bad)
        return -1;
    if (!any) {
        fmt(err, cap, "%s holds no chapter1/ .. chapter%d/ folder and no student file (such as "
                      "%s): nothing to grade",
            src, MAX_CHAPTER, chapters[0].available ? chapters[0].up.student : "rio.c");
        return -1;
    }
    for (int n = 1; n <= MAX_CHAPTER; n++) {
        struct chapter *c = &chapters[n - 1];
        if (!c->available)
            continue;
        char list[FILE_LIST_CAP];
        fmt(list, sizeof list, "%s", c->up.student);
        for (char *save, *f = strtok_r(list, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
            char path[4400], real[4096];
            size_t len = strlen(src);
            int here = c->up.dir[0] && is_regular(fmt(path, sizeof path, "%s/%s", c->up.dir, f));
            /* a link (to a file, or a linked chapter folder) leading to the reference solution
             * or to any file of the machine is not the student's work */
            if (here && len > 1 &&
                (!realpath(path, real) || strncmp(real, src, len) != 0 || real[len] != '/'))
                add_word(c->up.outside, sizeof c->up.outside, f);
            else
                add_word(here ? c->up.taken : c->up.missing, sizeof c->up.taken, f);
        }
        if (c->up.dir[0]) {
            const char *base = strrchr(c->up.dir, '/');
            int flat = !chapter_folder(base ? base + 1 : c->up.dir);
            /* a flat folder's other files are listed once, with its first chapter */
            int first = 1;
            for (int k = 1; k < n; k++)
                first &= strcmp(chapters[k - 1].up.dir, c->up.dir) != 0;
            if (!flat || first)
                list_ignored(chapters, c, c->up.dir, "", flat);
        }
    }
    return 0;
}

/* Append to out (of cap bytes, used so far in *used), cut at the end. */
__attribute__((format(printf, 4, 5))) static void put(char *out, size_t cap, size_t *used,
                                                      const char *f, ...)
{
    if (*used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(out + *used, cap - *used, f, ap);
    va_end(ap);
    *used += n < 0 ? 0 : (size_t)n;
    if (*used >= cap)
        *used = cap - 1;
}

void upload_summary(const struct chapter *c, const char *src, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = 0;
    if (!c->up.dir[0]) {
        put(out, cap, &used, "chapter %d: not in your upload; the starter's files were used (%s)\n",
            c->number, c->up.student);
        return;
    }
    put(out, cap, &used, "chapter %d: graded from %s\n", c->number,
        strcmp(c->up.dir, src) ? shown(c->up.dir, src) : "the top of your upload");
    if (c->up.taken[0])
        put(out, cap, &used, "  taken from your upload: %s\n", c->up.taken);
    char list[FILE_LIST_CAP];
    fmt(list, sizeof list, "%s", c->up.missing);
    for (char *save, *f = strtok_r(list, " ", &save); f; f = strtok_r(NULL, " ", &save))
        put(out, cap, &used, "  %s: not in your upload; the starter's was used\n", f);
    fmt(list, sizeof list, "%s", c->up.outside);
    for (char *save, *f = strtok_r(list, " ", &save); f; f = strtok_r(NULL, " ", &save))
        put(out, cap, &used, "  %s: leads out of your upload (a link); the starter's was used\n", f);
    if (c->up.ignored[0])
        put(out, cap, &used, "  ignored (not files you are graded on): %s\n", c->up.ignored);
}
