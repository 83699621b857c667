/*
 * core/money.c - checked money arithmetic and amount/currency validation.
 */
#include "core/money.h"

#include "core/error.h"

bool wd_money_amount_valid(int64_t amount)
{
    return amount >= 1 && amount <= WD_MONEY_MAX;
}

int wd_money_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t sum;

    if (__builtin_add_overflow(a, b, &sum) || sum < 0 || sum > WD_MONEY_MAX)
        return -WD_E_BALANCE_LIMIT_EXCEEDED;
    *out = sum;
    return 0;
}

bool wd_money_currency_valid(const char *code, size_t len)
{
    if (len != 3)
        return false;
    for (size_t i = 0; i < 3; i++) {
        if (code[i] < 'A' || code[i] > 'Z')
            return false;
    }
    return true;
}
