/*
 * api/parse.h - turning request bodies, headers and query arguments into validated ops.
 *
 * Owns: the input rules of docs/API.md: strict JSON objects (no duplicate or unknown members),
 * amounts as JSON integers in 1..2^53-1 (never floats or strings), ISO 4217-format currencies,
 * routable wallet/transaction IDs, account IDs, referenceId (1-64 printable ASCII), idempotency
 * keys (1-255 printable ASCII), ledger limit and cursor; and the canonical request hash an
 * idempotency key is bound to. Every refusal is a stable code with a message naming the field.
 * Pure (no I/O); thread-safe.
 */
#ifndef WD_API_PARSE_H
#define WD_API_PARSE_H

#include "core/error.h"
#include "wallet/op.h"

#include <stddef.h>
#include <stdint.h>

struct wd_parse_limits {
    int64_t hold_default_s; /* expiresInSeconds when absent */
    int64_t hold_max_s;     /* largest expiresInSeconds accepted */
};

/*
 * Parses the body of a POST for kind (CREATE_WALLET, CREDIT, AUTHORIZE, DEBIT or VOID; DEBIT
 * becomes CAPTURE when the body names a transactionId) into op's inputs, sets op->kind and
 * op->bucket, and computes op->request_hash over method, path and the canonical body.
 * Returns 0 or a negative code (INVALID_JSON, VALIDATION_ERROR, INVALID_AMOUNT,
 * INVALID_CURRENCY) with err naming the field; NOMEM when jansson ran out of memory (the body may
 * be fine: it was not read whole); INTERNAL_ERROR for a kind that takes no body (a caller's bug).
 */
int wd_parse_body(enum wd_op_kind kind, const char *method, const char *path, const char *body,
                  size_t len, const struct wd_parse_limits *limits, struct wd_op *op,
                  struct wd_error *err);

/*
 * Picks the idempotency key from the two accepted headers (either may be NULL) and validates it
 * into op. required: whether a missing key is an error. Returns 0, -WD_E_IDEMPOTENCY_KEY_REQUIRED
 * or -WD_E_INVALID_IDEMPOTENCY_KEY (also when both headers are sent and differ).
 */
int wd_parse_idempotency_key(const char *ietf, const char *legacy, bool required, struct wd_op *op,
                             struct wd_error *err);

/* Ledger paging: limit (NULL: 50; else 1..200) and cursor (NULL: newest; else one made for the
 * wallet in op->wallet_id, which the caller sets first). */
int wd_parse_page(const char *limit, const char *cursor, struct wd_op *op, struct wd_error *err);

/* Search by reference: referenceId (required, as in bodies) and limit (as for ledger pages). */
int wd_parse_search(const char *reference, const char *limit, struct wd_op *op,
                    struct wd_error *err);

/* True if s[0..len) is 1-64 printable ASCII characters. */
bool wd_parse_reference_valid(const char *s, size_t len);

#endif
