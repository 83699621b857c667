/*
 * wallet/rules.h - the money rules, as pure functions over in-memory rows.
 *
 * Owns: what each movement does to a wallet (balance, held) and a transaction (status,
 * captured amount), which ledger entry records it, and when it is refused. A refused movement
 * changes nothing. available = balance - held never goes negative; balances stay in
 * 0..WD_MONEY_MAX; every sum is overflow-checked. The engine runs these against rows it has
 * locked, so the same rules serve one movement or a group commit of many.
 * Pure; thread-safe. Entries come back without wallet/transaction IDs and time (the caller
 * fills those).
 */
#ifndef WD_WALLET_RULES_H
#define WD_WALLET_RULES_H

#include "db/rows.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Every movement refuses an amount outside 1..WD_MONEY_MAX with -WD_E_INVALID_AMOUNT (the edge
 * refuses it first; the rules do not trust that).
 */

/* Top-up: balance += amount. 0 or -WD_E_BALANCE_LIMIT_EXCEEDED. */
int wd_rules_credit(struct wd_wallet *w, int64_t amount, struct wd_entry *entry);

/*
 * Hold: held += amount if available >= amount; currency, when not NULL, must equal the
 * wallet's. 0, -WD_E_CURRENCY_MISMATCH or -WD_E_INSUFFICIENT_FUNDS.
 */
int wd_rules_authorize(struct wd_wallet *w, int64_t amount, const char *currency,
                       struct wd_entry *entry);

/* Direct debit: balance -= amount if available >= amount. 0 or -WD_E_INSUFFICIENT_FUNDS. */
int wd_rules_debit(struct wd_wallet *w, int64_t amount, struct wd_entry *entry);

/* True if t is a pending authorization whose expiry is at or before now_ms. */
bool wd_rules_hold_expired(const struct wd_txn *t, int64_t now_ms);

/*
 * Expiry: releases t's hold (status EXPIRED, held -= amount). Only for a hold that
 * wd_rules_hold_expired says is due; returns 0, or -WD_E_INVALID_TRANSACTION_STATE otherwise.
 */
int wd_rules_expire(struct wd_wallet *w, struct wd_txn *t, int64_t now_ms, struct wd_entry *entry);

/*
 * Capture of a pending authorization: amount (or the whole hold when has_amount is false) is
 * debited and the rest of the hold released. -WD_E_TRANSACTION_EXPIRED for an expired hold,
 * -WD_E_INVALID_TRANSACTION_STATE if t is not a pending authorization,
 * -WD_E_AMOUNT_EXCEEDS_HOLD if amount > the hold.
 */
int wd_rules_capture(struct wd_wallet *w, struct wd_txn *t, bool has_amount, int64_t amount,
                     struct wd_entry *entry);

/* Void: releases a pending hold (status VOIDED). -WD_E_INVALID_TRANSACTION_STATE otherwise. */
int wd_rules_void(struct wd_wallet *w, struct wd_txn *t, struct wd_entry *entry);

#endif
