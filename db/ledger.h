/*
 * db/ledger.h - the ledger's SQL: every statement that reads or writes wallets, transactions,
 * ledger entries and idempotency records.
 *
 * Owns: the row shapes of those tables as C structs, and the prepared statements over them.
 * Writes are multi-row so one group commit of many movements costs a handful of round trips:
 * claim the idempotency keys (INSERT IGNORE ... RETURNING), lock transactions and wallets
 * (SELECT ... FOR UPDATE, in id order so batches never deadlock each other), then insert and
 * update rows and finish the keys. SQL text is built only from constants and a row count; every
 * value is a bound parameter. The money rules are not here (wallet/rules): this module does what
 * it is told, inside whatever transaction the caller has open.
 * Thread-safety: none; each call uses the caller's connection, which belongs to one thread.
 */
#ifndef WD_DB_LEDGER_H
#define WD_DB_LEDGER_H

#include "core/error.h"
#include "db/conn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WD_BATCH_MAX     64
#define WD_ID_LEN        40
#define WD_TENANT_MAX    64
#define WD_REFERENCE_MAX 64
#define WD_IDEM_KEY_MAX  255

enum wd_wallet_status { WD_WALLET_ACTIVE = 0, WD_WALLET_FROZEN, WD_WALLET_CLOSED };
enum wd_txn_type { WD_TXN_CREDIT = 0, WD_TXN_AUTHORIZATION, WD_TXN_DEBIT };
enum wd_txn_status { WD_TXN_PENDING = 0, WD_TXN_COMPLETED, WD_TXN_VOIDED, WD_TXN_EXPIRED };
enum wd_entry_type {
    WD_ENTRY_CREDIT = 0,
    WD_ENTRY_DEBIT,
    WD_ENTRY_HOLD,
    WD_ENTRY_RELEASE,
    WD_ENTRY_CAPTURE
};

/* The SQL/JSON names of the enums above. */
const char *wd_ledger_wallet_status_name(int status);
const char *wd_ledger_txn_type_name(int type);
const char *wd_ledger_txn_status_name(int status);
const char *wd_ledger_entry_type_name(int type);

struct wd_wallet {
    char id[WD_ID_LEN + 1];
    char tenant[WD_TENANT_MAX + 1];
    char account[WD_TENANT_MAX + 1];
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
 * after wd_ledger_load_key. */
struct wd_idem {
    const char *tenant;
    const char *scope; /* the resource the key is for: wallet, transaction or account ID */
    const char *key;
    const unsigned char *hash; /* 32 bytes */
    bool claimed;              /* out: this transaction inserted the claim */
    int status;                /* stored HTTP status (load) or the one to store (finish) */
    char *response;            /* stored body (load: malloc'ed, caller frees) or to store */
    size_t response_len;
    unsigned char stored_hash[32]; /* load: the hash of the request that owns the key */
};

/*
 * Claims keys[0..n) (n <= WD_BATCH_MAX) in the given order (callers sort them, so batches
 * lock keys in one global order): inserts each record with its status and response unless the
 * key exists, and sets claimed on those it inserted. A key held by another open transaction
 * makes this wait for it (and then find it).
 */
int wd_ledger_claim_keys(
    struct wd_conn *c, struct wd_idem *keys, int n, int64_t now_ms, struct wd_error *err);

/* Reads an existing (committed) record into k. -WD_E_NOT_FOUND if there is none. */
int wd_ledger_load_key(struct wd_conn *c, struct wd_idem *k, struct wd_error *err);

/* Rewrites status and response of keys[0..n), which this transaction claimed. */
int wd_ledger_finish_keys(struct wd_conn *c,
                          const struct wd_idem *keys,
                          int n,
                          struct wd_error *err);

/*
 * Locks and reads the wallets with ids[0..n) (sorted, distinct). Rows found are written to out
 * in id order; *found says how many.
 */
int wd_ledger_lock_wallets(struct wd_conn *c,
                           const char (*ids)[WD_ID_LEN + 1],
                           int n,
                           struct wd_wallet *out,
                           int *found,
                           struct wd_error *err);

/* As wd_ledger_lock_wallets, for transactions. */
int wd_ledger_lock_txns(struct wd_conn *c,
                        const char (*ids)[WD_ID_LEN + 1],
                        int n,
                        struct wd_txn *out,
                        int *found,
                        struct wd_error *err);

/* Inserts wallets unless (tenant, account, currency) exists; inserted[i] says which went in. */
int wd_ledger_insert_wallets(
    struct wd_conn *c, const struct wd_wallet *rows, int n, bool *inserted, struct wd_error *err);

int wd_ledger_insert_txns(struct wd_conn *c,
                          const struct wd_txn *rows,
                          int n,
                          struct wd_error *err);

/* Writes status, captured amount and updated_at of rows (already locked). */
int wd_ledger_update_txns(struct wd_conn *c,
                          const struct wd_txn *rows,
                          int n,
                          struct wd_error *err);

/* Writes balance, held and updated_at of rows (already locked). */
int wd_ledger_update_wallets(struct wd_conn *c,
                             const struct wd_wallet *rows,
                             int n,
                             struct wd_error *err);

int wd_ledger_insert_entries(struct wd_conn *c,
                             const struct wd_entry *rows,
                             int n,
                             struct wd_error *err);

/* Reads (no locks). -WD_E_NOT_FOUND when absent. */
int wd_ledger_get_wallet(struct wd_conn *c,
                         const char *id,
                         struct wd_wallet *out,
                         struct wd_error *err);
int wd_ledger_get_txn(struct wd_conn *c, const char *id, struct wd_txn *out, struct wd_error *err);

/* The tenant's wallets for account, oldest first, at most max. */
int wd_ledger_list_wallets(struct wd_conn *c,
                           const char *tenant,
                           const char *account,
                           struct wd_wallet *out,
                           int max,
                           int *n,
                           struct wd_error *err);

/* The tenant's transactions whose reference_id is reference, newest first, at most max. */
int wd_ledger_find_by_reference(struct wd_conn *c,
                                const char *tenant,
                                const char *reference,
                                struct wd_txn *out,
                                int max,
                                int *n,
                                struct wd_error *err);

/* Entries of wallet_id with id < before (0: no bound), newest first, at most max. */
int wd_ledger_page(struct wd_conn *c,
                   const char *wallet_id,
                   uint64_t before,
                   struct wd_entry *out,
                   int max,
                   int *n,
                   struct wd_error *err);

/* IDs of pending authorizations whose expires_at <= now, at most max. */
int wd_ledger_expired_holds(struct wd_conn *c,
                            int64_t now_ms,
                            char (*ids)[WD_ID_LEN + 1],
                            int max,
                            int *n,
                            struct wd_error *err);

/* Deletes up to max idempotency records created before before_ms; *deleted says how many. */
int wd_ledger_purge_keys(
    struct wd_conn *c, int64_t before_ms, int max, int *deleted, struct wd_error *err);

#endif
