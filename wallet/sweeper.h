/*
 * wallet/sweeper.h - background upkeep: expired holds and old idempotency records.
 *
 * Owns: a thread that, every SWEEPER_INTERVAL_MS and for every shard, finds pending
 * authorizations past expires_at (pages of 256, more pages at once while they come back full)
 * and submits an EXPIRE op for each to the engine (which locks
 * the rows and re-checks before releasing the hold, so any number of sweepers on any number of
 * pods may run at once), and deletes idempotency records older than the retention period in
 * small batches. One sweeper runs per pod (in worker 0).
 * Thread-safety: start/stop from one thread.
 */
#ifndef WD_WALLET_SWEEPER_H
#define WD_WALLET_SWEEPER_H

#include "core/config.h"
#include "core/error.h"
#include "wallet/engine.h"

struct wd_sweeper;

int wd_sweeper_start(struct wd_sweeper **out, const struct wd_config *cfg, struct wd_engine *engine,
                     struct wd_error *err);
void wd_sweeper_stop(struct wd_sweeper *s);

#endif
