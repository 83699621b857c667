/*
 * db/ledger.c - prepared statements over wallets, transactions, ledger and idempotency_keys.
 *
 * Every statement is prepared once per connection and kept in the connection's slots. Statements
 * over a batch's rows take them in one of two ways, so their number stays small whatever the
 * batch size (each prepared statement costs memory on both sides):
 *   - inserts read their rows from one JSON array parameter through JSON_TABLE (rows built with
 *     jansson, so every value is escaped by it; the SQL text never contains a value);
 *   - locks and updates take an IN (...) list of primary keys, padded by repeating the last key up
 *     to the next power of two (1, 2, 4, ... 64), so index range access stays exact and only seven
 *     variants of each exist. Repeats are harmless: IN ignores them and CASE takes the first match.
 */
#include "db/ledger.h"

#include "core/clock.h"
#include "db/bind.h"

#include <jansson.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum stmt_kind {
    S_CLAIM = 0,
    S_LOAD_KEY,
    S_FINISH,
    S_LOCK_W,
    S_LOCK_T,
    S_INS_W,
    S_INS_T,
    S_UPD_T,
    S_UPD_W,
    S_INS_E,
    S_GET_W,
    S_GET_T,
    S_LIST_W,
    S_FIND_REF,
    S_PAGE,
    S_EXPIRED,
    S_PURGE,
    S_COUNT
};

/* A connection's statement slots: per kind, class 0 for SQL that does not depend on the row
 * count, classes 1..7 for IN lists padded to 1, 2, 4, ... 64 rows. */
#define SIZE_CLASSES    8
#define SLOT(kind, cls) ((unsigned)(kind)*SIZE_CLASSES + (unsigned)(cls))
_Static_assert(SLOT(S_COUNT, 0) <= WD_CONN_STMT_SLOTS, "statement slots");
_Static_assert(WD_BATCH_MAX <= 1 << (SIZE_CLASSES - 2), "size classes");

#define SQL_MAX 16384

/* "YYYY-MM-DD HH:MM:SS.mmm" (UTC), how JSON_TABLE's DATETIME(3) columns read a time. */
static void sql_datetime(int64_t ms, char out[WD_TIMESTAMP_LEN])
{
    wd_clock_format(ms, out);
    out[10] = ' ';
    out[23] = '\0'; /* drop the Z */
}

/* Binds ids[0..n) as an IN list of padded (>= n) entries, repeating the last id. */
static int bind_padded_ids(struct wd_binder *p, const char (*ids)[WD_ID_LEN + 1], int n, int padded)
{
    if (wd_bind_init(p, padded) < 0)
        return -WD_E_NOMEM;
    for (int i = 0; i < padded; i++)
        wd_bind_str(p, ids[i < n ? i : n - 1]);
    return 0;
}

/* Appends row (stolen) to rows; a row jansson could not build poisons the list (NULL). */
static void add_row(json_t **rows, json_t *row)
{
    if (!*rows || !row || json_array_append_new(*rows, row) < 0) {
        json_decref(*rows);
        *rows = NULL;
    }
}

/* Binds times[0..ntimes) and then rows (stolen) as the JSON text of a JSON_TABLE parameter.
 * Returns the text, which the caller frees after executing; NULL when out of memory or a row
 * could not be built (p is then empty, and releasing it is harmless). */
static char *bind_json_rows(struct wd_binder *p, json_t *rows, const int64_t *times, int ntimes)
{
    char *json = rows ? json_dumps(rows, JSON_COMPACT) : NULL;

    json_decref(rows);
    memset(p, 0, sizeof(*p));
    if (!json || wd_bind_init(p, ntimes + 1) < 0) {
        free(json);
        return NULL;
    }
    for (int i = 0; i < ntimes; i++)
        wd_bind_time(p, times[i]);
    wd_bind_str(p, json);
    return json;
}

/* A batch statement must touch exactly n rows, or the batch would half-apply. */
static int expect_rows(MYSQL_STMT *st, int n, const char *what, struct wd_error *err)
{
    my_ulonglong got = mysql_stmt_affected_rows(st);

    if (got == (my_ulonglong)n)
        return 0;
    return wd_error_set(err, -WD_E_DB, "%s: %llu of %d rows", what, (unsigned long long)got, n);
}

