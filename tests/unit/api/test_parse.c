/*
 * tests/unit/api/test_parse.c - api/parse: strict bodies for every money operation, amounts,
 * currencies, references, hold expiry, the canonical request hash, idempotency keys and paging.
 */
#include "api/parse.h"
#include "core/seal.h"
#include "shard/hash.h"
#include "shard/id.h"
#include "wallet/render.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/testing.h"

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

/* Zeroes op and clears err before a parse into them. */
static void fresh(struct wd_op *op, struct wd_error *err)
{
    memset(op, 0, sizeof(*op));
    wd_error_clear(err);
}

/* A code's name for a failure message; 0 is success. */
static const char *code_name(int code)
{
    return code == 0 ? "success" : wd_error_name(code);
}

/* A text for a failure message; NULL is absent. */
static const char *shown(const char *text)
{
    return text ? text : "(absent)";
}

/* A parser's return code, once the code of err is checked to be the same on failure. */
static int checked(int rc, const struct wd_error *err)
{
    if (rc < 0 && err->code != rc)
        fail_msg("returned %s, err.code %s", code_name(rc), code_name(err->code));
    return rc;
}

/* Parses body for kind into op (zeroed first); returns the code; err gets the message. */
static int parse_as(enum wd_op_kind kind, const char *body, struct wd_op *op, struct wd_error *err)
{
    fresh(op, err);
    return checked(
        wd_parse_body(kind, "POST", path_of(kind), body, body ? strlen(body) : 0, &limits, op, err),
        err);
}

static int parse_code(enum wd_op_kind kind, const char *body)
{
    struct wd_op op;
    struct wd_error err;

    return parse_as(kind, body, &op, &err);
}

/* what (a body, or a description of one) must be answered want. */
static void expect_code(const char *what, int got, int want)
{
    if (got != want)
        fail_msg("%s: got %s, documented answer is %s", what, code_name(got), code_name(want));
}

#define BODY_MAX 512

/*
 * Writes {"walletId":"<wallet_id>",<a><b><c>} to body (BODY_MAX bytes): members around a real
 * wallet ID, with a test's text spliced in between a and c. Returns body.
 */
static const char *wallet_body(char *body, const char *a, const char *b, const char *c)
{
    snprintf(body, BODY_MAX, "{\"walletId\":\"%s\",%s%s%s}", wallet_id, a, b, c);
    return body;
}

/* Writes {"transactionId":"<txn_id>"<rest>} to body (BODY_MAX bytes). Returns body. */
static const char *txn_body(char *body, const char *rest)
{
    snprintf(body, BODY_MAX, "{\"transactionId\":\"%s\"%s}", txn_id, rest);
    return body;
}

/* A credit-shaped body with the given JSON text spliced in as the amount. */
static int credit_amount(const char *amount_json)
{
    char body[BODY_MAX];

    return parse_code(WD_OP_CREDIT,
                      wallet_body(body, "\"amount\":", amount_json, ",\"referenceId\":\"r-1\""));
}

/* An authorize body with one more member. */
static int authorize_with(const char *member)
{
    char body[BODY_MAX];

    return parse_code(WD_OP_AUTHORIZE,
                      wallet_body(body, "\"amount\":1,\"referenceId\":\"o\",", member, ""));
}

/* A body text and the code it is answered with. */
struct answer {
    const char *text;
    int code;
};

/* Each row's text, run through parse (one of the wrappers above), must be answered its code. */
static void expect_answers(int (*parse)(const char *), const struct answer *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        expect_code(rows[i].text, parse(rows[i].text), rows[i].code);
}

static int create_wallet(const char *body)
{
    return parse_code(WD_OP_CREATE_WALLET, body);
}

