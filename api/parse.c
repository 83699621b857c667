/*
 * api/parse.c - strict request parsing with jansson; the canonical request hash with libsodium.
 */
#include "api/parse.h"

#include "core/text.h"

#include "core/json.h"
#include "core/money.h"
#include "core/seal.h"
#include "shard/hash.h"
#include "shard/id.h"
#include "wallet/render.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 50
#define PAGE_MAX     200

enum field_type { F_ACCOUNT, F_CURRENCY, F_WALLET_ID, F_TXN_ID, F_AMOUNT, F_REFERENCE, F_SECONDS };

struct field {
    const char *name;
    enum field_type type;
    bool required;
};

static const struct field create_fields[] = {
    {"accountId", F_ACCOUNT, true}, {"currency", F_CURRENCY, true}, {NULL, 0, false}};
static const struct field credit_fields[] = {{"walletId", F_WALLET_ID, true},
                                             {"amount", F_AMOUNT, true},
                                             {"referenceId", F_REFERENCE, true},
                                             {NULL, 0, false}};
static const struct field authorize_fields[] = {
    {"walletId", F_WALLET_ID, true},        {"amount", F_AMOUNT, true},
    {"currency", F_CURRENCY, false},        {"referenceId", F_REFERENCE, true},
    {"expiresInSeconds", F_SECONDS, false}, {NULL, 0, false}};
static const struct field capture_fields[] = {
    {"transactionId", F_TXN_ID, true}, {"amount", F_AMOUNT, false}, {NULL, 0, false}};
static const struct field void_fields[] = {{"transactionId", F_TXN_ID, true}, {NULL, 0, false}};

bool wd_parse_reference_valid(const char *s, size_t len)
{
    return wd_text_valid(s, len, WD_REFERENCE_MAX, WD_TEXT_PRINTABLE);
}

/* referenceId (s may be NULL: missing) into op. */
static int parse_reference(const char *s, size_t len, struct wd_op *op, struct wd_error *err)
{
    if (!s || !wd_parse_reference_valid(s, len))
        return wd_error_set(err, -WD_E_VALIDATION_ERROR,
                            "referenceId must be 1-64 printable ASCII characters");
    memcpy(op->reference_id, s, len);
    op->reference_id[len] = '\0';
    return 0;
}

static int parse_string(json_t *v, const struct field *f, struct wd_op *op, struct wd_error *err)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    uint32_t bucket;

    switch (f->type) {
    case F_ACCOUNT:
        if (!wd_hash_account_valid(s, len))
            return wd_error_set(err, -WD_E_VALIDATION_ERROR,
                                "accountId must be 1-64 characters of [A-Za-z0-9_.:-]");
        memcpy(op->account_id, s, len + 1);
        op->bucket = wd_hash_bucket(s, len);
        return 0;
    case F_CURRENCY:
        if (!wd_money_currency_valid(s, len))
            return wd_error_set(err, -WD_E_INVALID_CURRENCY, NULL);
        memcpy(op->currency, s, 4);
        op->has_currency = true;
        return 0;
    case F_WALLET_ID:
        if (wd_id_parse(s, len, WD_ID_WALLET, &bucket) < 0)
            return wd_error_set(err, -WD_E_VALIDATION_ERROR, "walletId is not a wallet ID");
        memcpy(op->wallet_id, s, len + 1);
        op->bucket = bucket;
        return 0;
    case F_TXN_ID:
        if (wd_id_parse(s, len, WD_ID_TXN, &bucket) < 0)
            return wd_error_set(err, -WD_E_VALIDATION_ERROR,
                                "transactionId is not a transaction ID");
        memcpy(op->txn_id, s, len + 1);
        op->bucket = bucket;
        return 0;
    case F_REFERENCE:
        return parse_reference(s, len, op, err);
    default:
        return wd_error_set(err, -WD_E_INTERNAL_ERROR, "bad field table");
    }
}