static const char *const wallet_status_names[] = {"ACTIVE", "FROZEN", "CLOSED"};
static const char *const txn_type_names[] = {"CREDIT", "AUTHORIZATION", "DEBIT"};
static const char *const txn_status_names[] = {"PENDING", "COMPLETED", "VOIDED", "EXPIRED"};
static const char *const entry_type_names[] = {"CREDIT", "DEBIT", "HOLD", "RELEASE", "CAPTURE"};

#define NAME_OF(table, i) \
    ((i) >= 0 && (size_t)(i) < sizeof(table) / sizeof(table[0]) ? table[i] : "UNKNOWN")

const char *wd_ledger_wallet_status_name(int status)
{
    return NAME_OF(wallet_status_names, status);
}

const char *wd_ledger_txn_type_name(int type)
{
    return NAME_OF(txn_type_names, type);
}

const char *wd_ledger_txn_status_name(int status)
{
    return NAME_OF(txn_status_names, status);
}

const char *wd_ledger_entry_type_name(int type)
{
    return NAME_OF(entry_type_names, type);
}

static int index_of(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

#define INDEX_OF(table, name) index_of(table, sizeof(table) / sizeof(table[0]), name)

/* Appends head, n copies of row joined by sep, and tail. 0 or -1 if it does not fit. */
static int build(
    char *buf, const char *head, const char *row, const char *sep, int n, const char *tail)
{
    size_t used = (size_t)snprintf(buf, SQL_MAX, "%s", head);

    for (int i = 0; i < n && used < SQL_MAX; i++)
        used += (size_t)snprintf(buf + used, SQL_MAX - used, "%s%s", i ? sep : "", row);
    if (used < SQL_MAX)
        used += (size_t)snprintf(buf + used, SQL_MAX - used, "%s", tail);
    return used < SQL_MAX ? 0 : -1;
}

/* Builds "CASE id WHEN ? THEN ? ... END". */
static int build_case(char *buf, size_t size, int n)
{
    size_t used = (size_t)snprintf(buf, size, "CASE id");

    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, " WHEN ? THEN ?");
    if (used < size)
        used += (size_t)snprintf(buf + used, size - used, " END");
    return used < size ? 0 : -1;
}

typedef int (*sql_builder_fn)(char *buf, int n);

/*
 * The statement of kind for n rows on c: its IN lists padded to *padded (the next power of two,
 * so a connection holds a few statements per kind, not one per row count), built and prepared
 * on first use. Borrowed.
 */
static MYSQL_STMT *stmt_for(struct wd_conn *c,
                            enum stmt_kind kind,
                            int n,
                            sql_builder_fn fn,
                            int *padded,
                            struct wd_error *err)
{
    int cls = 1;

    if (n < 1 || n > WD_BATCH_MAX) {
        wd_error_set(err, -WD_E_INTERNAL_ERROR, "batch of %d rows is out of range", n);
        return NULL;
    }
    for (*padded = 1; *padded < n; *padded *= 2)
        cls++;
    unsigned slot = SLOT(kind, cls);
    if (c->mysql && c->stmts[slot])
        return c->stmts[slot];
    char *sql = malloc(SQL_MAX);
    if (!sql) {
        wd_error_set(err, -WD_E_NOMEM, NULL);
        return NULL;
    }
    MYSQL_STMT *st = NULL;
    if (fn(sql, *padded) < 0)
        wd_error_set(err, -WD_E_INTERNAL_ERROR, "SQL for %d rows does not fit", *padded);
    else
        st = wd_conn_stmt(c, slot, sql, err);
    free(sql);
    return st;
}

/* The statement of a kind whose SQL does not depend on the row count. Borrowed. */
static MYSQL_STMT *stmt_fixed(struct wd_conn *c,
                              enum stmt_kind kind,
                              const char *sql,
                              struct wd_error *err)
{
    return wd_conn_stmt(c, SLOT(kind, 0), sql, err);
}

/* Binds params and executes. 0 or a classified error. */
static int execute(struct wd_conn *c,
                   MYSQL_STMT *st,
                   struct wd_binder *params,
                   const char *what,
                   struct wd_error *err)
{
    int rc = wd_bind_ok(params);

    if (rc < 0)
        return wd_error_set(err, rc, "%s: binding parameters failed", what);
    if (mysql_stmt_bind_param(st, params->binds) || mysql_stmt_execute(st))
        return wd_conn_stmt_fail(c, st, what, err);
    return 0;
}

/* Binds results. 0 or an error. */
static int bind_results(struct wd_conn *c,
                        MYSQL_STMT *st,
                        struct wd_binder *res,
                        const char *what,
                        struct wd_error *err)
{
    int rc = wd_bind_ok(res);

