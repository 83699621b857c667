/*
 * tests/unit/api/test_authfail.c - api/authfail: a source gets twice its rate at once, then its
 * rate a second; other sources keep their own budget; 0 is no limit.
 */
#include "api/authfail.h"

#include <sodium.h>

#include "tests/unit/testing.h"

#define SECOND 1000000000LL

static int charge_n(struct wd_authfail *af, const char *ip, int n, int64_t now)
{
    int allowed = 0;

    for (int i = 0; i < n; i++)
        allowed += wd_authfail_charge(af, ip, 4, now);
    return allowed;
}

static void test_budget_per_source(void **state)
{
    struct wd_authfail *af = NULL;

    (void)state;
    assert_int_equal(wd_authfail_new(&af, 10, NULL), 0);
    assert_int_equal(charge_n(af, "\x0a\x00\x00\x01", 50, SECOND), 20); /* burst: 2 x 10 */
    assert_int_equal(charge_n(af, "\x0a\x00\x00\x02", 5, SECOND), 5);   /* another source */
    assert_int_equal(charge_n(af, "\x0a\x00\x00\x01", 50, SECOND + SECOND / 2), 5);
    assert_int_equal(charge_n(af, "\x0a\x00\x00\x01", 50, 100 * SECOND), 20);
    wd_authfail_free(af);
}

static void test_zero_is_unlimited(void **state)
{
    struct wd_authfail *af = NULL;

    (void)state;
    assert_int_equal(wd_authfail_new(&af, 0, NULL), 0);
    assert_int_equal(charge_n(af, "\x0a\x00\x00\x01", 1000, SECOND), 1000);
    wd_authfail_free(af);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_per_source),
        cmocka_unit_test(test_zero_is_unlimited),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
