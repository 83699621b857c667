/*
 * db/verify.h - the invariants of the money data, checked on one shard.
 *
 * Owns: the invariants of every shard (docs/ARCHITECTURE.md, "Data"), in one consistent snapshot
 * (REPEATABLE READ, so live traffic cannot cause false alarms): for every wallet, balance =
 * SUM(ledger.amount), held = SUM(ledger.held_delta), held = SUM(amount of its PENDING
 * authorizations), available = balance - held >= 0, held >= 0, and its newest ledger entry's
 * balance_after and held_after equal balance and held. Also that a replica holds exactly what its
 * primary holds. Reports each violation through a callback.
 * Thread-safety: none; one connection.
 */
#ifndef WD_DB_VERIFY_H
#define WD_DB_VERIFY_H

#include "core/error.h"
#include "db/conn.h"

/* Called once per violation: what it is about (a wallet ID; a table for the replica
 * comparison) and a description. */
typedef void (*wd_verify_report_fn)(void *ctx, const char *subject, const char *problem);

/*
 * Checks every wallet on c's shard. *wallets = how many were checked, *violations = how many
 * problems were reported. 0 (even with violations) or a code if the checks could not run.
 */
int wd_verify_shard(struct wd_conn *c, wd_verify_report_fn report, void *ctx, long *wallets,
                    long *violations, struct wd_error *err);

/*
 * Compares the replica on r with its primary on p, table by table (CHECKSUM TABLE of every table
 * walletd writes): waits up to wait_s for r to apply everything p has written, and trusts a
 * comparison only if p wrote nothing while it was made (so it is meant for a quiet moment; under
 * steady writes it tries a few times, then gives up with an error). *differences = tables that
 * differ, each reported. 0 (even with differences) or a code if no comparison could be made.
 */
int wd_verify_replica(struct wd_conn *p, struct wd_conn *r, int wait_s, wd_verify_report_fn report,
                      void *ctx, long *differences, struct wd_error *err);

#endif