    if (rc < 0)
        return wd_error_set(err, rc, "%s: binding results failed", what);
    if (mysql_stmt_bind_result(st, res->binds))
        return wd_conn_stmt_fail(c, st, what, err);
    return 0;
}

/* Fetches the next row: 1 row, 0 end, or a negative error (result freed on end/error). */
static int fetch(struct wd_conn *c, MYSQL_STMT *st, const char *what, struct wd_error *err)
{
    int rc = mysql_stmt_fetch(st);

    if (rc == 0 || rc == MYSQL_DATA_TRUNCATED)
        return 1;
    if (rc == MYSQL_NO_DATA) {
        mysql_stmt_free_result(st);
        return 0;
    }
    rc = wd_conn_stmt_fail(c, st, what, err);
    if (c->mysql)
        mysql_stmt_free_result(st);
    return rc;
}

/* ---- idempotency keys ---------------------------------------------------------------------- */

/* The rows of idem_rows(), as the FROM of an insert into idempotency_keys. */
#define IDEM_FROM_JSON                                                                \
    "FROM JSON_TABLE(?, '$[*]' COLUMNS (t VARCHAR(64) PATH '$[0]', "                  \
    "o VARCHAR(64) PATH '$[1]', k VARCHAR(255) PATH '$[2]', h CHAR(64) PATH '$[3]', " \
    "s INT PATH '$[4]', r LONGTEXT PATH '$[5]')) AS j "

/* [tenant, scope, key, hex hash, status, response] per key; NULL if jansson could not. */
static json_t *idem_rows(const struct wd_idem *keys, int n)
{
    json_t *rows = json_array();
    char hex[65];

    for (int i = 0; i < n; i++) {
        sodium_bin2hex(hex, sizeof(hex), keys[i].hash, 32);
        add_row(&rows, json_pack("[ssssis%]", keys[i].tenant, keys[i].scope, keys[i].key, hex,
                                 keys[i].status, keys[i].response ? keys[i].response : "",
                                 keys[i].response ? keys[i].response_len : 0));
    }
    return rows;
}

static const char sql_claim[] =
    "INSERT IGNORE INTO idempotency_keys (tenant_id, scope_id, idem_key, request_hash, "
    "status_code, response, created_at) SELECT t, o, k, UNHEX(h), s, r, ? " IDEM_FROM_JSON
    "RETURNING tenant_id, scope_id, idem_key";

int wd_ledger_claim_keys(
    struct wd_conn *c, struct wd_idem *keys, int n, int64_t now_ms, struct wd_error *err)
{
    struct wd_binder p, r;
    char tenant[WD_TENANT_MAX + 1], scope[WD_TENANT_MAX + 1], key[WD_IDEM_KEY_MAX + 1];
    MYSQL_STMT *st = stmt_fixed(c, S_CLAIM, sql_claim, err);

    if (!st)
        return err->code;
    for (int i = 0; i < n; i++)
        keys[i].claimed = false;
    char *json = bind_json_rows(&p, idem_rows(keys, n), &now_ms, 1);
    if (!json || wd_bind_init(&r, 3) < 0) {
        free(json);
        wd_bind_release(&p);
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    }
    wd_bind_result_str(&r, tenant, sizeof(tenant));
    wd_bind_result_str(&r, scope, sizeof(scope));
    wd_bind_result_str(&r, key, sizeof(key));
    int rc = execute(c, st, &p, "claim keys", err);
    if (rc == 0)
        rc = bind_results(c, st, &r, "claim keys", err);
    while (rc == 0 && (rc = fetch(c, st, "claim keys", err)) == 1) {
        wd_bind_fix_str(&r, 0, tenant, sizeof(tenant));
        wd_bind_fix_str(&r, 1, scope, sizeof(scope));
        wd_bind_fix_str(&r, 2, key, sizeof(key));
        for (int i = 0; i < n; i++) {
            if (!strcmp(keys[i].tenant, tenant) && !strcmp(keys[i].scope, scope) &&
                !strcmp(keys[i].key, key))
                keys[i].claimed = true;
        }
        rc = 0;
    }
    free(json);
    wd_bind_release(&p);
    wd_bind_release(&r);
    return rc < 0 ? rc : 0;
}

static const char sql_load_key[] =
    "SELECT request_hash, status_code, response FROM idempotency_keys "
    "WHERE tenant_id = ? AND scope_id = ? AND idem_key = ?";

