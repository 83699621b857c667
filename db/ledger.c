/*
 * db/ledger.c - prepared statements over wallets, transactions and ledger entries.
 *
 * Wallets and transactions are both tables of rows keyed by id that a batch locks, reads and
 * updates the same way; each is described once (struct table: its columns as SQL and, in the
 * same order, as the column description its rows are read with), and one path serves both.
 */
#include "db/ledger.h"

#include "db/stmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The JSON_TABLE columns below are as wide as the table's. */
_Static_assert(WD_ID_LEN == 40 && WD_TENANT_MAX == 64 && WD_ACCOUNT_MAX == 64 &&
                   WD_REFERENCE_MAX == 64,
               "CHAR(40) and VARCHAR(64) in this file's JSON_TABLEs");

/* A column of a row struct, and an ENUM column read as its index in names (db/stmt.h). */
#define COL(type, row, field)    WD_COL_FIELD(WD_COL_##type, struct row, field)
#define NAMED(row, field, names) WD_COL_ENUM(struct row, field, names)

/* A table of rows keyed by id (the first member of its row struct). */
struct table {
    const char *name;
    const char *cols_sql; /* the columns, as SQL, in the order of cols */
    const char *set[2];   /* the two columns an update sets */
    const struct wd_col *cols;
    int ncols;
    size_t row_size;
    enum wd_stmt_kind lock, get, update;
    const char *get_sql;
    /* binds the value the update sets in its k-th CASE column (0 or 1) for row */
    void (*bind_update)(struct wd_binder *p, const void *row, int k);
    const char *lock_what, *get_what, *update_what; /* how errors name the statements */
};

/* A struct table's initializer, in the order of its members. */
#define TABLE(...)  \
    {               \
        __VA_ARGS__ \
    }

static int read_rows(struct wd_conn *c, const struct table *t, MYSQL_STMT *st, struct wd_binder *p,
                     void *out, int max, int *found, const char *what, struct wd_error *err)
{
    return wd_stmt_read_rows(c, st, p, t->cols, t->ncols, out, t->row_size, max, found, what, err);
}

/* "SELECT cols FROM table WHERE id IN (?, ...) ORDER BY id FOR UPDATE" for n ids. */
static int sql_lock(char *buf, int n, const void *ctx)
{
    const struct table *t = ctx;
    char head[512];

    snprintf(head, sizeof(head), "SELECT %s FROM %s WHERE id IN (", t->cols_sql, t->name);
    return wd_stmt_build(buf, head, "?", ", ", n, ") ORDER BY id FOR UPDATE");
}

/* "UPDATE table SET a = CASE id ..., b = CASE id ..., updated_at = ? WHERE id IN (...)". */
static int sql_update(char *buf, int n, const void *ctx)
{
    const struct table *t = ctx;
    char case_a[4096], case_b[4096], head[9000];

    if (wd_stmt_build_case(case_a, sizeof(case_a), n) < 0 ||
        wd_stmt_build_case(case_b, sizeof(case_b), n) < 0)
        return -1;
    snprintf(head, sizeof(head), "UPDATE %s SET %s = %s, %s = %s, updated_at = ? WHERE id IN (",
             t->name, t->set[0], case_a, t->set[1], case_b);
    return wd_stmt_build(buf, head, "?", ", ", n, ")");
}

static int lock_rows(struct wd_conn *c, const struct table *t, const char (*ids)[WD_ID_LEN + 1],
                     int n, void *out, int *found, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int padded, rc = 0;

    *found = 0;
    if (n > 0) /* one parameter per (padded) id */
        rc = wd_stmt_prepare_sized(c, t->lock, n, sql_lock, t, 1, 0, &st, &p, &padded, err);
    if (n == 0 || rc < 0)
        return rc;
    wd_stmt_bind_ids(&p, ids, n, padded);
    rc = read_rows(c, t, st, &p, out, n, found, t->lock_what, err);
    wd_bind_release(&p);
    return rc;
}

static int get_row(struct wd_conn *c, const struct table *t, const char *id, void *out,
                   struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int found = 0;
    int rc = wd_stmt_prepare(c, t->get, t->get_sql, 1, &st, &p, err);

    if (rc < 0)
        return rc;
    wd_bind_str(&p, id);
    rc = read_rows(c, t, st, &p, out, 1, &found, t->get_what, err);
    wd_bind_release(&p);
    if (rc == 0 && found == 0)
        rc = wd_error_set(err, -WD_E_NOT_FOUND, NULL);
    return rc;
}

/* Row i of rows, or the last one past n (a padded list repeats it: CASE takes the first). */
static const void *row_at(const struct table *t, const void *rows, int n, int i)
{
    return (const char *)rows + (size_t)(i < n ? i : n - 1) * t->row_size;
}

