/*
 * db/verify.c - invariant queries over wallets, ledger and transactions in one snapshot.
 *
 * These queries take no input, so they run as plain text; each row they return is a violation.
 */
#include "db/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check {
    const char *sql;  /* returns (wallet_id, a, b) for each violating wallet */
    const char *what; /* "a != b" in words */
};

static const struct check checks[] = {
    {"SELECT w.id, w.balance, COALESCE(l.s, 0) FROM wallets w LEFT JOIN "
     "(SELECT wallet_id, SUM(amount) s FROM ledger GROUP BY wallet_id) l ON l.wallet_id = w.id "
     "WHERE w.balance <> COALESCE(l.s, 0)",
     "balance != sum of ledger amounts"},
    {"SELECT w.id, w.held, COALESCE(l.s, 0) FROM wallets w LEFT JOIN "
     "(SELECT wallet_id, SUM(held_delta) s FROM ledger GROUP BY wallet_id) l "
     "ON l.wallet_id = w.id WHERE w.held <> COALESCE(l.s, 0)",
     "held != sum of ledger held changes"},
    {"SELECT w.id, w.held, COALESCE(p.s, 0) FROM wallets w LEFT JOIN "
     "(SELECT wallet_id, SUM(amount) s FROM transactions WHERE type = 'AUTHORIZATION' AND "
     "status = 'PENDING' GROUP BY wallet_id) p ON p.wallet_id = w.id "
     "WHERE w.held <> COALESCE(p.s, 0)",
     "held != sum of pending holds"},
    {"SELECT id, balance, held FROM wallets WHERE balance - held < 0 OR held < 0 OR balance < 0",
     "available < 0 (balance, held)"},
    {"SELECT w.id, CONCAT(w.balance, '/', w.held), CONCAT(l.balance_after, '/', l.held_after) "
     "FROM wallets w JOIN ledger l ON l.id = (SELECT MAX(id) FROM ledger x "
     "WHERE x.wallet_id = w.id) WHERE l.balance_after <> w.balance OR l.held_after <> w.held",
     "balance/held != newest ledger entry's"},
};

static int run_check(struct wd_conn *c, const struct check *k, wd_verify_report_fn report,
                     void *ctx, long *violations, struct wd_error *err)
{
    if (mysql_real_query(c->mysql, k->sql, (unsigned long)strlen(k->sql)))
        return wd_conn_fail(c, "verify", err);
    MYSQL_RES *res = mysql_use_result(c->mysql);
    if (!res)
        return wd_conn_fail(c, "verify", err);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        char problem[256];
        snprintf(problem, sizeof(problem), "%s: %s vs %s", k->what, row[1] ? row[1] : "NULL",
                 row[2] ? row[2] : "NULL");
        report(ctx, row[0], problem);
        (*violations)++;
    }
    int failed = mysql_errno(c->mysql) != 0;
    mysql_free_result(res);
    return failed ? wd_conn_fail(c, "verify", err) : 0;
}

static int count_wallets(struct wd_conn *c, long *wallets, struct wd_error *err)
{
    static const char sql[] = "SELECT COUNT(*) FROM wallets";

    if (mysql_real_query(c->mysql, sql, sizeof(sql) - 1))
        return wd_conn_fail(c, "verify", err);
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (!res)
        return wd_conn_fail(c, "verify", err);
    MYSQL_ROW row = mysql_fetch_row(res);
    *wallets = row && row[0] ? strtol(row[0], NULL, 10) : 0; /* the server's own digits */
    mysql_free_result(res);
    return 0;
}

int wd_verify_shard(struct wd_conn *c, wd_verify_report_fn report, void *ctx, long *wallets,
                    long *violations, struct wd_error *err)
{
    int rc;

    *wallets = *violations = 0;
    if ((rc = wd_conn_exec(c, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", err)) ||
        (rc = wd_conn_exec(c, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", err)) ||
        (rc = count_wallets(c, wallets, err)))
        return rc;
    for (size_t i = 0; rc == 0 && i < sizeof(checks) / sizeof(checks[0]); i++)
        rc = run_check(c, &checks[i], report, ctx, violations, err);
    wd_conn_rollback(c);
    return rc;
}
