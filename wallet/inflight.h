/*
 * wallet/inflight.h - the idempotency keys this process is executing right now.
 *
 * Owns: the fast answer to "same key while the first request is still in flight": a second
 * request with a (tenant, key) that this process has not finished is answered 409
 * IDEMPOTENCY_KEY_IN_PROGRESS at once, without touching the database. It is only a fast path:
 * across processes and pods the database's primary key on (tenant, key) is what decides, and a
 * duplicate arriving at another pod waits for the first to commit and then gets its replay.
 * Keys are stored as BLAKE2b digests of (tenant, key).
 * Thread-safe (one mutex).
 */
#ifndef WD_WALLET_INFLIGHT_H
#define WD_WALLET_INFLIGHT_H

#include <stdbool.h>

struct wallet_inflight;

struct wallet_inflight *wallet_inflight_new(void);
void wallet_inflight_free(struct wallet_inflight *set);

/* Adds (tenant, key); false if it is already there (or memory ran out). */
bool wallet_inflight_add(struct wallet_inflight *set, const char *tenant, const char *key);

/* Removes (tenant, key), which must have been added. */
void wallet_inflight_remove(struct wallet_inflight *set, const char *tenant, const char *key);

#endif
