/*
 * wallet/read.h - the reads: one wallet, an account's wallets, one transaction, a ledger page,
 * and one shard's part of a search by reference.
 *
 * Owns: running a read op on a connection (the shard primary's, until replica reads land) and
 * rendering its reply: another tenant's row is answered exactly like a missing one, a ledger page
 * carries its next cursor, a search part keeps its rows (op->rows) for wallet/search to merge.
 * Thread-safety: none; one call per reader thread and connection.
 */
#ifndef WD_WALLET_READ_H
#define WD_WALLET_READ_H

#include "db/conn.h"
#include "wallet/op.h"

/*
 * Runs read op on c and sets op->reply: 200 with the data, or the error envelope (404 for
 * another tenant's or a missing row, 503 when the database cannot be reached). A lost
 * connection is tried once more on a fresh one. A search part (WD_OP_FIND_REFERENCE) gets no
 * reply on success: its rows are in op->rows.
 */
void wd_read_run(struct wd_conn *c, struct wd_op *op);

#endif
