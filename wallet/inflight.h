/*
 * wallet/inflight.h - the idempotency keys this process is executing right now.
 *
 * Owns: the fast answer to "same key while the first request is still in flight": a second
 * request with a (tenant, scope, key) that this process has not finished is answered 409
 * IDEMPOTENCY_KEY_IN_PROGRESS at once, without touching the database. It is only a fast path:
 * across processes and pods the database's unique key on (tenant, scope, key) is what decides,
 * and a duplicate arriving at another pod waits for the first to commit and then gets its
 * replay. The scope is the resource the key is for (wd_op_key_scope). Keys are stored as
 * BLAKE2b digests of (tenant, scope, key).
 * Thread-safe (one mutex).
 */
#ifndef WD_WALLET_INFLIGHT_H
#define WD_WALLET_INFLIGHT_H

#include <stdbool.h>

struct wd_inflight;

struct wd_inflight *wd_inflight_new(void);
void wd_inflight_free(struct wd_inflight *set);

/* Adds (tenant, scope, key); false if it is already there (or memory ran out). */
bool wd_inflight_add(struct wd_inflight *set, const char *tenant, const char *scope,
                     const char *key);

/* Removes (tenant, scope, key), which must have been added. */
void wd_inflight_remove(struct wd_inflight *set, const char *tenant, const char *scope,
                        const char *key);

#endif
