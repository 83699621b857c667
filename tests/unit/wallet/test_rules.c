/*
 * tests/unit/wallet/test_rules.c - wallet/rules: every movement on in-memory rows, the ledger
 * entry it produces, and that a refused movement changes nothing.
 */
#include "core/error.h"
#include "core/money.h"
#include "wallet/rules.h"

#include <stdio.h>
#include <string.h>

#include "tests/unit/testing.h"

#define NOW INT64_C(1795440482123)

static struct wd_wallet wallet(int64_t balance, int64_t held)
{
    struct wd_wallet w;

    memset(&w, 0, sizeof(w));
    snprintf(w.id, sizeof(w.id), "wal_test");
    snprintf(w.currency, sizeof(w.currency), "USD");
    w.balance = balance;
    w.held = held;
    return w;
}

static struct wd_txn hold(int64_t amount, int64_t expires_ms)
{
    struct wd_txn t;

    memset(&t, 0, sizeof(t));
    t.type = WD_TXN_AUTHORIZATION;
    t.status = WD_TXN_PENDING;
    t.amount = amount;
    t.expires_ms = expires_ms;
    return t;
}

static void expect_entry(const struct wd_entry *e, int type, int64_t amount, int64_t held_delta,
                         int64_t balance_after, int64_t held_after)
{
    assert_int_equal(e->type, type);
    assert_true(e->amount == amount);
    assert_true(e->held_delta == held_delta);
    assert_true(e->balance_after == balance_after);
    assert_true(e->held_after == held_after);
    assert_int_equal(e->id, 0); /* ids and times are the caller's */
    assert_int_equal(e->created_ms, 0);
}

/* Authorizes amount on w, which must succeed; returns the pending hold it made, due expires_ms. */
static struct wd_txn authorized(struct wd_wallet *w, int64_t amount, int64_t expires_ms)
{
    struct wd_entry e;

    assert_int_equal(wd_rules_authorize(w, amount, NULL, &e), 0);
    return hold(amount, expires_ms);
}

/* A refused movement leaves the wallet byte-for-byte as it was. */
#define EXPECT_UNCHANGED(before, after) assert_memory_equal(&(before), &(after), sizeof(before))

static void test_credit(void **state)
{
    struct wd_wallet w = wallet(1000, 300);
    struct wd_entry e;

    (void)state;
    memset(&e, 0x5a, sizeof(e)); /* rules must fill every field of the entry */
    assert_int_equal(wd_rules_credit(&w, 500, &e), 0);
    assert_int_equal(w.balance, 1500);
    assert_int_equal(w.held, 300);
    expect_entry(&e, WD_ENTRY_CREDIT, 500, 0, 1500, 300);
}

static void test_credit_balance_limit(void **state)
{
    struct wd_entry e;

    (void)state;
    struct wd_wallet w = wallet(WD_MONEY_MAX - 10, 0);
    assert_int_equal(wd_rules_credit(&w, 10, &e), 0);
    assert_true(w.balance == WD_MONEY_MAX);
    expect_entry(&e, WD_ENTRY_CREDIT, 10, 0, WD_MONEY_MAX, 0);

    struct wd_wallet before = w;
    assert_int_equal(wd_rules_credit(&w, 1, &e), -WD_E_BALANCE_LIMIT_EXCEEDED);
    EXPECT_UNCHANGED(before, w);

    w = wallet(1, 0);
    before = w;
    assert_int_equal(wd_rules_credit(&w, WD_MONEY_MAX, &e), -WD_E_BALANCE_LIMIT_EXCEEDED);
    EXPECT_UNCHANGED(before, w);
    assert_int_equal(wd_rules_credit(&w, 0, &e), -WD_E_INVALID_AMOUNT);
    assert_int_equal(wd_rules_credit(&w, -5, &e), -WD_E_INVALID_AMOUNT);
    assert_int_equal(wd_rules_credit(&w, WD_MONEY_MAX + 1, &e), -WD_E_INVALID_AMOUNT);
    EXPECT_UNCHANGED(before, w);
}