/* Writes the two updated columns and updated_at of rows[0..n), which the batch has locked. */
static int update_rows(struct wd_conn *c, const struct table *t, const void *rows, int n,
                       int64_t updated_ms, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int padded;

    if (n == 0)
        return 0;
    int rc = wd_stmt_prepare_sized(c, t->update, n, sql_update, t, 5, 1, &st, &p, &padded, err);
    if (rc < 0)
        return rc;
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < padded; i++) {
            const void *row = row_at(t, rows, n, i);
            wd_bind_str(&p, (const char *)row); /* the id, first in every row struct */
            t->bind_update(&p, row, k);
        }
    }
    wd_bind_time(&p, updated_ms); /* one batch, one clock reading */
    for (int i = 0; i < padded; i++)
        wd_bind_str(&p, (const char *)row_at(t, rows, n, i));
    rc = wd_stmt_execute(c, st, &p, t->update_what, err);
    if (rc == 0)
        rc = wd_stmt_expect_rows(st, n, t->update_what, err);
    wd_bind_release(&p);
    return rc;
}

/*
 * A SELECT whose parameters are strs[0..nstrs), then *after when it is not NULL, then the row
 * limit max; its rows (described by cols) are read into out.
 */
static int select_rows(struct wd_conn *c, enum wd_stmt_kind kind, const char *sql,
                       const char *const *strs, int nstrs, const uint64_t *after,
                       const struct wd_col *cols, int ncols, void *out, size_t row_size, int max,
                       int *n, const char *what, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int32_t limit = max;
    int rc = wd_stmt_prepare(c, kind, sql, nstrs + 2, &st, &p, err);

    *n = 0;
    if (rc < 0)
        return rc;
    for (int i = 0; i < nstrs; i++)
        wd_bind_str(&p, strs[i]);
    if (after)
        wd_bind_u64(&p, after);
    wd_bind_i32(&p, &limit);
    rc = wd_stmt_read_rows(c, st, &p, cols, ncols, out, row_size, max, n, what, err);
    wd_bind_release(&p);
    return rc;
}

/* ---- wallets ------------------------------------------------------------------------------- */

/* The columns, in the order of their SQL list (db/rows.h), a few to a line. */
/* clang-format off */
static const struct wd_col wallet_cols[] = {
    COL(STR, wd_wallet, id), COL(STR, wd_wallet, tenant), COL(STR, wd_wallet, account),
    COL(STR, wd_wallet, currency), NAMED(wd_wallet, status, wd_rows_wallet_status_names),
    COL(I64, wd_wallet, balance), COL(I64, wd_wallet, held), COL(TIME, wd_wallet, created_ms),
    COL(TIME, wd_wallet, updated_ms)};
/* clang-format on */

static void bind_wallet_update(struct wd_binder *p, const void *row, int k)
{
    const struct wd_wallet *w = row;

    wd_bind_i64(p, k == 0 ? &w->balance : &w->held);
}

static const char sql_insert_wallets[] =
    "INSERT IGNORE INTO wallets (" WD_ROWS_WALLET_COLS ") "
    "SELECT i, t, a, c, 'ACTIVE', 0, 0, ?, ? "
    "FROM JSON_TABLE(?, '$[*]' COLUMNS (i CHAR(40) PATH '$[0]', "
    "t VARCHAR(64) PATH '$[1]', a VARCHAR(64) PATH '$[2]', c CHAR(3) PATH '$[3]')) "
    "AS j RETURNING id";

/* A row that holds only an id: what RETURNING id and the expired-holds query give back. */
struct id_row {
    char id[WD_ID_LEN + 1];
};

static const struct wd_col id_cols[] = {WD_COL_FIELD(WD_COL_STR, struct id_row, id)};

