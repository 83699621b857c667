/*
 * tests/unit/wallet/test_render.c - wallet/render: the exact JSON of wallets, transactions and
 * ledger entries (docs/API.md "Resources"), timestamps, and ledger cursors.
 */
#include "wallet/render.h"

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
    /* docs/API.md's ledger entry, id as a string, no walletId */
    expect_json(wd_render_entry(&e),
                "{\"id\":\"3\",\"transactionId\":\"txn_9\",\"type\":\"CAPTURE\",\"amount\":-200,"
                "\"heldChange\":-300,\"balanceAfter\":800,\"heldAfter\":0,\"availableAfter\":800,"
                "\"createdAt\":\"1999-12-31T23:59:59.500Z\"}");

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
        assert_string_equal(member(o, "id"), "18446744073709551615");
        assert_int_equal(json_integer_value(json_object_get(o, "availableAfter")), 600);
        json_decref(o);
    }
}

/* Cursors: base64url("v1." + id) without padding, values computed with Python's base64. */
static const struct {
    uint64_t id;
    const char *text;
} cursors[] = {
    {1, "djEuMQ"},
    {42, "djEuNDI"},
    {12345, "djEuMTIzNDU"},
    {UINT64_C(9007199254740992), "djEuOTAwNzE5OTI1NDc0MDk5Mg"},
    {UINT64_MAX, "djEuMTg0NDY3NDQwNzM3MDk1NTE2MTU"},
};

static void test_cursor_round_trip(void **state)
{
    char text[32];
    uint64_t id;

    (void)state;
    for (size_t i = 0; i < N_CASES(cursors); i++) {
        memset(text, 'z', sizeof(text));
        wd_render_cursor(cursors[i].id, text);
        assert_string_equal(text, cursors[i].text);
        id = 0;
        assert_int_equal(wd_render_parse_cursor(text, &id), 0);
        assert_true(id == cursors[i].id);
    }
}

static void test_cursor_garbage(void **state)
{
    static const char *const bad[] = {
        "",
        "djEu",                            /* "v1." with no id */
        "djEuMA",                          /* "v1.0": ids start at 1 */
        "djIuNQ",                          /* "v2.5" */
        "VjEuNQ",                          /* "V1.5" */
        "djEuMDU",                         /* "v1.05": one spelling per id */
        "djEuNXg",                         /* "v1.5x" */
        "djEuLTU",                         /* "v1.-5" */
        "djEuKzU",                         /* "v1.+5" */
        "djEuIDU",                         /* "v1. 5" */
        "djEuMTg0NDY3NDQwNzM3MDk1NTE2MTY", /* "v1.18446744073709551616" overflows */
        "djEuNDI=",                        /* padded */
        "djEu NDI",                        /* whitespace */
        "djEuNDI\n",
        "djEuNDJ", /* non-zero trailing bits */
        "djEuNDI!",
        "djEuNDI+", /* standard, not url-safe, alphabet */
        "42",
        "v1.42",
        "djEuMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMg", /* 34 characters: over the 31 of a cursor */
    };
    uint64_t id;

    (void)state;
    for (size_t i = 0; i < N_CASES(bad); i++) {
        id = 777;
        if (wd_render_parse_cursor(bad[i], &id) != -1)
            fail_msg("cursor '%s' was accepted as %llu", bad[i], (unsigned long long)id);
        assert_int_equal(id, 777);
    }
}

/*
 * Regression: wd_render_parse_cursor once stopped reading the id at a NUL byte inside the
 * decoded text, so base64url("v1.5\0") = "djEuNQA", which wd_render_cursor never makes, was
 * accepted as the cursor of id 5. The header's contract is "a cursor made by wd_render_cursor".
 */
static void test_cursor_with_decoded_nul_is_refused(void **state)
{
    uint64_t id = 777;

    (void)state;
    assert_int_equal(wd_render_parse_cursor("djEuNQA", &id), -1);
    assert_int_equal(id, 777);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_wallet),
        cmocka_unit_test(test_txn_pending_authorization),
        cmocka_unit_test(test_txn_names_and_nulls),
        cmocka_unit_test(test_entry),
        cmocka_unit_test(test_cursor_round_trip),
        cmocka_unit_test(test_cursor_garbage),
        cmocka_unit_test(test_cursor_with_decoded_nul_is_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
