/*
 * wallet/batch.c - one group commit: claim keys, lock rows, apply the rules, write, commit.
 */
#include "wallet/batch.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "db/ledger.h"
#include "wallet/render.h"
#include "wallet/rules.h"

#include <stdlib.h>
#include <string.h>

#define MAX         LEDGER_BATCH_MAX
#define MAX_RETRIES 3

typedef char row_id[LEDGER_ID_LEN + 1];

struct item {
    struct wallet_op *op;
    bool decided; /* the outcome is known; later phases skip this item */
    bool store;   /* write the reply as the key's idempotency record */
    bool replay;
    int code; /* 0 or the refusal/failure code */
    int wallet_ix, txn_ix;
    struct ledger_txn txn; /* the transaction the reply shows */
    struct wd_body body;
};

struct wallet_batch {
    struct item items[MAX];
    int n;
    int64_t now_ms;

    struct ledger_idem claims[MAX];
    int claim_item[MAX];
    int nclaims;

    row_id txn_ids[MAX];
    struct ledger_txn txns[MAX];
    bool txn_dirty[MAX];
    int ntxns;

    row_id wallet_ids[MAX];
    struct ledger_wallet wallets[MAX];
    bool wallet_dirty[MAX];
    int nwallets;

    struct ledger_wallet creates[MAX];
    bool created[MAX];
    int create_item[MAX];
    int ncreates;

    struct ledger_txn inserts[MAX];
    int ninserts;
    struct ledger_entry entries[2 * MAX];
    int nentries;
    struct ledger_txn txn_updates[MAX];
    struct ledger_wallet wallet_updates[MAX];
    struct ledger_idem finish[MAX];
};

struct wallet_batch *wallet_batch_new(void)
{
    return calloc(1, sizeof(struct wallet_batch));
}

void wallet_batch_free(struct wallet_batch *b)
{
    free(b);
}

static void item_reset(struct item *it, struct wallet_op *op)
{
    wd_body_release(&it->body);
    memset(it, 0, sizeof(*it));
    it->op = op;
    it->wallet_ix = it->txn_ix = -1;
}

/* Decides it with a reply: a success envelope around data, or the error envelope for code. */
static int decide(struct item *it, int code, int status, json_t *data, bool store)
{
    wd_body_release(&it->body);
    int rc = code ? wd_envelope_error(&it->body, code, NULL)
                  : wd_envelope_success(&it->body, status, data);
    if (code && data)
        json_decref(data);
    it->decided = true;
    it->code = code;
    it->store = store && it->op->has_idem;
    return rc;
}

/* ---- phase 1: idempotency keys ------------------------------------------------------------- */

static int cmp_claim(const void *a, const void *b, void *arg)
{
    const struct wallet_batch *bt = arg;
    const struct wallet_op *x = bt->items[*(const int *)a].op, *y = bt->items[*(const int *)b].op;
    int c = strcmp(x->tenant, y->tenant);
    return c ? c : strcmp(x->idem_key, y->idem_key);
}

