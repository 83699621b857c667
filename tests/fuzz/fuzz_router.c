/*
 * tests/fuzz/fuzz_router.c - wd_router_match on arbitrary methods and paths, against the
 * product's route table (wd_handlers_routes).
 *
 * Input: "METHOD PATH" - the bytes before the first space are the method (GET if there is no
 * space), the rest is the path; both are cut at a NUL as libmicrohttpd would hand them over.
 * Checked: the status is 0, 404 or 405; a match names a route of that method whose pattern has
 * as many parameters as were captured, each a non-empty slice of the path without '/'; a 405
 * carries an Allow list without the method; a 404 captures nothing.
 */
#include "fuzz.h"

#include "api/handlers.h"
#include "api/router.h"

#include <string.h>

#define FUZZ_PATH_MAX 4096

static int count_params(const char *pattern)
{
    int n = 0;

    for (const char *p = strstr(pattern, "{}"); p; p = strstr(p + 2, "{}"))
        n++;
    return n;
}

/* True if the Allow list ("GET, POST") names method exactly. */
static int allow_lists(const char *allow, const char *method)
{
    size_t len = strlen(method);

    for (const char *p = allow; *p;) {
        size_t tok = strcspn(p, ",");
        if (tok == len && memcmp(p, method, len) == 0)
            return 1;
        p += tok;
        p += strspn(p, ", ");
    }
    return 0;
}

static void check_match(const char *method, const char *path, const struct wd_route_match *m)
{
    size_t pathlen = strlen(path);

    FUZZ_CHECK(m->status == 0 || m->status == 404 || m->status == 405);
    FUZZ_CHECK(memchr(m->allow, '\0', sizeof(m->allow)) != NULL);
    if (m->status == 404) {
        FUZZ_CHECK(m->route == NULL && m->nparams == 0 && m->allow[0] == '\0');
        return;
    }
    if (m->status == 405) {
        FUZZ_CHECK(m->route == NULL && m->allow[0] != '\0');
        FUZZ_CHECK(!allow_lists(m->allow, method)); /* a listed method would have matched */
        FUZZ_CHECK(allow_lists(m->allow, "GET") || allow_lists(m->allow, "POST"));
        return;
    }
    FUZZ_CHECK(m->route != NULL);
    FUZZ_CHECK(m->route >= wd_handlers_routes &&
               m->route < wd_handlers_routes + wd_handlers_route_count);
    FUZZ_CHECK(strcmp(m->route->method, method) == 0);
    FUZZ_CHECK(m->nparams == count_params(m->route->pattern));
    FUZZ_CHECK(path[0] == '/');
    for (int i = 0; i < m->nparams; i++) {
        const struct wd_route_param *p = &m->params[i];
        FUZZ_CHECK(p->len > 0);
        FUZZ_CHECK(p->ptr > path && p->ptr + p->len <= path + pathlen);
        FUZZ_CHECK(p->ptr[-1] == '/');
        FUZZ_CHECK(memchr(p->ptr, '/', p->len) == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char method[FUZZ_PATH_MAX + 1], path[FUZZ_PATH_MAX + 1];
    const char *text = (const char *)data;
    const char *space = memchr(text, ' ', size);
    struct wd_route_match m;

    if (size > FUZZ_PATH_MAX)
        return 0;
    if (space) {
        size_t mlen = (size_t)(space - text);
        memcpy(method, text, mlen);
        method[mlen] = '\0';
        memcpy(path, space + 1, size - mlen - 1);
        path[size - mlen - 1] = '\0';
    } else {
        memcpy(method, "GET", 4);
        memcpy(path, text, size);
        path[size] = '\0';
    }
    wd_router_match(wd_handlers_routes, wd_handlers_route_count, method, path, &m);
    check_match(method, path, &m);
    return 0;
}
