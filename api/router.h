/*
 * api/router.h - matching a method and path to a route.
 *
 * Owns: the route table's shape and the matching rules. A pattern is a path of literal segments
 * and "{}" parameters ("/api/v1/wallets/{}/ledger"). Among the routes whose pattern matches the
 * path, the most literal one wins (so POST /api/v1/transactions/credit is never read as the
 * transaction "credit"); if that group has no route for the method the answer is 405 with an
 * Allow list; if no pattern matches, 404. Pure; thread-safe.
 */
#ifndef WD_API_ROUTER_H
#define WD_API_ROUTER_H

#include <stddef.h>

#define WD_ROUTER_MAX_PARAMS 2
#define WD_ROUTER_MAX_SEGS   8

struct wd_request;
typedef void (*wd_handler_fn)(struct wd_request *req);

enum wd_router_flags {
    WD_ROUTER_AUTH = 1 << 0, /* needs a valid API key */
    WD_ROUTER_BODY = 1 << 1, /* takes a JSON body */
    WD_ROUTER_OPS = 1 << 2,  /* a probe or /metrics: on ADMIN_PORT when it is set */
};

struct wd_route {
    const char *method;
    const char *pattern;
    wd_handler_fn handler;
    unsigned flags;
};

/* A path parameter: a slice of the request's path (borrowed from it). */
struct wd_route_param {
    const char *ptr;
    size_t len;
};

struct wd_route_match {
    const struct wd_route *route; /* NULL: see status */
    int status;                   /* 0 when matched, else 404 or 405 */
    char allow[64];               /* for 405: "GET, POST" */
    struct wd_route_param params[WD_ROUTER_MAX_PARAMS];
    int nparams;
};

/* Matches method and path against routes[0..n). Fills m; never fails. */
void wd_router_match(const struct wd_route *routes, size_t n, const char *method, const char *path,
                     struct wd_route_match *m);

#endif
