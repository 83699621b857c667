/*
 * db/ledger.c - prepared statements over wallets, transactions and ledger entries.
 *
 * Each table's columns are listed once, as SQL (WALLET_COLS) and, in the same order, as the
 * column description every SELECT of that table is read with (wallet_cols); one reading path
 * serves locks, gets, lists and searches alike.
 */
#include "db/ledger.h"

#include "db/stmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- wallets ------------------------------------------------------------------------------- */

#define WALLET_COLS \
    "id, tenant_id, account_id, currency, status, balance, held, created_at, updated_at"

static const struct wd_col wallet_cols[] = {
    WD_COL_FIELD(WD_COL_STR, struct wd_wallet, id),
    WD_COL_FIELD(WD_COL_STR, struct wd_wallet, tenant),
    WD_COL_FIELD(WD_COL_STR, struct wd_wallet, account),
    WD_COL_FIELD(WD_COL_STR, struct wd_wallet, currency),
    WD_COL_ENUM(struct wd_wallet, status, wd_rows_wallet_status_names),
    WD_COL_FIELD(WD_COL_I64, struct wd_wallet, balance),
    WD_COL_FIELD(WD_COL_I64, struct wd_wallet, held),
    WD_COL_FIELD(WD_COL_TIME, struct wd_wallet, created_ms),
    WD_COL_FIELD(WD_COL_TIME, struct wd_wallet, updated_ms),
};

static int read_wallets(struct wd_conn *c,
                        MYSQL_STMT *st,
                        struct wd_binder *p,
                        struct wd_wallet *out,
                        int max,
                        int *found,
                        const char *what,
                        struct wd_error *err)
{
    return wd_stmt_read_rows(c, st, p, wallet_cols, COUNT(wallet_cols), out, sizeof(*out), max,
                             found, what, err);
}

static int sql_lock_wallets(char *buf, int n)
{
    return wd_stmt_build(buf, "SELECT " WALLET_COLS " FROM wallets WHERE id IN (", "?", ", ", n,
                         ") ORDER BY id FOR UPDATE");
}

int wd_ledger_lock_wallets(struct wd_conn *c,
                           const char (*ids)[WD_ID_LEN + 1],
                           int n,
                           struct wd_wallet *out,
                           int *found,
                           struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int padded;

    *found = 0;
    if (n == 0)
        return 0;
    if (!(st = wd_stmt_sized(c, WD_STMT_LOCK_WALLETS, n, sql_lock_wallets, &padded, err)))
        return err->code;
    if (wd_stmt_bind_ids(&p, ids, n, padded) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = read_wallets(c, st, &p, out, n, found, "lock wallets", err);
    wd_bind_release(&p);
    return rc;
}

static const char sql_insert_wallets[] =
    "INSERT IGNORE INTO wallets (" WALLET_COLS ") "
    "SELECT i, t, a, c, 'ACTIVE', 0, 0, ?, ? "
    "FROM JSON_TABLE(?, '$[*]' COLUMNS (i CHAR(40) PATH '$[0]', "
    "t VARCHAR(64) PATH '$[1]', a VARCHAR(64) PATH '$[2]', c CHAR(3) PATH '$[3]')) "
    "AS j RETURNING id";

struct returned_id {
    char id[WD_ID_LEN + 1];
};

static const struct wd_col returned_id_cols[] = {
    WD_COL_FIELD(WD_COL_STR, struct returned_id, id),
};

int wd_ledger_insert_wallets(
    struct wd_conn *c, const struct wd_wallet *rows, int n, bool *inserted, struct wd_error *err)
{
    struct wd_binder p = {0};
    struct returned_id *ids = NULL;
    char *json = NULL;
    int found = 0, rc;
    MYSQL_STMT *st;

    if (n == 0)
        return 0;
    if (!(st = wd_stmt_fixed(c, WD_STMT_INSERT_WALLETS, sql_insert_wallets, err)))
        return err->code;
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        inserted[i] = false;
        wd_stmt_add_row(&list, json_pack("[ssss]", rows[i].id, rows[i].tenant, rows[i].account,
                                         rows[i].currency));
    }
    int64_t times[] = {rows[0].created_ms, rows[0].updated_ms}; /* one batch, one clock */
    json = wd_stmt_bind_json_rows(&p, list, times, 2);
    ids = malloc((size_t)n * sizeof(*ids));
    if (!json || !ids) {
        rc = wd_error_set(err, -WD_E_NOMEM, NULL);
        goto out;
    }
    rc = wd_stmt_read_rows(c, st, &p, returned_id_cols, COUNT(returned_id_cols), ids, sizeof(*ids),
                           n, &found, "insert wallets", err);
    for (int r = 0; rc == 0 && r < found; r++) {
        for (int i = 0; i < n; i++)
            inserted[i] = inserted[i] || strcmp(rows[i].id, ids[r].id) == 0;
    }
out:
    free(ids);
    free(json);
    wd_bind_release(&p);
    return rc;
}

