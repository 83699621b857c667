/*
 * wallet/batch_int.h - the group commit's working state, shared by its phases and by nothing
 * else (the pattern of SQLite's sqliteInt.h).
 *
 * Owns: struct wd_batch (one writer thread's scratch for a batch) and its items, one per op.
 * wallet/batch.c runs the phases (lock, decide, write, commit, retry) and wallet/claim.c the
 * idempotency keys (claim, answer from records, rewrite restated replies, remember a lost COMMIT).
 * Indexes into the arrays are bounded by the batch size: see the asserts where they grow.
 * Thread-safety: a struct wd_batch is one writer thread's own.
 */
#ifndef WD_WALLET_BATCH_INT_H
#define WD_WALLET_BATCH_INT_H

#include "core/envelope.h"
#include "db/conn.h"
#include "db/rows.h"
#include "wallet/op.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef char wd_batch_row_id[WD_ID_LEN + 1];

struct wd_batch_item {
    struct wd_op *op;
    bool fixed;    /* answered by the lock phase or by an existing key: passes leave it alone */
    bool by_key;   /* answered by an existing key: it takes no effect and writes nothing */
    bool restated; /* decided again after its key was claimed: the stored reply is rewritten */
    bool replay;   /* answered from a record an earlier request made */
    bool own;      /* answered from what a lost COMMIT of this very op made: a first answer */
    int code;      /* 0 or the refusal/failure code */
    int wallet_ix, txn_ix, create_ix, claim_ix;
    struct wd_txn txn; /* the transaction the reply shows */
    struct wd_body body;
};

struct wd_batch {
    struct wd_batch_item items[WD_BATCH_MAX];
    int n;
    int64_t now_ms;
    int64_t resolve_ns; /* RESOLVE_TIMEOUT_SECONDS */
    bool commit_lost;   /* this attempt's COMMIT was sent and its answer lost */

    wd_batch_row_id txn_ids[WD_BATCH_MAX];
    struct wd_txn txns[WD_BATCH_MAX], txns_locked[WD_BATCH_MAX];
    bool txn_dirty[WD_BATCH_MAX];
    int ntxns;

    wd_batch_row_id wallet_ids[WD_BATCH_MAX];
    struct wd_wallet wallets[WD_BATCH_MAX], wallets_locked[WD_BATCH_MAX];
    bool wallet_dirty[WD_BATCH_MAX];
    int nwallets;

    struct wd_wallet creates[WD_BATCH_MAX];
    bool created[WD_BATCH_MAX];
    int create_item[WD_BATCH_MAX];
    int ncreates;

    struct wd_idem claims[WD_BATCH_MAX];
    int claim_item[WD_BATCH_MAX];
    int nclaims;

    struct wd_txn inserts[WD_BATCH_MAX];
    int ninserts;
    struct wd_entry entries[2 * WD_BATCH_MAX];
    int nentries;
    struct wd_txn txn_updates[WD_BATCH_MAX];
    struct wd_wallet wallet_updates[WD_BATCH_MAX];
    struct wd_idem fixups[WD_BATCH_MAX];
};

/*
 * Decides it with a reply: a success envelope around data (stolen), or the error envelope for
 * code. Every reply decided inside the batch (success or refusal) is stored with the op's key, if
 * it has one; a reply decided after its key was claimed marks the item restated. 0 or -WD_E_NOMEM.
 */
int wd_batch_decide(struct wd_batch_item *it, int code, int status, json_t *data);

/* wallet/claim.c */

/*
 * Claims every keyed item's key with its reply (keys sorted, so batches lock keys in one order).
 * An item whose key exists is answered from the record (a replay, a reuse refusal, an in-progress
 * refusal, or its own lost COMMIT's answer) and fixed; then *again is set: the rules must run once
 * more without it. 0 or an error.
 */
int wd_claim_keys(struct wd_batch *b, struct wd_conn *c, bool *again, struct wd_error *err);

/* Copies into b->fixups the records of claimed items whose reply was decided again, each with its
 * final reply; returns how many. */
int wd_claim_fixups(struct wd_batch *b);

/* After a COMMIT whose answer was lost: every op that wrote something remembers that it may have
 * committed, and the digest of the reply it stored with its key (op->memo). */
void wd_claim_remember_lost(struct wd_batch *b);

#endif
