/*
 * db/rows.h - the rows of a shard's tables as C structs, and the names of their enums.
 *
 * Owns: the shape of a wallet, a transaction, a ledger entry and an idempotency record as every
 * layer above the SQL sees them, and the one table of each enum's SQL/JSON names. Free of
 * <mysql.h>, so the pure modules (wallet/rules, wallet/render) and their tests need no database.
 * Field widths come from core/limits.h, which the migrations' column widths match.
 * Pure; thread-safe.
 */
#ifndef WD_DB_ROWS_H
#define WD_DB_ROWS_H

#include "core/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wd_wallet_status {
    WD_WALLET_ACTIVE = 0,
    WD_WALLET_FROZEN,
    WD_WALLET_CLOSED,
    WD_WALLET_STATUS_COUNT
};
enum wd_txn_type { WD_TXN_CREDIT = 0, WD_TXN_AUTHORIZATION, WD_TXN_DEBIT, WD_TXN_TYPE_COUNT };
enum wd_txn_status {
    WD_TXN_PENDING = 0,
    WD_TXN_COMPLETED,
    WD_TXN_VOIDED,
    WD_TXN_EXPIRED,
    WD_TXN_STATUS_COUNT
};
enum wd_entry_type {
    WD_ENTRY_CREDIT = 0,
    WD_ENTRY_DEBIT,
    WD_ENTRY_HOLD,
    WD_ENTRY_RELEASE,
    WD_ENTRY_CAPTURE,
    WD_ENTRY_TYPE_COUNT
};

/* The SQL/JSON names of the enums above, indexed by value. */
extern const char *const wd_rows_wallet_status_names[WD_WALLET_STATUS_COUNT];
extern const char *const wd_rows_txn_type_names[WD_TXN_TYPE_COUNT];
extern const char *const wd_rows_txn_status_names[WD_TXN_STATUS_COUNT];
extern const char *const wd_rows_entry_type_names[WD_ENTRY_TYPE_COUNT];

/* The name of value in names[0..n), or "UNKNOWN" when it is out of range. */
const char *wd_rows_name(const char *const *names, int n, int value);

/* The value whose name is name in names[0..n), or -1. */
int wd_rows_value(const char *const *names, int n, const char *name);

#define WD_ROWS_NAME(table, value) \
    wd_rows_name(table, (int)(sizeof(table) / sizeof((table)[0])), value)

/* Each table's columns as SQL lists them, in the order db/ledger.c reads them. */
#define WD_ROWS_WALLET_COLS \
    "id, tenant_id, account_id, currency, status, balance, held, created_at, updated_at"
#define WD_ROWS_TXN_COLS                                                                        \
    "id, tenant_id, wallet_id, type, status, amount, captured_amount, currency, reference_id, " \
    "expires_at, created_at, updated_at"
#define WD_ROWS_ENTRY_COLS                                                                       \
    "id, wallet_id, transaction_id, entry_type, amount, held_delta, balance_after, held_after, " \
    "created_at"

struct wd_wallet {
    char id[WD_ID_LEN + 1];
    char tenant[WD_TENANT_MAX + 1];
    char account[WD_ACCOUNT_MAX + 1];
    char currency[4];
    int status;
    int64_t balance;
    int64_t held;
    int64_t created_ms;
    int64_t updated_ms;
};

struct wd_txn {
    char id[WD_ID_LEN + 1];
    char tenant[WD_TENANT_MAX + 1];
    char wallet_id[WD_ID_LEN + 1];
    int type;
    int status;
    int64_t amount;
    int64_t captured; /* 0 = NULL (not captured) */
    char currency[4];
    char reference[WD_REFERENCE_MAX + 1];
    int64_t expires_ms; /* 0 = NULL (no expiry) */
    int64_t created_ms;
    int64_t updated_ms;
};

struct wd_entry {
    uint64_t id; /* assigned by the database; 0 before insert */
    char wallet_id[WD_ID_LEN + 1];
    char txn_id[WD_ID_LEN + 1];
    int type;
    int64_t amount;     /* signed change to balance */
    int64_t held_delta; /* signed change to held */
    int64_t balance_after;
    int64_t held_after;
    int64_t created_ms;
};

/* One idempotency record, unique by (tenant, scope, key). Inputs are borrowed; response is owned
 * by the caller after wd_idem_load. */
struct wd_idem {
    const char *tenant;
    const char *scope; /* the resource the key is for: wallet, transaction or account ID */
    const char *key;
    const unsigned char *hash; /* WD_HASH_LEN bytes */
    bool claimed;              /* out: this transaction inserted the claim */
    int status;                /* stored HTTP status (load) or the one to store (claim, finish) */
    char *response;            /* stored body (load: malloc'ed, caller frees) or to store */
    size_t response_len;
    unsigned char stored_hash[WD_HASH_LEN]; /* load: the hash of the request that owns the key */
};

#endif
