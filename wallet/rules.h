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

#include "db/ledger.h"

#include <stdbool.h>
#include <stdint.h>

/* Top-up: balance += amount. 0 or -WD_E_BALANCE_LIMIT_EXCEEDED. */
int rules_credit(struct ledger_wallet *w, int64_t amount, struct ledger_entry *entry);

/*
 * Hold: held += amount if available >= amount; currency, when not NULL, must equal the
 * wallet's. 0, -WD_E_CURRENCY_MISMATCH or -WD_E_INSUFFICIENT_FUNDS.
 */
int rules_authorize(struct ledger_wallet *w,
                    int64_t amount,
                    const char *currency,
                    struct ledger_entry *entry);

/* Direct debit: balance -= amount if available >= amount. 0 or -WD_E_INSUFFICIENT_FUNDS. */
int rules_debit(struct ledger_wallet *w, int64_t amount, struct ledger_entry *entry);

/* True if t is a pending authorization whose expiry is at or before now_ms. */
bool rules_hold_expired(const struct ledger_txn *t, int64_t now_ms);

/*
 * Expiry: releases t's hold (status EXPIRED, held -= amount). Only for a hold that
 * rules_hold_expired says is due; returns 0, or -WD_E_INVALID_TRANSACTION_STATE otherwise.
 */
int rules_expire(struct ledger_wallet *w,
                 struct ledger_txn *t,
                 int64_t now_ms,
                 struct ledger_entry *entry);

/*
 * Capture of a pending authorization: amount (or the whole hold when has_amount is false) is
 * debited and the rest of the hold released. -WD_E_TRANSACTION_EXPIRED for an expired hold,
 * -WD_E_INVALID_TRANSACTION_STATE if t is not a pending authorization,
 * -WD_E_AMOUNT_EXCEEDS_HOLD if amount > the hold.
 */
int rules_capture(struct ledger_wallet *w,
                  struct ledger_txn *t,
                  bool has_amount,
                  int64_t amount,
                  struct ledger_entry *entry);

/* Void: releases a pending hold (status VOIDED). -WD_E_INVALID_TRANSACTION_STATE otherwise. */
int rules_void(struct ledger_wallet *w, struct ledger_txn *t, struct ledger_entry *entry);

#endif
