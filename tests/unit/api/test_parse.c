/*
 * tests/unit/api/test_parse.c - api/parse: strict bodies for every money operation, amounts,
 * currencies, references, hold expiry, the canonical request hash, idempotency keys and paging.
 */
#include "api/parse.h"
#include "shard/hash.h"
#include "shard/id.h"
#include "wallet/render.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define WALLET_BUCKET 12345
#define TXN_BUCKET    777

static char wallet_id[WD_ID_LEN + 1];
static char txn_id[WD_ID_LEN + 1];

static const struct wd_parse_limits limits = {604800, 2592000};

static int group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    wd_id_new(wallet_id, WD_ID_WALLET, WALLET_BUCKET, INT64_C(1795440482123));
    wd_id_new(txn_id, WD_ID_TXN, TXN_BUCKET, INT64_C(1795440482123));
    return 0;
}

static const char *path_of(enum wd_op_kind kind)
{
    switch (kind) {
    case WD_OP_CREATE_WALLET:
        return "/api/v1/wallets";
    case WD_OP_CREDIT:
        return "/api/v1/transactions/credit";
    case WD_OP_AUTHORIZE:
        return "/api/v1/transactions/authorize";
    case WD_OP_VOID:
        return "/api/v1/transactions/void";
    default:
        return "/api/v1/transactions/debit";
    }
}

/* Parses body for kind into op (zeroed first); returns the code; err gets the message. */
static int parse_as(enum wd_op_kind kind, const char *body, struct wd_op *op, struct wd_error *err)
{
    memset(op, 0, sizeof(*op));
    wd_error_clear(err);
    int rc =
        wd_parse_body(kind, "POST", path_of(kind), body, body ? strlen(body) : 0, &limits, op, err);
    if (rc < 0)
        assert_int_equal(err->code, rc);
    return rc;
}

static int parse_code(enum wd_op_kind kind, const char *body)
{
    struct wd_op op;
    struct wd_error err;

    return parse_as(kind, body, &op, &err);
}

/* A credit-shaped body with the given JSON text spliced in as the amount. */
static int credit_amount(const char *amount_json)
{
    char body[512];

    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":%s,\"referenceId\":\"r-1\"}",
             wallet_id, amount_json);
    return parse_code(WD_OP_CREDIT, body);
}

static void test_create_wallet(void **state)
{
    struct wd_op op;
    struct wd_error err;

    (void)state;
    assert_int_equal(parse_as(WD_OP_CREATE_WALLET,
                              "{\"accountId\":\"cust-42\",\"currency\":\"USD\"}", &op, &err),
                     0);
    assert_int_equal(op.kind, WD_OP_CREATE_WALLET);
    assert_string_equal(op.account_id, "cust-42");
    assert_string_equal(op.currency, "USD");
    assert_true(op.has_currency);
    /* the account's bucket; golden vector of tests/unit/shard/test_hash.c (Python hashlib) */
    assert_int_equal(op.bucket, 6695);

    assert_int_equal(parse_code(WD_OP_CREATE_WALLET, "{\"accountId\":\"cust 42\",\"currency\":"
                                                     "\"USD\"}"),
                     -WD_E_VALIDATION_ERROR);
    assert_int_equal(parse_code(WD_OP_CREATE_WALLET, "{\"accountId\":\"\",\"currency\":\"USD\"}"),
                     -WD_E_VALIDATION_ERROR);
    assert_int_equal(parse_code(WD_OP_CREATE_WALLET, "{\"currency\":\"USD\"}"),
                     -WD_E_VALIDATION_ERROR);
    assert_int_equal(parse_code(WD_OP_CREATE_WALLET, "{\"accountId\":\"c\"}"),
                     -WD_E_VALIDATION_ERROR);
    assert_int_equal(parse_code(WD_OP_CREATE_WALLET, "{\"accountId\":42,\"currency\":\"USD\"}"),
                     -WD_E_VALIDATION_ERROR);
    /* 64 characters are fine, 65 are not */
    char body[256];
    snprintf(body, sizeof(body), "{\"accountId\":\"%064d\",\"currency\":\"EUR\"}", 7);
    assert_int_equal(parse_as(WD_OP_CREATE_WALLET, body, &op, &err), 0);
    assert_int_equal(strlen(op.account_id), 64);
    snprintf(body, sizeof(body), "{\"accountId\":\"%065d\",\"currency\":\"EUR\"}", 7);
    assert_int_equal(parse_code(WD_OP_CREATE_WALLET, body), -WD_E_VALIDATION_ERROR);
    /* an escaped NUL inside the account ID */
    assert_int_equal(
        parse_code(WD_OP_CREATE_WALLET, "{\"accountId\":\"a\\u0000b\",\"currency\":\"USD\"}"),
        -WD_E_INVALID_JSON);
}

