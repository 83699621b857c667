/*
 * wallet/rules.c - credit, authorize, debit, capture, void and expiry on in-memory rows.
 */
#include "wallet/rules.h"

#include "core/error.h"
#include "core/money.h"

#include <string.h>

/* Applies a change to (balance, held) if the result keeps every invariant; fills entry. */
static int apply(struct wd_wallet *w, int type, int64_t dbalance, int64_t dheld,
                 struct wd_entry *entry)
{
    int64_t balance, held;

    if (wd_money_add(w->balance, dbalance, &balance) < 0)
        return dbalance < 0 ? -WD_E_INSUFFICIENT_FUNDS : -WD_E_BALANCE_LIMIT_EXCEEDED;
    if (wd_money_add(w->held, dheld, &held) < 0)
        return -WD_E_INSUFFICIENT_FUNDS;
    if (held > balance)
        return -WD_E_INSUFFICIENT_FUNDS; /* available would go negative */
    w->balance = balance;
    w->held = held;
    memset(entry, 0, sizeof(*entry));
    entry->type = type;
    entry->amount = dbalance;
    entry->held_delta = dheld;
    entry->balance_after = balance;
    entry->held_after = held;
    return 0;
}

int wd_rules_credit(struct wd_wallet *w, int64_t amount, struct wd_entry *entry)
{
    if (!wd_money_amount_valid(amount))
        return -WD_E_INVALID_AMOUNT;
    return apply(w, WD_ENTRY_CREDIT, amount, 0, entry);
}

int wd_rules_authorize(struct wd_wallet *w, int64_t amount, const char *currency,
                       struct wd_entry *entry)
{
    if (!wd_money_amount_valid(amount))
        return -WD_E_INVALID_AMOUNT;
    if (currency && strcmp(currency, w->currency) != 0)
        return -WD_E_CURRENCY_MISMATCH;
    return apply(w, WD_ENTRY_HOLD, 0, amount, entry);
}

int wd_rules_debit(struct wd_wallet *w, int64_t amount, struct wd_entry *entry)
{
    if (!wd_money_amount_valid(amount))
        return -WD_E_INVALID_AMOUNT;
    return apply(w, WD_ENTRY_DEBIT, -amount, 0, entry);
}

static bool is_pending_hold(const struct wd_txn *t)
{
    return t->type == WD_TXN_AUTHORIZATION && t->status == WD_TXN_PENDING;
}

bool wd_rules_hold_expired(const struct wd_txn *t, int64_t now_ms)
{
    return is_pending_hold(t) && t->expires_ms != 0 && t->expires_ms <= now_ms;
}

int wd_rules_expire(struct wd_wallet *w, struct wd_txn *t, int64_t now_ms, struct wd_entry *entry)
{
    if (!wd_rules_hold_expired(t, now_ms))
        return -WD_E_INVALID_TRANSACTION_STATE;
    int rc = apply(w, WD_ENTRY_RELEASE, 0, -t->amount, entry);
    if (rc == 0)
        t->status = WD_TXN_EXPIRED;
    return rc;
}

int wd_rules_capture(struct wd_wallet *w, struct wd_txn *t, bool has_amount, int64_t amount,
                     struct wd_entry *entry)
{
    if (t->type == WD_TXN_AUTHORIZATION && t->status == WD_TXN_EXPIRED)
        return -WD_E_TRANSACTION_EXPIRED;
    if (!is_pending_hold(t))
        return -WD_E_INVALID_TRANSACTION_STATE;
    int64_t capture = has_amount ? amount : t->amount;
    if (!wd_money_amount_valid(capture))
        return -WD_E_INVALID_AMOUNT;
    if (capture > t->amount)
        return -WD_E_AMOUNT_EXCEEDS_HOLD;
    int rc = apply(w, WD_ENTRY_CAPTURE, -capture, -t->amount, entry);
    if (rc == 0) {
        t->status = WD_TXN_COMPLETED;
        t->captured = capture;
    }
    return rc;
}

int wd_rules_void(struct wd_wallet *w, struct wd_txn *t, struct wd_entry *entry)
{
    if (!is_pending_hold(t))
        return -WD_E_INVALID_TRANSACTION_STATE;
    int rc = apply(w, WD_ENTRY_RELEASE, 0, -t->amount, entry);
    if (rc == 0)
        t->status = WD_TXN_VOIDED;
    return rc;
}