static void test_create_wallet(void **state)
{
    static const struct answer refused[] = {
        {"{\"accountId\":\"cust 42\",\"currency\":\"USD\"}", -WD_E_VALIDATION_ERROR},
        {"{\"accountId\":\"\",\"currency\":\"USD\"}", -WD_E_VALIDATION_ERROR},
        {"{\"currency\":\"USD\"}", -WD_E_VALIDATION_ERROR},
        {"{\"accountId\":\"c\"}", -WD_E_VALIDATION_ERROR},
        {"{\"accountId\":42,\"currency\":\"USD\"}", -WD_E_VALIDATION_ERROR},
        /* an escaped NUL inside the account ID */
        {"{\"accountId\":\"a\\u0000b\",\"currency\":\"USD\"}", -WD_E_INVALID_JSON},
    };
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

    expect_answers(create_wallet, refused, N_CASES(refused));
    /* 64 characters are fine, 65 are not */
    char body[256];
    snprintf(body, sizeof(body), "{\"accountId\":\"%064d\",\"currency\":\"EUR\"}", 7);
    assert_int_equal(parse_as(WD_OP_CREATE_WALLET, body, &op, &err), 0);
    assert_int_equal(strlen(op.account_id), 64);
    snprintf(body, sizeof(body), "{\"accountId\":\"%065d\",\"currency\":\"EUR\"}", 7);
    assert_int_equal(parse_code(WD_OP_CREATE_WALLET, body), -WD_E_VALIDATION_ERROR);
}

