/*
 * tests/unit/wallet/test_render.c - wallet/render: the exact JSON of wallets, transactions and
 * ledger entries (docs/API.md "Resources"), and timestamps.
 */
#include "wallet/render.h"

#include "core/seal.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/testing.h"

static int group_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

/*
 * Timestamps, computed with Python:
 *   python3 -c 'import datetime; print(int(datetime.datetime.fromisoformat(
 *       "2026-11-23T13:28:02.123+00:00").timestamp() * 1000 + 0.5))'
 */
static const struct {
    int64_t ms;
    const char *text;
} stamps[] = {
    {INT64_C(1795440482123), "2026-11-23T13:28:02.123Z"},
    {INT64_C(1709251199999), "2024-02-29T23:59:59.999Z"},
    {INT64_C(1), "1970-01-01T00:00:00.001Z"},
    {INT64_C(4102444800000), "2100-01-01T00:00:00.000Z"},
    {INT64_C(946684799500), "1999-12-31T23:59:59.500Z"},
};

/* Renders o compactly in insertion order, consuming the reference. */
static char *dump(json_t *o)
{
    assert_non_null(o);
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    assert_non_null(text);
    return text;
}

static void expect_json(json_t *o, const char *want)
{
    char *text = dump(o);

    assert_string_equal(text, want);
    free(text);
}

/* The string member name of o, or NULL. */
static const char *member(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

static void test_timestamps(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CASES(stamps); i++) {
        const struct wd_entry e = {.created_ms = stamps[i].ms};
        json_t *o = wd_render_entry(&e);
        assert_non_null(o);
        assert_string_equal(member(o, "createdAt"), stamps[i].text);
        json_decref(o);
    }
}

static void test_wallet(void **state)
{
    struct wd_wallet w = {.id = "wal_1325",
                          .tenant = "acme",
                          .account = "cust-1",
                          .currency = "USD",
                          .status = WD_WALLET_ACTIVE,
                          .balance = 1000,
                          .held = 300,
                          .created_ms = INT64_C(1795440482123),
                          .updated_ms = INT64_C(1709251199999)};

    (void)state;
    /* the shape of docs/API.md's wallet; the tenant is never shown */
    expect_json(wd_render_wallet(&w),
                "{\"id\":\"wal_1325\",\"accountId\":\"cust-1\",\"currency\":\"USD\",\"status\":"
                "\"ACTIVE\",\"balance\":1000,\"held\":300,\"available\":700,\"createdAt\":\"2026-"
                "11-23T13:28:02.123Z\",\"updatedAt\":\"2024-02-29T23:59:59.999Z\"}");

    /* balances up to 2^53-1 are exact integers in the JSON */
    w.balance = INT64_C(9007199254740991);
    w.held = INT64_C(9007199254740990);
    json_t *o = wd_render_wallet(&w);
    assert_true(json_integer_value(json_object_get(o, "balance")) == INT64_C(9007199254740991));
    assert_int_equal(json_integer_value(json_object_get(o, "available")), 1);
    json_decref(o);
}

static void test_txn_pending_authorization(void **state)
{
    struct wd_txn t = {.id = "txn_167a",
                       .wallet_id = "wal_167a",
                       .currency = "USD",
                       .reference = "order-1",
                       .type = WD_TXN_AUTHORIZATION,
                       .status = WD_TXN_PENDING,
                       .amount = 300,
                       .expires_ms = INT64_C(4102444800000),
                       .created_ms = INT64_C(1795440482123),
                       .updated_ms = INT64_C(1795440482123)};

    (void)state;
    /* docs/API.md's transaction: capturedAmount null until captured */
    expect_json(wd_render_txn(&t),
                "{\"id\":\"txn_167a\",\"walletId\":\"wal_167a\",\"type\":\"AUTHORIZATION\","
                "\"status\":\"PENDING\",\"amount\":300,\"capturedAmount\":null,\"currency\":"
                "\"USD\",\"referenceId\":\"order-1\",\"expiresAt\":\"2100-01-01T00:00:00.000Z\","
                "\"createdAt\":\"2026-11-23T13:28:02.123Z\",\"updatedAt\":\"2026-11-23T13:28:02."
                "123Z\"}");

    t.status = WD_TXN_COMPLETED;
    t.captured = 200;
    json_t *o = wd_render_txn(&t);
    assert_string_equal(member(o, "status"), "COMPLETED");
    assert_int_equal(json_integer_value(json_object_get(o, "capturedAmount")), 200);
    json_decref(o);
}

