/*
 * tests/unit/core/test_money.c - core/money: the amount range 1..2^53-1, checked balance
 * arithmetic and the currency format.
 */
#include "core/error.h"
#include "core/money.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void test_money_max_is_2_pow_53_minus_1(void **state)
{
    (void)state;
    /* docs/API.md: amounts and balances are in 1..2^53-1 (9007199254740991). */
    assert_true(WD_MONEY_MAX == (INT64_C(1) << 53) - 1);
    assert_true(WD_MONEY_MAX == INT64_C(9007199254740991));
}

static void test_amount_valid_bounds(void **state)
{
    (void)state;
    assert_true(wd_money_amount_valid(1));
    assert_true(wd_money_amount_valid(10000));
    assert_true(wd_money_amount_valid(INT64_C(9007199254740991)));
    assert_false(wd_money_amount_valid(0));
    assert_false(wd_money_amount_valid(-1));
    assert_false(wd_money_amount_valid(INT64_C(9007199254740992)));
    assert_false(wd_money_amount_valid(INT64_MAX));
    assert_false(wd_money_amount_valid(INT64_MIN));
}

static void test_add_in_range(void **state)
{
    int64_t out = -7;

    (void)state;
    assert_int_equal(wd_money_add(100, 250, &out), 0);
    assert_int_equal(out, 350);
    assert_int_equal(wd_money_add(350, -350, &out), 0);
    assert_int_equal(out, 0);
    assert_int_equal(wd_money_add(WD_MONEY_MAX - 1, 1, &out), 0);
    assert_true(out == WD_MONEY_MAX);
    assert_int_equal(wd_money_add(0, WD_MONEY_MAX, &out), 0);
    assert_true(out == WD_MONEY_MAX);
}

static void test_add_refused_leaves_out_untouched(void **state)
{
    int64_t out = 12345;

    (void)state;
    assert_int_equal(wd_money_add(WD_MONEY_MAX, 1, &out), -WD_E_BALANCE_LIMIT_EXCEEDED);
    assert_int_equal(out, 12345);
    assert_int_equal(wd_money_add(10, -11, &out), -WD_E_BALANCE_LIMIT_EXCEEDED);
    assert_int_equal(out, 12345);
    /* int64 overflow itself must be caught, not wrapped into a small positive number */
    assert_int_equal(wd_money_add(INT64_MAX, 2, &out), -WD_E_BALANCE_LIMIT_EXCEEDED);
    assert_int_equal(out, 12345);
    assert_int_equal(wd_money_add(INT64_MIN, -1, &out), -WD_E_BALANCE_LIMIT_EXCEEDED);
    assert_int_equal(out, 12345);
    assert_int_equal(wd_money_add(INT64_MIN, INT64_MIN, &out), -WD_E_BALANCE_LIMIT_EXCEEDED);
    assert_int_equal(out, 12345);
}

static void test_currency_format(void **state)
{
    (void)state;
    assert_true(wd_money_currency_valid("USD", 3));
    assert_true(wd_money_currency_valid("EUR", 3));
    assert_true(wd_money_currency_valid("AZZ", 3));
    assert_false(wd_money_currency_valid("usd", 3));
    assert_false(wd_money_currency_valid("Usd", 3));
    assert_false(wd_money_currency_valid("US", 2));
    assert_false(wd_money_currency_valid("USDD", 4));
    assert_false(wd_money_currency_valid("", 0));
    assert_false(wd_money_currency_valid("U$D", 3));
    assert_false(wd_money_currency_valid("U1D", 3));
    assert_false(wd_money_currency_valid("US@", 3)); /* '@' is just below 'A' */
    assert_false(wd_money_currency_valid("US[", 3)); /* '[' is just above 'Z' */
    assert_false(wd_money_currency_valid("U\0D", 3));
    assert_false(wd_money_currency_valid("US\xc3", 3));
    /* the explicit length rules: "USD" followed by more text is not a currency */
    assert_false(wd_money_currency_valid("USDX", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money_max_is_2_pow_53_minus_1),
        cmocka_unit_test(test_amount_valid_bounds),
        cmocka_unit_test(test_add_in_range),
        cmocka_unit_test(test_add_refused_leaves_out_untouched),
        cmocka_unit_test(test_currency_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