static void test_authorize(void **state)
{
    struct wd_wallet w = wallet(1000, 0);
    struct wd_entry e;

    (void)state;
    assert_int_equal(wd_rules_authorize(&w, 300, "USD", &e), 0);
    assert_int_equal(w.balance, 1000);
    assert_int_equal(w.held, 300);
    expect_entry(&e, WD_ENTRY_HOLD, 0, 300, 1000, 300);
    /* currency is optional */
    assert_int_equal(wd_rules_authorize(&w, 700, NULL, &e), 0);
    assert_int_equal(w.held, 1000);
    expect_entry(&e, WD_ENTRY_HOLD, 0, 700, 1000, 1000);
    /* available is now 0: even 1 more is refused, and nothing changes */
    struct wd_wallet before = w;
    assert_int_equal(wd_rules_authorize(&w, 1, NULL, &e), -WD_E_INSUFFICIENT_FUNDS);
    EXPECT_UNCHANGED(before, w);
}

static void test_authorize_refusals(void **state)
{
    struct wd_wallet w = wallet(1000, 200);
    struct wd_wallet before = w;
    struct wd_entry e;

    (void)state;
    assert_int_equal(wd_rules_authorize(&w, 801, "USD", &e), -WD_E_INSUFFICIENT_FUNDS);
    EXPECT_UNCHANGED(before, w);
    assert_int_equal(wd_rules_authorize(&w, 10, "EUR", &e), -WD_E_CURRENCY_MISMATCH);
    EXPECT_UNCHANGED(before, w);
    assert_int_equal(wd_rules_authorize(&w, 10, "usd", &e), -WD_E_CURRENCY_MISMATCH);
    EXPECT_UNCHANGED(before, w);
    assert_int_equal(wd_rules_authorize(&w, 0, "USD", &e), -WD_E_INVALID_AMOUNT);
    assert_int_equal(wd_rules_authorize(&w, -1, NULL, &e), -WD_E_INVALID_AMOUNT);
    assert_int_equal(wd_rules_authorize(&w, WD_MONEY_MAX, NULL, &e), -WD_E_INSUFFICIENT_FUNDS);
    EXPECT_UNCHANGED(before, w);
    /* exactly the available amount is fine */
    assert_int_equal(wd_rules_authorize(&w, 800, "USD", &e), 0);
    assert_int_equal(w.balance - w.held, 0);
}

static void test_debit(void **state)
{
    struct wd_wallet w = wallet(1000, 300);
    struct wd_entry e;

    (void)state;
    assert_int_equal(wd_rules_debit(&w, 700, &e), 0); /* exactly the available amount */
    assert_int_equal(w.balance, 300);
    assert_int_equal(w.held, 300);
    expect_entry(&e, WD_ENTRY_DEBIT, -700, 0, 300, 300);

    /* the held part is not available to a direct debit */
    struct wd_wallet before = w;
    assert_int_equal(wd_rules_debit(&w, 1, &e), -WD_E_INSUFFICIENT_FUNDS);
    EXPECT_UNCHANGED(before, w);
    /* more than the whole balance */
    w = wallet(50, 0);
    before = w;
    assert_int_equal(wd_rules_debit(&w, 51, &e), -WD_E_INSUFFICIENT_FUNDS);
    EXPECT_UNCHANGED(before, w);
    assert_int_equal(wd_rules_debit(&w, WD_MONEY_MAX, &e), -WD_E_INSUFFICIENT_FUNDS);
    EXPECT_UNCHANGED(before, w);
    assert_int_equal(wd_rules_debit(&w, 0, &e), -WD_E_INVALID_AMOUNT);
    assert_int_equal(wd_rules_debit(&w, INT64_MIN, &e), -WD_E_INVALID_AMOUNT);
    EXPECT_UNCHANGED(before, w);
    assert_int_equal(wd_rules_debit(&w, 50, &e), 0);
    assert_int_equal(w.balance, 0);
    expect_entry(&e, WD_ENTRY_DEBIT, -50, 0, 0, 0);
}

