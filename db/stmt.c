/*
 * db/stmt.c - statement slots, execution and fetching, multi-row parameters, and reading rows
 * by column description.
 *
 * A statement over a batch's rows takes them in one of two ways, so the number of prepared
 * statements stays small whatever the batch size (each one costs memory on both sides):
 *   - inserts read their rows from one JSON array parameter through JSON_TABLE (rows built with
 *     jansson, so every value is escaped by it; the SQL text never contains a value);
 *   - locks and updates take an IN (...) list of primary keys, padded by repeating the last key up
 *     to the next power of two (1, 2, 4, ... 64), so index range access stays exact and only seven
 *     variants of each exist.
 */
#include "db/stmt.h"

#include "db/inject.h"
#include "db/rows.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOT(kind, cls) ((unsigned)(kind)*WD_STMT_SIZE_CLASSES + (unsigned)(cls))
#define NAME_MAX_LEN    32 /* the longest ENUM name a WD_COL_NAME column holds, plus NUL */

int wd_stmt_size_class(int n, int *padded)
{
    int cls = 1;

    assert(n >= 1 && n <= WD_BATCH_MAX);
    for (*padded = 1; *padded < n; *padded *= 2)
        cls++;
    return cls;
}

MYSQL_STMT *wd_stmt_fixed(struct wd_conn *c, enum wd_stmt_kind kind, const char *sql,
                          struct wd_error *err)
{
    return wd_conn_stmt(c, SLOT(kind, 0), sql, err);
}

