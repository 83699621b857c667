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

/* The opaque cursor string for "entries older than entry id". Writes at most 32 bytes. */
void wd_render_cursor(uint64_t id, char out[32]);

/* Parses a cursor made by wd_render_cursor. 0 and *id set, or -1. */
int wd_render_parse_cursor(const char *text, uint64_t *id);

#endif
