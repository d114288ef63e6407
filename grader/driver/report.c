/*
 * report: Check's and valgrind's XML, read with libxml2 (see report.h).
 */
#include "report.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define FRAMES_SHOWN 4

static xmlDocPtr read_xml(const char *path);
static xmlNodePtr child(xmlNodePtr n, const char *name);
static void text_of(xmlNodePtr n, char *buf, size_t cap);
static int describe_error(xmlNodePtr err, char *out, size_t cap);

int rp_check_result(const char *path, const char *name, char *msg, size_t cap)
{
    xmlDocPtr doc = read_xml(path);
    if (!doc)
        return -1;
    int result = -1;
    for (xmlNodePtr suite = xmlDocGetRootElement(doc)->children; suite; suite = suite->next) {
        if (suite->type != XML_ELEMENT_NODE || xmlStrcmp(suite->name, BAD_CAST "suite"))
            continue;
        for (xmlNodePtr t = suite->children; t; t = t->next) {
            if (t->type != XML_ELEMENT_NODE || xmlStrcmp(t->name, BAD_CAST "test"))
                continue;
            char id[256];
            text_of(child(t, "id"), id, sizeof id);
            if (strcmp(id, name) != 0)
                continue;
            xmlChar *res = xmlGetProp(t, BAD_CAST "result");
            result = res && xmlStrcmp(res, BAD_CAST "success") == 0;
            xmlFree(res);
            text_of(child(t, "message"), msg, cap);
        }
    }
    xmlFreeDoc(doc);
    return result;
}

int rp_valgrind_errors(const char *dir, char *first, size_t cap)
{
    int errors = 0;
    first[0] = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "vg", 2) != 0 || len < 4 || strcmp(e->d_name + len - 4, ".xml"))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        xmlDocPtr doc = read_xml(path);
        if (!doc)
            continue;
        for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n; n = n->next) {
            if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "error"))
                continue;
            if (describe_error(n, errors == 0 ? first : NULL, cap))
                errors++;
        }
        xmlFreeDoc(doc);
    }
    closedir(d);
    return errors;
}

/* Returns 1 if the error counts (possibly lost and still reachable memory do not), and
 * writes "what | at fn (file:line) | by ..." into out when out is not NULL. */
static int describe_error(xmlNodePtr err, char *out, size_t cap)
{
    char kind[64];
    text_of(child(err, "kind"), kind, sizeof kind);
    if (strcmp(kind, "Leak_PossiblyLost") == 0 || strcmp(kind, "Leak_StillReachable") == 0)
        return 0;
    if (!out)
        return 1;
    char what[512];
    xmlNodePtr w = child(err, "what");
    if (!w)
        w = child(child(err, "xwhat"), "text");
    text_of(w, what, sizeof what);
    size_t used = (size_t)snprintf(out, cap, "%s", what);
    int frames = 0;
    xmlNodePtr stack = child(err, "stack");
    for (xmlNodePtr f = stack ? stack->children : NULL; f && frames < FRAMES_SHOWN; f = f->next) {
        if (f->type != XML_ELEMENT_NODE || used >= cap)
            continue;
        char fn[160], file[160], line[16], obj[160];
        text_of(child(f, "fn"), fn, sizeof fn);
        text_of(child(f, "file"), file, sizeof file);
        text_of(child(f, "line"), line, sizeof line);
        text_of(child(f, "obj"), obj, sizeof obj);
        const char *slash = strrchr(obj, '/');
        const char *where = file[0] ? file : slash ? slash + 1 : obj;
        used += (size_t)snprintf(out + used, cap - used, "\n%s %s (%s%s%s)", frames ? "by" : "at",
                                 fn[0] ? fn : "???", where, line[0] ? ":" : "", line);
        frames++;
    }
    return 1;
}

static xmlDocPtr read_xml(const char *path)
{
    /* RECOVER: a report cut short by a killed process still yields what it holds. */
    xmlDocPtr doc = xmlReadFile(path, NULL,
                                XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOERROR |
                                    XML_PARSE_NOWARNING);
    if (doc && !xmlDocGetRootElement(doc)) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST name) == 0)
            return c;
    return NULL;
}

static void text_of(xmlNodePtr n, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!n)
        return;
    xmlChar *s = xmlNodeGetContent(n);
    if (s) {
        snprintf(buf, cap, "%s", (const char *)s);
        xmlFree(s);
    }
}
