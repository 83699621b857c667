/*
 * tests/unit/api/test_router.c - api/router: literal segments beat parameters, 405 with an
 * Allow list, 404 for unknown paths, and parameter capture; on a table of our own and on the
 * product's wd_handlers_routes.
 */
#include "api/handlers.h"
#include "api/router.h"

#include <string.h>

#include "tests/unit/testing.h"

/* The router only hands back the route; which one matched is told by its place in routes[]. */
static void handler(struct wd_request *req)
{
    (void)req;
}

enum {
    R_CREATE,
    R_GET_WALLET,
    R_LEDGER,
    R_CREDIT,
    R_GET_TXN,
    R_DELETE_TXN,
    R_PAIR,
    R_LIVE,
};

static const struct wd_route routes[] = {
    [R_CREATE] = {"POST", "/api/v1/wallets", handler, 0},
    [R_GET_WALLET] = {"GET", "/api/v1/wallets/{}", handler, 0},
    [R_LEDGER] = {"GET", "/api/v1/wallets/{}/ledger", handler, 0},
    [R_CREDIT] = {"POST", "/api/v1/transactions/credit", handler, 0},
    [R_GET_TXN] = {"GET", "/api/v1/transactions/{}", handler, 0},
    [R_DELETE_TXN] = {"DELETE", "/api/v1/transactions/{}", handler, 0},
    [R_PAIR] = {"GET", "/x/{}/y/{}", handler, 0},
    [R_LIVE] = {"GET", "/health/live", handler, 0},
};
#define N_ROUTES N_CASES(routes)

static struct wd_route_match match_in(const struct wd_route *table, size_t n, const char *method,
                                      const char *path)
{
    struct wd_route_match m;

    memset(&m, 0xa5, sizeof(m)); /* the router must fill everything itself */
    wd_router_match(table, n, method, path, &m);
    return m;
}

static struct wd_route_match match(const char *method, const char *path)
{
    return match_in(routes, N_ROUTES, method, path);
}

/* On the product's table. */
static struct wd_route_match product_match(const char *method, const char *path)
{
    return match_in(wd_handlers_routes, wd_handlers_route_count, method, path);
}

/* method on path, matched by matcher, must be answered 405 with this Allow list. */
static void expect_405(struct wd_route_match (*matcher)(const char *, const char *),
                       const char *method, const char *path, const char *allow)
{
    struct wd_route_match m = matcher(method, path);

    if (m.status != 405 || m.route || strcmp(m.allow, allow) != 0)
        fail_msg("%s %s: status %d, Allow '%s'; expected 405, Allow '%s'", method, path, m.status,
                 m.allow, allow);
}

static void expect_param(const struct wd_route_match *m, int i, const char *text)
{
    assert_true(i < m->nparams);
    assert_int_equal(m->params[i].len, strlen(text));
    assert_memory_equal(m->params[i].ptr, text, strlen(text));
}

static void test_literal_beats_parameter(void **state)
{
    (void)state;
    struct wd_route_match m = match("POST", "/api/v1/transactions/credit");
    assert_int_equal(m.status, 0);
    assert_non_null(m.route);
    assert_ptr_equal(m.route, &routes[R_CREDIT]);
    assert_int_equal(m.nparams, 0);

    /* GET on the literal path: the literal group only has POST, so 405, not "transaction credit" */
    expect_405(match, "GET", "/api/v1/transactions/credit", "POST");

    /* any other segment is the transaction ID */
    m = match("GET", "/api/v1/transactions/txn_abc");
    assert_int_equal(m.status, 0);
    assert_ptr_equal(m.route, &routes[R_GET_TXN]);
    assert_int_equal(m.nparams, 1);
    expect_param(&m, 0, "txn_abc");
    m = match("DELETE", "/api/v1/transactions/txn_abc");
    assert_ptr_equal(m.route, &routes[R_DELETE_TXN]);
    /* "credits" and "credi" are not the literal */
    m = match("GET", "/api/v1/transactions/credits");
    assert_ptr_equal(m.route, &routes[R_GET_TXN]);
    m = match("GET", "/api/v1/transactions/credi");
    assert_ptr_equal(m.route, &routes[R_GET_TXN]);
}

static void test_method_not_allowed(void **state)
{
    static const struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"PUT", "/api/v1/transactions/txn_1", "GET, DELETE"},
        {"GET", "/api/v1/wallets", "POST"},
        {"POST", "/health/live", "GET"},
        {"get", "/health/live", "GET"}, /* methods are case-sensitive (RFC 9110) */
    };

    (void)state;
    for (size_t i = 0; i < N_CASES(cases); i++)
        expect_405(match, cases[i].method, cases[i].path, cases[i].allow);
}

