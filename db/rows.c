/*
 * db/rows.c - the names of the row enums, as the SQL ENUM columns and the API spell them.
 */
#include "db/rows.h"

#include <string.h>

const char *const wd_rows_wallet_status_names[WD_WALLET_STATUS_COUNT] = {"ACTIVE", "FROZEN",
                                                                         "CLOSED"};
const char *const wd_rows_txn_type_names[WD_TXN_TYPE_COUNT] = {"CREDIT", "AUTHORIZATION", "DEBIT"};
const char *const wd_rows_txn_status_names[WD_TXN_STATUS_COUNT] = {"PENDING", "COMPLETED", "VOIDED",
                                                                   "EXPIRED"};
const char *const wd_rows_entry_type_names[WD_ENTRY_TYPE_COUNT] = {"CREDIT", "DEBIT", "HOLD",
                                                                   "RELEASE", "CAPTURE"};

const char *wd_rows_name(const char *const *names, int n, int value)
{
    return value >= 0 && value < n ? names[value] : "UNKNOWN";
}

int wd_rows_value(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0)
            return i;
    }
    return -1;
}