static int sql_update_wallets(char *buf, int n)
{
    char balance[4096], held[4096], head[9000];

    if (wd_stmt_build_case(balance, sizeof(balance), n) < 0 ||
        wd_stmt_build_case(held, sizeof(held), n) < 0)
        return -1;
    snprintf(head, sizeof(head),
             "UPDATE wallets SET balance = %s, held = %s, updated_at = ? WHERE id IN (", balance,
             held);
    return wd_stmt_build(buf, head, "?", ", ", n, ")");
}

int wd_ledger_update_wallets(struct wd_conn *c,
                             const struct wd_wallet *rows,
                             int n,
                             struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int padded;

    if (n == 0)
        return 0;
    if (!(st = wd_stmt_sized(c, WD_STMT_UPDATE_WALLETS, n, sql_update_wallets, &padded, err)))
        return err->code;
    if (wd_bind_init(&p, 5 * padded + 1) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    for (int i = 0; i < padded; i++) {
        const struct wd_wallet *w = &rows[i < n ? i : n - 1];
        wd_bind_str(&p, w->id);
        wd_bind_i64(&p, &w->balance);
    }
    for (int i = 0; i < padded; i++) {
        const struct wd_wallet *w = &rows[i < n ? i : n - 1];
        wd_bind_str(&p, w->id);
        wd_bind_i64(&p, &w->held);
    }
    wd_bind_time(&p, rows[0].updated_ms); /* one batch, one clock reading */
    for (int i = 0; i < padded; i++)
        wd_bind_str(&p, rows[i < n ? i : n - 1].id);
    int rc = wd_stmt_execute(c, st, &p, "update wallets", err);
    if (rc == 0)
        rc = wd_stmt_expect_rows(st, n, "update wallets (rows matched)", err);
    wd_bind_release(&p);
    return rc;
}

static const char sql_get_wallet[] = "SELECT " WALLET_COLS " FROM wallets WHERE id = ?";

int wd_ledger_get_wallet(struct wd_conn *c,
                         const char *id,
                         struct wd_wallet *out,
                         struct wd_error *err)
{
    struct wd_binder p;
    int found = 0;
    MYSQL_STMT *st = wd_stmt_fixed(c, WD_STMT_GET_WALLET, sql_get_wallet, err);

    if (!st)
        return err->code;
    if (wd_bind_init(&p, 1) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_str(&p, id);
    int rc = read_wallets(c, st, &p, out, 1, &found, "get wallet", err);
    wd_bind_release(&p);
    if (rc == 0 && found == 0)
        rc = wd_error_set(err, -WD_E_NOT_FOUND, NULL);
    return rc;
}

static const char sql_list_wallets[] =
    "SELECT " WALLET_COLS " FROM wallets WHERE tenant_id = ? AND account_id = ? "
    "ORDER BY created_at, id LIMIT ?";

int wd_ledger_list_wallets(struct wd_conn *c,
                           const char *tenant,
                           const char *account,
                           struct wd_wallet *out,
                           int max,
                           int *n,
                           struct wd_error *err)
{
    struct wd_binder p;
    int32_t limit = max;
    MYSQL_STMT *st = wd_stmt_fixed(c, WD_STMT_LIST_WALLETS, sql_list_wallets, err);

    *n = 0;
    if (!st)
        return err->code;
    if (wd_bind_init(&p, 3) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_str(&p, tenant);
    wd_bind_str(&p, account);
    wd_bind_i32(&p, &limit);
    int rc = read_wallets(c, st, &p, out, max, n, "list wallets", err);
    wd_bind_release(&p);
    return rc;
}

/* ---- transactions -------------------------------------------------------------------------- */

#define TXN_COLS                                                                                \
    "id, tenant_id, wallet_id, type, status, amount, captured_amount, currency, reference_id, " \
    "expires_at, created_at, updated_at"

static const struct wd_col txn_cols[] = {
    WD_COL_FIELD(WD_COL_STR, struct wd_txn, id),
    WD_COL_FIELD(WD_COL_STR, struct wd_txn, tenant),
    WD_COL_FIELD(WD_COL_STR, struct wd_txn, wallet_id),
    WD_COL_ENUM(struct wd_txn, type, wd_rows_txn_type_names),
    WD_COL_ENUM(struct wd_txn, status, wd_rows_txn_status_names),
    WD_COL_FIELD(WD_COL_I64, struct wd_txn, amount),
    WD_COL_FIELD(WD_COL_I64, struct wd_txn, captured), /* NULL: not captured (0) */
    WD_COL_FIELD(WD_COL_STR, struct wd_txn, currency),
    WD_COL_FIELD(WD_COL_STR, struct wd_txn, reference),
    WD_COL_FIELD(WD_COL_TIME, struct wd_txn, expires_ms), /* NULL: no expiry (0) */
    WD_COL_FIELD(WD_COL_TIME, struct wd_txn, created_ms),
    WD_COL_FIELD(WD_COL_TIME, struct wd_txn, updated_ms),
};

static int read_txns(struct wd_conn *c,
                     MYSQL_STMT *st,
                     struct wd_binder *p,
                     struct wd_txn *out,
                     int max,
                     int *found,
                     const char *what,
                     struct wd_error *err)
{
    return wd_stmt_read_rows(c, st, p, txn_cols, COUNT(txn_cols), out, sizeof(*out), max, found,
                             what, err);
}

static int sql_lock_txns(char *buf, int n)
{
    return wd_stmt_build(buf, "SELECT " TXN_COLS " FROM transactions WHERE id IN (", "?", ", ", n,
                         ") ORDER BY id FOR UPDATE");
}

int wd_ledger_lock_txns(struct wd_conn *c,
                        const char (*ids)[WD_ID_LEN + 1],
                        int n,
                        struct wd_txn *out,
                        int *found,
                        struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int padded;

    *found = 0;
    if (n == 0)
        return 0;
    if (!(st = wd_stmt_sized(c, WD_STMT_LOCK_TXNS, n, sql_lock_txns, &padded, err)))
        return err->code;
    if (wd_stmt_bind_ids(&p, ids, n, padded) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = read_txns(c, st, &p, out, n, found, "lock transactions", err);
    wd_bind_release(&p);
    return rc;
}

static const char sql_insert_txns[] =
    "INSERT INTO transactions (" TXN_COLS ") "
    "SELECT i, t, w, y, s, a, c, u, r, e, ?, ? "
    "FROM JSON_TABLE(?, '$[*]' COLUMNS (i CHAR(40) PATH '$[0]', "
    "t VARCHAR(64) PATH '$[1]', w CHAR(40) PATH '$[2]', y VARCHAR(16) PATH '$[3]', "
    "s VARCHAR(16) PATH '$[4]', a BIGINT PATH '$[5]', c BIGINT PATH '$[6]', "
    "u CHAR(3) PATH '$[7]', r VARCHAR(64) PATH '$[8]', e DATETIME(3) PATH '$[9]')) "
    "AS j";

/* One transaction as a JSON_TABLE row of sql_insert_txns. */
static json_t *txn_row(const struct wd_txn *t)
{
    char expires[WD_TIMESTAMP_LEN];

    if (t->expires_ms)
        wd_stmt_sql_datetime(t->expires_ms, expires);
    return json_pack("[sssssIosso]", t->id, t->tenant, t->wallet_id,
                     WD_ROWS_NAME(wd_rows_txn_type_names, t->type),
                     WD_ROWS_NAME(wd_rows_txn_status_names, t->status), (json_int_t)t->amount,
                     t->captured ? json_integer(t->captured) : json_null(), t->currency,
                     t->reference, t->expires_ms ? json_string(expires) : json_null());
}

int wd_ledger_insert_txns(struct wd_conn *c, const struct wd_txn *rows, int n, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;

    if (n == 0)
        return 0;
    if (!(st = wd_stmt_fixed(c, WD_STMT_INSERT_TXNS, sql_insert_txns, err)))
        return err->code;
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        wd_stmt_add_row(&list, txn_row(&rows[i]));
    int64_t times[] = {rows[0].created_ms, rows[0].updated_ms}; /* one batch, one clock */
    char *json = wd_stmt_bind_json_rows(&p, list, times, 2);
    if (!json)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = wd_stmt_execute(c, st, &p, "insert transactions", err);
    if (rc == 0)
        rc = wd_stmt_expect_rows(st, n, "insert transactions", err);
    free(json);
    wd_bind_release(&p);
    return rc;
}

static int sql_update_txns(char *buf, int n)
{
    char status[4096], captured[4096], head[9000];

    if (wd_stmt_build_case(status, sizeof(status), n) < 0 ||
        wd_stmt_build_case(captured, sizeof(captured), n) < 0)
        return -1;
    snprintf(head, sizeof(head),
             "UPDATE transactions SET status = %s, captured_amount = %s, updated_at = ? "
             "WHERE id IN (",
             status, captured);
    return wd_stmt_build(buf, head, "?", ", ", n, ")");
}

int wd_ledger_update_txns(struct wd_conn *c, const struct wd_txn *rows, int n, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int padded;

    if (n == 0)
        return 0;
    if (!(st = wd_stmt_sized(c, WD_STMT_UPDATE_TXNS, n, sql_update_txns, &padded, err)))
        return err->code;
    if (wd_bind_init(&p, 5 * padded + 1) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    for (int i = 0; i < padded; i++) {
        const struct wd_txn *t = &rows[i < n ? i : n - 1];
        wd_bind_str(&p, t->id);
        wd_bind_str(&p, WD_ROWS_NAME(wd_rows_txn_status_names, t->status));
    }
    for (int i = 0; i < padded; i++) {
        const struct wd_txn *t = &rows[i < n ? i : n - 1];
        wd_bind_str(&p, t->id);
        if (t->captured)
            wd_bind_i64(&p, &t->captured);
        else
            wd_bind_null(&p);
    }
    wd_bind_time(&p, rows[0].updated_ms); /* one batch, one clock reading */
    for (int i = 0; i < padded; i++)
        wd_bind_str(&p, rows[i < n ? i : n - 1].id);
    int rc = wd_stmt_execute(c, st, &p, "update transactions", err);
    if (rc == 0)
        rc = wd_stmt_expect_rows(st, n, "update transactions (rows matched)", err);
    wd_bind_release(&p);
    return rc;
}

static const char sql_get_txn[] = "SELECT " TXN_COLS " FROM transactions WHERE id = ?";

int wd_ledger_get_txn(struct wd_conn *c, const char *id, struct wd_txn *out, struct wd_error *err)
{
    struct wd_binder p;
    int found = 0;
    MYSQL_STMT *st = wd_stmt_fixed(c, WD_STMT_GET_TXN, sql_get_txn, err);

    if (!st)
        return err->code;
    if (wd_bind_init(&p, 1) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_str(&p, id);
    int rc = read_txns(c, st, &p, out, 1, &found, "get transaction", err);
    wd_bind_release(&p);
    if (rc == 0 && found == 0)
        rc = wd_error_set(err, -WD_E_NOT_FOUND, NULL);
    return rc;
}

static const char sql_find_reference[] =
    "SELECT " TXN_COLS " FROM transactions WHERE tenant_id = ? AND reference_id = ? "
    "ORDER BY created_at DESC, id DESC LIMIT ?";

int wd_ledger_find_by_reference(struct wd_conn *c,
                                const char *tenant,
                                const char *reference,
                                struct wd_txn *out,
                                int max,
                                int *n,
                                struct wd_error *err)
{
    struct wd_binder p;
    int32_t limit = max;
    MYSQL_STMT *st = wd_stmt_fixed(c, WD_STMT_FIND_REFERENCE, sql_find_reference, err);

    *n = 0;
    if (!st)
        return err->code;
    if (wd_bind_init(&p, 3) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_str(&p, tenant);
    wd_bind_str(&p, reference);
    wd_bind_i32(&p, &limit);
    int rc = read_txns(c, st, &p, out, max, n, "find by reference", err);
    wd_bind_release(&p);
    return rc;
}

static const char sql_expired[] =
    "SELECT id FROM transactions WHERE status = 'PENDING' AND expires_at <= ? "
    "ORDER BY expires_at LIMIT ?";

int wd_ledger_expired_holds(struct wd_conn *c,
                            int64_t now_ms,
                            char (*ids)[WD_ID_LEN + 1],
                            int max,
                            int *n,
                            struct wd_error *err)
{
    struct wd_binder p;
    int32_t limit = max;
    MYSQL_STMT *st = wd_stmt_fixed(c, WD_STMT_EXPIRED_HOLDS, sql_expired, err);

    _Static_assert(sizeof(struct returned_id) == WD_ID_LEN + 1, "an ID row is its ID");
    *n = 0;
    if (!st)
        return err->code;
    if (wd_bind_init(&p, 2) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_time(&p, now_ms);
    wd_bind_i32(&p, &limit);
    int rc = wd_stmt_read_rows(c, st, &p, returned_id_cols, COUNT(returned_id_cols), ids,
                               sizeof(*ids), max, n, "expired holds", err);
    wd_bind_release(&p);
    return rc;
}

/* ---- ledger entries ------------------------------------------------------------------------ */

#define ENTRY_COLS                                                                               \
    "id, wallet_id, transaction_id, entry_type, amount, held_delta, balance_after, held_after, " \
    "created_at"

static const struct wd_col entry_cols[] = {
    WD_COL_FIELD(WD_COL_U64, struct wd_entry, id),
    WD_COL_FIELD(WD_COL_STR, struct wd_entry, wallet_id),
    WD_COL_FIELD(WD_COL_STR, struct wd_entry, txn_id),
    WD_COL_ENUM(struct wd_entry, type, wd_rows_entry_type_names),
    WD_COL_FIELD(WD_COL_I64, struct wd_entry, amount),
    WD_COL_FIELD(WD_COL_I64, struct wd_entry, held_delta),
    WD_COL_FIELD(WD_COL_I64, struct wd_entry, balance_after),
    WD_COL_FIELD(WD_COL_I64, struct wd_entry, held_after),
    WD_COL_FIELD(WD_COL_TIME, struct wd_entry, created_ms),
};

static const char sql_insert_entries[] =
    "INSERT INTO ledger (wallet_id, transaction_id, entry_type, amount, held_delta, "
    "balance_after, held_after, created_at) SELECT w, t, y, a, d, b, h, ? "
    "FROM JSON_TABLE(?, '$[*]' COLUMNS (w CHAR(40) PATH '$[0]', "
    "t CHAR(40) PATH '$[1]', y VARCHAR(8) PATH '$[2]', a BIGINT PATH '$[3]', "
    "d BIGINT PATH '$[4]', b BIGINT PATH '$[5]', h BIGINT PATH '$[6]')) AS j";

int wd_ledger_insert_entries(struct wd_conn *c,
                             const struct wd_entry *rows,
                             int n,
                             struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;

    if (n == 0)
        return 0;
    if (!(st = wd_stmt_fixed(c, WD_STMT_INSERT_ENTRIES, sql_insert_entries, err)))
        return err->code;
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        const struct wd_entry *e = &rows[i];
        wd_stmt_add_row(&list, json_pack("[sssIIII]", e->wallet_id, e->txn_id,
                                         WD_ROWS_NAME(wd_rows_entry_type_names, e->type),
                                         (json_int_t)e->amount, (json_int_t)e->held_delta,
                                         (json_int_t)e->balance_after, (json_int_t)e->held_after));
    }
    char *json = wd_stmt_bind_json_rows(&p, list, &rows[0].created_ms, 1); /* one batch's clock */
    if (!json)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = wd_stmt_execute(c, st, &p, "insert ledger entries", err);
    if (rc == 0)
        rc = wd_stmt_expect_rows(st, n, "insert ledger entries", err);
    free(json);
    wd_bind_release(&p);
    return rc;
}

static const char sql_page[] = "SELECT " ENTRY_COLS " FROM ledger WHERE wallet_id = ? AND id < ? "
                               "ORDER BY id DESC LIMIT ?";

int wd_ledger_page(struct wd_conn *c,
                   const char *wallet_id,
                   uint64_t before,
                   struct wd_entry *out,
                   int max,
                   int *n,
                   struct wd_error *err)
{
    struct wd_binder p;
    uint64_t bound = before ? before : UINT64_MAX;
    int32_t limit = max;
    MYSQL_STMT *st = wd_stmt_fixed(c, WD_STMT_PAGE, sql_page, err);

    *n = 0;
    if (!st)
        return err->code;
    if (wd_bind_init(&p, 3) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_str(&p, wallet_id);
    wd_bind_u64(&p, &bound);
    wd_bind_i32(&p, &limit);
    int rc = wd_stmt_read_rows(c, st, &p, entry_cols, COUNT(entry_cols), out, sizeof(*out), max, n,
                               "ledger page", err);
    wd_bind_release(&p);
    return rc;
}
