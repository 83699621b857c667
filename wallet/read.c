/*
 * wallet/read.c - reads of one shard, rendered as their replies.
 */
#include "wallet/read.h"

#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/seal.h"
#include "db/ledger.h"
#include "db/replica.h"
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

/* Runs op on c: 0 with op->reply or the search rows set, or an error (err says which). A stale
 * connection (lost since its last use) gets one fresh try. A reply jansson could not make whole
 * (a list without the row whose append failed, say) is NOMEM, never sent short (core/json). */
static int read_on(struct wd_conn *c, struct wd_op *op, struct wd_error *err)
{
    json_t *data = NULL;
    unsigned long failed = wd_json_failures();
    int rc = read_once(c, op, &data, err);

    if (rc == -WD_E_DB_UNAVAILABLE && !c->mysql)
        rc = read_once(c, op, &data, err);
    if (rc == 0 && wd_json_failures() != failed) {
        json_decref(data);
        rc = wd_error_set(err, -WD_E_NOMEM, "the reply could not be made whole");
    }
    if (rc == 0 && op->kind != WD_OP_FIND_REFERENCE) {
        wd_envelope_release(&op->reply);
        rc = wd_envelope_success(&op->reply, 200, data);
    }
    return rc;
}

/* A failure that another server could answer differently: the server or its connection, not
 * the request (a missing row is the answer, not a failure). */
static bool server_failure(int rc)
{
    return rc == -WD_E_DB_UNAVAILABLE || rc == -WD_E_DB || rc == -WD_E_DB_RETRY;
}

/* The connection to read on for pick, after making a replica wait for op's token if it must;
 * a replica that does not reach it in time leaves the read to the primary. */
static struct wd_conn *target(struct wd_read_conns *rc, struct wd_op *op, struct wd_pick *pick)
{
    struct wd_error err = {0};

    if (pick->replica < 0)
        return &rc->primary;
    if (pick->wait &&
        wd_replica_wait(&rc->replicas[pick->replica], op->gtid, WD_READ_TOKEN_WAIT_MS, &err) != 1) {
        pick->replica = -1;
        pick->reason = WD_PICK_TOKEN;
        return &rc->primary;
    }
    return &rc->replicas[pick->replica];
}

void wd_read_run(struct wd_read_conns *rc, struct wd_health *health, struct wd_op *op)
{
    struct wd_pick_replica view[WD_MAX_REPLICAS];
    struct wd_error err = {0};
    int n = health ? wd_health_routes(health, op->shard, view) : 0;
    const char *gtid = op->gtid[0] ? op->gtid : NULL;
    struct wd_pick pick = wd_pick_read(view, n, op->strong, gtid, &rc->rr, -1);
    int rc_read = read_on(target(rc, op, &pick), op, &err);

    if (pick.replica >= 0 && server_failure(rc_read)) { /* once more, elsewhere, unseen */
        wd_log_debug("read on shard %d replica %d failed (%s); retrying", op->shard, pick.replica,
                     err.message);
        pick = wd_pick_read(view, n, false, gtid, &rc->rr, pick.replica);
        if (pick.replica < 0)
            pick.reason = WD_PICK_RETRY;
        wd_error_clear(&err);
        rc_read = read_on(target(rc, op, &pick), op, &err);
    } else if (pick.replica < 0 && rc_read == -WD_E_DB_UNAVAILABLE && !gtid && !op->strong) {
        /* The primary cannot answer: a caught-up replica has the newest data there is. (A
         * strong or token read needs what only the primary is sure to have.) */
        int r = wd_pick_standby(view, n, &rc->rr, -1);
        if (r >= 0) {
            pick = (struct wd_pick){r, WD_PICK_REPLICA, false};
            wd_error_clear(&err);
            rc_read = read_on(&rc->replicas[r], op, &err);
        }
    }
    wd_metrics_read(op->shard, pick.replica >= 0, pick.reason);
    if (rc_read < 0) {
        if (wd_error_status(rc_read) >= 500)
            wd_log_warn("read failed: %s", err.message);
        wd_envelope_release(&op->reply);
        wd_envelope_error(&op->reply, rc_read, NULL);
    }
}