int wd_ledger_insert_wallets(struct wd_conn *c, const struct wd_wallet *rows, int n, bool *inserted,
                             struct wd_error *err)
{
    struct wd_binder p = {0};
    struct id_row *ids = NULL;
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
    rc = wd_stmt_read_rows(c, st, &p, id_cols, COUNT(id_cols), ids, sizeof(*ids), n, &found,
                           "insert wallets", err);
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

static const char sql_list_wallets[] =
    "SELECT " WD_ROWS_WALLET_COLS " FROM wallets WHERE tenant_id = ? AND account_id = ? "
    "ORDER BY created_at, id LIMIT ?";

int wd_ledger_list_wallets(struct wd_conn *c, const char *tenant, const char *account,
                           struct wd_wallet out[WD_LIST_MAX], int *n, struct wd_error *err)
{
    return select_rows(c, WD_STMT_LIST_WALLETS, sql_list_wallets, (const char *[]){tenant, account},
                       2, NULL, wallet_cols, COUNT(wallet_cols), out, sizeof(*out), WD_LIST_MAX, n,
                       "list wallets", err);
}

/* ---- transactions -------------------------------------------------------------------------- */

/* The columns, in the order of their SQL list (db/rows.h), a few to a line. */
/* clang-format off */
static const struct wd_col txn_cols[] = {
    COL(STR, wd_txn, id), COL(STR, wd_txn, tenant), COL(STR, wd_txn, wallet_id),
    NAMED(wd_txn, type, wd_rows_txn_type_names), NAMED(wd_txn, status, wd_rows_txn_status_names),
    COL(I64, wd_txn, amount), COL(I64, wd_txn, captured), COL(STR, wd_txn, currency),
    COL(STR, wd_txn, reference), COL(TIME, wd_txn, expires_ms), COL(TIME, wd_txn, created_ms),
    COL(TIME, wd_txn, updated_ms)};
/* clang-format on */

static void bind_txn_update(struct wd_binder *p, const void *row, int k)
{
    const struct wd_txn *t = row;

    if (k == 0)
        wd_bind_str(p, WD_ROWS_NAME(wd_rows_txn_status_names, t->status));
    else if (t->captured)
        wd_bind_i64(p, &t->captured);
    else
        wd_bind_null(p);
}

static const char sql_insert_txns[] =
    "INSERT INTO transactions (" WD_ROWS_TXN_COLS ") "
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

/* Executes an INSERT whose rows are the JSON_TABLE parameter list (stolen), after times[]; it
 * must insert exactly n rows. */
static int insert_json(struct wd_conn *c, enum wd_stmt_kind kind, const char *sql, json_t *list,
                       const int64_t *times, int ntimes, int n, const char *what,
                       struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st = wd_stmt_fixed(c, kind, sql, err);

    if (!st) {
        json_decref(list);
        return err->code;
    }
    char *json = wd_stmt_bind_json_rows(&p, list, times, ntimes);
    if (!json)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = wd_stmt_execute(c, st, &p, what, err);
    if (rc == 0)
        rc = wd_stmt_expect_rows(st, n, what, err);
    free(json);
    wd_bind_release(&p);
    return rc;
}

int wd_ledger_insert_txns(struct wd_conn *c, const struct wd_txn *rows, int n, struct wd_error *err)
{
    if (n == 0)
        return 0;
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        wd_stmt_add_row(&list, txn_row(&rows[i]));
    int64_t times[] = {rows[0].created_ms, rows[0].updated_ms}; /* one batch, one clock */
    return insert_json(c, WD_STMT_INSERT_TXNS, sql_insert_txns, list, times, 2, n,
                       "insert transactions", err);
}

static const char sql_find_reference[] =
    "SELECT " WD_ROWS_TXN_COLS " FROM transactions WHERE tenant_id = ? AND reference_id = ? "
    "ORDER BY created_at DESC, id DESC LIMIT ?";

int wd_ledger_find_by_reference(struct wd_conn *c, const char *tenant, const char *reference,
                                struct wd_txn *out, int max, int *n, struct wd_error *err)
{
    const char *keys[] = {tenant, reference};

    return select_rows(c, WD_STMT_FIND_REFERENCE, sql_find_reference, keys, 2, NULL, txn_cols,
                       COUNT(txn_cols), out, sizeof(*out), max, n, "find by reference", err);
}

static const char sql_expired[] =
    "SELECT id FROM transactions WHERE status = 'PENDING' AND expires_at <= ? "
    "ORDER BY expires_at LIMIT ?";

int wd_ledger_expired_holds(struct wd_conn *c, int64_t now_ms, char (*ids)[WD_ID_LEN + 1], int max,
                            int *n, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int32_t limit = max;
    int rc = wd_stmt_prepare(c, WD_STMT_EXPIRED_HOLDS, sql_expired, 2, &st, &p, err);

    _Static_assert(sizeof(struct id_row) == WD_ID_LEN + 1, "an id row is its id");
    *n = 0;
    if (rc < 0)
        return rc;
    wd_bind_time(&p, now_ms);
    wd_bind_i32(&p, &limit);
    rc = wd_stmt_read_rows(c, st, &p, id_cols, COUNT(id_cols), ids, sizeof(*ids), max, n,
                           "expired holds", err);
    wd_bind_release(&p);
    return rc;
}

/* ---- ledger entries ------------------------------------------------------------------------ */

/* The columns, in the order of their SQL list (db/rows.h), a few to a line. */
/* clang-format off */
static const struct wd_col entry_cols[] = {
    COL(U64, wd_entry, id), COL(STR, wd_entry, wallet_id), COL(STR, wd_entry, txn_id),
    NAMED(wd_entry, type, wd_rows_entry_type_names), COL(I64, wd_entry, amount),
    COL(I64, wd_entry, held_delta), COL(I64, wd_entry, balance_after),
    COL(I64, wd_entry, held_after), COL(TIME, wd_entry, created_ms)};
/* clang-format on */

static const char sql_insert_entries[] =
    "INSERT INTO ledger (wallet_id, transaction_id, entry_type, amount, held_delta, "
    "balance_after, held_after, created_at) SELECT w, t, y, a, d, b, h, ? "
    "FROM JSON_TABLE(?, '$[*]' COLUMNS (w CHAR(40) PATH '$[0]', "
    "t CHAR(40) PATH '$[1]', y VARCHAR(8) PATH '$[2]', a BIGINT PATH '$[3]', "
    "d BIGINT PATH '$[4]', b BIGINT PATH '$[5]', h BIGINT PATH '$[6]')) AS j";

int wd_ledger_insert_entries(struct wd_conn *c, const struct wd_entry *rows, int n,
                             struct wd_error *err)
{
    if (n == 0)
        return 0;
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        const struct wd_entry *e = &rows[i];
        wd_stmt_add_row(&list, json_pack("[sssIIII]", e->wallet_id, e->txn_id,
                                         WD_ROWS_NAME(wd_rows_entry_type_names, e->type),
                                         (json_int_t)e->amount, (json_int_t)e->held_delta,
                                         (json_int_t)e->balance_after, (json_int_t)e->held_after));
    }
    return insert_json(c, WD_STMT_INSERT_ENTRIES, sql_insert_entries, list, &rows[0].created_ms, 1,
                       n, "insert ledger entries", err); /* one batch, one clock */
}

