/*
 * db/verify.c - invariant queries over wallets, ledger and transactions in one snapshot.
 *
 * These queries take no input, so they run as plain text; each row they return is a violation.
 * A replica is compared with CHECKSUM TABLE at a GTID position both have reached.
 */
#include "db/verify.h"

#include "core/clock.h"
#include "db/replica.h"

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

/* Every table walletd writes, as CHECKSUM TABLE names them. */
static const char checksum_sql[] =
    "CHECKSUM TABLE wallets, transactions, ledger, idempotency_keys, schema_migrations EXTENDED";
#define NTABLES 5

struct checksums {
    char table[NTABLES][80];
    char sum[NTABLES][24];
};

static int checksum(struct wd_conn *c, struct checksums *out, struct wd_error *err)
{
    memset(out, 0, sizeof(*out));
    if (mysql_real_query(c->mysql, checksum_sql, sizeof(checksum_sql) - 1))
        return wd_conn_fail(c, "checksum", err);
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (!res)
        return wd_conn_fail(c, "checksum", err);
    MYSQL_ROW row;
    for (int i = 0; i < NTABLES && (row = mysql_fetch_row(res)); i++) {
        snprintf(out->table[i], sizeof(out->table[i]), "%s", row[0] ? row[0] : "?");
        snprintf(out->sum[i], sizeof(out->sum[i]), "%s", row[1] ? row[1] : "NULL (no table)");
    }
    mysql_free_result(res);
    return 0;
}

#define QUIET_TRIES    20
#define QUIET_PAUSE_MS 250 /* after a try the primary wrote through, before the next */

int wd_verify_replica(struct wd_conn *p, struct wd_conn *r, int wait_s, wd_verify_report_fn report,
                      void *ctx, long *differences, struct wd_error *err)
{
    char before[256], after[256];
    struct checksums on_p, on_r;
    int rc;

    *differences = 0;
    if ((rc = wd_conn_open(p, err)) < 0 || (rc = wd_conn_open(r, err)) < 0)
        return rc;
    for (int attempt = 0; attempt < QUIET_TRIES; attempt++) {
        if ((rc = wd_conn_query_text(p, "SELECT @@GLOBAL.gtid_binlog_pos", before, sizeof(before),
                                     err)) < 0 ||
            (rc = checksum(p, &on_p, err)) < 0)
            return rc;
        if (before[0]) { /* an empty binary log: nothing to wait for */
            rc = wd_replica_wait(r, before, wait_s * 1000, err);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return wd_error_set(err, -WD_E_DB_UNAVAILABLE, "%s has not applied %s within %d s",
                                    r->label, before, wait_s);
        }
        if ((rc = checksum(r, &on_r, err)) < 0 ||
            (rc = wd_conn_query_text(p, "SELECT @@GLOBAL.gtid_binlog_pos", after, sizeof(after),
                                     err)) < 0)
            return rc;
        if (strcmp(before, after) != 0) { /* p wrote meanwhile: r may be past what p's sums saw */
            wd_clock_sleep_ns(QUIET_PAUSE_MS * 1000000LL);
            continue;
        }
        for (int i = 0; i < NTABLES; i++) {
            if (strcmp(on_p.table[i], on_r.table[i]) != 0 ||
                strcmp(on_p.sum[i], on_r.sum[i]) != 0) {
                char problem[400];
                snprintf(problem, sizeof(problem), "checksum at %s differs: primary %s, replica %s",
                         before, on_p.sum[i], on_r.sum[i]);
                report(ctx, on_p.table[i], problem);
                (*differences)++;
            }
        }
        return 0;
    }
    return wd_error_set(err, -WD_E_DB_RETRY,
                        "%s kept writing through %d tries: compare at a quiet moment", p->label,
                        QUIET_TRIES);
}
