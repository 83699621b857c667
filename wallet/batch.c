/*
 * wallet/batch.c - one group commit: lock rows, apply the rules, claim keys with the replies,
 * write, commit.
 *
 * The common case costs one statement per phase, whatever the batch size:
 *   lock       transactions, then wallets (SELECT ... FOR UPDATE, ids sorted)
 *   decide     wallet/rules on the locked rows, in arrival order; every reply is rendered
 *   claim      INSERT IGNORE the idempotency records *with their replies*; a key that already
 *              exists is not inserted, and its op becomes a replay (or a reuse refusal)
 *   write      new wallets, transactions, wallet and transaction updates, ledger entries
 *   commit
 * When a claim finds duplicates, the ops it answered from their records take back their effects:
 * the rules run again from the rows as locked, and any already-claimed reply that changed is
 * corrected before the commit (rare: a concurrent duplicate on another pod).
 *
 * A COMMIT whose answer is lost (the connection drops after it was sent) may have committed or
 * not. The batch is then run again, on a new connection, until it commits or the resolve timeout
 * passes; every op remembers the IDs it made and, by digest, the replies that COMMIT stored with
 * its key (op->memo), so a run that finds its own earlier commit recognises it: the key's record
 * is answered as the op's first answer (not a replay), and a create finds its own wallet. An op
 * whose outcome stays unknown is answered 503 OUTCOME_UNKNOWN, never "nothing was committed".
 */
#include "wallet/batch.h"

#include "core/clock.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/metrics.h"
#include "db/idem.h"
#include "db/ledger.h"
#include "wallet/render.h"
#include "wallet/rules.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wallet/batch_int.h"

#define MAX_RETRIES 3

struct wd_batch *wd_batch_new(int resolve_timeout_s)
{
    struct wd_batch *b = WD_FAULT_ALLOC(WD_FAULT_ALLOC_BATCH, calloc(1, sizeof(struct wd_batch)));

    if (b)
        b->resolve_ns = (int64_t)resolve_timeout_s * 1000000000LL;
    return b;
}

void wd_batch_free(struct wd_batch *b)
{
    free(b);
}

static void item_reset(struct wd_batch_item *it, struct wd_op *op)
{
    wd_envelope_release(&it->body);
    memset(it, 0, sizeof(*it));
    it->op = op;
    it->wallet_ix = it->txn_ix = it->create_ix = it->claim_ix = -1;
}

/*
 * Decides it with a reply: a success envelope around data (stolen), or the error envelope. Every
 * reply decided inside the batch (success or refusal) is stored with the op's key, if it has one.
 */
int wd_batch_decide(struct wd_batch_item *it, int code, int status, json_t *data)
{
    wd_envelope_release(&it->body);
    int rc = code ? wd_envelope_error(&it->body, code, NULL)
                  : wd_envelope_success(&it->body, status, data);
    if (code && data)
        json_decref(data);
    if (it->claim_ix >= 0)
        it->restated = true;
    it->code = code;
    return rc;
}

/* ---- lock: transactions, then wallets ------------------------------------------------------ */