static void test_capture_full_and_partial(void **state)
{
    struct wd_wallet w = wallet(10000, 0);
    struct wd_entry e;

    (void)state;
    /* README's example: hold 25.00, capture 20.00, the other 5.00 is released */
    struct wd_txn t = hold(2500, NOW + 60000);
    assert_int_equal(wd_rules_authorize(&w, 2500, "USD", &e), 0);
    assert_int_equal(wd_rules_capture(&w, &t, true, 2000, &e), 0);
    assert_int_equal(w.balance, 8000);
    assert_int_equal(w.held, 0); /* the whole hold is released, not just the captured part */
    assert_int_equal(t.status, WD_TXN_COMPLETED);
    assert_int_equal(t.captured, 2000);
    expect_entry(&e, WD_ENTRY_CAPTURE, -2000, -2500, 8000, 0);

    /* no amount: the whole hold */
    w = wallet(10000, 0);
    t = authorized(&w, 2500, NOW + 60000);
    assert_int_equal(wd_rules_capture(&w, &t, false, 0, &e), 0);
    assert_int_equal(w.balance, 7500);
    assert_int_equal(w.held, 0);
    assert_int_equal(t.captured, 2500);
    expect_entry(&e, WD_ENTRY_CAPTURE, -2500, -2500, 7500, 0);

    /* with two holds on the wallet, capturing one keeps the other held */
    w = wallet(1000, 0);
    struct wd_txn a = authorized(&w, 300, NOW + 60000);
    struct wd_txn b = authorized(&w, 600, NOW + 60000);
    assert_int_equal(wd_rules_capture(&w, &a, true, 100, &e), 0);
    assert_int_equal(w.balance, 900);
    assert_int_equal(w.held, 600);
    expect_entry(&e, WD_ENTRY_CAPTURE, -100, -300, 900, 600);
    assert_int_equal(wd_rules_capture(&w, &b, true, 600, &e), 0);
    assert_int_equal(w.balance, 300);
    assert_int_equal(w.held, 0);
}

static void test_capture_refusals(void **state)
{
    struct wd_wallet w = wallet(1000, 500);
    struct wd_wallet before = w;
    struct wd_txn t = hold(500, NOW + 60000);
    struct wd_txn tbefore = t;
    struct wd_entry e;

    (void)state;
    assert_int_equal(wd_rules_capture(&w, &t, true, 501, &e), -WD_E_AMOUNT_EXCEEDS_HOLD);
    assert_int_equal(wd_rules_capture(&w, &t, true, WD_MONEY_MAX, &e), -WD_E_AMOUNT_EXCEEDS_HOLD);
    assert_int_equal(wd_rules_capture(&w, &t, true, 0, &e), -WD_E_INVALID_AMOUNT);
    assert_int_equal(wd_rules_capture(&w, &t, true, -1, &e), -WD_E_INVALID_AMOUNT);
    EXPECT_UNCHANGED(before, w);
    EXPECT_UNCHANGED(tbefore, t);

    /* voided, completed, expired, and transactions that are not authorizations */
    static const struct {
        int type, status, code;
    } cases[] = {
        {WD_TXN_AUTHORIZATION, WD_TXN_VOIDED, -WD_E_INVALID_TRANSACTION_STATE},
        {WD_TXN_AUTHORIZATION, WD_TXN_COMPLETED, -WD_E_INVALID_TRANSACTION_STATE},
        {WD_TXN_AUTHORIZATION, WD_TXN_EXPIRED, -WD_E_TRANSACTION_EXPIRED},
        {WD_TXN_CREDIT, WD_TXN_COMPLETED, -WD_E_INVALID_TRANSACTION_STATE},
        {WD_TXN_DEBIT, WD_TXN_COMPLETED, -WD_E_INVALID_TRANSACTION_STATE},
        {WD_TXN_CREDIT, WD_TXN_PENDING, -WD_E_INVALID_TRANSACTION_STATE},
    };
    for (size_t i = 0; i < N_CASES(cases); i++) {
        t.type = cases[i].type;
        t.status = cases[i].status;
        tbefore = t;
        assert_int_equal(wd_rules_capture(&w, &t, true, 100, &e), cases[i].code);
        assert_int_equal(wd_rules_capture(&w, &t, false, 0, &e), cases[i].code);
        EXPECT_UNCHANGED(before, w);
        EXPECT_UNCHANGED(tbefore, t);
    }
}