/* Fetches the response column, whatever its size, into a malloc'ed buffer. */
static int fetch_response(struct wd_conn *c,
                          MYSQL_STMT *st,
                          struct wd_binder *r,
                          int col,
                          struct wd_idem *k,
                          struct wd_error *err)
{
    unsigned long len = wd_bind_is_null(r, col) ? 0 : wd_bind_length(r, col);
    MYSQL_BIND b;

    k->response = malloc(len + 1);
    if (!k->response)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    k->response_len = len;
    k->response[len] = '\0';
    if (len == 0)
        return 0;
    memset(&b, 0, sizeof(b));
    b.buffer_type = MYSQL_TYPE_BLOB;
    b.buffer = k->response;
    b.buffer_length = len;
    if (mysql_stmt_fetch_column(st, &b, (unsigned)col, 0))
        return wd_conn_stmt_fail(c, st, "load key response", err);
    return 0;
}

int wd_ledger_load_key(struct wd_conn *c, struct wd_idem *k, struct wd_error *err)
{
    struct wd_binder p, r;
    int32_t status = 0;
    char nothing[1];
    MYSQL_STMT *st = stmt_fixed(c, S_LOAD_KEY, sql_load_key, err);

    if (!st)
        return err->code;
    if (wd_bind_init(&p, 3) < 0 || wd_bind_init(&r, 3) < 0) {
        wd_bind_release(&p);
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    }
    wd_bind_str(&p, k->tenant);
    wd_bind_str(&p, k->scope);
    wd_bind_str(&p, k->key);
    wd_bind_result_blob(&r, k->stored_hash, sizeof(k->stored_hash));
    wd_bind_result_i32(&r, &status);
    wd_bind_result_blob(&r, nothing, 0); /* length only; fetched by column below */
    int rc = execute(c, st, &p, "load key", err);
    if (rc == 0)
        rc = bind_results(c, st, &r, "load key", err);
    if (rc == 0) {
        rc = fetch(c, st, "load key", err);
        if (rc == 0)
            rc = wd_error_set(err, -WD_E_NOT_FOUND, "idempotency key vanished");
        else if (rc == 1) {
            k->status = status;
            rc = fetch_response(c, st, &r, 2, k, err);
            while (rc == 0 && fetch(c, st, "load key", err) == 1) {
            }
        }
    }
    wd_bind_release(&p);
    wd_bind_release(&r);
    return rc;
}

static const char sql_finish[] =
    "INSERT INTO idempotency_keys (tenant_id, scope_id, idem_key, request_hash, status_code, "
    "response, created_at) SELECT t, o, k, UNHEX(h), s, r, UTC_TIMESTAMP(3) " IDEM_FROM_JSON
    "ON DUPLICATE KEY UPDATE status_code = VALUES(status_code), "
    "response = VALUES(response)";

int wd_ledger_finish_keys(struct wd_conn *c,
                          const struct wd_idem *keys,
                          int n,
                          struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;

    if (n == 0)
        return 0;
    if (!(st = stmt_fixed(c, S_FINISH, sql_finish, err)))
        return err->code;
    char *json = bind_json_rows(&p, idem_rows(keys, n), NULL, 0);
    if (!json)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = execute(c, st, &p, "finish keys", err);
    free(json);
    wd_bind_release(&p);
    return rc;
}

/* ---- wallets ------------------------------------------------------------------------------- */

#define WALLET_COLS \
    "id, tenant_id, account_id, currency, status, balance, held, created_at, updated_at"

struct wallet_result {
    struct wd_wallet row;
    char status[16];
};

static void bind_wallet_result(struct wd_binder *r, struct wallet_result *w)
{
    wd_bind_result_str(r, w->row.id, sizeof(w->row.id));
    wd_bind_result_str(r, w->row.tenant, sizeof(w->row.tenant));
    wd_bind_result_str(r, w->row.account, sizeof(w->row.account));
    wd_bind_result_str(r, w->row.currency, sizeof(w->row.currency));
    wd_bind_result_str(r, w->status, sizeof(w->status));
    wd_bind_result_i64(r, &w->row.balance);
    wd_bind_result_i64(r, &w->row.held);
    wd_bind_result_time(r);
    wd_bind_result_time(r);
}