static void test_credit(void **state)
{
    struct wd_op op;
    struct wd_error err;
    char body[512];

    (void)state;
    snprintf(body, sizeof(body),
             "{\"walletId\":\"%s\",\"amount\":10000,\"referenceId\":\"topup-1\"}", wallet_id);
    assert_int_equal(parse_as(WD_OP_CREDIT, body, &op, &err), 0);
    assert_int_equal(op.kind, WD_OP_CREDIT);
    assert_string_equal(op.wallet_id, wallet_id);
    assert_int_equal(op.bucket, WALLET_BUCKET);
    assert_true(op.has_amount);
    assert_int_equal(op.amount, 10000);
    assert_string_equal(op.reference_id, "topup-1");

    /* a transaction ID where a wallet ID belongs */
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"r\"}",
             txn_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
    assert_int_equal(
        parse_code(WD_OP_CREDIT, "{\"walletId\":\"wal_1\",\"amount\":1,\"referenceId\":\"r\"}"),
        -WD_E_VALIDATION_ERROR);
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1}", wallet_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"referenceId\":\"r\"}", wallet_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
    /* a required field sent as null is missing */
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":null,\"referenceId\":\"r\"}",
             wallet_id);
    assert_int_equal(parse_as(WD_OP_CREDIT, body, &op, &err), -WD_E_VALIDATION_ERROR);
    assert_non_null(strstr(err.message, "amount"));
    /* unknown field; the message names it */
    snprintf(body, sizeof(body),
             "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"r\",\"memo\":\"x\"}", wallet_id);
    assert_int_equal(parse_as(WD_OP_CREDIT, body, &op, &err), -WD_E_VALIDATION_ERROR);
    assert_non_null(strstr(err.message, "memo"));
    /* currency is not a credit field */
    snprintf(body, sizeof(body),
             "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"r\",\"currency\":\"USD\"}",
             wallet_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
    /* wrong types */
    snprintf(body, sizeof(body), "{\"walletId\":[\"%s\"],\"amount\":1,\"referenceId\":\"r\"}",
             wallet_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":7}", wallet_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":{}}",
             wallet_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
}

static void test_invalid_json(void **state)
{
    static const char *const bad[] = {
        "", "{", "}", "{\"a\":}", "{'amount':1}", "[]", "[1,2]", "\"str\"", "42", "null", "true",
        "{\"accountId\":\"c\",\"currency\":\"USD\"} trailing", "{\"accountId\":\"c\",}",
        /* duplicate members */
        "{\"accountId\":\"a\",\"accountId\":\"b\",\"currency\":\"USD\"}",
        "{\"accountId\":\"a\",\"currency\":\"USD\",\"currency\":\"USD\"}",
        /* invalid UTF-8 */
        "{\"accountId\":\"\xff\",\"currency\":\"USD\"}"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_code(WD_OP_CREATE_WALLET, bad[i]) != -WD_E_INVALID_JSON)
            fail_msg("body '%s' is not INVALID_JSON", bad[i]);
    }
    struct wd_op op;
    struct wd_error err;
    memset(&op, 0, sizeof(op));
    assert_int_equal(wd_parse_body(WD_OP_CREDIT, "POST", "/p", NULL, 0, &limits, &op, &err),
                     -WD_E_INVALID_JSON);
    /* the explicit length is honoured: a valid prefix with a NUL after it is still one body */
    static const char with_nul[] = "{\"accountId\":\"c\",\"currency\":\"USD\"}\0junk";
    assert_int_equal(wd_parse_body(WD_OP_CREATE_WALLET, "POST", "/p", with_nul,
                                   sizeof(with_nul) - 1, &limits, &op, &err),
                     -WD_E_INVALID_JSON);
    assert_int_equal(wd_parse_body(WD_OP_CREATE_WALLET, "POST", "/p", with_nul, strlen(with_nul),
                                   &limits, &op, &err),
                     0);
}

