/*
 * api/router.c - segment-by-segment matching of paths against route patterns.
 */
#include "api/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct segs {
    struct wd_route_param seg[WD_ROUTER_MAX_SEGS];
    int n;
};

/* Splits "/a/b" into segments; false if there are too many or the path is not absolute. */
static bool split(const char *path, struct segs *out)
{
    out->n = 0;
    if (path[0] != '/')
        return false;
    const char *p = path + 1;
    for (;;) {
        if (out->n == WD_ROUTER_MAX_SEGS)
            return false;
        size_t len = strcspn(p, "/");
        out->seg[out->n].ptr = p;
        out->seg[out->n].len = len;
        out->n++;
        if (p[len] == '\0')
            return true;
        p += len + 1;
    }
}

/* Matches; returns the number of literal segments, or -1. Fills params. */
static int match_pattern(const struct segs *pat, const struct segs *path, struct wd_route_match *m)
{
    int literals = 0;

    if (pat->n != path->n)
        return -1;
    m->nparams = 0;
    for (int i = 0; i < pat->n; i++) {
        const struct wd_route_param *ps = &pat->seg[i], *s = &path->seg[i];
        if (ps->len == 2 && memcmp(ps->ptr, "{}", 2) == 0) {
            if (s->len == 0 || m->nparams == WD_ROUTER_MAX_PARAMS)
                return -1;
            m->params[m->nparams++] = *s;
            continue;
        }
        if (ps->len != s->len || memcmp(ps->ptr, s->ptr, s->len) != 0)
            return -1;
        literals++;
    }
    return literals;
}

static void add_allow(struct wd_route_match *m, const char *method)
{
    size_t used = strlen(m->allow);

    if (strstr(m->allow, method))
        return;
    snprintf(m->allow + used, sizeof(m->allow) - used, "%s%s", used ? ", " : "", method);
}

void wd_router_match(const struct wd_route *routes, size_t n, const char *method, const char *path,
                     struct wd_route_match *m)
{
    struct segs want, pat;
    int best = -1;

    memset(m, 0, sizeof(*m));
    m->status = 404;
    if (!split(path, &want))
        return;
    for (size_t i = 0; i < n; i++) {
        struct wd_route_match probe;
        split(routes[i].pattern, &pat);
        int score = match_pattern(&pat, &want, &probe);
        if (score < 0 || score < best)
            continue;
        if (score > best) { /* a more literal group: forget the less specific one */
            best = score;
            m->route = NULL;
            m->allow[0] = '\0';
            m->status = 405;
        }
        add_allow(m, routes[i].method);
        if (!m->route && strcmp(routes[i].method, method) == 0) {
            m->route = &routes[i];
            memcpy(m->params, probe.params, sizeof(m->params));
            m->nparams = probe.nparams;
            m->status = 0;
        }
    }
}