static void test_capture_twice(void **state)
{
    struct wd_wallet w = wallet(1000, 0);
    struct wd_txn t = authorized(&w, 400, NOW + 60000);
    struct wd_entry e;

    (void)state;
    assert_int_equal(wd_rules_capture(&w, &t, true, 100, &e), 0);
    struct wd_wallet before = w;
    assert_int_equal(wd_rules_capture(&w, &t, true, 100, &e), -WD_E_INVALID_TRANSACTION_STATE);
    assert_int_equal(wd_rules_void(&w, &t, &e), -WD_E_INVALID_TRANSACTION_STATE);
    EXPECT_UNCHANGED(before, w);
    assert_int_equal(t.captured, 100);
}

static void test_void(void **state)
{
    struct wd_wallet w = wallet(1000, 0);
    struct wd_txn t = authorized(&w, 400, NOW + 60000);
    struct wd_entry e;

    (void)state;
    assert_int_equal(wd_rules_void(&w, &t, &e), 0);
    assert_int_equal(w.balance, 1000);
    assert_int_equal(w.held, 0);
    assert_int_equal(t.status, WD_TXN_VOIDED);
    assert_int_equal(t.captured, 0);
    expect_entry(&e, WD_ENTRY_RELEASE, 0, -400, 1000, 0);

    struct wd_wallet before = w;
    struct wd_txn tbefore = t;
    assert_int_equal(wd_rules_void(&w, &t, &e), -WD_E_INVALID_TRANSACTION_STATE);
    assert_int_equal(wd_rules_capture(&w, &t, false, 0, &e), -WD_E_INVALID_TRANSACTION_STATE);
    EXPECT_UNCHANGED(before, w);
    EXPECT_UNCHANGED(tbefore, t);

    t.type = WD_TXN_CREDIT;
    t.status = WD_TXN_COMPLETED;
    assert_int_equal(wd_rules_void(&w, &t, &e), -WD_E_INVALID_TRANSACTION_STATE);
    t.type = WD_TXN_AUTHORIZATION;
    t.status = WD_TXN_EXPIRED;
    assert_int_equal(wd_rules_void(&w, &t, &e), -WD_E_INVALID_TRANSACTION_STATE);
    EXPECT_UNCHANGED(before, w);
}

static void test_expiry(void **state)
{
    struct wd_wallet w = wallet(1000, 0);
    struct wd_txn t = authorized(&w, 250, NOW);
    struct wd_entry e;

    (void)state;
    assert_false(wd_rules_hold_expired(&t, NOW - 1));
    assert_true(wd_rules_hold_expired(&t, NOW)); /* at the expiry instant */
    assert_true(wd_rules_hold_expired(&t, NOW + 1));

    /* not yet due: refused, nothing changes */
    struct wd_wallet before = w;
    struct wd_txn tbefore = t;
    assert_int_equal(wd_rules_expire(&w, &t, NOW - 1, &e), -WD_E_INVALID_TRANSACTION_STATE);
    EXPECT_UNCHANGED(before, w);
    EXPECT_UNCHANGED(tbefore, t);

    assert_int_equal(wd_rules_expire(&w, &t, NOW + 5, &e), 0);
    assert_int_equal(t.status, WD_TXN_EXPIRED);
    assert_int_equal(w.balance, 1000);
    assert_int_equal(w.held, 0);
    expect_entry(&e, WD_ENTRY_RELEASE, 0, -250, 1000, 0);

    /* after expiry: capture is TRANSACTION_EXPIRED, void and a second expiry are refused */
    before = w;
    tbefore = t;
    assert_int_equal(wd_rules_capture(&w, &t, true, 100, &e), -WD_E_TRANSACTION_EXPIRED);
    assert_int_equal(wd_rules_capture(&w, &t, false, 0, &e), -WD_E_TRANSACTION_EXPIRED);
    assert_int_equal(wd_rules_void(&w, &t, &e), -WD_E_INVALID_TRANSACTION_STATE);
    assert_int_equal(wd_rules_expire(&w, &t, NOW + 10, &e), -WD_E_INVALID_TRANSACTION_STATE);
    assert_false(wd_rules_hold_expired(&t, NOW + 10));
    EXPECT_UNCHANGED(before, w);
    EXPECT_UNCHANGED(tbefore, t);
}