static const char sql_page[] =
    "SELECT " WD_ROWS_ENTRY_COLS " FROM ledger WHERE wallet_id = ? AND id < ? "
    "ORDER BY id DESC LIMIT ?";

int wd_ledger_page(struct wd_conn *c, const char *wallet_id, uint64_t before, struct wd_entry *out,
                   int max, int *n, struct wd_error *err)
{
    uint64_t bound = before ? before : UINT64_MAX;

    return select_rows(c, WD_STMT_PAGE, sql_page, &wallet_id, 1, &bound, entry_cols,
                       COUNT(entry_cols), out, sizeof(*out), max, n, "ledger page", err);
}

/* ---- the two tables: locks, gets and updates ------------------------------------------------- */

static const struct table wallets =
    TABLE("wallets", WD_ROWS_WALLET_COLS, {"balance", "held"}, wallet_cols, COUNT(wallet_cols),
          sizeof(struct wd_wallet), WD_STMT_LOCK_WALLETS, WD_STMT_GET_WALLET,
          WD_STMT_UPDATE_WALLETS, "SELECT " WD_ROWS_WALLET_COLS " FROM wallets WHERE id = ?",
          bind_wallet_update, "lock wallets", "get wallet", "update wallets");
static const struct table txns =
    TABLE("transactions", WD_ROWS_TXN_COLS, {"status", "captured_amount"}, txn_cols,
          COUNT(txn_cols), sizeof(struct wd_txn), WD_STMT_LOCK_TXNS, WD_STMT_GET_TXN,
          WD_STMT_UPDATE_TXNS, "SELECT " WD_ROWS_TXN_COLS " FROM transactions WHERE id = ?",
          bind_txn_update, "lock transactions", "get transaction", "update transactions");
_Static_assert(offsetof(struct wd_wallet, id) == 0 && offsetof(struct wd_txn, id) == 0,
               "a row starts with its id");

int wd_ledger_lock_wallets(struct wd_conn *c, const char (*ids)[WD_ID_LEN + 1], int n,
                           struct wd_wallet *out, int *found, struct wd_error *err)
{
    return lock_rows(c, &wallets, ids, n, out, found, err);
}

int wd_ledger_lock_txns(struct wd_conn *c, const char (*ids)[WD_ID_LEN + 1], int n,
                        struct wd_txn *out, int *found, struct wd_error *err)
{
    return lock_rows(c, &txns, ids, n, out, found, err);
}

int wd_ledger_get_wallet(struct wd_conn *c, const char *id, struct wd_wallet *out,
                         struct wd_error *err)
{
    return get_row(c, &wallets, id, out, err);
}

int wd_ledger_get_txn(struct wd_conn *c, const char *id, struct wd_txn *out, struct wd_error *err)
{
    return get_row(c, &txns, id, out, err);
}

int wd_ledger_update_wallets(struct wd_conn *c, const struct wd_wallet *rows, int n,
                             struct wd_error *err)
{
    return update_rows(c, &wallets, rows, n, n ? rows[0].updated_ms : 0, err);
}

int wd_ledger_update_txns(struct wd_conn *c, const struct wd_txn *rows, int n, struct wd_error *err)
{
    return update_rows(c, &txns, rows, n, n ? rows[0].updated_ms : 0, err);
}