static int parse_field(json_t *v, const struct field *f, const struct wd_parse_limits *limits,
                       struct wd_op *op, struct wd_error *err)
{
    if (f->type == F_AMOUNT) {
        if (!json_is_integer(v) || !wd_money_amount_valid(json_integer_value(v)))
            return wd_error_set(err, -WD_E_INVALID_AMOUNT, NULL);
        op->amount = json_integer_value(v);
        op->has_amount = true;
        return 0;
    }
    if (f->type == F_SECONDS) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > limits->hold_max_s)
            return wd_error_set(err, -WD_E_VALIDATION_ERROR,
                                "expiresInSeconds must be an integer in 1..%lld",
                                (long long)limits->hold_max_s);
        op->expires_in_s = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v)) {
        int code = f->type == F_CURRENCY ? -WD_E_INVALID_CURRENCY : -WD_E_VALIDATION_ERROR;
        return wd_error_set(err, code, "%s must be a string", f->name);
    }
    return parse_string(v, f, op, err);
}

static int parse_fields(json_t *root, const struct field *fields,
                        const struct wd_parse_limits *limits, struct wd_op *op,
                        struct wd_error *err)
{
    const char *key;
    json_t *value;

    json_object_foreach (root, key, value) {
        const struct field *f = fields;
        while (f->name && strcmp(f->name, key) != 0)
            f++;
        if (!f->name)
            return wd_error_set(err, -WD_E_VALIDATION_ERROR, "unknown field '%.40s'", key);
    }
    for (const struct field *f = fields; f->name; f++) {
        json_t *v = json_object_get(root, f->name);
        if (!v || json_is_null(v)) {
            if (f->required)
                return wd_error_set(err, -WD_E_VALIDATION_ERROR, "%s is required", f->name);
            if (v) /* an explicit null for an optional field means absent; drop it from the hash */
                json_object_del(root, f->name);
            continue;
        }
        int rc = parse_field(v, f, limits, op, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/*
 * The request hash: method, path and the body's canonical text (keys sorted). 0, or -WD_E_NOMEM
 * when jansson could not write that text whole: a hash of less would let another request with
 * the same key pass for this one, and this one's retry be refused as another.
 */
static int hash_request(const char *method, const char *path, json_t *root, unsigned char out[32])
{
    crypto_generichash_state st;
    unsigned long failed = wd_json_failures();
    char *canonical = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);

    if (!canonical || wd_json_failures() != failed) {
        free(canonical);
        return -WD_E_NOMEM;
    }
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)method, strlen(method) + 1);
    crypto_generichash_update(&st, (const unsigned char *)path, strlen(path) + 1);
    crypto_generichash_update(&st, (const unsigned char *)canonical, strlen(canonical));
    crypto_generichash_final(&st, out, 32);
    free(canonical);
    return 0;
}

static const struct field *fields_for(enum wd_op_kind *kind, json_t *root)
{
    switch (*kind) {
    case WD_OP_CREATE_WALLET:
        return create_fields;
    case WD_OP_CREDIT:
        return credit_fields;
    case WD_OP_AUTHORIZE:
        return authorize_fields;
    case WD_OP_VOID:
        return void_fields;
    case WD_OP_DEBIT:
    case WD_OP_CAPTURE:
        if (json_object_get(root, "transactionId")) {
            *kind = WD_OP_CAPTURE;
            return capture_fields;
        }
        *kind = WD_OP_DEBIT;
        return credit_fields; /* direct debit: walletId, amount, referenceId */
    default:
        return NULL;
    }
}