static void test_not_found(void **state)
{
    static const char *const paths[] = {
        "/",
        "",
        "api/v1/wallets",
        "/api/v1",
        "/api/v2/wallets",
        "/API/v1/wallets",
        "/api/v1/wallets/",            /* trailing slash: an empty wallet ID */
        "/api/v1/wallets/w1/",         /* trailing slash after a parameter */
        "/api/v1/wallets//ledger",     /* empty segment where the parameter goes */
        "/api//v1/wallets",            /* empty segment inside the literal part */
        "/api/v1/wallets/w1/ledger/x", /* one segment too many */
        "/health/live/",
        "/health",
        "/x//y/2",
        "/a/b/c/d/e/f/g/h/i",                          /* more segments than the router keeps */
        "/api/v1/wallets/w1/ledger/a/b/c/d/e/f/g/h/i", /* ditto, with a matching prefix */
    };

    (void)state;
    for (size_t i = 0; i < N_CASES(paths); i++) {
        struct wd_route_match m = match("GET", paths[i]);
        if (m.status != 404 || m.route)
            fail_msg("path '%s': status %d, expected 404", paths[i], m.status);
        assert_string_equal(m.allow, "");
        assert_int_equal(m.nparams, 0);
    }
}

static void test_params_captured(void **state)
{
    (void)state;
    const char *path = "/api/v1/wallets/wal_0001/ledger";
    struct wd_route_match m = match("GET", path);
    assert_int_equal(m.status, 0);
    assert_ptr_equal(m.route, &routes[R_LEDGER]);
    expect_param(&m, 0, "wal_0001");
    assert_ptr_equal(m.params[0].ptr, path + strlen("/api/v1/wallets/")); /* borrowed slice */

    m = match("GET", "/x/first/y/second");
    assert_int_equal(m.status, 0);
    assert_ptr_equal(m.route, &routes[R_PAIR]);
    assert_int_equal(m.nparams, 2);
    expect_param(&m, 0, "first");
    expect_param(&m, 1, "second");

    /* a parameter may hold anything but '/': the handler validates it */
    m = match("GET", "/api/v1/wallets/%20..:x");
    assert_int_equal(m.status, 0);
    expect_param(&m, 0, "%20..:x");
}

static void test_eight_segments_fit(void **state)
{
    static const struct wd_route deep[] = {
        {"GET", "/a/b/c/d/e/f/g/{}", handler, 0},
    };
    struct wd_route_match m;

    (void)state;
    wd_router_match(deep, 1, "GET", "/a/b/c/d/e/f/g/h", &m);
    assert_int_equal(m.status, 0);
    expect_param(&m, 0, "h");
    wd_router_match(deep, 1, "GET", "/a/b/c/d/e/f/g/h/", &m);
    assert_int_equal(m.status, 404);
}

static const struct wd_route *product_route(const char *method, const char *pattern)
{
    for (size_t i = 0; i < wd_handlers_route_count; i++) {
        if (!strcmp(wd_handlers_routes[i].method, method) &&
            !strcmp(wd_handlers_routes[i].pattern, pattern))
            return &wd_handlers_routes[i];
    }
    fail_msg("api_routes has no %s %s", method, pattern);
    return NULL;
}

/* The product's table against the endpoint list of docs/API.md. */
static void test_product_routes(void **state)
{
    static const struct {
        const char *method, *path, *pattern, *param;
    } cases[] = {
        {"POST", "/api/v1/wallets", "/api/v1/wallets", NULL},
        {"GET", "/api/v1/wallets/wal_1", "/api/v1/wallets/{}", "wal_1"},
        {"GET", "/api/v1/wallets/wal_1/ledger", "/api/v1/wallets/{}/ledger", "wal_1"},
        {"GET", "/api/v1/accounts/cust-42/wallets", "/api/v1/accounts/{}/wallets", "cust-42"},
        {"POST", "/api/v1/transactions/credit", "/api/v1/transactions/credit", NULL},
        {"POST", "/api/v1/transactions/authorize", "/api/v1/transactions/authorize", NULL},
        {"POST", "/api/v1/transactions/debit", "/api/v1/transactions/debit", NULL},
        {"POST", "/api/v1/transactions/void", "/api/v1/transactions/void", NULL},
        {"GET", "/api/v1/transactions/txn_1", "/api/v1/transactions/{}", "txn_1"},
        {"GET", "/health/live", "/health/live", NULL},
        {"GET", "/health/ready", "/health/ready", NULL},
        {"GET", "/metrics", "/metrics", NULL},
    };
    (void)state;
    for (size_t i = 0; i < N_CASES(cases); i++) {
        struct wd_route_match m = product_match(cases[i].method, cases[i].path);
        if (m.status != 0)
            fail_msg("%s %s: status %d", cases[i].method, cases[i].path, m.status);
        assert_ptr_equal(m.route, product_route(cases[i].method, cases[i].pattern));
        if (cases[i].param)
            expect_param(&m, 0, cases[i].param);
        else
            assert_int_equal(m.nparams, 0);
    }
    /* the classic ambiguity, on the real table */
    expect_405(product_match, "GET", "/api/v1/transactions/credit", "POST");
    expect_405(product_match, "DELETE", "/api/v1/wallets/wal_1", "GET");
    assert_int_equal(product_match("GET", "/api/v1/nothing").status, 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_beats_parameter),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_params_captured),
        cmocka_unit_test(test_eight_segments_fit),
        cmocka_unit_test(test_product_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