static void fix_wallet_result(struct wd_binder *r, struct wallet_result *w)
{
    wd_bind_fix_str(r, 0, w->row.id, sizeof(w->row.id));
    wd_bind_fix_str(r, 1, w->row.tenant, sizeof(w->row.tenant));
    wd_bind_fix_str(r, 2, w->row.account, sizeof(w->row.account));
    wd_bind_fix_str(r, 3, w->row.currency, sizeof(w->row.currency));
    wd_bind_fix_str(r, 4, w->status, sizeof(w->status));
    w->row.status = INDEX_OF(wallet_status_names, w->status);
    w->row.created_ms = wd_bind_time_ms(r, 7);
    w->row.updated_ms = wd_bind_time_ms(r, 8);
}

/* Runs st with params p and collects wallet rows into out (at most max). */
static int collect_wallets(struct wd_conn *c,
                           MYSQL_STMT *st,
                           struct wd_binder *p,
                           struct wd_wallet *out,
                           int max,
                           int *found,
                           const char *what,
                           struct wd_error *err)
{
    struct wd_binder r;
    struct wallet_result w;

    *found = 0;
    if (wd_bind_init(&r, 9) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    bind_wallet_result(&r, &w);
    int rc = execute(c, st, p, what, err);
    if (rc == 0)
        rc = bind_results(c, st, &r, what, err);
    while (rc == 0 && (rc = fetch(c, st, what, err)) == 1) {
        fix_wallet_result(&r, &w);
        if (*found < max)
            out[(*found)++] = w.row;
        rc = 0;
    }
    wd_bind_release(&r);
    return rc < 0 ? rc : 0;
}

static int sql_lock_wallets(char *buf, int n)
{
    return build(buf, "SELECT " WALLET_COLS " FROM wallets WHERE id IN (", "?", ", ", n,
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
    if (!(st = stmt_for(c, S_LOCK_W, n, sql_lock_wallets, &padded, err)))
        return err->code;
    if (bind_padded_ids(&p, ids, n, padded) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = collect_wallets(c, st, &p, out, n, found, "lock wallets", err);
    wd_bind_release(&p);
    return rc;
}

static const char sql_insert_wallets[] =
    "INSERT IGNORE INTO wallets (" WALLET_COLS ") "
    "SELECT i, t, a, c, 'ACTIVE', 0, 0, ?, ? "
    "FROM JSON_TABLE(?, '$[*]' COLUMNS (i CHAR(40) PATH '$[0]', "
    "t VARCHAR(64) PATH '$[1]', a VARCHAR(64) PATH '$[2]', c CHAR(3) PATH '$[3]')) "
    "AS j RETURNING id";

int wd_ledger_insert_wallets(
    struct wd_conn *c, const struct wd_wallet *rows, int n, bool *inserted, struct wd_error *err)
{
    struct wd_binder p, r;
    char id[WD_ID_LEN + 1];
    MYSQL_STMT *st;

    if (n == 0)
        return 0;
    if (!(st = stmt_fixed(c, S_INS_W, sql_insert_wallets, err)))
        return err->code;
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        inserted[i] = false;
        add_row(&list,
                json_pack("[ssss]", rows[i].id, rows[i].tenant, rows[i].account, rows[i].currency));
    }
    int64_t times[] = {rows[0].created_ms, rows[0].updated_ms}; /* one batch, one clock */
    char *json = bind_json_rows(&p, list, times, 2);
    if (!json || wd_bind_init(&r, 1) < 0) {
        free(json);
        wd_bind_release(&p);
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    }
    wd_bind_result_str(&r, id, sizeof(id));
    int rc = execute(c, st, &p, "insert wallets", err);
    if (rc == 0)
        rc = bind_results(c, st, &r, "insert wallets", err);
    while (rc == 0 && (rc = fetch(c, st, "insert wallets", err)) == 1) {
        wd_bind_fix_str(&r, 0, id, sizeof(id));
        for (int i = 0; i < n; i++) {
            if (strcmp(rows[i].id, id) == 0)
                inserted[i] = true;
        }
        rc = 0;
    }
    free(json);
    wd_bind_release(&p);
    wd_bind_release(&r);
    return rc < 0 ? rc : 0;
}

static int sql_update_wallets(char *buf, int n)
{
    char balance[4096], held[4096], head[9000];

    if (build_case(balance, sizeof(balance), n) < 0 || build_case(held, sizeof(held), n) < 0)
        return -1;
    snprintf(head, sizeof(head),
             "UPDATE wallets SET balance = %s, held = %s, updated_at = ? WHERE id IN (", balance,
             held);
    return build(buf, head, "?", ", ", n, ")");
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
    if (!(st = stmt_for(c, S_UPD_W, n, sql_update_wallets, &padded, err)))
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
    int rc = execute(c, st, &p, "update wallets", err);
    if (rc == 0)
        rc = expect_rows(st, n, "update wallets (rows matched)", err);
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
    MYSQL_STMT *st = stmt_fixed(c, S_GET_W, sql_get_wallet, err);

    if (!st)
        return err->code;
    if (wd_bind_init(&p, 1) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_str(&p, id);
    int rc = collect_wallets(c, st, &p, out, 1, &found, "get wallet", err);
    wd_bind_release(&p);
    if (rc == 0 && found == 0)
        rc = wd_error_set(err, -WD_E_NOT_FOUND, NULL);
    return rc;
}

static const char sql_list_wallets[] =
    "SELECT " WALLET_COLS " FROM wallets WHERE tenant_id = ? AND account_id = ? "
    "ORDER BY created_at, id LIMIT 1000";

int wd_ledger_list_wallets(struct wd_conn *c,
                           const char *tenant,
                           const char *account,
                           struct wd_wallet *out,
                           int max,
                           int *n,
                           struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st = stmt_fixed(c, S_LIST_W, sql_list_wallets, err);

    if (!st)
        return err->code;
    if (wd_bind_init(&p, 2) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_str(&p, tenant);
    wd_bind_str(&p, account);
    int rc = collect_wallets(c, st, &p, out, max, n, "list wallets", err);
    wd_bind_release(&p);
    return rc;
}

/* ---- transactions -------------------------------------------------------------------------- */

#define TXN_COLS                                                                                \
    "id, tenant_id, wallet_id, type, status, amount, captured_amount, currency, reference_id, " \
    "expires_at, created_at, updated_at"

struct txn_result {
    struct wd_txn row;
    char type[16];
    char status[16];
};

static void bind_txn_result(struct wd_binder *r, struct txn_result *t)
{
    wd_bind_result_str(r, t->row.id, sizeof(t->row.id));
    wd_bind_result_str(r, t->row.tenant, sizeof(t->row.tenant));
    wd_bind_result_str(r, t->row.wallet_id, sizeof(t->row.wallet_id));
    wd_bind_result_str(r, t->type, sizeof(t->type));
    wd_bind_result_str(r, t->status, sizeof(t->status));
    wd_bind_result_i64(r, &t->row.amount);
    wd_bind_result_i64(r, &t->row.captured);
    wd_bind_result_str(r, t->row.currency, sizeof(t->row.currency));
    wd_bind_result_str(r, t->row.reference, sizeof(t->row.reference));
    wd_bind_result_time(r);
    wd_bind_result_time(r);
    wd_bind_result_time(r);
}

static void fix_txn_result(struct wd_binder *r, struct txn_result *t)
{
    wd_bind_fix_str(r, 0, t->row.id, sizeof(t->row.id));
    wd_bind_fix_str(r, 1, t->row.tenant, sizeof(t->row.tenant));
    wd_bind_fix_str(r, 2, t->row.wallet_id, sizeof(t->row.wallet_id));
    wd_bind_fix_str(r, 3, t->type, sizeof(t->type));
    wd_bind_fix_str(r, 4, t->status, sizeof(t->status));
    wd_bind_fix_str(r, 7, t->row.currency, sizeof(t->row.currency));
    wd_bind_fix_str(r, 8, t->row.reference, sizeof(t->row.reference));
    t->row.type = INDEX_OF(txn_type_names, t->type);
    t->row.status = INDEX_OF(txn_status_names, t->status);
    if (wd_bind_is_null(r, 6))
        t->row.captured = 0;
    t->row.expires_ms = wd_bind_time_ms(r, 9);
    t->row.created_ms = wd_bind_time_ms(r, 10);
    t->row.updated_ms = wd_bind_time_ms(r, 11);
}

static int collect_txns(struct wd_conn *c,
                        MYSQL_STMT *st,
                        struct wd_binder *p,
                        struct wd_txn *out,
                        int max,
                        int *found,
                        const char *what,
                        struct wd_error *err)
{
    struct wd_binder r;
    struct txn_result t;

    *found = 0;
    if (wd_bind_init(&r, 12) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    bind_txn_result(&r, &t);
    int rc = execute(c, st, p, what, err);
    if (rc == 0)
        rc = bind_results(c, st, &r, what, err);
    while (rc == 0 && (rc = fetch(c, st, what, err)) == 1) {
        fix_txn_result(&r, &t);
        if (*found < max)
            out[(*found)++] = t.row;
        rc = 0;
    }
    wd_bind_release(&r);
    return rc < 0 ? rc : 0;
}

static int sql_lock_txns(char *buf, int n)
{
    return build(buf, "SELECT " TXN_COLS " FROM transactions WHERE id IN (", "?", ", ", n,
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
    if (!(st = stmt_for(c, S_LOCK_T, n, sql_lock_txns, &padded, err)))
        return err->code;
    if (bind_padded_ids(&p, ids, n, padded) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = collect_txns(c, st, &p, out, n, found, "lock transactions", err);
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

int wd_ledger_insert_txns(struct wd_conn *c, const struct wd_txn *rows, int n, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    char expires[WD_TIMESTAMP_LEN];

    if (n == 0)
        return 0;
    if (!(st = stmt_fixed(c, S_INS_T, sql_insert_txns, err)))
        return err->code;
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        const struct wd_txn *t = &rows[i];
        if (t->expires_ms)
            sql_datetime(t->expires_ms, expires);
        add_row(&list, json_pack("[sssssIosso]", t->id, t->tenant, t->wallet_id,
                                 wd_ledger_txn_type_name(t->type),
                                 wd_ledger_txn_status_name(t->status), (json_int_t)t->amount,
                                 t->captured ? json_integer(t->captured) : json_null(), t->currency,
                                 t->reference, t->expires_ms ? json_string(expires) : json_null()));
    }
    int64_t times[] = {rows[0].created_ms, rows[0].updated_ms}; /* one batch, one clock */
    char *json = bind_json_rows(&p, list, times, 2);
    if (!json)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = execute(c, st, &p, "insert transactions", err);
    if (rc == 0)
        rc = expect_rows(st, n, "insert transactions", err);
    free(json);
    wd_bind_release(&p);
    return rc;
}

static int sql_update_txns(char *buf, int n)
{
    char status[4096], captured[4096], head[9000];

    if (build_case(status, sizeof(status), n) < 0 || build_case(captured, sizeof(captured), n) < 0)
        return -1;
    snprintf(head, sizeof(head),
             "UPDATE transactions SET status = %s, captured_amount = %s, updated_at = ? "
             "WHERE id IN (",
             status, captured);
    return build(buf, head, "?", ", ", n, ")");
}

int wd_ledger_update_txns(struct wd_conn *c, const struct wd_txn *rows, int n, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int padded;

    if (n == 0)
        return 0;
    if (!(st = stmt_for(c, S_UPD_T, n, sql_update_txns, &padded, err)))
        return err->code;
    if (wd_bind_init(&p, 5 * padded + 1) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    for (int i = 0; i < padded; i++) {
        const struct wd_txn *t = &rows[i < n ? i : n - 1];
        wd_bind_str(&p, t->id);
        wd_bind_str(&p, wd_ledger_txn_status_name(t->status));
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
    int rc = execute(c, st, &p, "update transactions", err);
    if (rc == 0)
        rc = expect_rows(st, n, "update transactions (rows matched)", err);
    wd_bind_release(&p);
    return rc;
}

static const char sql_get_txn[] = "SELECT " TXN_COLS " FROM transactions WHERE id = ?";

int wd_ledger_get_txn(struct wd_conn *c, const char *id, struct wd_txn *out, struct wd_error *err)
{
    struct wd_binder p;
    int found = 0;
    MYSQL_STMT *st = stmt_fixed(c, S_GET_T, sql_get_txn, err);

    if (!st)
        return err->code;
    if (wd_bind_init(&p, 1) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_str(&p, id);
    int rc = collect_txns(c, st, &p, out, 1, &found, "get transaction", err);
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
    MYSQL_STMT *st = stmt_fixed(c, S_FIND_REF, sql_find_reference, err);

    *n = 0;
    if (!st)
        return err->code;
    if (wd_bind_init(&p, 3) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_str(&p, tenant);
    wd_bind_str(&p, reference);
    wd_bind_i32(&p, &limit);
    int rc = collect_txns(c, st, &p, out, max, n, "find by reference", err);
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
    struct wd_binder p, r;
    int32_t limit = max;
    char id[WD_ID_LEN + 1];
    MYSQL_STMT *st = stmt_fixed(c, S_EXPIRED, sql_expired, err);

    *n = 0;
    if (!st)
        return err->code;
    if (wd_bind_init(&p, 2) < 0 || wd_bind_init(&r, 1) < 0) {
        wd_bind_release(&p);
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    }
    wd_bind_time(&p, now_ms);
    wd_bind_i32(&p, &limit);
    wd_bind_result_str(&r, id, sizeof(id));
    int rc = execute(c, st, &p, "expired holds", err);
    if (rc == 0)
        rc = bind_results(c, st, &r, "expired holds", err);
    while (rc == 0 && (rc = fetch(c, st, "expired holds", err)) == 1) {
        wd_bind_fix_str(&r, 0, id, sizeof(id));
        if (*n < max)
            memcpy(ids[(*n)++], id, sizeof(id));
        rc = 0;
    }
    wd_bind_release(&p);
    wd_bind_release(&r);
    return rc < 0 ? rc : 0;
}

/* ---- ledger entries ------------------------------------------------------------------------ */

#define ENTRY_COLS                                                                               \
    "id, wallet_id, transaction_id, entry_type, amount, held_delta, balance_after, held_after, " \
    "created_at"

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
    if (!(st = stmt_fixed(c, S_INS_E, sql_insert_entries, err)))
        return err->code;
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        const struct wd_entry *e = &rows[i];
        add_row(&list,
                json_pack("[sssIIII]", e->wallet_id, e->txn_id, wd_ledger_entry_type_name(e->type),
                          (json_int_t)e->amount, (json_int_t)e->held_delta,
                          (json_int_t)e->balance_after, (json_int_t)e->held_after));
    }
    char *json = bind_json_rows(&p, list, &rows[0].created_ms, 1); /* one batch, one clock */
    if (!json)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = execute(c, st, &p, "insert ledger entries", err);
    if (rc == 0)
        rc = expect_rows(st, n, "insert ledger entries", err);
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
    struct wd_binder p, r;
    struct wd_entry e;
    char type[16];
    uint64_t bound = before ? before : UINT64_MAX;
    int32_t limit = max;
    MYSQL_STMT *st = stmt_fixed(c, S_PAGE, sql_page, err);

    *n = 0;
    if (!st)
        return err->code;
    if (wd_bind_init(&p, 3) < 0 || wd_bind_init(&r, 9) < 0) {
        wd_bind_release(&p);
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    }
    wd_bind_str(&p, wallet_id);
    wd_bind_u64(&p, &bound);
    wd_bind_i32(&p, &limit);
    wd_bind_result_u64(&r, &e.id);
    wd_bind_result_str(&r, e.wallet_id, sizeof(e.wallet_id));
    wd_bind_result_str(&r, e.txn_id, sizeof(e.txn_id));
    wd_bind_result_str(&r, type, sizeof(type));
    wd_bind_result_i64(&r, &e.amount);
    wd_bind_result_i64(&r, &e.held_delta);
    wd_bind_result_i64(&r, &e.balance_after);
    wd_bind_result_i64(&r, &e.held_after);
    wd_bind_result_time(&r);
    int rc = execute(c, st, &p, "ledger page", err);
    if (rc == 0)
        rc = bind_results(c, st, &r, "ledger page", err);
    while (rc == 0 && (rc = fetch(c, st, "ledger page", err)) == 1) {
        wd_bind_fix_str(&r, 1, e.wallet_id, sizeof(e.wallet_id));
        wd_bind_fix_str(&r, 2, e.txn_id, sizeof(e.txn_id));
        wd_bind_fix_str(&r, 3, type, sizeof(type));
        e.type = INDEX_OF(entry_type_names, type);
        e.created_ms = wd_bind_time_ms(&r, 8);
        if (*n < max)
            out[(*n)++] = e;
        rc = 0;
    }
    wd_bind_release(&p);
    wd_bind_release(&r);
    return rc < 0 ? rc : 0;
}

static const char sql_purge[] = "DELETE FROM idempotency_keys WHERE created_at < ? LIMIT ?";

int wd_ledger_purge_keys(
    struct wd_conn *c, int64_t before_ms, int max, int *deleted, struct wd_error *err)
{
    struct wd_binder p;
    int32_t limit = max;
    MYSQL_STMT *st = stmt_fixed(c, S_PURGE, sql_purge, err);

    *deleted = 0;
    if (!st)
        return err->code;
    if (wd_bind_init(&p, 2) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    wd_bind_time(&p, before_ms);
    wd_bind_i32(&p, &limit);
    int rc = execute(c, st, &p, "purge keys", err);
    if (rc == 0)
        *deleted = (int)mysql_stmt_affected_rows(st);
    wd_bind_release(&p);
    return rc;
}