static void test_txn_names_and_nulls(void **state)
{
    static const struct {
        int type, status;
        const char *type_name, *status_name;
    } cases[] = {
        {WD_TXN_CREDIT, WD_TXN_COMPLETED, "CREDIT", "COMPLETED"},
        {WD_TXN_DEBIT, WD_TXN_COMPLETED, "DEBIT", "COMPLETED"},
        {WD_TXN_AUTHORIZATION, WD_TXN_VOIDED, "AUTHORIZATION", "VOIDED"},
        {WD_TXN_AUTHORIZATION, WD_TXN_EXPIRED, "AUTHORIZATION", "EXPIRED"},
    };
    (void)state;
    for (size_t i = 0; i < N_CASES(cases); i++) {
        const struct wd_txn t = {
            .type = cases[i].type, .status = cases[i].status, .amount = 5, .created_ms = 1};
        json_t *o = wd_render_txn(&t);
        assert_string_equal(member(o, "type"), cases[i].type_name);
        assert_string_equal(member(o, "status"), cases[i].status_name);
        /* no expiry (credit/debit) and no capture are JSON null, not 0 or "" */
        assert_true(json_is_null(json_object_get(o, "expiresAt")));
        assert_true(json_is_null(json_object_get(o, "capturedAmount")));
        assert_int_equal(json_object_size(o), 11);
        json_decref(o);
    }
}

static void test_entry(void **state)
{
    struct wd_entry e = {.id = 3,
                         .txn_id = "txn_9",
                         .wallet_id = "wal_9",
                         .type = WD_ENTRY_CAPTURE,
                         .amount = -200,
                         .held_delta = -300,
                         .balance_after = 800,
                         .held_after = 0,
                         .created_ms = INT64_C(946684799500)};

    (void)state;
    /* docs/API.md's ledger entry, its id sealed (core/seal), no walletId */
    char id[WD_SEAL_ENTRY_ID_LEN + 1], expected[512];
    wd_seal_entry_id("wal_9", 3, id);
    snprintf(expected, sizeof(expected),
             "{\"id\":\"%s\",\"transactionId\":\"txn_9\",\"type\":\"CAPTURE\",\"amount\":-200,"
             "\"heldChange\":-300,\"balanceAfter\":800,\"heldAfter\":0,\"availableAfter\":800,"
             "\"createdAt\":\"1999-12-31T23:59:59.500Z\"}",
             id);
    expect_json(wd_render_entry(&e), expected);

    static const struct {
        int type;
        const char *name;
    } types[] = {{WD_ENTRY_CREDIT, "CREDIT"},
                 {WD_ENTRY_DEBIT, "DEBIT"},
                 {WD_ENTRY_HOLD, "HOLD"},
                 {WD_ENTRY_RELEASE, "RELEASE"},
                 {WD_ENTRY_CAPTURE, "CAPTURE"}};
    for (size_t i = 0; i < N_CASES(types); i++) {
        e.type = types[i].type;
        e.id = UINT64_MAX; /* ids are unsigned 64-bit in the database */
        e.balance_after = 1000;
        e.held_after = 400;
        json_t *o = wd_render_entry(&e);
        assert_string_equal(member(o, "type"), types[i].name);
        wd_seal_entry_id("wal_9", UINT64_MAX, id);
        assert_string_equal(member(o, "id"), id);
        assert_int_equal(json_integer_value(json_object_get(o, "availableAfter")), 600);
        json_decref(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_wallet),
        cmocka_unit_test(test_txn_pending_authorization),
        cmocka_unit_test(test_txn_names_and_nulls),
        cmocka_unit_test(test_entry),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
