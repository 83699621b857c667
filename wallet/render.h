/*
 * wallet/render.h - the JSON shape of wallets, transactions and ledger entries.
 *
 * Owns: every field name and format of the API's resources (camelCase keys, integer minor units,
 * RFC 3339 UTC timestamps with milliseconds, null for absent optional values). The engine renders
 * replies with these before commit, because an idempotent reply is stored with its movement.
 * Returned objects are new references; the caller owns them. NULL only when out of memory.
 * Pure; thread-safe.
 */
#ifndef WD_WALLET_RENDER_H
#define WD_WALLET_RENDER_H

#include "db/rows.h"

#include <jansson.h>

json_t *wd_render_wallet(const struct wd_wallet *w);
json_t *wd_render_txn(const struct wd_txn *t);
json_t *wd_render_entry(const struct wd_entry *e);

#endif
