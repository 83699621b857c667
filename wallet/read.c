/*
 * wallet/read.c - reads of one shard, rendered as their replies.
 */
#include "wallet/read.h"

#include "core/log.h"
#include "core/seal.h"
#include "db/ledger.h"
#include "wallet/render.h"

#include <stdlib.h>
#include <string.h>

/* The op's wallet, if it is the op's tenant's. */
static int read_wallet(struct wd_conn *c, struct wd_op *op, struct wd_wallet *w,
                       struct wd_error *err)
{
    int rc = wd_ledger_get_wallet(c, op->wallet_id, w, err);

    if (rc == 0 && strcmp(w->tenant, op->tenant) != 0)
        rc = wd_error_set(err, -WD_E_NOT_FOUND, NULL); /* never reveal another tenant's wallet */
    return rc;
}

static int read_txn(struct wd_conn *c, struct wd_op *op, json_t **data, struct wd_error *err)
{
    struct wd_txn t;
    int rc = wd_ledger_get_txn(c, op->txn_id, &t, err);

    if (rc == 0 && strcmp(t.tenant, op->tenant) != 0)
        rc = wd_error_set(err, -WD_E_NOT_FOUND, NULL);
    if (rc == 0)
        *data = wd_render_txn(&t);
    return rc;
}

static int read_list(struct wd_conn *c, struct wd_op *op, json_t **data, struct wd_error *err)
{
    struct wd_wallet *rows = malloc(WD_LIST_MAX * sizeof(*rows));
    int n = 0;

    if (!rows)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = wd_ledger_list_wallets(c, op->tenant, op->account_id, rows, &n, err);
    if (rc == 0) {
        json_t *list = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(list, wd_render_wallet(&rows[i]));
        *data = json_pack("{s:s, s:o}", "accountId", op->account_id, "wallets", list);
    }
    free(rows);
    return rc;
}

/* A page of op->limit entries older than op->cursor; one more is read to know if there is a
 * next page, whose cursor is the last returned entry. */
static int read_page(struct wd_conn *c, struct wd_op *op, json_t **data, struct wd_error *err)
{
    struct wd_wallet w;
    int rc = read_wallet(c, op, &w, err);

    if (rc < 0)
        return rc;
    struct wd_entry *rows = malloc((size_t)(op->limit + 1) * sizeof(*rows));
    int n = 0;
    if (!rows)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    rc = wd_ledger_page(c, op->wallet_id, op->cursor, rows, op->limit + 1, &n, err);
    if (rc == 0) {
        json_t *list = json_array();
        for (int i = 0; i < n && i < op->limit; i++)
            json_array_append_new(list, wd_render_entry(&rows[i]));
        char cursor[WD_SEAL_CURSOR_MAX];
        json_t *next = json_null();
        if (n > op->limit) {
            wd_seal_cursor(op->wallet_id, rows[op->limit - 1].id, cursor);
            json_decref(next);
            next = json_string(cursor);
        }
        *data = json_pack("{s:s, s:o, s:o}", "walletId", op->wallet_id, "entries", list,
                          "nextCursor", next);
    }
    free(rows);
    return rc;
}

/* One shard's rows of a search: at most limit + 1, so the merge knows if there are more. */
static int read_reference(struct wd_conn *c, struct wd_op *op, struct wd_error *err)
{
    if (!op->rows && !(op->rows = malloc((size_t)(op->limit + 1) * sizeof(*op->rows))))
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    return wd_ledger_find_by_reference(c, op->tenant, op->reference_id, op->rows, op->limit + 1,
                                       &op->nrows, err);
}

static int read_once(struct wd_conn *c, struct wd_op *op, json_t **data, struct wd_error *err)
{
    struct wd_wallet w;
    int rc;

    switch (op->kind) {
    case WD_OP_GET_WALLET:
        rc = read_wallet(c, op, &w, err);
        if (rc == 0)
            *data = wd_render_wallet(&w);
        return rc;
    case WD_OP_GET_TXN:
        return read_txn(c, op, data, err);
    case WD_OP_LIST_WALLETS:
        return read_list(c, op, data, err);
    case WD_OP_LEDGER:
        return read_page(c, op, data, err);
    case WD_OP_FIND_REFERENCE: /* no reply: the rows stay with the op */
        return read_reference(c, op, err);
    default:
        return wd_error_set(err, -WD_E_INTERNAL_ERROR, "not a read");
    }
}

void wd_read_run(struct wd_conn *c, struct wd_op *op)
{
    struct wd_error err = {0};
    json_t *data = NULL;
    int rc = read_once(c, op, &data, &err);

    if (rc == -WD_E_DB_UNAVAILABLE && !c->mysql) /* a stale connection: one fresh try */
        rc = read_once(c, op, &data, &err);
    wd_envelope_release(&op->reply);
    if (rc == 0 && op->kind == WD_OP_FIND_REFERENCE)
        return;
    if (rc == 0)
        rc = wd_envelope_success(&op->reply, 200, data);
    if (rc < 0) {
        if (wd_error_status(rc) >= 500)
            wd_log_warn("read failed: %s", err.message);
        wd_envelope_error(&op->reply, rc, NULL);
    }
}
