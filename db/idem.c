/*
 * db/idem.c - INSERT IGNORE ... RETURNING claims, reads and rewrites of idempotency records.
 */
#include "db/idem.h"

#include "db/stmt.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The rows of idem_rows(), as the FROM of an insert into idempotency_keys. */
#define IDEM_FROM_JSON                                                                \
    "FROM JSON_TABLE(?, '$[*]' COLUMNS (t VARCHAR(64) PATH '$[0]', "                  \
    "o VARCHAR(64) PATH '$[1]', k VARCHAR(255) PATH '$[2]', h CHAR(64) PATH '$[3]', " \
    "s INT PATH '$[4]', r LONGTEXT PATH '$[5]')) AS j "
_Static_assert(WD_TENANT_MAX == 64 && WD_SCOPE_MAX == 64 && WD_IDEM_KEY_MAX == 255,
               "JSON_TABLE's columns are as wide as the table's");

/* [tenant, scope, key, hex hash, status, response] per key; NULL if jansson could not. */
static json_t *idem_rows(const struct wd_idem *keys, int n)
{
    json_t *rows = json_array();
    char hex[2 * WD_HASH_LEN + 1];

    for (int i = 0; i < n; i++) {
        sodium_bin2hex(hex, sizeof(hex), keys[i].hash, WD_HASH_LEN);
        wd_stmt_add_row(&rows,
                        json_pack("[ssssis%]", keys[i].tenant, keys[i].scope, keys[i].key, hex,
                                  keys[i].status, keys[i].response ? keys[i].response : "",
                                  keys[i].response ? keys[i].response_len : 0));
    }
    return rows;
}

static const char sql_claim[] =
    "INSERT IGNORE INTO idempotency_keys (tenant_id, scope_id, idem_key, request_hash, "
    "status_code, response, created_at) SELECT t, o, k, UNHEX(h), s, r, ? " IDEM_FROM_JSON
    "RETURNING tenant_id, scope_id, idem_key";

/* A row RETURNING gives back: a key this statement inserted. */
struct claimed {
    char tenant[WD_TENANT_MAX + 1];
    char scope[WD_SCOPE_MAX + 1];
    char key[WD_IDEM_KEY_MAX + 1];
};

static const struct wd_col claimed_cols[] = {WD_COL_FIELD(WD_COL_STR, struct claimed, tenant),
                                             WD_COL_FIELD(WD_COL_STR, struct claimed, scope),
                                             WD_COL_FIELD(WD_COL_STR, struct claimed, key)};

static bool same_key(const struct wd_idem *k, const struct claimed *row)
{
    return !strcmp(k->tenant, row->tenant) && !strcmp(k->scope, row->scope) &&
           !strcmp(k->key, row->key);
}

int wd_idem_claim(struct wd_conn *c, struct wd_idem *keys, int n, int64_t now_ms,
                  struct wd_error *err)
{
    struct wd_binder p = {0};
    struct claimed *rows = NULL;
    char *json = NULL;
    int found = 0, rc;
    MYSQL_STMT *st = wd_stmt_fixed(c, WD_STMT_CLAIM_KEYS, sql_claim, err);

    if (!st)
        return err->code;
    for (int i = 0; i < n; i++)
        keys[i].claimed = false;
    json = wd_stmt_bind_json_rows(&p, idem_rows(keys, n), &now_ms, 1);
    rows = malloc((size_t)n * sizeof(*rows));
    if (!json || !rows) {
        rc = wd_error_set(err, -WD_E_NOMEM, NULL);
        goto out;
    }
    rc = wd_stmt_read_rows(c, st, &p, claimed_cols, 3, rows, sizeof(*rows), n, &found, "claim keys",
                           err);
    for (int r = 0; rc == 0 && r < found; r++) {
        for (int i = 0; i < n; i++)
            keys[i].claimed = keys[i].claimed || same_key(&keys[i], &rows[r]);
    }
out:
    free(rows);
    free(json);
    wd_bind_release(&p);
    return rc;
}

