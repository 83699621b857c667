/*
 * tests/unit/core/test_envelope.c - core/envelope and core/error: the exact bytes of success
 * and error envelopes, the folding of internal codes, and the code table against docs/API.md.
 */
#include "core/envelope.h"
#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "tests/unit/testing.h"

/* The error code table of docs/API.md ("Error codes"), copied from the document, not the code. */
static const struct {
    int code;
    const char *name;
    int status;
} documented[] = {
    {-WD_E_INVALID_JSON, "INVALID_JSON", 400},
    {-WD_E_VALIDATION_ERROR, "VALIDATION_ERROR", 400},
    {-WD_E_INVALID_AMOUNT, "INVALID_AMOUNT", 400},
    {-WD_E_INVALID_CURRENCY, "INVALID_CURRENCY", 400},
    {-WD_E_IDEMPOTENCY_KEY_REQUIRED, "IDEMPOTENCY_KEY_REQUIRED", 400},
    {-WD_E_INVALID_IDEMPOTENCY_KEY, "INVALID_IDEMPOTENCY_KEY", 400},
    {-WD_E_INVALID_CURSOR, "INVALID_CURSOR", 400},
    {-WD_E_INVALID_CONSISTENCY_TOKEN, "INVALID_CONSISTENCY_TOKEN", 400},
    {-WD_E_MALFORMED_REQUEST, "MALFORMED_REQUEST", 400},
    {-WD_E_UNAUTHORIZED, "UNAUTHORIZED", 401},
    {-WD_E_NOT_FOUND, "NOT_FOUND", 404},
    {-WD_E_ROUTE_NOT_FOUND, "ROUTE_NOT_FOUND", 404},
    {-WD_E_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", 405},
    {-WD_E_WALLET_EXISTS, "WALLET_EXISTS", 409},
    {-WD_E_INVALID_TRANSACTION_STATE, "INVALID_TRANSACTION_STATE", 409},
    {-WD_E_TRANSACTION_EXPIRED, "TRANSACTION_EXPIRED", 409},
    {-WD_E_IDEMPOTENCY_KEY_IN_PROGRESS, "IDEMPOTENCY_KEY_IN_PROGRESS", 409},
    {-WD_E_PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", 413},
    {-WD_E_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", 415},
    {-WD_E_INSUFFICIENT_FUNDS, "INSUFFICIENT_FUNDS", 422},
    {-WD_E_CURRENCY_MISMATCH, "CURRENCY_MISMATCH", 422},
    {-WD_E_AMOUNT_EXCEEDS_HOLD, "AMOUNT_EXCEEDS_HOLD", 422},
    {-WD_E_BALANCE_LIMIT_EXCEEDED, "BALANCE_LIMIT_EXCEEDED", 422},
    {-WD_E_IDEMPOTENCY_KEY_REUSED, "IDEMPOTENCY_KEY_REUSED", 422},
    {-WD_E_RATE_LIMITED, "RATE_LIMITED", 429},
    {-WD_E_INTERNAL_ERROR, "INTERNAL_ERROR", 500},
    {-WD_E_SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", 503},
    {-WD_E_OUTCOME_UNKNOWN, "OUTCOME_UNKNOWN", 503},
    {-WD_E_NOT_READY, "NOT_READY", 503},
};
#define N_DOCUMENTED (sizeof(documented) / sizeof(documented[0]))

static void test_public_codes_match_the_api_document(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_DOCUMENTED; i++) {
        assert_string_equal(wd_error_name(documented[i].code), documented[i].name);
        assert_int_equal(wd_error_status(documented[i].code), documented[i].status);
        assert_int_equal(wd_error_public(documented[i].code), documented[i].code);
        assert_true(strlen(wd_error_message(documented[i].code)) > 0);
    }
}

static bool is_documented(const char *name)
{
    for (size_t i = 0; i < N_DOCUMENTED; i++) {
        if (strcmp(documented[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Every code the product has either is in the API document or is folded away from clients. */
static void test_every_code_reaches_clients_as_a_documented_one(void **state)
{
    (void)state;
    for (int i = 1; i < WD_CODE_COUNT_; i++) {
        int pub = wd_error_public(-i);
        assert_true(is_documented(wd_error_name(pub)));
        for (int j = 1; j < i; j++)
            assert_string_not_equal(wd_error_name(-i), wd_error_name(-j));
    }
}

static void test_internal_codes_fold(void **state)
{
    (void)state;
    assert_int_equal(wd_error_public(-WD_E_DB), -WD_E_INTERNAL_ERROR);
    assert_int_equal(wd_error_public(-WD_E_NOMEM), -WD_E_INTERNAL_ERROR);
    assert_int_equal(wd_error_public(-WD_E_CONFIG), -WD_E_INTERNAL_ERROR);
    assert_int_equal(wd_error_public(-WD_E_DB_UNAVAILABLE), -WD_E_SERVICE_UNAVAILABLE);
    assert_int_equal(wd_error_public(-WD_E_DB_RETRY), -WD_E_SERVICE_UNAVAILABLE);
    assert_int_equal(wd_error_public(-9999), -WD_E_INTERNAL_ERROR);
    assert_int_equal(wd_error_public(-WD_CODE_COUNT_), -WD_E_INTERNAL_ERROR);
    assert_int_equal(wd_error_public(7), -WD_E_INTERNAL_ERROR);
    assert_int_equal(wd_error_public(0), -WD_E_INTERNAL_ERROR);
    /* unknown codes look up as INTERNAL_ERROR / 500 rather than reading past the table */
    assert_string_equal(wd_error_name(-9999), "INTERNAL_ERROR");
    assert_int_equal(wd_error_status(-9999), 500);
    assert_string_equal(wd_error_name(12), "INTERNAL_ERROR");
    assert_int_equal(wd_error_status(-WD_CODE_COUNT_), 500);
}

static void expect_body(struct wd_body *body, int status, const char *text)
{
    assert_non_null(body->data);
    assert_string_equal(body->data, text);
    assert_int_equal(body->len, strlen(text));
    assert_int_equal(body->status, status);
    wd_envelope_release(body);
    assert_null(body->data);
    assert_int_equal(body->len, 0);
}

static void test_success_envelope_bytes(void **state)
{
    struct wd_body body = {0};

    (void)state;
    json_t *data = json_object();
    json_object_set_new(data, "id", json_string("wal_1"));
    json_object_set_new(data, "balance", json_integer(1000));
    assert_int_equal(wd_envelope_success(&body, 201, data), 0);
    expect_body(
        &body, 201,
        "{\"status\":201,\"code\":\"CREATED\",\"data\":{\"id\":\"wal_1\",\"balance\":1000}}");

    assert_int_equal(wd_envelope_success(&body, 200, json_pack("{s:s}", "status", "live")), 0);
    expect_body(&body, 200, "{\"status\":200,\"code\":\"OK\",\"data\":{\"status\":\"live\"}}");
}

static void test_success_envelope_null_data_is_nomem(void **state)
{
    struct wd_body body = {0};

    (void)state;
    assert_int_equal(wd_envelope_success(&body, 200, NULL), -WD_E_NOMEM);
    assert_null(body.data);
}

static void test_error_envelope_bytes(void **state)
{
    struct wd_body body = {0};

    (void)state;
    /* the exact example of docs/API.md "Envelopes" */
    assert_int_equal(wd_envelope_error(&body, -WD_E_INSUFFICIENT_FUNDS, NULL), 0);
    expect_body(&body, 422,
                "{\"status\":422,\"code\":\"INSUFFICIENT_FUNDS\",\"message\":\"insufficient "
                "available funds\"}");

    assert_int_equal(wd_envelope_error(&body, -WD_E_VALIDATION_ERROR, "amount is required"), 0);
    expect_body(
        &body, 400,
        "{\"status\":400,\"code\":\"VALIDATION_ERROR\",\"message\":\"amount is required\"}");

    /* a message is JSON-escaped, never spliced in raw */
    assert_int_equal(wd_envelope_error(&body, -WD_E_VALIDATION_ERROR, "unknown field 'a\"b\\'"), 0);
    expect_body(&body, 400,
                "{\"status\":400,\"code\":\"VALIDATION_ERROR\",\"message\":\"unknown field "
                "'a\\\"b\\\\'\"}");
}

static void test_error_envelope_internal_codes_do_not_leak(void **state)
{
    struct wd_body body = {0};

    (void)state;
    assert_int_equal(wd_envelope_error(&body, -WD_E_DB, "Duplicate entry 'x' for key 'PRIMARY'"),
                     0);
    expect_body(&body, 500,
                "{\"status\":500,\"code\":\"INTERNAL_ERROR\",\"message\":\"internal error\"}");

    assert_int_equal(wd_envelope_error(&body, -WD_E_DB_UNAVAILABLE, "shard 1: connection refused"),
                     0);
    expect_body(&body, 503,
                "{\"status\":503,\"code\":\"SERVICE_UNAVAILABLE\",\"message\":\"a storage "
                "dependency is unavailable\"}");

    assert_int_equal(wd_envelope_error(&body, -WD_E_DB_RETRY, NULL), 0);
    assert_non_null(strstr(body.data, "\"code\":\"SERVICE_UNAVAILABLE\""));
    assert_int_equal(body.status, 503);
    wd_envelope_release(&body);

    assert_int_equal(wd_envelope_error(&body, -WD_E_NOMEM, "malloc(12) failed"), 0);
    expect_body(&body, 500,
                "{\"status\":500,\"code\":\"INTERNAL_ERROR\",\"message\":\"internal error\"}");

    assert_int_equal(wd_envelope_error(&body, -424242, "?"), 0);
    expect_body(&body, 500,
                "{\"status\":500,\"code\":\"INTERNAL_ERROR\",\"message\":\"internal error\"}");
}

static void test_error_envelope_invalid_utf8_message(void **state)
{
    struct wd_body body = {0};

    (void)state;
    /* jansson refuses invalid UTF-8; the envelope falls back to the default message */
    assert_int_equal(wd_envelope_error(&body, -WD_E_NOT_FOUND, "bad \xff byte"), 0);
    expect_body(&body, 404,
                "{\"status\":404,\"code\":\"NOT_FOUND\",\"message\":\"resource not found\"}");
}

/* Renders the envelope of case i into body (a success around fresh data, or an error). */
static int render(int i, struct wd_body *body)
{
    if (i == 0)
        return wd_envelope_success(body, 201,
                                   json_pack("{s:s, s:I, s:n}", "id", "txn_1", "amount",
                                             (json_int_t)9007199254740991, "expiresAt"));
    return wd_envelope_error(body, i == 1 ? -WD_E_INSUFFICIENT_FUNDS : -WD_E_DB,
                             "a message longer than jansson's first buffer");
}

/* With each of jansson's allocations failing in turn, an envelope is the bytes it is with memory
 * to spare, or NOMEM with no body: never one short of a member or a key. */
static void test_envelopes_out_of_memory(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        struct wd_body want = {0}, got = {0};
        long n;
        assert_int_equal(render(i, &want), 0);
        for (n = 1;; n++) {
            jansson_fail_at(n);
            int rc = render(i, &got);
            bool done = jansson_all_tried();
            jansson_fail_at(0);
            if (rc == 0 && strcmp(got.data, want.data) != 0)
                fail_msg("allocation %ld failing: %s instead of %s", n, got.data, want.data);
            if (rc != 0 && (rc != -WD_E_NOMEM || got.data))
                fail_msg("allocation %ld failing: %d", n, rc);
            wd_envelope_release(&got);
            if (done)
                break;
        }
        assert_true(n > 5);
        wd_envelope_release(&want);
    }
}

static void test_body_release_of_zeroed_body(void **state)
{
    struct wd_body body = {0};

    (void)state;
    wd_envelope_release(&body);
    assert_null(body.data);
}

static void test_error_set_and_clear(void **state)
{
    struct wd_error err = {0};
    char longtext[400];

    (void)state;
    assert_int_equal(wd_error_set(&err, -WD_E_NOT_FOUND, NULL), -WD_E_NOT_FOUND);
    assert_int_equal(err.code, -WD_E_NOT_FOUND);
    assert_string_equal(err.message, "resource not found");

    assert_int_equal(wd_error_set(&err, -WD_E_CONFIG, "%s: is required", "PORT"), -WD_E_CONFIG);
    assert_string_equal(err.message, "PORT: is required");

    /* a NULL struct is allowed and the code still comes back */
    assert_int_equal(wd_error_set(NULL, -WD_E_DB, "x"), -WD_E_DB);

    /* long messages are truncated to the fixed buffer, still NUL-terminated */
    memset(longtext, 'x', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    wd_error_set(&err, -WD_E_DB, "%s", longtext);
    assert_int_equal(strlen(err.message), WD_ERROR_MSG_MAX - 1);

    wd_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.message, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_codes_match_the_api_document),
        cmocka_unit_test(test_every_code_reaches_clients_as_a_documented_one),
        cmocka_unit_test(test_internal_codes_fold),
        cmocka_unit_test(test_success_envelope_bytes),
        cmocka_unit_test(test_success_envelope_null_data_is_nomem),
        cmocka_unit_test(test_error_envelope_bytes),
        cmocka_unit_test(test_error_envelope_internal_codes_do_not_leak),
        cmocka_unit_test(test_error_envelope_invalid_utf8_message),
        cmocka_unit_test(test_envelopes_out_of_memory),
        cmocka_unit_test(test_body_release_of_zeroed_body),
        cmocka_unit_test(test_error_set_and_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
