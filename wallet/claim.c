/*
 * wallet/claim.c - a batch's idempotency keys: claimed with their replies, answered from their
 * records, rewritten when a reply was decided again, remembered across a lost COMMIT.
 *
 * The claim is one INSERT IGNORE ... RETURNING of every keyed op's record with its reply, after
 * the rules decided them (wallet/batch.c). A key that already exists is not inserted: its op is
 * answered from the record. The record's request hash says whether it is the same request (a
 * replay) or another one (422 IDEMPOTENCY_KEY_REUSED); its digest says whether a lost COMMIT of
 * this very op made it, which makes it the op's own first answer, not a replay.
 */
#include "wallet/batch_int.h"

#include "db/idem.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The order of the records' unique key: (tenant, scope, key). */
static int cmp_key(const struct wd_batch_item *i, const struct wd_batch_item *j)
{
    int c = strcmp(i->op->tenant, j->op->tenant);

    if (c == 0)
        c = strcmp(wd_op_key_scope(i->op), wd_op_key_scope(j->op));
    return c ? c : strcmp(i->op->idem_key, j->op->idem_key);
}

/* By key; the same key twice keeps arrival order, so the first to arrive claims it. */
static int cmp_claim(const void *x, const void *y)
{
    const struct wd_batch_item *i = *(const struct wd_batch_item *const *)x,
                               *j = *(const struct wd_batch_item *const *)y;
    int c = cmp_key(i, j);

    return c ? c : (i > j) - (i < j);
}

/* The keyed ops, sorted by key: every batch locks keys in that order. */
static int sorted_keyed_items(struct wd_batch *b, struct wd_batch_item **order)
{
    int n = 0;

    for (int i = 0; i < b->n; i++) {
        if (b->items[i].op->has_idem)
            order[n++] = &b->items[i];
    }
    qsort(order, (size_t)n, sizeof(*order), cmp_claim);
    return n;
}

/* True if reply is what a lost COMMIT of op stored with its key (op->memo). */
static bool stored_by_lost_commit(const struct wd_op *op, const char *reply, size_t len)
{
    unsigned char digest[16];

    if (op->memo.nlost == 0)
        return false;
    crypto_generichash(digest, sizeof(digest), (const unsigned char *)reply, len, NULL, 0);
    for (int i = 0; i < op->memo.nlost; i++) {
        if (memcmp(op->memo.lost_reply[i], digest, sizeof(digest)) == 0)
            return true;
    }
    return false;
}

/*
 * Fixes it from the committed record of its key: a replay, a refusal of a reused key, or, when
 * the record is what a lost COMMIT of this op stored, the op's own first answer.
 */
static int answer_from_record(struct wd_conn *c, struct wd_batch_item *it, struct wd_idem *k,
                              struct wd_error *err)
{
    int rc = wd_idem_load(c, k, err);

    if (rc == -WD_E_NOT_FOUND) /* purged between claim and read: run the batch again */
        return wd_error_set(err, -WD_E_DB_RETRY, "idempotency key vanished");
    if (rc < 0)
        return rc;
    it->fixed = it->by_key = true;
    if (memcmp(k->stored_hash, it->op->request_hash, 32) != 0 || k->status == 0) {
        free(k->response);
        k->response = NULL;
        int code =
            k->status == 0 ? -WD_E_IDEMPOTENCY_KEY_IN_PROGRESS : -WD_E_IDEMPOTENCY_KEY_REUSED;
        return wd_batch_decide(it, code, 0, NULL);
    }
    wd_envelope_release(&it->body);
    it->body.data = k->response; /* taken over */
    it->body.len = k->response_len;
    it->body.status = k->status;
    k->response = NULL;
    it->own = stored_by_lost_commit(it->op, it->body.data, it->body.len);
    it->replay = !it->own;
    return 0;
}

/*
 * Claims every keyed op's key with its reply. Returns 0 with *again set when some ops turned out
 * to be duplicates after their effects were computed: the rules must run again without them.
 */
int wd_claim_keys(struct wd_batch *b, struct wd_conn *c, bool *again, struct wd_error *err)
{
    struct wd_batch_item *order[WD_BATCH_MAX];
    int n = sorted_keyed_items(b, order);

    *again = false;
    b->nclaims = 0;
    for (int i = 0; i < n; i++) {
        struct wd_batch_item *it = order[i];
        if (i > 0 && cmp_key(order[i - 1], it) == 0) {
            it->fixed = it->by_key = true; /* the same key twice in one batch: one at a time */
            wd_batch_decide(it, -WD_E_IDEMPOTENCY_KEY_IN_PROGRESS, 0, NULL);
            *again = true;
            continue;
        }
        struct wd_idem *k = &b->claims[b->nclaims];
        memset(k, 0, sizeof(*k));
        k->tenant = it->op->tenant;
        k->scope = wd_op_key_scope(it->op);
        k->key = it->op->idem_key;
        k->hash = it->op->request_hash;
        k->status = it->body.status;
        k->response = it->body.data;
        k->response_len = it->body.len;
        it->claim_ix = b->nclaims;
        assert(b->nclaims < b->n); /* one claim per keyed op */
        b->claim_item[b->nclaims++] = (int)(it - b->items);
    }
    if (b->nclaims == 0)
        return 0;
    int rc = wd_idem_claim(c, b->claims, b->nclaims, b->now_ms, err);
    for (int i = 0; rc == 0 && i < b->nclaims; i++) {
        struct wd_batch_item *it = &b->items[b->claim_item[i]];
        if (b->claims[i].claimed)
            continue;
        it->claim_ix = -1;
        rc = answer_from_record(c, it, &b->claims[i], err);
        *again = true;
    }
    return rc;
}

/*
 * A claimed reply that was decided again is stored again, exactly: after the rules ran once
 * more without duplicates (a duplicate credit no longer funds an op), or when a claimed create
 * found the wallet already there. Only ever on those rare paths. Collected once, after every
 * decision, so each key is rewritten once with its final reply (the claims' own response
 * pointers went stale when the replies were re-rendered).
 */
int wd_claim_fixups(struct wd_batch *b)
{
    int n = 0;

    for (int i = 0; i < b->n; i++) {
        struct wd_batch_item *it = &b->items[i];
        if (!it->restated || it->by_key)
            continue;
        b->fixups[n] = b->claims[it->claim_ix];
        b->fixups[n].status = it->body.status;
        b->fixups[n].response = it->body.data;
        b->fixups[n].response_len = it->body.len;
        n++;
    }
    return n;
}

/*
 * The COMMIT was sent and its answer lost: it may have committed. Every op that wrote anything
 * remembers that, and the digest of the reply stored with its key, for the next attempt to
 * recognise (ops answered by an earlier request's record wrote nothing).
 */
void wd_claim_remember_lost(struct wd_batch *b)
{
    b->commit_lost = true;
    for (int i = 0; i < b->n; i++) {
        struct wd_batch_item *it = &b->items[i];
        struct wd_op_memo *memo = &it->op->memo;
        if (it->by_key && !it->own)
            continue;
        memo->lost_commit = true;
        if (it->claim_ix < 0 || memo->nlost == WD_OP_LOST_MAX)
            continue;
        crypto_generichash(memo->lost_reply[memo->nlost++], sizeof(memo->lost_reply[0]),
                           (const unsigned char *)it->body.data, it->body.len, NULL, 0);
    }
}