static int cmp_id(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Sorts ids[0..n) and removes duplicates; returns the new count. */
static int sort_unique(wd_batch_row_id *ids, int n)
{
    int out = 0;

    qsort(ids, (size_t)n, sizeof(wd_batch_row_id), cmp_id);
    for (int i = 0; i < n; i++) {
        if (out == 0 || strcmp(ids[out - 1], ids[i]) != 0)
            memmove(ids[out++], ids[i], sizeof(wd_batch_row_id));
    }
    return out;
}

static bool needs_txn(enum wd_op_kind k)
{
    return k == WD_OP_CAPTURE || k == WD_OP_VOID || k == WD_OP_EXPIRE;
}

static int find_txn(const struct wd_batch *b, const char *id)
{
    for (int i = 0; i < b->ntxns; i++) {
        if (strcmp(b->txns_locked[i].id, id) == 0)
            return i;
    }
    return -1;
}

static int find_wallet(const struct wd_batch *b, const char *id)
{
    for (int i = 0; i < b->nwallets; i++) {
        if (strcmp(b->wallets_locked[i].id, id) == 0)
            return i;
    }
    return -1;
}

/* Another tenant's row is answered exactly like a missing one. */
static bool visible(const struct wd_batch_item *it, const char *tenant)
{
    return it->op->kind == WD_OP_EXPIRE || strcmp(tenant, it->op->tenant) == 0;
}

/* Fixes it as "not found": stored, since the request did execute. */
static int not_found(struct wd_batch_item *it)
{
    int rc = wd_batch_decide(it, -WD_E_NOT_FOUND, 0, NULL);

    it->fixed = true;
    return rc;
}

static int lock_txns(struct wd_batch *b, struct wd_conn *c, struct wd_error *err)
{
    int n = 0;

    for (int i = 0; i < b->n; i++) {
        if (needs_txn(b->items[i].op->kind))
            memcpy(b->txn_ids[n++], b->items[i].op->txn_id, sizeof(wd_batch_row_id));
    }
    n = sort_unique(b->txn_ids, n);
    int rc = wd_ledger_lock_txns(c, (const wd_batch_row_id *)b->txn_ids, n, b->txns_locked,
                                 &b->ntxns, err);
    for (int i = 0; rc == 0 && i < b->n; i++) {
        struct wd_batch_item *it = &b->items[i];
        if (!needs_txn(it->op->kind))
            continue;
        it->txn_ix = find_txn(b, it->op->txn_id);
        if (it->txn_ix < 0 || !visible(it, b->txns_locked[it->txn_ix].tenant))
            rc = not_found(it);
    }
    return rc;
}

static const char *wallet_of(const struct wd_batch *b, const struct wd_batch_item *it)
{
    return it->txn_ix >= 0 ? b->txns_locked[it->txn_ix].wallet_id : it->op->wallet_id;
}

static int lock_wallets(struct wd_batch *b, struct wd_conn *c, struct wd_error *err)
{
    int n = 0;

    for (int i = 0; i < b->n; i++) {
        struct wd_batch_item *it = &b->items[i];
        if (!it->fixed && it->op->kind != WD_OP_CREATE_WALLET)
            memcpy(b->wallet_ids[n++], wallet_of(b, it), sizeof(wd_batch_row_id));
    }
    n = sort_unique(b->wallet_ids, n);
    int rc = wd_ledger_lock_wallets(c, (const wd_batch_row_id *)b->wallet_ids, n, b->wallets_locked,
                                    &b->nwallets, err);
    for (int i = 0; rc == 0 && i < b->n; i++) {
        struct wd_batch_item *it = &b->items[i];
        if (it->fixed || it->op->kind == WD_OP_CREATE_WALLET)
            continue;
        it->wallet_ix = find_wallet(b, wallet_of(b, it));
        if (it->wallet_ix < 0 || !visible(it, b->wallets_locked[it->wallet_ix].tenant))
            rc = not_found(it);
    }
    return rc;
}

/* New wallets get their rows (and IDs) before the rules run, so their replies can be claimed. */
static void prepare_creates(struct wd_batch *b)
{
    b->ncreates = 0;
    for (int i = 0; i < b->n; i++) {
        struct wd_batch_item *it = &b->items[i];
        if (it->op->kind != WD_OP_CREATE_WALLET)
            continue;
        struct wd_wallet *w = &b->creates[b->ncreates];
        struct wd_op_memo *memo = &it->op->memo;
        memset(w, 0, sizeof(*w));
        if (!memo->made_id[0]) /* one ID for all of the op's attempts */
            wd_id_new(memo->made_id, WD_ID_WALLET, it->op->bucket, b->now_ms);
        memcpy(w->id, memo->made_id, sizeof(w->id));
        memcpy(w->tenant, it->op->tenant, sizeof(w->tenant));
        memcpy(w->account, it->op->account_id, sizeof(w->account));
        memcpy(w->currency, it->op->currency, sizeof(w->currency));
        w->status = WD_WALLET_ACTIVE;
        w->created_ms = w->updated_ms = b->now_ms;
        it->create_ix = b->ncreates;
        assert(b->ncreates < b->n); /* at most one create per op */
        b->create_item[b->ncreates++] = i;
    }
}

/* ---- decide: the money rules --------------------------------------------------------------- */

static void add_entry(struct wd_batch *b, struct wd_entry *e, const char *wallet_id,
                      const char *txn_id)
{
    memcpy(e->wallet_id, wallet_id, sizeof(e->wallet_id));
    memcpy(e->txn_id, txn_id, sizeof(e->txn_id));
    e->created_ms = b->now_ms;
    assert(b->nentries < 2 * b->n); /* an op adds its expiry's and its own entry, no more */
    b->entries[b->nentries++] = *e;
}

/* A new transaction row for credit, authorize or direct debit. Its ID is made once per op, so a
 * reply claimed in one pass keeps its ID in the next, and an attempt that runs again after a
 * lost COMMIT writes the same row (a second insert of it would fail, never move money twice). */
static void new_txn(struct wd_batch *b, struct wd_batch_item *it, const struct wd_wallet *w,
                    int type, int status)
{
    struct wd_txn *t = &it->txn;
    struct wd_op *op = it->op;

    memset(t, 0, sizeof(*t));
    if (!op->memo.made_id[0])
        wd_id_new(op->memo.made_id, WD_ID_TXN, op->bucket, b->now_ms);
    memcpy(t->id, op->memo.made_id, sizeof(t->id));
    memcpy(t->tenant, op->tenant, sizeof(t->tenant));
    memcpy(t->wallet_id, w->id, sizeof(t->wallet_id));
    t->type = type;
    t->status = status;
    t->amount = op->amount;
    memcpy(t->currency, w->currency, sizeof(t->currency));
    memcpy(t->reference, op->reference_id, sizeof(t->reference));
    if (type == WD_TXN_AUTHORIZATION)
        t->expires_ms = b->now_ms + op->expires_in_s * 1000;
    t->created_ms = t->updated_ms = b->now_ms;
}

static int apply_new(struct wd_batch *b, struct wd_batch_item *it)
{
    struct wd_wallet *w = &b->wallets[it->wallet_ix];
    const struct wd_op *op = it->op;
    struct wd_entry e;
    int rc, type, status = WD_TXN_COMPLETED;

    if (op->kind == WD_OP_CREDIT) {
        rc = wd_rules_credit(w, op->amount, &e);
        type = WD_TXN_CREDIT;
    } else if (op->kind == WD_OP_AUTHORIZE) {
        rc = wd_rules_authorize(w, op->amount, op->has_currency ? op->currency : NULL, &e);
        type = WD_TXN_AUTHORIZATION;
        status = WD_TXN_PENDING;
    } else {
        rc = wd_rules_debit(w, op->amount, &e);
        type = WD_TXN_DEBIT;
    }
    if (rc < 0)
        return wd_batch_decide(it, rc, 0, NULL);
    new_txn(b, it, w, type, status);
    assert(b->ninserts < b->n); /* one new transaction per op */
    b->inserts[b->ninserts++] = it->txn;
    add_entry(b, &e, w->id, it->txn.id);
    b->wallet_dirty[it->wallet_ix] = true;
    return wd_batch_decide(it, 0, 201, wd_render_txn(&it->txn));
}

static int apply_existing(struct wd_batch *b, struct wd_batch_item *it)
{
    struct wd_wallet *w = &b->wallets[it->wallet_ix];
    struct wd_txn *t = &b->txns[it->txn_ix];
    const struct wd_op *op = it->op;
    struct wd_entry e;
    int rc = 0;

    if (wd_rules_hold_expired(t, b->now_ms) && wd_rules_expire(w, t, b->now_ms, &e) == 0) {
        add_entry(b, &e, w->id, t->id);
        b->txn_dirty[it->txn_ix] = b->wallet_dirty[it->wallet_ix] = true;
    }
    if (op->kind == WD_OP_EXPIRE)
        return 0; /* internal: no reply, no key */
    if (op->kind == WD_OP_CAPTURE)
        rc = wd_rules_capture(w, t, op->has_amount, op->amount, &e);
    else
        rc = wd_rules_void(w, t, &e);
    if (rc < 0)
        return wd_batch_decide(it, rc, 0, NULL);
    t->updated_ms = b->now_ms;
    add_entry(b, &e, w->id, t->id);
    b->txn_dirty[it->txn_ix] = b->wallet_dirty[it->wallet_ix] = true;
    it->txn = *t;
    return wd_batch_decide(it, 0, 200, wd_render_txn(t));
}

/* One pass of the rules over every op not fixed, from the rows as they were locked. */
static int apply_rules(struct wd_batch *b, struct wd_error *err)
{
    memcpy(b->wallets, b->wallets_locked, sizeof(b->wallets[0]) * (size_t)b->nwallets);
    memcpy(b->txns, b->txns_locked, sizeof(b->txns[0]) * (size_t)b->ntxns);
    memset(b->wallet_dirty, 0, sizeof(b->wallet_dirty));
    memset(b->txn_dirty, 0, sizeof(b->txn_dirty));
    b->ninserts = b->nentries = 0;
    for (int i = 0; i < b->n; i++) {
        struct wd_batch_item *it = &b->items[i];
        if (it->fixed)
            continue;
        int rc;
        if (it->op->kind == WD_OP_CREATE_WALLET)
            rc = wd_batch_decide(it, 0, 201, wd_render_wallet(&b->creates[it->create_ix]));
        else
            rc = needs_txn(it->op->kind) ? apply_existing(b, it) : apply_new(b, it);
        if (rc < 0)
            return wd_error_set(err, rc, "rendering a reply failed");
    }
    return 0;
}

/* ---- write and commit ---------------------------------------------------------------------- */

/*
 * A create whose wallet was not inserted, after a COMMIT of it lost its answer: if the wallet
 * there carries the ID this op made, the lost COMMIT did create it, and the op answers 201 with
 * it. *own says whether it did.
 */
static int find_own_wallet(struct wd_conn *c, struct wd_batch_item *it, const struct wd_wallet *w,
                           bool *own, struct wd_error *err)
{
    struct wd_wallet found;

    *own = false;
    if (!it->op->memo.lost_commit)
        return 0;
    int rc = wd_ledger_get_wallet(c, w->id, &found, err);
    if (rc == -WD_E_NOT_FOUND)
        return 0;
    if (rc < 0)
        return rc;
    *own = it->own = true;
    rc = wd_batch_decide(it, 0, 201, wd_render_wallet(&found));
    return rc < 0 ? wd_error_set(err, rc, "rendering a reply failed") : 0;
}

/* Inserts the new wallets; a wallet the account already has in that currency is a 409. */
static int insert_creates(struct wd_batch *b, struct wd_conn *c, struct wd_error *err)
{
    int n = 0;

    for (int i = 0; i < b->ncreates; i++) { /* a replayed create inserts nothing */
        if (!b->items[b->create_item[i]].by_key) {
            b->creates[n] = b->creates[i];
            b->create_item[n++] = b->create_item[i];
        }
    }
    b->ncreates = n;
    int rc = wd_ledger_insert_wallets(c, b->creates, b->ncreates, b->created, err);

    for (int i = 0; rc == 0 && i < b->ncreates; i++) {
        struct wd_batch_item *it = &b->items[b->create_item[i]];
        bool own;
        if (b->created[i])
            continue;
        rc = find_own_wallet(c, it, &b->creates[i], &own, err);
        if (rc == 0 && !own && (rc = wd_batch_decide(it, -WD_E_WALLET_EXISTS, 0, NULL)) < 0)
            rc = wd_error_set(err, rc, "rendering a reply failed"); /* a claimed 201 is restated */
    }
    return rc;
}

static int write_rows(struct wd_batch *b, struct wd_conn *c, int nfix, struct wd_error *err)
{
    int nt = 0, nw = 0, rc;

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
    if ((rc = wd_ledger_insert_txns(c, b->inserts, b->ninserts, err)) ||
        (rc = wd_ledger_update_txns(c, b->txn_updates, nt, err)) ||
        (rc = wd_ledger_update_wallets(c, b->wallet_updates, nw, err)) ||
        (rc = wd_ledger_insert_entries(c, b->entries, b->nentries, err)))
        return rc;
    return wd_idem_finish(c, b->fixups, nfix, err);
}

static int commit(struct wd_batch *b, struct wd_conn *c, struct wd_error *err)
{
    int rc = wd_conn_commit(c, err);

    if (rc == -WD_E_DB_UNAVAILABLE) /* lost on the way: the server may have committed */
        wd_claim_remember_lost(b);
    return rc;
}

/* Rules, then claims; the rules once more if claims turned up duplicates. */
static int decide_and_claim(struct wd_batch *b, struct wd_conn *c, struct wd_error *err)
{
    bool again = false;
    int rc = apply_rules(b, err);

    if (rc == 0)
        rc = wd_claim_keys(b, c, &again, err);
    if (rc == 0 && again) /* claims are final now; only replies may need rewriting */
        rc = apply_rules(b, err);
    return rc;
}

/* One attempt at the whole batch. 0 when committed. */
static int attempt(struct wd_batch *b, struct wd_conn *c, struct wd_op **ops, int n,
                   struct wd_error *err)
{
    b->n = n;
    b->now_ms = wd_clock_now_ms();
    b->commit_lost = false;
    for (int i = 0; i < n; i++)
        item_reset(&b->items[i], ops[i]);
    b->nclaims = b->ntxns = b->nwallets = b->ncreates = 0;
    prepare_creates(b);
    int rc = wd_conn_open(c, err);
    if (rc == 0)
        rc = lock_txns(b, c, err);
    if (rc == 0)
        rc = lock_wallets(b, c, err);
    if (rc == 0)
        rc = decide_and_claim(b, c, err);
    if (rc == 0)
        rc = insert_creates(b, c, err);
    if (rc == 0)
        rc = write_rows(b, c, wd_claim_fixups(b), err);
    if (rc == 0)
        rc = commit(b, c, err);
    if (rc < 0)
        wd_conn_rollback(c);
    return rc;
}

static enum wd_metrics_outcome outcome_of(const struct wd_batch_item *it)
{
    if (it->replay)
        return WD_OUTCOME_REPLAYED;
    if (it->body.status >= 500)
        return WD_OUTCOME_FAILED;
    return it->body.status >= 400 ? WD_OUTCOME_REFUSED : WD_OUTCOME_SUCCESS;
}

/* Hands each item's reply to its op. */
static void deliver(struct wd_batch *b, const char *gtid)
{
    for (int i = 0; i < b->n; i++) {
        struct wd_batch_item *it = &b->items[i];
        wd_envelope_release(&it->op->reply);
        it->op->reply = it->body;
        it->op->replayed = it->replay;
        snprintf(it->op->gtid, sizeof(it->op->gtid), "%s", gtid);
        memset(&it->body, 0, sizeof(it->body));
        wd_metrics_txn(it->op->kind, outcome_of(it));
    }
}

/* Answers every op with code, or 503 OUTCOME_UNKNOWN where a lost COMMIT may have applied it. */
static void fail_all(struct wd_op **ops, int n, int code)
{
    for (int i = 0; i < n; i++) {
        wd_envelope_release(&ops[i]->reply);
        wd_envelope_error(&ops[i]->reply, ops[i]->memo.lost_commit ? -WD_E_OUTCOME_UNKNOWN : code,
                          NULL);
        ops[i]->replayed = false;
        wd_metrics_txn(ops[i]->kind, WD_OUTCOME_FAILED);
    }
}

/*
 * The shard's GTID position at or past everything this batch answered for, for the answers'
 * consistency tokens: the GTID its COMMIT produced, or, when it wrote nothing (its ops were
 * replays or refusals), the primary's current position. "" when neither can be read: the
 * answers then carry no token, and a reader falls back to bounded staleness.
 */
static void position_after_commit(struct wd_conn *c, char *out, size_t size)
{
    struct wd_error err = {0};

    wd_conn_last_gtid(c, out, size);
    if (!out[0] && wd_conn_query_text(c, "SELECT @@GLOBAL.gtid_binlog_pos", out, size, &err) == 0)
        wd_conn_rollback(c); /* ends the transaction the SELECT opened */
    if (!wd_token_position_valid(out))
        out[0] = '\0';
}

static bool must_retry(int rc)
{
    return rc == -WD_E_DB_RETRY || rc == -WD_E_DB_UNAVAILABLE;
}

void wd_batch_run(struct wd_batch *b, struct wd_conn *c, struct wd_op **ops, int n)
{
    struct wd_error err = {0};
    int64_t resolve_until = 0; /* while a lost COMMIT is unresolved: when to give up */
    int rc = 0;

    assert(n >= 1 && n <= WD_BATCH_MAX);
    for (int tries = 0; tries <= MAX_RETRIES; tries++) {
        rc = attempt(b, c, ops, n, &err);
        if (rc == 0) {
            char gtid[WD_GTID_MAX + 1];
            wd_metrics_batch(n);
            position_after_commit(c, gtid, sizeof(gtid));
            deliver(b, gtid);
            return;
        }
        /* Deadlock, lock timeout or a lost connection: the batch runs again. After a lost
         * COMMIT, that run is what finds out whether it committed (see the top of this file). */
        if (!must_retry(rc))
            break;
        if (b->commit_lost && !resolve_until) {
            resolve_until = wd_clock_mono_ns() + b->resolve_ns;
            wd_log_warn("batch of %d: COMMIT sent, answer lost (%s); resolving", n, err.message);
        }
        if (rc == -WD_E_DB_UNAVAILABLE && wd_conn_reopen(c, resolve_until, &err) < 0)
            break;
    }
    for (int i = 0; i < b->n; i++)
        item_reset(&b->items[i], ops[i]);
    if (!must_retry(rc) && n > 1) {
        wd_log_warn("batch of %d failed (%s); running its operations one by one", n, err.message);
        for (int i = 0; i < n; i++)
            wd_batch_run(b, c, &ops[i], 1);
        return;
    }
    if (resolve_until)
        wd_log_error("batch of %d: outcome unknown after %d s: %s", n,
                     (int)(b->resolve_ns / 1000000000LL), err.message);
    else
        wd_log_error("write failed: %s", err.message);
    fail_all(ops, n, rc);
}
