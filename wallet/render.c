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
    json_t *o = json_object();

    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_string(w->id));
    json_object_set_new(o, "accountId", json_string(w->account));
    json_object_set_new(o, "currency", json_string(w->currency));
    json_object_set_new(o, "status",
                        json_string(WD_ROWS_NAME(wd_rows_wallet_status_names, w->status)));
    json_object_set_new(o, "balance", json_integer(w->balance));
    json_object_set_new(o, "held", json_integer(w->held));
    json_object_set_new(o, "available", json_integer(w->balance - w->held));
    json_object_set_new(o, "createdAt", timestamp(w->created_ms));
    json_object_set_new(o, "updatedAt", timestamp(w->updated_ms));
    return o;
}

json_t *wd_render_txn(const struct wd_txn *t)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_string(t->id));
    json_object_set_new(o, "walletId", json_string(t->wallet_id));
    json_object_set_new(o, "type", json_string(WD_ROWS_NAME(wd_rows_txn_type_names, t->type)));
    json_object_set_new(o, "status",
                        json_string(WD_ROWS_NAME(wd_rows_txn_status_names, t->status)));
    json_object_set_new(o, "amount", json_integer(t->amount));
    json_object_set_new(o, "capturedAmount", t->captured ? json_integer(t->captured) : json_null());
    json_object_set_new(o, "currency", json_string(t->currency));
    json_object_set_new(o, "referenceId", json_string(t->reference));
    json_object_set_new(o, "expiresAt", timestamp(t->expires_ms));
    json_object_set_new(o, "createdAt", timestamp(t->created_ms));
    json_object_set_new(o, "updatedAt", timestamp(t->updated_ms));
    return o;
}

json_t *wd_render_entry(const struct wd_entry *e)
{
    char id[24];
    json_t *o = json_object();

    if (!o)
        return NULL;
    snprintf(id, sizeof(id), "%llu", (unsigned long long)e->id);
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "transactionId", json_string(e->txn_id));
    json_object_set_new(o, "type", json_string(WD_ROWS_NAME(wd_rows_entry_type_names, e->type)));
    json_object_set_new(o, "amount", json_integer(e->amount));
    json_object_set_new(o, "heldChange", json_integer(e->held_delta));
    json_object_set_new(o, "balanceAfter", json_integer(e->balance_after));
    json_object_set_new(o, "heldAfter", json_integer(e->held_after));
    json_object_set_new(o, "availableAfter", json_integer(e->balance_after - e->held_after));
    json_object_set_new(o, "createdAt", timestamp(e->created_ms));
    return o;
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