static void test_expiry_edge_cases(void **state)
{
    struct wd_txn t = hold(10, 0);
    struct wd_wallet w = wallet(100, 10);
    struct wd_entry e;

    (void)state;
    /* no expiry recorded: never due */
    assert_false(wd_rules_hold_expired(&t, INT64_MAX));
    assert_int_equal(wd_rules_expire(&w, &t, INT64_MAX, &e), -WD_E_INVALID_TRANSACTION_STATE);
    /* a completed or voided hold, or a credit, is never due */
    t = hold(10, NOW);
    t.status = WD_TXN_COMPLETED;
    assert_false(wd_rules_hold_expired(&t, NOW + 1));
    t.status = WD_TXN_VOIDED;
    assert_false(wd_rules_hold_expired(&t, NOW + 1));
    t = hold(10, NOW);
    t.type = WD_TXN_CREDIT;
    assert_false(wd_rules_hold_expired(&t, NOW + 1));
}

/* Over a long mixed sequence, available never goes negative and held matches the open holds. */
static void test_invariants_over_a_sequence(void **state)
{
    struct wd_wallet w = wallet(0, 0);
    struct wd_txn holds[16];
    struct wd_entry e;
    int nholds = 0;
    uint64_t seed = 12345;

    (void)state;
    for (int step = 0; step < 5000; step++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        int64_t amount = (int64_t)((seed >> 33) % 700) + 1;
        struct wd_wallet before = w;
        int rc = 0;
        switch ((seed >> 20) % 5) {
        case 0:
            rc = wd_rules_credit(&w, amount, &e);
            break;
        case 1:
            rc = wd_rules_debit(&w, amount, &e);
            break;
        case 2:
            if (nholds == 16)
                continue;
            rc = wd_rules_authorize(&w, amount, NULL, &e);
            if (rc == 0)
                holds[nholds++] = hold(amount, NOW);
            break;
        case 3:
            if (nholds == 0)
                continue;
            rc = wd_rules_capture(&w, &holds[nholds - 1], true, amount, &e);
            if (rc == 0)
                nholds--;
            break;
        default:
            if (nholds == 0)
                continue;
            rc = wd_rules_void(&w, &holds[0], &e);
            if (rc == 0)
                holds[0] = holds[--nholds];
            break;
        }
        if (rc < 0) {
            EXPECT_UNCHANGED(before, w);
        } else {
            assert_true(e.amount == w.balance - before.balance);
            assert_true(e.held_delta == w.held - before.held);
            assert_true(e.balance_after == w.balance && e.held_after == w.held);
        }
        int64_t open = 0;
        for (int i = 0; i < nholds; i++)
            open += holds[i].amount;
        assert_true(w.held == open);
        assert_true(w.balance - w.held >= 0);
        assert_true(w.balance <= WD_MONEY_MAX);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credit),
        cmocka_unit_test(test_credit_balance_limit),
        cmocka_unit_test(test_authorize),
        cmocka_unit_test(test_authorize_refusals),
        cmocka_unit_test(test_debit),
        cmocka_unit_test(test_capture_full_and_partial),
        cmocka_unit_test(test_capture_refusals),
        cmocka_unit_test(test_capture_twice),
        cmocka_unit_test(test_void),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_expiry_edge_cases),
        cmocka_unit_test(test_invariants_over_a_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
