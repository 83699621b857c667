/*
 * wallet/batch.h - group commit: many movements for one shard in one database transaction.
 *
 * Owns: running a batch of write ops on a shard primary so that each op ends exactly as it would
 * alone. In one transaction, in a fixed lock order (transactions, then wallets, then idempotency
 * keys, each sorted; then new rows), the batch locks the rows the ops touch, applies wallet/rules
 * to them in arrival order, claims every op's idempotency key with its reply already in the
 * record (wallet/claim.c), writes the new and changed rows and ledger entries with multi-row
 * statements, and commits. A refused op (insufficient funds, bad state, reused key, unknown wallet)
 * is just an outcome: it never fails its neighbours. A deadlock or lost connection retries the
 * whole batch, which idempotency makes safe; a COMMIT whose answer was lost is resolved by that
 * retry (the ops recognise what they committed) or answered 503 OUTCOME_UNKNOWN; an unexpected SQL
 * error re-runs each op alone so only the broken one fails. Thread-safety: a struct wd_batch is
 * scratch for one writer thread.
 */
#ifndef WD_WALLET_BATCH_H
#define WD_WALLET_BATCH_H

#include "db/conn.h"
#include "wallet/op.h"

struct wd_batch;

/* A batch's scratch; a lost COMMIT is resolved for at most resolve_timeout_s seconds. */
struct wd_batch *wd_batch_new(int resolve_timeout_s);
void wd_batch_free(struct wd_batch *b);

/*
 * Runs ops[0..n) (1 <= n <= WD_BATCH_MAX, all write kinds for the shard c belongs to).
 * Every op gets its reply (a success, a refusal or a 5xx); done is not called here. Each op's
 * memo must have been zeroed when it was submitted (it carries what its earlier attempts did).
 */
void wd_batch_run(struct wd_batch *b, struct wd_conn *c, struct wd_op **ops, int n);

#endif