static bool is_number_char(char c)
{
    return (c >= '0' && c <= '9') || c == 'e' || c == 'E' || c == '+' || c == '-' || c == '.';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * jansson refuses a number that does not fit (it reports the byte just past it). Walk back over
 * the number, the colon and the member name so the refusal can name the member: an amount too
 * large is INVALID_AMOUNT like any other bad amount. 0 and name filled, or -1 (not a member).
 */
static int overflowing_member(const char *body, size_t len, size_t pos, char *name, size_t namelen)
{
    size_t i = pos <= len ? pos : len;

    while (i > 0 && is_number_char(body[i - 1]))
        i--;
    while (i > 0 && is_blank(body[i - 1]))
        i--;
    if (i == 0 || body[i - 1] != ':')
        return -1;
    i--;
    while (i > 0 && is_blank(body[i - 1]))
        i--;
    if (i == 0 || body[i - 1] != '"')
        return -1;
    size_t end = --i;
    while (i > 0 && body[i - 1] != '"')
        i--;
    if (i == 0 || end - i >= namelen)
        return -1;
    memcpy(name, body + i, end - i);
    name[end - i] = '\0';
    return 0;
}

static int refuse_unparsable(const char *body, size_t len, const json_error_t *jerr,
                             struct wd_error *err)
{
    char name[64];

    if (json_error_code(jerr) != json_error_numeric_overflow ||
        overflowing_member(body, len, (size_t)jerr->position, name, sizeof(name)) < 0)
        return wd_error_set(err, -WD_E_INVALID_JSON, NULL);
    if (strcmp(name, "amount") == 0)
        return wd_error_set(err, -WD_E_INVALID_AMOUNT, NULL);
    return wd_error_set(err, -WD_E_VALIDATION_ERROR, "%s is out of range", name);
}

int wd_parse_body(enum wd_op_kind kind, const char *method, const char *path, const char *body,
                  size_t len, const struct wd_parse_limits *limits, struct wd_op *op,
                  struct wd_error *err)
{
    json_error_t jerr;
    unsigned long failed = wd_json_failures();
    json_t *root = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;

    if (wd_json_failures() != failed) { /* jansson ran short: what it read may not be the body */
        json_decref(root);
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    }
    if (!root)
        return body ? refuse_unparsable(body, len, &jerr, err)
                    : wd_error_set(err, -WD_E_INVALID_JSON, NULL);
    int rc = 0;
    if (!json_is_object(root)) {
        rc = wd_error_set(err, -WD_E_INVALID_JSON, NULL);
        goto out;
    }
    if (json_object_get(root, "transactionId") && json_object_get(root, "walletId") &&
        kind == WD_OP_DEBIT) {
        rc = wd_error_set(err, -WD_E_VALIDATION_ERROR,
                          "send transactionId (capture) or walletId (direct debit), not both");
        goto out;
    }
    const struct field *fields = fields_for(&kind, root);
    if (!fields) {
        rc = wd_error_set(err, -WD_E_INTERNAL_ERROR, "no body for this operation");
        goto out;
    }
    op->kind = kind;
    op->expires_in_s = limits->hold_default_s;
    rc = parse_fields(root, fields, limits, op, err);
    if (rc == 0 && (rc = hash_request(method, path, root, op->request_hash)) < 0)
        wd_error_set(err, rc, NULL);
out:
    json_decref(root);
    return rc;
}

int wd_parse_idempotency_key(const char *ietf, const char *legacy, bool required, struct wd_op *op,
                             struct wd_error *err)
{
    const char *key = ietf ? ietf : legacy;

    op->has_idem = false;
    if (!key) {
        if (required)
            return wd_error_set(err, -WD_E_IDEMPOTENCY_KEY_REQUIRED, NULL);
        return 0;
    }
    if (ietf && legacy && strcmp(ietf, legacy) != 0)
        return wd_error_set(err, -WD_E_INVALID_IDEMPOTENCY_KEY,
                            "Idempotency-Key and X-Idempotency-Key differ");
    if (!wd_text_valid(key, strlen(key), WD_IDEM_KEY_MAX, WD_TEXT_PRINTABLE))
        return wd_error_set(err, -WD_E_INVALID_IDEMPOTENCY_KEY, NULL);
    memcpy(op->idem_key, key, strlen(key) + 1);
    op->has_idem = true;
    return 0;
}

int wd_parse_page(const char *limit, const char *cursor, struct wd_op *op, struct wd_error *err)
{
    /* a cursor opens only for its own wallet (core/seal): op->wallet_id is the path's */
    op->limit = PAGE_DEFAULT;
    op->cursor = 0;
    if (limit) {
        char *end;
        errno = 0;
        long value = strtol(limit, &end, 10);
        if (errno || end == limit || *end != '\0' || value < 1 || value > PAGE_MAX)
            return wd_error_set(err, -WD_E_VALIDATION_ERROR, "limit must be an integer in 1..%d",
                                PAGE_MAX);
        op->limit = (int)value;
    }
    if (cursor && wd_seal_open_cursor(op->wallet_id, cursor, &op->cursor) < 0)
        return wd_error_set(err, -WD_E_INVALID_CURSOR, NULL);
    return 0;
}

int wd_parse_search(const char *reference, const char *limit, struct wd_op *op,
                    struct wd_error *err)
{
    int rc = parse_reference(reference, reference ? strlen(reference) : 0, op, err);

    return rc < 0 ? rc : wd_parse_page(limit, NULL, op, err);
}
