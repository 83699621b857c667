/*
 * wallet/engine.h - per-shard executors that run ops against the shard's databases.
 *
 * Owns: for every shard, a write queue drained by DB_POOL_SIZE writer threads (each with its own
 * primary connection) that take whatever has queued, up to BATCH_MAX, and run it as one group
 * commit (wallet/batch), and a read queue drained by DB_READ_POOL_SIZE reader threads; a search
 * by reference, whose rows may be on any shard, is read on every shard at once and merged. Also
 * the in-process set of in-flight idempotency keys. HTTP threads never block on a database: they
 * submit and are called back.
 * Thread-safety: wd_engine_submit may be called from any thread; start, shutdown and free
 * from the worker's main thread only.
 */
#ifndef WD_WALLET_ENGINE_H
#define WD_WALLET_ENGINE_H

#include "core/config.h"
#include "core/error.h"
#include "shard/health.h"
#include "wallet/op.h"

struct wd_engine;

/* Starts the executors for every shard in cfg; reads are routed by what health says of the
 * replicas (NULL: every read goes to the primary). cfg and health must outlive the engine. */
int wd_engine_start(struct wd_engine **out, const struct wd_config *cfg, struct wd_health *health,
                    struct wd_error *err);

/*
 * Queues op for op->shard; a WD_OP_FIND_REFERENCE reads every shard and merges the answers.
 * On success op->done(op) will be called exactly once, from an engine thread (for a search, it
 * may also be the calling thread, if every shard answered before this returns). Fails at once
 * (done is not called) with -WD_E_IDEMPOTENCY_KEY_IN_PROGRESS when this process is already
 * executing the op's (tenant, scope, key); -WD_E_SERVICE_UNAVAILABLE when the engine is stopping
 * or the shard's queue is full; -WD_E_NOMEM; or -WD_E_INTERNAL_ERROR for a shard out of range.
 */
int wd_engine_submit(struct wd_engine *e, struct wd_op *op, struct wd_error *err);

/*
 * Stops e (for a process that is stopping, after its requests had their time): new ops are
 * refused at once, ops still queued are answered 503 SERVICE_UNAVAILABLE (none of them ran),
 * database work in progress is broken off (its ops get what their batch's failure says: 503
 * SERVICE_UNAVAILABLE, or OUTCOME_UNKNOWN after a lost COMMIT), and the threads are joined.
 * When it returns, every op ever submitted has had done called. Idempotent; e stays valid.
 */
void wd_engine_shutdown(struct wd_engine *e);

/* Shuts e down if that was not done yet, and frees it. */
void wd_engine_free(struct wd_engine *e);

#endif
