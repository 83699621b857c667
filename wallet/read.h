/*
 * wallet/read.h - the reads: one wallet, an account's wallets, one transaction, a ledger page,
 * and one shard's part of a search by reference.
 *
 * Owns: running a read op on the right server of its shard (a fit replica, or the primary: see
 * shard/pick.h) and rendering its reply: another tenant's row is answered exactly like a missing
 * one, a ledger page carries its next cursor, a search part keeps its rows (op->rows) for
 * wallet/search to merge.
 * Thread-safety: none; one call at a time per reader thread and its connections.
 */
#ifndef WD_WALLET_READ_H
#define WD_WALLET_READ_H

#include "core/config.h"
#include "db/conn.h"
#include "shard/health.h"
#include "wallet/op.h"

#define WD_READ_TOKEN_WAIT_MS 50 /* how long a replica may take to reach a read's token */

/* A reader thread's connections to one shard: its primary and each replica (read-only). */
struct wd_read_conns {
    struct wd_conn primary;
    struct wd_conn replicas[WD_MAX_REPLICAS];
    int nreplicas;
    unsigned rr; /* round robin over fit replicas */
};

/*
 * Runs read op and sets op->reply: 200 with the data, or the error envelope (404 for another
 * tenant's or a missing row, 503 when no server of the shard can answer). Where it runs is
 * shard/pick's decision over what health last saw of the replicas (health NULL: the primary):
 * a replica that fails mid-read is replaced once by another fit replica or the primary, unseen by
 * the client; a token's read waits up to WD_READ_TOKEN_WAIT_MS for a replica to reach it, else
 * the primary serves. Counted in the read metrics. A search part (WD_OP_FIND_REFERENCE) gets no
 * reply on success: its rows are in op->rows.
 */
void wd_read_run(struct wd_read_conns *rc, struct wd_health *health, struct wd_op *op);

#endif