int wd_stmt_prepare(struct wd_conn *c, enum wd_stmt_kind kind, const char *sql, int nparams,
                    MYSQL_STMT **st, struct wd_binder *p, struct wd_error *err)
{
    memset(p, 0, sizeof(*p));
    if (!(*st = wd_stmt_fixed(c, kind, sql, err)))
        return err->code;
    if (wd_bind_init(p, nparams) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    return 0;
}

int wd_stmt_prepare_sized(struct wd_conn *c, enum wd_stmt_kind kind, int n, wd_stmt_sql_fn fn,
                          const void *ctx, int per_row, int extra, MYSQL_STMT **st,
                          struct wd_binder *p, int *padded, struct wd_error *err)
{
    memset(p, 0, sizeof(*p));
    if (!(*st = wd_stmt_sized(c, kind, n, fn, ctx, padded, err)))
        return err->code;
    if (wd_bind_init(p, per_row * *padded + extra) < 0)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    return 0;
}

MYSQL_STMT *wd_stmt_sized(struct wd_conn *c, enum wd_stmt_kind kind, int n, wd_stmt_sql_fn fn,
                          const void *ctx, int *padded, struct wd_error *err)
{
    if (n < 1 || n > WD_BATCH_MAX) {
        wd_error_set(err, -WD_E_INTERNAL_ERROR, "batch of %d rows is out of range", n);
        return NULL;
    }
    unsigned slot = SLOT(kind, wd_stmt_size_class(n, padded));
    if (c->mysql && slot < c->nstmts && c->stmts[slot])
        return c->stmts[slot];
    char *sql = malloc(WD_STMT_SQL_MAX);
    MYSQL_STMT *st = NULL;
    if (!sql)
        wd_error_set(err, -WD_E_NOMEM, NULL);
    else if (fn(sql, *padded, ctx) < 0)
        wd_error_set(err, -WD_E_INTERNAL_ERROR, "SQL for %d rows does not fit", *padded);
    else
        st = wd_conn_stmt(c, slot, sql, err);
    free(sql);
    return st;
}

int wd_stmt_execute(struct wd_conn *c, MYSQL_STMT *st, struct wd_binder *params, const char *what,
                    struct wd_error *err)
{
    int rc = wd_bind_ok(params);

    if (rc < 0)
        return wd_error_set(err, rc, "%s: binding parameters failed", what);
    if (wd_inject_execute(c, what)) /* walletd-faults only (core/fault.h) */
        return wd_conn_fail(c, what, err);
    if (mysql_stmt_bind_param(st, params->binds) || mysql_stmt_execute(st))
        return wd_conn_stmt_fail(c, st, what, err);
    return 0;
}

int wd_stmt_bind_results(struct wd_conn *c, MYSQL_STMT *st, struct wd_binder *res, const char *what,
                         struct wd_error *err)
{
    int rc = wd_bind_ok(res);

    if (rc < 0)
        return wd_error_set(err, rc, "%s: binding results failed", what);
    if (mysql_stmt_bind_result(st, res->binds))
        return wd_conn_stmt_fail(c, st, what, err);
    return 0;
}

int wd_stmt_fetch(struct wd_conn *c, MYSQL_STMT *st, const char *what, struct wd_error *err)
{
    int rc = mysql_stmt_fetch(st);

    if (rc == 0 || rc == MYSQL_DATA_TRUNCATED)
        return 1;
    if (rc == MYSQL_NO_DATA) {
        mysql_stmt_free_result(st);
        return 0;
    }
    rc = wd_conn_stmt_fail(c, st, what, err);
    if (c->mysql) /* still connected: the statement's result must be freed */
        mysql_stmt_free_result(st);
    return rc;
}

int wd_stmt_expect_rows(MYSQL_STMT *st, int n, const char *what, struct wd_error *err)
{
    my_ulonglong got = mysql_stmt_affected_rows(st);

    if (got == (my_ulonglong)n)
        return 0;
    return wd_error_set(err, -WD_E_DB, "%s: %llu of %d rows", what, (unsigned long long)got, n);
}

/* ---- reading rows by column description ---------------------------------------------------- */

static void bind_col(struct wd_binder *r, const struct wd_col *col, char *row, char *name)
{
    switch (col->type) {
    case WD_COL_STR:
        wd_bind_result_str(r, row + col->offset, col->size);
        break;
    case WD_COL_I64:
        assert(col->size == sizeof(int64_t));
        wd_bind_result_i64(r, (int64_t *)(void *)(row + col->offset));
        break;
    case WD_COL_U64:
        assert(col->size == sizeof(uint64_t));
        wd_bind_result_u64(r, (uint64_t *)(void *)(row + col->offset));
        break;
    case WD_COL_TIME:
        wd_bind_result_time(r);
        break;
    case WD_COL_NAME:
        wd_bind_result_str(r, name, NAME_MAX_LEN);
        break;
    }
}

/* After a fetch: column i's value into its field. */
static void fix_col(struct wd_binder *r, int i, const struct wd_col *col, char *row, char *name)
{
    void *field = row + col->offset;
    int64_t ms;
    int value;

    switch (col->type) {
    case WD_COL_STR:
        wd_bind_fix_str(r, i, field, col->size);
        break;
    case WD_COL_I64:
    case WD_COL_U64:
        if (wd_bind_is_null(r, i))
            memset(field, 0, col->size);
        break;
    case WD_COL_TIME:
        ms = wd_bind_time_ms(r, i);
        memcpy(field, &ms, sizeof(ms));
        break;
    case WD_COL_NAME:
        wd_bind_fix_str(r, i, name, NAME_MAX_LEN);
        value = wd_rows_value(col->names, col->nnames, name);
        memcpy(field, &value, sizeof(value));
        break;
    }
}

int wd_stmt_read_rows(struct wd_conn *c, MYSQL_STMT *st, struct wd_binder *params,
                      const struct wd_col *cols, int ncols, void *out, size_t row_size, int max,
                      int *found, const char *what, struct wd_error *err)
{
    struct wd_binder r = {0};
    char *row = calloc(1, row_size);
    char(*names)[NAME_MAX_LEN] = calloc((size_t)ncols, NAME_MAX_LEN);
    int rc;

    *found = 0;
    if (!row || !names || wd_bind_init(&r, ncols) < 0) {
        rc = wd_error_set(err, -WD_E_NOMEM, NULL);
        goto out;
    }
    for (int i = 0; i < ncols; i++)
        bind_col(&r, &cols[i], row, names[i]);
    rc = wd_stmt_execute(c, st, params, what, err);
    if (rc == 0)
        rc = wd_stmt_bind_results(c, st, &r, what, err);
    while (rc == 0 && (rc = wd_stmt_fetch(c, st, what, err)) == 1) {
        for (int i = 0; i < ncols; i++)
            fix_col(&r, i, &cols[i], row, names[i]);
        if (*found < max)
            memcpy((char *)out + (size_t)(*found)++ * row_size, row, row_size);
        rc = 0;
    }
out:
    wd_bind_release(&r);
    free(names);
    free(row);
    return rc < 0 ? rc : 0;
}

/* ---- building SQL and binding many rows ---------------------------------------------------- */

int wd_stmt_build(char *buf, const char *head, const char *row, const char *sep, int n,
                  const char *tail)
{
    size_t used = (size_t)snprintf(buf, WD_STMT_SQL_MAX, "%s", head);

    for (int i = 0; i < n && used < WD_STMT_SQL_MAX; i++)
        used += (size_t)snprintf(buf + used, WD_STMT_SQL_MAX - used, "%s%s", i ? sep : "", row);
    if (used < WD_STMT_SQL_MAX)
        used += (size_t)snprintf(buf + used, WD_STMT_SQL_MAX - used, "%s", tail);
    return used < WD_STMT_SQL_MAX ? 0 : -1;
}

int wd_stmt_build_case(char *buf, size_t size, int n)
{
    size_t used = (size_t)snprintf(buf, size, "CASE id");

    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, " WHEN ? THEN ?");
    if (used < size)
        used += (size_t)snprintf(buf + used, size - used, " END");
    return used < size ? 0 : -1;
}

void wd_stmt_bind_ids(struct wd_binder *p, const char (*ids)[WD_ID_LEN + 1], int n, int padded)
{
    assert(n >= 1 && n <= padded);
    for (int i = 0; i < padded; i++)
        wd_bind_str(p, ids[i < n ? i : n - 1]);
}

void wd_stmt_add_row(json_t **rows, json_t *row)
{
    if (!*rows || !row || json_array_append_new(*rows, row) < 0) {
        json_decref(*rows);
        *rows = NULL;
    }
}

char *wd_stmt_bind_json_rows(struct wd_binder *p, json_t *rows, const int64_t *times, int ntimes)
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

void wd_stmt_sql_datetime(int64_t ms, char out[WD_TIMESTAMP_LEN])
{
    wd_clock_format(ms, out);
    out[10] = ' ';
    out[23] = '\0'; /* drop the Z */
}
