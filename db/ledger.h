/*
 * db/ledger.h - the ledger's SQL: every statement that reads or writes wallets, transactions
 * and ledger entries (idempotency records are db/idem's; the row structs are db/rows').
 *
 * Owns: the prepared statements over those three tables. Writes are multi-row, so one group
 * commit of many movements costs a handful of round trips: lock transactions and wallets
 * (SELECT ... FOR UPDATE, ids sorted, so batches never deadlock each other), then insert and
 * update rows and append ledger entries. The money rules are not here (wallet/rules): this module
 * does what it is told, inside whatever transaction the caller has open.
 * Thread-safety: none; each call uses the caller's connection, which belongs to one thread.
 */
#ifndef WD_DB_LEDGER_H
#define WD_DB_LEDGER_H

#include "core/error.h"
#include "core/limits.h"
#include "db/conn.h"
#include "db/rows.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Locks and reads the wallets with ids[0..n) (sorted, distinct). Rows found are written to out
 * in id order; *found says how many.
 */
int wd_ledger_lock_wallets(struct wd_conn *c, const char (*ids)[WD_ID_LEN + 1], int n,
                           struct wd_wallet *out, int *found, struct wd_error *err);

/* As wd_ledger_lock_wallets, for transactions. */
int wd_ledger_lock_txns(struct wd_conn *c, const char (*ids)[WD_ID_LEN + 1], int n,
                        struct wd_txn *out, int *found, struct wd_error *err);

/* Inserts wallets unless (tenant, account, currency) exists; inserted[i] says which went in. */
int wd_ledger_insert_wallets(struct wd_conn *c, const struct wd_wallet *rows, int n, bool *inserted,
                             struct wd_error *err);

int wd_ledger_insert_txns(struct wd_conn *c, const struct wd_txn *rows, int n,
                          struct wd_error *err);

/* Writes status, captured amount and updated_at of rows (already locked). */
int wd_ledger_update_txns(struct wd_conn *c, const struct wd_txn *rows, int n,
                          struct wd_error *err);

/* Writes balance, held and updated_at of rows (already locked). */
int wd_ledger_update_wallets(struct wd_conn *c, const struct wd_wallet *rows, int n,
                             struct wd_error *err);

int wd_ledger_insert_entries(struct wd_conn *c, const struct wd_entry *rows, int n,
                             struct wd_error *err);

/* Reads (no locks). -WD_E_NOT_FOUND when absent. */
int wd_ledger_get_wallet(struct wd_conn *c, const char *id, struct wd_wallet *out,
                         struct wd_error *err);
int wd_ledger_get_txn(struct wd_conn *c, const char *id, struct wd_txn *out, struct wd_error *err);

/* The tenant's wallets for account, oldest first: at most WD_LIST_MAX. */
int wd_ledger_list_wallets(struct wd_conn *c, const char *tenant, const char *account,
                           struct wd_wallet out[WD_LIST_MAX], int *n, struct wd_error *err);

/* The tenant's transactions whose reference_id is reference, newest first, at most max. */
int wd_ledger_find_by_reference(struct wd_conn *c, const char *tenant, const char *reference,
                                struct wd_txn *out, int max, int *n, struct wd_error *err);

/* Entries of wallet_id with id < before (0: no bound), newest first, at most max. */
int wd_ledger_page(struct wd_conn *c, const char *wallet_id, uint64_t before, struct wd_entry *out,
                   int max, int *n, struct wd_error *err);

/* IDs of pending authorizations whose expires_at <= now, at most max. */
int wd_ledger_expired_holds(struct wd_conn *c, int64_t now_ms, char (*ids)[WD_ID_LEN + 1], int max,
                            int *n, struct wd_error *err);

#endif
