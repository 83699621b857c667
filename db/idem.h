/*
 * db/idem.h - idempotency records: claimed with their replies, read back, rewritten, purged.
 *
 * Owns: the SQL over idempotency_keys. A record is unique by (tenant, scope, key), where the
 * scope is the resource the request names; it is written in the same transaction as the movement
 * it answers for (the caller's open transaction on the shard primary). A group commit claims all
 * its keys in one statement, with each op's reply already in the record, so the common case costs
 * no second write.
 * Thread-safety: none; each call uses the caller's connection, which belongs to one thread.
 */
#ifndef WD_DB_IDEM_H
#define WD_DB_IDEM_H

#include "core/error.h"
#include "db/conn.h"
#include "db/rows.h"

#include <stdint.h>

/*
 * Claims keys[0..n) (n <= WD_BATCH_MAX) in the given order (callers sort them, so batches lock
 * keys in one global order): inserts each record with its status and response unless the key
 * exists, and sets claimed on those it inserted. A key held by another open transaction makes
 * this wait for it (and then find it).
 */
int wd_idem_claim(struct wd_conn *c, struct wd_idem *keys, int n, int64_t now_ms,
                  struct wd_error *err);

/* Reads an existing (committed) record into k: stored_hash, status and response (malloc'ed; the
 * caller frees it). -WD_E_NOT_FOUND if there is none. */
int wd_idem_load(struct wd_conn *c, struct wd_idem *k, struct wd_error *err);

/* Upserts status and response of keys[0..n) (callers pass keys this transaction claimed). */
int wd_idem_finish(struct wd_conn *c, const struct wd_idem *keys, int n, struct wd_error *err);

/* Deletes up to max records created before before_ms (autocommit); *deleted says how many. */
int wd_idem_purge(struct wd_conn *c, int64_t before_ms, int max, int *deleted,
                  struct wd_error *err);

#endif
