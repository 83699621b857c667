/*
 * core/money.h - money arithmetic and the validation of amounts and currency codes.
 *
 * Owns: the rules that money is an int64_t count of minor units, that an amount is an integer in
 * 1..2^53-1 (so every JSON consumer, JavaScript included, reads it exactly), that a balance never
 * exceeds that same bound, and that every sum is checked for overflow. Pure; thread-safe.
 */
#ifndef WD_CORE_MONEY_H
#define WD_CORE_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 2^53 - 1: the largest amount and the largest balance. */
#define WD_MONEY_MAX INT64_C(9007199254740991)

/* True if amount is a valid movement: 1..WD_MONEY_MAX. */
bool wd_money_amount_valid(int64_t amount);

/*
 * *out = a + b, for balances: 0 on success, -WD_E_BALANCE_LIMIT_EXCEEDED if the sum leaves
 * 0..WD_MONEY_MAX (or overflows int64). *out is untouched on failure.
 */
int wd_money_add(int64_t a, int64_t b, int64_t *out);

/* True if code is three ASCII uppercase letters (the ISO 4217 alphabetic format). */
bool wd_money_currency_valid(const char *code, size_t len);

#endif