static void test_amounts(void **state)
{
    (void)state;
    assert_int_equal(credit_amount("1"), 0);
    assert_int_equal(credit_amount("9007199254740991"), 0); /* 2^53-1 */
    assert_int_equal(credit_amount("9007199254740992"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("9223372036854775807"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("0"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("-0"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("-1"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("1.0"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("1.5"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("1e2"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("1e30"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("99999999999999999999999"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("-99999999999999999999999"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("\"10\""), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("true"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("[10]"), -WD_E_INVALID_AMOUNT);
    assert_int_equal(credit_amount("{}"), -WD_E_INVALID_AMOUNT);

    struct wd_op op;
    struct wd_error err;
    char body[512];
    snprintf(body, sizeof(body),
             "{\"walletId\":\"%s\",\"amount\":9007199254740991,\"referenceId\":\"r\"}", wallet_id);
    assert_int_equal(parse_as(WD_OP_CREDIT, body, &op, &err), 0);
    assert_true(op.amount == INT64_C(9007199254740991));
}

static void test_authorize(void **state)
{
    struct wd_op op;
    struct wd_error err;
    char body[512];

    (void)state;
    snprintf(body, sizeof(body),
             "{\"walletId\":\"%s\",\"amount\":2500,\"currency\":\"USD\",\"referenceId\":"
             "\"order-7\",\"expiresInSeconds\":3600}",
             wallet_id);
    assert_int_equal(parse_as(WD_OP_AUTHORIZE, body, &op, &err), 0);
    assert_int_equal(op.kind, WD_OP_AUTHORIZE);
    assert_int_equal(op.amount, 2500);
    assert_true(op.has_currency);
    assert_string_equal(op.currency, "USD");
    assert_string_equal(op.reference_id, "order-7");
    assert_int_equal(op.expires_in_s, 3600);
    assert_int_equal(op.bucket, WALLET_BUCKET);

    /* currency and expiresInSeconds are optional; expiry defaults to the configured 7 days */
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"o\"}",
             wallet_id);
    assert_int_equal(parse_as(WD_OP_AUTHORIZE, body, &op, &err), 0);
    assert_false(op.has_currency);
    assert_int_equal(op.expires_in_s, 604800);
    /* explicit nulls mean absent */
    snprintf(body, sizeof(body),
             "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"o\",\"currency\":null,"
             "\"expiresInSeconds\":null}",
             wallet_id);
    assert_int_equal(parse_as(WD_OP_AUTHORIZE, body, &op, &err), 0);
    assert_false(op.has_currency);
    assert_int_equal(op.expires_in_s, 604800);
}

static int authorize_with(const char *member)
{
    char body[512];

    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"o\",%s}",
             wallet_id, member);
    return parse_code(WD_OP_AUTHORIZE, body);
}

static void test_currencies(void **state)
{
    (void)state;
    assert_int_equal(authorize_with("\"currency\":\"EUR\""), 0);
    assert_int_equal(authorize_with("\"currency\":\"usd\""), -WD_E_INVALID_CURRENCY);
    assert_int_equal(authorize_with("\"currency\":\"US\""), -WD_E_INVALID_CURRENCY);
    assert_int_equal(authorize_with("\"currency\":\"USDD\""), -WD_E_INVALID_CURRENCY);
    assert_int_equal(authorize_with("\"currency\":\"\""), -WD_E_INVALID_CURRENCY);
    assert_int_equal(authorize_with("\"currency\":\"U$D\""), -WD_E_INVALID_CURRENCY);
    assert_int_equal(authorize_with("\"currency\":5"), -WD_E_INVALID_CURRENCY);
    assert_int_equal(authorize_with("\"currency\":[\"USD\"]"), -WD_E_INVALID_CURRENCY);
    assert_int_equal(parse_code(WD_OP_CREATE_WALLET, "{\"accountId\":\"c\",\"currency\":\"usd\"}"),
                     -WD_E_INVALID_CURRENCY);
    assert_int_equal(parse_code(WD_OP_CREATE_WALLET, "{\"accountId\":\"c\",\"currency\":5}"),
                     -WD_E_INVALID_CURRENCY);
}

static void test_expires_in_seconds(void **state)
{
    (void)state;
    assert_int_equal(authorize_with("\"expiresInSeconds\":1"), 0);
    assert_int_equal(authorize_with("\"expiresInSeconds\":2592000"), 0);
    assert_int_equal(authorize_with("\"expiresInSeconds\":0"), -WD_E_VALIDATION_ERROR);
    assert_int_equal(authorize_with("\"expiresInSeconds\":-60"), -WD_E_VALIDATION_ERROR);
    assert_int_equal(authorize_with("\"expiresInSeconds\":2592001"), -WD_E_VALIDATION_ERROR);
    assert_int_equal(authorize_with("\"expiresInSeconds\":60.5"), -WD_E_VALIDATION_ERROR);
    assert_int_equal(authorize_with("\"expiresInSeconds\":\"60\""), -WD_E_VALIDATION_ERROR);
    /* expiresInSeconds belongs to authorize only */
    char body[512];
    snprintf(body, sizeof(body),
             "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"o\",\"expiresInSeconds\":60}",
             wallet_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
}

/*
 * Regression: a number too large for jansson anywhere in the body was once answered
 * INVALID_AMOUNT, even when it was not the amount. docs/API.md: INVALID_AMOUNT is only for
 * `amount`; a bad expiresInSeconds is VALIDATION_ERROR and a non-object body is INVALID_JSON.
 */
static void expect_code(const char *what, int got, int want)
{
    if (got != want)
        fail_msg("%s: got %s, documented answer is %s", what, wd_error_name(got),
                 wd_error_name(want));
}

static void test_overflowing_number_outside_amount(void **state)
{
    (void)state;
    expect_code("authorize with expiresInSeconds 99999999999999999999999",
                authorize_with("\"expiresInSeconds\":99999999999999999999999"),
                -WD_E_VALIDATION_ERROR);
    expect_code("body [99999999999999999999999]",
                parse_code(WD_OP_CREATE_WALLET, "[99999999999999999999999]"), -WD_E_INVALID_JSON);
    expect_code(
        "create wallet with an unknown member 1e999",
        parse_code(WD_OP_CREATE_WALLET, "{\"accountId\":\"c\",\"currency\":\"USD\",\"x\":1e999}"),
        -WD_E_VALIDATION_ERROR);
}

static void test_reference_id(void **state)
{
    char member[128];

    (void)state;
    char body[512];
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"\"}",
             wallet_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"%064d\"}",
             wallet_id, 1);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), 0);
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"%065d\"}",
             wallet_id, 1);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
    static const char *const bad[] = {"a\\u0001b", "tab\\there", "nl\\n", "del\\u007f",
                                      "caf\\u00e9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(member, sizeof(member), "%s", bad[i]);
        snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"%s\"}",
                 wallet_id, member);
        if (parse_code(WD_OP_CREDIT, body) != -WD_E_VALIDATION_ERROR)
            fail_msg("referenceId \"%s\" was not refused", bad[i]);
    }
    /* printable ASCII, space and punctuation included, is fine */
    snprintf(body, sizeof(body),
             "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\" order #7 / {x} ~\"}", wallet_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), 0);
    assert_true(wd_parse_reference_valid("~", 1));
    assert_false(wd_parse_reference_valid("", 0));
    assert_false(wd_parse_reference_valid("a\0b", 3));
}

static void test_debit_capture_void(void **state)
{
    struct wd_op op;
    struct wd_error err;
    char body[512];

    (void)state;
    /* debit naming a transaction is a capture; amount optional */
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\",\"amount\":2000}", txn_id);
    assert_int_equal(parse_as(WD_OP_DEBIT, body, &op, &err), 0);
    assert_int_equal(op.kind, WD_OP_CAPTURE);
    assert_string_equal(op.txn_id, txn_id);
    assert_int_equal(op.bucket, TXN_BUCKET);
    assert_true(op.has_amount);
    assert_int_equal(op.amount, 2000);
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\"}", txn_id);
    assert_int_equal(parse_as(WD_OP_DEBIT, body, &op, &err), 0);
    assert_int_equal(op.kind, WD_OP_CAPTURE);
    assert_false(op.has_amount);
    /* a capture has no referenceId */
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\",\"referenceId\":\"r\"}", txn_id);
    assert_int_equal(parse_code(WD_OP_DEBIT, body), -WD_E_VALIDATION_ERROR);
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\",\"amount\":0}", txn_id);
    assert_int_equal(parse_code(WD_OP_DEBIT, body), -WD_E_INVALID_AMOUNT);
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\"}", wallet_id);
    assert_int_equal(parse_code(WD_OP_DEBIT, body), -WD_E_VALIDATION_ERROR);

    /* debit naming a wallet is a direct debit with credit's fields */
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":500,\"referenceId\":\"d-1\"}",
             wallet_id);
    assert_int_equal(parse_as(WD_OP_DEBIT, body, &op, &err), 0);
    assert_int_equal(op.kind, WD_OP_DEBIT);
    assert_int_equal(op.amount, 500);
    assert_int_equal(op.bucket, WALLET_BUCKET);
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":500}", wallet_id);
    assert_int_equal(parse_code(WD_OP_DEBIT, body), -WD_E_VALIDATION_ERROR);
    assert_int_equal(parse_code(WD_OP_DEBIT, "{}"), -WD_E_VALIDATION_ERROR);

    /* both is refused */
    snprintf(body, sizeof(body),
             "{\"transactionId\":\"%s\",\"walletId\":\"%s\",\"amount\":5,\"referenceId\":\"x\"}",
             txn_id, wallet_id);
    assert_int_equal(parse_as(WD_OP_DEBIT, body, &op, &err), -WD_E_VALIDATION_ERROR);
    assert_non_null(strstr(err.message, "not both"));

    /* void */
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\"}", txn_id);
    assert_int_equal(parse_as(WD_OP_VOID, body, &op, &err), 0);
    assert_int_equal(op.kind, WD_OP_VOID);
    assert_string_equal(op.txn_id, txn_id);
    assert_int_equal(op.bucket, TXN_BUCKET);
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\",\"amount\":1}", txn_id);
    assert_int_equal(parse_code(WD_OP_VOID, body), -WD_E_VALIDATION_ERROR);
    assert_int_equal(parse_code(WD_OP_VOID, "{}"), -WD_E_VALIDATION_ERROR);
}

