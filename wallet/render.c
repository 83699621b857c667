/*
 * wallet/render.c - resources to JSON (jansson), keys in a fixed order.
 */
#include "wallet/render.h"

#include "core/clock.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char id[24];

    snprintf(id, sizeof(id), "%llu", (unsigned long long)e->id); /* a string: beyond 2^53 */
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "id", id, "transactionId",
                     e->txn_id, "type", WD_ROWS_NAME(wd_rows_entry_type_names, e->type), "amount",
                     (json_int_t)e->amount, "heldChange", (json_int_t)e->held_delta, "balanceAfter",
                     (json_int_t)e->balance_after, "heldAfter", (json_int_t)e->held_after,
                     "availableAfter", (json_int_t)(e->balance_after - e->held_after), "createdAt",
                     timestamp(e->created_ms));
}

/*
 * A cursor is base64url("v1." + decimal id): opaque to clients, versioned so its contents can
 * change without breaking the ones they hold.
 */
void wd_render_cursor(uint64_t id, char out[32])
{
    char plain[24];
    int len = snprintf(plain, sizeof(plain), "v1.%llu", (unsigned long long)id);

    sodium_bin2base64(out, 32, (const unsigned char *)plain, (size_t)len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int wd_render_parse_cursor(const char *text, uint64_t *id)
{
    unsigned char plain[24];
    size_t len = 0;

    if (strlen(text) > 31)
        return -1;
    if (sodium_base642bin(plain, sizeof(plain) - 1, text, strlen(text), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    plain[len] = '\0';
    if (strlen((const char *)plain) != len)
        return -1; /* a NUL inside: not a cursor walletd made */
    const char *digits = (const char *)plain + 3;
    if (len < 4 || memcmp(plain, "v1.", 3) != 0 || digits[0] < '1' || digits[0] > '9')
        return -1;
    for (const char *p = digits; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
    }
    errno = 0;
    char *end;
    unsigned long long value = strtoull(digits, &end, 10);
    if (errno || *end != '\0')
        return -1;
    *id = value;
    return 0;
}