static const char sql_load[] = "SELECT request_hash, status_code, response FROM idempotency_keys "
                               "WHERE tenant_id = ? AND scope_id = ? AND idem_key = ?";

/* Fetches the response column, whatever its size, into a malloc'ed buffer. */
static int fetch_response(struct wd_conn *c, MYSQL_STMT *st, struct wd_binder *r, int col,
                          struct wd_idem *k, struct wd_error *err)
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

int wd_idem_load(struct wd_conn *c, struct wd_idem *k, struct wd_error *err)
{
    struct wd_binder p, r = {0};
    MYSQL_STMT *st;
    int32_t status = 0;
    char nothing[1];
    int rc = wd_stmt_prepare(c, WD_STMT_LOAD_KEY, sql_load, 3, &st, &p, err);

    if (rc < 0)
        return rc;
    if (wd_bind_init(&r, 3) < 0) {
        rc = wd_error_set(err, -WD_E_NOMEM, NULL);
        goto out;
    }
    wd_bind_str(&p, k->tenant);
    wd_bind_str(&p, k->scope);
    wd_bind_str(&p, k->key);
    wd_bind_result_blob(&r, k->stored_hash, sizeof(k->stored_hash));
    wd_bind_result_i32(&r, &status);
    wd_bind_result_blob(&r, nothing, 0); /* length only; fetched by column below */
    rc = wd_stmt_execute(c, st, &p, "load key", err);
    if (rc == 0)
        rc = wd_stmt_bind_results(c, st, &r, "load key", err);
    if (rc == 0)
        rc = wd_stmt_fetch(c, st, "load key", err);
    if (rc == 0)
        rc = wd_error_set(err, -WD_E_NOT_FOUND, "idempotency key vanished");
    if (rc == 1) {
        k->status = status;
        rc = fetch_response(c, st, &r, 2, k, err);
        while (rc == 0 && wd_stmt_fetch(c, st, "load key", err) == 1) {
        } /* the unique key allows one row; drain the result all the same */
    }
out:
    wd_bind_release(&p);
    wd_bind_release(&r);
    return rc;
}

static const char sql_finish[] =
    "INSERT INTO idempotency_keys (tenant_id, scope_id, idem_key, request_hash, status_code, "
    "response, created_at) SELECT t, o, k, UNHEX(h), s, r, UTC_TIMESTAMP(3) " IDEM_FROM_JSON
    "ON DUPLICATE KEY UPDATE status_code = VALUES(status_code), response = VALUES(response)";

int wd_idem_finish(struct wd_conn *c, const struct wd_idem *keys, int n, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;

    if (n == 0)
        return 0;
    if (!(st = wd_stmt_fixed(c, WD_STMT_FINISH_KEYS, sql_finish, err)))
        return err->code;
    char *json = wd_stmt_bind_json_rows(&p, idem_rows(keys, n), NULL, 0);
    if (!json)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = wd_stmt_execute(c, st, &p, "finish keys", err);
    free(json);
    wd_bind_release(&p);
    return rc;
}

static const char sql_purge[] = "DELETE FROM idempotency_keys WHERE created_at < ? LIMIT ?";

int wd_idem_purge(struct wd_conn *c, int64_t before_ms, int max, int *deleted, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    int32_t limit = max;
    int rc = wd_stmt_prepare(c, WD_STMT_PURGE_KEYS, sql_purge, 2, &st, &p, err);

    *deleted = 0;
    if (rc < 0)
        return rc;
    wd_bind_time(&p, before_ms);
    wd_bind_i32(&p, &limit);
    rc = wd_stmt_execute(c, st, &p, "purge keys", err);
    if (rc == 0)
        *deleted = (int)mysql_stmt_affected_rows(st);
    wd_bind_release(&p);
    return rc;
}
