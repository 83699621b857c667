/*
 * core/error.h - the project's error codes and the caller-owned error struct.
 *
 * Owns: the one list of error codes (WD_CODES), their stable UPPER_SNAKE names, the HTTP status
 * each maps to and a default message. Every function in the project that can fail returns 0 or a
 * negative enum wd_code (a few pure parsers return -1, as their headers say), and may fill a
 * caller-provided struct wd_error with a short message.
 * This is the only place that maps codes to HTTP statuses (core/envelope renders the body; the
 * readiness probe adds its checks to the same envelope).
 *
 * Thread-safety: all functions are pure or write only to the caller's struct.
 */
#ifndef WD_CORE_ERROR_H
#define WD_CORE_ERROR_H

#include <stddef.h>

/*
 * X(name, http_status, default_message). The name is the stable code clients switch on; never
 * rename one. Codes at 5xx are server-side failures and are never stored as idempotent replies.
 */
#define WD_CODES(X)                                                                             \
    X(INVALID_JSON, 400, "request body is not a valid JSON object")                             \
    X(VALIDATION_ERROR, 400, "request is invalid")                                              \
    X(INVALID_AMOUNT, 400,                                                                      \
      "amount must be an integer number of minor units in 1..9007199254740991")                 \
    X(INVALID_CURRENCY, 400, "currency must be an ISO 4217 code of three uppercase letters")    \
    X(IDEMPOTENCY_KEY_REQUIRED, 400, "Idempotency-Key header is required")                      \
    X(INVALID_IDEMPOTENCY_KEY, 400, "Idempotency-Key must be 1-255 printable ASCII characters") \
    X(INVALID_CURSOR, 400, "cursor is invalid")                                                 \
    X(INVALID_CONSISTENCY_TOKEN, 400,                                                           \
      "X-Consistency-Token is not a token for this resource's shard")                           \
    X(MALFORMED_REQUEST, 400, "conflicting Content-Length or Transfer-Encoding headers")        \
    X(UNAUTHORIZED, 401, "missing or invalid API key")                                          \
    X(NOT_FOUND, 404, "resource not found")                                                     \
    X(ROUTE_NOT_FOUND, 404, "no such route")                                                    \
    X(METHOD_NOT_ALLOWED, 405, "method not allowed on this route")                              \
    X(WALLET_EXISTS, 409, "this account already has a wallet in this currency")                 \
    X(INVALID_TRANSACTION_STATE, 409, "transaction is not pending")                             \
    X(TRANSACTION_EXPIRED, 409, "authorization has expired")                                    \
    X(IDEMPOTENCY_KEY_IN_PROGRESS, 409, "a request with this idempotency key is in progress")   \
    X(PAYLOAD_TOO_LARGE, 413, "request body is too large")                                      \
    X(UNSUPPORTED_MEDIA_TYPE, 415, "Content-Type must be application/json")                     \
    X(INSUFFICIENT_FUNDS, 422, "insufficient available funds")                                  \
    X(CURRENCY_MISMATCH, 422, "currency does not match the wallet's currency")                  \
    X(AMOUNT_EXCEEDS_HOLD, 422, "capture amount exceeds the authorized amount")                 \
    X(BALANCE_LIMIT_EXCEEDED, 422, "the wallet balance would exceed its limit")                 \
    X(IDEMPOTENCY_KEY_REUSED, 422, "idempotency key was used with a different request")         \
    X(RATE_LIMITED, 429, "rate limit exceeded")                                                 \
    X(INTERNAL_ERROR, 500, "internal error")                                                    \
    X(SERVICE_UNAVAILABLE, 503, "a storage dependency is unavailable")                          \
    X(OUTCOME_UNKNOWN, 503,                                                                     \
      "the outcome is unknown (it may have been applied): retry with the same Idempotency-Key") \
    X(NOT_READY, 503, "not ready")                                                              \
    X(NOMEM, 500, "out of memory")                                                              \
    X(CONFIG, 500, "invalid configuration")                                                     \
    X(DB, 500, "database error")                                                                \
    X(DB_RETRY, 503, "database transaction must be retried")                                    \
    X(DB_UNAVAILABLE, 503, "database unavailable")

#define WD_CODE_ENUM(name, status, msg) WD_E_##name,
enum wd_code_index { WD_CODE_FIRST_ = 0, WD_CODES(WD_CODE_ENUM) WD_CODE_COUNT_ };
#undef WD_CODE_ENUM

/* Codes are negative so that "0 or a negative code" reads naturally: return -WD_E_NOT_FOUND. */
enum { WD_OK = 0 };

#define WD_ERROR_MSG_MAX 160

/* Caller-owned; error paths fill it without allocating. code is 0 or a negative wd code. */
struct wd_error {
    int code;
    char message[WD_ERROR_MSG_MAX];
};

/*
 * Sets err (if not NULL) to code with a printf-style message, or the code's default message when
 * fmt is NULL. Returns code, so `return wd_error_set(err, -WD_E_NOT_FOUND, NULL);` reads well.
 */
int wd_error_set(struct wd_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to "no error". */
void wd_error_clear(struct wd_error *err);

/* The stable name ("INSUFFICIENT_FUNDS") of a negative code; "INTERNAL_ERROR" if unknown. */
const char *wd_error_name(int code);

/* The HTTP status a negative code maps to; 500 if unknown. */
int wd_error_status(int code);

/* The default message of a negative code. */
const char *wd_error_message(int code);

/*
 * The code as seen by clients: internal codes (NOMEM, DB, DB_RETRY, ...) are folded into
 * INTERNAL_ERROR or SERVICE_UNAVAILABLE so their names never leak into the API.
 */
int wd_error_public(int code);

#endif
