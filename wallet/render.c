/*
 * wallet/render.c - resources to JSON (jansson), keys in a fixed order.
 */
#include "wallet/render.h"

#include "core/clock.h"
#include "core/seal.h"

static json_t *timestamp(int64_t ms)
{
    char text[WD_TIMESTAMP_LEN];

    if (ms == 0)
        return json_null();
    wd_clock_format(ms, text);
    return json_string(text);
}

json_t *wd_render_wallet(const struct wd_wallet *w)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "id", w->id, "accountId",
                     w->account, "currency", w->currency, "status",
                     WD_ROWS_NAME(wd_rows_wallet_status_names, w->status), "balance",
                     (json_int_t)w->balance, "held", (json_int_t)w->held, "available",
                     (json_int_t)(w->balance - w->held), "createdAt", timestamp(w->created_ms),
                     "updatedAt", timestamp(w->updated_ms));
}

json_t *wd_render_txn(const struct wd_txn *t)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:o, s:s, s:s, s:o, s:o, s:o}", "id", t->id, "walletId",
        t->wallet_id, "type", WD_ROWS_NAME(wd_rows_txn_type_names, t->type), "status",
        WD_ROWS_NAME(wd_rows_txn_status_names, t->status), "amount", (json_int_t)t->amount,
        "capturedAmount", t->captured ? json_integer(t->captured) : json_null(), "currency",
        t->currency, "referenceId", t->reference, "expiresAt", timestamp(t->expires_ms),
        "createdAt", timestamp(t->created_ms), "updatedAt", timestamp(t->updated_ms));
}

json_t *wd_render_entry(const struct wd_entry *e)
{
    char id[WD_SEAL_ENTRY_ID_LEN + 1];

    wd_seal_entry_id(e->wallet_id, e->id, id); /* the counter itself stays inside (core/seal) */
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "id", id, "transactionId",
                     e->txn_id, "type", WD_ROWS_NAME(wd_rows_entry_type_names, e->type), "amount",
                     (json_int_t)e->amount, "heldChange", (json_int_t)e->held_delta, "balanceAfter",
                     (json_int_t)e->balance_after, "heldAfter", (json_int_t)e->held_after,
                     "availableAfter", (json_int_t)(e->balance_after - e->held_after), "createdAt",
                     timestamp(e->created_ms));
}
