/*
 * tests/fuzz/fuzz_parse_body.c - wd_parse_body on arbitrary request bodies, for every kind.
 *
 * Input: one byte choosing the operation ('w' create wallet, 'c' credit, 'a' authorize,
 * 'd' debit, 'v' void; any other byte modulo 5), then the body. Checked: a refusal is one of the
 * four documented body codes with a message that renders as a valid error envelope; an
 * acceptance yields an op whose every field obeys the rules of docs/API.md, and parsing the same
 * bytes again gives the same request hash.
 */
#include "fuzz.h"

#include "api/parse.h"
#include "core/envelope.h"
#include "core/money.h"
#include "shard/hash.h"
#include "shard/id.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>

static const struct wd_parse_limits limits = {604800, 2592000};

static enum wd_op_kind pick_kind(uint8_t b)
{
    static const enum wd_op_kind kinds[] = {WD_OP_CREATE_WALLET, WD_OP_CREDIT, WD_OP_AUTHORIZE,
                                            WD_OP_DEBIT, WD_OP_VOID};
    switch (b) {
    case 'w':
        return WD_OP_CREATE_WALLET;
    case 'c':
        return WD_OP_CREDIT;
    case 'a':
        return WD_OP_AUTHORIZE;
    case 'd':
        return WD_OP_DEBIT;
    case 'v':
        return WD_OP_VOID;
    default:
        return kinds[b % 5];
    }
}

static void check_refusal(int rc, const struct wd_error *err)
{
    FUZZ_CHECK(rc == -WD_E_INVALID_JSON || rc == -WD_E_VALIDATION_ERROR ||
               rc == -WD_E_INVALID_AMOUNT || rc == -WD_E_INVALID_CURRENCY);
    FUZZ_CHECK(err->code == rc);
    FUZZ_CHECK(memchr(err->message, '\0', sizeof(err->message)) != NULL);

    struct wd_body body = {0};
    FUZZ_CHECK(wd_envelope_error(&body, rc, err->message) == 0);
    FUZZ_CHECK(body.status == 400);
    json_t *back = json_loadb(body.data, body.len, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(back != NULL);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(back, "code")), wd_error_name(rc)) == 0);
    json_decref(back);
    wd_envelope_release(&body);
}

static void check_id(const char *id, enum wd_id_kind kind, uint32_t bucket)
{
    uint32_t parsed;

    FUZZ_CHECK(wd_id_parse(id, strlen(id), kind, &parsed) == 0);
    FUZZ_CHECK(parsed == bucket);
}

static void check_acceptance(enum wd_op_kind asked, const struct wd_op *op)
{
    FUZZ_CHECK(op->bucket < WD_BUCKETS);
    if (op->has_amount)
        FUZZ_CHECK(wd_money_amount_valid(op->amount));
    if (op->has_currency)
        FUZZ_CHECK(wd_money_currency_valid(op->currency, strlen(op->currency)));
    switch (op->kind) {
    case WD_OP_CREATE_WALLET:
        FUZZ_CHECK(asked == WD_OP_CREATE_WALLET);
        FUZZ_CHECK(wd_hash_account_valid(op->account_id, strlen(op->account_id)));
        FUZZ_CHECK(op->bucket == wd_hash_bucket(op->account_id, strlen(op->account_id)));
        FUZZ_CHECK(op->has_currency);
        break;
    case WD_OP_CREDIT:
    case WD_OP_DEBIT:
    case WD_OP_AUTHORIZE:
        FUZZ_CHECK(op->kind == asked);
        check_id(op->wallet_id, WD_ID_WALLET, op->bucket);
        FUZZ_CHECK(op->has_amount);
        FUZZ_CHECK(wd_parse_reference_valid(op->reference_id, strlen(op->reference_id)));
        if (op->kind == WD_OP_AUTHORIZE)
            FUZZ_CHECK(op->expires_in_s >= 1 && op->expires_in_s <= limits.hold_max_s);
        else
            FUZZ_CHECK(!op->has_currency);
        break;
    case WD_OP_CAPTURE:
    case WD_OP_VOID:
        FUZZ_CHECK(op->kind == asked || (op->kind == WD_OP_CAPTURE && asked == WD_OP_DEBIT));
        check_id(op->txn_id, WD_ID_TXN, op->bucket);
        FUZZ_CHECK(op->kind == WD_OP_CAPTURE || !op->has_amount);
        FUZZ_CHECK(!op->has_currency);
        break;
    default:
        FUZZ_CHECK(!"unexpected op kind");
    }
}

/*
 * The same body with its members in reverse order and re-indented: docs/API.md compares requests
 * "after parsing", so it must be accepted with the same request hash. Returns a malloc'ed text.
 */
static char *reordered(const char *body, size_t len)
{
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *rev = json_object();
    const char *keys[16];
    size_t n = 0;
    const char *key;
    json_t *value;

    FUZZ_CHECK(root != NULL && rev != NULL && json_object_size(root) <= 16);
    json_object_foreach (root, key, value)
        keys[n++] = key;
    while (n > 0) {
        n--;
        json_object_set(rev, keys[n], json_object_get(root, keys[n]));
    }
    char *text = json_dumps(rev, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
    json_decref(rev);
    json_decref(root);
    FUZZ_CHECK(text != NULL);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct wd_op op, again;
    struct wd_error err;

    if (size < 1)
        return 0;
    FUZZ_CHECK(sodium_init() >= 0);
    enum wd_op_kind kind = pick_kind(data[0]);
    const char *body = (const char *)data + 1;
    memset(&op, 0, sizeof(op));
    memset(&err, 0, sizeof(err));
    int rc =
        wd_parse_body(kind, "POST", "/api/v1/transactions/x", body, size - 1, &limits, &op, &err);
    if (rc < 0) {
        check_refusal(rc, &err);
        return 0;
    }
    FUZZ_CHECK(rc == 0);
    check_acceptance(kind, &op);
    memset(&again, 0, sizeof(again));
    FUZZ_CHECK(wd_parse_body(kind, "POST", "/api/v1/transactions/x", body, size - 1, &limits,
                             &again, &err) == 0);
    FUZZ_CHECK(memcmp(op.request_hash, again.request_hash, sizeof(op.request_hash)) == 0);

    char *text = reordered(body, size - 1);
    memset(&again, 0, sizeof(again));
    FUZZ_CHECK(wd_parse_body(kind, "POST", "/api/v1/transactions/x", text, strlen(text), &limits,
                             &again, &err) == 0);
    FUZZ_CHECK(memcmp(op.request_hash, again.request_hash, sizeof(op.request_hash)) == 0);
    FUZZ_CHECK(again.kind == op.kind && again.amount == op.amount && again.bucket == op.bucket);
    free(text);
    return 0;
}