static void sort_claim_items(struct wallet_batch *b, int *order, int n)
{
    /* insertion sort: n <= 64, and qsort_r's argument order differs between libcs */
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i;
        while (j > 0 && cmp_claim(&order[j - 1], &v, b) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

static int resolve_existing_key(struct db_conn *c,
                                struct item *it,
                                struct ledger_idem *k,
                                struct wd_error *err)
{
    int rc = ledger_load_key(c, k, err);

    if (rc == -WD_E_NOT_FOUND) /* purged between claim and read: run the batch again */
        return wd_error_set(err, -WD_E_DB_RETRY, "idempotency key vanished");
    if (rc < 0)
        return rc;
    if (memcmp(k->stored_hash, it->op->request_hash, 32) != 0 || k->status == 0) {
        free(k->response);
        k->response = NULL;
        int code =
            k->status == 0 ? -WD_E_IDEMPOTENCY_KEY_IN_PROGRESS : -WD_E_IDEMPOTENCY_KEY_REUSED;
        return decide(it, code, 0, NULL, false);
    }
    wd_body_release(&it->body);
    it->body.data = k->response; /* taken over */
    it->body.len = k->response_len;
    it->body.status = k->status;
    k->response = NULL;
    it->decided = true;
    it->replay = true;
    return 0;
}

static int claim_keys(struct wallet_batch *b, struct db_conn *c, struct wd_error *err)
{
    int order[MAX], n = 0;

    for (int i = 0; i < b->n; i++) {
        if (b->items[i].op->has_idem)
            order[n++] = i;
    }
    sort_claim_items(b, order, n);
    b->nclaims = 0;
    for (int i = 0; i < n; i++) {
        struct item *it = &b->items[order[i]];
        if (i > 0 && cmp_claim(&order[i - 1], &order[i], b) == 0) {
            decide(it, -WD_E_IDEMPOTENCY_KEY_IN_PROGRESS, 0, NULL, false);
            continue;
        }
        struct ledger_idem *k = &b->claims[b->nclaims];
        memset(k, 0, sizeof(*k));
        k->tenant = it->op->tenant;
        k->key = it->op->idem_key;
        k->hash = it->op->request_hash;
        b->claim_item[b->nclaims++] = order[i];
    }
    if (b->nclaims == 0)
        return 0;
    int rc = ledger_claim_keys(c, b->claims, b->nclaims, b->now_ms, err);
    for (int i = 0; rc == 0 && i < b->nclaims; i++) {
        if (!b->claims[i].claimed)
            rc = resolve_existing_key(c, &b->items[b->claim_item[i]], &b->claims[i], err);
    }
    return rc;
}

/* ---- phases 2 and 3: lock transactions, then wallets --------------------------------------- */

static int cmp_id(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Sorts ids[0..n) and removes duplicates; returns the new count. */
static int sort_unique(row_id *ids, int n)
{
    int out = 0;

    qsort(ids, (size_t)n, sizeof(row_id), cmp_id);
    for (int i = 0; i < n; i++) {
        if (out == 0 || strcmp(ids[out - 1], ids[i]) != 0)
            memmove(ids[out++], ids[i], sizeof(row_id));
    }
    return out;
}

static bool needs_txn(enum wallet_op_kind k)
{
    return k == WALLET_OP_CAPTURE || k == WALLET_OP_VOID || k == WALLET_OP_EXPIRE;
}

static int find_txn(const struct wallet_batch *b, const char *id)
{
    for (int i = 0; i < b->ntxns; i++) {
        if (strcmp(b->txns[i].id, id) == 0)
            return i;
    }
    return -1;
}

static int find_wallet(const struct wallet_batch *b, const char *id)
{
    for (int i = 0; i < b->nwallets; i++) {
        if (strcmp(b->wallets[i].id, id) == 0)
            return i;
    }
    return -1;
}

static int lock_txns(struct wallet_batch *b, struct db_conn *c, struct wd_error *err)
{
    int n = 0;

    for (int i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (!it->decided && needs_txn(it->op->kind))
            memcpy(b->txn_ids[n++], it->op->txn_id, sizeof(row_id));
    }
    n = sort_unique(b->txn_ids, n);
    int rc = ledger_lock_txns(c, (const row_id *)b->txn_ids, n, b->txns, &b->ntxns, err);
    if (rc < 0)
        return rc;
    memset(b->txn_dirty, 0, sizeof(b->txn_dirty));
    for (int i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (it->decided || !needs_txn(it->op->kind))
            continue;
        it->txn_ix = find_txn(b, it->op->txn_id);
        bool foreign = it->txn_ix >= 0 && it->op->kind != WALLET_OP_EXPIRE &&
                       strcmp(b->txns[it->txn_ix].tenant, it->op->tenant) != 0;
        if (it->txn_ix < 0 || foreign)
            decide(it, -WD_E_NOT_FOUND, 0, NULL, true);
    }
    return 0;
}

static const char *wallet_of(const struct wallet_batch *b, const struct item *it)
{
    return it->txn_ix >= 0 ? b->txns[it->txn_ix].wallet_id : it->op->wallet_id;
}

static int lock_wallets(struct wallet_batch *b, struct db_conn *c, struct wd_error *err)
{
    int n = 0;

    for (int i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (!it->decided && it->op->kind != WALLET_OP_CREATE_WALLET)
            memcpy(b->wallet_ids[n++], wallet_of(b, it), sizeof(row_id));
    }
    n = sort_unique(b->wallet_ids, n);
    int rc =
        ledger_lock_wallets(c, (const row_id *)b->wallet_ids, n, b->wallets, &b->nwallets, err);
    if (rc < 0)
        return rc;
    memset(b->wallet_dirty, 0, sizeof(b->wallet_dirty));
    for (int i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (it->decided || it->op->kind == WALLET_OP_CREATE_WALLET)
            continue;
        it->wallet_ix = find_wallet(b, wallet_of(b, it));
        bool foreign = it->wallet_ix >= 0 && it->op->kind != WALLET_OP_EXPIRE &&
                       strcmp(b->wallets[it->wallet_ix].tenant, it->op->tenant) != 0;
        if (it->wallet_ix < 0 || foreign)
            decide(it, -WD_E_NOT_FOUND, 0, NULL, true);
    }
    return 0;
}

/* ---- phase 4: new wallets ------------------------------------------------------------------ */

static int create_wallets(struct wallet_batch *b, struct db_conn *c, struct wd_error *err)
{
    b->ncreates = 0;
    for (int i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (it->decided || it->op->kind != WALLET_OP_CREATE_WALLET)
            continue;
        struct ledger_wallet *w = &b->creates[b->ncreates];
        memset(w, 0, sizeof(*w));
        shard_id_new(w->id, SHARD_ID_WALLET, it->op->bucket, b->now_ms);
        memcpy(w->tenant, it->op->tenant, sizeof(w->tenant));
        memcpy(w->account, it->op->account_id, sizeof(w->account));
        memcpy(w->currency, it->op->currency, sizeof(w->currency));
        w->status = LEDGER_WALLET_ACTIVE;
        w->created_ms = w->updated_ms = b->now_ms;
        b->create_item[b->ncreates++] = i;
    }
    int rc = ledger_insert_wallets(c, b->creates, b->ncreates, b->created, err);
    for (int i = 0; rc == 0 && i < b->ncreates; i++) {
        struct item *it = &b->items[b->create_item[i]];
        if (b->created[i])
            rc = decide(it, 0, 201, render_wallet(&b->creates[i]), true);
        else
            rc = decide(it, -WD_E_WALLET_EXISTS, 0, NULL, true);
    }
    return rc < 0 ? wd_error_set(err, rc, NULL) : 0;
}

/* ---- phase 5: the money rules -------------------------------------------------------------- */

static void add_entry(struct wallet_batch *b,
                      struct ledger_entry *e,
                      const char *wallet_id,
                      const char *txn_id)
{
    memcpy(e->wallet_id, wallet_id, sizeof(e->wallet_id));
    memcpy(e->txn_id, txn_id, sizeof(e->txn_id));
    e->created_ms = b->now_ms;
    b->entries[b->nentries++] = *e;
}

/* A new transaction row for credit, authorize or direct debit. */
static void new_txn(
    struct wallet_batch *b, struct item *it, const struct ledger_wallet *w, int type, int status)
{
    struct ledger_txn *t = &it->txn;
    const struct wallet_op *op = it->op;

    memset(t, 0, sizeof(*t));
    shard_id_new(t->id, SHARD_ID_TXN, op->bucket, b->now_ms);
    memcpy(t->tenant, op->tenant, sizeof(t->tenant));
    memcpy(t->wallet_id, w->id, sizeof(t->wallet_id));
    t->type = type;
    t->status = status;
    t->amount = op->amount;
    memcpy(t->currency, w->currency, sizeof(t->currency));
    memcpy(t->reference, op->reference_id, sizeof(t->reference));
    if (type == LEDGER_TXN_AUTHORIZATION)
        t->expires_ms = b->now_ms + op->expires_in_s * 1000;
    t->created_ms = t->updated_ms = b->now_ms;
}

static int apply_new(struct wallet_batch *b, struct item *it)
{
    struct ledger_wallet *w = &b->wallets[it->wallet_ix];
    const struct wallet_op *op = it->op;
    struct ledger_entry e;
    int rc, type, status = LEDGER_TXN_COMPLETED;

    if (op->kind == WALLET_OP_CREDIT) {
        rc = rules_credit(w, op->amount, &e);
        type = LEDGER_TXN_CREDIT;
    } else if (op->kind == WALLET_OP_AUTHORIZE) {
        rc = rules_authorize(w, op->amount, op->has_currency ? op->currency : NULL, &e);
        type = LEDGER_TXN_AUTHORIZATION;
        status = LEDGER_TXN_PENDING;
    } else {
        rc = rules_debit(w, op->amount, &e);
        type = LEDGER_TXN_DEBIT;
    }
    if (rc < 0)
        return decide(it, rc, 0, NULL, true);
    new_txn(b, it, w, type, status);
    b->inserts[b->ninserts++] = it->txn;
    add_entry(b, &e, w->id, it->txn.id);
    b->wallet_dirty[it->wallet_ix] = true;
    return decide(it, 0, 201, render_txn(&it->txn), true);
}

static int apply_existing(struct wallet_batch *b, struct item *it)
{
    struct ledger_wallet *w = &b->wallets[it->wallet_ix];
    struct ledger_txn *t = &b->txns[it->txn_ix];
    const struct wallet_op *op = it->op;
    struct ledger_entry e;
    int rc = 0;

    if (rules_hold_expired(t, b->now_ms) && rules_expire(w, t, b->now_ms, &e) == 0) {
        add_entry(b, &e, w->id, t->id);
        b->txn_dirty[it->txn_ix] = b->wallet_dirty[it->wallet_ix] = true;
    }
    if (op->kind == WALLET_OP_EXPIRE) {
        it->decided = true; /* internal: no reply, no key */
        return 0;
    }
    if (op->kind == WALLET_OP_CAPTURE)
        rc = rules_capture(w, t, op->has_amount, op->amount, &e);
    else
        rc = rules_void(w, t, &e);
    if (rc < 0)
        return decide(it, rc, 0, NULL, true);
    t->updated_ms = b->now_ms;
    add_entry(b, &e, w->id, t->id);
    b->txn_dirty[it->txn_ix] = b->wallet_dirty[it->wallet_ix] = true;
    it->txn = *t;
    return decide(it, 0, 200, render_txn(t), true);
}

static int apply_rules(struct wallet_batch *b, struct wd_error *err)
{
    b->ninserts = b->nentries = 0;
    for (int i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (it->decided)
            continue;
        int rc = needs_txn(it->op->kind) ? apply_existing(b, it) : apply_new(b, it);
        if (rc < 0)
            return wd_error_set(err, rc, "rendering a reply failed");
    }
    return 0;
}

/* ---- phase 6: write and commit ------------------------------------------------------------- */

static int write_rows(struct wallet_batch *b, struct db_conn *c, struct wd_error *err)
{
    int nt = 0, nw = 0, nk = 0, rc;

    for (int i = 0; i < b->ntxns; i++) {
        if (b->txn_dirty[i]) {
            b->txns[i].updated_ms = b->now_ms;
            b->txn_updates[nt++] = b->txns[i];
        }
    }
    for (int i = 0; i < b->nwallets; i++) {
        if (b->wallet_dirty[i]) {
            b->wallets[i].updated_ms = b->now_ms;
            b->wallet_updates[nw++] = b->wallets[i];
        }
    }
    for (int i = 0; i < b->nclaims; i++) {
        struct item *it = &b->items[b->claim_item[i]];
        if (!b->claims[i].claimed || !it->store)
            continue;
        b->finish[nk] = b->claims[i];
        b->finish[nk].status = it->body.status;
        b->finish[nk].response = it->body.data;
        b->finish[nk].response_len = it->body.len;
        nk++;
    }
    if ((rc = ledger_insert_txns(c, b->inserts, b->ninserts, err)) ||
        (rc = ledger_update_txns(c, b->txn_updates, nt, err)) ||
        (rc = ledger_update_wallets(c, b->wallet_updates, nw, err)) ||
        (rc = ledger_insert_entries(c, b->entries, b->nentries, err)) ||
        (rc = ledger_finish_keys(c, b->finish, nk, err)))
        return rc;
    return db_conn_commit(c, err);
}

/* One attempt at the whole batch. 0 when committed. */
static int attempt(
    struct wallet_batch *b, struct db_conn *c, struct wallet_op **ops, int n, struct wd_error *err)
{
    b->n = n;
    b->now_ms = wd_clock_now_ms();
    for (int i = 0; i < n; i++)
        item_reset(&b->items[i], ops[i]);
    b->nclaims = b->ntxns = b->nwallets = b->ncreates = 0;
    int rc = db_conn_open(c, err);
    if (rc == 0)
        rc = claim_keys(b, c, err);
    if (rc == 0)
        rc = lock_txns(b, c, err);
    if (rc == 0)
        rc = lock_wallets(b, c, err);
    if (rc == 0)
        rc = create_wallets(b, c, err);
    if (rc == 0)
        rc = apply_rules(b, err);
    if (rc == 0)
        rc = write_rows(b, c, err);
    if (rc < 0)
        db_conn_rollback(c);
    return rc;
}

static enum wd_metrics_outcome outcome_of(const struct item *it)
{
    if (it->replay)
        return WD_OUTCOME_REPLAYED;
    if (it->code == 0)
        return WD_OUTCOME_SUCCESS;
    return wd_code_status(it->code) >= 500 ? WD_OUTCOME_FAILED : WD_OUTCOME_REFUSED;
}

/* Hands each item's reply to its op. */
static void deliver(struct wallet_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        wd_body_release(&it->op->reply);
        it->op->reply = it->body;
        it->op->replayed = it->replay;
        memset(&it->body, 0, sizeof(it->body));
        wd_metrics_txn(it->op->kind, outcome_of(it));
    }
}

static void fail_all(struct wallet_op **ops, int n, int code)
{
    for (int i = 0; i < n; i++) {
        wd_body_release(&ops[i]->reply);
        wd_envelope_error(&ops[i]->reply, code, NULL);
        ops[i]->replayed = false;
        wd_metrics_txn(ops[i]->kind, WD_OUTCOME_FAILED);
    }
}

void wallet_batch_run(struct wallet_batch *b, struct db_conn *c, struct wallet_op **ops, int n)
{
    struct wd_error err = {0};
    int rc = 0;

    for (int tries = 0; tries <= MAX_RETRIES; tries++) {
        rc = attempt(b, c, ops, n, &err);
        if (rc == 0) {
            wd_metrics_batch(n);
            deliver(b);
            return;
        }
        /* Deadlock, lock timeout or a lost connection (even mid-COMMIT): the batch runs again;
         * keys that did commit are found by the claim and answered with their replay. */
        if (rc != -WD_E_DB_RETRY && rc != -WD_E_DB_UNAVAILABLE)
            break;
        if (rc == -WD_E_DB_UNAVAILABLE && !c->mysql && db_conn_open(c, &err) < 0)
            break;
    }
    for (int i = 0; i < b->n; i++)
        item_reset(&b->items[i], ops[i]);
    if (rc != -WD_E_DB_RETRY && rc != -WD_E_DB_UNAVAILABLE && n > 1) {
        wd_warn("batch of %d failed (%s); running its operations one by one", n, err.message);
        for (int i = 0; i < n; i++)
            wallet_batch_run(b, c, &ops[i], 1);
        return;
    }
    wd_error("write failed: %s", err.message);
    fail_all(ops, n, rc);
}