static void test_credit(void **state)
{
    /* members after a real walletId, each refused; the message names what it is given */
    static const struct {
        const char *members, *named;
    } refused[] = {
        {"\"amount\":1", NULL},
        {"\"referenceId\":\"r\"", NULL},
        /* a required field sent as null is missing */
        {"\"amount\":null,\"referenceId\":\"r\"", "amount"},
        /* unknown field; the message names it */
        {"\"amount\":1,\"referenceId\":\"r\",\"memo\":\"x\"", "memo"},
        /* currency is not a credit field */
        {"\"amount\":1,\"referenceId\":\"r\",\"currency\":\"USD\"", NULL},
        /* wrong types */
        {"\"amount\":1,\"referenceId\":7", NULL},
        {"\"amount\":1,\"referenceId\":{}", NULL},
    };
    struct wd_op op;
    struct wd_error err;
    char body[BODY_MAX];

    (void)state;
    wallet_body(body, "\"amount\":10000,\"referenceId\":\"topup-1\"", "", "");
    assert_int_equal(parse_as(WD_OP_CREDIT, body, &op, &err), 0);
    assert_int_equal(op.kind, WD_OP_CREDIT);
    assert_string_equal(op.wallet_id, wallet_id);
    assert_int_equal(op.bucket, WALLET_BUCKET);
    assert_true(op.has_amount);
    assert_int_equal(op.amount, 10000);
    assert_string_equal(op.reference_id, "topup-1");

    for (size_t i = 0; i < N_CASES(refused); i++) {
        wallet_body(body, refused[i].members, "", "");
        expect_code(body, parse_as(WD_OP_CREDIT, body, &op, &err), -WD_E_VALIDATION_ERROR);
        if (refused[i].named && !strstr(err.message, refused[i].named))
            fail_msg("%s: message '%s' does not name %s", body, err.message, refused[i].named);
    }
    /* a transaction ID where a wallet ID belongs */
    snprintf(body, sizeof(body), "{\"walletId\":\"%s\",\"amount\":1,\"referenceId\":\"r\"}",
             txn_id);
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
    assert_int_equal(
        parse_code(WD_OP_CREDIT, "{\"walletId\":\"wal_1\",\"amount\":1,\"referenceId\":\"r\"}"),
        -WD_E_VALIDATION_ERROR);
    snprintf(body, sizeof(body), "{\"walletId\":[\"%s\"],\"amount\":1,\"referenceId\":\"r\"}",
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
    for (size_t i = 0; i < N_CASES(bad); i++) {
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
    static const struct answer amounts[] = {
        {"1", 0},
        {"9007199254740991", 0}, /* 2^53-1 */
        {"9007199254740992", -WD_E_INVALID_AMOUNT},
        {"9223372036854775807", -WD_E_INVALID_AMOUNT},
        {"0", -WD_E_INVALID_AMOUNT},
        {"-0", -WD_E_INVALID_AMOUNT},
        {"-1", -WD_E_INVALID_AMOUNT},
        {"1.0", -WD_E_INVALID_AMOUNT},
        {"1.5", -WD_E_INVALID_AMOUNT},
        {"1e2", -WD_E_INVALID_AMOUNT},
        {"1e30", -WD_E_INVALID_AMOUNT},
        {"99999999999999999999999", -WD_E_INVALID_AMOUNT},
        {"-99999999999999999999999", -WD_E_INVALID_AMOUNT},
        {"\"10\"", -WD_E_INVALID_AMOUNT},
        {"true", -WD_E_INVALID_AMOUNT},
        {"[10]", -WD_E_INVALID_AMOUNT},
        {"{}", -WD_E_INVALID_AMOUNT},
    };
    struct wd_op op;
    struct wd_error err;
    char body[BODY_MAX];

    (void)state;
    expect_answers(credit_amount, amounts, N_CASES(amounts));
    wallet_body(body, "\"amount\":9007199254740991,\"referenceId\":\"r\"", "", "");
    assert_int_equal(parse_as(WD_OP_CREDIT, body, &op, &err), 0);
    assert_true(op.amount == INT64_C(9007199254740991));
}

static void test_authorize(void **state)
{
    struct wd_op op;
    struct wd_error err;
    char body[BODY_MAX];

    (void)state;
    wallet_body(body,
                "\"amount\":2500,\"currency\":\"USD\",\"referenceId\":\"order-7\","
                "\"expiresInSeconds\":3600",
                "", "");
    assert_int_equal(parse_as(WD_OP_AUTHORIZE, body, &op, &err), 0);
    assert_int_equal(op.kind, WD_OP_AUTHORIZE);
    assert_int_equal(op.amount, 2500);
    assert_true(op.has_currency);
    assert_string_equal(op.currency, "USD");
    assert_string_equal(op.reference_id, "order-7");
    assert_int_equal(op.expires_in_s, 3600);
    assert_int_equal(op.bucket, WALLET_BUCKET);

    /* currency and expiresInSeconds are optional; expiry defaults to the configured 7 days;
     * explicit nulls mean absent */
    static const char *const defaulted[] = {
        "\"amount\":1,\"referenceId\":\"o\"",
        "\"amount\":1,\"referenceId\":\"o\",\"currency\":null,\"expiresInSeconds\":null",
    };
    for (size_t i = 0; i < N_CASES(defaulted); i++) {
        wallet_body(body, defaulted[i], "", "");
        expect_code(body, parse_as(WD_OP_AUTHORIZE, body, &op, &err), 0);
        assert_false(op.has_currency);
        assert_int_equal(op.expires_in_s, 604800);
    }
}

static void test_currencies(void **state)
{
    static const struct answer currencies[] = {
        {"\"currency\":\"EUR\"", 0},
        {"\"currency\":\"usd\"", -WD_E_INVALID_CURRENCY},
        {"\"currency\":\"US\"", -WD_E_INVALID_CURRENCY},
        {"\"currency\":\"USDD\"", -WD_E_INVALID_CURRENCY},
        {"\"currency\":\"\"", -WD_E_INVALID_CURRENCY},
        {"\"currency\":\"U$D\"", -WD_E_INVALID_CURRENCY},
        {"\"currency\":5", -WD_E_INVALID_CURRENCY},
        {"\"currency\":[\"USD\"]", -WD_E_INVALID_CURRENCY},
    };
    static const struct answer wallets[] = {
        {"{\"accountId\":\"c\",\"currency\":\"usd\"}", -WD_E_INVALID_CURRENCY},
        {"{\"accountId\":\"c\",\"currency\":5}", -WD_E_INVALID_CURRENCY},
    };

    (void)state;
    expect_answers(authorize_with, currencies, N_CASES(currencies));
    expect_answers(create_wallet, wallets, N_CASES(wallets));
}

static void test_expires_in_seconds(void **state)
{
    static const struct answer expiries[] = {
        {"\"expiresInSeconds\":1", 0},
        {"\"expiresInSeconds\":2592000", 0},
        {"\"expiresInSeconds\":0", -WD_E_VALIDATION_ERROR},
        {"\"expiresInSeconds\":-60", -WD_E_VALIDATION_ERROR},
        {"\"expiresInSeconds\":2592001", -WD_E_VALIDATION_ERROR},
        {"\"expiresInSeconds\":60.5", -WD_E_VALIDATION_ERROR},
        {"\"expiresInSeconds\":\"60\"", -WD_E_VALIDATION_ERROR},
    };
    char body[BODY_MAX];

    (void)state;
    expect_answers(authorize_with, expiries, N_CASES(expiries));
    /* expiresInSeconds belongs to authorize only */
    wallet_body(body, "\"amount\":1,\"referenceId\":\"o\",\"expiresInSeconds\":60", "", "");
    assert_int_equal(parse_code(WD_OP_CREDIT, body), -WD_E_VALIDATION_ERROR);
}

/*
 * Regression: a number too large for jansson anywhere in the body was once answered
 * INVALID_AMOUNT, even when it was not the amount. docs/API.md: INVALID_AMOUNT is only for
 * `amount`; a bad expiresInSeconds is VALIDATION_ERROR and a non-object body is INVALID_JSON.
 */
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

/* A credit with this referenceId. */
static int credit_reference(const char *reference)
{
    char body[BODY_MAX];

    return parse_code(WD_OP_CREDIT,
                      wallet_body(body, "\"amount\":1,\"referenceId\":\"", reference, "\""));
}

static void test_reference_id(void **state)
{
    static const struct answer references[] = {
        {"", -WD_E_VALIDATION_ERROR},
        {"a\\u0001b", -WD_E_VALIDATION_ERROR},
        {"tab\\there", -WD_E_VALIDATION_ERROR},
        {"nl\\n", -WD_E_VALIDATION_ERROR},
        {"del\\u007f", -WD_E_VALIDATION_ERROR},
        {"caf\\u00e9", -WD_E_VALIDATION_ERROR},
        /* printable ASCII, space and punctuation included, is fine */
        {" order #7 / {x} ~", 0},
    };
    char reference[80];

    (void)state;
    expect_answers(credit_reference, references, N_CASES(references));
    /* 64 characters are fine, 65 are not */
    snprintf(reference, sizeof(reference), "%064d", 1);
    assert_int_equal(credit_reference(reference), 0);
    snprintf(reference, sizeof(reference), "%065d", 1);
    assert_int_equal(credit_reference(reference), -WD_E_VALIDATION_ERROR);
    assert_true(wd_parse_reference_valid("~", 1));
    assert_false(wd_parse_reference_valid("", 0));
    assert_false(wd_parse_reference_valid("a\0b", 3));
}

/* Parses body for kind: it must be accepted as an op of kind want on bucket. */
static void expect_op(enum wd_op_kind kind, const char *body, enum wd_op_kind want, int bucket,
                      struct wd_op *op)
{
    struct wd_error err;

    if (parse_as(kind, body, op, &err) != 0)
        fail_msg("%s was refused: %s", body, err.message);
    assert_int_equal(op->kind, want);
    assert_int_equal(op->bucket, bucket);
}

static void test_debit_capture_void(void **state)
{
    struct wd_op op;
    struct wd_error err;
    char body[BODY_MAX];

    (void)state;
    /* debit naming a transaction is a capture; amount optional */
    expect_op(WD_OP_DEBIT, txn_body(body, ",\"amount\":2000"), WD_OP_CAPTURE, TXN_BUCKET, &op);
    assert_string_equal(op.txn_id, txn_id);
    assert_true(op.has_amount);
    assert_int_equal(op.amount, 2000);
    expect_op(WD_OP_DEBIT, txn_body(body, ""), WD_OP_CAPTURE, TXN_BUCKET, &op);
    assert_false(op.has_amount);
    /* a capture has no referenceId */
    assert_int_equal(parse_code(WD_OP_DEBIT, txn_body(body, ",\"referenceId\":\"r\"")),
                     -WD_E_VALIDATION_ERROR);
    assert_int_equal(parse_code(WD_OP_DEBIT, txn_body(body, ",\"amount\":0")),
                     -WD_E_INVALID_AMOUNT);
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\"}", wallet_id);
    assert_int_equal(parse_code(WD_OP_DEBIT, body), -WD_E_VALIDATION_ERROR);

    /* debit naming a wallet is a direct debit with credit's fields */
    expect_op(WD_OP_DEBIT, wallet_body(body, "\"amount\":500,\"referenceId\":\"d-1\"", "", ""),
              WD_OP_DEBIT, WALLET_BUCKET, &op);
    assert_int_equal(op.amount, 500);
    assert_int_equal(parse_code(WD_OP_DEBIT, wallet_body(body, "\"amount\":500", "", "")),
                     -WD_E_VALIDATION_ERROR);
    assert_int_equal(parse_code(WD_OP_DEBIT, "{}"), -WD_E_VALIDATION_ERROR);

    /* both is refused */
    snprintf(body, sizeof(body),
             "{\"transactionId\":\"%s\",\"walletId\":\"%s\",\"amount\":5,\"referenceId\":\"x\"}",
             txn_id, wallet_id);
    assert_int_equal(parse_as(WD_OP_DEBIT, body, &op, &err), -WD_E_VALIDATION_ERROR);
    assert_non_null(strstr(err.message, "not both"));

    /* void */
    expect_op(WD_OP_VOID, txn_body(body, ""), WD_OP_VOID, TXN_BUCKET, &op);
    assert_string_equal(op.txn_id, txn_id);
    assert_int_equal(parse_code(WD_OP_VOID, txn_body(body, ",\"amount\":1")),
                     -WD_E_VALIDATION_ERROR);
    assert_int_equal(parse_code(WD_OP_VOID, "{}"), -WD_E_VALIDATION_ERROR);
}

/* The request hash of body for kind at path with method. */
static void hash_of(enum wd_op_kind kind, const char *method, const char *path, const char *body,
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

/*
 * Out of memory, a body is parsed whole or not at all: with each of jansson's allocations failing
 * in turn, the parse is the one made with memory to spare (fields and request hash) or NOMEM;
 * never a refusal of a good body, never a body read short (jansson's lexer drops a byte it
 * cannot save and carries on), never a hash of less than the body.
 */
static void test_out_of_memory(void **state)
{
    char credit[BODY_MAX], capture[BODY_MAX];
    const struct {
        enum wd_op_kind kind;
        const char *body;
    } cases[] = {
        {WD_OP_CREATE_WALLET,
         "{\"accountId\":\"customer-2026-11-29-0001:eu\",\"currency\":\"EUR\"}"},
        {WD_OP_CREDIT, wallet_body(credit, "\"amount\":9007199254740991,",
                                   "\"referenceId\":\"order-2026-11-29-0001\"", "")},
        {WD_OP_DEBIT, txn_body(capture, ",\"amount\":1500")},
    };

    (void)state;
    for (size_t i = 0; i < N_CASES(cases); i++) {
        struct wd_op want, got;
        struct wd_error err;
        long n;
        assert_int_equal(parse_as(cases[i].kind, cases[i].body, &want, &err), 0);
        for (n = 1;; n++) {
            jansson_fail_at(n);
            int rc = parse_as(cases[i].kind, cases[i].body, &got, &err);
            bool done = jansson_all_tried();
            jansson_fail_at(0);
            if (rc != 0 && rc != -WD_E_NOMEM)
                fail_msg("%s, allocation %ld failing: %s", cases[i].body, n, code_name(rc));
            if (rc == 0 && memcmp(&got, &want, sizeof(got)) != 0)
                fail_msg("%s, allocation %ld failing: parsed as another request", cases[i].body, n);
            if (done)
                break;
        }
        assert_true(n > 5);
    }
}

static int idem(const char *ietf, const char *legacy, bool required, struct wd_op *op)
{
    struct wd_error err;

    fresh(op, &err);
    return checked(wd_parse_idempotency_key(ietf, legacy, required, op, &err), &err);
}

static void test_idempotency_key(void **state)
{
    static const struct {
        const char *ietf, *legacy; /* Idempotency-Key, X-Idempotency-Key */
        bool required;
        int code;
        const char *key; /* the key taken, or NULL for none */
    } cases[] = {
        {NULL, NULL, true, -WD_E_IDEMPOTENCY_KEY_REQUIRED, NULL},
        {NULL, NULL, false, 0, NULL},
        {"order-7-auth", NULL, true, 0, "order-7-auth"},
        {NULL, "legacy-key", true, 0, "legacy-key"},
        {"same", "same", true, 0, "same"},
        {"one", "two", true, -WD_E_INVALID_IDEMPOTENCY_KEY, NULL},
        {"", "x", true, -WD_E_INVALID_IDEMPOTENCY_KEY, NULL},
        {"", NULL, true, -WD_E_INVALID_IDEMPOTENCY_KEY, NULL},
        {"", NULL, false, -WD_E_INVALID_IDEMPOTENCY_KEY, NULL},
        {"a b ~!{}", NULL, true, 0, "a b ~!{}"}, /* space and punctuation are printable */
        {"tab\tkey", NULL, true, -WD_E_INVALID_IDEMPOTENCY_KEY, NULL},
        {"nl\nkey", NULL, true, -WD_E_INVALID_IDEMPOTENCY_KEY, NULL},
        {"del\x7fkey", NULL, true, -WD_E_INVALID_IDEMPOTENCY_KEY, NULL},
        {"\x01", NULL, true, -WD_E_INVALID_IDEMPOTENCY_KEY, NULL},
        {"caf\xc3\xa9", NULL, true, -WD_E_INVALID_IDEMPOTENCY_KEY, NULL},
    };
    struct wd_op op;
    char key[300];

    (void)state;
    for (size_t i = 0; i < N_CASES(cases); i++) {
        int rc = idem(cases[i].ietf, cases[i].legacy, cases[i].required, &op);
        if (rc != cases[i].code || op.has_idem != (cases[i].key != NULL) ||
            (cases[i].key && strcmp(op.idem_key, cases[i].key) != 0))
            fail_msg("keys '%s' and '%s': %s, key '%s'; expected %s, key '%s'",
                     shown(cases[i].ietf), shown(cases[i].legacy), code_name(rc),
                     op.has_idem ? op.idem_key : "(none)", code_name(cases[i].code),
                     shown(cases[i].key));
    }

    memset(key, 'k', sizeof(key));
    key[255] = '\0';
    assert_int_equal(idem(key, NULL, true, &op), 0);
    assert_int_equal(strlen(op.idem_key), 255);
    key[255] = 'k';
    key[256] = '\0';
    assert_int_equal(idem(key, NULL, true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
    assert_int_equal(idem(NULL, key, true, &op), -WD_E_INVALID_IDEMPOTENCY_KEY);
}

#define PAGE_WALLET "wal_0000abababababababababababababababab"

static int page(const char *limit, const char *cursor, struct wd_op *op)
{
    struct wd_error err;

    fresh(op, &err);
    memcpy(op->wallet_id, PAGE_WALLET, sizeof(PAGE_WALLET)); /* cursors are bound to it */
    return checked(wd_parse_page(limit, cursor, op, &err), &err);
}

static void test_page(void **state)
{
    static const struct {
        const char *limit, *cursor; /* ?limit= and ?cursor=, NULL when absent */
        int code;
        int want_limit;       /* when accepted */
        uint64_t want_cursor; /* when accepted */
    } cases[] = {
        {NULL, NULL, 0, 50, 0},
        {"1", NULL, 0, 1, 0},
        {"200", NULL, 0, 200, 0},
        {"0", NULL, -WD_E_VALIDATION_ERROR, 0, 0},
        {"201", NULL, -WD_E_VALIDATION_ERROR, 0, 0},
        {"-1", NULL, -WD_E_VALIDATION_ERROR, 0, 0},
        {"abc", NULL, -WD_E_VALIDATION_ERROR, 0, 0},
        {"5x", NULL, -WD_E_VALIDATION_ERROR, 0, 0},
        {"", NULL, -WD_E_VALIDATION_ERROR, 0, 0},
        {"5.0", NULL, -WD_E_VALIDATION_ERROR, 0, 0},
        {"99999999999999999999999", NULL, -WD_E_VALIDATION_ERROR, 0, 0},
        {NULL, "djEuNDI", -WD_E_INVALID_CURSOR, 0, 0}, /* v1, base64url("v1.42"): refused */
        {NULL, "garbage!", -WD_E_INVALID_CURSOR, 0, 0},
        {NULL, "", -WD_E_INVALID_CURSOR, 0, 0},
        {NULL, "123", -WD_E_INVALID_CURSOR, 0, 0},
        {"abc", "djEuNDI", -WD_E_VALIDATION_ERROR, 0, 0},
    };
    struct wd_op op;
    char cursor[WD_SEAL_CURSOR_MAX];

    (void)state;
    for (size_t i = 0; i < N_CASES(cases); i++) {
        int rc = page(cases[i].limit, cases[i].cursor, &op);
        if (rc != cases[i].code)
            fail_msg("limit %s, cursor %s: %s, expected %s", shown(cases[i].limit),
                     shown(cases[i].cursor), code_name(rc), code_name(cases[i].code));
        if (rc == 0 && (op.limit != cases[i].want_limit || op.cursor != cases[i].want_cursor))
            fail_msg("limit %s, cursor %s: limit %d cursor %llu, expected %d and %llu",
                     shown(cases[i].limit), shown(cases[i].cursor), op.limit,
                     (unsigned long long)op.cursor, cases[i].want_limit,
                     (unsigned long long)cases[i].want_cursor);
    }
    wd_seal_cursor(PAGE_WALLET, 123456789, cursor);
    assert_int_equal(page("10", cursor, &op), 0);
    assert_int_equal(op.limit, 10);
    assert_int_equal(op.cursor, 123456789);
    wd_seal_cursor("wal_0000cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", 123456789, cursor);
    assert_int_equal(page("10", cursor, &op), -WD_E_INVALID_CURSOR); /* another wallet's */
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
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_idempotency_key),
        cmocka_unit_test(test_page),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