/* The request hash of body for kind at path with method. */
static void hash_of(enum wd_op_kind kind,
                    const char *method,
                    const char *path,
                    const char *body,
                    unsigned char out[WD_HASH_LEN])
{
    struct wd_op op;
    struct wd_error err;

    memset(&op, 0, sizeof(op));
    assert_int_equal(wd_parse_body(kind, method, path, body, strlen(body), &limits, &op, &err), 0);
    memcpy(out, op.request_hash, WD_HASH_LEN);
}

static void test_request_hash(void **state)
{
    unsigned char a[WD_HASH_LEN], b[WD_HASH_LEN], zero[WD_HASH_LEN] = {0};
    char body1[512], body2[512], body3[512];
    const char *p = "/api/v1/transactions/credit";

    (void)state;
    snprintf(body1, sizeof(body1), "{\"walletId\":\"%s\",\"amount\":100,\"referenceId\":\"r\"}",
             wallet_id);
    snprintf(body2, sizeof(body2),
             " {\n\t\"referenceId\" : \"r\",  \"amount\":100 ,\"walletId\":\"%s\"}\n", wallet_id);
    snprintf(body3, sizeof(body3), "{\"walletId\":\"%s\",\"amount\":101,\"referenceId\":\"r\"}",
             wallet_id);
    hash_of(WD_OP_CREDIT, "POST", p, body1, a);
    assert_memory_not_equal(a, zero, WD_HASH_LEN);
    hash_of(WD_OP_CREDIT, "POST", p, body2, b);
    assert_memory_equal(a, b, WD_HASH_LEN); /* key order and whitespace do not matter */
    hash_of(WD_OP_CREDIT, "POST", p, body3, b);
    assert_memory_not_equal(a, b, WD_HASH_LEN); /* the amount does */
    hash_of(WD_OP_CREDIT, "POST", "/api/v1/transactions/debit", body1, b);
    assert_memory_not_equal(a, b, WD_HASH_LEN); /* so does the path */
    hash_of(WD_OP_CREDIT, "PUT", p, body1, b);
    assert_memory_not_equal(a, b, WD_HASH_LEN); /* and the method */
    hash_of(WD_OP_DEBIT, "POST", p, body1, b);
    assert_memory_equal(a, b, WD_HASH_LEN); /* same method, path and body */

    /* an explicit null optional field hashes as if absent; a present one does not */
    snprintf(body1, sizeof(body1), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"o\"}",
             wallet_id);
    snprintf(body2, sizeof(body2),
             "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"o\",\"currency\":null}",
             wallet_id);
    snprintf(body3, sizeof(body3),
             "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"o\",\"currency\":\"USD\"}",
             wallet_id);
    hash_of(WD_OP_AUTHORIZE, "POST", p, body1, a);
    hash_of(WD_OP_AUTHORIZE, "POST", p, body2, b);
    assert_memory_equal(a, b, WD_HASH_LEN);
    hash_of(WD_OP_AUTHORIZE, "POST", p, body3, b);
    assert_memory_not_equal(a, b, WD_HASH_LEN);
}

