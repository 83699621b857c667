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

#define LEDGER_BATCH_MAX  64
#define LEDGER_ID_LEN     40
#define LEDGER_TENANT_MAX 64
#define LEDGER_REF_MAX    64
#define LEDGER_KEY_MAX    255

enum ledger_wallet_status { LEDGER_WALLET_ACTIVE = 0, LEDGER_WALLET_FROZEN, LEDGER_WALLET_CLOSED };
enum ledger_txn_type { LEDGER_TXN_CREDIT = 0, LEDGER_TXN_AUTHORIZATION, LEDGER_TXN_DEBIT };
enum ledger_txn_status {
    LEDGER_TXN_PENDING = 0,
    LEDGER_TXN_COMPLETED,
    LEDGER_TXN_VOIDED,
    LEDGER_TXN_EXPIRED
};
enum ledger_entry_type {
    LEDGER_ENTRY_CREDIT = 0,
    LEDGER_ENTRY_DEBIT,
    LEDGER_ENTRY_HOLD,
    LEDGER_ENTRY_RELEASE,
    LEDGER_ENTRY_CAPTURE
};

/* The SQL/JSON names of the enums above. */
const char *ledger_wallet_status_name(int status);
const char *ledger_txn_type_name(int type);
const char *ledger_txn_status_name(int status);
const char *ledger_entry_type_name(int type);

struct ledger_wallet {
    char id[LEDGER_ID_LEN + 1];
    char tenant[LEDGER_TENANT_MAX + 1];
    char account[LEDGER_TENANT_MAX + 1];
    char currency[4];
    int status;
    int64_t balance;
    int64_t held;
    int64_t created_ms;
    int64_t updated_ms;
};

struct ledger_txn {
    char id[LEDGER_ID_LEN + 1];
    char tenant[LEDGER_TENANT_MAX + 1];
    char wallet_id[LEDGER_ID_LEN + 1];
    int type;
    int status;
    int64_t amount;
    int64_t captured; /* 0 = NULL (not captured) */
    char currency[4];
    char reference[LEDGER_REF_MAX + 1];
    int64_t expires_ms; /* 0 = NULL (no expiry) */
    int64_t created_ms;
    int64_t updated_ms;
};

struct ledger_entry {
    uint64_t id; /* assigned by the database; 0 before insert */
    char wallet_id[LEDGER_ID_LEN + 1];
    char txn_id[LEDGER_ID_LEN + 1];
    int type;
    int64_t amount;     /* signed change to balance */
    int64_t held_delta; /* signed change to held */
    int64_t balance_after;
    int64_t held_after;
    int64_t created_ms;
};

/* One idempotency record, unique by (tenant, scope, key). Inputs are borrowed; response is owned
 * after ledger_load_key. */
struct ledger_idem {
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
 * Claims keys[0..n) (n <= LEDGER_BATCH_MAX) in the given order (callers sort them, so batches
 * lock keys in one global order): inserts each record with its status and response unless the
 * key exists, and sets claimed on those it inserted. A key held by another open transaction
 * makes this wait for it (and then find it).
 */
int ledger_claim_keys(
    struct db_conn *c, struct ledger_idem *keys, int n, int64_t now_ms, struct wd_error *err);

/* Reads an existing (committed) record into k. -WD_E_NOT_FOUND if there is none. */
int ledger_load_key(struct db_conn *c, struct ledger_idem *k, struct wd_error *err);

/* Rewrites status and response of keys[0..n), which this transaction claimed. */
int ledger_finish_keys(struct db_conn *c,
                       const struct ledger_idem *keys,
                       int n,
                       struct wd_error *err);

/*
 * Locks and reads the wallets with ids[0..n) (sorted, distinct). Rows found are written to out
 * in id order; *found says how many.
 */
int ledger_lock_wallets(struct db_conn *c,
                        const char (*ids)[LEDGER_ID_LEN + 1],
                        int n,
                        struct ledger_wallet *out,
                        int *found,
                        struct wd_error *err);

/* As ledger_lock_wallets, for transactions. */
int ledger_lock_txns(struct db_conn *c,
                     const char (*ids)[LEDGER_ID_LEN + 1],
                     int n,
                     struct ledger_txn *out,
                     int *found,
                     struct wd_error *err);

/* Inserts wallets unless (tenant, account, currency) exists; inserted[i] says which went in. */
int ledger_insert_wallets(struct db_conn *c,
                          const struct ledger_wallet *rows,
                          int n,
                          bool *inserted,
                          struct wd_error *err);

int ledger_insert_txns(struct db_conn *c,
                       const struct ledger_txn *rows,
                       int n,
                       struct wd_error *err);

/* Writes status, captured amount and updated_at of rows (already locked). */
int ledger_update_txns(struct db_conn *c,
                       const struct ledger_txn *rows,
                       int n,
                       struct wd_error *err);

/* Writes balance, held and updated_at of rows (already locked). */
int ledger_update_wallets(struct db_conn *c,
                          const struct ledger_wallet *rows,
                          int n,
                          struct wd_error *err);

int ledger_insert_entries(struct db_conn *c,
                          const struct ledger_entry *rows,
                          int n,
                          struct wd_error *err);

/* Reads (no locks). -WD_E_NOT_FOUND when absent. */
int ledger_get_wallet(struct db_conn *c,
                      const char *id,
                      struct ledger_wallet *out,
                      struct wd_error *err);
int ledger_get_txn(struct db_conn *c, const char *id, struct ledger_txn *out, struct wd_error *err);

/* The tenant's wallets for account, oldest first, at most max. */
int ledger_list_wallets(struct db_conn *c,
                        const char *tenant,
                        const char *account,
                        struct ledger_wallet *out,
                        int max,
                        int *n,
                        struct wd_error *err);

/* The tenant's transactions whose reference_id is reference, newest first, at most max. */
int ledger_find_by_reference(struct db_conn *c,
                             const char *tenant,
                             const char *reference,
                             struct ledger_txn *out,
                             int max,
                             int *n,
                             struct wd_error *err);

/* Entries of wallet_id with id < before (0: no bound), newest first, at most max. */
int ledger_page(struct db_conn *c,
                const char *wallet_id,
                uint64_t before,
                struct ledger_entry *out,
                int max,
                int *n,
                struct wd_error *err);

/* IDs of pending authorizations whose expires_at <= now, at most max. */
int ledger_expired_holds(struct db_conn *c,
                         int64_t now_ms,
                         char (*ids)[LEDGER_ID_LEN + 1],
                         int max,
                         int *n,
                         struct wd_error *err);

/* Deletes up to max idempotency records created before before_ms; *deleted says how many. */
int ledger_purge_keys(
    struct db_conn *c, int64_t before_ms, int max, int *deleted, struct wd_error *err);

#endif