static int idem(const char *ietf, const char *legacy, bool required, struct wd_op *op)
{
    struct wd_error err;

    memset(op, 0, sizeof(*op));
    wd_error_clear(&err);
    int rc = wd_parse_idempotency_key(ietf, legacy, required, op, &err);
    if (rc < 0)
        assert_int_equal(err.code, rc);
    return rc;
}

static void test_idempotency_key(void **state)
{
    struct wd_op op;
    char key[300];

    (void)state;
    assert_int_equal(idem(NULL, NULL, true, &op), -WD_E_IDEMPOTENCY_KEY_REQUIRED);
    assert_int_equal(idem(NULL, NULL, false, &op), 0);
    assert_false(op.has_idem);
    assert_int_equal(idem("order-7-auth", NULL, true, &op), 0);
    assert_true(op.has_idem);
    assert_string_equal(op.idem_key, "order-7-auth");
    assert_int_equal(idem(NULL, "legacy-key", true, &op), 0);
    assert_string_equal(op.idem_key, "legacy-key");
    assert_int_equal(idem("same", "same", true, &op), 0);
    assert_string_equal(op.idem_key, "same");
    assert_int_equal(idem("one", "two", true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
    assert_false(op.has_idem);
    assert_int_equal(idem("", "x", true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
    assert_int_equal(idem("", NULL, true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
    assert_int_equal(idem("", NULL, false, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);

    memset(key, 'k', sizeof(key));
    key[255] = '\0';
    assert_int_equal(idem(key, NULL, true, &op), 0);
    assert_int_equal(strlen(op.idem_key), 255);
    key[255] = 'k';
    key[256] = '\0';
    assert_int_equal(idem(key, NULL, true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
    assert_int_equal(idem(NULL, key, true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);

    assert_int_equal(idem("a b ~!{}", NULL, true, &op),
                     0); /* space and punctuation are printable */
    assert_int_equal(idem("tab\tkey", NULL, true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
    assert_int_equal(idem("nl\nkey", NULL, true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
    assert_int_equal(idem("del\x7fkey", NULL, true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
    assert_int_equal(idem("\x01", NULL, true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
    assert_int_equal(idem("caf\xc3\xa9", NULL, true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
}

static int page(const char *limit, const char *cursor, struct wd_op *op)
{
    struct wd_error err;

    memset(op, 0, sizeof(*op));
    wd_error_clear(&err);
    int rc = wd_parse_page(limit, cursor, op, &err);
    if (rc < 0)
        assert_int_equal(err.code, rc);
    return rc;
}

static void test_page(void **state)
{
    struct wd_op op;
    char cursor[32];

    (void)state;
    assert_int_equal(page(NULL, NULL, &op), 0);
    assert_int_equal(op.limit, 50);
    assert_int_equal(op.cursor, 0);
    assert_int_equal(page("1", NULL, &op), 0);
    assert_int_equal(op.limit, 1);
    assert_int_equal(page("200", NULL, &op), 0);
    assert_int_equal(op.limit, 200);
    assert_int_equal(page("0", NULL, &op), -WD_E_VALIDATION_ERROR);
    assert_int_equal(page("201", NULL, &op), -WD_E_VALIDATION_ERROR);
    assert_int_equal(page("-1", NULL, &op), -WD_E_VALIDATION_ERROR);
    assert_int_equal(page("abc", NULL, &op), -WD_E_VALIDATION_ERROR);
    assert_int_equal(page("5x", NULL, &op), -WD_E_VALIDATION_ERROR);
    assert_int_equal(page("", NULL, &op), -WD_E_VALIDATION_ERROR);
    assert_int_equal(page("5.0", NULL, &op), -WD_E_VALIDATION_ERROR);
    assert_int_equal(page("99999999999999999999999", NULL, &op), -WD_E_VALIDATION_ERROR);

    wd_render_cursor(123456789, cursor);
    assert_int_equal(page("10", cursor, &op), 0);
    assert_int_equal(op.limit, 10);
    assert_int_equal(op.cursor, 123456789);
    assert_int_equal(page(NULL, "djEuNDI", &op), 0); /* base64url("v1.42"), by Python */
    assert_int_equal(op.cursor, 42);
    assert_int_equal(page(NULL, "garbage!", &op), -WD_E_INVALID_CURSOR);
    assert_int_equal(page(NULL, "", &op), -WD_E_INVALID_CURSOR);
    assert_int_equal(page(NULL, "123", &op), -WD_E_INVALID_CURSOR);
    assert_int_equal(page("abc", "djEuNDI", &op), -WD_E_VALIDATION_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_wallet),
        cmocka_unit_test(test_credit),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_amounts),
        cmocka_unit_test(test_authorize),
        cmocka_unit_test(test_currencies),
        cmocka_unit_test(test_expires_in_seconds),
        cmocka_unit_test(test_overflowing_number_outside_amount),
        cmocka_unit_test(test_reference_id),
        cmocka_unit_test(test_debit_capture_void),
        cmocka_unit_test(test_request_hash),
        cmocka_unit_test(test_idempotency_key),
        cmocka_unit_test(test_page),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
